//! Removing a tag from an image that stays ("untag"), through the registry.
//!
//! The GitHub Packages API deletes versions, never one tag of a version. To remove tag `pr-42`
//! from an image also tagged `v1.4.0`:
//! 1. check on the registry (HEAD, which is not a download) that `pr-42` still names the image
//!    the plan saw (the image stays, so `restore` can read its manifest to put the tag back),
//!    and that a tag the plan keeps on it (`v1.4.0`) still names it: tags moved since the plan
//!    must never leave the image with no tag (skipped and reported otherwise; a plan that
//!    removes every tag of an image, which stays only as a part of a kept image, keeps none);
//! 2. journal `untag_attempted` with the placeholder's digest (fsynced);
//! 3. push a placeholder manifest under `pr-42` ([`crate::registry::push`]): ghcr.io moves the
//!    tag to a new package version; the image keeps `v1.4.0`;
//! 4. find the placeholder's version id by its digest in the first page of the version listing
//!    (newest first; a few retries while ghcr.io has not listed it yet) and DELETE it, which
//!    deletes `pr-42` with it;
//! 5. journal `untagged` (or `untag_failed` with what is left, and why).
//!
//! So an untag costs 2 API requests (one listing page, one DELETE) and, on the registry, one
//! HEAD and one manifest PUT, plus once per repository the empty blob's HEAD (and its upload
//! when missing) and a push token. When GitHub refuses to delete the placeholder (it holds the
//! package's last tag), the tag is put back on the image and the now untagged placeholder deleted.
//!
//! A run killed between 3 and 5 leaves a placeholder holding the tag: [`super::leftovers`]
//! recognises it by its annotation at the start of the next `apply --policy`; a re-run of the
//! same `apply --plan` finds it in step 1 (its annotation names this tag and image) and finishes
//! the removal, or rolls it back (the tag goes back on the image) when the image would keep no
//! tag the plan keeps.
//! [`super::retag`] (`retention restore`) puts removed tags back.

use std::collections::HashSet;

use chrono::Utc;

use super::journal::{Entry, Journal, JournalOutcome, UntagRecord};
use super::Item;
use crate::github::packages::{delete_version, first_versions_page};
use crate::github::{ApiError, Done, GithubClient, Scope};
use crate::inventory::PackageType;
use crate::manifest::Manifest;
use crate::plural;
use crate::registry::push::{self, placeholder, PushError, OCI_MANIFEST};
use crate::registry::{repository_for, ManifestCache, ManifestError, RegistryClient};

/// Listing pages read while looking for a just-pushed placeholder (ghcr.io may list a new
/// version a moment after the push).
const FIND_ATTEMPTS: u32 = 4;

/// A tag to remove from a version that stays.
#[derive(Clone, Debug, PartialEq)]
pub struct UntagTarget {
    pub package: String,
    pub package_type: PackageType,
    /// The version that keeps the image, and its digest.
    pub id: u64,
    pub name: String,
    /// The version's tags when planned.
    pub tags: Vec<String>,
    /// The tags the plan keeps on the image (its tags less every tag the plan removes from it).
    /// One of them must still name the image when the tag is removed, so that an untag never
    /// leaves it untagged because tags moved since the plan. Empty when the plan removes every
    /// tag (the image stays only as a part of a kept image).
    pub keep: Vec<String>,
    /// The tag to remove.
    pub tag: String,
    /// Not to be removed after all, and why (`apply --plan --policy`). No request is sent.
    pub hold: Option<String>,
}

impl UntagTarget {
    fn label(&self) -> String {
        format!("tag {} of {}", self.tag, self.name)
    }
}

/// What became of the untags of a run.
#[derive(Clone, Debug, Default)]
pub struct UntagReport {
    pub total: u64,
    pub untagged: u64,
    /// Tags not removed (why: a hold, the image would lose its last tag, ...).
    pub skipped: Vec<Item>,
    /// Tag removals that failed, and placeholders an earlier run left that still hold their tag.
    pub failed: Vec<Item>,
    /// Not attempted: the run stopped (the token may not push, the journal failed, the rate
    /// budget ran out).
    pub left: u64,
    pub stop: Option<String>,
    /// The stop is the rate budget running out (the next run continues), not an error.
    pub stop_is_budget: bool,
    /// API requests the untags sent (listing pages and DELETEs).
    pub api_requests: u64,
}

