//! End-to-end tests of the online commands: the real binary against a local server that behaves
//! like the GitHub Packages API (tests/support/github_server.rs).

#[path = "support/github_server.rs"]
mod github_server;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use github_server::{Config, Fault, FaultKind, Fixture, GithubServer, OwnerKind};
use serde_json::Value;

const TOKEN: &str = "ghp_e2eSECRETtoken0123456789";
const NOW: &str = "2026-11-20T00:00:00Z";

fn retention(server: &GithubServer, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retention"));
    cmd.args(args)
        .current_dir(dir)
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("RETENTION_TEST_TIME_SCALE", "0.01")
        .env("RETENTION_CACHE_DIR", dir.join("cache"))
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the retention binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
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
    let mut args = vec!["plan", "--policy", policy, "--now", NOW, "--format", "json", "--registry", "http://127.0.0.1:1"];
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
                out.push((p["name"].as_str().unwrap().to_string(), v["id"].as_u64().unwrap()));
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
    let o = retention(&server, dir.path(), &["snapshot", "--policy", &policy, "--output", &inv, "--registry", "http://127.0.0.1:1"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let offline = plan_json(&server, dir.path(), &policy, &["--inventory", &inv]);
    assert_eq!(online, offline);
    assert_eq!(deletions(&online).len(), 128 + 10);
    let reqs = server.requests();
    assert!(reqs.iter().all(|r| r.method == "GET"), "{reqs:?}");
    assert!(reqs.iter().all(|r| r.authorized));
    // Names with `/` are percent-encoded; 130 versions take two pages.
    assert!(reqs.iter().any(|r| r.path.starts_with("/orgs/acme/packages/npm/tools%2Fcli/versions?")));
    let api_pages = reqs.iter().filter(|r| r.path.starts_with("/orgs/acme/packages/npm/api/versions")).count();
    assert_eq!(api_pages, 2 * 2, "two pages, for each of the two listings");
}
