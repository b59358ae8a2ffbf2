//! End-to-end tests of the online commands: the real binary against a local server that behaves
//! like the GitHub Packages API (tests/it/support/github_server.rs).

use crate::support::github_server;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use crate::support::snap::{self, api_filters as filters, text, Filters, Run};
use std::time::Duration;

use github_server::{Config, Fault, FaultKind, Fixture, GithubServer, OwnerKind, RetryAfter};
use serde_json::Value;

const TOKEN: &str = "ghp_e2eSECRETtoken0123456789";
const NOW: &str = "2026-11-20T00:00:00Z";

fn retention(server: &GithubServer, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = snap::against(&server.url(), TOKEN, dir);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    snap::run(&mut cmd)
}

/// The snapshot filters of a run that stops part way (a rate limit, a redirect): how far the
/// concurrent workers got before it stopped varies, so the counts and the version that met the
/// stop are placeholders; [`stopped_counts`] checks the counts against the server instead.
fn stopped_run_filters(server: &GithubServer) -> insta::internals::SettingsBindDropGuard {
    Filters::new()
        .api(&server.url())
        .add(
            r"\bdeleted=\d+ skipped=0 failed=0 left=\d+",
            "deleted=[D] skipped=0 failed=0 left=[L]",
        )
        .add(
            r"summary: \d+ deleted \(\d+ now, 0 already gone\), 0 skipped, 0 failed, \d+ left undone",
            "summary: [D] deleted ([D] now, 0 already gone), 0 skipped, 0 failed, [L] left undone",
        )
        .add(
            r"API: \d+ requests for the deletions",
            "API: [R] requests for the deletions",
        )
        .add(r"rate budget: \d+ requests left", "rate budget: [B] requests left")
        .add(r"\b\d+ requests are left\)", "[B] requests are left)")
        .add(
            r"nearly spent \(\d+ requests left\)",
            "nearly spent ([B] requests left)",
        )
        .add(
            r"\b\d+ of (\d+) deletions are left undone",
            "[L] of $1 deletions are left undone",
        )
        .add(r"(?m)^\d+ versions were left undone", "[L] versions were left undone")
        .add(r"deleting version 1\.0\.\d+ \(id \d+\)", "deleting version [VERSION]")
        .bind()
}

/// The `deleted=` and `left=` of a stopped run's stdout, checked against what the server
/// deleted and the number of planned deletions.
fn stopped_counts(o: &Run, server: &GithubServer, planned: usize) {
    let stdout = o.stdout();
    let count = |key: &str| {
        stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no {key} in {stdout}"))
    };
    let deleted = count("deleted=");
    assert_eq!(deleted, server.deleted_ids().len(), "{stdout}");
    assert_eq!(deleted + count("left="), planned, "{stdout}");
    assert!(
        o.stderr()
            .contains(&format!("{} left undone", planned - deleted)),
        "{}",
        o.stderr()
    );
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write a test file");
    p.display().to_string()
}

/// Delete every npm version older than a day except 1.0.0 and the newest, in every package.
fn delete_policy(owner: &str, names: &str) -> String {
    format!(
        "version: 1\nowner: {owner}\npackages:\n  type: npm\n  names: {names}\nrules:\n  - name: first stays\n    keep: {{ versions: [\"1.0.0\"] }}\n  - name: old go\n    delete: {{ older_than: 1d }}\nsafety: {{ keep_newest: 1, min_age: 0s, max_deletions: 100000 }}\n"
    )
}

/// Two packages, one with a `/`, enough versions for several pages.
fn fixture() -> Fixture {
    let mut f = Fixture::new("acme");
    f.npm("api", 130, "2026-01-01T00:00:00Z");
    f.npm("tools/cli", 12, "2026-02-01T00:00:00Z");
    f
}

fn plan_json(server: &GithubServer, dir: &Path, policy: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "plan",
        "--policy",
        policy,
        "--now",
        NOW,
        "--format",
        "json",
        "--registry",
        "http://127.0.0.1:1",
    ];
    args.extend_from_slice(extra);
    let o = retention(server, dir, &args, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    serde_json::from_slice(&o.stdout).expect("a JSON plan")
}

