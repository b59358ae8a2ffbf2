//! `retention plan`: evaluate a policy and print the plan. Never deletes anything.
//!
//! With `--base OLD` (a file, or `-` for standard input) the inventory is listed (or loaded)
//! once, both policies are evaluated on it, and the report is the diff ([`crate::diff`]): what
//! the change to the policy newly deletes, no longer deletes and newly untags.

use std::io::Read as _;
use std::path::Path;

use super::settings::Settings;
use super::{write_output, Failure, Outcome};
use crate::cli::PlanArgs;
use crate::inventory::Inventory;
use crate::policy::Policy;

pub fn run(args: &PlanArgs, settings: &Settings) -> Outcome {
    let mut policy = super::load_policy(&args.eval.policy, &args.eval.vars)?;
    let mut base = args
        .base
        .as_deref()
        .map(|b| load_base(b, &args.eval.vars))
        .transpose()?;
    let now = settings.now();
    // The in-use sources are read before anything is listed (a pattern that matches nothing
    // stops the run at once); the owner is the saved inventory's, or the one the listing uses.
    let saved = args.inventory.as_deref().map(Inventory::load).transpose()?;
    let policy_owner = policy.owner.clone();
    let owner = || match &saved {
        Some(inventory) => Ok(inventory.owner.clone()),
        None => settings.owner_for(policy_owner.as_deref()),
    };
    let in_use = &args.eval.in_use;
    super::in_use::attach(&mut policy, in_use, owner, settings, "the policy")?;
    if let Some(base) = base.as_mut() {
        super::in_use::attach(base, in_use, owner, settings, "the base policy")?;
    }
    let inventory = match saved {
        Some(inventory) => {
            let mut inventory = inventory;
            if args.read_manifests {
                read_manifests(settings, &policy, &mut inventory)?;
                if let Some(base) = &base {
                    read_manifests(settings, base, &mut inventory)?;
                }
            }
            inventory
        }
        None => online_inventory(settings, &policy, base.as_ref())?,
    };
    // With a base, both policies are evaluated at once, each on its own thread (the same
    // inventory, read once): `plan --base` must cost well under twice `plan`.
    let (plan, base_plan) = std::thread::scope(|scope| {
        let base_plan = base.as_ref().map(|base| {
            let inventory = &inventory;
            scope.spawn(move || {
                let plan = crate::evaluate::evaluate_unchecked(base, inventory, now);
                let refused = crate::evaluate::check_limits(base, &plan).err();
                (plan, refused)
            })
        });
        let plan = crate::evaluate::evaluate(&policy, &inventory, now);
        let base_plan = base_plan.map(|h| {
            h.join()
                .map_err(|_| Failure::run("the evaluation of the base policy panicked"))
        });
        (plan, base_plan)
    });
    let plan = plan?;
    let options = crate::render::Options {
        color: crate::render::color_for(args.output.as_deref()),
        verbose: args.verbose,
    };
    let Some(base_plan) = base_plan else {
        if let Some(runner) = crate::actions::Runner::detect() {
            runner.report_dry_run(&plan)?;
        }
        let text = crate::render::render_with(&plan, args.format, options);
        return write_output(args.output.as_deref(), &text);
    };
    let (base_plan, refused) = base_plan?;
    let mut plan = plan;
    super::in_use::warn_deleted_in_base_use(&base_plan, &mut plan);
    let mut diff = crate::diff::diff(&base_plan, &plan);
    if let Some(e) = refused {
        // What the limit refuses, without what follows (the help is for a policy under review).
        let why = e.to_string();
        let why = why
            .split([';', '\n'])
            .next()
            .unwrap_or_default()
            .to_string();
        eprintln!(
            "warning: the base policy {} is over its own limits, so its runs change nothing today: {why}; the diff compares with what it decides without them",
            base_display(args.base.as_deref())
        );
        diff.base_refused = Some(why);
    }
    let doc = crate::diff::DiffDocument { diff, plan };
    if let Some(runner) = crate::actions::Runner::detect() {
        runner.report_diff(&doc)?;
    }
    let text = crate::render::render_diff(&doc, args.format, options);
    write_output(args.output.as_deref(), &text)
}

