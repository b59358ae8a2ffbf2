//! `retention apply`: plan now (`--policy`) or take a saved plan (`--plan`, each version re-read
//! first), delete what it deletes, then remove the tags it removes from images that stay
//! ([`crate::apply::untag`]), journal each outcome, and report. With `--policy`, placeholders a
//! killed run left holding a tag are deleted before the policy is evaluated
//! ([`crate::apply::leftovers`]).
//!
//! Exit codes: 0 when every deletion is done or skipped by GitHub's refusal (reported; a refusal
//! does not go away by running again), 3 when some failed or the rate budget ran out (the next run
//! continues), 2 when a permission or API problem stopped the run, 1 for policy/usage errors.
//! After the deletions, the touched container packages are listed once more and every kept image
//! must still be whole ([`super::verify::after_apply`]); one that lost a part makes the run exit 3.
//! [`execute`] returns the counts ([`ApplyResults`]) for the GitHub Action's outputs; [`report`]
//! is the one place the final reporting happens.

use std::sync::Arc;

use super::online;
use super::settings::Settings;
use super::{Failure, Outcome};
use crate::apply::journal::Journal;
use crate::apply::untag::{UntagReport, UntagTarget, Untagger};
use crate::apply::{ApplyReport, Stop, Target};
use crate::cli::ApplyArgs;
use crate::fill::FillScope;
use crate::github::{GithubClient, PaceMemory, Scope};
use crate::plan::Plan;
use crate::policy::Policy;

/// The counts of an apply run (what the Action writes to `GITHUB_OUTPUT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyResults {
    /// Versions the plan deletes.
    pub to_delete: u64,
    /// Deleted now, or found already gone.
    pub deleted: u64,
    pub skipped: u64,
    /// Deletions and tag removals that failed.
    pub failed: u64,
    /// Not attempted (the run stopped).
    pub left: u64,
    /// Tags the plan removes from images that stay.
    pub to_untag: u64,
    /// Tags removed.
    pub untagged: u64,
}

pub fn run(args: &ApplyArgs, settings: &Settings) -> Outcome {
    let (results, outcome) = execute(args, settings);
    // In a runner, the counts reach the workflow whatever happened (zero when nothing ran).
    if let Some(runner) = crate::actions::Runner::detect() {
        let failure = outcome.as_ref().err();
        let result = crate::actions::ApplyResult {
            deleted: results.deleted,
            failed: results.failed,
            untagged: results.untagged,
            journal: Some(&args.journal),
            failure,
        };
        if let Err(f) = runner.report_apply(&result) {
            crate::printer::failure(&f.into());
        }
    }
    outcome
}

/// The bound on tag removals of `apply --plan` without `--policy` or `--max-untags` (the
/// default of `safety.max_untags`).
pub const DEFAULT_MAX_UNTAGS: u64 = 1000;

/// Run `apply`; the counts are returned whatever the outcome (zero when nothing was attempted).
pub fn execute(args: &ApplyArgs, settings: &Settings) -> (ApplyResults, Outcome) {
    match execute_inner(args, settings) {
        Ok((results, outcome)) => (results, outcome),
        Err(f) => (ApplyResults::default(), Err(f)),
    }
}

