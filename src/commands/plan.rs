//! `retention plan`: evaluate a policy and print the plan. Never deletes anything.
//!
//! With `--base OLD` (a file, or `-` for standard input) the inventory is listed (or loaded)
//! once, both policies are evaluated on it, and the report is the diff ([`crate::diff`]): what
//! the change to the policy newly deletes, no longer deletes, newly untags and no longer untags.
//!
//! When the two policies name different owners (`owner:`, with no `--owner` to override both),
//! the base policy is evaluated on its own owner's packages, listed apart, and the diff names
//! every package `OWNER/NAME` and says that the owner changes. A saved inventory holds one
//! owner's packages: with `--inventory` such a change is refused, with what to do instead.

use std::io::Read as _;
use std::path::Path;

use super::{write_output, Failure, Outcome};
use crate::cli::PlanArgs;
use crate::cli::Settings;
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
    // The base policy's owner, when it is not this policy's (and `--owner` does not set both).
    let owner_change = base.as_ref().and_then(|base| {
        let (old, new) = (
            settings.owner_for(base.owner.as_deref()).ok()?,
            settings.owner_for(policy.owner.as_deref()).ok()?,
        );
        (!old.eq_ignore_ascii_case(&new)).then_some((old, new))
    });
    let saved = match &args.inventory {
        Some(_) if owner_change.is_some() => {
            let (old, new) = owner_change.unwrap_or_default();
            return Err(Failure::usage(format!(
                "the base policy is for owner {old}, this one for {new}, and a saved inventory holds one owner's packages\n  help: plan without --inventory (the base policy is then evaluated on {old}'s packages), or plan each policy on its own owner's inventory"
            )));
        }
        Some(path) => Some(Inventory::load(path)?),
        None => None,
    };
    // The in-use sources are read before anything is listed (a pattern that matches nothing
    // stops the run at once); the owner is the saved inventory's, or the one the listing uses.
    let policy_owner = policy.owner.clone();
    let owner = || match &saved {
        Some(inventory) => Ok(inventory.owner.clone()),
        None => settings.owner_for(policy_owner.as_deref()),
    };
    let in_use = &args.eval.in_use;
    super::in_use::attach(&mut policy, in_use, owner, settings, "the policy")?;
    if let Some(base) = base.as_mut() {
        let base_owner = || match &owner_change {
            Some((old, _)) => Ok(old.clone()),
            None => owner(),
        };
        super::in_use::attach(base, in_use, base_owner, settings, "the base policy")?;
    }
    let mut base_inventory = None;
    let policies: Vec<&Policy> = std::iter::once(&policy).chain(base.as_ref()).collect();
    let (inventory, doubt) = match saved {
        Some(mut inventory) => {
            let runtime = super::online::runtime()?;
            let doubt = if args.read_manifests {
                read_manifests(settings, &policy, &mut inventory)?;
                if let Some(base) = &base {
                    read_manifests(settings, base, &mut inventory)?;
                }
                let reg = settings.registry_client()?;
                runtime.block_on(super::placeholders::set_aside(
                    Some((&reg, settings.cache())),
                    &mut inventory,
                    &policies,
                    now,
                ))
            } else {
                // Offline: placeholders are recognised by the manifests the inventory holds.
                runtime.block_on(super::placeholders::set_aside(
                    None,
                    &mut inventory,
                    &policies,
                    now,
                ))
            };
            (inventory, doubt)
        }
        None if owner_change.is_some() => {
            let listed = online_inventory(settings, &policy, None)?;
            if let Some(base) = &base {
                base_inventory = Some(online_inventory(settings, base, None)?);
            }
            listed
        }
        None => online_inventory(settings, &policy, base.as_ref())?,
    };
    // With a base, both policies are evaluated at once, each on its own thread (the same
    // inventory, read once): `plan --base` must cost well under twice `plan`.
    let (plan, base_plan) = std::thread::scope(|scope| {
        let base_plan = base.as_ref().map(|base| {
            let (inventory, doubt) = match &base_inventory {
                Some((inventory, doubt)) => (inventory, doubt),
                None => (&inventory, &doubt),
            };
            scope.spawn(move || {
                let plan = super::placeholders::evaluate_unchecked(base, inventory, now, doubt);
                let refused = crate::evaluate::check_limits(base, &plan).err();
                (plan, refused)
            })
        });
        let plan = super::placeholders::evaluate_unchecked(&policy, &inventory, now, &doubt);
        let base_plan = base_plan.map(|h| {
            h.join()
                .map_err(|_| Failure::run("the evaluation of the base policy panicked"))
        });
        (plan, base_plan)
    });
    // Over a limit, the whole report still comes, opening with the refusal; the run exits 1.
    let refusal = crate::evaluate::check_limits(&policy, &plan)
        .err()
        .map(|e| refusal_message(&e));
    let refusal = refusal.as_deref();
    let options = crate::render::Options {
        color: crate::render::color_for(args.output.as_deref()),
        verbose: args.verbose,
    };
    let incomplete = incomplete_listings(&inventory).or_else(|| {
        base_inventory
            .as_ref()
            .and_then(|(inventory, _)| incomplete_listings(inventory))
    });
    let Some(base_plan) = base_plan else {
        if let Some(runner) = crate::actions::Runner::detect() {
            runner.report_dry_run(&plan, refusal)?;
        }
        let text = crate::render::render_with(&plan, args.format, options);
        let text = crate::render::with_refusal(text, args.format, refusal);
        write_output(args.output.as_deref(), &text)?;
        exit_for(refusal)?;
        return incomplete.map_or(Ok(()), |m| Err(Failure::partial(m.to_string()).warning()));
    };
    let (mut base_plan, refused) = base_plan?;
    let mut plan = plan;
    super::in_use::warn_deleted_in_base_use(&base_plan, &mut plan);
    let mut diff = match &owner_change {
        None => crate::diff::diff(&base_plan, &plan),
        Some((old, new)) => {
            // Two owners' packages: each named by its owner, so that none is taken for the
            // other's (the plan itself keeps the names `apply --plan` needs).
            eprintln!(
                "warning: the owner changes from {old} to {new}: the base policy is evaluated on {old}'s packages"
            );
            let mut named = plan.clone();
            for (p, owner) in [(&mut base_plan, old), (&mut named, new)] {
                for package in &mut p.packages {
                    package.name = format!("{owner}/{}", package.name);
                }
            }
            let mut diff = crate::diff::diff(&base_plan, &named);
            diff.base_owner = Some(old.clone());
            diff
        }
    };
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
        runner.report_diff(&doc, refusal)?;
    }
    let text = crate::render::render_diff(&doc, args.format, options);
    let text = crate::render::with_refusal(text, args.format, refusal);
    write_output(args.output.as_deref(), &text)?;
    exit_for(refusal)?;
    incomplete.map_or(Ok(()), |m| Err(Failure::partial(m.to_string()).warning()))
}