/// Where and with what the untags run.
pub struct Untagger<'a> {
    pub client: &'a GithubClient,
    pub scope: &'a Scope,
    pub registry: &'a RegistryClient,
    pub cache: &'a ManifestCache,
    pub journal: &'a Journal,
    /// Names the run in each placeholder's annotation (so each placeholder has its own digest).
    pub run: String,
    /// Placeholder digests the journal names, with the tag and image each was pushed for
    /// ([`super::leftovers::known_from_journal`]): an earlier run's placeholder is recognised
    /// even when its manifest cannot be read.
    pub known: &'a std::collections::HashMap<String, (String, String)>,
}

/// The run's name for placeholders: the Actions run (`GITHUB_RUN_ID`-`GITHUB_RUN_ATTEMPT`), else
/// the clock and the process id.
pub fn run_id() -> String {
    match std::env::var(crate::env::GITHUB_RUN_ID) {
        Ok(id) if !id.is_empty() => format!(
            "{id}-{}",
            std::env::var(crate::env::GITHUB_RUN_ATTEMPT).unwrap_or_else(|_| "1".into())
        ),
        _ => format!(
            "local-{}-{}",
            Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id()
        ),
    }
}

/// How one untag ended.
enum Outcome {
    Untagged(String),
    Skipped(String),
    Failed(String),
    /// Nothing more can succeed (the token may not push): stop.
    Fatal(String),
}

