//! The references a policy's sources make to one owner's images: a scan ([`super::scan`]),
//! checked for what would make `in_use` keep nothing without a word (a list naming none of the
//! owner's images, references that name no version, sources that name nothing of this owner),
//! which is an error when a rule selects by `in_use` and a warning otherwise.
//!
//! Given values, not the policy (a higher layer): the command attaches the result to it.

use std::path::Path;

use super::{Found, Reference, Sources};
use crate::outcome::Failure;
use crate::plural::{self, count};
use crate::printer;

/// Scan `sources` (paths relative to `root`) for references to `owner`'s images on `registry`,
/// and return them. `selects`: whether a rule of the policy selects by `in_use`; then these are
/// errors (exit 1): a reference that names no version (a bare name whose tag cannot be read,
/// see `split`), a list that names none of the owner's images (the step that wrote it failed),
/// and sources that name none of them. Without such a rule they are warnings. `which` names the
/// policy in messages ("the policy", "the base policy").
pub fn references(
    root: &Path,
    sources: &Sources,
    registry: &str,
    owner: &str,
    which: &str,
    selects: bool,
) -> Result<Found, Failure> {
    let found = super::scan(root, sources, registry)?;
    let host = super::registry_host(registry);
    if !found.unfollowed.is_empty() {
        printer::warning(&format!(
            "in use ({which}): links to directories are not followed, and a file pattern may name files in {}: {}\n  help: name the files where the link points, or list them with --in-use FILE",
            plural::word(found.unfollowed.len(), "it", "them"),
            found.unfollowed.join(", ")
        ));
    }
    let mut mine = found.for_owner(owner);
    let others = found.references.len() - mine.references.len();
    let (bare, named): (Vec<_>, Vec<_>) = mine.references.drain(..).partition(|r| r.is_bare());
    mine.references = named;
    if !bare.is_empty() {
        let message = unresolved(&bare, which, selects);
        if selects {
            return Err(Failure::usage(message.to_string()));
        }
        printer::warning(&message);
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
        printer::warning(&format!("{message}\n{help}"));
    } else {
        printer::status(&format!(
            "in use ({which}): {} to {owner}'s images in {places}{others}",
            count(mine.references.len(), "reference", "references"),
        ));
    }
    Ok(mine)
}

/// The message for references that name no version (a bare name, or a `tag:` beside it that is
/// empty or a template): the first five, by place.
fn unresolved(bare: &[Reference], which: &str, selects: bool) -> String {
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
        plural::word(bare.len(), "names", "name"),
        lines.concat()
    )
}
