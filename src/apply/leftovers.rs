//! Placeholders left behind: a run killed after pushing a placeholder under a tag and before
//! deleting it (see [`super::untag`]) leaves a package version that holds the tag. A placeholder
//! is never an image: before a policy is evaluated, [`find_leftovers`] recognises each (a version
//! with a single tag whose manifest carries the placeholder annotation, or, when its manifest
//! cannot be read, whose digest a journal names as a placeholder) and the caller takes them out of the inventory, so that one never
//! counts as an image (for `keep_newest`, say). A single-tagged version whose manifest cannot be
//! read (or, with no registry to read from, is not in the inventory) may be one: it is reported
//! as doubtful, and the caller decides as if it were absent too (withholding the deletions that
//! depend on it).
//!
//! `apply` then sweeps them ([`sweep`]) as the current policy says: the tag goes back on its
//! original image when the policy keeps it there (as `restore` does), else the removal is
//! finished (the placeholder deleted, and the tag with it). Each is journaled as the end of its
//! untag and reported; one that could not be swept is a failure of the run.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;

use super::journal::{Entry, Journal, JournalOutcome, UntagRecord};
use super::untag::original_manifest;
use super::Item;
use crate::github::packages::delete_version;
use crate::github::{ApiError, Done, GithubClient, Scope};
use crate::inventory::{Inventory, PackageType};
use crate::manifest::Manifest;
use crate::registry::push::placeholder_note;
use crate::registry::{repository_for, ManifestCache, RegistryClient};

/// A placeholder found in the inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leftover {
    pub package: String,
    pub package_type: PackageType,
    pub id: u64,
    pub digest: String,
    pub tags: Vec<String>,
    /// Its annotation: which run pushed it, for which tag of which image.
    pub note: String,
}

/// Parse a placeholder's note: (tag, original digest).
pub(crate) fn parse_note(note: &str) -> Option<(String, String)> {
    let rest = note.split_once(" removes tag ")?.1;
    let (tag, original) = rest.rsplit_once(" from ")?;
    Some((tag.to_string(), original.to_string()))
}

/// What [`find_leftovers`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub leftovers: Vec<Leftover>,
    /// Versions with one tag whose manifest could not be read: each may be a placeholder.
    /// (package, id, digest, tag)
    pub doubtful: Vec<(String, u64, String, String)>,
}

/// The placeholder digests a journal names (each untag line's `placeholder`), with the tag and
/// the image each was pushed to remove the tag from: recognised even when their manifests
/// cannot be read.
pub fn known_from_journal(entries: &[Entry]) -> HashMap<String, (String, String)> {
    entries
        .iter()
        .filter_map(|e| {
            let u = e.untag.as_ref()?;
            Some((u.placeholder.clone(), (u.tag.clone(), e.name.clone())))
        })
        .collect()
}

/// The placeholders in `inventory`: versions with one tag (not a signature or referrers tag)
/// whose manifest carries the placeholder annotation, or, when their manifest cannot be read,
/// whose digest is in `known` (from a journal: a readable manifest without the annotation is no
/// placeholder, whatever a journal says). Manifests come from the inventory, the cache, else the registry (when given),
/// [`RegistryClient::concurrency`] at a time (then cached: each version is read once in its
/// life); one that cannot be read makes its version doubtful. Only the packages `only` accepts
/// are looked at.
pub async fn find_leftovers(
    registry: Option<&RegistryClient>,
    cache: Option<&ManifestCache>,
    inventory: &Inventory,
    known: &HashMap<String, (String, String)>,
    only: &dyn Fn(&crate::inventory::PackageEntry) -> bool,
) -> Found {
    let concurrency = registry.map_or(1, RegistryClient::concurrency);
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut reads = tokio::task::JoinSet::new();
    let mut found: Vec<(usize, usize, String)> = Vec::new();
    let mut unread: Vec<(usize, usize)> = Vec::new();
    // Not in the inventory, with no registry to read them from.
    let mut absent: Vec<(usize, usize)> = Vec::new();
    for (pi, entry) in inventory.packages.iter().enumerate() {
        if entry.package.package_type != PackageType::Container || !only(entry) {
            continue;
        }
        let repo = repository_for(&inventory.owner, &entry.package.name);
        for (vi, v) in entry.versions.iter().enumerate() {
            let tags = v.tags();
            if tags.len() != 1 || crate::graph::tag_subject(&tags[0]).is_some() {
                continue;
            }
            if let Some(text) = entry
                .manifests
                .get(&v.name)
                .cloned()
                .or_else(|| cache.and_then(|c| c.get(&v.name)))
            {
                found.push((pi, vi, text));
                continue;
            }
            let (Some(registry), Some(cache)) = (registry, cache) else {
                // No registry to ask (an offline `plan` of a saved inventory): the journal's
                // word, else the answer can only be "it may be a placeholder", as when a read
                // fails.
                match known.get(&v.name) {
                    Some((tag, original)) => found.push((pi, vi, journal_note(tag, original))),
                    None => absent.push((pi, vi)),
                }
                continue;
            };
            let (registry, cache, repo, digest) = (
                registry.clone(),
                cache.clone(),
                repo.clone(),
                v.name.clone(),
            );
            let semaphore = std::sync::Arc::clone(&semaphore);
            reads.spawn(async move {
                let _permit = semaphore.acquire_owned().await.ok();
                let text = original_manifest(&registry, &cache, &repo, &digest).await;
                (pi, vi, text)
            });
        }
    }
    while let Some(done) = reads.join_next().await {
        match done {
            Ok((pi, vi, Ok(text))) => found.push((pi, vi, text)),
            Ok((pi, vi, Err(e))) => {
                tracing::debug!("placeholder check: {e}");
                // The journal is trusted only where the manifest cannot be read: a readable
                // one must carry the annotation.
                let digest = &inventory.packages[pi].versions[vi].name;
                match known.get(digest) {
                    Some((tag, original)) => found.push((pi, vi, journal_note(tag, original))),
                    None => unread.push((pi, vi)),
                }
            }
            Err(e) => tracing::debug!("placeholder check: {e}"),
        }
    }
    found_in(inventory, found, unread, absent)
}

