//! `retention apply`: plan now (`--policy`) or take a saved plan (`--plan`, each version re-read
//! first), delete what it deletes, journal each outcome, and report.
//!
//! Exit codes: 0 when every deletion is done or skipped by GitHub's refusal (reported; a refusal
//! does not go away by running again), 3 when some failed or the rate budget ran out (the next run
//! continues), 2 when a permission or API problem stopped the run, 1 for policy/usage errors.
//! [`execute`] returns the counts ([`ApplyResults`]) for the GitHub Action's outputs; [`report`]
//! is the one place the final reporting happens.

use std::sync::Arc;

use super::online::{self, RegistryArgs};
use super::{Failure, Outcome};
use crate::apply::journal::Journal;
use crate::apply::{ApplyReport, Stop, Target};
use crate::cli::ApplyArgs;
use crate::github::{GithubClient, Scope};
use crate::plan::Plan;
use crate::policy::Policy;
use crate::registry::FillScope;

/// The counts of an apply run (what the Action writes to `GITHUB_OUTPUT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyResults {
    /// Versions the plan deletes.
    pub to_delete: u64,
    /// Deleted now, or found already gone.
    pub deleted: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Not attempted (the run stopped).
    pub left: u64,
}

pub fn run(args: &ApplyArgs) -> Outcome {
    let (results, outcome) = execute(args);
    // In a runner, the counts reach the workflow whatever happened (zero when nothing ran).
    if let Some(runner) = crate::actions::Runner::detect() {
        if let Err(f) = runner.report_apply(results.deleted, results.failed) {
            eprintln!("{}", f.message);
        }
    }
    outcome
}

/// Run `apply`; the counts are returned whatever the outcome (zero when nothing was attempted).
pub fn execute(args: &ApplyArgs) -> (ApplyResults, Outcome) {
    match execute_inner(args) {
        Ok((results, outcome)) => (results, outcome),
        Err(f) => (ApplyResults::default(), Err(f)),
    }
}

fn execute_inner(args: &ApplyArgs) -> Result<(ApplyResults, Outcome), Failure> {
    let journal = Arc::new(Journal::open(&args.journal).map_err(Failure::run)?);
    let runtime = online::runtime()?;
    runtime.block_on(async {
        let (client, scope, targets) = match (&args.plan, &args.policy) {
            (Some(plan_path), _) => {
                let plan = Plan::load(plan_path).map_err(|e| Failure::usage(format!("{e:#}")))?;
                if let Some(runner) = crate::actions::Runner::detect() {
                    runner.report_plan(&plan)?;
                }
                let count = plan.deletions().count() as u64;
                if let Some(max) = args.max_deletions {
                    if count > max {
                        return Err(Failure::usage(format!(
                            "the plan deletes {count} versions, more than --max-deletions {max}; nothing was deleted"
                        )));
                    }
                }
                let (client, scope) =
                    online::connect(args.owner.as_deref(), Some(&plan.owner), &args.token_env)
                        .await?;
                let mut targets = targets(&plan, true);
                if let Some(policy_path) = &args.policy {
                    // Evaluate the policy now: the graph may have changed since the plan (a new
                    // image sharing a platform manifest). Delete only what both delete.
                    let policy = load_policy(policy_path, args.max_deletions)?;
                    if policy.sha256 != plan.policy_sha256 {
                        eprintln!("note: {} is not the policy the plan was made with; only what both delete is deleted", policy_path.display());
                    }
                    let now_plan = plan_now(args, &client, &scope, &policy).await?;
                    let now: std::collections::HashMap<u64, &crate::plan::VersionPlan> =
                        now_plan.packages.iter().flat_map(|p| p.versions.iter()).map(|v| (v.id, v)).collect();
                    for t in &mut targets {
                        match now.get(&t.id) {
                            Some(v) if v.action == crate::plan::Action::Delete => {}
                            Some(v) => {
                                t.hold = Some(format!("not deleted: the policy, evaluated now, keeps it ({})", v.reasons.join("; ")))
                            }
                            None => t.hold = Some("not deleted: the policy, evaluated now, does not see it".to_string()),
                        }
                    }
                }
                (client, scope, targets)
            }
            (None, Some(policy_path)) => {
                let policy = load_policy(policy_path, args.max_deletions)?;
                let (client, scope) =
                    online::connect(args.owner.as_deref(), policy.owner.as_deref(), &args.token_env)
                        .await?;
                // Read, decide and delete package by package: deleting starts before every
                // manifest is read (commands/pipeline.rs).
                let registry = RegistryArgs {
                    registry: &args.registry,
                    cache_dir: args.cache_dir.as_deref(),
                    token_env: &args.token_env,
                };
                let now = args.now.unwrap_or_else(chrono::Utc::now);
                eprintln!("journal: {}", args.journal.display());
                let report = super::pipeline::apply_streamed(
                    &client,
                    &scope,
                    &policy,
                    &registry,
                    now,
                    Arc::clone(&journal),
                    |plan| targets(plan, false),
                )
                .await?;
                return Ok(report_outcome(&report));
            }
            (None, None) => return Err(Failure::usage("give --policy FILE or --plan PLAN.json")),
        };
        eprintln!(
            "deleting {} versions of {scope}; journal: {}",
            targets.len(),
            args.journal.display()
        );
        let report = crate::apply::execute(&client, &scope, targets, Arc::clone(&journal)).await;
        Ok(report_outcome(&report))
    })
}

