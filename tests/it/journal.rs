//! `retention journal show`: the journal of a real `apply` against the GitHub stand-in
//! (tests/it/support/github_server.rs) read back as what was done to each version, when and why;
//! and a journal of an earlier build, whose lines say nothing of why.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::github_server::{Config, Fixture, GithubServer};
use crate::support::snap::{self, text, Filters, Run};

const TOKEN: &str = "ghp_journalSECRETtoken0123456789";
const NOW: &str = "2026-11-20T00:00:00Z";

fn retention(server: Option<&GithubServer>, dir: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retention"));
    cmd.args(args)
        .current_dir(dir)
        .env("RETENTION_TEST_TIME_SCALE", "0.01")
        .env("RETENTION_CACHE_DIR", dir.join("cache"))
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("RUST_LOG");
    if let Some(server) = server {
        cmd.env("GITHUB_API_URL", server.url())
            .env("GITHUB_TOKEN", TOKEN);
    }
    snap::run(&mut cmd)
}

/// The times a run stamps its lines with (`2026-12-03 18:21:05 UTC`) vary.
fn filters() -> insta::internals::SettingsBindDropGuard {
    Filters::new()
        .add(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\b", "[TIME]")
        .bind()
}

/// Delete every npm version older than a day, except 1.0.0 and the newest.
const POLICY: &str = "version: 1\nowner: acme\npackages:\n  type: npm\n  names: [\"api\"]\nrules:\n  - name: first stays\n    keep: { versions: [\"1.0.0\"] }\n  - name: old go\n    delete: { older_than: 1d }\nsafety: { keep_newest: 1, min_age: 0s, max_deletions: 100000 }\n";

fn journal_lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("retention-journal.jsonl"))
        .expect("the journal apply wrote")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a journal line"))
        .collect()
}

