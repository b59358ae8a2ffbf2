//! What an `apply` run comes to, from the executor's report and the tag removals' one: the
//! counts the GitHub Action writes ([`ApplyResults`]), the summary text
//! ([`crate::render::summary`]), and the exit-code rules ([`conclude`]): which stop is a
//! warning (exit 3, the next run continues: the rate budget, `--max-duration`, GitHub's
//! secondary limit) and which an error (exit 2: a permission, the journal), and failed
//! deletions or tag removals (exit 3, an error: run again to retry them).

use super::untag::UntagReport;
use super::{ApplyReport, Stop};
use crate::outcome::{Failure, Outcome};
use crate::render::summary::{Deletions, Untags};

/// The counts of an apply run (what the Action writes to `GITHUB_OUTPUT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyResults {
    /// Versions the plan deletes.
    pub to_delete: u64,
    /// Deleted now, or found already gone.
    pub deleted: u64,
    pub skipped: u64,
    /// Deletions and tag removals that failed.
    pub failed: u64,
    /// Not attempted (the run stopped).
    pub left: u64,
    /// Tags the plan removes from images that stay.
    pub to_untag: u64,
    /// Tags removed.
    pub untagged: u64,
}

impl ApplyResults {
    /// The line `apply` writes to standard output.
    pub fn line(&self) -> String {
        format!(
            "deleted={} skipped={} failed={} left={} untagged={}",
            self.deleted, self.skipped, self.failed, self.left, self.untagged
        )
    }
}

/// The summary of the run on standard error ([`crate::render::summary::apply_summary`]).
pub fn summary(r: &ApplyReport, u: &UntagReport) -> crate::render::summary::Summary {
    crate::render::summary::apply_summary(
        &Deletions {
            deleted: r.deleted,
            already_gone: r.already_gone,
            skipped: &r.skipped,
            failed: &r.failed,
            left: r.left,
            requests: r.requests,
            secondary_limits: r.secondary_limits,
            remaining: r.budget.remaining,
            reset: r.budget.reset,
        },
        &Untags {
            total: u.total,
            untagged: u.untagged,
            skipped: &u.skipped,
            failed: &u.failed,
            left: u.left,
            api_requests: u.api_requests,
        },
    )
}

/// The final reporting of an apply run: the summary on standard error, the counts on standard
/// output, and the counts and outcome ([`conclude`]).
pub fn report(r: &ApplyReport, u: &UntagReport) -> (ApplyResults, Outcome) {
    for (line, failure) in summary(r, u).lines {
        if failure {
            crate::printer::detail(&line);
        } else {
            crate::printer::status(&line);
        }
    }
    let (results, outcome) = conclude(r, u);
    println!("{}", results.line());
    (results, outcome)
}

/// `outcome`, and a warning after it when work was `withheld` (exit 3 when nothing else failed).
pub fn also_warn(outcome: Outcome, withheld: Option<String>) -> Outcome {
    let warning = withheld.map_or(Ok(()), |m| Err(Failure::partial(m).warning()));
    crate::outcome::combine(outcome, warning)
}

/// The counts and the outcome of a run whose deletions came to `r` and tag removals to `u`.
pub fn conclude(r: &ApplyReport, u: &UntagReport) -> (ApplyResults, Outcome) {
    let results = ApplyResults {
        to_delete: r.total,
        deleted: r.done(),
        skipped: (r.skipped.len() + u.skipped.len()) as u64,
        failed: (r.failed.len() + u.failed.len()) as u64,
        left: r.left + u.left,
        to_untag: u.total,
        untagged: u.untagged,
    };
    if let (None, Some(why)) = (&r.stop, &u.stop) {
        let message = format!(
            "stopped removing tags: {why}; {} of {} tag removals were left undone",
            u.left, u.total
        );
        return (
            results,
            Err(if u.stop_is_budget {
                Failure::partial(format!("{message}: the next run continues")).warning()
            } else {
                Failure::run(message.to_string())
            }),
        );
    }
    let outcome = match &r.stop {
        Some(stop) => Err(stopped(r, stop)),
        None if !r.failed.is_empty() => Err(Failure::partial(format!(
            "{} failed (listed above); run again to retry them",
            crate::plural::count(r.failed.len(), "deletion", "deletions")
        ))),
        None if !u.failed.is_empty() => Err(Failure::partial(format!(
            "{} failed (listed above); run again to retry them",
            crate::plural::count(u.failed.len(), "tag removal", "tag removals")
        ))),
        None => Ok(()),
    };
    (results, outcome)
}

