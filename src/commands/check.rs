//! `retention check POLICY...`: validate policy files and report every error, located.

use super::{Failure, Outcome};
use crate::cli::CheckArgs;
use crate::policy::Policy;

pub fn run(args: &CheckArgs) -> Outcome {
    let vars = crate::policy::Vars::new(&args.vars)?;
    let mut errors = 0usize;
    for path in &args.policies {
        match Policy::load_with(path, &vars) {
            Ok(policy) => println!("{}: ok ({})", path.display(), summary(&policy)),
            Err(e) => {
                crate::actions::annotate(&e);
                errors += e.diagnostics.len();
                eprintln!("{e}");
            }
        }
    }
    if errors > 0 {
        return Err(Failure::usage(format!(
            "error: {} found; nothing was run",
            crate::plural::count(errors, "problem", "problems")
        )));
    }
    Ok(())
}

/// One line describing a valid policy.
fn summary(p: &Policy) -> String {
    let keep = p
        .rules
        .iter()
        .filter(|r| r.kind == crate::policy::RuleKind::Keep)
        .count();
    let delete = p.rules.len() - keep;
    format!(
        "{} packages {}; {keep} keep and {delete} delete rule{}; keep_newest {}, min_age {}, max_deletions {}",
        p.packages.package_type,
        p.packages.names.patterns.join(", "),
        if delete == 1 { "" } else { "s" },
        p.safety.keep_newest,
        humantime::format_duration(p.safety.min_age),
        p.safety.max_deletions
    )
}