/// The [`Found`] of [`find_leftovers`]: the versions whose manifest (`found`: package and
/// version index, the text) is a placeholder's, and the doubtful ones (`unread`, `absent`).
fn found_in(
    inventory: &Inventory,
    mut found: Vec<(usize, usize, String)>,
    mut unread: Vec<(usize, usize)>,
    absent: Vec<(usize, usize)>,
) -> Found {
    if !unread.is_empty() {
        tracing::warn!(
            "{} could not be checked for a placeholder left by an earlier run (their manifests could not be read); a later run checks them again",
            crate::plural::count(unread.len(), "tagged version", "tagged versions")
        );
    }
    if !absent.is_empty() {
        tracing::info!(
            "{} could not be checked for a placeholder left by an earlier run (their manifests are not in the inventory): decided as if each may be one",
            crate::plural::count(absent.len(), "tagged version", "tagged versions")
        );
    }
    unread.extend(absent);
    found.sort_by_key(|(pi, vi, _)| (*pi, *vi));
    unread.sort();
    let leftovers = found
        .into_iter()
        .filter_map(|(pi, vi, text)| {
            let note = placeholder_note(&text)?;
            let entry = &inventory.packages[pi];
            let v = &entry.versions[vi];
            Some(Leftover {
                package: entry.package.name.clone(),
                package_type: entry.package.package_type,
                id: v.id,
                digest: v.name.clone(),
                tags: v.tags().to_vec(),
                note,
            })
        })
        .collect();
    let doubtful = unread
        .into_iter()
        .map(|(pi, vi)| {
            let entry = &inventory.packages[pi];
            let v = &entry.versions[vi];
            (
                entry.package.name.clone(),
                v.id,
                v.name.clone(),
                v.tags().first().cloned().unwrap_or_default(),
            )
        })
        .collect();
    Found {
        leftovers,
        doubtful,
    }
}

/// The manifest text standing for a placeholder the journal names (its own is not needed).
fn journal_note(tag: &str, original: &str) -> String {
    let p = crate::registry::push::placeholder("(from the journal)", tag, original);
    p.bytes
}

/// Take `leftovers` out of `inventory` (a placeholder is never an image).
pub fn set_aside(inventory: &mut Inventory, leftovers: &[Leftover]) {
    for p in &mut inventory.packages {
        p.versions.retain(|v| {
            !leftovers
                .iter()
                .any(|l| l.package == p.package.name && l.id == v.id)
        });
    }
}

/// What [`sweep`] did.
#[derive(Clone, Debug, Default)]
pub struct Swept {
    /// One line per placeholder, for the report, and whether it says a failure (printed even
    /// with `--quiet`: the run's error points to it).
    pub lines: Vec<(String, bool)>,
    /// Placeholders that still hold their tag.
    pub failed: Vec<Item>,
}

/// The tag a leftover's note removes, and from which image.
pub fn note_of(l: &Leftover) -> (String, String) {
    parse_note(&l.note).unwrap_or_default()
}

