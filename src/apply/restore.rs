//! `retention restore`: restore every version a journal says was deleted (or found already gone)
//! and not restored since, put back every tag it says was removed (or may have been: an
//! unfinished untag) and not put back since ([`super::retag`]), and report what could not be
//! restored and why (GitHub restores within 30 days, and not after a re-push).
//! Each outcome is appended to the same journal, so running it twice restores nothing twice.
//!
//! A version stays restorable once the journal records its deletion, until a later `restored`
//! line: a later run that finds it gone (`skipped`) does not cancel the deletion. An `attempted`
//! line with no outcome after it (a run killed while its DELETE was in flight) is checked with a
//! GET first: a version still there was not deleted, and is closed with a `not_sent` line.
//!
//! The command (`commands/restore.rs`) reads the journal and makes the clients; this module is
//! the loop, given the clients, the cache and the registry choice ([`Registries`]).

use std::collections::{BTreeMap, HashMap};

use super::journal::{Entry, Journal, JournalOutcome};
use crate::github::packages::{get_version, restore_version};
use crate::github::{Done, GithubClient, Scope};
use crate::outcome::Failure;
use crate::printer;
use crate::registry::{ManifestCache, RegistryChoice, RegistryClient};

/// What a journal leaves to restore: versions, then tags.
pub struct Work {
    pub versions: Vec<Pending>,
    pub tags: Vec<Entry>,
}