fn deletions(plan: &Value) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for p in plan["packages"].as_array().unwrap() {
        for v in p["versions"].as_array().unwrap() {
            if v["action"] == "delete" {
                out.push((
                    p["name"].as_str().unwrap().to_string(),
                    v["id"].as_u64().unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn online_plan_equals_offline_plan_and_sends_no_delete() {
    let server = GithubServer::start(&fixture().json(), Config::default());
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"*\"]"));
    let online = plan_json(&server, dir.path(), &policy, &[]);
    let inv = dir.path().join("inv.json").display().to_string();
    let o = retention(
        &server,
        dir.path(),
        &[
            "snapshot",
            "--policy",
            &policy,
            "--output",
            &inv,
            "--registry",
            "http://127.0.0.1:1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    {
        let _filters = filters(&server);
        insta::assert_snapshot!(o.transcript());
    }
    let offline = plan_json(&server, dir.path(), &policy, &["--inventory", &inv]);
    assert_eq!(online, offline);
    assert_eq!(deletions(&online).len(), 128 + 10);
    let reqs = server.requests();
    assert!(reqs.iter().all(|r| r.method == "GET"), "{reqs:?}");
    assert!(reqs.iter().all(|r| r.authorized));
    // Names with `/` are percent-encoded; 130 versions take two pages.
    assert!(reqs.iter().any(|r| r
        .path
        .starts_with("/orgs/acme/packages/npm/tools%2Fcli/versions?")));
    let api_pages = reqs
        .iter()
        .filter(|r| r.path.starts_with("/orgs/acme/packages/npm/api/versions"))
        .count();
    assert_eq!(api_pages, 2 * 2, "two pages, for each of the two listings");
}

fn journal_lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("retention-journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn journal_ids(lines: &[Value], outcomes: &[&str]) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = lines
        .iter()
        .filter(|l| outcomes.contains(&l["outcome"].as_str().unwrap_or("")))
        .map(|l| {
            (
                l["package"].as_str().unwrap().to_string(),
                l["id"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn apply(server: &GithubServer, dir: &Path, policy: &str, env: &[(&str, &str)]) -> Run {
    retention(
        server,
        dir,
        &[
            "apply",
            "--policy",
            policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ],
        env,
    )
}

#[test]
fn apply_deletes_exactly_the_plan_through_faults_and_restore_brings_it_back() {
    let faults = vec![
        Fault {
            endpoint: "GET versions".into(),
            nth: 0,
            kind: FaultKind::Status500,
        },
        Fault {
            endpoint: "GET packages".into(),
            nth: 0,
            kind: FaultKind::Reset,
        },
        Fault {
            endpoint: "DELETE version".into(),
            nth: 0,
            kind: FaultKind::Status500,
        },
        Fault {
            endpoint: "DELETE version".into(),
            nth: 3,
            kind: FaultKind::Status502,
        },
        Fault {
            endpoint: "DELETE version".into(),
            nth: 5,
            kind: FaultKind::Secondary403 { retry_after: 2 },
        },
        Fault {
            endpoint: "DELETE version".into(),
            nth: 7,
            kind: FaultKind::TooMany429 { retry_after: 1 },
        },
        Fault {
            endpoint: "DELETE version".into(),
            nth: 9,
            kind: FaultKind::Reset,
        },
        Fault {
            endpoint: "DELETE version".into(),
            nth: 11,
            kind: FaultKind::Slow(Duration::from_millis(300)),
        },
        Fault {
            endpoint: "DELETE version".into(),
            nth: 13,
            kind: FaultKind::Secondary403NoRetryAfter,
        },
    ];
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            faults,
            ..Config::default()
        },
    );
    let _filters = filters(&server);
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"*\"]"));
    let plan = plan_json(&server, dir.path(), &policy, &[]);
    let expected = deletions(&plan);
    server.clear_requests();
    let o = apply(&server, dir.path(), &policy, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    {
        // Which version each injected fault hits depends on which of the concurrent workers
        // sends its DELETE first: the retry warnings are sorted on what follows the version,
        // and the version is hidden.
        let o = o.sort_stderr_lines_by_key(
            |l| l.starts_with(" WARN deleting version "),
            // The one secondary limit without Retry-After waits 60 s, or 120 s when the same
            // version met the 429 before: which one is random too.
            |l| {
                l.split_once(" acme: ")
                    .map(|(_, why)| why.replace("waits 120s", "waits 60s"))
                    .unwrap_or_default()
            },
        );
        let _versions = Filters::new()
            .add(
                r"(?m)^( WARN deleting version )1\.0\.\d+ \(id \d+\)",
                "${1}[VERSION]",
            )
            .add(
                r"\(HTTP 403\); every deletion waits (?:60|120)s,",
                "(HTTP 403); every deletion waits [60 or 120]s,",
            )
            // The pace after each injected refusal depends on how many deletions GitHub
            // accepted in the minute before it: which depends on the timing.
            .add(r"then goes on at \d+ a minute", "then goes on at [N] a minute")
            .add(
                r"(?m)^GitHub allowed about \d+ deletions a minute \(documented: 180\); 138 deleted in [^;]+; \d+ a minute from now on$",
                "GitHub allowed about [N] deletions a minute (documented: 180); 138 deleted in [TIME]; [N] a minute from now on",
            )
            .bind();
        insta::assert_snapshot!(o.transcript());
    }
    assert_eq!(server.deleted_ids(), expected);
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    for s in [0, 500, 502, 403, 429] {
        assert!(
            statuses.contains(&s),
            "the fault answering {s} was injected: {statuses:?}"
        );
    }
    let lines = journal_lines(dir.path());
    assert_eq!(journal_ids(&lines, &["deleted", "already_gone"]), expected);
    for l in &lines {
        for k in [
            "owner", "scope", "package", "type", "id", "name", "tags", "outcome", "message", "time",
        ] {
            assert!(l.get(k).is_some(), "journal line without {k}: {l}");
        }
    }
    // Restore brings everything back, once.
    let o = retention(
        &server,
        dir.path(),
        &["restore", "--journal", "retention-journal.jsonl"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert!(server.deleted_ids().is_empty());
    assert_eq!(
        journal_ids(&journal_lines(dir.path()), &["restored"]),
        expected
    );
    let o = retention(
        &server,
        dir.path(),
        &["restore", "--journal", "retention-journal.jsonl"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
}

#[test]
fn a_killed_run_and_a_rerun_delete_exactly_the_plan() {
    let server = GithubServer::start(&fixture().json(), Config::default());
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"*\"]"));
    let expected = deletions(&plan_json(&server, dir.path(), &policy, &[]));
    let mut child = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args([
            "apply",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ])
        .current_dir(dir.path())
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("RETENTION_TEST_TIME_SCALE", "0.2")
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while journal_ids(&journal_lines(dir.path()), &["deleted", "already_gone"]).len() < 20
        && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let _ = child.wait();
    let after_kill = server.deleted_ids();
    let journaled = journal_ids(&journal_lines(dir.path()), &["deleted", "already_gone"]);
    assert!(
        journaled.len() >= 20 && journaled.len() < expected.len(),
        "{}",
        journaled.len()
    );
    // The journal tells what was deleted: everything it lists is gone; at most the requests in
    // flight at the kill are gone without a line.
    assert!(journaled.iter().all(|j| after_kill.contains(j)));
    assert!(
        after_kill.len() - journaled.len() <= 6,
        "{} vs {}",
        after_kill.len(),
        journaled.len()
    );
    // And nothing is gone that the journal does not at least name as attempted.
    let attempted = journal_ids(
        &journal_lines(dir.path()),
        &["attempted", "deleted", "already_gone"],
    );
    assert!(
        after_kill.iter().all(|g| attempted.contains(g)),
        "a deletion the journal does not name"
    );
    let o = apply(&server, dir.path(), &policy, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(server.deleted_ids(), expected);
    let deletes: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), expected.len(), "each version deleted once");
    let journaled = journal_ids(&journal_lines(dir.path()), &["deleted", "already_gone"]);
    assert!(journaled.iter().all(|j| expected.contains(j)));
    assert!(expected.len() - journaled.len() <= 6);
}

#[test]
fn the_token_appears_in_no_output_at_trace_level() {
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            token: Some(TOKEN.into()),
            ..Config::default()
        },
    );
    let _filters = filters(&server);
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"api\"]"));
    let o = apply(&server, dir.path(), &policy, &[("RUST_LOG", "trace")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(o.stderr.len() > 1000, "trace logs were written");
    let journal = std::fs::read_to_string(dir.path().join("retention-journal.jsonl")).unwrap();
    for (what, s) in [
        ("stdout", String::from_utf8_lossy(&o.stdout).to_string()),
        ("stderr", String::from_utf8_lossy(&o.stderr).to_string()),
        ("journal", journal),
    ] {
        assert!(
            !s.contains(TOKEN) && !s.contains("SECRETtoken"),
            "the token is in {what}"
        );
    }
    // A wrong token: 401 explained, and still not printed.
    let o = apply(
        &server,
        dir.path(),
        &policy,
        &[("GITHUB_TOKEN", "ghp_wrongSECRET")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!o.stderr().contains("wrongSECRET"));
    insta::assert_snapshot!(o.transcript());
}

#[test]
fn user_and_own_user_scopes() {
    let mut f = Fixture::new("bob");
    f.npm("lib", 5, "2026-01-01T00:00:00Z");
    for (me, prefix) in [(None, "/users/bob/"), (Some("bob".to_string()), "/user/")] {
        let server = GithubServer::start(
            &f.json(),
            Config {
                owner_kind: OwnerKind::User,
                me: me.clone(),
                ..Config::default()
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let policy = write(dir.path(), "p.yml", &delete_policy("bob", "[\"l*\"]"));
        let _filters = filters(&server);
        let o = apply(&server, dir.path(), &policy, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        insta::assert_snapshot!(o.transcript());
        assert_eq!(server.deleted_ids().len(), 3, "{}", text(&o));
        let reqs = server.requests();
        let pkg_reqs: Vec<_> = reqs
            .iter()
            .filter(|r| r.path.contains("/packages"))
            .collect();
        assert!(
            pkg_reqs.iter().all(|r| r.path.starts_with(prefix)),
            "{me:?}: {pkg_reqs:?}"
        );
        let lines = journal_lines(dir.path());
        assert_eq!(lines[0]["scope"], prefix.trim_end_matches('/'));
    }
}

#[test]
fn a_token_that_cannot_list_works_with_exact_names_and_explains_globs() {
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            refuse_listing: true,
            ..Config::default()
        },
    );
    let _filters = filters(&server);
    let dir = tempfile::tempdir().unwrap();
    let exact = write(
        dir.path(),
        "exact.yml",
        &delete_policy("acme", "[\"api\", \"tools/cli\"]"),
    );
    let plan = plan_json(&server, dir.path(), &exact, &[]);
    assert_eq!(deletions(&plan).len(), 138);
    let reqs = server.requests();
    assert!(
        !reqs.iter().any(|r| r.endpoint == "GET packages"),
        "no listing"
    );
    assert!(reqs
        .iter()
        .any(|r| r.path == "/orgs/acme/packages/npm/tools%2Fcli"));
    let globs = write(dir.path(), "globs.yml", &delete_policy("acme", "[\"*\"]"));
    let o = retention(
        &server,
        dir.path(),
        &["plan", "--policy", &globs, "--now", NOW],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
}

#[test]
fn refusals_are_skipped_with_githubs_message_and_the_run_goes_on() {
    let mut f = Fixture::new("acme");
    let ids = f.npm("api", 6, "2026-01-01T00:00:00Z");
    let msg = "Publicly visible package versions with more than 5000 downloads cannot be deleted. Contact GitHub support for further assistance.";
    let refusals = HashMap::from([(ids[2], msg.to_string())]);
    let server = GithubServer::start(
        &f.json(),
        Config {
            refusals,
            ..Config::default()
        },
    );
    let _filters = filters(&server);
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"api\"]"));
    let o = apply(&server, dir.path(), &policy, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(server.deleted_ids().len(), 3);
    insta::assert_snapshot!(o.transcript());
    let lines = journal_lines(dir.path());
    assert_eq!(
        journal_ids(&lines, &["skipped"]),
        vec![("api".to_string(), ids[2])]
    );
}

#[test]
fn a_low_rate_budget_stops_with_exit_3_and_says_what_is_left() {
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            rate_remaining: 60,
            rate_reset: 1_900_000_000,
            ..Config::default()
        },
    );
    let _filters = stopped_run_filters(&server);
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"*\"]"));
    let o = apply(&server, dir.path(), &policy, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    stopped_counts(&o, &server, 138);
    let deleted = server.deleted_ids().len();
    assert!(deleted > 0 && deleted < 138, "{deleted}");
    // Nothing was attempted beyond the budget's reserve.
    assert!(server.requests().iter().all(|r| r.status != 403));
}

#[test]
fn apply_plan_rechecks_each_version_and_skips_what_changed() {
    let mut f = Fixture::new("acme");
    let ids = f.npm("api", 6, "2026-01-01T00:00:00Z");
    let server = GithubServer::start(&f.json(), Config::default());
    let _filters = filters(&server);
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"api\"]"));
    let plan = plan_json(&server, dir.path(), &policy, &[]);
    std::fs::write(dir.path().join("plan.json"), plan.to_string()).unwrap();
    server.edit_version(ids[1], |v| v["updated_at"] = "2026-11-19T00:00:00Z".into());
    let o = retention(&server, dir.path(), &["apply", "--plan", "plan.json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(server.deleted_ids().len(), 3);
    insta::assert_snapshot!(o.transcript());
    // Applying the same plan again: everything is gone, skipped, nothing deleted twice.
    let o = retention(&server, dir.path(), &["apply", "--plan", "plan.json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The summary lists the skipped versions in the order the concurrent workers got to them.
    let o = o.sort_stderr_lines(|l| l.starts_with("  skipped "));
    insta::assert_snapshot!(o.transcript());
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        3
    );
}

#[test]
fn the_servers_objects_have_the_openapi_required_fields() {
    let spec: Value = serde_json::from_str(include_str!(
        "../fixtures/github-packages-openapi-subset.json"
    ))
    .unwrap();
    let server = GithubServer::start(&fixture().json(), Config::default());
    let get = |path: &str| fetch(&server, path);
    let check = |schema: &str, obj: &Value| {
        let s = &spec["components"]["schemas"][schema];
        for req in s["required"].as_array().unwrap() {
            let k = req.as_str().unwrap();
            let v = obj
                .get(k)
                .unwrap_or_else(|| panic!("{schema} without {k}: {obj}"));
            let want = s["properties"][k]["type"].as_str().unwrap_or("");
            let ok = match want {
                "integer" => v.is_u64() || v.is_i64(),
                "string" => v.is_string(),
                "object" => v.is_object(),
                "array" => v.is_array(),
                _ => true,
            };
            assert!(ok, "{schema}.{k} should be {want}: {v}");
        }
    };
    for p in get("/orgs/acme/packages?package_type=npm")
        .as_array()
        .unwrap()
    {
        check("package", p);
    }
    check("package", &get("/orgs/acme/packages/npm/tools%2Fcli"));
    for v in get("/orgs/acme/packages/npm/api/versions?per_page=100")
        .as_array()
        .unwrap()
    {
        check("package-version", v);
    }
}

/// A GET without curl: a blocking one-shot HTTP/1.1 request.
fn fetch(server: &GithubServer, path: &str) -> Value {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let body = buf.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or(Value::Null)
}

fn sha256(text: &str) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    )
}

/// A multi-platform image tagged pr-1 (ids 14: the index; 13, 12: its untagged platform
/// manifests) and `latest` (11) in package `team/app`, with every manifest in the cache of the
/// returned directory (the registry is unreachable, as a nightly run's cache would make it
/// needless), and a policy that deletes pull-request images. Returns (inventory, dir, policy).
fn index_fixture() -> (Value, tempfile::TempDir, String) {
    let child = |arch: &str| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2}},"layers":[],"annotations":{{"arch":"{arch}"}}}}"#,
            "0".repeat(64)
        )
    };
    let (amd, arm) = (child("amd64"), child("arm64"));
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux"}}}}]}}"#,
        sha256(&amd),
        amd.len(),
        sha256(&arm),
        arm.len()
    );
    let v = |id: u64, text: &str, tags: &[&str], t: &str| {
        serde_json::json!({
        "id": id, "name": sha256(text), "url": "u", "package_html_url": "h", "created_at": t, "updated_at": t,
        "metadata": {"package_type": "container", "container": {"tags": tags}}})
    };
    let inventory = serde_json::json!({"schema": 1, "owner": "acme", "captured_at": NOW, "packages": [{
        "package": {"id": 1, "name": "team/app", "package_type": "container", "visibility": "private", "url": "u", "html_url": "h", "version_count": 4, "created_at": NOW, "updated_at": NOW},
        "versions": [
            v(14, &index, &["pr-1"], "2026-06-01T00:00:02Z"),
            v(13, &amd, &[], "2026-06-01T00:00:01Z"),
            v(12, &arm, &[], "2026-06-01T00:00:01Z"),
            v(11, "{\"latest\":1}", &["latest"], "2026-05-01T00:00:00Z")],
        "manifests": {sha256(&index): index.clone()}}]});
    let dir = tempfile::tempdir().unwrap();
    let cache = retention::registry::ManifestCache::open(&dir.path().join("cache")).unwrap();
    let latest = "{\"latest\":1}".to_string();
    for m in [&index, &amd, &arm, &latest] {
        cache.put(&sha256(m), m).unwrap();
    }
    let policy = write(dir.path(), "p.yml", "version: 1\nowner: acme\npackages: { type: container, names: [\"team/*\"] }\nrules:\n  - name: pull requests expire\n    delete: { tags: [\"pr-*\"], older_than: 1d }\nsafety: { keep_newest: 0, min_age: 0s }\n");
    (inventory, dir, policy)
}

