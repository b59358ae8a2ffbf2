//! What `retention check` says about a policy: the variables no `--var` sets when they are its
//! only problems (`check` then checks the rest with a placeholder in their place), and the one
//! line that describes a valid policy.

use super::{Policy, PolicyErrors};

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
