//! Putting removed tags back (`retention restore`): [`pending`] finds in a journal every tag
//! removal that may have moved a tag and was not undone since, and [`retag`] puts the image's
//! original manifest bytes back under the tag (so the tag names the same digest again), then
//! deletes the placeholder if it is still listed. It deletes nothing else, and refuses when the tag
//! names another image since (a newer push), or when the image or one of its parts is gone from
//! the registry (`restore` restores the versions its journal deleted first).

use std::collections::BTreeMap;

use super::journal::{Entry, JournalOutcome};
use super::untag::original_manifest;
use crate::github::packages::{delete_version, first_versions_page};
use crate::github::{ApiError, Done, GithubClient, Scope};
use crate::manifest::Manifest;
use crate::registry::push::PushError;
use crate::registry::{repository_for, ManifestCache, RegistryClient};

/// The untags a journal says may have moved a tag and that were not put back since: the last
/// line of each (package, image, tag) is `untag_attempted`, `untagged`, `untag_failed` (the
/// attempt may have moved the tag) or `retag_failed`.
pub fn pending(entries: &[Entry]) -> Vec<Entry> {
    let mut last: BTreeMap<(String, String, String, String, String), &Entry> = BTreeMap::new();
    for e in entries {
        let Some(u) = &e.untag else { continue };
        if !e.outcome.is_untag() {
            continue;
        }
        let key = (
            e.owner.clone(),
            e.scope.clone(),
            e.package.clone(),
            e.name.clone(),
            u.tag.clone(),
        );
        // A failed retag leaves the untag to be put back: keep the line before it.
        if e.outcome == JournalOutcome::RetagFailed && last.contains_key(&key) {
            continue;
        }
        last.insert(key, e);
    }
    let mut out: Vec<Entry> = last
        .into_values()
        .filter(|e| e.outcome != JournalOutcome::Retagged)
        .cloned()
        .collect();
    out.sort_by_key(|e| e.time);
    out
}

/// Why `restore` stops putting tags back: nothing more can succeed (the token may not push,
/// or the API refuses it).
#[derive(Debug, thiserror::Error)]
pub enum RetagStop {
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The registry refused a write or a read with this token (401/403).
    #[error("{0}")]
    Denied(PushError),
}

impl RetagStop {
    /// Whether the token lacks a permission (exit 2), rather than anything else.
    pub fn is_permission(&self) -> bool {
        match self {
            RetagStop::Api(e) => e.is_permission(),
            RetagStop::Denied(_) => true,
        }
    }
}

/// A registry error as a failed retag, or the stop when the token may not push.
fn failed(e: PushError) -> Result<(JournalOutcome, String), RetagStop> {
    if e.denied {
        Err(RetagStop::Denied(e))
    } else {
        Ok((JournalOutcome::RetagFailed, e.to_string()))
    }
}

