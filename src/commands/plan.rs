//! `retention plan`: evaluate a policy and print the plan. Never deletes anything.
//!
//! With `--base OLD` (a file, or `-` for standard input) the inventory is listed (or loaded)
//! once, both policies are evaluated on it, and the report is the diff ([`crate::diff`]): what
//! the change to the policy newly deletes, no longer deletes, newly untags and no longer untags.
//!
//! When the two policies name different owners (`owner:`, with no `--owner` to override both),
//! the base policy is evaluated on its own owner's packages, listed apart, and the diff names
//! every package `OWNER/NAME` and says that the owner changes. A saved inventory holds one
//! owner's packages: with `--inventory` such a change is refused, with what to do instead.
//!
//! [`run`] is the wiring, one step each: read the inputs, list (or load) the inventories,
//! evaluate both policies, report. The diff is [`crate::diff`]'s; the words of a refusal and of
//! an incomplete listing are the evaluator's ([`crate::evaluate::words`]).

use std::path::Path;

use super::{online, write_output, Failure, Outcome};
use crate::apply::placeholders::{self, Listed};
use crate::cli::{PlanArgs, Settings};
use crate::evaluate::words::incomplete_listings;
use crate::inventory::Inventory;
use crate::plan::Plan;
use crate::policy::Policy;

pub fn run(args: &PlanArgs, settings: &Settings) -> Outcome {
    let Inputs {
        policy,
        base,
        owner_change,
        saved,
    } = read_inputs(args, settings)?;
    let (listed, base_listed) = inventories(
        args,
        settings,
        saved,
        &policy,
        base.as_ref(),
        owner_change.is_some(),
    )?;
    let (plan, base_plan) = placeholders::evaluate_both(
        &policy,
        base.as_ref(),
        &listed,
        base_listed.as_ref(),
        settings.now(),
    );
    // Over a limit, the whole report still comes, opening with the refusal; the run exits 1.
    let refusal = crate::evaluate::check_limits(&policy, &plan)
        .err()
        .map(|e| crate::evaluate::words::refusal(&e));
    let refusal = refusal.as_deref();
    let incomplete = incomplete_listings(&listed.0).or_else(|| {
        base_listed
            .as_ref()
            .and_then(|(i, _)| incomplete_listings(i))
    });
    match base_plan {
        None => report_plan(args, &plan, refusal)?,
        Some(base_plan) => {
            let (base_plan, refused) = base_plan?;
            report_diff(
                args,
                base_plan,
                refused,
                plan,
                owner_change.as_ref(),
                refusal,
            )?;
        }
    }
    // The report, already written, opens with the refusal too.
    if let Some(r) = refusal {
        return Err(Failure::usage(r.to_string()));
    }
    incomplete.map_or(Ok(()), |m| Err(Failure::partial(m).warning()))
}

/// What a `plan` run reads before it lists: the policy and the base policy (their in-use
/// references attached), the owner change, the saved inventory.
struct Inputs {
    policy: Policy,
    base: Option<Policy>,
    /// `(old, new)`: the base policy's owner, when it is not this policy's (and `--owner` does
    /// not set both).
    owner_change: Option<(String, String)>,
    saved: Option<Inventory>,
}

fn read_inputs(args: &PlanArgs, settings: &Settings) -> Result<Inputs, Failure> {
    let mut policy = super::load_policy(&args.eval.policy, &args.eval.vars)?;
    let mut base = args
        .base
        .as_deref()
        .map(|b| load_base(b, &args.eval.vars))
        .transpose()?;
    let owner_change = base.as_ref().and_then(|base| {
        let (old, new) = (
            settings.owner_for(base.owner.as_deref()).ok()?,
            settings.owner_for(policy.owner.as_deref()).ok()?,
        );
        (!old.eq_ignore_ascii_case(&new)).then_some((old, new))
    });
    let saved = match (&args.inventory, &owner_change) {
        (Some(_), Some((old, new))) => {
            return Err(Failure::usage(format!(
                "the base policy is for owner {old}, this one for {new}, and a saved inventory holds one owner's packages\n  help: plan without --inventory (the base policy is then evaluated on {old}'s packages), or plan each policy on its own owner's inventory"
            )));
        }
        (Some(path), None) => Some(Inventory::load(path)?),
        (None, _) => None,
    };
    // The in-use sources are read before anything is listed (a pattern that matches nothing
    // stops the run at once); the owner is the saved inventory's, or the one the listing uses.
    let policy_owner = policy.owner.clone();
    let owner = || match &saved {
        Some(inventory) => Ok(inventory.owner.clone()),
        None => settings.owner_for(policy_owner.as_deref()),
    };
    let in_use = &args.eval.in_use;
    let registry = || Ok(settings.registry()?.url.clone());
    policy.attach_in_use(in_use, owner, registry, "the policy")?;
    if let Some(base) = base.as_mut() {
        let base_owner = || match &owner_change {
            Some((old, _)) => Ok(old.clone()),
            None => owner(),
        };
        base.attach_in_use(in_use, base_owner, registry, "the base policy")?;
    }
    Ok(Inputs {
        policy,
        base,
        owner_change,
        saved,
    })
}

