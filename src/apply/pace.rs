//! The pace of the deletions, set before the first one: the configured rate (a flag, else the
//! policy's `safety.deletions_per_minute`, else one a second), started from the pace GitHub
//! allowed the last run against this API and owner (remembered in the cache directory, so that
//! a run does not learn GitHub's refusals again), and `--max-duration`.

use std::path::Path;
use std::time::Duration;

use crate::github::{GithubClient, PaceMemory, Scope};
use crate::policy::Policy;

/// Configure the client's pacer: `per_minute` (`--deletions-per-minute`), else the `policy`'s
/// `safety.deletions_per_minute`, else the default, starting from what the
/// memory in `cache_dir` says, stopping after `max_duration`. Returns where this run's pace is
/// remembered ([`PaceMemory::save`] once the deletions are done).
pub fn start(
    client: &GithubClient,
    scope: &Scope,
    per_minute: Option<u32>,
    policy: Option<&Policy>,
    cache_dir: Option<&Path>,
    max_duration: Option<Duration>,
) -> Option<PaceMemory> {
    let configured = policy.and_then(|p| p.safety.deletions_per_minute);
    let configured = per_minute.or(configured).map_or(
        crate::github::pacer::DEFAULT_DELETIONS_PER_MINUTE,
        f64::from,
    );
    let memory = cache_dir.map(|dir| PaceMemory::new(dir, &client.api_host(), scope.owner()));
    let start = memory.as_ref().and_then(|m| m.start(chrono::Utc::now()));
    let pacer = client.pacer();
    pacer.configure(configured, start);
    let summary = pacer.summary();
    if summary.from_memory {
        crate::printer::note(&format!(
            "starting at {:.0} deletions a minute (configured: {:.0}), the pace GitHub allowed the last run ({}){}",
            summary.started,
            summary.configured,
            memory.as_ref().map(|m| m.path().display().to_string()).unwrap_or_default(),
            if start.is_some_and(|s| s.may_probe) { "; raising it slowly while GitHub accepts" } else { "" }
        ));
    }
    if let Some(d) = max_duration {
        pacer.set_max_duration(d);
    }
    memory
}