/// The packages whose listing did not add up, twice ([`crate::inventory::ListingGap`]): their
/// deletions that rest on a version's absence are withheld, and the run exits 3 with this
/// message.
pub(super) fn incomplete_listings(inventory: &Inventory) -> Option<String> {
    let gaps: Vec<String> = inventory
        .packages
        .iter()
        .filter_map(|p| {
            let g = p.listing_gap?;
            Some(format!(
                "{} ({} listed, GitHub counts {})",
                p.package.name, g.listed, g.version_count
            ))
        })
        .collect();
    (!gaps.is_empty()).then(|| {
        let n = gaps.len();
        format!(
            "the {} of {} {} {} not add up, twice: versions were deleted or pushed while {} listed; deletions that would rest on a version's absence (untagged leftovers, images the missing version may list, ghost, partial, orphaned) were withheld: run again",
            crate::plural::word(n, "listing", "listings"),
            crate::plural::word(n, "package", "packages"),
            gaps.join(", "),
            crate::plural::word(n, "does", "do"),
            crate::plural::word(n, "it was", "they were"),
        )
    })
}

/// What a plan over a limit says, in `plan`'s words: which limit, by how much, and the two ways
/// out. `plan` takes no `--max-deletions`, so the help names only the policy and its rules.
fn refusal_message(e: &crate::evaluate::EvaluateError) -> String {
    use crate::evaluate::EvaluateError;
    use crate::plural::count;
    let (what, over, key, count_of, rules) = match *e {
        EvaluateError::TooManyDeletions { count: n, max } => (
            format!("the plan deletes {}", count(n, "version", "versions")),
            n.saturating_sub(max),
            "max_deletions",
            (n, max, "version", "versions"),
            "so that they select fewer versions",
        ),
        EvaluateError::TooManyUntags { count: n, max } => (
            format!(
                "the plan removes {} from images that stay",
                count(n, "tag", "tags")
            ),
            n.saturating_sub(max),
            "max_untags",
            (n, max, "tag", "tags"),
            "so that they remove fewer tags (or set safety.untag: false to keep such tags)",
        ),
    };
    let (n, max, one, many) = count_of;
    format!(
        "refused: {what}, {} more than safety.{key} ({max}), so `retention apply` would change nothing\n  help: if the plan is right, raise safety.{key} in the policy to {n} or more\n  help: otherwise change the rules {rules}; the report shows what they select",
        count(over, one, many)
    )
}

/// The exit of a plan that was reported: 1 when it is over a limit, with the refusal (the
/// report, already written, opens with it too).
fn exit_for(refusal: Option<&str>) -> Outcome {
    match refusal {
        None => Ok(()),
        Some(r) => Err(Failure::usage(r.to_string())),
    }
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
/// (of both policies with a base), and take out the placeholders a killed tag removal left
/// ([`super::placeholders`]). Sends no DELETE.
fn online_inventory(
    settings: &Settings,
    policy: &Policy,
    base: Option<&Policy>,
) -> Result<(Inventory, super::placeholders::Doubt), Failure> {
    let runtime = super::online::runtime()?;
    runtime.block_on(async {
        let (client, scope) = super::online::connect(settings, policy.owner.as_deref()).await?;
        let _working = super::online::Working::start(
            format!("listing and reading the packages of {scope}"),
            &client,
        );
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
                super::online::note(&format!("base policy: {}", report.summary()));
            }
            Some(base) => {
                // The base policy governs other packages: list those too.
                let (_, other) =
                    super::online::inventory(settings, &client, &scope, base, fill).await?;
                merge(&mut typed, other);
            }
        }
        let doubt = if images {
            let reg = settings.registry_client()?;
            let policies: Vec<&Policy> = std::iter::once(policy).chain(base).collect();
            super::placeholders::set_aside(
                Some((&reg, settings.cache())),
                &mut typed,
                &policies,
                settings.now(),
            )
            .await
        } else {
            super::placeholders::Doubt::default()
        };
        Ok((typed, doubt))
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