/// Why the deletions stopped before the end, and what that leaves.
fn stopped(r: &ApplyReport, stop: &Stop) -> Failure {
    match stop {
        Stop::Fatal(e) => Failure::run(format!(
            "stopped: {e}\n{} versions were left undone",
            r.left
        )),
        Stop::Deadline(d) => Failure::partial(format!(
            "stopped: --max-duration {} passed; {} of {} deletions are left undone: the next run continues",
            humantime::format_duration(*d),
            r.left,
            r.total
        )).warning(),
        Stop::Journal(e) => Failure::run(format!(
            "stopped: {e}; {} versions were left undone",
            r.left
        )),
        Stop::Budget { remaining, reset } => {
            let reset = reset
                .map(|t| format!("it resets at {}", t.to_rfc3339()))
                .unwrap_or_else(|| "its reset time is unknown".to_string());
            Failure::partial(format!(
                "stopped: the API rate limit is nearly spent ({} requests left); {} of {} deletions are left undone; {reset}: run again then (a scheduled run continues where this one stopped)",
                // The last count GitHub gave, which answers still in flight at the stop lowered.
                r.budget
                    .remaining
                    .or(*remaining)
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "?".into()),
                r.left,
                r.total
            )).warning()
        }
        Stop::Secondary { until, message } => {
            let when = until
                .map(|t| {
                    format!(
                        "run again after {}",
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )
                })
                .unwrap_or_else(|| "run again in an hour or so".to_string());
            Failure::partial(format!(
                "stopped: GitHub's secondary rate limit (too many requests in a short time, not the hourly budget: {} requests are left): {message}\n{} of {} deletions are left undone; {when} (a scheduled run continues where this one stopped)",
                r.budget.remaining.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
                r.left,
                r.total
            )).warning()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Code, Severity};
    use crate::render::summary::Item;

    fn kind(outcome: &Outcome) -> Option<(Code, Severity)> {
        outcome.as_ref().err().map(|f| (f.code(), f.severity()))
    }

    #[test]
    fn a_stop_the_next_run_continues_is_a_warning_and_a_failure_an_error() {
        let deadline = ApplyReport {
            total: 5,
            left: 2,
            stop: Some(Stop::Deadline(std::time::Duration::from_secs(60))),
            ..ApplyReport::default()
        };
        let (_, outcome) = conclude(&deadline, &UntagReport::default());
        assert_eq!(kind(&outcome), Some((Code::Partial, Severity::Warning)));

        let failed = ApplyReport {
            total: 1,
            failed: vec![Item::new("app", "sha256:aa", "HTTP 502")],
            ..ApplyReport::default()
        };
        let (results, outcome) = conclude(&failed, &UntagReport::default());
        assert_eq!(kind(&outcome), Some((Code::Partial, Severity::Error)));
        assert_eq!(results.failed, 1);
        assert_eq!(
            results.line(),
            "deleted=0 skipped=0 failed=1 left=0 untagged=0"
        );

        let untag_stopped = UntagReport {
            total: 3,
            left: 3,
            stop: Some("the token may not push".into()),
            ..UntagReport::default()
        };
        let (_, outcome) = conclude(&ApplyReport::default(), &untag_stopped);
        assert_eq!(kind(&outcome), Some((Code::Run, Severity::Error)));

        let (_, outcome) = conclude(&ApplyReport::default(), &UntagReport::default());
        assert!(outcome.is_ok());
    }
}
