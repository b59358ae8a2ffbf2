//! Placeholders left behind: a run killed after pushing a placeholder under a tag and before
//! deleting it (see [`super::untag`]) leaves a package version that holds the tag. The next
//! `apply --policy` finds it ([`find_leftovers`]: a version with a single tag whose manifest
//! carries the placeholder annotation) and deletes it before evaluating the policy ([`sweep`]), so
//! that it never counts as an image (for `keep_newest`, say); each is journaled as the end of its
//! untag and reported.

use std::collections::{BTreeMap, HashSet};

use chrono::Utc;

use super::journal::{Entry, Journal, JournalOutcome, UntagRecord};
use super::untag::original_manifest;
use crate::github::packages::delete_version;
use crate::github::{Done, GithubClient, Scope};
use crate::inventory::{Inventory, PackageType};
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

/// The placeholders in `inventory`: versions with one tag (not a signature or referrers tag)
/// whose manifest carries the placeholder annotation. Manifests come from the inventory, the
/// cache, else the registry, [`RegistryClient::concurrency`] at a time (then cached: each
/// version is read once in its life).
pub async fn find_leftovers(
    registry: &RegistryClient,
    cache: &ManifestCache,
    inventory: &Inventory,
) -> Vec<Leftover> {
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(registry.concurrency()));
    let mut reads = tokio::task::JoinSet::new();
    let mut found: Vec<(usize, usize, String)> = Vec::new();
    for (pi, entry) in inventory.packages.iter().enumerate() {
        if entry.package.package_type != PackageType::Container {
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
                .or_else(|| cache.get(&v.name))
            {
                found.push((pi, vi, text));
                continue;
            }
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
    let mut unread = 0;
    while let Some(done) = reads.join_next().await {
        match done {
            Ok((pi, vi, Ok(text))) => found.push((pi, vi, text)),
            Ok((_, _, Err(e))) => {
                unread += 1;
                tracing::debug!("placeholder check: {e}");
            }
            Err(e) => {
                unread += 1;
                tracing::debug!("placeholder check: {e}");
            }
        }
    }
    if unread > 0 {
        tracing::warn!(
            "{unread} tagged versions could not be checked for a placeholder left by an earlier run (their manifests could not be read); a later run checks them again"
        );
    }
    found.sort_by_key(|(pi, vi, _)| (*pi, *vi));
    found
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
        .collect()
}

/// Delete the placeholders a killed run left (found by [`find_leftovers`]), journal each as the
/// end of its untag, and drop them from `inventory` so that the policy never decides on them.
/// Returns one line per placeholder for the report.
pub async fn sweep(
    client: &GithubClient,
    scope: &Scope,
    registry: &RegistryClient,
    cache: &ManifestCache,
    journal: &Journal,
    inventory: &mut Inventory,
) -> Result<Vec<String>, super::ApplyError> {
    let leftovers = find_leftovers(registry, cache, inventory).await;
    let mut lines = Vec::new();
    let mut gone: BTreeMap<String, HashSet<u64>> = BTreeMap::new();
    for l in leftovers {
        let (tag, original) = parse_note(&l.note).unwrap_or_default();
        let original_id = inventory
            .packages
            .iter()
            .filter(|p| p.package.name == l.package)
            .flat_map(|p| p.versions.iter())
            .find(|v| v.name == original)
            .map_or(0, |v| v.id);
        let label = format!("{} (placeholder for tag {})", l.digest, l.tags.join(", "));
        let result = delete_version(
            client,
            scope,
            l.package_type.as_str(),
            &l.package,
            l.id,
            &label,
            &|| Ok(()),
        )
        .await;
        let (outcome, message) = match result {
            Ok(Done::Now) | Ok(Done::AlreadyGone(_)) => (
                JournalOutcome::Untagged,
                format!("placeholder left by an earlier run deleted ({})", l.note),
            ),
            Ok(Done::Refused(m)) => (
                JournalOutcome::UntagFailed,
                format!(
                    "placeholder left by an earlier run ({}) not deleted: {m}",
                    l.note
                ),
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
            name: original,
            tags: Vec::new(),
            outcome,
            message: message.clone(),
            time: Utc::now(),
            untag: Some(UntagRecord {
                tag,
                placeholder: l.digest.clone(),
                placeholder_id: Some(l.id),
                registry: Some(super::untag::registry_name(registry)),
            }),
        })?;
        if outcome == JournalOutcome::Untagged {
            gone.entry(l.package.clone()).or_default().insert(l.id);
        }
        lines.push(format!("{} {}: {message}", l.package, l.digest));
    }
    for p in &mut inventory.packages {
        if let Some(ids) = gone.get(&p.package.name) {
            p.versions.retain(|v| !ids.contains(&v.id));
        }
    }
    Ok(lines)
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
}