/// Put a removed tag back on its image (`restore`): the original manifest's exact bytes are put
/// under the tag, then a placeholder still listed is deleted. Refused when the tag names another
/// image now, and when the image or one of its parts (an index's platform manifests) is no
/// longer in the registry: the bytes pushed under the tag would make a version that cannot be
/// pulled. Returns the outcome line's (outcome, message); stops ([`RetagStop`]) when the token
/// may not push.
pub async fn retag(
    client: &GithubClient,
    scope: &Scope,
    registry: &RegistryClient,
    cache: &ManifestCache,
    e: &Entry,
) -> Result<(JournalOutcome, String), RetagStop> {
    let Some(u) = &e.untag else {
        return Ok((JournalOutcome::RetagFailed, "no untag record".to_string()));
    };
    let repo = repository_for(&e.owner, &e.package);
    let now = match registry.tag_digest(&repo, &u.tag).await {
        Ok(d) => d,
        Err(err) => return failed(err),
    };
    match now.as_deref() {
        None => {}
        Some(d) if d == e.name || d == u.placeholder => {}
        Some(d) => {
            return Ok((
                JournalOutcome::RetagFailed,
                format!(
                    "tag {} names {d} now (pushed since): it is not moved back to {}",
                    u.tag, e.name
                ),
            ))
        }
    }
    if now.as_deref() != Some(e.name.as_str()) {
        // The image and its parts must still be there: pushing its cached bytes would create a
        // version whose platform manifests are gone.
        match registry.tag_digest(&repo, &e.name).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Ok((
                    JournalOutcome::RetagFailed,
                    format!(
                        "image {} is no longer in the registry (deleted since, and not by this journal's run): the tag is not put back on it",
                        e.name
                    ),
                ))
            }
            Err(err) => return failed(err),
        }
        let bytes = match original_manifest(registry, cache, &repo, &e.name).await {
            Ok(b) => b,
            Err(err) => {
                return Ok((
                    JournalOutcome::RetagFailed,
                    format!("the image's manifest cannot be read: {err}"),
                ))
            }
        };
        for part in Manifest::new(&bytes).listed_digests() {
            match registry.tag_digest(&repo, &part).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Ok((
                        JournalOutcome::RetagFailed,
                        format!(
                            "image {} lists {part}, which is no longer in the registry (deleted since, and not by this journal's run): the tag is not put back on an image that cannot be pulled whole",
                            e.name
                        ),
                    ))
                }
                Err(err) => return failed(err),
            }
        }
        if let Err(err) = registry
            .put_manifest(&repo, &u.tag, &Manifest::new(&bytes).media_type(), &bytes)
            .await
        {
            return failed(err);
        }
    }
    // The placeholder, unless the untag deleted it, is untagged now: delete it (by the id the
    // journal knows, else found by its digest in the first page of the listing).
    if e.outcome == JournalOutcome::Untagged {
        return Ok((JournalOutcome::Retagged, String::new()));
    }
    let id = match u.placeholder_id {
        Some(id) => Some(id),
        None => first_versions_page(client, scope, e.package_type.as_str(), &e.package)
            .await?
            .iter()
            .find(|v| v["name"] == u.placeholder.as_str())
            .and_then(|v| v["id"].as_u64()),
    };
    let mut message = String::new();
    if let Some(id) = id {
        let label = format!("{} (placeholder for tag {})", u.placeholder, u.tag);
        match delete_version(
            client,
            scope,
            e.package_type.as_str(),
            &e.package,
            id,
            &label,
            &|| Ok(()),
        )
        .await?
        {
            Done::Now => message = format!("placeholder {} (version {id}) deleted", u.placeholder),
            Done::AlreadyGone(_) => {}
            Done::Refused(m) => {
                message = format!("placeholder {} (version {id}) stays: {m}", u.placeholder)
            }
        }
    }
    Ok((JournalOutcome::Retagged, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::journal::UntagRecord;
    use crate::inventory::PackageType;

    fn line(tag: &str, outcome: JournalOutcome, minute: i64) -> Entry {
        Entry {
            owner: "acme".into(),
            scope: "/orgs/acme".into(),
            package: "app".into(),
            package_type: PackageType::Container,
            id: 7,
            name: "sha256:aa".into(),
            tags: vec!["v1".into(), tag.into()],
            outcome,
            message: String::new(),
            time: chrono::DateTime::from_timestamp(1_800_000_000 + minute * 60, 0)
                .unwrap_or_default(),
            untag: Some(UntagRecord {
                tag: tag.into(),
                placeholder: format!("sha256:p-{tag}"),
                placeholder_id: None,
                registry: None,
            }),
        }
    }

    #[test]
    fn pending_retags_every_untag_that_may_have_moved_a_tag() {
        use JournalOutcome::*;
        let journal = [
            line("a", UntagAttempted, 0),
            line("a", Untagged, 1),
            line("b", UntagAttempted, 2), // killed: the tag may have moved
            line("c", UntagAttempted, 3),
            line("c", UntagFailed, 4), // may have moved too (placeholder not deleted)
            line("d", UntagAttempted, 5),
            line("d", Untagged, 6),
            line("d", Retagged, 7), // put back already
            line("e", UntagAttempted, 8),
            line("e", Untagged, 9),
            line("e", RetagFailed, 10), // still to put back
        ];
        let tags: Vec<String> = pending(&journal)
            .iter()
            .filter_map(|e| e.untag.as_ref().map(|u| u.tag.clone()))
            .collect();
        assert_eq!(tags, ["a", "b", "c", "e"]);
    }
}
