//! `retention snapshot`: save the listed inventory (GitHub's objects unchanged, plus the manifests
//! of every governed container package) so that anyone can reproduce a run offline.

use super::online;
use super::{write_output, Outcome};
use crate::cli::Settings;
use crate::cli::SnapshotArgs;

pub fn run(args: &SnapshotArgs, settings: &Settings) -> Outcome {
    let policy = super::load_policy(&args.eval.policy, &args.eval.vars)?;
    let (raw, _) = online::list(settings, &policy, crate::fill::FillScope::AllGoverned)?;
    let text = raw.to_json()?;
    write_output(Some(&args.output), &text)?;
    crate::printer::status(&format!("wrote {}", args.output.display()));
    Ok(())
}