/// The inventory both policies are evaluated on (the saved one, or listed once), and the base
/// policy's own when the owner changes.
fn inventories(
    args: &PlanArgs,
    settings: &Settings,
    saved: Option<Inventory>,
    policy: &Policy,
    base: Option<&Policy>,
    owner_changes: bool,
) -> Result<(Listed, Option<Listed>), Failure> {
    let policies: Vec<&Policy> = std::iter::once(policy).chain(base).collect();
    match saved {
        Some(mut inventory) => {
            let runtime = online::runtime()?;
            let registry = if args.read_manifests {
                for policy in &policies {
                    online::fill(settings, policy, &mut inventory)?;
                }
                Some(settings.registry_client()?)
            } else {
                // Offline: placeholders are recognised by the manifests the inventory holds.
                None
            };
            let doubt = runtime.block_on(placeholders::set_aside(
                registry.as_ref().map(|reg| (reg, settings.cache())),
                &mut inventory,
                &policies,
                settings.now(),
            ));
            Ok(((inventory, doubt), None))
        }
        None if owner_changes => {
            let listed = online_inventory(settings, policy, None)?;
            let base_listed = base
                .map(|base| online_inventory(settings, base, None))
                .transpose()?;
            Ok((listed, base_listed))
        }
        None => Ok((online_inventory(settings, policy, base)?, None)),
    }
}

fn render_options(args: &PlanArgs) -> crate::render::Options {
    crate::render::Options {
        color: crate::render::color_for(args.output.as_deref()),
        verbose: args.verbose,
    }
}

/// Write the plan (and report it to a runner).
fn report_plan(args: &PlanArgs, plan: &Plan, refusal: Option<&str>) -> Outcome {
    if let Some(runner) = crate::actions::Runner::detect() {
        runner.report_dry_run(plan, refusal)?;
    }
    let text = crate::render::render_with(plan, args.format, render_options(args));
    let text = crate::render::with_refusal(text, args.format, refusal);
    write_output(args.output.as_deref(), &text)
}

/// Write the diff of the base policy's plan and this one (and report it to a runner), after
/// its warnings ([`crate::diff::document`]). `refused`: what the base policy's own limits refuse.
fn report_diff(
    args: &PlanArgs,
    base_plan: Plan,
    refused: Option<crate::evaluate::EvaluateError>,
    plan: Plan,
    owner_change: Option<&(String, String)>,
    refusal: Option<&str>,
) -> Outcome {
    let base_name = base_display(args.base.as_deref());
    let (doc, warnings) =
        crate::diff::document(base_plan, refused.as_ref(), plan, owner_change, &base_name);
    for warning in &warnings {
        crate::printer::warning(warning);
    }
    if let Some(runner) = crate::actions::Runner::detect() {
        runner.report_diff(&doc, refusal)?;
    }
    let text = crate::render::render_diff(&doc, args.format, render_options(args));
    let text = crate::render::with_refusal(text, args.format, refusal);
    write_output(args.output.as_deref(), &text)
}

fn base_display(path: Option<&Path>) -> String {
    match path {
        Some(p) if p == Path::new("-") => "(standard input)".to_string(),
        Some(p) => p.display().to_string(),
        None => String::new(),
    }
}

/// Read the base policy, from a file or from standard input (`-`).
fn load_base(path: &Path, vars: &[(String, String)]) -> Result<Policy, Failure> {
    let vars = crate::policy::Vars::new(vars)?;
    let result =
        Policy::load_or_stdin(path, &vars, "(base policy on standard input)").map_err(|e| {
            Failure::usage(format!(
                "cannot read the base policy from standard input: {e}"
            ))
        })?;
    result.map_err(|e| {
        crate::policy::check::failure(
            &e,
            "the base policy",
            Some("--base names the current policy the change is compared with; fix it there, or plan without --base"),
        )
    })
}

/// Online: list what the policies need ([`online::inventory_of_both`]), and take out the
/// placeholders a killed tag removal left ([`placeholders::set_aside`]). Sends no DELETE.
fn online_inventory(
    settings: &Settings,
    policy: &Policy,
    base: Option<&Policy>,
) -> Result<Listed, Failure> {
    online::runtime()?.block_on(async {
        let (client, scope) = online::connect(settings, policy.owner.as_deref()).await?;
        let _working = crate::fill::listing::Working::start(
            format!("listing and reading the packages of {scope}"),
            &client,
        );
        let mut typed = online::inventory_of_both(settings, &client, &scope, policy, base).await?;
        let images = typed
            .packages
            .iter()
            .any(|p| p.package.package_type.is_image());
        let doubt = if images {
            let reg = settings.registry_client()?;
            let policies: Vec<&Policy> = std::iter::once(policy).chain(base).collect();
            let registry = Some((&reg, settings.cache()));
            placeholders::set_aside(registry, &mut typed, &policies, settings.now()).await
        } else {
            placeholders::Doubt::default()
        };
        Ok((typed, doubt))
    })
}