fn base_display(path: Option<&Path>) -> String {
    match path {
        Some(p) if p == Path::new("-") => "(standard input)".to_string(),
        Some(p) => p.display().to_string(),
        None => String::new(),
    }
}

/// Read the base policy from a file, or from standard input when the path is `-` (so that a
/// workflow can pipe `git show origin/main:policies/x.yml`).
fn load_base(path: &Path, vars: &[(String, String)]) -> Result<Policy, Failure> {
    let vars = crate::policy::Vars::new(vars)?;
    let result = if path == Path::new("-") {
        // Bounded like a policy file: one byte past the limit is enough to refuse it.
        let mut bytes = Vec::new();
        std::io::stdin()
            .take(crate::policy::MAX_POLICY_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                Failure::usage(format!(
                    "cannot read the base policy from standard input: {e}"
                ))
            })?;
        crate::policy::parse_policy_with("(base policy on standard input)", &bytes, &vars)
    } else {
        Policy::load_with(path, &vars)
    };
    result.map_err(|e| {
        super::policy_failure(
            &e,
            "the base policy",
            Some("--base names the current policy the change is compared with; fix it there, or plan without --base"),
        )
    })
}

/// Whether two policies govern the same packages (the same listing serves both).
fn same_selection(a: &Policy, b: &Policy) -> bool {
    a.packages.package_type == b.packages.package_type
        && a.packages.names.patterns == b.packages.names.patterns
}

/// Online: list the owner's packages through the API and read the manifests decisions need
/// (of both policies with a base). Sends no DELETE.
fn online_inventory(
    settings: &Settings,
    policy: &Policy,
    base: Option<&Policy>,
) -> Result<Inventory, Failure> {
    let runtime = super::online::runtime()?;
    runtime.block_on(async {
        let (client, scope) = super::online::connect(settings, policy.owner.as_deref()).await?;
        let fill = crate::fill::FillScope::Needed;
        let (_, mut typed) =
            super::online::inventory(settings, &client, &scope, policy, fill).await?;
        let images = typed
            .packages
            .iter()
            .any(|p| p.package.package_type.is_image());
        match base {
            None => {}
            // The same packages, no image among them: nothing more to read.
            Some(base) if same_selection(policy, base) && !images => {}
            Some(base) if same_selection(policy, base) => {
                // The same packages: read only the manifests the base policy needs in addition.
                let reg = super::online::registry_client(settings)?;
                let report = crate::fill::fill_manifests_scoped(
                    &reg,
                    settings.cache(),
                    base,
                    &mut typed,
                    settings.now(),
                    fill,
                )
                .await;
                eprintln!("base policy: {}", report.summary());
            }
            Some(base) => {
                // The base policy governs other packages: list those too.
                let (_, other) =
                    super::online::inventory(settings, &client, &scope, base, fill).await?;
                merge(&mut typed, other);
            }
        }
        Ok(typed)
    })
}

/// Add `other`'s packages to `into`; for a package in both, add the manifests `into` lacks.
fn merge(into: &mut Inventory, other: Inventory) {
    for entry in other.packages {
        let same = into.packages.iter_mut().find(|p| {
            p.package.name == entry.package.name
                && p.package.package_type == entry.package.package_type
        });
        match same {
            Some(p) => {
                for (digest, text) in entry.manifests {
                    p.manifests.entry(digest).or_insert(text);
                }
            }
            None => into.packages.push(entry),
        }
    }
}

/// `--read-manifests`: fill the inventory's missing manifests from the registry (cached).
fn read_manifests(settings: &Settings, policy: &Policy, inventory: &mut Inventory) -> Outcome {
    let client = super::online::registry_client(settings)?;
    let runtime = super::online::runtime()?;
    let report = runtime.block_on(crate::fill::fill_manifests(
        &client,
        settings.cache(),
        policy,
        inventory,
        settings.now(),
    ));
    eprintln!("{}", report.summary());
    Ok(())
}
