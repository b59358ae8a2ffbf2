//! `retention restore --journal FILE`: restore every version the journal says was deleted (or
//! found already gone: ghcr.io's cascade from a deleted index) and not restored since, put back
//! every tag it says was removed (or may have been: an unfinished untag) and not put back since
//! ([`crate::apply::retag::retag`]), and report what could not be restored and why (GitHub
//! restores within 30 days, and not after a re-push).
//! Each outcome is appended to the same journal, so running it twice restores nothing twice.

use std::collections::BTreeMap;

use super::online;
use super::{Failure, Outcome};
use crate::apply::journal::{self, Entry, Journal, JournalOutcome};
use crate::cli::RestoreArgs;
use crate::github::packages::restore_version;
use crate::github::{self, Done, Scope};

pub fn run(args: &RestoreArgs) -> Outcome {
    let entries = journal::read(&args.journal).map_err(Failure::usage)?;
    let pending = pending(&entries);
    let retags = crate::apply::retag::pending(&entries);
    if pending.is_empty() && retags.is_empty() {
        eprintln!(
            "nothing to restore: the journal records no deletion or tag removal that was not restored since"
        );
        println!("restored=0 failed=0");
        return Ok(());
    }
    let out = Journal::open(&args.journal).map_err(Failure::run)?;
    let runtime = online::runtime()?;
    runtime.block_on(async {
        let client =
            github::client_from_env(&args.token_env).map_err(|e| online::api_failure(&e))?;
        let mut restored = 0u64;
        let mut failed: Vec<String> = Vec::new();
        for e in &pending {
            let Some(scope) = Scope::from_journal(&e.scope, &e.owner) else {
                failed.push(format!(
                    "{} {}: unknown scope `{}` in the journal",
                    e.package, e.name, e.scope
                ));
                continue;
            };
            let label = if e.tags.is_empty() {
                e.name.clone()
            } else {
                format!("{} ({})", e.name, e.tags.join(", "))
            };
            let result = restore_version(
                &client,
                &scope,
                e.package_type.as_str(),
                &e.package,
                e.id,
                &label,
            )
            .await;
            let (outcome, message) = match result {
                Ok(Done::Done) => (JournalOutcome::Restored, String::new()),
                Ok(Done::AlreadyGone(m)) | Ok(Done::Refused(m)) => {
                    (JournalOutcome::RestoreFailed, m)
                }
                Err(err) if err.is_permission() => {
                    return Err(Failure::run(format!(
                        "error: {err}\n{restored} versions were restored before this"
                    )));
                }
                Err(err) => (JournalOutcome::RestoreFailed, err.to_string()),
            };
            if outcome == JournalOutcome::Restored {
                restored += 1;
            } else {
                failed.push(format!("{} {label}: {message}", e.package));
            }
            out.append(&Entry {
                outcome,
                message,
                time: chrono::Utc::now(),
                ..e.clone()
            })
            .map_err(Failure::run)?;
        }
        let restored_versions = restored;
        if !retags.is_empty() {
            let registry =
                online::registry_client(args.registry.as_deref(), &args.token_env)?;
            let cache = crate::registry::ManifestCache::resolve(args.cache_dir.as_deref());
            for e in &retags {
                let tag = e.untag.as_ref().map_or("", |u| u.tag.as_str());
                let Some(scope) = Scope::from_journal(&e.scope, &e.owner) else {
                    failed.push(format!(
                        "{} tag {tag} of {}: unknown scope `{}` in the journal",
                        e.package, e.name, e.scope
                    ));
                    continue;
                };
                let (outcome, message) =
                    match crate::apply::retag::retag(&client, &scope, &registry, &cache, e).await {
                        Ok(r) => r,
                        Err(err) if err.is_permission() => {
                            return Err(Failure::run(format!(
                                "error: {err}\n{restored} versions and tags were restored before this"
                            )));
                        }
                        Err(err) => (JournalOutcome::RetagFailed, err.to_string()),
                    };
                if outcome == JournalOutcome::Retagged {
                    restored += 1;
                } else {
                    failed.push(format!("{} tag {tag} of {}: {message}", e.package, e.name));
                }
                out.append(&Entry {
                    outcome,
                    message,
                    time: chrono::Utc::now(),
                    ..e.clone()
                })
                .map_err(Failure::run)?;
            }
        }
        eprintln!(
            "restored {restored_versions} of {} versions and {} of {} removed tags; {} could not be restored",
            pending.len(),
            restored - restored_versions,
            retags.len(),
            failed.len()
        );
        for f in &failed {
            eprintln!("  not restored: {f}");
        }
        println!("restored={restored} failed={}", failed.len());
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Failure::partial(format!(
                "{} versions could not be restored (listed above)",
                failed.len()
            )))
        }
    })
}

/// The versions whose last journal outcome is a deletion (or a failed restore): to restore.
pub fn pending(entries: &[Entry]) -> Vec<Entry> {
    let mut last: BTreeMap<(String, String, String, String, u64), &Entry> = BTreeMap::new();
    for e in entries {
        let key = (
            e.owner.clone(),
            e.scope.clone(),
            e.package_type.to_string(),
            e.package.clone(),
            e.id,
        );
        match e.outcome {
            // An attempt with no outcome after it (a killed run) may have deleted the version.
            JournalOutcome::Attempted
            | JournalOutcome::Deleted
            | JournalOutcome::AlreadyGone
            | JournalOutcome::Restored => {
                last.insert(key, e);
            }
            // Skipped or failed: the attempt deleted nothing.
            JournalOutcome::Skipped | JournalOutcome::Failed => {
                if last
                    .get(&key)
                    .is_some_and(|l| l.outcome == JournalOutcome::Attempted)
                {
                    last.remove(&key);
                }
            }
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
    let mut out: Vec<Entry> = last
        .into_values()
        .filter(|e| e.outcome != JournalOutcome::Restored)
        .cloned()
        .collect();
    // In journal order (the deletion order).
    out.sort_by_key(|e| e.time);
    out
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
        let ids: Vec<u64> = pending(&journal).iter().map(|e| e.id).collect();
        assert_eq!(ids, [1, 2, 6]);
    }
}
