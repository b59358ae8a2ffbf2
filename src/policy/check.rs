//! What `retention check` says about a policy: the variables no `--var` sets when they are its
//! only problems (`check` then checks the rest with a placeholder in their place), and the one
//! line that describes a valid policy ([`file`]); and the failure a policy's problems make a
//! run end with ([`failure`]).
//!
//! A `${NAME}` that no `--var` sets is a warning in `check`, not an error: a policy such as
//! `pr-closed.yml` gets its value only when it runs (`--var PR_NUMBER=…`, the action's input
//! `vars`), and `check policies/*.yml` must still pass. The policy is checked with a placeholder
//! value (`1`) in its place, and what only the real value can tell (a duration or a version
//! written as a variable: a problem on a variable's line) is left to the run, which refuses a
//! variable it is not given.

use std::path::Path;

use super::{Policy, PolicyErrors, VarError, Vars};
use crate::outcome::Failure;

/// The value an unset variable gets while its policy is checked.
const PLACEHOLDER: &str = "1";

/// What `check` says about one policy file.
pub struct Checked {
    /// One warning for each variable no `--var` sets (checked with the placeholder value).
    pub warnings: Vec<String>,
    /// The line for standard output when the file is valid (perhaps but for the values of its
    /// unset variables), else its problems, located.
    pub verdict: Result<String, PolicyErrors>,
}

/// Check the policy at `path` with the `--var` variables `given` (`vars`, already read).
pub fn file(path: &Path, given: &[(String, String)], vars: &Vars) -> Result<Checked, VarError> {
    let e = match Policy::load_with(path, vars) {
        Ok(policy) => {
            return Ok(Checked {
                warnings: Vec::new(),
                verdict: Ok(format!("{}: ok ({})", path.display(), summary(&policy))),
            })
        }
        Err(e) => e,
    };
    let unset = unset_variables(&e);
    if unset.is_empty() {
        return Ok(Checked {
            warnings: Vec::new(),
            verdict: Err(e),
        });
    }
    // Only unset variables: check the rest with a placeholder in their place.
    let mut given = given.to_vec();
    given.extend(
        unset
            .iter()
            .map(|(name, _)| (name.clone(), PLACEHOLDER.to_string())),
    );
    let placeholders = Vars::new(&given)?;
    let warnings = unset.iter().map(|(name, d)| format!(
        "{}:{}:{}: the variable `{name}` is not set: checked with the placeholder value {PLACEHOLDER}\n  help: a run must give it: --var {name}=VALUE (the action's input `vars`)",
        d.file, d.line, d.column
    )).collect();
    let verdict = match Policy::load_with(path, &placeholders) {
        Ok(policy) => Ok(format!(
            "{}: ok ({}; {} given when it runs)",
            path.display(),
            summary(&policy),
            names(&unset)
        )),
        Err(mut e) => {
            // What the placeholder made invalid on a variable's line only the value can tell.
            e.diagnostics
                .retain(|d| !unset.iter().any(|(_, u)| u.line == d.line));
            if e.diagnostics.is_empty() {
                Ok(format!(
                    "{}: ok, but for the values of {} (checked when it runs)",
                    path.display(),
                    names(&unset)
                ))
            } else {
                Err(e)
            }
        }
    };
    Ok(Checked { warnings, verdict })
}

/// Print a policy's problems, each located, then fail with one line that counts them, as
/// `retention check` does (`which`: "the policy", "the base policy"; `help`: an extra line).
pub fn failure(e: &PolicyErrors, which: &str, help: Option<&str>) -> Failure {
    crate::printer::detail(&e.to_string());
    let problems = crate::plural::count(e.diagnostics.len(), "problem", "problems");
    let help = help.map(|h| format!("\n  help: {h}")).unwrap_or_default();
    Failure::usage(format!(
        "{problems} found in {which}; nothing was run{help}"
    ))
}

/// The variables no `--var` sets, each with its first diagnostic, when they are the policy's only
/// problems; empty otherwise.
pub fn unset_variables(e: &PolicyErrors) -> Vec<(String, super::Diagnostic)> {
    let mut out: Vec<(String, super::Diagnostic)> = Vec::new();
    for d in &e.diagnostics {
        if d.kind != super::DiagnosticKind::Variable {
            continue;
        }
        let name = d
            .message
            .strip_prefix("the variable `")
            .and_then(|rest| rest.strip_suffix("` is not set"));
        if let Some(name) = name {
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_string(), d.clone()));
            }
        }
    }
    // Any other problem, but on a variable's line (the value read without the variable: it is
    // checked again with the placeholder), and the policy is reported as it is, errors and all.
    let only_unset = e.diagnostics.iter().all(|d| {
        (d.kind == super::DiagnosticKind::Variable && d.message.ends_with("` is not set"))
            || out.iter().any(|(_, u)| u.line == d.line)
    });
    if only_unset {
        out
    } else {
        Vec::new()
    }
}

/// The names of the unset variables, for a line of `check`.
pub fn names(unset: &[(String, super::Diagnostic)]) -> String {
    let names: Vec<&str> = unset.iter().map(|(n, _)| n.as_str()).collect();
    names.join(", ")
}

/// One line describing a valid policy.
pub fn summary(p: &Policy) -> String {
    let keep = p
        .rules
        .iter()
        .filter(|r| r.kind == super::RuleKind::Keep)
        .count();
    let delete = p.rules.len() - keep;
    format!(
        "{} packages {}; {keep} keep and {delete} delete {}; keep_newest {}, min_age {}, max_deletions {}",
        p.packages.package_type,
        p.packages.names.patterns.join(", "),
        crate::plural::word(delete, "rule", "rules"),
        p.safety.keep_newest,
        humantime::format_duration(p.safety.min_age),
        p.safety.max_deletions
    )
}
