//! The verdict of a verification, in words, and the outcome it gives a run: after `apply`
//! ([`after_apply`]: the touched packages listed again) and for `retention verify` ([`Listed`]:
//! the inventory as listed). A kept image that is not whole is an `error:` line each and exit 3;
//! what could not be checked (a kept image with no readable manifest, a listing that did not add
//! up) keeps the verdict from calling every image whole, and is exit 3 too.
//!
//! What is found is printed here (through [`crate::printer`]); the runner's `::error`
//! annotation of a finding is the caller's (`annotate`): the Actions layer is above this one.

use std::collections::{BTreeSet, HashSet};

use super::{Finding, Report};
use crate::github::{GithubClient, Scope};
use crate::inventory::Inventory;
use crate::outcome::{Failure, Outcome};
use crate::plan::{Action, Plan};
use crate::plural;
use crate::printer;

/// The container packages of `inventory` (those `which` accepts) whose listing did not add up,
/// in words: `the listing of team/app (5 listed, GitHub counts 6) is incomplete: a kept image
/// may be the version missing`; `None` when every listing is complete.
fn listing_gaps(inventory: &Inventory, which: impl Fn(&str) -> bool) -> Option<String> {
    let gaps =
        inventory.listing_gaps(|p| p.package.package_type.is_image() && which(&p.package.name));
    (!gaps.is_empty()).then(|| {
        format!(
            "the {} of {} {} incomplete: a kept image may be the version missing",
            plural::word(gaps.len(), "listing", "listings"),
            gaps.join(", "),
            plural::word(gaps.len(), "is", "are"),
        )
    })
}

/// After apply: list the touched packages once more and check the kept images. `deleting`: the
/// ids the run meant to delete (every other version of `before` is meant to stay);
/// `already_broken`: the kept images the plan found broken before the run (labels: the check
/// cannot call those whole). Findings make the outcome exit 3; so does a listing that fails.
pub async fn after_apply(
    client: &GithubClient,
    scope: &Scope,
    before: &Inventory,
    deleting: &HashSet<u64>,
    touched: &BTreeSet<String>,
    already_broken: &[String],
    annotate: &dyn Fn(&Finding),
) -> Outcome {
    let containers: BTreeSet<String> = before
        .packages
        .iter()
        .filter(|e| e.package.package_type.is_image() && touched.contains(&e.package.name))
        .map(|e| e.package.name.clone())
        .collect();
    if containers.is_empty() {
        return Ok(());
    }
    let kept = |_: &str, id: u64| !deleting.contains(&id);
    // A kept image the listing before the run missed was never checked (the run exits 3 for
    // that listing already): the verdict must not call every kept image whole.
    let gaps = listing_gaps(before, |p| containers.contains(p));
    match super::after_apply(client, scope, before, kept, &containers).await {
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
                    plural::count(broken.len(), "kept image was", "kept images were"),
                    broken.join("; ")
                ),
                (false, _) => verdict(&report),
            };
            printer::status(&format!(
                "verify: {} listed again ({}), {} checked: {verdict}",
                plural::count(report.packages, "touched package", "touched packages"),
                plural::count(report.requests, "API request", "API requests"),
                plural::count(report.images, "kept version", "kept versions"),
            ));
            warn_unknown(&report);
            print_findings(&report.findings, annotate);
            outcome(&report)
        }
        Err(e) => Err(Failure::partial(format!(
            "cannot verify the kept images: {e}\n  help: run `retention verify --policy P` once the API answers"
        ))),
    }
}

/// `retention verify`: the kept images of a plan, checked against the inventory as listed.
pub struct Listed {
    report: Report,
    /// The listings that did not add up, in words ([`listing_gaps`]).
    gaps: Option<String>,
}

/// The first few unchecked images named (a registry that answers nothing would list every
/// version).
const LISTED: usize = 10;

impl Listed {
    /// Check every image `plan` keeps against what `inventory` lists.
    pub fn check(inventory: &Inventory, plan: &Plan) -> Listed {
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
        Listed {
            report: super::listed(inventory, |p, id| kept.contains(&(p, id))),
            // A package whose listing did not add up may miss a kept image: it was never checked.
            gaps: listing_gaps(inventory, |_| true),
        }
    }

