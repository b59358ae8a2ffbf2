//! Wiring of `in_use`: scan the policy's sources (`in_use.files`, `in_use.lists`) and the
//! `--in-use` lists before evaluating, and hand what was found to the evaluator through the
//! policy ([`crate::policy::InUse::found`]). Paths are relative to the working directory (the
//! repository root in a workflow, where actions/checkout puts it).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::Failure;
use crate::cli::Settings;
use crate::inuse::Sources;
use crate::plan::{Action, Plan};
use crate::plural::count;
use crate::policy::Policy;

/// A source that cannot be read or matches nothing: a usage error (1), since keeping nothing
/// because a path moved is the failure `in_use` exists to prevent.
/// Scan what `policy` (and `extra`, the `--in-use` lists) names for references to `owner`'s
/// images on the run's registry, and attach them to the policy. `owner` is asked only when
/// there is something to scan (a run without `in_use` resolves its owner where it always did).
/// Nothing to scan: nothing attached, unless a rule selects by `in_use`, which is then an error
/// (it would keep nothing). With a rule that selects by `in_use`, these are errors too (exit 1):
/// a reference that names no version (a bare name whose tag cannot be read, see
/// `inuse::split`), a list that names none of the owner's images (the step that wrote it
/// failed), and sources that name none of them. Without such a rule they are warnings.
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
    let found = crate::inuse::scan(&root, &sources, &registry)?;
    let host = crate::inuse::registry_host(&registry);
    if !found.unfollowed.is_empty() {
        eprintln!(
            "warning: in use ({which}): links to directories are not followed, and a file pattern may name files in {}: {}\n  help: name the files where the link points, or list them with --in-use FILE",
            crate::plural::word(found.unfollowed.len(), "it", "them"),
            found.unfollowed.join(", ")
        );
    }
    let mut mine = found.for_owner(owner);
    let others = found.references.len() - mine.references.len();
    let selects = policy.uses_in_use();
    let (bare, named): (Vec<_>, Vec<_>) = mine.references.drain(..).partition(|r| r.is_bare());
    mine.references = named;
    if !bare.is_empty() {
        let message = unresolved(&bare, which, selects);
        if selects {
            return Err(Failure::usage(message.to_string()));
        }
        eprintln!("warning: {message}");
    }
    if selects {
        // A list is written by an earlier step: empty, it is that step failing (expired cluster
        // credentials, the wrong context), and would keep nothing of what runs.
        for list in &sources.lists {
            let name = list.display().to_string();
            if !mine.references.iter().any(|r| r.at.file == name) {
                return Err(Failure::usage(format!(
                    "in use ({which}): the list {name} names none of {owner}'s images on {host}, and a rule keeps what is in use: it would keep nothing of what runs\n  help: the step that writes it may have failed; in a workflow, give that step `shell: bash` (so a failed command in a pipe fails the step) and check the file with `test -s`\n  help: a reference is REGISTRY/OWNER/PACKAGE[:TAG][@sha256:DIGEST] with the run's registry (--registry, else the one of GITHUB_SERVER_URL)"
                )));
            }
        }
    }
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
        // would otherwise keep nothing without a word. With a rule keeping what is in use, the
        // plan would delete what runs: an error.
        let message = format!(
            "in use ({which}): no reference to {owner}'s images on {host} in {places}{others}"
        );
        let help = "  help: a reference is REGISTRY/OWNER/PACKAGE[:TAG][@sha256:DIGEST] with the run's registry (--registry, else the one of GITHUB_SERVER_URL)";
        if selects {
            return Err(Failure::usage(format!(
                "{message}, and a rule keeps what is in use: it would keep nothing\n{help}\n  help: if nothing of {owner}'s runs, remove the rule that selects by `in_use`"
            )));
        }
        eprintln!("warning: {message}\n{help}");
    } else {
        eprintln!(
            "in use ({which}): {} to {owner}'s images in {places}{others}",
            count(mine.references.len(), "reference", "references"),
        );
    }
    policy.in_use.found = Some(Arc::new(mine));
    Ok(())
}

/// The message for references that name no version (a bare name, or a `tag:` beside it that is
/// empty or a template): the first five, by place.
fn unresolved(bare: &[crate::inuse::Reference], which: &str, selects: bool) -> String {
    let mut lines: Vec<String> = bare
        .iter()
        .take(5)
        .map(|r| {
            format!(
                "\n  {}: {}: {}",
                r.at,
                r.text,
                r.unresolved.as_deref().unwrap_or("no version")
            )
        })
        .collect();
    if bare.len() > 5 {
        lines.push(format!("\n  and {} more", bare.len() - 5));
    }
    let effect = if selects {
        "a rule keeps what is in use, and which version runs is unknown"
    } else {
        "left out"
    };
    format!(
        "in use ({which}): {} {} no version ({effect}):{}\n  help: write the tag or digest in the reference (`ghcr.io/acme/api:v1.2.3`, `@sha256:…`; `:latest` if a pull of the bare name is meant), or beside it in the same YAML mapping (`tag:`, kustomize's `newTag:`, `digest:`) as a quoted string\n  help: or leave the file out of `in_use.files` and list what runs (`--in-use FILE`, written by `kubectl get pods -A -o jsonpath='{{..imageID}}'`)",
        count(bare.len(), "reference", "references"),
        crate::plural::word(bare.len(), "names", "name"),
        lines.concat()
    )
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