impl Work {
    /// The versions ([`pending`]) and the tags ([`super::retag::pending`]) to restore.
    pub fn of(entries: &[Entry]) -> Work {
        Work {
            versions: pending(entries),
            tags: super::retag::pending(entries),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty() && self.tags.is_empty()
    }
}

/// What a restore did: its summary on stderr, its counts on stdout, its outcome.
#[derive(Debug, Default)]
pub struct Tally {
    /// Versions restored, of `to_restore` sent.
    restored: u64,
    to_restore: u64,
    /// Interrupted deletions that did not happen (the version is still there).
    still_there: u64,
    /// Tags put back, of `retags`.
    retagged: u64,
    retags: usize,
    /// What could not be restored, one message each: the versions' first, then the tags'.
    failed: Vec<String>,
    failed_versions: usize,
}

/// Restore `work`'s versions, then put its tags back, appending each outcome to `out`. Stops
/// (exit 2) at the first permission refusal, saying what was restored before it.
pub async fn run(
    work: &Work,
    out: &Journal,
    client: &GithubClient,
    registries: &mut Registries<'_>,
) -> Result<Tally, Failure> {
    let mut tally = Tally {
        retags: work.tags.len(),
        ..Tally::default()
    };
    for p in &work.versions {
        restore_one(p, out, client, &mut tally).await?;
    }
    if tally.still_there > 0 {
        printer::status(&format!(
            "{} did not happen (the versions are still there): nothing to restore for them",
            crate::plural::count(
                tally.still_there,
                "interrupted deletion",
                "interrupted deletions"
            )
        ));
    }
    tally.failed_versions = tally.failed.len();
    if !work.tags.is_empty() {
        // Opened only now: a restore of versions alone needs no cache.
        let cache = (registries.cache)();
        for e in &work.tags {
            retag_one(e, out, client, registries, cache, &mut tally).await?;
        }
    }
    Ok(tally)
}

/// Restore one version (checking first, for an unfinished attempt, that it is gone).
async fn restore_one(
    p: &Pending,
    out: &Journal,
    client: &GithubClient,
    tally: &mut Tally,
) -> Result<(), Failure> {
    let e = &p.entry;
    let Some(scope) = Scope::from_journal(&e.scope, &e.owner) else {
        tally.failed.push(format!(
            "{} {}: unknown scope `{}` in the journal",
            e.package, e.name, e.scope
        ));
        return Ok(());
    };
    let label = if e.tags.is_empty() {
        e.name.clone()
    } else {
        format!("{} ({})", e.name, e.tags.join(", "))
    };
    let package_type = e.package_type.as_str();
    if !p.confirmed {
        // Attempted, never finished: deleted only if it is gone now.
        match get_version(client, &scope, package_type, &e.package, e.id).await {
            Ok(Some(_)) => {
                tally.still_there += 1;
                return append(
                    out,
                    e,
                    JournalOutcome::NotSent,
                    "still there when restore checked: the interrupted deletion did not happen"
                        .into(),
                );
            }
            Ok(None) => {}
            Err(err) if err.is_permission() => {
                return Err(stopped(&err.to_string(), tally.restored, 0));
            }
            Err(err) => {
                tally.failed.push(format!(
                    "{} {label}: cannot tell whether the interrupted deletion happened: {err}",
                    e.package
                ));
                return Ok(());
            }
        }
    }
    tally.to_restore += 1;
    let result = restore_version(client, &scope, package_type, &e.package, e.id, &label).await;
    let (outcome, message) = match result {
        Ok(Done::Now) => (JournalOutcome::Restored, String::new()),
        Ok(Done::AlreadyGone(m)) | Ok(Done::Refused(m)) => (JournalOutcome::RestoreFailed, m),
        Err(err) if err.is_permission() => {
            return Err(stopped(&err.to_string(), tally.restored, 0));
        }
        Err(err) => (JournalOutcome::RestoreFailed, err.to_string()),
    };
    if outcome == JournalOutcome::Restored {
        tally.restored += 1;
    } else {
        tally
            .failed
            .push(format!("{} {label}: {message}", e.package));
    }
    append(out, e, outcome, message)
}

/// Put one removed tag back ([`super::retag::retag`]).
async fn retag_one(
    e: &Entry,
    out: &Journal,
    client: &GithubClient,
    registries: &mut Registries<'_>,
    cache: &ManifestCache,
    tally: &mut Tally,
) -> Result<(), Failure> {
    let tag = e.untag.as_ref().map_or("", |u| u.tag.as_str());
    let Some(scope) = Scope::from_journal(&e.scope, &e.owner) else {
        tally.failed.push(format!(
            "{} tag {tag} of {}: unknown scope `{}` in the journal",
            e.package, e.name, e.scope
        ));
        return Ok(());
    };
    let registry = registries.for_entry(e)?;
    let (outcome, message) = match super::retag::retag(client, &scope, registry, cache, e).await {
        Ok(r) => r,
        Err(err) if err.is_permission() => {
            // Nothing more can succeed with this token: stop at the first refusal.
            append(out, e, JournalOutcome::RetagFailed, err.to_string())?;
            // The registry's hint is about removing a tag; this run puts one back.
            let err = err.to_string().replace(
                crate::registry::client::PUSH_HINT,
                "putting a tag back pushes its image's manifest under the tag: the token needs write access to the package (`permissions: packages: write` for the workflow token, `write:packages` for a personal token)",
            );
            let what = format!(
                "cannot put tag {tag} back on {} ({}): {err}",
                e.name, e.package
            );
            return Err(stopped(&what, tally.restored, tally.retagged));
        }
        Err(err) => (JournalOutcome::RetagFailed, err.to_string()),
    };
    if outcome == JournalOutcome::Retagged {
        tally.retagged += 1;
    } else {
        tally
            .failed
            .push(format!("{} tag {tag} of {}: {message}", e.package, e.name));
    }
    append(out, e, outcome, message)
}

/// Append `e`'s outcome line to the journal, now.
fn append(
    out: &Journal,
    e: &Entry,
    outcome: JournalOutcome,
    message: String,
) -> Result<(), Failure> {
    out.append(&Entry {
        outcome,
        message,
        time: chrono::Utc::now(),
        ..e.clone()
    })?;
    Ok(())
}

impl Tally {
    /// The summary line and one line per failure, on stderr.
    pub fn report(&self) {
        printer::status(&format!(
            "restored {} of {} and {} of {}; {} could not be restored",
            self.restored,
            crate::plural::count(self.to_restore, "version", "versions"),
            self.retagged,
            crate::plural::count(self.retags, "removed tag", "removed tags"),
            self.failed.len()
        ));
        for f in &self.failed {
            // An error's `help:` lines stay lines of their own (never an escaped `\n`).
            for (i, line) in f.split('\n').enumerate() {
                let line = crate::render::printable(line);
                if i == 0 {
                    printer::detail(&format!("  not restored: {line}"));
                } else {
                    printer::detail(&format!("  {line}"));
                }
            }
        }
    }

    /// The counts for standard output: `restored=N failed=M`.
    pub fn counts(&self) -> String {
        format!(
            "restored={} failed={}",
            self.restored + self.retagged,
            self.failed.len()
        )
    }

