//! `retention restore --journal FILE`: restore every version the journal says was deleted (or
//! found already gone: ghcr.io's cascade from a deleted index) and not restored since, put back
//! every tag it says was removed (or may have been: an unfinished untag) and not put back since
//! ([`crate::apply::retag::retag`]), and report what could not be restored and why (GitHub
//! restores within 30 days, and not after a re-push).
//! Each outcome is appended to the same journal, so running it twice restores nothing twice.
//!
//! A version stays restorable once the journal records its deletion, until a later `restored`
//! line: a later run that finds it gone (`skipped`) does not cancel the deletion. An `attempted`
//! line with no outcome after it (a run killed while its DELETE was in flight) is checked with a
//! GET first: a version still there was not deleted, and is closed with a `not_sent` line.

use std::collections::BTreeMap;

use super::online;
use crate::cli::Settings;
use super::{Failure, Outcome};
use crate::apply::journal::{self, Entry, Journal, JournalOutcome};
use crate::cli::RestoreArgs;
use crate::github::packages::{get_version, restore_version};
use crate::github::{Done, Scope};
use crate::registry::RegistryClient;

pub fn run(args: &RestoreArgs, settings: &Settings) -> Outcome {
    let entries = journal::read(&args.journal)?;
    let pending = pending(&entries);
    let retags = crate::apply::retag::pending(&entries);
    if pending.is_empty() && retags.is_empty() {
        eprintln!(
            "nothing to restore: the journal records no deletion or tag removal that was not restored since"
        );
        println!("restored=0 failed=0");
        return Ok(());
    }
    if !retags.is_empty() {
        // Before anything is restored: a journal is an input file (an artifact, say), and the
        // token goes only to this run's registry, never to one a journal names.
        Registries::check_recorded(settings, &retags)?;
    }
    let out = Journal::open(&args.journal)?;
    let runtime = online::runtime()?;
    runtime.block_on(async {
        let client = settings.github_client()?;
        let mut restored = 0u64;
        let mut failed: Vec<String> = Vec::new();
        let mut still_there = 0u64;
        let mut to_restore = 0u64;
        for Pending { entry: e, confirmed } in &pending {
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
            if !confirmed {
                // Attempted, never finished: deleted only if it is gone now.
                match get_version(&client, &scope, e.package_type.as_str(), &e.package, e.id).await
                {
                    Ok(Some(_)) => {
                        still_there += 1;
                        out.append(&Entry {
                            outcome: JournalOutcome::NotSent,
                            message: "still there when restore checked: the interrupted deletion did not happen".into(),
                            time: chrono::Utc::now(),
                            ..e.clone()
                        })?;
                        continue;
                    }
                    Ok(None) => {}
                    Err(err) if err.is_permission() => {
                        return Err(stopped(&err.to_string(), restored, 0));
                    }
                    Err(err) => {
                        failed.push(format!(
                            "{} {label}: cannot tell whether the interrupted deletion happened: {err}",
                            e.package
                        ));
                        continue;
                    }
                }
            }
            to_restore += 1;
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
                Ok(Done::Now) => (JournalOutcome::Restored, String::new()),
                Ok(Done::AlreadyGone(m)) | Ok(Done::Refused(m)) => {
                    (JournalOutcome::RestoreFailed, m)
                }
                Err(err) if err.is_permission() => {
                    return Err(stopped(&err.to_string(), restored, 0));
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
            })?;
        }
        if still_there > 0 {
            eprintln!(
                "{} did not happen (the versions are still there): nothing to restore for them",
                crate::plural::count(still_there, "interrupted deletion", "interrupted deletions")
            );
        }
        let restored_versions = restored;
        let failed_versions = failed.len();
        let mut retagged = 0u64;
        if !retags.is_empty() {
            let mut registries = Registries::new(settings)?;
            let cache = settings.cache();
            for e in &retags {
                let tag = e.untag.as_ref().map_or("", |u| u.tag.as_str());
                let Some(scope) = Scope::from_journal(&e.scope, &e.owner) else {
                    failed.push(format!(
                        "{} tag {tag} of {}: unknown scope `{}` in the journal",
                        e.package, e.name, e.scope
                    ));
                    continue;
                };
                let registry = registries.for_entry(settings, e)?;
                let (outcome, message) =
                    match crate::apply::retag::retag(&client, &scope, registry, cache, e).await {
                        Ok(r) => r,
                        Err(err) if err.is_permission() => {
                            // Nothing more can succeed with this token: stop at the first refusal.
                            out.append(&Entry {
                                outcome: JournalOutcome::RetagFailed,
                                message: err.to_string(),
                                time: chrono::Utc::now(),
                                ..e.clone()
                            })?;
                            // The registry's hint is about removing a tag; this run puts one back.
                            let err = err.to_string().replace(
                                crate::registry::client::PUSH_HINT,
                                "putting a tag back pushes its image's manifest under the tag: the token needs write access to the package (`permissions: packages: write` for the workflow token, `write:packages` for a personal token)",
                            );
                            let what = format!(
                                "cannot put tag {tag} back on {} ({}): {err}",
                                e.name, e.package
                            );
                            return Err(stopped(&what, restored_versions, retagged));
                        }
                        Err(err) => (JournalOutcome::RetagFailed, err.to_string()),
                    };
                if outcome == JournalOutcome::Retagged {
                    retagged += 1;
                } else {
                    failed.push(format!("{} tag {tag} of {}: {message}", e.package, e.name));
                }
                out.append(&Entry {
                    outcome,
                    message,
                    time: chrono::Utc::now(),
                    ..e.clone()
                })?;
            }
        }
        let failed_tags = failed.len() - failed_versions;
        eprintln!(
            "restored {restored_versions} of {} and {retagged} of {}; {} could not be restored",
            crate::plural::count(to_restore, "version", "versions"),
            crate::plural::count(retags.len(), "removed tag", "removed tags"),
            failed.len()
        );
        for f in &failed {
            // An error's `help:` lines stay lines of their own (never an escaped `\n`).
            for (i, line) in f.split('\n').enumerate() {
                let line = crate::render::printable(line);
                if i == 0 {
                    eprintln!("  not restored: {line}");
                } else {
                    eprintln!("  {line}");
                }
            }
        }
        println!("restored={} failed={}", restored + retagged, failed.len());
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Failure::partial(format!(
                "{} (listed above)",
                not_restored(failed_versions as u64, failed_tags as u64)
            )))
        }
    })
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

