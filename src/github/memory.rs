//! The pace a run learned, remembered per API host and owner in the cache directory (which
//! `actions/cache` restores in the examples), so that the next run starts where this one ended
//! instead of meeting the same refusal again.
//!
//! One small JSON file per host and owner: `<cache>/pace/<host>/<owner>.json`. A run starts from
//! it when it is below the configured pace; it raises the pace (probes) only when the remembered
//! run met no refusal. A file that cannot be read or written is a warning, never an error: the
//! memory only saves time.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::pacer::{PaceSummary, Start};

/// What a run learned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Remembered {
    /// Deletions a minute at the end of the run.
    pub pace: f64,
    /// The configured pace of that run.
    pub configured: f64,
    /// Whether GitHub refused a request of that run.
    pub refused: bool,
    pub at: DateTime<Utc>,
}

/// Memories older than this are forgotten: GitHub's limits change.
const FORGET_AFTER_DAYS: i64 = 30;

/// Where the pace of one API host and owner is remembered.
#[derive(Clone, Debug)]
pub struct PaceMemory {
    path: PathBuf,
}

/// A name safe as one path component: letters, digits, `.`, `-` and `_`; others become `_`.
fn component(s: &str) -> String {
    let c: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if c.is_empty() {
        "_".to_string()
    } else {
        c
    }
}

impl PaceMemory {
    /// The memory of `owner` on the API at `host` (with its port, if any), under `cache_dir`.
    pub fn new(cache_dir: &Path, host: &str, owner: &str) -> PaceMemory {
        PaceMemory {
            path: cache_dir
                .join("pace")
                .join(component(host))
                .join(format!("{}.json", component(owner))),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the last run learned, if it is known and recent.
    pub fn load(&self, now: DateTime<Utc>) -> Option<Remembered> {
        let text = std::fs::read(&self.path).ok()?;
        let r: Remembered = match serde_json::from_slice(&text) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("ignoring the remembered pace {}: {e}", self.path.display());
                return None;
            }
        };
        (now.signed_duration_since(r.at).num_days() < FORGET_AFTER_DAYS
            && r.pace.is_finite()
            && r.pace > 0.0)
            .then_some(r)
    }

    /// Where a run configured for `configured` deletions a minute starts, from what the last run
    /// learned: its pace when that was below its own configured one (GitHub refused, or it was
    /// still climbing back), else nothing (the configured pace).
    pub fn start(&self, now: DateTime<Utc>) -> Option<Start> {
        let r = self.load(now)?;
        (r.refused || r.pace < r.configured).then_some(Start {
            pace: r.pace,
            may_probe: !r.refused,
        })
    }

    /// Remember what this run came to. Nothing is written for a run that sent no mutative
    /// request (it learned nothing).
    pub fn save(&self, summary: &PaceSummary, now: DateTime<Utc>) {
        if summary.accepted == 0 && summary.refusals == 0 {
            return;
        }
        let r = Remembered {
            pace: summary.pace,
            configured: summary.configured,
            refused: summary.refusals > 0,
            at: now,
        };
        let write = || -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = self.path.with_extension("json.tmp");
            std::fs::write(
                &tmp,
                serde_json::to_vec_pretty(&r).map_err(std::io::Error::other)?,
            )?;
            std::fs::rename(&tmp, &self.path)
        };
        if let Err(e) = write() {
            crate::printer::warning(&format!(
                "cannot remember the pace GitHub allowed in {}: {e}",
                self.path.display()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(pace: f64, configured: f64, refusals: u64) -> PaceSummary {
        PaceSummary {
            configured,
            started: configured,
            from_memory: false,
            pace,
            allowed: None,
            refusals,
            accepted: 10,
        }
    }

    #[test]
    fn a_refused_run_is_remembered_and_the_next_starts_there_without_probing() {
        let dir = tempfile::tempdir().unwrap();
        let now: DateTime<Utc> = "2026-11-20T00:00:00Z".parse().unwrap();
        let m = PaceMemory::new(dir.path(), "api.github.com", "Acme");
        assert_eq!(m.start(now), None);
        m.save(&summary(36.0, 60.0, 1), now);
        assert!(m.path().ends_with("pace/api_github_com/acme.json"));
        assert_eq!(
            m.start(now),
            Some(Start {
                pace: 36.0,
                may_probe: false
            })
        );
        // A run without refusal, still below its configured pace: the next probes upward.
        m.save(&summary(40.0, 60.0, 0), now);
        assert_eq!(
            m.start(now),
            Some(Start {
                pace: 40.0,
                may_probe: true
            })
        );
        // A run at its configured pace without refusal: the next starts at its own.
        m.save(&summary(60.0, 60.0, 0), now);
        assert_eq!(m.start(now), None);
        // Another owner, or a month later: nothing remembered.
        assert_eq!(
            PaceMemory::new(dir.path(), "api.github.com", "other").start(now),
            None
        );
        m.save(&summary(36.0, 60.0, 1), now);
        assert_eq!(m.start(now + chrono::Duration::days(31)), None);
    }

    #[test]
    fn a_broken_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let m = PaceMemory::new(dir.path(), "127.0.0.1:8080", "acme");
        std::fs::create_dir_all(m.path().parent().unwrap()).unwrap();
        std::fs::write(m.path(), "{not json").unwrap();
        assert_eq!(m.start(Utc::now()), None);
    }
}