fn execute_inner(
    args: &ApplyArgs,
    settings: &Settings,
) -> Result<(ApplyResults, Outcome), Failure> {
    // Everything that can be refused is checked before the journal is created or anything is
    // sent: the plan or policy, and the token (deleting needs one).
    let loaded_plan = match &args.plan {
        Some(p) => Some(Plan::load(p)?),
        None => None,
    };
    let loaded_policy = match &args.policy {
        Some(p) => Some(load_policy(p, args, settings)?),
        None if loaded_plan.is_none() => {
            return Err(Failure::usage("give --policy FILE or --plan PLAN.json"))
        }
        None => None,
    };
    settings.require_token_to_delete()?;
    // The registry goes with why each version is deleted (`retention journal show`).
    let registry = settings.registry().ok().map(|r| r.url.as_str());
    let journal = Arc::new(Journal::open(&args.journal)?.with_registry(registry));
    let runtime = online::runtime()?;
    runtime.block_on(async {
        // Where tags are removed (and placeholders a killed run left are found).
        let registry = settings.registry_client()?;
        let cache = settings.cache();
        let placeholders = super::pipeline::Sweep {
            registry: &registry,
            cache,
            journal: &journal,
            known: known_placeholders(&args.journal),
        };
        // Placeholders left by an earlier run that still hold their tag (a failure of this run).
        let mut swept_failed = Vec::new();
        // The kept images the plan found broken (not this run's doing).
        let already_broken;
        // The inventory the deletions were decided on (with its manifests), for the check after.
        let mut before = None;
        // Where the pace GitHub allowed is remembered.
        let memory;
        let (client, scope, targets, untags) = match (loaded_plan, &args.policy) {
            (Some(plan), _) => {
                if let Some(runner) = crate::actions::Runner::detect() {
                    runner.report_plan(&plan)?;
                }
                already_broken = super::verify::kept_broken(&plan);
                super::verify::warn_broken(&already_broken);
                let count = plan.deletions().count() as u64;
                // --max-deletions overrides the policy's value the plan recorded.
                let limit = match (args.max_deletions, plan.max_deletions) {
                    (Some(max), _) => Some((max, "--max-deletions")),
                    (None, Some(max)) => Some((max, "the policy's safety.max_deletions, recorded in the plan")),
                    (None, None) => None,
                };
                if let Some((max, source)) = limit {
                    if count > max {
                        return Err(Failure::usage(format!(
                            "the plan deletes {}, more than {max} ({source}); nothing was deleted\n  help: check the plan; if it is right, pass --max-deletions {count}",
                            crate::plural::count(count, "version", "versions")
                        )));
                    }
                }
                if let Some(owner) = settings.owner_flag() {
                    if !owner.eq_ignore_ascii_case(&plan.owner) {
                        crate::printer::warning(&format!("--owner {owner} is not the owner the plan was made for ({}): its version ids are looked up under {owner}", plan.owner));
                    }
                }
                let (client, scope) = online::connect(settings, Some(&plan.owner)).await?;
                memory = pace(args, loaded_policy.as_ref(), settings, &client, &scope);
                let mut targets = targets(&plan, true);
                explain(&journal, &plan);
                let mut untags = untag_targets(&plan);
                let max_untags = loaded_policy
                    .as_ref()
                    .map_or(args.max_untags.unwrap_or(DEFAULT_MAX_UNTAGS), |p| {
                        p.safety.max_untags
                    });
                check_max_untags(untags.len() as u64, max_untags)?;
                if let (Some(policy_path), Some(policy)) = (&args.policy, &loaded_policy) {
                    // Evaluate the policy now: the graph may have changed since the plan (a new
                    // image sharing a platform manifest). Delete only what both delete.
                    if policy.sha256 != plan.policy_sha256 {
                        crate::printer::note(&format!("{} is not the policy the plan was made with; only what both delete is deleted", policy_path.display()));
                    }
                    let (inventory, now_plan, failed) =
                        plan_now(settings, &client, &scope, policy, &placeholders).await?;
                    swept_failed = failed;
                    let recheck = crate::plan::recheck::Recheck::new(&now_plan);
                    for t in &mut targets {
                        if let Some(hold) = recheck.deletion_hold(t.id) {
                            t.hold = Some(hold);
                        }
                    }
                    // Likewise a tag is removed only if the policy, now, removes it too.
                    for u in &mut untags {
                        if let Some(hold) = recheck.untag_hold(u.id, &u.tag) {
                            u.hold = Some(hold);
                        }
                    }
                    before = Some(inventory);
                }
                (client, scope, targets, untags)
            }
            (None, Some(_)) => {
                let Some(policy) = loaded_policy.as_ref() else {
                    return Err(Failure::usage("give --policy FILE or --plan PLAN.json"));
                };
                let (client, scope) = online::connect(settings, policy.owner.as_deref()).await?;
                let memory = pace(args, Some(policy), settings, &client, &scope);
                // Read, decide and delete package by package: deleting starts before every
                // manifest is read (commands/pipeline.rs). Tags are removed after, below.
                eprintln!("journal: {}", args.journal.display());
                let streamed = super::pipeline::apply_streamed(
                    settings,
                    &client,
                    &scope,
                    policy,
                    &placeholders,
                    Arc::clone(&journal),
                    &|plan| {
                        explain(&journal, plan);
                        targets(plan, false)
                    },
                )
                .await?;
                if let Some(m) = &memory {
                    m.save(&streamed.report.pace, chrono::Utc::now());
                }
                let plan = &streamed.plan;
                let already_broken = super::verify::kept_broken(plan);
                super::verify::warn_broken(&already_broken);
                let untags = untag_targets(plan);
                // The deletions are done; no tag has been removed yet.
                let refused = check_max_untags(untags.len() as u64, policy.safety.max_untags)
                    .err()
                    .map(|_| untags.len() as u64);
                let unread = withheld_for_unread_manifests(
                    plan,
                    &streamed.inventory,
                    &streamed.unreadable,
                );
                let deleting: std::collections::HashSet<u64> =
                    plan.deletions().map(|(_, v)| v.id).collect();
                let report = streamed.report;
                let mut untag_report = match refused {
                    Some(count) => UntagReport {
                        total: count,
                        left: count,
                        ..UntagReport::default()
                    },
                    None => {
                        remove_tags(&client, &scope, &placeholders, &report, untags)
                            .await
                    }
                };
                untag_report.failed.extend(streamed.swept_failed);
                let (results, mut outcome) = report_outcome_with_untags(&report, &untag_report);
                if let Some(count) = refused {
                    let message = over_max_untags(
                        count,
                        policy.safety.max_untags,
                        "the deletions were done, no tag was removed",
                    );
                    outcome = match outcome {
                        Ok(()) => Err(Failure::usage(message)),
                        Err(f) => {
                            crate::printer::error(&message);
                            Err(f)
                        }
                    };
                }
                let outcome = join_unread(unread, outcome);
                let incomplete = super::plan::incomplete_listings(&streamed.inventory);
                let outcome = join_unread(incomplete, outcome);
                let outcome = super::verify::after_apply(
                    &client,
                    &scope,
                    &streamed.inventory,
                    &deleting,
                    &report.touched,
                    &already_broken,
                    outcome,
                )
                .await;
                return Ok((results, outcome));
            }
            (None, None) => return Err(Failure::usage("give --policy FILE or --plan PLAN.json")),
        };
        eprintln!(
            "deleting {} versions of {scope}; journal: {}",
            targets.len(),
            args.journal.display()
        );
        let deleting: std::collections::HashSet<u64> =
            targets.iter().filter(|t| t.hold.is_none()).map(|t| t.id).collect();
        let images: std::collections::BTreeSet<String> = targets
            .iter()
            .filter(|t| t.package_type.is_image())
            .map(|t| t.package.clone())
            .collect();
        let report = crate::apply::execute(&client, &scope, targets, Arc::clone(&journal)).await;
        if let Some(m) = &memory {
            m.save(&report.pace, chrono::Utc::now());
        }
        let mut untag_report =
            remove_tags(&client, &scope, &placeholders, &report, untags).await;
        untag_report.failed.extend(swept_failed);
        let (results, outcome) = report_outcome_with_untags(&report, &untag_report);
        // With --policy the policy was evaluated now: a listing that did not add up withheld
        // what rests on a version's absence, and the run says so and exits 3.
        let incomplete = before
            .as_ref()
            .and_then(super::plan::incomplete_listings);
        let outcome = join_unread(incomplete, outcome);
        let outcome = match &before {
            Some(before) => {
                super::verify::after_apply(
                    &client,
                    &scope,
                    before,
                    &deleting,
                    &report.touched,
                    &already_broken,
                    outcome,
                )
                .await
            }
            None if report.touched.iter().any(|p| images.contains(p)) => {
                eprintln!("verify: skipped: `apply --plan` without --policy reads no manifests; run `retention verify --policy P` to check the kept images");
                outcome
            }
            None => outcome,
        };
        Ok((results, outcome))
    })
}