/// ghcr.io does not cascade (FACTS.md): the index and each of its platform manifests is deleted
/// by its own DELETE, the index first (its children wait for it), and each counts as deleted.
#[test]
fn deleting_an_index_deletes_each_of_its_parts_with_its_own_delete() {
    let (inventory, dir, policy) = index_fixture();
    let server = GithubServer::start(&inventory, Config::default());
    let _filters = filters(&server);
    let plan = plan_json(&server, dir.path(), &policy, &[]);
    assert_eq!(
        deletions(&plan),
        vec![
            ("team/app".to_string(), 12),
            ("team/app".to_string(), 13),
            ("team/app".to_string(), 14)
        ]
    );
    let o = apply(&server, dir.path(), &policy, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    let lines = journal_lines(dir.path());
    assert_eq!(
        journal_ids(&lines, &["deleted"]),
        vec![
            ("team/app".to_string(), 12),
            ("team/app".to_string(), 13),
            ("team/app".to_string(), 14)
        ],
        "{lines:?}"
    );
    assert!(
        journal_ids(&lines, &["already_gone", "failed", "skipped"]).is_empty(),
        "{lines:?}"
    );
    let deletes: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.rsplit('/').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(deletes.len(), 3, "{deletes:?}");
    assert_eq!(deletes[0], "14", "the index goes first: {deletes:?}");
    assert_eq!(
        server.deleted_ids(),
        vec![
            ("team/app".to_string(), 12),
            ("team/app".to_string(), 13),
            ("team/app".to_string(), 14)
        ]
    );
}

#[test]
fn an_index_github_refuses_to_delete_keeps_its_children() {
    let (inventory, dir, policy) = index_fixture();
    let mut config = Config::default();
    config.refusals.insert(14, "Publicly visible package versions with more than 5000 downloads cannot be deleted. Contact GitHub support for further assistance.".to_string());
    let server = GithubServer::start(&inventory, config);
    let _filters = filters(&server);
    let plan = plan_json(&server, dir.path(), &policy, &[]);
    assert_eq!(
        deletions(&plan),
        vec![
            ("team/app".to_string(), 12),
            ("team/app".to_string(), 13),
            ("team/app".to_string(), 14)
        ]
    );
    let o = apply(&server, dir.path(), &policy, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The refused index stays, so its platform manifests must stay: deleting them would break it.
    assert!(
        server.deleted_ids().is_empty(),
        "{:?}",
        server.deleted_ids()
    );
    let lines = journal_lines(dir.path());
    assert_eq!(
        journal_ids(&lines, &["skipped"]),
        vec![
            ("team/app".to_string(), 12),
            ("team/app".to_string(), 13),
            ("team/app".to_string(), 14)
        ],
        "{lines:?}"
    );
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.method == "DELETE" && !r.path.ends_with("/versions/14")),
        "no DELETE for the children"
    );
    // The summary lists the skipped versions in the order the concurrent workers got to them.
    let o = o.sort_stderr_lines(|l| l.starts_with("  skipped "));
    insta::assert_snapshot!(o.transcript());
}

