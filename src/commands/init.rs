//! `retention init`: list the owner's container packages (or read a saved inventory), propose a
//! policy from their tags ([`crate::init`]), check that it parses, evaluate it, and print what it
//! would do, so that a newcomer sees the effect before committing anything. With `--workflows
//! DIR` it also writes the nightly and pull-request workflows that run it. Deletes nothing.

use std::path::{Path, PathBuf};

use super::{online, write_output, Failure, Outcome};
use crate::cli::{InitArgs, Settings};
use crate::fill::FillScope;
use crate::init::write::{self, Options};
use crate::inventory::Inventory;

/// Where the workflows point when the policy went to standard output.
const DEFAULT_POLICY_PATH: &str = "policies/retention.yml";

pub fn run(args: &InitArgs, settings: &Settings) -> Outcome {
    for path in [&args.write].into_iter().flatten() {
        refuse_existing(path)?;
    }
    let now = settings.now();
    let (mut inventory, online) = match &args.inventory {
        Some(path) => (Inventory::load(path)?, false),
        None => (list(settings)?, true),
    };
    let survey = crate::init::survey(&inventory);
    if survey.packages.is_empty() {
        return Err(Failure::usage(format!(
            "{} has no container package to write a policy for\n  help: `retention init` proposes a policy for ghcr.io images; check the owner (--owner) and the token's read:packages scope",
            inventory.owner
        )));
    }
    let mut options = Options::new(now);
    let proposed = write::proposed(&survey, &options)?;
    if online {
        online::fill(settings, &proposed.1, &mut inventory)?;
    }
    let (text, policy, plan) = crate::init::fit(&survey, &inventory, &mut options, proposed)?;
    let (written, from) = (args.write.as_deref(), args.inventory.as_deref());
    let summary =
        crate::init::report::said(&plan, &policy, &options, written, from, &inventory.owner);
    match &args.write {
        Some(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    Failure::run(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
            write_output(Some(path), &text)?;
            print!("wrote {}: ", path.display());
            print!("{summary}");
        }
        None => {
            write_output(None, &text)?;
            let summary = summary.strip_suffix('\n').unwrap_or(&summary);
            crate::printer::status(&format!("the policy above: {summary}"));
        }
    }
    if let Some(dir) = &args.workflows {
        let policy_path = args
            .write
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| DEFAULT_POLICY_PATH.to_string());
        write_workflows(dir, &policy_path)?;
    }
    Ok(())
}

fn refuse_existing(path: &Path) -> Outcome {
    if path.exists() {
        return Err(Failure::usage(format!(
            "{} exists; init does not overwrite it\n  help: choose another path, or move the file away first",
            path.display()
        )));
    }
    Ok(())
}

/// Online: every container package of the owner and its versions, no manifest read yet.
fn list(settings: &Settings) -> Result<Inventory, Failure> {
    let all = crate::init::list_all()?;
    let listed = online::list(settings, &all, FillScope::Needed).map(|(_, typed)| typed);
    listed.map_err(|f| {
        f.with_more("  help: init lists the owner's container packages to propose a policy: run it once with a token that may list them (a personal access token with read:packages, e.g. GITHUB_TOKEN=$(gh auth token)), or on a saved inventory with --inventory FILE")
    })
}

/// Write the nightly and pull-request workflows for the policy at `policy_path` into `dir`.
fn write_workflows(dir: &Path, policy_path: &str) -> Outcome {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::run(format!("cannot create {}: {e}", dir.display())))?;
    let files = write::workflows(policy_path);
    let paths: Vec<PathBuf> = files.iter().map(|(name, _)| dir.join(name)).collect();
    for path in &paths {
        refuse_existing(path)?;
    }
    for ((_, text), path) in files.iter().zip(&paths) {
        write_output(Some(path), text)?;
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    crate::printer::status(&format!(
        "wrote {} (they run {policy_path})",
        names.join(" and ")
    ));
    Ok(())
}
