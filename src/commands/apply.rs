//! `retention apply`: plan now (`--policy`) or take a saved plan (`--plan`, each version re-read
//! first), delete what it deletes, then remove the tags it removes from images that stay
//! ([`crate::apply::untag`]), journal each outcome, and report. With `--policy`, placeholders a
//! killed run left holding a tag are deleted before the policy is evaluated
//! ([`crate::apply::placeholders`]), and the deletions are streamed ([`crate::apply::stream`]).
//!
//! The flags are resolved once into an [`ApplyMode`] before anything is sent; the rest is
//! wiring. Exit codes ([`crate::apply::results::conclude`]): 0 when every deletion is done or
//! skipped by GitHub's refusal, 3 when some failed or the run stopped with work left, 2 when a
//! permission or API problem stopped the run, 1 for policy/usage errors. After the deletions,
//! the touched container packages are listed once more and every kept image must still be whole
//! ([`crate::verify::verdict::after_apply`]); one that lost a part makes the run exit 3.

use std::path::Path;
use std::sync::Arc;

use super::verify::annotate;
use super::{online, Failure, Outcome};
use crate::apply::journal::Journal;
use crate::apply::placeholders::Sweep;
use crate::apply::results::{self, also_warn, ApplyResults};
use crate::apply::saved::{Saved, Work};
use crate::apply::targets::{self, DEFAULT_MAX_UNTAGS};
use crate::apply::{pace, stream};
use crate::cli::{ApplyArgs, Settings};
use crate::evaluate::words::incomplete_listings;
use crate::fill::FillScope;
use crate::outcome::combine;
use crate::plan::Plan;
use crate::policy::Policy;
use crate::verify::verdict::{after_apply, kept_broken, warn_broken};

pub fn run(args: &ApplyArgs, settings: &Settings) -> Outcome {
    // The counts are reported whatever the outcome (zero when nothing was attempted).
    let (results, outcome) =
        execute(args, settings).unwrap_or_else(|f| (ApplyResults::default(), Err(f)));
    crate::actions::report_apply_run(&results, &args.journal, &outcome);
    outcome
}

/// What `apply` was asked to do, resolved from the flags (the plan read, the policy read with
/// its overrides, the limits) before the journal is opened or anything is sent.
enum ApplyMode {
    /// `--policy`: list, decide and delete now, package by package.
    Policy(Policy),
    /// `--plan`: a saved plan, each version re-read before it is deleted.
    Plan(Saved),
    /// `--plan --policy`: only what the plan and the policy, evaluated now, both do.
    PlanRecheck(Saved, Policy),
}

impl ApplyMode {
    fn resolve(args: &ApplyArgs, settings: &Settings) -> Result<ApplyMode, Failure> {
        let plan = args.plan.as_deref().map(Plan::load).transpose()?;
        let load = |p| load_policy(p, args, settings);
        let policy = args.policy.as_deref().map(load).transpose()?;
        let Some(plan) = plan else {
            // clap requires --policy or --plan (cli.rs); this answers rather than panics.
            let policy =
                policy.ok_or_else(|| Failure::usage("give --policy FILE or --plan PLAN.json"))?;
            return Ok(ApplyMode::Policy(policy));
        };
        let max_untags = policy.as_ref().map(|p| p.safety.max_untags);
        let max_untags = max_untags.unwrap_or(args.max_untags.unwrap_or(DEFAULT_MAX_UNTAGS));
        let saved = Saved::new(plan, args.max_deletions, max_untags);
        Ok(match policy {
            Some(policy) => ApplyMode::PlanRecheck(saved, policy),
            None => ApplyMode::Plan(saved),
        })
    }
}

/// Resolve the mode, open the journal and run it: the counts and the outcome of the run.
fn execute(args: &ApplyArgs, settings: &Settings) -> Result<(ApplyResults, Outcome), Failure> {
    // Everything that can be refused is checked before the journal is created or anything is
    // sent: the plan or policy, and the token (deleting needs one).
    let mode = ApplyMode::resolve(args, settings)?;
    settings.require_token_to_delete()?;
    // The registry goes with why each version is deleted (`retention journal show`).
    let registry = settings.registry().ok().map(|r| r.url.as_str());
    let journal = Arc::new(Journal::open(&args.journal)?.with_registry(registry));
    online::runtime()?.block_on(async {
        // Where tags are removed (and placeholders a killed run left are found).
        let registry = settings.registry_client()?;
        let sweep = Sweep {
            registry: &registry,
            cache: settings.cache(),
            journal: &journal,
            known: targets::known_placeholders(&args.journal),
        };
        match mode {
            ApplyMode::Policy(policy) => apply_policy(args, settings, &policy, &sweep).await,
            ApplyMode::Plan(saved) => apply_plan(args, settings, saved, None, &sweep).await,
            ApplyMode::PlanRecheck(saved, policy) => {
                apply_plan(args, settings, saved, Some(&policy), &sweep).await
            }
        }
    })
}