/// Pace the deletions: `--deletions-per-minute`, else the policy's `safety.deletions_per_minute`,
/// else one a second; start from the pace the last run against this API and owner learned
/// (remembered in the cache directory, returned to save this run's), and stop taking deletions
/// after `--max-duration`.
fn pace(
    args: &ApplyArgs,
    policy: Option<&Policy>,
    settings: &Settings,
    client: &GithubClient,
    scope: &Scope,
) -> Option<PaceMemory> {
    let configured = args
        .deletions_per_minute
        .or(policy.and_then(|p| p.safety.deletions_per_minute))
        .map_or(
            crate::github::pacer::DEFAULT_DELETIONS_PER_MINUTE,
            f64::from,
        );
    let memory = settings
        .cache()
        .dir()
        .map(|dir| PaceMemory::new(dir, &client.api_host(), scope.owner()));
    let start = memory.as_ref().and_then(|m| m.start(chrono::Utc::now()));
    let pacer = client.pacer();
    pacer.configure(configured, start);
    let summary = pacer.summary();
    if summary.from_memory {
        eprintln!(
            "note: starting at {:.0} deletions a minute (configured: {:.0}), the pace GitHub allowed the last run ({}){}",
            summary.started,
            summary.configured,
            memory.as_ref().map(|m| m.path().display().to_string()).unwrap_or_default(),
            if start.is_some_and(|s| s.may_probe) { "; raising it slowly while GitHub accepts" } else { "" }
        );
    }
    if let Some(d) = args.max_duration {
        pacer.set_max_duration(d);
    }
    memory
}

