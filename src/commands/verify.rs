//! `retention verify`, and the check that `apply` runs after its deletions: report every kept
//! image that is not whole (an `::error` annotation in Actions) and exit 3.
//!
//! The check is [`crate::verify`]; this module lists, reads and prints. After apply it costs one
//! listing per touched container package and no manifest read; `retention verify` lists and
//! reads manifests as `snapshot` does (every governed container package, through the cache),
//! because a check that read nothing would find nothing.

use std::collections::{BTreeSet, HashSet};

use super::online;
use super::{Failure, Outcome};
use crate::cli::Settings;
use crate::cli::VerifyArgs;
use crate::github::{GithubClient, Scope};
use crate::inventory::Inventory;
use crate::plan::{Action, Plan};
use crate::verify::{Finding, Report};

pub fn run(args: &VerifyArgs, settings: &Settings) -> Outcome {
    let mut policy = super::load_policy(&args.eval.policy, &args.eval.vars)?;
    let saved = args.inventory.as_deref().map(Inventory::load).transpose()?;
    let policy_owner = policy.owner.clone();
    let owner = || match &saved {
        Some(inventory) => Ok(inventory.owner.clone()),
        None => settings.owner_for(policy_owner.as_deref()),
    };
    super::in_use::attach(
        &mut policy,
        &args.eval.in_use,
        owner,
        settings,
        "the policy",
    )?;
    let inventory = match saved {
        Some(inventory) => inventory,
        None => online::inventory_of_everything_governed(settings, &policy)?.1,
    };
    let plan = crate::evaluate::evaluate(&policy, &inventory, settings.now())?;
    let kept: HashSet<(&str, u64)> = plan
        .packages
        .iter()
        .flat_map(|p| {
            p.versions
                .iter()
                .filter(|v| v.action == Action::Keep)
                .map(move |v| (p.name.as_str(), v.id))
        })
        .collect();
    let report = crate::verify::listed(&inventory, |p, id| kept.contains(&(p, id)));
    warn_unknown(&report);
    // A package whose listing did not add up may miss a kept image: it was never checked.
    let gaps = listing_gaps(&inventory, |_| true);
    let mut caveats = Vec::new();
    if !report.unchecked.is_empty() {
        // A check that could not read a manifest cannot call that image whole.
        caveats.push(format!(
            "{} not be checked (no readable manifest)",
            crate::plural::count(
                report.unchecked.len(),
                "kept image could",
                "kept images could"
            )
        ));
    }
    if let Some(gaps) = &gaps {
        caveats.push(format!("not checked: {gaps}"));
    }
    let verdict = if caveats.is_empty() {
        verdict(&report)
    } else {
        format!(
            "{}; {}",
            match report.findings.len() {
                0 => "no kept image found broken".to_string(),
                _ => verdict(&report),
            },
            caveats.join("; ")
        )
    };
    println!(
        "verify: {} in {} checked: {verdict}",
        crate::plural::count(report.images, "kept version", "kept versions"),
        crate::plural::count(report.packages, "container package", "container packages"),
    );
    print_findings(&report.findings);
    // The first few by name (a registry that answers nothing would list every version).
    const LISTED: usize = 10;
    for label in report.unchecked.iter().take(LISTED) {
        eprintln!(
            "warning: not checked: {}: its manifest could not be read",
            crate::render::printable(label)
        );
    }
    if report.unchecked.len() > LISTED {
        eprintln!(
            "warning: not checked: {} more",
            report.unchecked.len() - LISTED
        );
    }
    let mut not_checked = Vec::new();
    if !report.unchecked.is_empty() {
        not_checked.push(format!(
            "{} not be checked: no readable manifest (listed above)\n  help: run `retention verify` again when the registry answers",
            crate::plural::count(report.unchecked.len(), "kept image could", "kept images could"),
        ));
    }
    if let Some(gaps) = &gaps {
        not_checked.push(format!(
            "not every kept image was checked: {gaps}\n  help: run `retention verify` again (another actor was deleting or pushing while it listed)"
        ));
    }
    not_checked
        .into_iter()
        .map(|m| Err(Failure::partial(m)))
        .fold(outcome(&report), crate::outcome::combine)
}

/// The container packages of `inventory` (those `which` accepts) whose listing did not add up,
/// in words: `the listing of team/app (5 listed, GitHub counts 6) is incomplete: a kept image
/// may be the version missing`; `None` when every listing is complete.
fn listing_gaps(inventory: &Inventory, which: impl Fn(&str) -> bool) -> Option<String> {
    let gaps: Vec<String> = inventory
        .packages
        .iter()
        .filter(|p| p.package.package_type.is_image() && which(&p.package.name))
        .filter_map(|p| {
            let g = p.listing_gap?;
            Some(format!(
                "{} ({} listed, GitHub counts {})",
                p.package.name, g.listed, g.version_count
            ))
        })
        .collect();
    (!gaps.is_empty()).then(|| {
        format!(
            "the {} of {} {} incomplete: a kept image may be the version missing",
            crate::plural::word(gaps.len(), "listing", "listings"),
            gaps.join(", "),
            crate::plural::word(gaps.len(), "is", "are"),
        )
    })
}

