//! What a command comes to when it does not succeed: a [`Failure`], with its exit code, its
//! severity (printed as `error:` or `warning:`), its message, the error that caused it, and the
//! failures joined after it ([`combine`]).
//!
//! The severity is a field, never read back from the text: a run that stops with work left for
//! the next one (exit 3, nothing wrong) says `warning:`, everything else `error:`; the GitHub
//! Action's summary says "Apply stopped" or "Apply failed" from the same field
//! ([`Failure::stopped`]). The library layers' errors become a `Failure` through `From`, each
//! next to its own error type, which is where the choice of exit code is made and tested.
//!
//! Exit codes (docs/operations.md, "Command line"): 0 success, 1 policy or usage error, 2 run
//! error (network, API, file system), 3 partial (some of the work was done, some was left).

use std::fmt;
use std::sync::Arc;

/// The exit code of a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    /// A policy or usage problem: exit 1. Nothing was done; fix the input.
    Usage = 1,
    /// A run error (network, API, file system): exit 2.
    Run = 2,
    /// Some of the work was done, some not: exit 3. Running again continues.
    Partial = 3,
}

impl Code {
    /// The process exit code.
    pub fn exit(self) -> u8 {
        self as u8
    }
}

/// How a failure is labelled when printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// `error:` something went wrong.
    Error,
    /// `warning:` nothing went wrong, but the work is not all done (a stop the next run
    /// continues from, a deletion withheld until a manifest can be read).
    Warning,
}

impl Severity {
    /// The label a printed message starts with, without its colon.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A failure with the exit code it deserves. Printed (`Display`) as `error: MESSAGE` or
/// `warning: MESSAGE`, then each failure joined after it on lines of its own.
#[derive(Clone, Debug)]
pub struct Failure {
    code: Code,
    severity: Severity,
    message: String,
    /// The error this failure was made from, kept for `source()` (its text is in `message`).
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    /// Failures of later steps of the same run ([`combine`]): printed after this one; the exit
    /// code is this one's.
    also: Vec<Failure>,
}

/// What a command comes to: `Ok` is exit 0.
pub type Outcome = Result<(), Failure>;

impl Failure {
    fn new(code: Code, message: impl Into<String>) -> Failure {
        Failure {
            code,
            severity: Severity::Error,
            message: message.into(),
            source: None,
            also: Vec::new(),
        }
    }

    /// A policy or usage problem: exit 1.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Code::Usage, message)
    }

    /// A run error (network, API, file system): exit 2.
    pub fn run(message: impl Into<String>) -> Failure {
        Failure::new(Code::Run, message)
    }

    /// Some of the work was done, some not: exit 3.
    pub fn partial(message: impl Into<String>) -> Failure {
        Failure::new(Code::Partial, message)
    }

    /// A failure with `code` whose message was already printed (nothing more is printed).
    pub fn silent(code: Code) -> Failure {
        Failure::new(code, String::new())
    }

    /// The same failure, labelled `warning:`.
    #[must_use]
    pub fn warning(mut self) -> Failure {
        self.severity = Severity::Warning;
        self
    }

    /// The same failure, remembering the error that caused it.
    #[must_use]
    pub fn caused_by(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Failure {
        self.source = Some(Arc::new(source));
        self
    }

    /// The same failure with `more` lines after its message (a `help:`, what was not done).
    #[must_use]
    pub fn with_more(mut self, more: impl fmt::Display) -> Failure {
        self.message = format!("{}\n{more}", self.message);
        self
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The message, without its label.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A run that stopped with work left for the next run (exit 3, `warning:`), as opposed to
    /// one that failed: the Action's summary says "Apply stopped".
    pub fn stopped(&self) -> bool {
        self.code == Code::Partial && self.severity == Severity::Warning
    }

    /// Nothing to print (the failure was printed where it happened).
    pub fn is_silent(&self) -> bool {
        self.message.is_empty() && self.also.iter().all(Failure::is_silent)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        if !self.message.is_empty() {
            write!(f, "{}: {}", self.severity.label(), self.message)?;
            first = false;
        }
        for also in self.also.iter().filter(|a| !a.is_silent()) {
            if !first {
                writeln!(f)?;
            }
            write!(f, "{also}")?;
            first = false;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Two outcomes of one run as one: the first failure decides the exit code and is printed
/// first; a later one is printed after it. `Ok` only when both are.
pub fn combine(first: Outcome, then: Outcome) -> Outcome {
    match (first, then) {
        (Ok(()), then) => then,
        (Err(f), Ok(())) => Err(f),
        (Err(mut f), Err(then)) => {
            f.also.push(then);
            Err(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_prints_its_label_from_its_severity() {
        assert_eq!(
            Failure::run("the plan removes 3 tags").to_string(),
            "error: the plan removes 3 tags"
        );
        assert_eq!(
            Failure::partial("2 versions withheld")
                .warning()
                .to_string(),
            "warning: 2 versions withheld"
        );
        // The text is never read: a message that mentions a label keeps its own.
        assert_eq!(
            Failure::partial("warning: see above").to_string(),
            "error: warning: see above"
        );
        assert_eq!(Failure::silent(Code::Run).to_string(), "");
    }

    #[test]
    fn only_a_warning_with_exit_3_is_a_stop() {
        assert!(Failure::partial("x").warning().stopped());
        assert!(!Failure::partial("x").stopped());
        assert!(!Failure::run("x").warning().stopped());
    }

    #[test]
    fn combine_keeps_the_first_code_and_prints_both_in_order() {
        let first = Err(Failure::run("the listing failed"));
        let then = Err(Failure::partial("1 image is broken").warning());
        let f = combine(first, then).unwrap_err();
        assert_eq!(f.code(), Code::Run);
        assert_eq!(
            f.to_string(),
            "error: the listing failed\nwarning: 1 image is broken"
        );
        let f = combine(Ok(()), Err(Failure::usage("x"))).unwrap_err();
        assert_eq!((f.code(), f.to_string()), (Code::Usage, "error: x".into()));
        assert!(combine(Ok(()), Ok(())).is_ok());
        // A silent first failure prints only what follows it.
        let f = combine(Err(Failure::silent(Code::Partial)), Err(Failure::run("y"))).unwrap_err();
        assert_eq!(
            (f.code(), f.to_string()),
            (Code::Partial, "error: y".into())
        );
    }

    #[test]
    fn the_cause_is_kept() {
        use std::error::Error as _;
        let f = Failure::run("cannot write the plan").caused_by(std::io::Error::other("disk full"));
        assert_eq!(f.source().map(|s| s.to_string()), Some("disk full".into()));
    }
}
