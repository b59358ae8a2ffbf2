//! Wiring of `in_use`: scan the policy's sources (`in_use.files`, `in_use.lists`) and the
//! `--in-use` lists before evaluating, and hand what was found to the evaluator through the
//! policy ([`crate::policy::InUse::found`]). Paths are relative to the working directory (the
//! repository root in a workflow, where actions/checkout puts it).

use std::path::PathBuf;
use std::sync::Arc;

use super::Failure;
use crate::cli::Settings;
use crate::inuse::Sources;
use crate::policy::Policy;

/// Scan what `policy` (and `extra`, the `--in-use` lists) names for references to `owner`'s
/// images on the run's registry ([`crate::inuse::mine::references`], which says what is an
/// error), and attach them to the policy. `owner` is asked only when there is something to scan
/// (a run without `in_use` resolves its owner where it always did). Nothing to scan: nothing
/// attached, unless a rule selects by `in_use`, which is then an error (it would keep nothing).
/// A source that cannot be read or matches nothing is a usage error (1), since keeping nothing
/// because a path moved is the failure `in_use` exists to prevent. `which` names the policy in
/// messages ("the policy", "the base policy").
pub(crate) fn attach(
    policy: &mut Policy,
    extra: &[PathBuf],
    owner: impl FnOnce() -> Result<String, Failure>,
    settings: &Settings,
    which: &str,
) -> Result<(), Failure> {
    let sources = Sources {
        files: policy.in_use.files.clone(),
        lists: policy
            .in_use
            .lists
            .iter()
            .map(PathBuf::from)
            .chain(extra.iter().cloned())
            .collect(),
    };
    if sources.is_empty() {
        if let Some(rule) = policy.rules.iter().find(|r| r.selector.in_use.is_some()) {
            return Err(Failure::usage(format!(
                "rule '{}' of {which} selects by `in_use`, but nothing says where references live, so it would find nothing in use\n  help: add `in_use: {{ files: [\"deploy/**/*.yaml\"] }}` (or `lists:`) to the policy, or pass --in-use FILE",
                rule.name
            )));
        }
        return Ok(());
    }
    let owner = &owner()?;
    let registry = settings.registry()?.url.clone();
    let root = std::env::current_dir()
        .map_err(|e| Failure::run(format!("in_use: cannot read the working directory: {e}")))?;
    let mine = crate::inuse::mine::references(
        &root,
        &sources,
        &registry,
        owner,
        which,
        policy.uses_in_use(),
    )?;
    policy.in_use.found = Some(Arc::new(mine));
    Ok(())
}
