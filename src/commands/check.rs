//! `retention check POLICY...`: validate policy files and report every error, located.
//!
//! A `${NAME}` that no `--var` sets is a warning here, not an error: a policy such as
//! `pr-closed.yml` gets its value only when it runs (`--var PR_NUMBER=…`, the action's input
//! `vars`), and `check policies/*.yml` must still pass. The policy is checked with a placeholder
//! value (`1`) in its place, and what only the real value can tell (a duration or a version
//! written as a variable: a problem on a variable's line) is left to the run, which refuses a
//! variable it is not given.

use super::{Failure, Outcome};
use crate::cli::CheckArgs;
use crate::policy::{check, Policy};

/// The value an unset variable gets while its policy is checked.
const PLACEHOLDER: &str = "1";

pub fn run(args: &CheckArgs) -> Outcome {
    let vars = crate::policy::Vars::new(&args.vars)?;
    let mut errors = 0usize;
    for path in &args.policies {
        let e = match Policy::load_with(path, &vars) {
            Ok(policy) => {
                println!("{}: ok ({})", path.display(), check::summary(&policy));
                continue;
            }
            Err(e) => e,
        };
        let unset = check::unset_variables(&e);
        if unset.is_empty() {
            crate::actions::annotate(&e);
            errors += e.diagnostics.len();
            crate::printer::detail(&e.to_string());
            continue;
        }
        // Only unset variables: check the rest with a placeholder in their place.
        let mut given = args.vars.clone();
        given.extend(
            unset
                .iter()
                .map(|(name, _)| (name.clone(), PLACEHOLDER.to_string())),
        );
        let placeholders = crate::policy::Vars::new(&given)?;
        for (name, d) in &unset {
            crate::printer::warning(&format!(
                "{}:{}:{}: the variable `{name}` is not set: checked with the placeholder value {PLACEHOLDER}\n  help: a run must give it: --var {name}=VALUE (the action's input `vars`)",
                d.file, d.line, d.column
            ));
        }
        match Policy::load_with(path, &placeholders) {
            Ok(policy) => println!(
                "{}: ok ({}; {} given when it runs)",
                path.display(),
                check::summary(&policy),
                check::names(&unset)
            ),
            Err(mut e) => {
                // What the placeholder made invalid on a variable's line only the value can tell.
                e.diagnostics
                    .retain(|d| !unset.iter().any(|(_, u)| u.line == d.line));
                if e.diagnostics.is_empty() {
                    println!(
                        "{}: ok, but for the values of {} (checked when it runs)",
                        path.display(),
                        check::names(&unset)
                    );
                } else {
                    crate::actions::annotate(&e);
                    errors += e.diagnostics.len();
                    crate::printer::detail(&e.to_string());
                }
            }
        }
    }
    if errors > 0 {
        return Err(Failure::usage(format!(
            "{} found; nothing was run",
            crate::plural::count(errors, "problem", "problems")
        )));
    }
    Ok(())
}
