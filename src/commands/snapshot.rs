//! `retention snapshot`: save the listed inventory (GitHub's objects unchanged, plus the manifests
//! of every governed container package) so that anyone can reproduce a run offline.

use super::online::{self, RegistryArgs};
use super::{write_output, Failure, Outcome};
use crate::cli::SnapshotArgs;
use crate::fill::FillScope;

pub fn run(args: &SnapshotArgs) -> Outcome {
    let policy = super::load_policy(&args.eval.policy, &args.eval.vars)?;
    let now = args.eval.ctx.now();
    let runtime = online::runtime()?;
    let raw = runtime.block_on(async {
        let (client, scope) = online::connect(
            args.eval.ctx.owner.as_deref(),
            policy.owner.as_deref(),
            &args.eval.ctx.token_env,
        )
        .await?;
        let registry = RegistryArgs::of(&args.eval.ctx);
        let (raw, _) = online::inventory(
            &client,
            &scope,
            &policy,
            &registry,
            now,
            FillScope::AllGoverned,
        )
        .await?;
        Ok::<_, Failure>(raw)
    })?;
    let text = raw.to_json().map_err(|e| online::api_failure(&e))?;
    write_output(Some(&args.output), &text)?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}
