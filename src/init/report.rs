//! What `retention init` says about the policy it proposes: what it would do now, per package,
//! what to run next, and which safety limit was raised so that the first run is not refused.
//! Pure: text in, text out (the command prints it).

use std::path::Path;

use super::write::Options;
use crate::plan::Plan;
use crate::plural::count;
use crate::policy::Policy;

/// A first run over the default limits would be refused: raise them (to the next hundred) so
/// that they say what it does, and remember why. Whether they were raised.
pub fn fit_first_run(options: &mut Options, plan: &Plan) -> bool {
    if plan.summary.delete <= options.max_deletions && plan.summary.untag <= options.max_untags {
        return false;
    }
    options.max_deletions = options.max_deletions.max(round_up(plan.summary.delete));
    options.max_untags = options.max_untags.max(round_up(plan.summary.untag));
    options.first_run = Some((plan.summary.delete, plan.summary.untag));
    true
}

/// `n` rounded up to the next hundred.
fn round_up(n: u64) -> u64 {
    n.div_ceil(100) * 100
}

/// What the proposed policy would do, per package, and what to run next (`policy_arg`: where
/// the policy was written, `source`: ` --inventory FILE` or ` --owner OWNER`).
pub fn summary(plan: &Plan, policy: &Policy, policy_arg: &str, source: &str) -> String {
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
    out.push_str(&format!(
        "next: retention plan --policy {policy_arg}{source}   (every decision, with its reason)\n"
    ));
    out
}

/// All `init` says after the policy: [`summary`], naming in what to run next where the policy
/// was `written` (else `POLICY`) and what it was proposed from (the `inventory` file, else the
/// `owner`), then which limit was [`raised`].
pub fn said(
    plan: &Plan,
    policy: &Policy,
    options: &Options,
    written: Option<&Path>,
    inventory: Option<&Path>,
    owner: &str,
) -> String {
    let policy_arg = written
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "POLICY".to_string());
    let source = match inventory {
        Some(path) => format!(" --inventory {}", path.display()),
        None => format!(" --owner {owner}"),
    };
    let mut said = summary(plan, policy, &policy_arg, &source);
    said.push_str(&raised(options));
    said
}

/// Say which limit was raised to fit the first run (it stays raised in the policy until the
/// user lowers it, and a raised limit no longer stops a night that deletes too much).
pub fn raised(options: &Options) -> String {
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