    /// Exit 3 when anything could not be restored.
    pub fn outcome(&self) -> Result<(), Failure> {
        if self.failed.is_empty() {
            return Ok(());
        }
        let tags = self.failed.len() - self.failed_versions;
        Err(Failure::partial(format!(
            "{} (listed above)",
            not_restored(self.failed_versions as u64, tags as u64)
        )))
    }
}

/// "1 version and 2 tags could not be restored", naming only what failed.
fn not_restored(versions: u64, tags: u64) -> String {
    use crate::plural::count;
    let what = match (versions, tags) {
        (0, t) => count(t, "tag", "tags"),
        (v, 0) => count(v, "version", "versions"),
        (v, t) => format!(
            "{} and {}",
            count(v, "version", "versions"),
            count(t, "tag", "tags")
        ),
    };
    format!(
        "{what} could not be {}",
        if versions == 0 {
            "put back"
        } else {
            "restored"
        }
    )
}

/// The stop of a restore on a permission refusal (exit 2): the error, with its `help:` lines as
/// lines, and what was restored before it.
fn stopped(error: &str, versions: u64, tags: u64) -> Failure {
    use crate::plural::count;
    Failure::run(format!(
        "{error}\nrestored before this: {} and {}; nothing more was tried",
        count(versions, "version", "versions"),
        count(tags, "tag", "tags")
    ))
}

/// A way to make a registry client: for this run's registry, or for one a journal recorded.
type MakeClient<'s> = Box<dyn Fn() -> Result<RegistryClient, Failure> + 's>;
type MakeClientAt<'s> = Box<dyn Fn(&str) -> Result<RegistryClient, Failure> + 's>;
type OpenCache<'s> = Box<dyn Fn() -> &'s ManifestCache + 's>;

/// The registries tags are put back on: `--registry` for every tag when given, else the one
/// each journal line recorded, else the run's default. One client each, made (and named on
/// stderr) when first needed. A recorded registry is used only when it is this run's own
/// ([`check_recorded`]): the token is sent to no registry that only a journal names.
pub struct Registries<'s> {
    /// Whether `--registry` was given (it then wins over the journal).
    flag: bool,
    make_default: MakeClient<'s>,
    make_at: MakeClientAt<'s>,
    /// The manifest cache (the original manifests), opened when the first tag is put back.
    cache: OpenCache<'s>,
    /// The client for `--registry` or the default.
    default: Option<RegistryClient>,
    recorded: HashMap<String, RegistryClient>,
}

impl<'s> Registries<'s> {
    /// `choice`: this run's registry (none when no tag is put back); `make_default` makes its
    /// client, `make_at` one for a URL a journal line recorded; `cache` opens the manifest
    /// cache.
    pub fn new(
        choice: Option<&RegistryChoice>,
        make_default: impl Fn() -> Result<RegistryClient, Failure> + 's,
        make_at: impl Fn(&str) -> Result<RegistryClient, Failure> + 's,
        cache: impl Fn() -> &'s ManifestCache + 's,
    ) -> Registries<'s> {
        Registries {
            flag: choice.is_some_and(|c| c.source == "--registry"),
            make_default: Box::new(make_default),
            make_at: Box::new(make_at),
            cache: Box::new(cache),
            default: None,
            recorded: HashMap::new(),
        }
    }

    fn for_entry(&mut self, e: &Entry) -> Result<&RegistryClient, Failure> {
        let recorded = e.untag.as_ref().and_then(|u| u.registry.clone());
        match recorded {
            Some(url) if !self.flag => {
                if !self.recorded.contains_key(&url) {
                    printer::status(&format!("registry: {url} (recorded in the journal)"));
                    let client = (self.make_at)(&url)?;
                    self.recorded.insert(url.clone(), client);
                }
                Ok(&self.recorded[&url])
            }
            _ => {
                if self.default.is_none() {
                    self.default = Some((self.make_default)()?);
                }
                match &self.default {
                    Some(client) => Ok(client),
                    None => Err(Failure::run("no registry client")),
                }
            }
        }
    }
}

/// Refuse a journal that records a registry other than this run's (`choice`: `--registry`, else
/// the one of `GITHUB_SERVER_URL`, else ghcr.io), before anything is restored: the journal may
/// come from anywhere (a downloaded artifact), and the token must not follow it. With
/// `--registry` every tag goes there, whatever the journal says.
pub fn check_recorded(choice: &RegistryChoice, retags: &[Entry]) -> Result<(), Failure> {
    if choice.source == "--registry" {
        return Ok(());
    }
    let mut others: Vec<&str> = retags
        .iter()
        .filter_map(|e| e.untag.as_ref()?.registry.as_deref())
        .filter(|url| !same_registry(url, &choice.url))
        .collect();
    others.sort_unstable();
    others.dedup();
    match others.first() {
        None => Ok(()),
        Some(first) => Err(Failure::usage(format!(
            "the journal records tag removals on {} ({}), but this run's registry is {} ({}); the token is sent only to this run's registry, and nothing was restored\n  help: if the journal is yours, run again with --registry {first}",
            crate::plural::word(others.len(), "registry", "registries"),
            others.join(", "),
            choice.url,
            choice.source,
        ))),
    }
}

/// A version the journal says may need restoring.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    /// Its deletion line, or its unfinished `attempted` line.
    pub entry: Entry,
    /// `true`: the journal records its deletion. `false`: only an attempt with no outcome (a
    /// killed run): restore checks whether it is gone first.
    pub confirmed: bool,
}

