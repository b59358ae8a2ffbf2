//! The apply throughput benchmarks (not timed tests; run by bench/apply_throughput.sh):
//! N deletions against the local GitHub server enforcing 900 points a minute per endpoint, with
//! time compressed by RETENTION_TEST_TIME_SCALE. Prints elapsed time against the floor GitHub
//! allows (N/180 minutes), secondary-limit answers, and requests used against the minimum.
//!
//! `apply_cold_cache`: the same with container images whose manifests come from a stand-in
//! registry, both answering after 100 ms (scaled), run with a warm manifest cache and then a
//! cold one: the cold run must stay close to the warm one (reads overlap the paced deletions).
//! The plain tests (not ignored) check the overlaps on small fixtures:
//! `deletions_start_before_the_last_package_is_read` (deleting one package while reading the
//! next), `manifest_reads_start_before_the_listing_ends` (reading one listing page's manifests
//! while listing the next), and `a_429_pauses_every_manifest_read` (the registry's 429 holds back
//! every reader, not only the one answered).

use crate::support::github_server;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use github_server::{Config, Fixture, GithubServer, RetryAfter};

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
            "--deletions-per-minute",
            "180",
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

/// A registry stand-in: `GET /v2/<repository>/manifests/<digest>` from a map, after `latency`,
/// anonymous. Counts the reads; with a [`Throttle`], answers 429 to some requests.
struct ManifestServer {
    url: String,
    reads: Arc<std::sync::atomic::AtomicU64>,
    /// When each manifest read was answered.
    times: Arc<std::sync::Mutex<Vec<Instant>>>,
    /// Every manifest request: when it arrived, when it was answered, and the status.
    log: Arc<std::sync::Mutex<Vec<(Instant, Instant, u16)>>>,
    _runtime: tokio::runtime::Runtime,
}

/// Answer 429 with `retry-after: retry_after` (seconds) to requests `after..after + count`
/// (counted from 0 in arrival order).
#[derive(Clone, Copy)]
struct Throttle {
    after: u64,
    count: u64,
    retry_after: u64,
}

fn manifest_server(manifests: HashMap<String, String>, latency: Duration) -> ManifestServer {
    manifest_server_with(manifests, latency, None)
}

fn manifest_server_with(
    manifests: HashMap<String, String>,
    latency: Duration,
    throttle: Option<Throttle>,
) -> ManifestServer {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let manifests = Arc::new(manifests);
    let reads = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = Arc::clone(&reads);
    let arrivals = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let times = Arc::new(std::sync::Mutex::new(Vec::new()));
    let answered = Arc::clone(&times);
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let logged = Arc::clone(&log);
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let manifests = Arc::clone(&manifests);
        let counter = Arc::clone(&counter);
        let answered = Arc::clone(&answered);
        let logged = Arc::clone(&logged);
        let arrival = Instant::now();
        let path = uri.path().to_string();
        let is_manifest = path.starts_with("/v2/") && path.contains("/manifests/");
        let nth = if is_manifest {
            arrivals.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        } else {
            u64::MAX
        };
        async move {
            tokio::time::sleep(latency).await;
            let digest = path.rsplit('/').next().unwrap_or_default().to_string();
            if let Some(t) = throttle.filter(|t| (t.after..t.after + t.count).contains(&nth)) {
                logged.lock().unwrap().push((arrival, Instant::now(), 429));
                return axum::http::Response::builder()
                    .status(429)
                    .header("retry-after", t.retry_after.to_string())
                    .body(axum::body::Body::from(
                        "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\"}]}",
                    ))
                    .unwrap();
            }
            match manifests.get(&digest) {
                Some(body) if is_manifest => {
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let now = Instant::now();
                    if let Ok(mut t) = answered.lock() {
                        t.push(now);
                    }
                    logged.lock().unwrap().push((arrival, now, 200));
                    axum::http::Response::builder()
                        .status(200)
                        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
                        .header("docker-content-digest", digest)
                        .body(axum::body::Body::from(body.clone()))
                        .unwrap()
                }
                _ => axum::http::Response::builder()
                    .status(if path == "/v2/" { 200 } else { 404 })
                    .body(axum::body::Body::from("{}"))
                    .unwrap(),
            }
        }
    });
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    ManifestServer {
        url: format!("http://{addr}"),
        reads,
        times,
        log,
        _runtime: runtime,
    }
}