/// The registries tags are put back on: `--registry` for every tag when given, else the one
/// each journal line recorded, else the default ([`Settings::registry`]). One client each,
/// made (and named on stderr) when first needed. A recorded registry is used only when it is
/// this run's own ([`Registries::check_recorded`]): the token is sent to no registry that only
/// a journal names.
struct Registries {
    /// Whether `--registry` was given (it then wins over the journal).
    flag: bool,
    /// The client for `--registry` or the default.
    default: Option<RegistryClient>,
    recorded: std::collections::HashMap<String, RegistryClient>,
}

impl Registries {
    fn new(settings: &Settings) -> Result<Registries, Failure> {
        Ok(Registries {
            flag: settings.registry()?.source == "--registry",
            default: None,
            recorded: std::collections::HashMap::new(),
        })
    }

    /// Refuse a journal that records a registry other than this run's (`--registry`, else the
    /// one of `GITHUB_SERVER_URL`, else ghcr.io), before anything is restored: the journal may
    /// come from anywhere (a downloaded artifact), and the token must not follow it. With
    /// `--registry` every tag goes there, whatever the journal says.
    fn check_recorded(settings: &Settings, retags: &[Entry]) -> Result<(), Failure> {
        let choice = settings.registry()?;
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

    fn for_entry<'a>(
        &'a mut self,
        settings: &Settings,
        e: &Entry,
    ) -> Result<&'a RegistryClient, Failure> {
        let recorded = e.untag.as_ref().and_then(|u| u.registry.clone());
        match recorded {
            Some(url) if !self.flag => {
                if !self.recorded.contains_key(&url) {
                    eprintln!("registry: {url} (recorded in the journal)");
                    let client = settings.registry_client_at(&url)?;
                    self.recorded.insert(url.clone(), client);
                }
                Ok(&self.recorded[&url])
            }
            _ => {
                if self.default.is_none() {
                    self.default = Some(online::registry_client(settings)?);
                }
                match &self.default {
                    Some(client) => Ok(client),
                    None => Err(Failure::run("no registry client")),
                }
            }
        }
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