/// After apply: list the touched packages once more and check the kept images. `deleting`: the
/// ids the run meant to delete (every other version of `before` is meant to stay);
/// `already_broken`: the kept images the plan found broken before the run (labels: the check
/// cannot call those whole). The result joins `outcome`: findings make an `Ok` run exit 3, and
/// are added to a failed run's message.
pub async fn after_apply(
    client: &GithubClient,
    scope: &Scope,
    before: &Inventory,
    deleting: &HashSet<u64>,
    touched: &BTreeSet<String>,
    already_broken: &[String],
    outcome: Outcome,
) -> Outcome {
    let containers: BTreeSet<String> = before
        .packages
        .iter()
        .filter(|e| e.package.package_type.is_image() && touched.contains(&e.package.name))
        .map(|e| e.package.name.clone())
        .collect();
    if containers.is_empty() {
        return outcome;
    }
    let kept = |_: &str, id: u64| !deleting.contains(&id);
    // A kept image the listing before the run missed was never checked (the run exits 3 for
    // that listing already): the verdict must not call every kept image whole.
    let gaps = listing_gaps(before, |p| containers.contains(p));
    let verified = match crate::verify::after_apply(client, scope, before, kept, &containers).await
    {
        Ok(report) => {
            let verdict = match (report.findings.is_empty(), already_broken) {
                (true, _) if gaps.is_some() => format!(
                    "no kept image found broken; not checked: {}",
                    gaps.as_deref().unwrap_or_default()
                ),
                (true, []) => verdict(&report),
                // Whole as far as this run goes: what was broken before is not called whole.
                (true, broken) => format!(
                    "as whole as before the run; {} already broken: {}",
                    crate::plural::count(broken.len(), "kept image was", "kept images were"),
                    broken.join("; ")
                ),
                (false, _) => verdict(&report),
            };
            eprintln!(
                "verify: {} listed again ({}), {} checked: {verdict}",
                crate::plural::count(report.packages, "touched package", "touched packages"),
                crate::plural::count(report.requests, "API request", "API requests"),
                crate::plural::count(report.images, "kept version", "kept versions"),
            );
            warn_unknown(&report);
            print_findings(&report.findings);
            self::outcome(&report)
        }
        Err(e) => Err(Failure::partial(format!(
            "cannot verify the kept images: {e}\n  help: run `retention verify --policy P` once the API answers"
        ))),
    };
    crate::outcome::combine(outcome, verified)
}

/// The images the plan keeps that cannot be pulled whole as they stand (found broken before the
/// run): one label each, `package digest (tags): what it lacks`.
pub(super) fn kept_broken(plan: &Plan) -> Vec<String> {
    use crate::plan::BrokenKind;
    let mut out = Vec::new();
    for p in &plan.packages {
        for b in &p.broken {
            let kept = p
                .versions
                .iter()
                .any(|v| v.id == b.id && v.action == Action::Keep);
            if !kept {
                continue;
            }
            let tags = if b.tags.is_empty() {
                "untagged".to_string()
            } else {
                b.tags.join(", ")
            };
            let short = |d: &String| d.get(..19).unwrap_or(d).to_string();
            let missing: Vec<String> = b.missing.iter().map(short).collect();
            let lacks = match b.kind {
                BrokenKind::Ghost => {
                    "ghost: none of its platform manifests is in the package".to_string()
                }
                BrokenKind::Partial => format!(
                    "partial: {} missing ({})",
                    crate::plural::count(
                        b.missing.len(),
                        "platform manifest",
                        "platform manifests"
                    ),
                    missing.join(", ")
                ),
                BrokenKind::Orphaned => {
                    format!(
                        "orphaned: its subject {} is not in the package",
                        missing.join(", ")
                    )
                }
            };
            out.push(format!("{} {} ({tags}): {lacks}", p.name, short(&b.name)));
        }
    }
    out
}

/// The plan's broken-image warning, as `plan` shows it: `apply` keeps these as they are.
pub(super) fn warn_broken(labels: &[String]) {
    for label in labels {
        eprintln!(
            "warning: a kept image cannot be pulled whole as it stands (this run does not change that): {}",
            crate::render::printable(label)
        );
    }
}

/// Kept versions whose manifest is unknown: what they list could not be checked.
fn warn_unknown(report: &Report) {
    if report.unknown_manifests > 0 {
        eprintln!(
            "warning: {} no readable manifest: the parts they list were not checked",
            crate::plural::count(
                report.unknown_manifests,
                "kept version has",
                "kept versions have"
            )
        );
    }
}

fn verdict(report: &Report) -> String {
    match report.findings.len() {
        0 => "every kept image is whole".to_string(),
        1 => "1 kept image is not whole".to_string(),
        n => format!("{n} kept images are not whole"),
    }
}

/// One `error:` line per finding on stderr, and an `::error` annotation in a runner.
fn print_findings(findings: &[Finding]) {
    let runner = crate::actions::Runner::detect();
    for f in findings {
        eprintln!("error: {f}");
        if runner.is_some() {
            eprint!(
                "{}",
                crate::actions::command(
                    "error",
                    &[("title", "retention: a kept image is not whole")],
                    &f.to_string()
                )
            );
        }
    }
}

fn outcome(report: &Report) -> Outcome {
    if report.findings.is_empty() {
        return Ok(());
    }
    Err(Failure::partial(format!(
        "{} (listed above)\n  help: GitHub keeps deleted versions 30 days: `retention restore --journal FILE` restores what a run deleted; a part that the registry removed by itself is restored by its id (POST …/versions/ID/restore)",
        verdict(report)
    )))
}