fn digest_of(body: &str) -> String {
    use sha2::Digest as _;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(body.as_bytes()))
    )
}

/// `packages` container packages of `per_package` single-platform images each: one `v1`
/// (kept) and pull-request images (deleted). Returns the inventory and the manifests.
fn image_fixture(packages: usize, per_package: usize) -> (Value, HashMap<String, String>) {
    let mut manifests = HashMap::new();
    let mut pkgs = Vec::new();
    let mut id = 1u64;
    for p in 0..packages {
        let mut versions = Vec::new();
        for i in 0..per_package {
            let body = format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{:064x}","size":1000}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{:064x}","size":1000000}}]}}"#,
                id,
                id + 1_000_000
            );
            let digest = digest_of(&body);
            manifests.insert(digest.clone(), body);
            let tag = if i == 0 {
                "v1".to_string()
            } else {
                format!("pr-{i}")
            };
            // Newest first, one minute apart, a year old.
            let t = chrono::DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z").unwrap()
                - chrono::Duration::minutes(i as i64);
            versions.push(json!({
                "id": id, "name": digest,
                "created_at": t.to_rfc3339(), "updated_at": t.to_rfc3339(),
                "metadata": {"package_type": "container", "container": {"tags": [tag]}}
            }));
            id += 1;
        }
        pkgs.push(json!({
            "package": {"id": 1000 + p, "name": format!("app{p}"), "package_type": "container"},
            "versions": versions
        }));
    }
    (
        json!({"schema": 1, "owner": "acme", "captured_at": "2026-11-20T00:00:00Z", "packages": pkgs}),
        manifests,
    )
}

const IMAGE_POLICY: &str = "version: 1\nowner: acme\npackages: { type: container, names: [\"app*\"] }\nrules:\n  - name: releases stay\n    keep: { tags: [\"v*\"] }\n  - name: pull requests go\n    delete: { tags: [\"pr-*\"], older_than: 1d }\nsafety: { keep_newest: 1, min_age: 0s, max_deletions: 1000000 }\n";