/// `apply --plan` (with `--policy`: only what the policy, evaluated now, does too).
async fn apply_plan(
    args: &ApplyArgs,
    settings: &Settings,
    saved: Saved,
    policy: Option<&Policy>,
    sweep: &Sweep<'_>,
) -> Result<(ApplyResults, Outcome), Failure> {
    let plan = &saved.plan;
    report_plan(plan)?;
    let broken = kept_broken(plan);
    warn_broken(&broken);
    saved.check(settings.owner_flag())?;
    let (client, scope) = online::connect(settings, Some(&plan.owner)).await?;
    let memory = start_pace(args, settings, &client, &scope, policy);
    let mut work = Work::of_plan(plan, sweep, saved.max_untags)?;
    // With --policy, the inventory the deletions were decided on, for the check after.
    let mut before = None;
    let mut swept_failed = Vec::new();
    if let (Some(path), Some(policy)) = (&args.policy, policy) {
        // Evaluate the policy now: the graph may have changed since the plan (a new image
        // sharing a platform manifest). Delete only what both delete.
        if policy.sha256 != plan.policy_sha256 {
            let path = path.display();
            crate::printer::note(&format!(
                "{path} is not the policy the plan was made with; only what both delete is deleted"
            ));
        }
        let (_, mut inventory) =
            online::inventory(settings, &client, &scope, policy, FillScope::Needed).await?;
        let now = settings.now();
        swept_failed = work
            .recheck(&client, &scope, sweep, policy, now, &mut inventory)
            .await?;
        before = Some(inventory);
    }
    let (deleting, images) = (work.deleting(), work.images());
    let (report, mut untag_report) = work.run(&client, &scope, sweep, memory.as_ref()).await;
    untag_report.failed.extend(swept_failed);
    let (results, outcome) = results::report(&report, &untag_report);
    let Some(before) = before else {
        if report.touched.iter().any(|p| images.contains(p)) {
            crate::printer::detail("verify: skipped: `apply --plan` without --policy reads no manifests; run `retention verify --policy P` to check the kept images");
        }
        return Ok((results, outcome));
    };
    // The policy was evaluated now: a listing that did not add up withheld what rests on a
    // version's absence, and the run says so and exits 3.
    let outcome = also_warn(outcome, incomplete_listings(&before));
    let touched = &report.touched;
    let verified = after_apply(
        &client, &scope, &before, &deleting, touched, &broken, &annotate,
    );
    Ok((results, combine(outcome, verified.await)))
}

/// `apply --policy`: read, decide and delete package by package ([`stream`]), then remove tags.
async fn apply_policy(
    args: &ApplyArgs,
    settings: &Settings,
    policy: &Policy,
    sweep: &Sweep<'_>,
) -> Result<(ApplyResults, Outcome), Failure> {
    let (client, scope) = online::connect(settings, policy.owner.as_deref()).await?;
    let memory = start_pace(args, settings, &client, &scope, Some(policy));
    crate::printer::status(&format!("journal: {}", args.journal.display()));
    let image = policy.packages.package_type.is_image();
    let reader = image
        .then(|| online::registry_client(settings))
        .transpose()?;
    let streamed = stream::apply_streamed(stream::Stream {
        client: &client,
        scope: &scope,
        policy,
        now: settings.now(),
        reader,
        placeholders: sweep,
        journal: Arc::clone(sweep.journal),
        on_plan: &report_plan,
    })
    .await?;
    if let Some(m) = &memory {
        m.save(&streamed.report.pace, chrono::Utc::now());
    }
    let broken = kept_broken(&streamed.plan);
    warn_broken(&broken);
    let (untag_report, refused) =
        stream::untag_after(&client, &scope, sweep, policy, &streamed).await;
    let (results, outcome) = results::report(&streamed.report, &untag_report);
    let outcome = combine(outcome, refused);
    let outcome = also_warn(outcome, streamed.withheld());
    let before = &streamed.inventory;
    let outcome = also_warn(outcome, incomplete_listings(before));
    let deleting = streamed.plan.deletions().map(|(_, v)| v.id).collect();
    let touched = &streamed.report.touched;
    let verified = after_apply(
        &client, &scope, before, &deleting, touched, &broken, &annotate,
    );
    Ok((results, combine(outcome, verified.await)))
}

/// The pace of the deletions: the flags, else the policy's, from what the last run learned
/// ([`pace::start`]).
fn start_pace(
    args: &ApplyArgs,
    settings: &Settings,
    client: &crate::github::GithubClient,
    scope: &crate::github::Scope,
    policy: Option<&Policy>,
) -> Option<crate::github::PaceMemory> {
    let (per_minute, cache) = (args.deletions_per_minute, settings.cache().dir());
    pace::start(client, scope, per_minute, policy, cache, args.max_duration)
}

/// In a runner, the plan goes to the job summary.
fn report_plan(plan: &Plan) -> Outcome {
    if let Some(runner) = crate::actions::Runner::detect() {
        runner.report_plan(plan)?;
    }
    Ok(())
}

/// Read the policy (annotating its errors in a runner), with --max-deletions and --max-untags
/// applied.
fn load_policy(path: &Path, args: &ApplyArgs, settings: &Settings) -> Result<Policy, Failure> {
    let mut policy = super::load_policy(path, &args.vars)?;
    let owner = policy.owner.clone();
    let owner = || settings.owner_for(owner.as_deref());
    let registry = || Ok(settings.registry()?.url.clone());
    policy.attach_in_use(&args.in_use, owner, registry, "the policy")?;
    if let Some(max) = args.max_deletions {
        policy.safety.max_deletions = max;
    }
    if let Some(max) = args.max_untags {
        policy.safety.max_untags = max;
    }
    Ok(policy)
}