/// The versions to restore: each deleted (or found already gone) and not restored since, and
/// each attempted without an outcome. A later `skipped` or `failed` (a rerun finding the version
/// gone, or refusing) closes only an open attempt, never a recorded deletion.
pub fn pending(entries: &[Entry]) -> Vec<Pending> {
    #[derive(Default)]
    struct State<'e> {
        deleted: Option<&'e Entry>,
        attempt: Option<&'e Entry>,
    }
    let mut states: BTreeMap<(String, String, String, String, u64), State> = BTreeMap::new();
    for e in entries {
        let key = (
            e.owner.clone(),
            e.scope.clone(),
            e.package_type.to_string(),
            e.package.clone(),
            e.id,
        );
        let s = states.entry(key).or_default();
        match e.outcome {
            JournalOutcome::Attempted => s.attempt = Some(e),
            JournalOutcome::Deleted | JournalOutcome::AlreadyGone => {
                s.deleted = Some(e);
                s.attempt = None;
            }
            // The attempt deleted nothing; an earlier deletion stands.
            JournalOutcome::Skipped | JournalOutcome::Failed | JournalOutcome::NotSent => {
                s.attempt = None
            }
            JournalOutcome::Restored => *s = State::default(),
            // A failed restore leaves the deletion in place.
            JournalOutcome::RestoreFailed => {}
            // Tag removals are put back by the retag pass (`crate::apply::retag::pending`).
            JournalOutcome::UntagAttempted
            | JournalOutcome::Untagged
            | JournalOutcome::UntagFailed
            | JournalOutcome::Retagged
            | JournalOutcome::RetagFailed => {}
        }
    }
    let mut out: Vec<Pending> = states
        .into_values()
        .filter_map(|s| match (s.deleted, s.attempt) {
            (Some(d), _) => Some(Pending {
                entry: d.clone(),
                confirmed: true,
            }),
            (None, Some(a)) => Some(Pending {
                entry: a.clone(),
                confirmed: false,
            }),
            (None, None) => None,
        })
        .collect();
    // In journal order (the deletion order).
    out.sort_by_key(|p| p.entry.time);
    out
}

/// Whether two registry URLs name the same registry (scheme and host case-insensitive, a
/// trailing `/` ignored).
fn same_registry(a: &str, b: &str) -> bool {
    let norm = |u: &str| u.trim().trim_end_matches('/').to_ascii_lowercase();
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::PackageType;

    fn entry(id: u64, outcome: JournalOutcome, minute: u32) -> Entry {
        Entry {
            owner: "acme".into(),
            scope: "orgs/acme".into(),
            package: "api".into(),
            package_type: PackageType::Container,
            id,
            name: format!("sha256:{id}"),
            tags: vec![],
            outcome,
            message: String::new(),
            untag: None,
            time: chrono::DateTime::from_timestamp(1_800_000_000 + i64::from(minute) * 60, 0)
                .unwrap_or_default(),
        }
    }

    #[test]
    fn pending_restores_deletions_and_unfinished_attempts_only() {
        use JournalOutcome::*;
        let journal = [
            entry(1, Attempted, 0),
            entry(1, Deleted, 1),
            entry(2, Attempted, 2), // killed before its outcome: may be deleted
            entry(3, Attempted, 3),
            entry(3, Skipped, 4), // refused: nothing deleted
            entry(4, Attempted, 5),
            entry(4, Failed, 6),
            entry(5, Attempted, 7),
            entry(5, Deleted, 8),
            entry(5, Restored, 9),
            entry(6, Attempted, 10),
            entry(6, AlreadyGone, 11),
        ];
        let ids: Vec<(u64, bool)> = pending(&journal)
            .iter()
            .map(|p| (p.entry.id, p.confirmed))
            .collect();
        assert_eq!(ids, [(1, true), (2, false), (6, true)]);
    }

    #[test]
    fn a_deletion_stays_restorable_when_a_rerun_finds_the_version_gone() {
        use JournalOutcome::*;
        let journal = [
            entry(1, Attempted, 0),
            entry(1, Deleted, 1),
            // `apply --plan` again: the version is gone since the plan.
            entry(1, Attempted, 2),
            entry(1, Skipped, 3),
            entry(2, Attempted, 4),
            entry(2, AlreadyGone, 5),
            entry(2, Attempted, 6),
            entry(2, Failed, 7),
            entry(3, Attempted, 8),
            entry(3, Deleted, 9),
            entry(3, Restored, 10),
            entry(3, Attempted, 11),
            entry(3, NotSent, 12),
        ];
        let ids: Vec<(u64, bool)> = pending(&journal)
            .iter()
            .map(|p| (p.entry.id, p.confirmed))
            .collect();
        assert_eq!(ids, [(1, true), (2, true)]);
    }
}