#[test]
fn apply_in_a_runner_writes_its_outputs_and_summary() {
    let server = GithubServer::start(&fixture().json(), Config::default());
    let _filters = filters(&server);
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"*\"]"));
    let expected = deletions(&plan_json(&server, dir.path(), &policy, &[])).len();
    let outputs = dir.path().join("outputs");
    let summary = dir.path().join("summary.md");
    let temp = dir.path().join("runner-temp");
    std::fs::create_dir_all(&temp).unwrap();
    let o = apply(
        &server,
        dir.path(),
        &policy,
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("RUNNER_TEMP", temp.to_str().unwrap()),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    let out = std::fs::read_to_string(&outputs).unwrap();
    let value = |key: &str| {
        out.lines()
            .rev()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
    };
    assert_eq!(value("to-delete"), Some(expected.to_string()), "{out}");
    assert_eq!(value("deleted"), Some(expected.to_string()), "{out}");
    assert_eq!(value("failed"), Some("0".to_string()), "{out}");
    let plan_path = value("plan").expect("a plan output");
    let plan: Value = serde_json::from_slice(&std::fs::read(&plan_path).unwrap()).unwrap();
    assert_eq!(deletions(&plan).len(), expected);
    insta::assert_snapshot!(std::fs::read_to_string(&summary).unwrap());
    assert!(!out.contains(TOKEN) && !std::fs::read_to_string(&summary).unwrap().contains(TOKEN));
}

