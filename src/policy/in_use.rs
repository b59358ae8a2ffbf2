//! Attaching what is in use to a policy before it is evaluated: scan the policy's sources
//! (`in_use.files`, `in_use.lists`) and the `--in-use` lists, and hand what was found to the
//! evaluator through the policy ([`InUse::found`](super::InUse::found)). Paths are relative to
//! the working directory (the repository root in a workflow, where actions/checkout puts it).

use std::path::PathBuf;
use std::sync::Arc;

use super::Policy;
use crate::inuse::Sources;
use crate::outcome::Failure;

impl Policy {
    /// Scan what the policy (and `extra`, the `--in-use` lists) names for references to `owner`'s
    /// images on `registry` ([`crate::inuse::mine::references`], which says what is an error),
    /// and attach them. `owner` and `registry` are asked only when there is something to scan (a
    /// run without `in_use` resolves them where it always did). Nothing to scan: nothing
    /// attached, unless a rule selects by `in_use`, which is then an error (it would keep
    /// nothing). A source that cannot be read or matches nothing is a usage error (1), since
    /// keeping nothing because a path moved is the failure `in_use` exists to prevent. `which`
    /// names the policy in messages ("the policy", "the base policy").
    pub fn attach_in_use(
        &mut self,
        extra: &[PathBuf],
        owner: impl FnOnce() -> Result<String, Failure>,
        registry: impl FnOnce() -> Result<String, Failure>,
        which: &str,
    ) -> Result<(), Failure> {
        let sources = Sources {
            files: self.in_use.files.clone(),
            lists: self
                .in_use
                .lists
                .iter()
                .map(PathBuf::from)
                .chain(extra.iter().cloned())
                .collect(),
        };
        if sources.is_empty() {
            if let Some(rule) = self.rules.iter().find(|r| r.selector.in_use.is_some()) {
                return Err(Failure::usage(format!(
                    "rule '{}' of {which} selects by `in_use`, but nothing says where references live, so it would find nothing in use\n  help: add `in_use: {{ files: [\"deploy/**/*.yaml\"] }}` (or `lists:`) to the policy, or pass --in-use FILE",
                    rule.name
                )));
            }
            return Ok(());
        }
        let owner = &owner()?;
        let registry = registry()?;
        let root = std::env::current_dir()
            .map_err(|e| Failure::run(format!("in_use: cannot read the working directory: {e}")))?;
        let mine = crate::inuse::mine::references(
            &root,
            &sources,
            &registry,
            owner,
            which,
            self.uses_in_use(),
        )?;
        self.in_use.found = Some(Arc::new(mine));
        Ok(())
    }
}
