//! Progress a person can follow: a bar with counts and ETA on a terminal (stderr); elsewhere (the
//! Actions log) a plain line every few seconds. The ETA comes from the pace of the deletions
//! (what the pacer allows now, learned from GitHub's refusals), not from the average so far,
//! which a pause would distort. With `--quiet` neither is shown; while the bar is, every line
//! the program prints goes above it ([`crate::printer::show_bar`]).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::ApplyReport;

/// How often a line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// [`LINE_EVERY`], compressed by the test time scale (RETENTION_TEST_TIME_SCALE) like every
/// other wait, so that tests can see the lines.
pub(crate) fn line_every() -> Duration {
    crate::backoff::scaled(LINE_EVERY, crate::backoff::time_scale())
}

/// The deletions a minute the run goes at now.
type PaceNow = Box<dyn Fn() -> f64 + Send>;

pub struct Progress {
    total: u64,
    pace: Option<PaceNow>,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    pub fn new(total: u64) -> Progress {
        // No bar with --quiet (nor its lines: they are status lines).
        let shown = std::io::stderr().is_terminal() && !crate::printer::quiet();
        let bar = shown.then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} versions · {msg}")
            {
                bar.set_style(style);
            }
            // Lines printed while it is shown go above it.
            crate::printer::show_bar(&bar);
            bar
        });
        Progress {
            total,
            pace: None,
            bar,
            started: Instant::now(),
            last_line: Instant::now(),
        }
    }

    /// The ETA from `pace` (deletions a minute now).
    pub fn with_pace(mut self, pace: impl Fn() -> f64 + Send + 'static) -> Progress {
        self.pace = Some(Box::new(pace));
        self
    }

    /// How long the `left` versions take at the pace now (scaled like every wait), else at the
    /// average so far.
    fn eta(&self, handled: u64, left: u64) -> Option<Duration> {
        if left == 0 {
            return None;
        }
        match self.pace.as_ref().map(|p| p()).filter(|p| *p > 0.0) {
            Some(per_minute) => Some(crate::backoff::scaled(
                Duration::from_secs_f64(left as f64 / per_minute * 60.0),
                crate::backoff::time_scale(),
            )),
            None if handled > 0 => Some(Duration::from_secs_f64(
                self.started.elapsed().as_secs_f64() / handled as f64 * left as f64,
            )),
            None => None,
        }
    }

    /// Show the counts of `r`.
    pub fn update(&mut self, r: &ApplyReport) {
        let handled = r.deleted + r.already_gone + r.skipped.len() as u64 + r.failed.len() as u64;
        let msg = format!(
            "{} deleted, {} already gone, {} skipped, {} failed",
            r.deleted,
            r.already_gone,
            r.skipped.len(),
            r.failed.len()
        );
        // A streamed run learns of more targets as it goes (`r.total` grows).
        let total = r.total.max(self.total);
        let eta = self
            .eta(handled, total.saturating_sub(handled))
            .map(|d| format!(", about {} left", minutes_seconds(d)))
            .unwrap_or_default();
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(handled);
            bar.set_message(format!("{msg}{eta}"));
            return;
        }
        if self.last_line.elapsed() >= line_every() {
            self.last_line = Instant::now();
            crate::printer::status(&format!(
                "retention: {handled}/{total} versions: {msg}{eta}"
            ));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            crate::printer::hide_bar();
            bar.finish_and_clear();
        }
    }
}

/// A duration as a person reads it: "45s", "3m 12s", "1h 05m".
pub fn minutes_seconds(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_minutes_and_seconds() {
        assert_eq!(minutes_seconds(Duration::from_secs(45)), "45s");
        assert_eq!(minutes_seconds(Duration::from_secs(192)), "3m 12s");
        assert_eq!(minutes_seconds(Duration::from_secs(3900)), "1h 05m");
    }
}
