//! Wiring: each subcommand runs the pipeline stages it needs and maps failures to exit codes.
//!
//! Each online command gets its [`Settings`] (owner, now, registry, cache, token), resolved once
//! here from the shared flags and the environment ([`crate::cli::settings`]).
//!
//! Exit codes (docs/operations.md, "Command line"): 0 success, 1 policy or usage error, 2 run error (API failure),
//! 3 partial (some deletions failed or were left for the next run). The library layers' errors
//! become a [`Failure`] ([`crate::outcome`]) with its code through `From`, next to each error type.

mod apply;
mod check;
mod init;
mod journal;
mod online;
mod plan;
mod restore;
mod snapshot;
mod verify;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command, Settings};

pub use crate::outcome::{Failure, Outcome};

/// Parse the command line, run the command, return its exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; everything else is a usage error: exit 1.
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging();
    crate::printer::set_quiet(cli.quiet);
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Plan(args) => plan::run(&args, &Settings::from_env(&args.eval.ctx)),
        Command::Apply(args) => apply::run(&args, &Settings::from_env(&args.ctx)),
        Command::Restore(args) => restore::run(&args, &Settings::from_env(&args.context())),
        Command::Snapshot(args) => snapshot::run(&args, &Settings::from_env(&args.eval.ctx)),
        Command::Verify(args) => verify::run(&args, &Settings::from_env(&args.eval.ctx)),
        Command::Init(args) => init::run(&args, &Settings::from_env(&args.ctx)),
        Command::Journal(command) => journal::run(&command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            crate::printer::failure(&f);
            ExitCode::from(f.code().exit())
        }
    }
}

/// Logs go to stderr, filtered by RUST_LOG (default: warnings and errors).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: an Actions log or a file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}

/// Read a policy with the `--var` variables; its errors are annotated in a runner.
pub(crate) fn load_policy(
    path: &std::path::Path,
    vars: &[(String, String)],
) -> Result<crate::policy::Policy, Failure> {
    let vars = crate::policy::Vars::new(vars)?;
    crate::policy::Policy::load_with(path, &vars).map_err(|e| {
        crate::actions::annotate(&e);
        crate::policy::check::failure(&e, "the policy", None)
    })
}

/// Write `text` to a file, or to standard output when no file is given.
pub(crate) fn write_output(path: Option<&std::path::Path>, text: &str) -> Outcome {
    use std::io::Write;
    match path {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| Failure::run(format!("cannot write {}: {e}", p.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => Ok(()),
                // A closed pipe (`retention plan | head`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Failure::run(format!(
                    "cannot write to standard output: {e}"
                ))),
            }
        }
    }
}
