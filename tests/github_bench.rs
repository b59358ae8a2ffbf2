//! The apply throughput benchmark (not a timed test; run by bench/apply_throughput.sh):
//! N deletions against the local GitHub server enforcing 900 points a minute per endpoint, with
//! time compressed by RETENTION_TEST_TIME_SCALE. Prints elapsed time against the floor GitHub
//! allows (N/180 minutes), secondary-limit answers, and requests used against the minimum.

#[path = "support/github_server.rs"]
mod github_server;

use std::process::Command;
use std::time::{Duration, Instant};

use github_server::{Config, Fixture, GithubServer};

fn env_or<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

#[test]
#[ignore = "a benchmark: bench/apply_throughput.sh"]
fn apply_throughput() {
    let n: usize = env_or("BENCH_N", 1000);
    let scale: f64 = env_or("BENCH_SCALE", 0.05);
    let mut f = Fixture::new("acme");
    f.npm("api", n + 2, "2025-01-01T00:00:00Z");
    let window = Duration::from_secs_f64(60.0 * scale);
    let server = GithubServer::start(
        &f.json(),
        Config {
            points_per_window: Some(900),
            window,
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.yml");
    std::fs::write(&policy, "version: 1\nowner: acme\npackages: { type: npm, names: [api] }\nrules:\n  - name: first stays\n    keep: { versions: [\"1.0.0\"] }\n  - name: old go\n    delete: { older_than: 1d }\nsafety: { keep_newest: 1, min_age: 0s, max_deletions: 1000000 }\n").unwrap();
    let start = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args([
            "apply",
            "--policy",
            policy.to_str().unwrap(),
            "--now",
            "2026-11-20T00:00:00Z",
            "--registry",
            "http://127.0.0.1:1",
        ])
        .current_dir(dir.path())
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", "bench-token")
        .env("RETENTION_TEST_TIME_SCALE", scale.to_string())
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let reqs = server.requests();
    let deletes: Vec<_> = reqs.iter().filter(|r| r.method == "DELETE").collect();
    let phase = match (deletes.first(), deletes.last()) {
        (Some(a), Some(b)) => b.at.duration_since(a.at),
        _ => Duration::ZERO,
    };
    let floor = Duration::from_secs_f64(n as f64 / 180.0 * 60.0 * scale);
    let gets = reqs.iter().filter(|r| r.method == "GET").count();
    println!(
        "deletions: {n} (time scale {scale}: 1 real minute = {:.2}s)",
        60.0 * scale
    );
    println!(
        "elapsed (whole run): {:.2}s; floor N/180 min scaled: {:.2}s; ratio {:.3}",
        elapsed.as_secs_f64(),
        floor.as_secs_f64(),
        elapsed.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "deletion phase (first to last DELETE): {:.2}s; ratio {:.3}",
        phase.as_secs_f64(),
        phase.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "secondary-limit answers (points/min violations): {}",
        server.violations()
    );
    let version_pages = (n + 2).div_ceil(100);
    println!(
        "requests: {} ({} DELETE, {} GET); minimum: {n} DELETE + {version_pages} version pages + 1 package GET (named exactly) + 1 owner lookup = {}",
        reqs.len(),
        deletes.len(),
        gets,
        n + version_pages + 2
    );
    assert_eq!(server.deleted_ids().len(), n);
}
