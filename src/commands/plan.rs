//! `retention plan`: evaluate a policy and print the plan. Never deletes anything.

use super::{write_output, Failure, Outcome};
use crate::cli::PlanArgs;
use crate::inventory::Inventory;
use crate::policy::Policy;

pub fn run(args: &PlanArgs) -> Outcome {
    let policy = Policy::load(&args.eval.policy).map_err(|e| Failure::usage(e.to_string()))?;
    let Some(inventory_path) = &args.inventory else {
        return Err(Failure::usage("online planning needs the GitHub client, which this build does not have yet; pass --inventory FILE"));
    };
    let mut inventory =
        Inventory::load(inventory_path).map_err(|e| Failure::usage(e.to_string()))?;
    let now = args.eval.now.unwrap_or_else(chrono::Utc::now);
    if args.read_manifests {
        read_manifests(args, &policy, &mut inventory, now)?;
    }
    let plan = crate::evaluate::evaluate(&policy, &inventory, now)
        .map_err(|e| Failure::usage(e.to_string()))?;
    let text = crate::render::render(
        &plan,
        args.format,
        crate::render::color_for(args.output.as_deref()),
    );
    write_output(args.output.as_deref(), &text)
}

/// `--read-manifests`: fill the inventory's missing manifests from the registry (cached).
fn read_manifests(
    args: &PlanArgs,
    policy: &Policy,
    inventory: &mut Inventory,
    now: chrono::DateTime<chrono::Utc>,
) -> Outcome {
    let client = crate::registry::client_from_env(&args.eval.registry, &args.eval.token_env)
        .map_err(Failure::usage)?;
    let cache = crate::registry::ManifestCache::resolve(args.eval.cache_dir.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::run(format!("cannot start the async runtime: {e}")))?;
    let report = runtime.block_on(crate::registry::fill_manifests(
        &client, &cache, policy, inventory, now,
    ));
    eprintln!("{}", report.summary());
    Ok(())
}