    /// Kept versions with no readable manifest: a warning.
    pub fn warn_unknown(&self) {
        warn_unknown(&self.report);
    }

    /// The line for standard output: `verify: N kept versions in M container packages checked:
    /// VERDICT`, with what was not checked.
    pub fn line(&self) -> String {
        let report = &self.report;
        let mut caveats = Vec::new();
        if !report.unchecked.is_empty() {
            // A check that could not read a manifest cannot call that image whole.
            caveats.push(format!(
                "{} not be checked (no readable manifest)",
                plural::count(
                    report.unchecked.len(),
                    "kept image could",
                    "kept images could"
                )
            ));
        }
        if let Some(gaps) = &self.gaps {
            caveats.push(format!("not checked: {gaps}"));
        }
        let verdict = if caveats.is_empty() {
            verdict(report)
        } else {
            format!(
                "{}; {}",
                match report.findings.len() {
                    0 => "no kept image found broken".to_string(),
                    _ => verdict(report),
                },
                caveats.join("; ")
            )
        };
        format!(
            "verify: {} in {} checked: {verdict}",
            plural::count(report.images, "kept version", "kept versions"),
            plural::count(report.packages, "container package", "container packages"),
        )
    }

    /// One `error:` line per finding, then a warning per image that could not be checked.
    pub fn print(&self, annotate: &dyn Fn(&Finding)) {
        let report = &self.report;
        print_findings(&report.findings, annotate);
        for label in report.unchecked.iter().take(LISTED) {
            printer::warning(&format!(
                "not checked: {}: its manifest could not be read",
                crate::render::printable(label)
            ));
        }
        if report.unchecked.len() > LISTED {
            printer::warning(&format!(
                "not checked: {} more",
                report.unchecked.len() - LISTED
            ));
        }
    }

    /// Exit 3 for a finding, and for what could not be checked.
    pub fn outcome(&self) -> Outcome {
        let report = &self.report;
        let mut not_checked = Vec::new();
        if !report.unchecked.is_empty() {
            not_checked.push(format!(
                "{} not be checked: no readable manifest (listed above)\n  help: run `retention verify` again when the registry answers",
                plural::count(report.unchecked.len(), "kept image could", "kept images could"),
            ));
        }
        if let Some(gaps) = &self.gaps {
            not_checked.push(format!(
                "not every kept image was checked: {gaps}\n  help: run `retention verify` again (another actor was deleting or pushing while it listed)"
            ));
        }
        not_checked
            .into_iter()
            .map(|m| Err(Failure::partial(m)))
            .fold(outcome(report), crate::outcome::combine)
    }
}

/// The images the plan keeps that cannot be pulled whole as they stand (found broken before the
/// run): one label each, `package digest (tags): what it lacks`.
pub fn kept_broken(plan: &Plan) -> Vec<String> {
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
                    plural::count(b.missing.len(), "platform manifest", "platform manifests"),
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
pub fn warn_broken(labels: &[String]) {
    for label in labels {
        printer::warning(&format!(
            "a kept image cannot be pulled whole as it stands (this run does not change that): {}",
            crate::render::printable(label)
        ));
    }
}

/// Kept versions whose manifest is unknown: what they list could not be checked.
fn warn_unknown(report: &Report) {
    if report.unknown_manifests > 0 {
        printer::warning(&format!(
            "{} no readable manifest: the parts they list were not checked",
            plural::count(
                report.unknown_manifests,
                "kept version has",
                "kept versions have"
            )
        ));
    }
}

fn verdict(report: &Report) -> String {
    match report.findings.len() {
        0 => "every kept image is whole".to_string(),
        1 => "1 kept image is not whole".to_string(),
        n => format!("{n} kept images are not whole"),
    }
}

/// One `error:` line per finding on stderr, each followed by its annotation (`annotate`).
fn print_findings(findings: &[Finding], annotate: &dyn Fn(&Finding)) {
    for f in findings {
        printer::error(&f.to_string());
        annotate(f);
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
