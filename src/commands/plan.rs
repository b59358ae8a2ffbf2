//! `retention plan`: evaluate a policy and print the plan. Never deletes anything.

use super::{write_output, Failure, Outcome};
use crate::cli::PlanArgs;
use crate::inventory::Inventory;
use crate::policy::Policy;

pub fn run(args: &PlanArgs) -> Outcome {
    let policy = super::load_policy(&args.eval.policy, &args.eval.vars)?;
    let now = args.eval.now.unwrap_or_else(chrono::Utc::now);
    let inventory = match &args.inventory {
        Some(path) => {
            let mut inventory = Inventory::load(path).map_err(|e| Failure::usage(e.to_string()))?;
            if args.read_manifests {
                read_manifests(args, &policy, &mut inventory, now)?;
            }
            inventory
        }
        None => online_inventory(&args.eval, &policy, now)?,
    };
    let plan = crate::evaluate::evaluate(&policy, &inventory, now)
        .map_err(|e| Failure::usage(e.to_string()))?;
    if let Some(runner) = crate::actions::Runner::detect() {
        runner.report_dry_run(&plan)?;
    }
    let text = crate::render::render(
        &plan,
        args.format,
        crate::render::color_for(args.output.as_deref()),
    );
    write_output(args.output.as_deref(), &text)
}

/// Online: list the owner's packages through the API and read the manifests decisions need.
/// Sends no DELETE.
fn online_inventory(
    eval: &crate::cli::EvalArgs,
    policy: &Policy,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Inventory, Failure> {
    let runtime = super::online::runtime()?;
    runtime.block_on(async {
        let (client, scope) = super::online::connect(
            eval.owner.as_deref(),
            policy.owner.as_deref(),
            &eval.token_env,
        )
        .await?;
        let registry = super::online::RegistryArgs {
            registry: eval.registry.as_deref(),
            cache_dir: eval.cache_dir.as_deref(),
            token_env: &eval.token_env,
        };
        let (_, typed) = super::online::inventory(
            &client,
            &scope,
            policy,
            &registry,
            now,
            crate::registry::FillScope::Needed,
        )
        .await?;
        Ok(typed)
    })
}

/// `--read-manifests`: fill the inventory's missing manifests from the registry (cached).
fn read_manifests(
    args: &PlanArgs,
    policy: &Policy,
    inventory: &mut Inventory,
    now: chrono::DateTime<chrono::Utc>,
) -> Outcome {
    let client =
        super::online::registry_client(args.eval.registry.as_deref(), &args.eval.token_env)?;
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
