//! `retention check POLICY...`: validate policy files and report every error, located. What is
//! said of each file is [`crate::policy::check::file`]'s (a variable no `--var` sets is a
//! warning here: the policy is checked with a placeholder in its place); this prints it, adds
//! the runner's annotations, and counts the problems.

use super::{Failure, Outcome};
use crate::cli::CheckArgs;
use crate::policy::check;

pub fn run(args: &CheckArgs) -> Outcome {
    let vars = crate::policy::Vars::new(&args.vars)?;
    let mut errors = 0usize;
    for path in &args.policies {
        let checked = check::file(path, &args.vars, &vars)?;
        for warning in &checked.warnings {
            crate::printer::warning(warning);
        }
        match checked.verdict {
            Ok(line) => println!("{line}"),
            Err(e) => {
                crate::actions::annotate(&e);
                errors += e.diagnostics.len();
                crate::printer::detail(&e.to_string());
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
