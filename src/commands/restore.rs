//! `retention restore --journal FILE`: restore every version the journal says was deleted (or
//! found already gone: ghcr.io's cascade from a deleted index) and not restored since, and report
//! what could not be restored and why (GitHub restores within 30 days, and not after a re-push).
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
    if pending.is_empty() {
        eprintln!(
            "nothing to restore: the journal records no deletion that was not restored since"
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
        eprintln!(
            "restored {restored} of {} versions; {} could not be restored",
            pending.len(),
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
            JournalOutcome::Deleted | JournalOutcome::AlreadyGone | JournalOutcome::Restored => {
                last.insert(key, e);
            }
            // A failed restore leaves the deletion in place; skipped/failed deleted nothing.
            JournalOutcome::RestoreFailed | JournalOutcome::Skipped | JournalOutcome::Failed => {}
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
