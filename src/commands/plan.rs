//! `retention plan`: evaluate a policy and print the plan. Never deletes anything.

use super::{write_output, Failure, Outcome};
use crate::cli::PlanArgs;
use crate::inventory::Inventory;
use crate::policy::Policy;

pub fn run(args: &PlanArgs) -> Outcome {
    let policy = Policy::load(&args.eval.policy).map_err(|e| {
        crate::actions::annotate(&e);
        Failure::usage(e.to_string())
    })?;
    let Some(inventory_path) = &args.inventory else {
        return Err(Failure::usage("online planning needs the GitHub client, which this build does not have yet; pass --inventory FILE"));
    };
    let inventory = Inventory::load(inventory_path).map_err(|e| Failure::usage(e.to_string()))?;
    let now = args.eval.now.unwrap_or_else(chrono::Utc::now);
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