/// Each `attempted` line of a real run carries the plan's reasons for that version, the
/// policy's sha256 and the registry; `journal show` prints them under it, and `journal show ID`
/// only that version. `apply --policy` (package by package) and `apply --plan` both.
#[test]
fn journal_show_says_why_a_real_apply_deleted_each_version() {
    let mut f = Fixture::new("acme");
    let ids = f.npm("api", 4, "2026-01-01T00:00:00Z");
    let server = GithubServer::start(&f.json(), Config::default());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yml"), POLICY).unwrap();
    let plan = retention(
        Some(&server),
        dir.path(),
        &[
            "plan",
            "--policy",
            "p.yml",
            "--now",
            NOW,
            "--format",
            "json",
            "--registry",
            "http://127.0.0.1:1",
        ],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let apply = retention(
        Some(&server),
        dir.path(),
        &[
            "apply",
            "--policy",
            "p.yml",
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ],
    );
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let deleted: Vec<u64> = server.deleted_ids().into_iter().map(|(_, id)| id).collect();
    assert_eq!(deleted.len(), 2, "1.0.1 and 1.0.2: {}", text(&apply));

    // Each attempted line says why, as the plan does.
    let lines = journal_lines(dir.path());
    for version in plan["packages"][0]["versions"].as_array().unwrap() {
        let id = version["id"].as_u64().unwrap();
        let attempted: Vec<&Value> = lines
            .iter()
            .filter(|l| l["id"] == id && l["outcome"] == "attempted")
            .collect();
        if version["action"] == "delete" {
            assert_eq!(attempted.len(), 1, "{lines:?}");
            assert_eq!(attempted[0]["reasons"], version["reasons"], "{id}");
            assert_eq!(attempted[0]["policy_sha256"], plan["policy_sha256"]);
            assert_eq!(attempted[0]["registry"], "http://127.0.0.1:1");
        } else {
            assert!(attempted.is_empty(), "{lines:?}");
        }
    }
    // The outcome lines do not repeat it.
    assert!(lines
        .iter()
        .filter(|l| l["outcome"] != "attempted")
        .all(|l| l.get("reasons").is_none()));

    let _filters = filters();
    let all = retention(None, dir.path(), &["journal", "show"]);
    insta::assert_snapshot!("show_after_apply_policy", all.transcript());
    let one = retention(None, dir.path(), &["journal", "show", &ids[1].to_string()]);
    insta::assert_snapshot!("show_one_after_apply_policy", one.transcript());

    // `apply --plan` on a restored version: the saved plan's reasons.
    let restore = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args(["restore", "--journal", "retention-journal.jsonl"])
        .current_dir(dir.path())
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("RETENTION_TEST_TIME_SCALE", "0.01")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(restore.status.success(), "{}", text(&restore));
    std::fs::write(dir.path().join("plan.json"), plan.to_string()).unwrap();
    let again = retention(Some(&server), dir.path(), &["apply", "--plan", "plan.json"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let one = retention(
        None,
        dir.path(),
        &[
            "journal",
            "show",
            &ids[1].to_string(),
            "--journal",
            "retention-journal.jsonl",
        ],
    );
    insta::assert_snapshot!("show_one_after_restore_and_apply_plan", one.transcript());
}

/// A journal written by an earlier build (no reasons, no policy, no registry on its lines) is
/// still read: its attempts say that their reason was not recorded. A version it does not name
/// is an error (exit 1) that says how to list them; so is a journal that is not there, with
/// where `apply` writes one.
#[test]
fn journal_show_reads_a_journal_of_an_earlier_build() {
    let dir = tempfile::tempdir().unwrap();
    let old = [
        r#"{"owner":"acme","scope":"/orgs/acme","package":"app","type":"container","id":501,"name":"sha256:5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a","tags":["v1"],"outcome":"attempted","message":"","time":"2026-10-01T03:00:01Z"}"#,
        r#"{"owner":"acme","scope":"/orgs/acme","package":"app","type":"container","id":501,"name":"sha256:5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a","tags":["v1"],"outcome":"deleted","message":"","time":"2026-10-01T03:00:02Z"}"#,
        r#"{"owner":"acme","scope":"/orgs/acme","package":"app","type":"container","id":502,"name":"sha256:6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b","tags":[],"outcome":"skipped","message":"not deleted: version 501, which it is part of, was not deleted (refused)","time":"2026-10-01T03:00:03Z"}"#,
        r#"{"owner":"acme","scope":"/orgs/acme","package":"app","type":"container","id":400,"name":"sha256:7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c","tags":["v2","pr-9"],"outcome":"untagged","message":"","time":"2026-10-01T03:00:04Z","untag":{"tag":"pr-9","placeholder":"sha256:0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d","placeholder_id":900}}"#,
    ];
    std::fs::write(dir.path().join("old.jsonl"), old.join("\n") + "\n").unwrap();
    let _filters = Filters::new().bind();
    let all = retention(
        None,
        dir.path(),
        &["journal", "show", "--journal", "old.jsonl"],
    );
    insta::assert_snapshot!("show_old_journal", all.transcript());
    let missing = retention(
        None,
        dir.path(),
        &["journal", "show", "77", "--journal", "old.jsonl"],
    );
    insta::assert_snapshot!("show_old_journal_missing_version", missing.transcript());
    let no_file = retention(None, dir.path(), &["journal", "show"]);
    insta::assert_snapshot!("show_without_a_journal", no_file.transcript());
}

/// A version `apply --plan --policy` holds back (the policy now keeps it) gets no `attempted`
/// line: its `skipped` line is the first about it, and carries why the plan deleted it.
#[test]
fn journal_show_of_a_held_back_version_says_why_the_plan_deleted_it() {
    let mut f = Fixture::new("acme");
    let ids = f.npm("api", 4, "2026-01-01T00:00:00Z");
    let server = GithubServer::start(&f.json(), Config::default());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yml"), POLICY).unwrap();
    let plan = retention(
        Some(&server),
        dir.path(),
        &[
            "plan",
            "--policy",
            "p.yml",
            "--now",
            NOW,
            "--format",
            "json",
            "--output",
            "plan.json",
            "--registry",
            "http://127.0.0.1:1",
        ],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    // Since the plan, the policy came to keep 1.0.2 too.
    let now = POLICY.replace("versions: [\"1.0.0\"]", "versions: [\"1.0.0\", \"1.0.2\"]");
    std::fs::write(dir.path().join("now.yml"), now).unwrap();
    let apply = retention(
        Some(&server),
        dir.path(),
        &[
            "apply",
            "--plan",
            "plan.json",
            "--policy",
            "now.yml",
            "--now",
            NOW,
            "--registry",
            "http://127.0.0.1:1",
        ],
    );
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let held = ids[2];
    assert!(!server.deleted_ids().iter().any(|(_, id)| *id == held));
    let _filters = filters();
    let show = retention(None, dir.path(), &["journal", "show", &held.to_string()]);
    insta::assert_snapshot!(show.transcript());
}