/// Not a benchmark: `apply --policy` deletes the first package's versions while the next
/// packages' manifests are still being read (without the pipeline, every read comes first).
/// The policy counts `newest`, so that no manifest is read during the listing (which would read
/// this small fixture's every manifest before the first decision).
#[test]
fn deletions_start_before_the_last_package_is_read() {
    let latency = Duration::from_millis(20);
    let (inventory, manifests) = image_fixture(4, 8);
    let registry = manifest_server(manifests, latency);
    let server = GithubServer::start(
        &inventory,
        Config {
            latency,
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    apply_ok(
        &IMAGE_POLICY.replace(
            "rules:\n",
            "rules:\n  - name: the newest stays\n    keep: { newest: 1 }\n",
        ),
        dir.path(),
        &server,
        &registry.url,
        &dir.path().join("cache"),
        0.05,
    );
    assert_eq!(server.deleted_ids().len(), 4 * 7);
    let first_delete = server
        .requests()
        .iter()
        .find(|r| r.method == "DELETE")
        .map(|r| r.at)
        .unwrap();
    let reads = registry.times.lock().unwrap().clone();
    assert_eq!(reads.len(), 4 * 8);
    let last_read = reads.iter().max().copied().unwrap();
    assert!(
        first_delete < last_read,
        "the first DELETE came {:?} after the last manifest read",
        first_delete.duration_since(last_read)
    );
}

/// Not a benchmark: a listing page's manifests are read while the next pages are listed (the
/// package is sure to need them: its rules count no `newest`), not after the whole listing.
#[test]
fn manifest_reads_start_before_the_listing_ends() {
    let latency = Duration::from_millis(50);
    let (inventory, manifests) = image_fixture(1, 400);
    let registry = manifest_server(manifests, latency);
    let server = GithubServer::start(
        &inventory,
        Config {
            latency,
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    apply_ok(
        IMAGE_POLICY,
        dir.path(),
        &server,
        &registry.url,
        &dir.path().join("cache"),
        0.01,
    );
    assert_eq!(server.deleted_ids().len(), 399);
    let reqs = server.requests();
    let first_delete = reqs.iter().find(|r| r.method == "DELETE").unwrap().at;
    let pages: Vec<Instant> = reqs
        .iter()
        // The listing's pages (`…/versions?page=N`), not the re-read of a version (`…/versions/ID`).
        .filter(|r| r.method == "GET" && r.path.contains("/versions?") && r.at < first_delete)
        .map(|r| r.at)
        .collect();
    assert_eq!(pages.len(), 4);
    let reads = registry.times.lock().unwrap().clone();
    assert_eq!(reads.len(), 400, "each manifest read once");
    let first_read = reads.iter().min().copied().unwrap();
    assert!(
        first_read < pages[3],
        "the first manifest read was answered {:?} after the last listing page was asked for",
        first_read.duration_since(pages[3])
    );
}

/// Not a benchmark: a 429 from the registry pauses every manifest read until its `retry-after`
/// has passed (one pause shared by the readers, not each reader backing off alone), and the
/// run still completes with every manifest read and every deletion made.
#[test]
fn a_429_pauses_every_manifest_read() {
    let latency = Duration::from_millis(100);
    let (inventory, manifests) = image_fixture(1, 600);
    // Requests 40..45 get 429 with retry-after: 2 (real seconds: registry waits are not scaled).
    let throttle = Throttle {
        after: 40,
        count: 5,
        retry_after: 2,
    };
    let registry = manifest_server_with(manifests, latency, Some(throttle));
    let server = GithubServer::start(&inventory, Config::default());
    let dir = tempfile::tempdir().unwrap();
    apply_ok(
        IMAGE_POLICY,
        dir.path(),
        &server,
        &registry.url,
        &dir.path().join("cache"),
        0.01,
    );
    assert_eq!(server.deleted_ids().len(), 599);
    assert_eq!(
        registry.reads.load(std::sync::atomic::Ordering::Relaxed),
        600
    );
    let log = registry.log.lock().unwrap().clone();
    assert_eq!(log.iter().filter(|r| r.2 == 429).count(), 5);
    // The first 429 answered: from then until its retry-after has passed, no read may arrive
    // (a read already on its way when the 429 was sent may, hence the grace).
    let first_429 = log
        .iter()
        .filter(|r| r.2 == 429)
        .map(|r| r.1)
        .min()
        .unwrap();
    // Without the shared pause, the other readers go on: some 550 reads in the next second.
    let grace = Duration::from_millis(300);
    let pause = Duration::from_secs(throttle.retry_after);
    let during: Vec<Duration> = log
        .iter()
        .map(|r| r.0)
        .filter(|&a| a > first_429 + grace && a < first_429 + pause - grace)
        .map(|a| a.duration_since(first_429))
        .collect();
    assert!(
        during.is_empty(),
        "{} reads were sent during the pause, the first {:?} after the 429",
        during.len(),
        during.first()
    );
    // And reading went on after the pause.
    assert!(log.iter().any(|r| r.0 >= first_429 + pause - grace));
}

/// One apply run of the image fixture; `warm`: the manifest cache holds every manifest.
/// Where one apply run's time went, in seconds from the start of the process.
struct Timeline {
    elapsed: f64,
    /// The last version page answered (the end of the listing).
    listed: f64,
    /// The first and last manifest read answered (none on a warm cache).
    first_read: Option<f64>,
    last_read: Option<f64>,
    first_delete: f64,
    last_delete: f64,
    reads: u64,
    /// Secondary-limit answers (more than 900 points in a window).
    violations: u64,
}

fn image_run(packages: usize, per_package: usize, scale: f64, warm: bool) -> Timeline {
    let latency = Duration::from_secs_f64(0.1 * scale);
    let (inventory, manifests) = image_fixture(packages, per_package);
    let registry = manifest_server(manifests.clone(), latency);
    let server = GithubServer::start(
        &inventory,
        Config {
            points_per_window: Some(900),
            window: Duration::from_secs_f64(60.0 * scale),
            latency,
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    if warm {
        let shard = cache.join("manifests/sha256");
        std::fs::create_dir_all(&shard).unwrap();
        for (d, body) in &manifests {
            std::fs::write(shard.join(&d[7..]), body).unwrap();
        }
    }
    let start = Instant::now();
    apply_ok(
        IMAGE_POLICY,
        dir.path(),
        &server,
        &registry.url,
        &cache,
        scale,
    );
    let elapsed = start.elapsed();
    let n = packages * (per_package - 1);
    assert_eq!(server.deleted_ids().len(), n);
    let reqs = server.requests();
    let since = |t: Instant| t.duration_since(start).as_secs_f64();
    let deletes: Vec<Instant> = reqs
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.at)
        .collect();
    // The listing's last page (the check after apply lists a page again: not counted).
    let listed = reqs
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/versions"))
        .map(|r| r.at)
        .filter(|&t| deletes.first().is_none_or(|&d| t < d))
        .max();
    let reads = registry.times.lock().unwrap().clone();
    Timeline {
        elapsed: elapsed.as_secs_f64(),
        listed: listed.map(since).unwrap_or_default(),
        first_read: reads.iter().min().copied().map(since),
        last_read: reads.iter().max().copied().map(since),
        first_delete: deletes.first().copied().map(since).unwrap_or_default(),
        last_delete: deletes.last().copied().map(since).unwrap_or_default(),
        reads: registry.reads.load(std::sync::atomic::Ordering::Relaxed),
        violations: server.violations(),
    }
}

/// Write `policy` to `dir`, apply it with [`run_apply`] and assert the run succeeded.
fn apply_ok(
    policy: &str,
    dir: &Path,
    server: &GithubServer,
    registry: &str,
    cache: &Path,
    scale: f64,
) -> std::process::Output {
    let path = dir.join("p.yml");
    std::fs::write(&path, policy).unwrap();
    let o = run_apply(&path, dir, server, registry, cache, scale);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn run_apply(
    policy: &Path,
    dir: &Path,
    server: &GithubServer,
    registry: &str,
    cache: &Path,
    scale: f64,
) -> std::process::Output {
    // BENCH_BIN: another build to compare with (a baseline), else this one.
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_retention").into());
    Command::new(bin)
        .args([
            "apply",
            "--policy",
            policy.to_str().unwrap(),
            "--now",
            "2026-11-20T00:00:00Z",
            "--registry",
            registry,
            "--cache-dir",
            cache.to_str().unwrap(),
            // The documented limit: what these benchmarks measure the pipeline against.
            "--deletions-per-minute",
            "180",
        ])
        .current_dir(dir)
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", "bench-token")
        .env("RETENTION_TEST_TIME_SCALE", scale.to_string())
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap()
}

#[test]
#[ignore = "a benchmark: bench/apply_throughput.sh"]
fn apply_cold_cache() {
    let n: usize = env_or("BENCH_N", 1000);
    let packages: usize = env_or("BENCH_PACKAGES", 1);
    let scale: f64 = env_or("BENCH_SCALE", 0.05);
    let per_package = n / packages;
    let deletions = packages * (per_package - 1);
    let floor = deletions as f64 / 180.0 * 60.0 * scale;
    println!(
        "{deletions} deletions of container images in {packages} package(s), {} manifests; API and registry answer after 100 ms (scaled); time scale {scale}",
        packages * per_package
    );
    println!("floor N/180 min scaled: {floor:.2}s");
    // The pacer alone: N-1 intervals at HEADROOM 0.97 of 900 points a minute.
    let paced = (deletions.saturating_sub(1)) as f64 / (0.97 * 180.0) * 60.0 * scale;
    println!(
        "pacing alone (first to last DELETE at 0.97 of the limit): {paced:.2}s, ratio {:.3}",
        paced / floor
    );
    for warm in [true, false] {
        let t = image_run(packages, per_package, scale, warm);
        let opt = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.2}s"));
        println!(
            "{}: elapsed {:.2}s, ratio {:.3} to the floor; first DELETE after {:.2}s; {} manifest reads; {} secondary-limit answers",
            if warm { "warm cache" } else { "cold cache" },
            t.elapsed,
            t.elapsed / floor,
            t.first_delete,
            t.reads,
            t.violations
        );
        println!(
            "  timeline (s from start): listing done {:.2}; manifest reads {} .. {}; DELETEs {:.2} .. {:.2} (phase {:.2}, ratio {:.3}); exit {:.2} (tail {:.2})",
            t.listed,
            opt(t.first_read),
            opt(t.last_read),
            t.first_delete,
            t.last_delete,
            t.last_delete - t.first_delete,
            (t.last_delete - t.first_delete) / floor,
            t.elapsed,
            t.elapsed - t.last_delete
        );
    }
}

/// One scenario of [`apply_pacing`]: the server's limit (points a minute, and how it changes:
/// (minutes after the first DELETE, points)), its `retry-after`, the configured pace.
struct Scenario {
    name: &'static str,
    points: u32,
    changes: &'static [(f64, u32)],
    retry_after: RetryAfter,
    per_minute: Option<u32>,
    /// Run twice with the same cache directory (the second run starts from the learned pace).
    twice: bool,
}

/// The true floor (GitHub seconds) of `n` deletions at `per_minute` at most, on a server whose
/// limit is `points` a minute changing at `changes`: the time the allowed rate, integrated from
/// the first DELETE, reaches `n` (after a drop, the server's window still holds the minute
/// before: this floor ignores that, so it is a lower bound).
fn true_floor(n: usize, per_minute: f64, points: u32, changes: &[(f64, u32)]) -> f64 {
    let (mut t, mut done, dt) = (0.0f64, 0.0f64, 0.01f64);
    while done < n as f64 {
        let limit = changes
            .iter()
            .filter(|(m, _)| t >= m * 60.0)
            .map(|(_, p)| *p)
            .next_back()
            .unwrap_or(points);
        done += per_minute.min(f64::from(limit) / 5.0) / 60.0 * dt;
        t += dt;
    }
    t
}

/// The pacing benchmark (bench/apply_throughput.sh): 249 deletions against the stand-in API
/// (100 ms latency), for the targets of issues 16 and 21, side by side: the documented limit,
/// servers that allow 80 and 40 deletions a minute (retry-after 60, or none), a limit that
/// changes mid-run; at the default pace (60 a minute) and at `--deletions-per-minute 180`. Prints
/// for each the wall time over the true floor, the refusals and what was left undone; a second
/// run with the same cache directory starts from the learned pace.
#[test]
#[ignore = "a benchmark: bench/apply_throughput.sh"]
fn apply_pacing() {
    let n: usize = env_or("BENCH_N", 249);
    let scale: f64 = env_or("BENCH_SCALE", 0.02);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    const R60: RetryAfter = RetryAfter::Secs(60);
    const NONE: RetryAfter = RetryAfter::Absent;
    let scenarios = [
        Scenario {
            name: "documented 900",
            points: 900,
            changes: &[],
            retry_after: R60,
            per_minute: None,
            twice: false,
        },
        Scenario {
            name: "documented 900",
            points: 900,
            changes: &[],
            retry_after: R60,
            per_minute: Some(180),
            twice: false,
        },
        Scenario {
            name: "400 (80/min), ra 60",
            points: 400,
            changes: &[],
            retry_after: R60,
            per_minute: None,
            twice: false,
        },
        Scenario {
            name: "400 (80/min), ra 60",
            points: 400,
            changes: &[],
            retry_after: R60,
            per_minute: Some(180),
            twice: false,
        },
        Scenario {
            name: "400 (80/min), no ra",
            points: 400,
            changes: &[],
            retry_after: NONE,
            per_minute: Some(180),
            twice: false,
        },
        Scenario {
            name: "200 (40/min), ra 60",
            points: 200,
            changes: &[],
            retry_after: R60,
            per_minute: None,
            twice: true,
        },
        Scenario {
            name: "200 (40/min), no ra",
            points: 200,
            changes: &[],
            retry_after: NONE,
            per_minute: None,
            twice: true,
        },
        Scenario {
            name: "200 (40/min), ra 60",
            points: 200,
            changes: &[],
            retry_after: R60,
            per_minute: Some(180),
            twice: false,
        },
        Scenario {
            name: "900>300>900 @0.5,3m",
            points: 900,
            changes: &[(0.5, 300), (3.0, 900)],
            retry_after: R60,
            per_minute: Some(180),
            twice: false,
        },
    ];
    println!(
        "{n} deletions, API latency 100 ms; time scale {scale} (1 GitHub minute = {:.1} s); times in GitHub seconds",
        60.0 * scale
    );
    println!(
        "{:<24} {:>5} {:>4} {:>8} {:>8} {:>6} {:>9} {:>8} {:>5}  said",
        "server limit (points)",
        "pace",
        "run",
        "floor s",
        "wall s",
        "ratio",
        "1st DEL s",
        "refusals",
        "left"
    );
    for sc in scenarios
        .iter()
        .filter(|s| only.is_empty() || s.name.contains(&only))
    {
        let mut f = Fixture::new("acme");
        f.npm("first", n + 2, "2025-01-01T00:00:00Z");
        f.npm("second", n + 2, "2025-01-01T00:00:00Z");
        let server = GithubServer::start(
            &f.json(),
            Config {
                points_per_window: Some(sc.points),
                window: Duration::from_secs_f64(60.0 * scale),
                retry_after: sc.retry_after,
                limit_changes: sc
                    .changes
                    .iter()
                    .map(|(m, p)| (Duration::from_secs_f64(m * 60.0 * scale), *p))
                    .collect(),
                latency: Duration::from_secs_f64(0.1 * scale),
                ..Config::default()
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let configured = sc.per_minute.map_or(60.0, f64::from);
        let floor = true_floor(n, configured, sc.points, sc.changes);
        let runs = if sc.twice { 2 } else { 1 };
        for (run, package) in ["first", "second"].iter().enumerate().take(runs) {
            let policy = dir.path().join("p.yml");
            std::fs::write(&policy, format!("version: 1\nowner: acme\npackages: {{ type: npm, names: [{package}] }}\nrules:\n  - name: first stays\n    keep: {{ versions: [\"1.0.0\"] }}\n  - name: old go\n    delete: {{ older_than: 1d }}\nsafety: {{ keep_newest: 1, min_age: 0s, max_deletions: 1000000 }}\n")).unwrap();
            let mut args = vec![
                "apply".to_string(),
                "--policy".into(),
                policy.display().to_string(),
                "--now".into(),
                "2026-11-20T00:00:00Z".into(),
                "--registry".into(),
                "http://127.0.0.1:1".into(),
                "--cache-dir".into(),
                cache.display().to_string(),
            ];
            if let Some(p) = sc.per_minute {
                args.extend(["--deletions-per-minute".to_string(), p.to_string()]);
            }
            server.reset_violations();
            let start = Instant::now();
            let o = Command::new(env!("CARGO_BIN_EXE_retention"))
                .args(&args)
                .current_dir(dir.path())
                .env("GITHUB_API_URL", server.url())
                .env("GITHUB_TOKEN", "bench-token")
                .env("RETENTION_TEST_TIME_SCALE", scale.to_string())
                .env_remove("GITHUB_REPOSITORY_OWNER")
                .env_remove("GITHUB_ACTIONS")
                .output()
                .unwrap();
            let wall = start.elapsed().as_secs_f64() / scale;
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            let left = stdout
                .split_whitespace()
                .find_map(|w| w.strip_prefix("left="))
                .unwrap_or("?")
                .to_string();
            let said = stderr
                .lines()
                .find(|l| l.starts_with("GitHub allowed") || l.starts_with("note: starting"))
                .map(|l| l.chars().take(90).collect::<String>())
                .unwrap_or_default();
            let deletes: Vec<_> = server
                .requests()
                .into_iter()
                .filter(|r| r.method == "DELETE")
                .collect();
            let refusals: Vec<String> = deletes
                .iter()
                .filter(|r| r.status == 403)
                .map(|r| {
                    format!(
                        "{:.0}",
                        r.at.duration_since(deletes[0].at).as_secs_f64() / scale
                    )
                })
                .collect();
            let said = if refusals.is_empty() {
                said
            } else {
                format!("refused at {}s; {said}", refusals.join(", "))
            };
            let first_delete = deletes
                .first()
                .map_or(0.0, |d| d.at.duration_since(start).as_secs_f64() / scale);
            server.clear_requests();
            println!(
                "{:<24} {:>5} {:>4} {:>8.1} {:>8.1} {:>6.3} {:>9.1} {:>8} {:>5}  {}{}",
                sc.name,
                configured as u32,
                run + 1,
                floor,
                wall,
                wall / floor,
                first_delete,
                server.violations(),
                left,
                if o.status.code() == Some(0) {
                    ""
                } else {
                    "EXIT NOT 0; "
                },
                said
            );
        }
    }
}