#[test]
fn a_log_line_every_few_seconds_even_while_every_request_waits() {
    // Six deletions, six workers, every DELETE answered after 3 s: nothing finishes for 3 s.
    let mut f = Fixture::new("acme");
    f.npm("small", 8, "2026-01-01T00:00:00Z");
    let mut config = Config::default();
    for nth in 0..6 {
        config.faults.push(Fault {
            endpoint: "DELETE version".into(),
            nth,
            kind: FaultKind::Slow(Duration::from_secs(3)),
        });
    }
    let server = GithubServer::start(&f.json(), config);
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"small\"]"));
    assert_eq!(
        deletions(&plan_json(&server, dir.path(), &policy, &[])).len(),
        6
    );
    // Time scale 0.1: a line every 0.5 s instead of 5 s.
    let o = apply(
        &server,
        dir.path(),
        &policy,
        &[("RETENTION_TEST_TIME_SCALE", "0.1")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines = stderr
        .lines()
        .filter(|l| l.starts_with("retention: ") && l.contains("0/6 versions: 0 deleted"))
        .count();
    assert!(
        lines >= 3,
        "expected progress lines during the 3 s wait:\n{stderr}"
    );
}

#[test]
fn with_quiet_apply_prints_no_progress_nor_summary_and_its_counts_still() {
    // As above (every DELETE waits 1 s: progress lines would be printed), with --quiet.
    let mut f = Fixture::new("acme");
    f.npm("small", 8, "2026-01-01T00:00:00Z");
    let mut config = Config::default();
    for nth in 0..6 {
        config.faults.push(Fault {
            endpoint: "DELETE version".into(),
            nth,
            kind: FaultKind::Slow(Duration::from_secs(1)),
        });
    }
    let server = GithubServer::start(&f.json(), config);
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"small\"]"));
    let o = retention(
        &server,
        dir.path(),
        &[
            "--quiet",
            "apply",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ],
        &[("RETENTION_TEST_TIME_SCALE", "0.1")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    // Nothing but errors and warnings: no listing, journal, progress or summary line.
    assert!(
        stderr
            .lines()
            .all(|l| l.starts_with("error:") || l.starts_with("warning:")),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("deleted=6 skipped=0 failed=0"), "{stdout}");
}

/// With --quiet a failed run still shows what its error points to ("listed above"): the
/// failed deletions, not the summary around them.
#[test]
fn with_quiet_a_failed_deletion_is_still_listed_above_the_error() {
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            faults: vec![Fault {
                endpoint: "DELETE version".into(),
                nth: 0,
                kind: FaultKind::Status(200),
            }],
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "p.yml",
        &delete_policy("acme", "[\"tools/cli\"]"),
    );
    let o = retention(
        &server,
        dir.path(),
        &[
            "apply",
            "--quiet",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let failed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("  failed tools/cli "))
        .collect();
    assert_eq!(failed.len(), 1, "{stderr}");
    assert!(
        stderr.contains("error: 1 deletion failed (listed above)"),
        "{stderr}"
    );
    assert!(!stderr.contains("summary:"), "{stderr}");
    assert!(!stderr.contains("API:"), "{stderr}");
}

#[test]
fn apply_plan_with_the_policy_deletes_only_what_both_delete() {
    let mut f = Fixture::new("acme");
    f.npm("api", 6, "2026-01-01T00:00:00Z");
    let server = GithubServer::start(&f.json(), Config::default());
    let _filters = filters(&server);
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"api\"]"));
    let plan = plan_json(&server, dir.path(), &policy, &[]);
    let planned = deletions(&plan);
    assert_eq!(planned.len(), 4, "1.0.1 to 1.0.4");
    std::fs::write(dir.path().join("plan.json"), plan.to_string()).unwrap();
    // Since the plan, the policy came to keep 1.0.2 too.
    let now_policy = write(
        dir.path(),
        "now.yml",
        &delete_policy("acme", "[\"api\"]")
            .replace("versions: [\"1.0.0\"]", "versions: [\"1.0.0\", \"1.0.2\"]"),
    );
    let o = retention(
        &server,
        dir.path(),
        &[
            "apply",
            "--plan",
            "plan.json",
            "--policy",
            &now_policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let gone: Vec<u64> = server.deleted_ids().into_iter().map(|(_, id)| id).collect();
    assert_eq!(gone.len(), 3, "{gone:?}");
    let kept = planned
        .iter()
        .map(|(_, id)| *id)
        .find(|id| !gone.contains(id))
        .unwrap();
    let lines = journal_lines(dir.path());
    assert_eq!(
        journal_ids(&lines, &["skipped"]),
        vec![("api".to_string(), kept)]
    );
    insta::assert_snapshot!(o.transcript());
    assert!(!server
        .requests()
        .iter()
        .any(|r| r.method == "DELETE" && r.path.ends_with(&format!("/{kept}"))));
}

fn restore(server: &GithubServer, dir: &Path) -> Run {
    retention(
        server,
        dir,
        &["restore", "--journal", "retention-journal.jsonl"],
        &[],
    )
}

/// Issue 10.2: a second `apply --plan` journals `skipped: gone since the plan` for what the first
/// deleted; restore must still restore those.
#[test]
fn restore_after_applying_a_plan_twice_restores_every_deletion() {
    let mut f = Fixture::new("acme");
    f.npm("api", 6, "2026-01-01T00:00:00Z");
    let server = GithubServer::start(&f.json(), Config::default());
    let _filters = filters(&server);
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"api\"]"));
    let plan = plan_json(&server, dir.path(), &policy, &[]);
    std::fs::write(dir.path().join("plan.json"), plan.to_string()).unwrap();
    for _ in 0..2 {
        let o = retention(&server, dir.path(), &["apply", "--plan", "plan.json"], &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let deleted = server.deleted_ids();
    assert_eq!(deleted, deletions(&plan));
    let o = restore(&server, dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert!(server.deleted_ids().is_empty(), "{}", text(&o));
    assert_eq!(
        journal_ids(&journal_lines(dir.path()), &["restored"]),
        deleted
    );
}

/// Issue 10.3: a run stopped by a 401 closes the attempt it put back; restore then has nothing
/// to fail on and restores exactly what was deleted.
#[test]
fn a_run_stopped_by_a_401_closes_its_attempt_and_restore_exits_0() {
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            faults: vec![Fault {
                endpoint: "DELETE version".into(),
                nth: 4,
                kind: FaultKind::Status(401),
            }],
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"*\"]"));
    let o = apply(&server, dir.path(), &policy, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let lines = journal_lines(dir.path());
    let open: Vec<&Value> = lines
        .iter()
        .filter(|l| l["outcome"] == "attempted")
        .filter(|a| {
            !lines.iter().any(|l| {
                l["id"] == a["id"]
                    && l["outcome"] != "attempted"
                    && l["time"].as_str() >= a["time"].as_str()
            })
        })
        .collect();
    assert!(open.is_empty(), "attempts left open: {open:?}");
    assert_eq!(journal_ids(&lines, &["not_sent"]).len(), 1, "{lines:?}");
    let deleted = server.deleted_ids();
    assert!(!deleted.is_empty());
    let o = restore(&server, dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(server.deleted_ids().is_empty());
    assert_eq!(
        journal_ids(&journal_lines(dir.path()), &["restored"]),
        deleted
    );
}

/// Issue 10.3: kill a run while DELETEs are in flight, then `restore` exits 0 and restores
/// exactly what the server deleted (an interrupted DELETE that did not happen is found still
/// there by a GET, not "restored").
#[test]
fn kill_during_apply_then_restore_restores_exactly_what_the_server_deleted() {
    let faults = (8..20)
        .map(|nth| Fault {
            endpoint: "DELETE version".into(),
            nth,
            kind: FaultKind::Slow(Duration::from_secs(30)),
        })
        .collect();
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            faults,
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"*\"]"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args([
            "apply",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
            // Above the serial default pace: six DELETEs in flight at once.
            "--deletions-per-minute",
            "180",
        ])
        .current_dir(dir.path())
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("RETENTION_TEST_TIME_SCALE", "0.01")
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .env_remove("GITHUB_ACTIONS")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    // Wait until every worker is stuck in a slow DELETE.
    while server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count()
        < 8
        || journal_ids(&journal_lines(dir.path()), &["attempted"]).len() < 14
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run did not get going"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    let _ = child.wait();
    let deleted = server.deleted_ids();
    assert_eq!(deleted.len(), 8, "{deleted:?}");
    let o = restore(&server, dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(server.deleted_ids().is_empty(), "{}", text(&o));
    let lines = journal_lines(dir.path());
    assert_eq!(journal_ids(&lines, &["restored"]), deleted);
    assert_eq!(journal_ids(&lines, &["not_sent"]).len(), 6, "{}", text(&o));
    let restores = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(restores, deleted.len(), "a POST only for what was deleted");
}

/// Issue 10.4: a DELETE answered by a redirect to another origin is not followed and not counted
/// as a deletion (before: reqwest followed the 307, the other host answered 204: "deleted").
#[test]
fn a_delete_answered_by_a_redirect_is_not_followed_nor_counted() {
    let other = GithubServer::start(&fixture().json(), Config::default());
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            faults: vec![Fault {
                endpoint: "DELETE version".into(),
                nth: 0,
                kind: FaultKind::Redirect {
                    status: 307,
                    to_base: other.url(),
                },
            }],
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "p.yml",
        &delete_policy("acme", "[\"tools/cli\"]"),
    );
    let _filters = stopped_run_filters(&server);
    let _other = Filters::new()
        .add(&regex::escape(&other.url()), "[OTHER]")
        .bind();
    let o = apply(&server, dir.path(), &policy, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    stopped_counts(&o, &server, 10);
    assert!(other.requests().is_empty(), "the redirect was followed");
    let lines = journal_lines(dir.path());
    assert_eq!(
        journal_ids(&lines, &["deleted", "already_gone"]).len(),
        server.deleted_ids().len(),
        "only what the server deleted is journaled as deleted"
    );
}

/// Issue 10.4: a 200 (not GitHub's 204) to a DELETE is not a deletion.
#[test]
fn a_delete_answered_200_is_a_failure_not_a_deletion() {
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            faults: vec![Fault {
                endpoint: "DELETE version".into(),
                nth: 0,
                kind: FaultKind::Status(200),
            }],
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "p.yml",
        &delete_policy("acme", "[\"tools/cli\"]"),
    );
    // The fault answers the first DELETE to arrive: which version that is depends on which of the
    // concurrent workers sends first.
    let _filters = Filters::new()
        .api(&server.url())
        .add(
            r"failed tools/cli 1\.0\.\d+: deleting version 1\.0\.\d+ \(id \d+\)",
            "failed tools/cli [VERSION]: deleting version [VERSION]",
        )
        .bind();
    let o = apply(&server, dir.path(), &policy, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    let lines = journal_lines(dir.path());
    assert_eq!(
        journal_ids(&lines, &["deleted", "already_gone"]),
        server.deleted_ids()
    );
    assert_eq!(journal_ids(&lines, &["failed"]).len(), 1);
}

/// Issue 10.4: a GET redirected to another host says so (before: followed without the token,
/// and reported as "Bad credentials").
#[test]
fn a_listing_redirected_to_another_host_says_so() {
    let other = GithubServer::start(
        &fixture().json(),
        Config {
            token: Some("another".into()),
            ..Config::default()
        },
    );
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            faults: vec![Fault {
                endpoint: "GET versions".into(),
                nth: 0,
                kind: FaultKind::Redirect {
                    status: 301,
                    to_base: other.url(),
                },
            }],
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "p.yml",
        &delete_policy("acme", "[\"tools/cli\"]"),
    );
    let o = retention(
        &server,
        dir.path(),
        &[
            "plan",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let _filters = Filters::new()
        .api(&server.url())
        .add(&regex::escape(&other.url()), "[OTHER]")
        .bind();
    insta::assert_snapshot!(o.transcript());
}

/// Issues 10.5 and 10.6: a secondary limit asking for 100000 s stops the run at once with exit
/// 3, says when to run again, and is not called the rate budget.
#[test]
fn a_huge_retry_after_stops_with_exit_3_and_is_named_a_secondary_limit() {
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            faults: vec![Fault {
                endpoint: "DELETE version".into(),
                nth: 2,
                kind: FaultKind::Secondary403 {
                    retry_after: 100_000,
                },
            }],
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"*\"]"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args([
            "apply",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ])
        .current_dir(dir.path())
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", TOKEN)
        // Real time: a capped wait must not depend on the test's time scale.
        .env_remove("RETENTION_TEST_TIME_SCALE")
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .env_remove("GITHUB_ACTIONS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("still waiting after 60 s for a retry-after of 100000 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = snap::of(
        &[
            "apply",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ],
        child.wait_with_output().unwrap(),
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let _filters = stopped_run_filters(&server);
    // When to run again: now (the wall clock) + 100000 s.
    let _again = Filters::new()
        .add(
            r"run again after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
            "run again after [NOW + 100000s]",
        )
        .bind();
    insta::assert_snapshot!(o.transcript());
    stopped_counts(&o, &server, 138);
}

/// Issue 10.1: a platform manifest of a kept image listed twice (a push during the listing) is
/// decided once, and kept: before, the second copy looked parentless and was deleted.
#[test]
fn a_version_listed_twice_is_decided_once_and_a_kept_images_child_stays() {
    let (inventory, dir, _) = index_fixture();
    let server = GithubServer::start(
        &inventory,
        Config {
            list_twice: vec![13],
            ..Config::default()
        },
    );
    let policy = write(dir.path(), "untagged.yml", "version: 1\nowner: acme\npackages: { type: container, names: [\"team/*\"] }\nrules:\n  - name: untagged leftovers\n    delete: { untagged: true, older_than: 1d }\nsafety: { keep_newest: 0, min_age: 0s }\n");
    let plan = plan_json(&server, dir.path(), &policy, &[]);
    let ids: Vec<u64> = plan["packages"][0]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_u64().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        ids.len(),
        unique.len(),
        "a version twice in the plan: {ids:?}"
    );
    assert!(deletions(&plan).is_empty(), "{:?}", deletions(&plan));
    let _filters = filters(&server);
    let o = apply(&server, dir.path(), &policy, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert!(
        server.deleted_ids().is_empty(),
        "{:?}",
        server.deleted_ids()
    );
}

/// Issue 10.7: deletions withheld because manifests could not be read make `apply` exit 3, and
/// the message counts tagged and untagged versions (before: exit 0, "untagged" only).
#[test]
fn deletions_withheld_for_unreadable_manifests_exit_3_and_are_counted() {
    let (inventory, dir, _) = index_fixture();
    let server = GithubServer::start(&inventory, Config::default());
    let policy = write(dir.path(), "both.yml", "version: 1\nowner: acme\npackages: { type: container, names: [\"team/*\"] }\nrules:\n  - name: pull requests expire\n    delete: { tags: [\"pr-*\"], older_than: 1d }\n  - name: untagged leftovers\n    delete: { untagged: true, older_than: 1d }\nsafety: { keep_newest: 0, min_age: 0s }\n");
    let empty_cache = dir.path().join("empty-cache");
    let o = apply(
        &server,
        dir.path(),
        &policy,
        &[("RETENTION_CACHE_DIR", empty_cache.to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(server.deleted_ids().is_empty());
    let _filters = filters(&server);
    insta::assert_snapshot!(o.transcript());
}

/// Issue 10.8: an API answer larger than 8 MB is refused, not read into memory.
#[test]
fn a_huge_api_answer_is_refused() {
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            faults: vec![Fault {
                endpoint: "GET versions".into(),
                nth: 0,
                kind: FaultKind::HugeBody { bytes: 12 << 20 },
            }],
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"*\"]"));
    let o = retention(
        &server,
        dir.path(),
        &[
            "plan",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let _filters = filters(&server);
    insta::assert_snapshot!(o.transcript());
}

/// Issue 10.10: `apply --plan` re-reads each version and skips one whose name (digest) is not
/// the planned one; it applies the plan's max_deletions (`--max-deletions` overrides); it warns
/// when `--owner` is not the plan's owner.
#[test]
fn apply_plan_checks_the_digest_max_deletions_and_owner() {
    let mut f = Fixture::new("acme");
    let ids = f.npm("api", 6, "2026-01-01T00:00:00Z");
    let server = GithubServer::start(&f.json(), Config::default());
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"api\"]"));
    let mut plan = plan_json(&server, dir.path(), &policy, &[]);
    assert_eq!(plan["max_deletions"], 100000);
    assert_eq!(deletions(&plan).len(), 4);
    plan["max_deletions"] = 3.into();
    std::fs::write(dir.path().join("plan.json"), plan.to_string()).unwrap();
    let _filters = filters(&server);
    let o = retention(&server, dir.path(), &["apply", "--plan", "plan.json"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert!(server.deleted_ids().is_empty());

    server.edit_version(ids[1], |v| v["name"] = "9.9.9".into());
    let o = retention(
        &server,
        dir.path(),
        &[
            "apply",
            "--plan",
            "plan.json",
            "--max-deletions",
            "4",
            "--owner",
            "acme",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert_eq!(server.deleted_ids().len(), 3);
    let o = retention(
        &server,
        dir.path(),
        &[
            "apply",
            "--plan",
            "plan.json",
            "--max-deletions",
            "4",
            "--owner",
            "someone",
        ],
        &[],
    );
    insta::assert_snapshot!(o.transcript());
}

/// Issue 10.11: a bad token is reported as such while finding out what the owner is (before:
/// discovery fell back to "user" and said "packages of user acme: 401" for an organization).
#[test]
fn a_bad_token_is_reported_when_finding_the_owner() {
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            token: Some("the-right-one".into()),
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"*\"]"));
    let o = retention(
        &server,
        dir.path(),
        &[
            "plan",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let _filters = filters(&server);
    insta::assert_snapshot!(o.transcript());
    // An owner GitHub does not know is named as such (exit 1: a usage error).
    let policy = write(dir.path(), "q.yml", &delete_policy("nobody", "[\"*\"]"));
    let o = retention(
        &server,
        dir.path(),
        &[
            "plan",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ],
        &[("GITHUB_TOKEN", "the-right-one")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
}

/// Issue 10.13: `apply` with a bad policy creates no journal, and `apply` without a token is
/// refused before anything is sent.
#[test]
fn apply_refuses_a_bad_policy_and_a_missing_token_before_anything_else() {
    let server = GithubServer::start(&fixture().json(), Config::default());
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.yml",
        "version: 1\npackages: { type: npm, names: [a] }\nrules: []\n",
    );
    let _filters = filters(&server);
    let o = apply(&server, dir.path(), &bad, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert!(
        !dir.path().join("retention-journal.jsonl").exists(),
        "a journal was created"
    );
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"*\"]"));
    let o = apply(&server, dir.path(), &policy, &[("GITHUB_TOKEN", "")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert!(server.requests().is_empty());
    assert!(!dir.path().join("retention-journal.jsonl").exists());
}

/// Issue 10.12: a second `apply` on a journal in use is refused, and deletes nothing.
#[test]
fn a_second_apply_on_a_journal_in_use_is_refused() {
    let server = GithubServer::start(
        &fixture().json(),
        Config {
            faults: vec![Fault {
                endpoint: "DELETE version".into(),
                nth: 0,
                kind: FaultKind::Slow(Duration::from_secs(3)),
            }],
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "p.yml",
        &delete_policy("acme", "[\"tools/cli\"]"),
    );
    let mut first = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args([
            "apply",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ])
        .current_dir(dir.path())
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .env_remove("GITHUB_ACTIONS")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !server.requests().iter().any(|r| r.method == "DELETE") {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(20));
    }
    let deletes_before = server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    let o = apply(&server, dir.path(), &policy, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let _filters = filters(&server);
    insta::assert_snapshot!(o.transcript());
    let deletes_after = server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert!(
        deletes_after <= deletes_before + 6,
        "the second run deleted"
    );
    let _ = first.wait();
}

/// Issue 10.13: logs to a non-terminal stderr carry no ANSI colour codes.
#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    let server = GithubServer::start(&fixture().json(), Config::default());
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"*\"]"));
    let o = retention(
        &server,
        dir.path(),
        &[
            "plan",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ],
        &[("RUST_LOG", "info")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("INFO"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

/// Issue 10.1: two ids with one digest online are a warning, and both are kept (with the
/// package's untagged versions, which may be children of either).
#[test]
fn two_ids_with_one_digest_online_are_a_warning_and_both_are_kept() {
    let (mut inventory, dir, _) = index_fixture();
    let versions = inventory["packages"][0]["versions"].as_array_mut().unwrap();
    let mut twin = versions[1].clone(); // 13, an untagged platform manifest
    twin["id"] = 15.into();
    twin["metadata"]["container"]["tags"] = serde_json::json!(["pr-2"]);
    versions.insert(0, twin);
    let server = GithubServer::start(&inventory, Config::default());
    let policy = write(dir.path(), "both.yml", "version: 1\nowner: acme\npackages: { type: container, names: [\"team/*\"] }\nrules:\n  - name: pull requests expire\n    delete: { tags: [\"pr-*\"], older_than: 1d }\n  - name: untagged leftovers\n    delete: { untagged: true, older_than: 1d }\nsafety: { keep_newest: 0, min_age: 0s }\n");
    let o = retention(
        &server,
        dir.path(),
        &[
            "plan",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let _filters = filters(&server);
    insta::assert_snapshot!(o.transcript());
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    let deleted = deletions(&plan);
    assert!(
        !deleted.iter().any(|(_, id)| [13, 15, 12].contains(id)),
        "{deleted:?}"
    );
}

/// The number after `key` in `text` ("deleted=12" -> 12).
fn number_after(text: &str, key: &str) -> Option<usize> {
    let rest = &text[text.find(key)? + key.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
}

/// Issues 16 and 21: a server whose secondary limit is a third of the default pace (20 deletions
/// a minute, where GitHub documents 180). With `retry-after: 60` and without one, the run meets
/// one refusal, waits, goes on at what GitHub accepted, and finishes: nothing left undone. It
/// says what GitHub allowed; a second run with the same cache starts there and meets none.
#[test]
fn a_limit_below_the_documented_one_costs_one_refusal_and_the_next_run_remembers_it() {
    for retry_after in [RetryAfter::Secs(60), RetryAfter::Absent] {
        let mut f = Fixture::new("acme");
        f.npm("first", 42, "2026-01-01T00:00:00Z");
        f.npm("second", 42, "2026-01-01T00:00:00Z");
        // Time scale 0.01: a minute lasts 0.6 s.
        let server = GithubServer::start(
            &f.json(),
            Config {
                points_per_window: Some(100),
                window: Duration::from_millis(600),
                retry_after,
                ..Config::default()
            },
        );
        let dir = tempfile::tempdir().unwrap();
        for (run, package) in ["first", "second"].iter().enumerate() {
            let policy = write(
                dir.path(),
                "p.yml",
                &delete_policy("acme", &format!("[\"{package}\"]")),
            );
            let o = apply(&server, dir.path(), &policy, &[]);
            assert_eq!(o.status.code(), Some(0), "{retry_after:?} {}", text(&o));
            let stdout = o.stdout();
            assert_eq!(number_after(&stdout, "deleted="), Some(40), "{stdout}");
            assert_eq!(number_after(&stdout, "left="), Some(0), "{stdout}");
            let stderr = o.stderr();
            if run == 0 {
                assert!(
                    server.violations() <= 2 && server.violations() >= 1,
                    "{retry_after:?}: {} refusals\n{stderr}",
                    server.violations()
                );
                // About the server's 20 a minute: the count of a scaled minute (0.6 s) moves by
                // a deletion or two with the machine's load.
                let allowed = number_after(&stderr, "GitHub allowed about ");
                assert!(
                    allowed.is_some_and(|n| (15..=22).contains(&n))
                        && stderr.contains(" deletions a minute (documented: 180); 40 deleted in "),
                    "{stderr}"
                );
            } else {
                // 90% of what the first run was allowed: under the server's 20.
                let start = number_after(&stderr, "note: starting at ");
                assert!(
                    start.is_some_and(|n| (13..=20).contains(&n))
                        && stderr.contains(" deletions a minute (configured: 60), the pace GitHub allowed the last run"),
                    "{stderr}"
                );
                assert_eq!(
                    server.violations(),
                    0,
                    "{retry_after:?}: the second run\n{stderr}"
                );
            }
            server.configure(|_| {});
            // The violations counter is the server's: count each run's own.
            server.reset_violations();
        }
    }
}

/// Issue 22.1 at the scale of a whole run: six workers busy at 180 a minute; after GitHub's
/// refusal no DELETE arrives until the pause it asked for is over.
#[test]
fn after_a_refusal_no_delete_arrives_until_the_pause_ends() {
    let mut f = Fixture::new("acme");
    f.npm("api", 62, "2026-01-01T00:00:00Z");
    // Time scale 0.05: a minute lasts 3 s; the server allows 30 deletions in it.
    let server = GithubServer::start(
        &f.json(),
        Config {
            points_per_window: Some(150),
            window: Duration::from_secs(3),
            retry_after: RetryAfter::Secs(60),
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"api\"]"));
    let o = retention(
        &server,
        dir.path(),
        &[
            "apply",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
            "--deletions-per-minute",
            "180",
        ],
        &[("RETENTION_TEST_TIME_SCALE", "0.05")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let deletes: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    let refused = deletes
        .iter()
        .find(|r| r.status == 403)
        .expect("a refusal")
        .at;
    // Requests already on the wire arrive within milliseconds; none may be sent during the 3 s.
    let during: Vec<_> = deletes
        .iter()
        .filter(|r| {
            r.at > refused + Duration::from_millis(100)
                && r.at < refused + Duration::from_millis(2900)
        })
        .collect();
    assert!(
        during.is_empty(),
        "{} DELETEs during the pause: {during:?}",
        during.len()
    );
    assert!(server.violations() <= 2, "{} refusals", server.violations());
    assert_eq!(server.deleted_ids().len(), 60);
}

/// `--max-duration`: the run stops taking deletions when it passes, exits 3, and the next run
/// continues.
#[test]
fn max_duration_stops_cleanly_and_the_next_run_continues() {
    let mut f = Fixture::new("acme");
    f.npm("api", 62, "2026-01-01T00:00:00Z");
    let server = GithubServer::start(&f.json(), Config::default());
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"api\"]"));
    let args = |extra: &'static [&'static str]| {
        let mut a = vec![
            "apply".to_string(),
            "--policy".to_string(),
            policy.clone(),
            "--now".to_string(),
            NOW.to_string(),
            "--registry".to_string(),
            "http://127.0.0.1:1".to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    // At one a second, 20 s (0.2 s at time scale 0.01) covers about 20 of the 60 deletions.
    let a = args(&["--max-duration", "20s"]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let o = retention(&server, dir.path(), &a, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let deleted = server.deleted_ids().len();
    assert!((10..=30).contains(&deleted), "{deleted}\n{}", text(&o));
    assert!(
        o.stderr().contains(&format!(
            "warning: stopped: --max-duration 20s passed; {} of 60 deletions are left undone: the next run continues",
            60 - deleted
        )),
        "{}",
        o.stderr()
    );
    let a = args(&[]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let o = retention(&server, dir.path(), &a, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(server.deleted_ids().len(), 60);
}

/// Issue 16: a limit that changes during the run (900 points a minute, 300 after 15 s, 900 again
/// after 4 minutes) at `--deletions-per-minute 180`: at most two refusals for the change (a run
/// that kept its pace after a refusal would meet one every 80 s), nothing left undone, and the
/// run says what GitHub allowed.
#[test]
fn a_limit_that_drops_mid_run_costs_at_most_two_refusals_and_the_run_finishes() {
    let mut f = Fixture::new("acme");
    f.npm("api", 202, "2026-01-01T00:00:00Z");
    // Time scale 0.03: a minute lasts 1.8 s.
    let server = GithubServer::start(
        &f.json(),
        Config {
            points_per_window: Some(900),
            window: Duration::from_millis(1800),
            retry_after: RetryAfter::Secs(60),
            limit_changes: vec![
                (Duration::from_millis(450), 300),
                (Duration::from_millis(7200), 900),
            ],
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.yml", &delete_policy("acme", "[\"api\"]"));
    let o = retention(
        &server,
        dir.path(),
        &[
            "apply",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
            "--deletions-per-minute",
            "180",
        ],
        &[("RETENTION_TEST_TIME_SCALE", "0.03")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(server.deleted_ids().len(), 200);
    // Refusal answers: one per change of pace, each perhaps with a request already on its way.
    let refused: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE" && r.status == 403)
        .map(|r| r.at)
        .collect();
    let mut events = refused.clone();
    events.dedup_by(|b, a| b.duration_since(*a) < Duration::from_millis(100));
    assert!(
        (1..=2).contains(&events.len()),
        "{} refusals in {} events\n{}",
        refused.len(),
        events.len(),
        o.stderr()
    );
    assert!(
        o.stderr().contains("GitHub allowed about "),
        "{}",
        o.stderr()
    );
}