/// Sweep the placeholders a killed run left (found by [`find_leftovers`]): for those in
/// `put_back` (ids: the current policy keeps their tag on the original image) the tag goes back
/// on the original image and the placeholder, untagged then, is deleted; the others are deleted
/// (the removal is finished). Each is journaled as the end of its untag; every leftover is taken
/// out of `inventory`, and a tag put back is added to its image there. A placeholder that could
/// not be swept is in [`Swept::failed`]; only a permission error or the journal stops the sweep.
#[allow(clippy::too_many_arguments)]
pub async fn sweep(
    client: &GithubClient,
    scope: &Scope,
    registry: &RegistryClient,
    cache: &ManifestCache,
    journal: &Journal,
    inventory: &mut Inventory,
    leftovers: &[Leftover],
    put_back: &HashSet<u64>,
) -> Result<Swept, super::ApplyError> {
    let mut swept = Swept::default();
    let mut back: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for l in leftovers {
        let (tag, original) = note_of(l);
        let original_id = inventory
            .packages
            .iter()
            .filter(|p| p.package.name == l.package)
            .flat_map(|p| p.versions.iter())
            .find(|v| v.name == original)
            .map_or(0, |v| v.id);
        let label = format!("{} (placeholder for tag {})", l.digest, l.tags.join(", "));
        let retag = put_back.contains(&l.id);
        let result = if retag {
            put_tag_back(client, scope, registry, cache, l, &tag, &original, &label).await
        } else {
            delete_version(
                client,
                scope,
                l.package_type.as_str(),
                &l.package,
                l.id,
                &label,
                &|| Ok(()),
            )
            .await
            .map(|done| match done {
                Done::Now | Done::AlreadyGone(_) => Ok(format!(
                    "placeholder left by an earlier run deleted: the removal of tag {tag} is finished ({})",
                    l.note
                )),
                Done::Refused(m) => Err(format!(
                    "placeholder left by an earlier run ({}) not deleted: {m}",
                    l.note
                )),
            })
        };
        let (outcome, message) = match result {
            Ok(Ok(m)) if retag => (JournalOutcome::Retagged, m),
            Ok(Ok(m)) => (JournalOutcome::Untagged, m),
            Ok(Err(m)) => (
                if retag {
                    JournalOutcome::RetagFailed
                } else {
                    JournalOutcome::UntagFailed
                },
                m,
            ),
            Err(e) if e.is_permission() => return Err(e.into()),
            Err(e) => (
                JournalOutcome::UntagFailed,
                format!(
                    "placeholder left by an earlier run ({}) not deleted: {e}",
                    l.note
                ),
            ),
        };
        journal.append(&Entry {
            owner: scope.owner().to_string(),
            scope: scope.journal_name(),
            package: l.package.clone(),
            package_type: l.package_type,
            id: original_id,
            name: original.clone(),
            tags: Vec::new(),
            outcome,
            message: message.clone(),
            time: Utc::now(),
            untag: Some(UntagRecord {
                tag: tag.clone(),
                placeholder: l.digest.clone(),
                placeholder_id: Some(l.id),
                registry: Some(super::untag::registry_name(registry)),
            }),
        })?;
        let failed = !matches!(outcome, JournalOutcome::Untagged | JournalOutcome::Retagged);
        match outcome {
            JournalOutcome::Untagged => {}
            JournalOutcome::Retagged => back
                .entry(l.package.clone())
                .or_default()
                .push((original.clone(), tag.clone())),
            _ => swept
                .failed
                .push(Item::new(&l.package, label.clone(), message.clone())),
        }
        swept
            .lines
            .push((format!("{} {}: {message}", l.package, l.digest), failed));
    }
    set_aside(inventory, leftovers);
    for p in &mut inventory.packages {
        for (original, tag) in back.get(&p.package.name).into_iter().flatten() {
            if let Some(c) = p
                .versions
                .iter_mut()
                .find(|v| &v.name == original)
                .and_then(|v| v.metadata.as_mut())
                .and_then(|m| m.container.as_mut())
            {
                if !c.tags.contains(tag) {
                    c.tags.push(tag.clone());
                }
            }
        }
    }
    Ok(swept)
}

