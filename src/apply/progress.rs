//! Progress a person can follow: a bar with counts and ETA on a terminal (stderr); elsewhere (the
//! Actions log) a plain line every few seconds.

use std::io::IsTerminal;
use std::sync::Mutex;
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

pub struct Progress {
    total: u64,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Mutex<Instant>,
}

impl Progress {
    pub fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30} {pos}/{len} versions · {msg} · ETA {eta}")
            {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            total,
            bar,
            started: Instant::now(),
            last_line: Mutex::new(Instant::now()),
        }
    }

    /// Show the counts of `r`.
    pub fn update(&self, r: &ApplyReport) {
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
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(handled);
            bar.set_message(msg);
            return;
        }
        let mut last = crate::sync::lock(&self.last_line);
        if last.elapsed() >= line_every() {
            *last = Instant::now();
            let elapsed = self.started.elapsed().as_secs_f64();
            let eta = if handled > 0 {
                let left = total.saturating_sub(handled) as f64;
                format!(", about {:.0}s left", elapsed / handled as f64 * left)
            } else {
                String::new()
            };
            eprintln!("retention: {handled}/{total} versions: {msg}{eta}");
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
