//! What a plan comes to for `apply`: the deletions the executor is handed ([`targets`], each
//! explained to the journal first: [`explain`]), the tags the untagger removes
//! ([`untag_targets`], bounded by `max_untags`: [`check_max_untags`]; with
//! `--plan --policy`, [`hold_back`]) and removing them after
//! the deletions ([`remove_tags`]), and what a run withheld for manifests it could not read
//! ([`withheld_for_unread_manifests`]).

use std::collections::HashMap;

use super::journal::Journal;
use super::placeholders::Sweep;
use super::untag::{UntagReport, UntagTarget, Untagger};
use super::{ApplyReport, Target};
use crate::github::{GithubClient, Scope};
use crate::inventory::Inventory;
use crate::outcome::Failure;
use crate::plan::Plan;

/// The bound on tag removals of `apply --plan` without `--policy` or `--max-untags` (the
/// default of `safety.max_untags`).
pub const DEFAULT_MAX_UNTAGS: u64 = 1000;

/// What to delete: the plan's deletions, each to be read again right before its DELETE and
/// skipped if it changed since the listing the plan was made from (another actor may tag, push
/// or delete while a run goes on, and a saved plan may be days old).
pub fn targets(plan: &Plan) -> Vec<Target> {
    plan.deletions()
        .map(|(p, v)| Target {
            package: p.name.clone(),
            package_type: p.package_type,
            id: v.id,
            name: v.name.clone(),
            tags: v.tags.clone(),
            updated_at: v.updated_at,
            after: v.after.clone(),
            hold: None,
        })
        .collect()
}

/// `apply --plan --policy`: hold back the deletions and tag removals the policy, evaluated now
/// (`recheck`), does not make too.
pub fn hold_back(
    targets: &mut [Target],
    untags: &mut [UntagTarget],
    recheck: &crate::plan::recheck::Recheck<'_>,
) {
    for t in targets {
        if let Some(hold) = recheck.deletion_hold(t.id) {
            t.hold = Some(hold);
        }
    }
    // Likewise a tag is removed only if the policy, now, removes it too.
    for u in untags {
        if let Some(hold) = recheck.untag_hold(u.id, &u.tag) {
            u.hold = Some(hold);
        }
    }
}

/// Tell the journal why each deletion of `plan` is made (the plan's reasons, its policy's
/// sha256): the first line about the version says so. Called as the targets are made, before
/// they go to the executor (for `apply --policy`, by the stream as each package is decided).
pub fn explain(journal: &Journal, plan: &Plan) {
    for (p, v) in plan.deletions() {
        journal.explain(&p.name, v.id, &v.reasons, &plan.policy_sha256);
    }
}

/// The tags to remove: one target per tag of each version's `untag`.
pub fn untag_targets(plan: &Plan) -> Vec<UntagTarget> {
    plan.packages
        .iter()
        .flat_map(|p| {
            p.versions.iter().flat_map(move |v| {
                v.untag.iter().map(move |tag| UntagTarget {
                    package: p.name.clone(),
                    package_type: p.package_type,
                    id: v.id,
                    name: v.name.clone(),
                    tags: v.tags.clone(),
                    keep: v
                        .tags
                        .iter()
                        .filter(|k| !v.untag.contains(k))
                        .cloned()
                        .collect(),
                    tag: tag.clone(),
                    // A signature, attestation, SBOM or referrers tag follows its subject; it
                    // is never removed on its own, whatever a (hand-edited) plan says.
                    hold: crate::graph::tag_subject(tag).map(|_| {
                        format!("not untagged: {tag} is an artifact tag, which follows its subject")
                    }),
                })
            })
        })
        .collect()
}

/// Refuse a plan removing more tags than allowed (`--max-untags`, else the policy's
/// `safety.max_untags`, else 1000).
pub fn check_max_untags(count: u64, max: u64) -> Result<(), Failure> {
    if count > max {
        return Err(Failure::usage(over_max_untags(
            count,
            max,
            "nothing was deleted or untagged",
        )));
    }
    Ok(())
}

/// The refusal of a plan that removes more tags than allowed, and what was done anyway.
pub fn over_max_untags(count: u64, max: u64, done: &str) -> String {
    format!(
        "the plan removes {} from images that stay, more than max_untags ({max}); {done}\n  help: raise it with --max-untags {count} (or safety.max_untags) if the plan is right",
        crate::plural::count(count, "tag", "tags")
    )
}

/// The report of tag removals refused before any was tried (`count` of them, all left).
pub fn none_removed(count: u64) -> UntagReport {
    UntagReport {
        total: count,
        left: count,
        ..UntagReport::default()
    }
}

/// Remove the tags of `untags` from images that stay, after the deletions (`report`): none when
/// the run stopped (permission, budget, journal).
pub async fn remove_tags(
    client: &GithubClient,
    scope: &Scope,
    at: &Sweep<'_>,
    report: &ApplyReport,
    untags: Vec<UntagTarget>,
) -> UntagReport {
    if untags.is_empty() {
        UntagReport::default()
    } else if report.stop.is_some() {
        none_removed(untags.len() as u64)
    } else {
        crate::printer::status(&format!(
            "removing {} from images that stay",
            crate::plural::count(untags.len(), "tag", "tags")
        ));
        let untagger = Untagger {
            client,
            scope,
            registry: at.registry,
            cache: at.cache,
            journal: at.journal,
            run: super::untag::run_id(),
            known: &at.known,
        };
        untagger.run(untags).await
    }
}

/// The placeholder digests the journal at `path` names (so that one is recognised even when its
/// manifest cannot be read); none when the journal cannot be read (its own error comes from
/// `restore`).
pub fn known_placeholders(path: &std::path::Path) -> HashMap<String, (String, String)> {
    match super::journal::read(path) {
        Ok(entries) => super::leftovers::known_from_journal(&entries),
        Err(e) => {
            crate::printer::warning(&format!(
                "{e}: placeholders are recognised by their manifests only"
            ));
            HashMap::new()
        }
    }
}

/// When manifests could not be read: how many deletions that withheld, tagged and untagged, as
/// the message `apply` ends with (exit 3: running again when the registry answers deletes them).
pub fn withheld_for_unread_manifests(
    plan: &Plan,
    inventory: &Inventory,
    unreadable: &[String],
) -> Option<String> {
    let (mut tagged, mut untagged) = (0usize, 0usize);
    for p in plan
        .packages
        .iter()
        .filter(|p| unreadable.contains(&p.name))
    {
        let Some(entry) = inventory.packages.iter().find(|e| e.package.name == p.name) else {
            continue;
        };
        for v in p.versions.iter().filter(|v| v.withheld) {
            // What the evaluator withholds for an unread manifest: an untagged version (its
            // parents are unknown) or one whose own manifest is unread.
            if v.tags.is_empty() {
                untagged += 1;
            } else if !entry.manifests.contains_key(&v.name) {
                tagged += 1;
            }
        }
    }
    (tagged + untagged > 0).then(|| {
        format!(
            "{} ({tagged} tagged, {untagged} untagged) {} withheld because manifests of {} could not be read; run again when the registry answers",
            crate::plural::count(tagged + untagged, "deletion", "deletions"),
            crate::plural::word(tagged + untagged, "was", "were"),
            unreadable.join(", ")
        )
    })
}