/// Put `tag` back on `original` (its exact manifest bytes under the tag), then delete the
/// placeholder `l`, untagged by that. `Ok(Err(why))` when the tag could not be put back (the
/// placeholder then stays, holding it).
#[allow(clippy::too_many_arguments)]
async fn put_tag_back(
    client: &GithubClient,
    scope: &Scope,
    registry: &RegistryClient,
    cache: &ManifestCache,
    l: &Leftover,
    tag: &str,
    original: &str,
    label: &str,
) -> Result<Result<String, String>, ApiError> {
    let repo = repository_for(scope.owner(), &l.package);
    let bytes = match original_manifest(registry, cache, &repo, original).await {
        Ok(b) => b,
        Err(e) => {
            return Ok(Err(format!(
                "tag {tag}, which the policy keeps, is held by a placeholder left by an earlier run ({}), and the image's manifest cannot be read to put it back: {e}",
                l.note
            )))
        }
    };
    if let Err(e) = registry
        .put_manifest(&repo, tag, &Manifest::new(&bytes).media_type(), &bytes)
        .await
    {
        return Ok(Err(format!(
            "tag {tag}, which the policy keeps, is held by a placeholder left by an earlier run ({}), and could not be put back: {e}",
            l.note
        )));
    }
    // The tag is back: a placeholder that cannot be deleted now is only an untagged version.
    let left = match delete_version(
        client,
        scope,
        l.package_type.as_str(),
        &l.package,
        l.id,
        label,
        &|| Ok(()),
    )
    .await
    {
        Ok(Done::Now | Done::AlreadyGone(_)) => String::new(),
        Ok(Done::Refused(m)) => format!("; the untagged placeholder stays: {m}"),
        Err(e) if e.is_permission() => return Err(e),
        Err(e) => format!("; the untagged placeholder stays: {e}"),
    };
    Ok(Ok(format!(
        "tag {tag} put back on {original}, as the policy keeps it there (a placeholder left by an earlier run held it: {}){left}",
        l.note
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::push::placeholder;

    #[test]
    fn notes_name_the_tag_and_the_image() {
        let p = placeholder("r1", "pr-42", "sha256:abc");
        let note = placeholder_note(&p.bytes).unwrap_or_default();
        assert_eq!(
            parse_note(&note),
            Some(("pr-42".to_string(), "sha256:abc".to_string()))
        );
    }

    /// One package of single-tagged versions: (id, tag, manifest text, whether the inventory
    /// holds the manifest).
    fn inventory(versions: &[(u64, &str, &str, bool)]) -> Inventory {
        use crate::testkit;
        let t = chrono::DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let mut entry = testkit::package("app", Vec::new(), BTreeMap::new());
        for (id, tag, text, held) in versions {
            let digest = crate::digest::of(text.as_bytes());
            if *held {
                entry.manifests.insert(digest.clone(), text.to_string());
            }
            entry
                .versions
                .push(testkit::version(*id, &digest, &[tag], t));
        }
        Inventory {
            schema: 1,
            owner: "acme".into(),
            captured_at: t,
            packages: vec![entry],
        }
    }

    fn find(inventory: &Inventory, known: &HashMap<String, (String, String)>) -> Found {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        runtime.block_on(find_leftovers(None, None, inventory, known, &|_| true))
    }

    /// Review finding 10: a journal naming a digest as a placeholder is trusted only when the
    /// manifest cannot be read; a readable manifest without the annotation is an image.
    #[test]
    fn a_journal_is_trusted_only_where_the_manifest_cannot_be_read() {
        let image = r#"{"schemaVersion":2,"config":{"digest":"sha256:1"},"layers":[]}"#;
        let unread = r#"{"schemaVersion":2,"config":{"digest":"sha256:2"},"layers":[]}"#;
        let annotated = placeholder("r1", "pr-3", "sha256:abc").bytes;
        let inv = inventory(&[
            (1, "v1", image, true),
            (2, "pr-2", unread, false),
            (3, "pr-3", &annotated, true),
        ]);
        let digest = |i: usize| inv.packages[0].versions[i].name.clone();
        let named = |tag: &str| (tag.to_string(), "sha256:original".to_string());
        let known = HashMap::from([(digest(0), named("v1")), (digest(1), named("pr-2"))]);
        let found = find(&inv, &known);
        let ids: Vec<u64> = found.leftovers.iter().map(|l| l.id).collect();
        // v1's manifest is readable and carries no annotation: an image, whatever the journal
        // says; pr-2's cannot be read, so the journal's word stands; pr-3 carries it.
        assert_eq!(ids, [2, 3], "{found:?}");
        assert!(found.doubtful.is_empty(), "{found:?}");
        // Without the journal, pr-2 may be a placeholder: doubtful (no registry to read it).
        let found = find(&inv, &HashMap::new());
        let ids: Vec<u64> = found.leftovers.iter().map(|l| l.id).collect();
        assert_eq!(ids, [3], "{found:?}");
        assert_eq!(found.doubtful.len(), 1, "{found:?}");
        assert_eq!(found.doubtful[0].1, 2, "{found:?}");
    }
}