/// Remove the tags of `untags` from images that stay, after the deletions (`report`): none when
/// the run stopped (permission, budget, journal).
async fn remove_tags(
    client: &GithubClient,
    scope: &Scope,
    at: &super::pipeline::Sweep<'_>,
    report: &ApplyReport,
    untags: Vec<UntagTarget>,
) -> UntagReport {
    if untags.is_empty() {
        UntagReport::default()
    } else if report.stop.is_some() {
        UntagReport {
            total: untags.len() as u64,
            left: untags.len() as u64,
            ..UntagReport::default()
        }
    } else {
        eprintln!(
            "removing {} from images that stay",
            crate::plural::count(untags.len(), "tag", "tags")
        );
        let untagger = Untagger {
            client,
            scope,
            registry: at.registry,
            cache: at.cache,
            journal: at.journal,
            run: crate::apply::untag::run_id(),
            known: &at.known,
        };
        untagger.run(untags).await
    }
}

/// A run whose deletions were withheld for unread manifests or an incomplete listing
/// (`unread`: the message) exits 3.
fn join_unread(unread: Option<String>, outcome: Outcome) -> Outcome {
    match (unread, outcome) {
        (Some(m), Ok(())) => Err(Failure::partial(m.to_string()).warning()),
        (Some(m), Err(f)) => {
            eprintln!("warning: {m}");
            Err(f)
        }
        (None, outcome) => outcome,
    }
}