impl Untagger<'_> {
    fn entry(
        &self,
        t: &UntagTarget,
        outcome: JournalOutcome,
        message: String,
        record: &UntagRecord,
    ) -> Entry {
        Entry {
            owner: self.scope.owner().to_string(),
            scope: self.scope.journal_name(),
            package: t.package.clone(),
            package_type: t.package_type,
            id: t.id,
            name: t.name.clone(),
            tags: t.tags.clone(),
            outcome,
            message,
            time: Utc::now(),
            untag: Some(record.clone()),
        }
    }

    /// Remove every target's tag, one after the other, journaling each.
    pub async fn run(&self, targets: Vec<UntagTarget>) -> UntagReport {
        let before = self.client.requests();
        let mut report = UntagReport {
            total: targets.len() as u64,
            ..UntagReport::default()
        };
        let mut blobs: HashSet<String> = HashSet::new();
        // A line every few seconds, so that a long run never looks stuck.
        let mut last_line = std::time::Instant::now();
        let mut queue = targets.into_iter();
        for t in queue.by_ref() {
            let budget = self.client.budget();
            if t.hold.is_none()
                && budget
                    .remaining
                    .is_some_and(|r| r < super::BUDGET_RESERVE + 2)
            {
                report.left += 1;
                report.stop_is_budget = true;
                report.stop = Some(format!(
                    "the API rate limit is nearly spent ({} requests left{})",
                    budget.remaining.unwrap_or(0),
                    budget
                        .reset
                        .map(|r| format!(", resets at {}", r.to_rfc3339()))
                        .unwrap_or_default()
                ));
                break;
            }
            let outcome = match &t.hold {
                Some(why) => Outcome::Skipped(why.clone()),
                None => self.one(&t, &mut blobs).await,
            };
            if last_line.elapsed() >= super::progress::line_every() {
                last_line = std::time::Instant::now();
                crate::printer::status(&format!(
                    "retention: {}/{} tags: {} removed, {} skipped, {} failed",
                    report.untagged + report.skipped.len() as u64 + report.failed.len() as u64,
                    report.total,
                    report.untagged,
                    report.skipped.len(),
                    report.failed.len()
                ));
            }
            match outcome {
                Outcome::Untagged(_) => report.untagged += 1,
                Outcome::Skipped(why) => report.skipped.push(Item::new(&t.package, t.label(), why)),
                Outcome::Failed(why) => report.failed.push(Item::new(&t.package, t.label(), why)),
                Outcome::Fatal(why) => {
                    report.left += 1;
                    report.stop = Some(why);
                    break;
                }
            }
        }
        report.left += queue.len() as u64;
        report.api_requests = self.client.requests() - before;
        report
    }

    async fn one(&self, t: &UntagTarget, blobs: &mut HashSet<String>) -> Outcome {
        let repo = repository_for(self.scope.owner(), &t.package);
        // 1. The tag must still name the image the plan saw, or a placeholder an earlier run
        //    pushed to remove this very tag (a killed run: this one finishes it).
        let left = match self.registry.tag_digest(&repo, &t.tag).await {
            Ok(Some(d)) if d == t.name => None,
            Ok(Some(d)) if self.is_own_placeholder(&repo, t, &d).await => Some(d),
            Ok(Some(d)) => {
                return Outcome::Skipped(format!(
                    "not untagged: tag {} names {d} now, not {} (pushed since the plan was made)",
                    t.tag, t.name
                ))
            }
            Ok(None) => {
                return Outcome::Skipped(format!("not untagged: tag {} is gone already", t.tag))
            }
            Err(e) => return push_failure(e),
        };
        // The image must keep a tag the plan keeps on it: tags may have moved since the plan.
        let untagged_else = match self.keeps_no_tag(&repo, t).await {
            Ok(why) => why,
            Err(e) => return push_failure(e),
        };
        // 2. Journal before the tag moves.
        let p = match &left {
            Some(d) => push::Placeholder {
                bytes: String::new(),
                digest: d.clone(),
            },
            None => placeholder(&self.run, &t.tag, &t.name),
        };
        if let (None, Some(why)) = (&left, &untagged_else) {
            return Outcome::Skipped(why.clone());
        }
        let mut record = UntagRecord {
            tag: t.tag.clone(),
            placeholder: p.digest.clone(),
            placeholder_id: None,
            registry: Some(registry_name(self.registry)),
        };
        if let Err(e) = self.journal.append(&self.entry(
            t,
            JournalOutcome::UntagAttempted,
            String::new(),
            &record,
        )) {
            return Outcome::Fatal(e.to_string());
        }
        let outcome = match left {
            None => self.push_and_delete(t, &repo, &p, &mut record, blobs).await,
            Some(_) => self.finish(t, &repo, &p, &mut record, untagged_else).await,
        };
        let (line, message) = match &outcome {
            Outcome::Untagged(m) => (JournalOutcome::Untagged, m.clone()),
            Outcome::Skipped(m) | Outcome::Failed(m) | Outcome::Fatal(m) => {
                (JournalOutcome::UntagFailed, m.clone())
            }
        };
        line.log(&t.package, &t.label(), &message);
        if let Err(e) = self.journal.append(&self.entry(t, line, message, &record)) {
            return Outcome::Fatal(e.to_string());
        }
        outcome
    }

    /// Whether `digest`, which `t.tag` names now, is a placeholder pushed (by an earlier, killed
    /// run) to remove this tag from this image: its annotation says so, or, only when its
    /// manifest cannot be read, the journal does.
    async fn is_own_placeholder(&self, repo: &str, t: &UntagTarget, digest: &str) -> bool {
        match original_manifest(self.registry, self.cache, repo, digest).await {
            Ok(text) => push::placeholder_note(&text)
                .and_then(|note| super::leftovers::parse_note(&note))
                .is_some_and(|(tag, original)| tag == t.tag && original == t.name),
            Err(e) => {
                tracing::debug!("{}: {e}", t.label());
                self.known
                    .get(digest)
                    .is_some_and(|(tag, original)| tag == &t.tag && original == &t.name)
            }
        }
    }

    /// Why removing `t.tag` would leave the image with none of the tags the plan keeps on it
    /// (each moved to another image or deleted since the plan), or `None` when one still names
    /// it, or the plan keeps none.
    async fn keeps_no_tag(&self, repo: &str, t: &UntagTarget) -> Result<Option<String>, PushError> {
        if t.keep.is_empty() {
            return Ok(None);
        }
        for k in &t.keep {
            if self.registry.tag_digest(repo, k).await?.as_deref() == Some(t.name.as_str()) {
                return Ok(None);
            }
        }
        Ok(Some(format!(
            "not untagged: removing it would leave the image with no tag: {} {}, which the plan keeps on it, {} another image now or {} gone (moved since the plan was made)",
            plural::word(t.keep.len(), "tag", "tags"),
            t.keep.join(", "),
            plural::word(t.keep.len(), "names", "name"),
            plural::word(t.keep.len(), "is", "are"),
        )))
    }

    /// A placeholder an earlier run pushed under `t.tag` still holds it: finish that removal
    /// (delete the placeholder), or, when the image would be left with no tag the plan keeps
    /// (`untagged_else`), roll it back (the tag goes back on the image).
    async fn finish(
        &self,
        t: &UntagTarget,
        repo: &str,
        p: &push::Placeholder,
        record: &mut UntagRecord,
        untagged_else: Option<String>,
    ) -> Outcome {
        let id = match self.find(&t.package, t.package_type, &p.digest).await {
            Ok(Some(id)) => id,
            Ok(None) => {
                return Outcome::Failed(format!(
                    "tag {} is held by placeholder {}, left by an earlier run, which GitHub does not list: run `retention restore` with that run's journal",
                    t.tag, p.digest
                ))
            }
            Err(e) => {
                return Outcome::Failed(format!(
                    "tag {} is held by placeholder {}, left by an earlier run, which could not be found: {e}",
                    t.tag, p.digest
                ))
            }
        };
        record.placeholder_id = Some(id);
        let label = format!("{} (placeholder for tag {})", p.digest, t.tag);
        if let Some(why) = untagged_else {
            let why = why.trim_start_matches("not untagged: ");
            let why = format!("an earlier run's placeholder held the tag, but {why}");
            return self.roll_back(t, repo, id, &label, why).await;
        }
        match self.delete_placeholder(t, p, id, &label).await {
            Outcome::Untagged(_) => Outcome::Untagged(format!(
                "finished the removal an earlier run left: its placeholder {} (version {id}) is deleted",
                p.digest
            )),
            Outcome::Skipped(why) => self.roll_back(t, repo, id, &label, refused(&why)).await,
            other => other,
        }
    }

    /// 3–5: push the placeholder under the tag, find its version, delete it.
    async fn push_and_delete(
        &self,
        t: &UntagTarget,
        repo: &str,
        p: &push::Placeholder,
        record: &mut UntagRecord,
        blobs: &mut HashSet<String>,
    ) -> Outcome {
        if !blobs.contains(repo) {
            if let Err(e) = self.registry.ensure_empty_blob(repo).await {
                return push_failure(e);
            }
            blobs.insert(repo.to_string());
        }
        if let Err(e) = self
            .registry
            .put_manifest(repo, &t.tag, OCI_MANIFEST, &p.bytes)
            .await
        {
            return match push_failure(e) {
                // The PUT may have reached the registry: say what may be left.
                Outcome::Failed(m) => Outcome::Failed(format!(
                    "{m} (if the registry stored the placeholder anyway, the next run deletes it and `retention restore` puts the tag back)"
                )),
                other => other,
            };
        }
        let id = match self.find(&t.package, t.package_type, &p.digest).await {
            Ok(Some(id)) => id,
            Ok(None) => {
                return Outcome::Failed(format!(
                    "the tag moved to placeholder {} but GitHub does not list it yet: the next run deletes it (or `retention restore` puts the tag back)",
                    p.digest
                ))
            }
            Err(e) => {
                return Outcome::Failed(format!(
                    "the tag moved to placeholder {}, which could not be found: {e}; the next run deletes it",
                    p.digest
                ))
            }
        };
        record.placeholder_id = Some(id);
        let label = format!("{} (placeholder for tag {})", p.digest, t.tag);
        match self.delete_placeholder(t, p, id, &label).await {
            Outcome::Skipped(why) => self.roll_back(t, repo, id, &label, refused(&why)).await,
            other => other,
        }
    }

    /// Delete the placeholder (version `id`) that holds `t.tag`: `Skipped` with GitHub's words
    /// when it refuses (the caller rolls back).
    async fn delete_placeholder(
        &self,
        t: &UntagTarget,
        p: &push::Placeholder,
        id: u64,
        label: &str,
    ) -> Outcome {
        match delete_version(
            self.client,
            self.scope,
            t.package_type.as_str(),
            &t.package,
            id,
            label,
            &|| Ok(()),
        )
        .await
        {
            Ok(Done::Now) | Ok(Done::AlreadyGone(_)) => Outcome::Untagged(String::new()),
            Ok(Done::Refused(why)) => Outcome::Skipped(why),
            Err(e) if e.is_permission() => Outcome::Fatal(format!(
                "the tag moved to placeholder {} (version {id}), which cannot be deleted: {e}",
                p.digest
            )),
            Err(e) => Outcome::Failed(format!(
                "the tag moved to placeholder {} (version {id}), which could not be deleted: {e}; the next run deletes it",
                p.digest
            )),
        }
    }

    /// GitHub refused to delete the placeholder (it holds the package's last tag): put the tag
    /// back on the image, then delete the placeholder, untagged now.
    async fn roll_back(
        &self,
        t: &UntagTarget,
        repo: &str,
        id: u64,
        label: &str,
        why: String,
    ) -> Outcome {
        let not_back = match original_manifest(self.registry, self.cache, repo, &t.name).await {
            Ok(bytes) => self
                .registry
                .put_manifest(repo, &t.tag, &Manifest::new(&bytes).media_type(), &bytes)
                .await
                .err()
                .map(|e| e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(e) = not_back {
            return Outcome::Failed(format!(
                "{why} (placeholder version {id}); putting the tag back failed too: {e}; run `retention restore`"
            ));
        }
        let deleted = delete_version(
            self.client,
            self.scope,
            t.package_type.as_str(),
            &t.package,
            id,
            label,
            &|| Ok(()),
        )
        .await;
        let left = match deleted {
            Ok(Done::Now) | Ok(Done::AlreadyGone(_)) => String::new(),
            Ok(Done::Refused(m)) => format!("; the untagged placeholder (version {id}) stays: {m}"),
            Err(e) => format!("; the untagged placeholder (version {id}) stays: {e}"),
        };
        Outcome::Skipped(format!(
            "not untagged: {why}; the tag is back on the image{left}"
        ))
    }

    /// The id of the version named `digest` in the first page of the listing, retried a few
    /// times with a growing pause while it is not there yet.
    async fn find(
        &self,
        package: &str,
        package_type: PackageType,
        digest: &str,
    ) -> Result<Option<u64>, ApiError> {
        for attempt in 0..FIND_ATTEMPTS {
            if attempt > 0 {
                let pause = std::time::Duration::from_millis(500 << attempt);
                self.client.pacer().sleep(pause).await;
            }
            let page = first_versions_page(self.client, self.scope, package_type.as_str(), package)
                .await?;
            if let Some(id) = page
                .iter()
                .find(|v| v["name"] == digest)
                .and_then(|v| v["id"].as_u64())
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}

/// How the journal names a registry: its URL without the trailing slash.
pub fn registry_name(registry: &RegistryClient) -> String {
    registry
        .registry()
        .as_str()
        .trim_end_matches('/')
        .to_string()
}

/// Why a tag goes back on its image when GitHub refuses to delete the placeholder.
fn refused(why: &str) -> String {
    format!("GitHub refused to delete the placeholder that took the tag ({why})")
}

fn push_failure(e: PushError) -> Outcome {
    if e.denied {
        Outcome::Fatal(e.to_string())
    } else {
        Outcome::Failed(format!("not untagged: {e}"))
    }
}

/// The exact bytes of `digest` in `repository`: from the cache, else read (verified) and cached.
pub async fn original_manifest(
    registry: &RegistryClient,
    cache: &ManifestCache,
    repository: &str,
    digest: &str,
) -> Result<String, ManifestError> {
    if let Some(text) = cache.get(digest) {
        return Ok(text);
    }
    let text = registry.get_manifest(repository, digest).await?;
    if let Err(e) = cache.put(digest, &text) {
        tracing::warn!("cannot cache manifest {digest}: {e}");
    }
    Ok(text)
}
