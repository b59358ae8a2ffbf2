//! Wiring of `in_use`: scan the policy's sources (`in_use.files`, `in_use.lists`) and the
//! `--in-use` lists before evaluating, and hand what was found to the evaluator through the
//! policy ([`crate::policy::InUse::found`]). Paths are relative to the working directory (the
//! repository root in a workflow, where actions/checkout puts it).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::settings::Settings;
use super::Failure;
use crate::inuse::{ScanError, Sources};
use crate::plan::{Action, Plan};
use crate::plural::count;
use crate::policy::Policy;

/// A source that cannot be read or matches nothing: a usage error (1), since keeping nothing
/// because a path moved is the failure `in_use` exists to prevent.
impl From<ScanError> for Failure {
    fn from(e: ScanError) -> Failure {
        Failure::usage(format!("error: {e}"))
    }
}

/// Scan what `policy` (and `extra`, the `--in-use` lists) names for references to `owner`'s
/// images on the run's registry, and attach them to the policy. `owner` is asked only when
/// there is something to scan (a run without `in_use` resolves its owner where it always did).
/// Nothing to scan: nothing attached, unless a rule selects by `in_use`, which is then an error
/// (it would keep nothing).
/// `which` names the policy in messages ("the policy", "the base policy").
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
                "error: rule '{}' of {which} selects by `in_use`, but nothing says where references live, so it would find nothing in use\n  help: add `in_use: {{ files: [\"deploy/**/*.yaml\"] }}` (or `lists:`) to the policy, or pass --in-use FILE",
                rule.name
            )));
        }
        return Ok(());
    }
    let owner = &owner()?;
    let registry = settings.registry()?.url.clone();
    let root = std::env::current_dir().map_err(|e| {
        Failure::run(format!(
            "error: in_use: cannot read the working directory: {e}"
        ))
    })?;
    let found = crate::inuse::scan(&root, &sources, &registry)?;
    let mine = found.for_owner(owner);
    let others = found.references.len() - mine.references.len();
    let mut places = Vec::new();
    if !sources.files.is_empty() {
        places.push(count(sources.files.len(), "file pattern", "file patterns"));
    }
    if !sources.lists.is_empty() {
        places.push(count(sources.lists.len(), "list", "lists"));
    }
    let places = places.join(" and ");
    let others = if others > 0 {
        format!(
            " ({} to other owners' images left out)",
            count(others, "reference", "references")
        )
    } else {
        String::new()
    };
    if mine.references.is_empty() {
        // Sources that name nothing of this owner on this registry: a wrong registry or owner
        // would otherwise keep nothing without a word.
        eprintln!(
            "warning: in use ({which}): no reference to {owner}'s images on {} in {places}{others}\n  help: a reference is REGISTRY/OWNER/PACKAGE[:TAG][@sha256:DIGEST] with the run's registry (--registry, else the one of GITHUB_SERVER_URL)",
            crate::inuse::registry_host(&registry),
        );
    } else {
        eprintln!(
            "in use ({which}): {} to {owner}'s images in {places}{others}",
            count(mine.references.len(), "reference", "references"),
        );
    }
    policy.in_use.found = Some(Arc::new(mine));
    Ok(())
}

/// `plan --base`: a version the new plan deletes that the base policy's sources find in use (a
/// change that drops or narrows `in_use`, or its keep rule) is a warning on its package and on
/// stderr. A version the new policy's own sources find in use already has its warning.
pub(crate) fn warn_deleted_in_base_use(base: &Plan, plan: &mut Plan) {
    for package in &mut plan.packages {
        let Some(before) = base
            .packages
            .iter()
            .find(|p| p.name == package.name && p.package_type == package.package_type)
        else {
            continue;
        };
        let in_base_use: HashMap<u64, &Vec<String>> = before
            .versions
            .iter()
            .filter(|v| !v.in_use.is_empty())
            .map(|v| (v.id, &v.in_use))
            .collect();
        let warnings: Vec<String> = package
            .versions
            .iter()
            .filter(|v| v.action == Action::Delete && v.in_use.is_empty())
            .filter_map(|v| {
                let at = in_base_use.get(&v.id)?;
                Some(format!(
                    "this change deletes {} ({}), in use under the base policy's sources: {}",
                    crate::digest::short(&v.name),
                    if v.tags.is_empty() {
                        "untagged".to_string()
                    } else {
                        v.tags.join(", ")
                    },
                    crate::evaluate::words::in_use_places(at)
                ))
            })
            .collect();
        for w in &warnings {
            eprintln!("warning: {}: {w}", package.name);
        }
        package.warnings.extend(warnings);
    }
}