/// Read the policy (annotating its errors in a runner), with --max-deletions applied.
fn load_policy(path: &std::path::Path, max_deletions: Option<u64>) -> Result<Policy, Failure> {
    let mut policy = Policy::load(path).map_err(|e| {
        crate::actions::annotate(&e);
        Failure::usage(e.to_string())
    })?;
    if let Some(max) = max_deletions {
        policy.safety.max_deletions = max;
    }
    Ok(policy)
}

/// List, read the manifests a decision needs, and evaluate the policy now.
async fn plan_now(
    args: &ApplyArgs,
    client: &GithubClient,
    scope: &Scope,
    policy: &Policy,
) -> Result<Plan, Failure> {
    let now = args.now.unwrap_or_else(chrono::Utc::now);
    let registry = RegistryArgs {
        registry: &args.registry,
        cache_dir: args.cache_dir.as_deref(),
        token_env: &args.token_env,
    };
    let (_, inventory) =
        online::inventory(client, scope, policy, &registry, now, FillScope::Needed).await?;
    crate::evaluate::evaluate(policy, &inventory, now).map_err(|e| Failure::usage(e.to_string()))
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

/// The final reporting of an apply run: summary on stderr, counts on stdout, the exit code.
pub fn report_outcome(r: &ApplyReport) -> (ApplyResults, Outcome) {
    let results = ApplyResults {
        to_delete: r.total,
        deleted: r.done(),
        skipped: r.skipped.len() as u64,
        failed: r.failed.len() as u64,
        left: r.left,
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
    for (package, label, why) in &r.skipped {
        eprintln!("  skipped {package} {label}: {why}");
    }
    for (package, label, why) in &r.failed {
        eprintln!("  failed {package} {label}: {why}");
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
    println!(
        "deleted={} skipped={} failed={} left={}",
        results.deleted, results.skipped, results.failed, results.left
    );
    let outcome = match &r.stop {
        Some(Stop::Fatal(e)) => Err(Failure::run(format!(
            "error: stopped: {e}\n{} versions were left undone",
            r.left
        ))),
        Some(Stop::Journal(e)) => Err(Failure::run(format!(
            "error: stopped: {e}; {} versions were left undone",
            r.left
        ))),
        Some(Stop::Budget { remaining, reset }) => {
            let reset = reset
                .map(|t| format!("it resets at {}", t.to_rfc3339()))
                .unwrap_or_else(|| "its reset time is unknown".to_string());
            Err(Failure::partial(format!(
                "stopped: the API rate limit is nearly spent ({} requests left); {} of {} deletions are left undone; {reset}: run again then (a scheduled run continues where this one stopped)",
                remaining.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
                r.left,
                r.total
            )))
        }
        None if !r.failed.is_empty() => Err(Failure::partial(format!(
            "{} deletions failed (listed above); run again to retry them",
            r.failed.len()
        ))),
        None => Ok(()),
    };
    (results, outcome)
}
