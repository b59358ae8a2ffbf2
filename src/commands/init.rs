//! `retention init`: list the owner's container packages (or read a saved inventory), propose a
//! policy from their tags ([`crate::init`]), check that it parses, evaluate it, and print what it
//! would do, so that a newcomer sees the effect before committing anything. With `--workflows
//! DIR` it also writes the nightly and pull-request workflows that run it. Deletes nothing.

use std::path::{Path, PathBuf};

use super::online;
use super::{write_output, Failure, Outcome};
use crate::cli::InitArgs;
use crate::cli::Settings;
use crate::fill::FillScope;
use crate::init::write::{self, Options};
use crate::inventory::Inventory;
use crate::policy::{parse_policy, Policy};

/// The policy that lists every container package and reads no manifest (keep rules only).
const LIST_ALL: &str = "version: 1\npackages: { type: container, names: [\"*\"] }\nrules:\n  - name: list\n    keep: { untagged: false }\n";

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
    let (mut text, mut policy) = written(&survey, &options)?;
    if online {
        fill(settings, &policy, &mut inventory)?;
    }
    let mut plan = crate::evaluate::evaluate_unchecked(&policy, &inventory, now);
    if crate::init::report::fit_first_run(&mut options, &plan) {
        (text, policy) = written(&survey, &options)?;
        plan = crate::evaluate::evaluate_unchecked(&policy, &inventory, now);
    }
    let policy_arg = args
        .write
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "POLICY".to_string());
    let source = match &args.inventory {
        Some(path) => format!(" --inventory {}", path.display()),
        None => format!(" --owner {}", inventory.owner),
    };
    let mut summary = crate::init::report::summary(&plan, &policy, &policy_arg, &source);
    summary.push_str(&crate::init::report::raised(&options));
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

/// The policy text for `survey`, and the policy it parses to (a text that does not parse is a
/// bug of `init`, said as such).
fn written(survey: &crate::init::Survey, options: &Options) -> Result<(String, Policy), Failure> {
    let text = write::policy(survey, options);
    match parse_policy("(the proposed policy)", text.as_bytes()) {
        Ok(policy) => Ok((text, policy)),
        Err(e) => Err(Failure::run(format!(
            "the proposed policy does not parse (a bug of retention init; please report it):\n{e}"
        ))),
    }
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
    let all = parse_policy("(every container package)", LIST_ALL.as_bytes())
        .map_err(|e| Failure::run(format!("{e}")))?;
    let listed: Result<Inventory, Failure> = online::runtime()?.block_on(async {
        let (client, scope) = online::connect(settings, None).await?;
        let (_, typed) =
            online::inventory(settings, &client, &scope, &all, FillScope::Needed).await?;
        Ok(typed)
    });
    listed.map_err(|f| {
        f.with_more("  help: init lists the owner's container packages to propose a policy: run it once with a token that may list them (a personal access token with read:packages, e.g. GITHUB_TOKEN=$(gh auth token)), or on a saved inventory with --inventory FILE")
    })
}

/// Online: read the manifests the proposed policy's decisions need.
fn fill(settings: &Settings, policy: &Policy, inventory: &mut Inventory) -> Outcome {
    let registry = online::registry_client(settings)?;
    let report = online::runtime()?.block_on(crate::fill::fill_manifests_scoped(
        &registry,
        settings.cache(),
        policy,
        inventory,
        settings.now(),
        FillScope::Needed,
    ));
    crate::printer::status(&report.summary());
    Ok(())
}

/// Write the nightly and pull-request workflows for the policy at `policy_path` into `dir`.
fn write_workflows(dir: &Path, policy_path: &str) -> Outcome {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::run(format!("cannot create {}: {e}", dir.display())))?;
    // A YAML string (a JSON string is one): the path is never interpolated into shell, only
    // into `with:` and `env:` values.
    let quoted = serde_json::to_string(policy_path).unwrap_or_default();
    let files: [(&str, &str); 2] = [
        (
            "retention-nightly.yml",
            include_str!("../init/workflows/nightly.yml"),
        ),
        (
            "retention-plan.yml",
            include_str!("../init/workflows/pr.yml"),
        ),
    ];
    let paths: Vec<PathBuf> = files.iter().map(|(name, _)| dir.join(name)).collect();
    for path in &paths {
        refuse_existing(path)?;
    }
    for ((_, template), path) in files.iter().zip(&paths) {
        let text = template.replace("__POLICY__", &quoted);
        write_output(Some(path), &text)?;
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    crate::printer::status(&format!(
        "wrote {} (they run {policy_path})",
        names.join(" and ")
    ));
    Ok(())
}
