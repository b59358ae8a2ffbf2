//! The summary an `apply` run ends with on standard error: what was deleted, skipped and failed
//! (each skipped or failed version and tag on a line of its own), what the API cost, and what
//! became of the tag removals. Pure: the apply layer passes the counts
//! (`apply::results::summary`) and the lines are printed, those naming a failure even with
//! `--quiet`.
//!
//! The lists are sorted (workers finish in any order, so two runs of one plan read the same),
//! and every name and message goes through `render::printable` (they come from GitHub and the
//! registry).

use chrono::{DateTime, Utc};

use super::printable;

/// One version or tag a run skipped or failed: which package, how a person recognises it (a
/// version's digest and tags, `tag T of DIGEST`), and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Item {
    pub package: String,
    pub label: String,
    pub why: String,
}

impl Item {
    pub fn new(
        package: impl Into<String>,
        label: impl Into<String>,
        why: impl Into<String>,
    ) -> Item {
        Item {
            package: package.into(),
            label: label.into(),
            why: why.into(),
        }
    }
}

/// What became of the deletions of a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Deletions<'a> {
    /// Deleted by this run.
    pub deleted: u64,
    /// Found already gone (counted as done).
    pub already_gone: u64,
    pub skipped: &'a [Item],
    pub failed: &'a [Item],
    /// Not attempted (the run stopped).
    pub left: u64,
    /// API requests the deletions sent.
    pub requests: u64,
    /// Answers of GitHub's secondary rate limit.
    pub secondary_limits: u64,
    /// The hourly budget after the run, as GitHub last gave it.
    pub remaining: Option<u64>,
    pub reset: Option<DateTime<Utc>>,
}

/// What became of the tag removals of a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Untags<'a> {
    /// Tags the plan removes.
    pub total: u64,
    pub untagged: u64,
    pub skipped: &'a [Item],
    pub failed: &'a [Item],
    pub left: u64,
    pub api_requests: u64,
}

/// The summary's lines, each marked when it names a failure: those are printed even with
/// `--quiet`, because the run's error points to them ("listed above"). `Display` joins them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub lines: Vec<(String, bool)>,
}

impl Summary {
    fn say(&mut self, line: String) {
        self.lines.push((line, false));
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (line, _)) in self.lines.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            f.write_str(line)?;
        }
        Ok(())
    }
}

/// The summary lines: `summary:`, the skipped and failed versions, `API:`, and, when there were
/// tags to remove or placeholders that failed, `untag:` and its lists.
pub fn apply_summary(d: &Deletions, u: &Untags) -> Summary {
    let mut out = Summary::default();
    out.say(format!(
        "summary: {} deleted ({} now, {} already gone), {} skipped, {} failed, {} left undone",
        d.deleted + d.already_gone,
        d.deleted,
        d.already_gone,
        d.skipped.len(),
        d.failed.len(),
        d.left
    ));
    list(&mut out, d.skipped, d.failed);
    let budget = match (d.remaining, d.reset) {
        (Some(n), Some(t)) => format!("{n} requests left, resets at {}", t.to_rfc3339()),
        (Some(n), None) => format!("{n} requests left"),
        _ => "unknown".to_string(),
    };
    out.say(format!(
        "API: {} requests for the deletions, {} secondary-limit answers; rate budget: {budget}",
        d.requests, d.secondary_limits
    ));
    if u.total > 0 || !u.failed.is_empty() {
        out.say(format!(
            "untag: {} of {} removed, {} skipped, {} failed, {} left undone ({})",
            u.untagged,
            crate::plural::count(u.total, "tag", "tags"),
            u.skipped.len(),
            u.failed.len(),
            u.left,
            crate::plural::count(u.api_requests, "API request", "API requests")
        ));
        list(&mut out, u.skipped, u.failed);
    }
    out
}

/// `  skipped PACKAGE LABEL: WHY` and `  failed …` lines, each list sorted; the failed ones
/// marked.
fn list(out: &mut Summary, skipped: &[Item], failed: &[Item]) {
    for (word, items) in [("skipped", skipped), ("failed", failed)] {
        let mut items: Vec<&Item> = items.iter().collect();
        items.sort();
        for i in items {
            let line = format!(
                "  {word} {} {}: {}",
                printable(&i.package),
                printable(&i.label),
                printable(&i.why)
            );
            out.lines.push((line, word == "failed"));
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_summary_lists_what_was_skipped_and_failed_sorted() {
        let skipped = [
            Item::new("web", "sha256:bb (v2)", "gone since the plan was made"),
            Item::new(
                "app",
                "sha256:aa (v1)",
                "cannot delete the last tagged version",
            ),
        ];
        let failed = [Item::new("app", "sha256:cc", "HTTP 502\u{1b}[31m")];
        let untag_failed = [Item::new("app", "tag pr-1 of sha256:dd", "push refused")];
        let d = Deletions {
            deleted: 3,
            already_gone: 1,
            skipped: &skipped,
            failed: &failed,
            left: 2,
            requests: 9,
            secondary_limits: 1,
            remaining: Some(4990),
            reset: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single(),
        };
        let u = Untags {
            total: 2,
            untagged: 1,
            failed: &untag_failed,
            api_requests: 4,
            ..Untags::default()
        };
        let summary = apply_summary(&d, &u);
        insta::assert_snapshot!(summary.to_string());
        // What an error points to is marked: only the failed lines.
        let marked: Vec<&str> = summary
            .lines
            .iter()
            .filter(|(_, failure)| *failure)
            .map(|(l, _)| l.as_str())
            .collect();
        assert_eq!(
            marked,
            [
                "  failed app sha256:cc: HTTP 502\\u{1b}[31m",
                "  failed app tag pr-1 of sha256:dd: push refused"
            ]
        );
    }

    #[test]
    fn without_tags_to_remove_there_is_no_untag_line() {
        let text = apply_summary(&Deletions::default(), &Untags::default()).to_string();
        assert_eq!(
            text,
            "summary: 0 deleted (0 now, 0 already gone), 0 skipped, 0 failed, 0 left undone\nAPI: 0 requests for the deletions, 0 secondary-limit answers; rate budget: unknown"
        );
    }
}
