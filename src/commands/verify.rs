//! `retention verify`, and the check that `apply` runs after its deletions: report every kept
//! image that is not whole (an `::error` annotation in Actions) and exit 3.
//!
//! The check and its verdict are [`crate::verify`]; this module lists, evaluates and adds the
//! runner's annotations ([`annotate`], which `apply` passes too). After apply it costs one listing per touched container package and no
//! manifest read; `retention verify` lists and reads manifests as `snapshot` does (every
//! governed container package, through the cache), because a check that read nothing would find
//! nothing.

use super::online;
use super::Outcome;
use crate::cli::{Settings, VerifyArgs};
use crate::inventory::Inventory;
use crate::verify::verdict::Listed;
use crate::verify::Finding;

pub fn run(args: &VerifyArgs, settings: &Settings) -> Outcome {
    let mut policy = super::load_policy(&args.eval.policy, &args.eval.vars)?;
    let saved = args.inventory.as_deref().map(Inventory::load).transpose()?;
    let policy_owner = policy.owner.clone();
    let owner = || match &saved {
        Some(inventory) => Ok(inventory.owner.clone()),
        None => settings.owner_for(policy_owner.as_deref()),
    };
    let registry = || Ok(settings.registry()?.url.clone());
    policy.attach_in_use(&args.eval.in_use, owner, registry, "the policy")?;
    let inventory = match saved {
        Some(inventory) => inventory,
        None => online::list(settings, &policy, crate::fill::FillScope::AllGoverned)?.1,
    };
    let plan = crate::evaluate::evaluate(&policy, &inventory, settings.now())?;
    let checked = Listed::check(&inventory, &plan);
    checked.warn_unknown();
    println!("{}", checked.line());
    checked.print(&annotate);
    checked.outcome()
}

/// A finding's `::error` annotation, in a runner.
pub(super) fn annotate(f: &Finding) {
    crate::actions::annotate_error("retention: a kept image is not whole", &f.to_string());
}