/// The tags to remove: one target per tag of each version's `untag`.
fn untag_targets(plan: &Plan) -> Vec<UntagTarget> {
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
fn check_max_untags(count: u64, max: u64) -> Result<(), Failure> {
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
fn over_max_untags(count: u64, max: u64, done: &str) -> String {
    format!(
        "the plan removes {} from images that stay, more than max_untags ({max}); {done}\n  help: raise it with --max-untags {count} (or safety.max_untags) if the plan is right",
        crate::plural::count(count, "tag", "tags")
    )
}

/// Read the policy (annotating its errors in a runner), with --max-deletions and --max-untags
/// applied.
fn load_policy(
    path: &std::path::Path,
    args: &ApplyArgs,
    settings: &Settings,
) -> Result<Policy, Failure> {
    let mut policy = super::load_policy(path, &args.vars)?;
    let owner = policy.owner.clone();
    let owner = || settings.owner_for(owner.as_deref());
    super::in_use::attach(&mut policy, &args.in_use, owner, settings, "the policy")?;
    if let Some(max) = args.max_deletions {
        policy.safety.max_deletions = max;
    }
    if let Some(max) = args.max_untags {
        policy.safety.max_untags = max;
    }
    Ok(policy)
}

/// List, read the manifests a decision needs, sweep the placeholders an earlier run left
/// holding a tag (never evaluated: [`super::placeholders`]), and evaluate the policy now.
/// Returns the placeholders that could not be swept too.
async fn plan_now(
    settings: &Settings,
    client: &GithubClient,
    scope: &Scope,
    policy: &Policy,
    placeholders: &super::pipeline::Sweep<'_>,
) -> Result<
    (
        crate::inventory::Inventory,
        Plan,
        Vec<(String, String, String)>,
    ),
    Failure,
> {
    let (_, mut inventory) =
        online::inventory(settings, client, scope, policy, FillScope::Needed).await?;
    let now = settings.now();
    let swept =
        super::placeholders::sweep(client, scope, placeholders, policy, now, &mut inventory)
            .await?;
    let plan = super::placeholders::evaluate(policy, &inventory, now, &swept.doubt)?;
    Ok((inventory, plan, swept.failed))
}

/// The placeholder digests the journal names (so that one is recognised even when its manifest
/// cannot be read); none when the journal cannot be read (its own error comes from `restore`).
fn known_placeholders(
    path: &std::path::Path,
) -> std::collections::HashMap<String, (String, String)> {
    match crate::apply::journal::read(path) {
        Ok(entries) => crate::apply::leftovers::known_from_journal(&entries),
        Err(e) => {
            eprintln!("warning: {e}: placeholders are recognised by their manifests only");
            std::collections::HashMap::new()
        }
    }
}

/// When manifests could not be read: how many deletions that withheld, tagged and untagged, as
/// the message `apply` ends with (exit 3: running again when the registry answers deletes them).
fn withheld_for_unread_manifests(
    plan: &Plan,
    inventory: &crate::inventory::Inventory,
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

/// What to delete: the plan's deletions. `recheck`: re-read each version first and skip it if
/// it changed since the plan was made (a saved plan applied later).
fn targets(plan: &Plan, recheck: bool) -> Vec<Target> {
    plan.deletions()
        .map(|(p, v)| Target {
            package: p.name.clone(),
            package_type: p.package_type,
            id: v.id,
            name: v.name.clone(),
            tags: v.tags.clone(),
            recheck: recheck.then_some(v.updated_at),
            after: v.after.clone(),
            hold: None,
        })
        .collect()
}

/// Tell the journal why each deletion of `plan` is made (the plan's reasons, its policy's
/// sha256): the first line about the version says so. Called as the targets are made, before
/// they go to the executor (for `apply --policy`, by the pipeline's `to_targets`).
fn explain(journal: &Journal, plan: &Plan) {
    for (p, v) in plan.deletions() {
        journal.explain(&p.name, v.id, &v.reasons, &plan.policy_sha256);
    }
}

/// The final reporting of an apply run: summary on stderr, counts on stdout, the exit code.
pub fn report_outcome_with_untags(r: &ApplyReport, u: &UntagReport) -> (ApplyResults, Outcome) {
    let results = ApplyResults {
        to_delete: r.total,
        deleted: r.done(),
        skipped: (r.skipped.len() + u.skipped.len()) as u64,
        failed: (r.failed.len() + u.failed.len()) as u64,
        left: r.left + u.left,
        to_untag: u.total,
        untagged: u.untagged,
    };
    eprintln!(
        "summary: {} deleted ({} now, {} already gone), {} skipped, {} failed, {} left undone",
        r.done(),
        r.deleted,
        r.already_gone,
        r.skipped.len(),
        r.failed.len(),
        r.left
    );
    use crate::render::printable;
    // Workers finish in any order: the lists are printed sorted, so two runs read the same.
    let sorted = |list: &[(String, String, String)]| {
        let mut list: Vec<(String, String, String)> = list.to_vec();
        list.sort();
        list
    };
    for (package, label, why) in &sorted(&r.skipped) {
        eprintln!(
            "  skipped {} {}: {}",
            printable(package),
            printable(label),
            printable(why)
        );
    }
    for (package, label, why) in &sorted(&r.failed) {
        eprintln!(
            "  failed {} {}: {}",
            printable(package),
            printable(label),
            printable(why)
        );
    }
    let budget = match (r.budget.remaining, r.budget.reset) {
        (Some(n), Some(t)) => format!("{n} requests left, resets at {}", t.to_rfc3339()),
        (Some(n), None) => format!("{n} requests left"),
        _ => "unknown".to_string(),
    };
    eprintln!(
        "API: {} requests for the deletions, {} secondary-limit answers; rate budget: {budget}",
        r.requests, r.secondary_limits
    );
    if u.total > 0 || !u.failed.is_empty() {
        eprintln!(
            "untag: {} of {} removed, {} skipped, {} failed, {} left undone ({})",
            u.untagged,
            crate::plural::count(u.total, "tag", "tags"),
            u.skipped.len(),
            u.failed.len(),
            u.left,
            crate::plural::count(u.api_requests, "API request", "API requests")
        );
        for (package, label, why) in &sorted(&u.skipped) {
            eprintln!(
                "  skipped {} {}: {}",
                printable(package),
                printable(label),
                printable(why)
            );
        }
        for (package, label, why) in &sorted(&u.failed) {
            eprintln!(
                "  failed {} {}: {}",
                printable(package),
                printable(label),
                printable(why)
            );
        }
    }
    println!(
        "deleted={} skipped={} failed={} left={} untagged={}",
        results.deleted, results.skipped, results.failed, results.left, results.untagged
    );
    if let (None, Some(why)) = (&r.stop, &u.stop) {
        let message = format!(
            "stopped removing tags: {why}; {} of {} tag removals were left undone",
            u.left, u.total
        );
        return (
            results,
            Err(if u.stop_is_budget {
                Failure::partial(format!("{message}: the next run continues")).warning()
            } else {
                Failure::run(message.to_string())
            }),
        );
    }
    let outcome = match &r.stop {
        Some(Stop::Fatal(e)) => Err(Failure::run(format!(
            "stopped: {e}\n{} versions were left undone",
            r.left
        ))),
        Some(Stop::Deadline(d)) => Err(Failure::partial(format!(
            "stopped: --max-duration {} passed; {} of {} deletions are left undone: the next run continues",
            humantime::format_duration(*d),
            r.left,
            r.total
        )).warning()),
        Some(Stop::Journal(e)) => Err(Failure::run(format!(
            "stopped: {e}; {} versions were left undone",
            r.left
        ))),
        Some(Stop::Budget { remaining, reset }) => {
            let reset = reset
                .map(|t| format!("it resets at {}", t.to_rfc3339()))
                .unwrap_or_else(|| "its reset time is unknown".to_string());
            Err(Failure::partial(format!(
                "stopped: the API rate limit is nearly spent ({} requests left); {} of {} deletions are left undone; {reset}: run again then (a scheduled run continues where this one stopped)",
                // The last count GitHub gave, which answers still in flight at the stop lowered.
                r.budget
                    .remaining
                    .or(*remaining)
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "?".into()),
                r.left,
                r.total
            )).warning())
        }
        Some(Stop::Secondary { until, message }) => {
            let when = until
                .map(|t| {
                    format!(
                        "run again after {}",
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )
                })
                .unwrap_or_else(|| "run again in an hour or so".to_string());
            Err(Failure::partial(format!(
                "stopped: GitHub's secondary rate limit (too many requests in a short time, not the hourly budget: {} requests are left): {message}\n{} of {} deletions are left undone; {when} (a scheduled run continues where this one stopped)",
                r.budget.remaining.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
                r.left,
                r.total
            )).warning())
        }
        None if !r.failed.is_empty() => Err(Failure::partial(format!(
            "{} failed (listed above); run again to retry them",
            crate::plural::count(r.failed.len(), "deletion", "deletions")
        ))),
        None if !u.failed.is_empty() => Err(Failure::partial(format!(
            "{} failed (listed above); run again to retry them",
            crate::plural::count(u.failed.len(), "tag removal", "tag removals")
        ))),
        None => Ok(()),
    };
    (results, outcome)
}
