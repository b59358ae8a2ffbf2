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
use crate::plan::Plan;
use crate::plural::count;
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
    // A first run over the default limits would be refused: the limits say what it does.
    if plan.summary.delete > options.max_deletions || plan.summary.untag > options.max_untags {
        options.max_deletions = options.max_deletions.max(round_up(plan.summary.delete));
        options.max_untags = options.max_untags.max(round_up(plan.summary.untag));
        options.first_run = Some((plan.summary.delete, plan.summary.untag));
        (text, policy) = written(&survey, &options)?;
        plan = crate::evaluate::evaluate_unchecked(&policy, &inventory, now);
    }
    let mut summary = summary(&plan, &policy, args, &inventory);
    summary.push_str(&raised(&options));
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
            eprint!("the policy above: {summary}");
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

/// Say which limit was raised to fit the first run (it stays raised in the policy until the
/// user lowers it, and a raised limit no longer stops a night that deletes too much).
fn raised(options: &Options) -> String {
    let default = crate::policy::Safety::DEFAULT;
    let mut out = String::new();
    for (key, value, default) in [
        (
            "max_deletions",
            options.max_deletions,
            default.max_deletions,
        ),
        ("max_untags", options.max_untags, default.max_untags),
    ] {
        if value > default {
            out.push_str(&format!(
                "note: safety.{key} is raised from {default} to {value} so that the first run is not refused; after that run, lower it to {default} in the policy (or keep {default} and run the first apply once with --{}={value})\n",
                key.replace('_', "-")
            ));
        }
    }
    out
}

/// `n` rounded up to the next hundred.
fn round_up(n: u64) -> u64 {
    n.div_ceil(100) * 100
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
    eprintln!("{}", report.summary());
    Ok(())
}

/// What the proposed policy would do, per package, and what to run next.
fn summary(plan: &Plan, policy: &Policy, args: &InitArgs, inventory: &Inventory) -> String {
    let mut out = format!(
        "{} for {}\nwhat it would do now (a dry run: nothing was deleted):\n",
        count(policy.rules.len(), "rule", "rules"),
        count(plan.packages.len(), "package", "packages")
    );
    let width = plan
        .packages
        .iter()
        .map(|p| p.name.chars().count())
        .max()
        .unwrap_or(0);
    let versions: Vec<String> = plan
        .packages
        .iter()
        .map(|p| count(p.versions.len(), "version", "versions"))
        .collect();
    let vwidth = versions.iter().map(|v| v.len()).max().unwrap_or(0);
    for (p, v) in plan.packages.iter().zip(&versions) {
        let deleted = p.deletions().count();
        let untags: usize = p.versions.iter().map(|v| v.untag.len()).sum();
        let mut line = format!(
            "  {:<width$}  {v:>vwidth$}: delete {deleted}, keep {}",
            p.name,
            p.versions.len() - deleted
        );
        if untags > 0 {
            line.push_str(&format!(", untag {untags}"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&crate::render::text::total_line(plan));
    out.push('\n');
    if plan.summary.untag > 0 {
        out.push_str(&format!(
            "{} would be removed from images that stay\n",
            count(plan.summary.untag as usize, "tag", "tags")
        ));
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
    out.push_str(&format!(
        "next: retention plan --policy {policy_arg}{source}   (every decision, with its reason)\n"
    ));
    out
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
    eprintln!("wrote {} (they run {policy_path})", names.join(" and "));
    Ok(())
}
