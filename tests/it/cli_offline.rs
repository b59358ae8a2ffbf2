//! The binary, offline: `check` and `plan --inventory`, their exit codes and messages.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::snap::{self, Filters, Run};

fn retention(args: &[&str]) -> Run {
    snap::run(
        Command::new(env!("CARGO_BIN_EXE_retention"))
            .args(args)
            .env("NO_COLOR", "1")
            // `--help` wraps at the terminal's width, or $COLUMNS: fixed, for the snapshot.
            .env("COLUMNS", "100")
            .env_remove("GITHUB_ACTIONS"),
    )
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    if let Err(e) = std::fs::write(&p, body) {
        panic!("cannot write {}: {e}", p.display());
    }
    p
}

fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    }
}

const POLICY: &str = "version: 1\npackages:\n  type: npm\n  names: [\"api\"]\nrules:\n  - name: prs\n    delete: { versions: [\"1.*\"] }\nsafety: { keep_newest: 0, min_age: 0s, max_deletions: 1 }\n";

fn inventory(n: usize) -> String {
    let versions: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"id":{},"name":"1.0.{i}","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","metadata":{{"package_type":"npm"}}}}"#, i + 1))
        .collect();
    format!(
        r#"{{"schema":1,"owner":"acme","captured_at":"2026-11-20T00:00:00Z","packages":[{{"package":{{"id":1,"name":"api","package_type":"npm"}},"versions":[{}]}}]}}"#,
        versions.join(",")
    )
}

#[test]
fn check_accepts_good_policies_and_reports_every_error_of_bad_ones() {
    let _filters = Filters::new().bind();
    let dir = tempdir();
    let good = write(dir.path(), "good.yml", POLICY);
    let bad = write(dir.path(), "bad.yml", "version: 1\npackages: { type: container, names: [api] }\nrules:\n  - name: a\n    delete: { untaged: true }\n  - name: b\n    keep: { tags: [\"[\"] }\n");
    let out = retention(&["check", good.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(out.transcript());

    let out = retention(&[
        "check",
        good.to_str().unwrap_or_default(),
        bad.to_str().unwrap_or_default(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(out.transcript());
}

#[test]
fn plan_offline_prints_json_and_writes_output_files() {
    let _filters = Filters::new().bind();
    let dir = tempdir();
    let policy = write(
        dir.path(),
        "p.yml",
        &POLICY.replace("max_deletions: 1", "max_deletions: 10"),
    );
    let inv = write(dir.path(), "inv.json", &inventory(3));
    let out_file = dir.path().join("plan.json");
    let out = retention(&[
        "plan",
        "--policy",
        policy.to_str().unwrap_or_default(),
        "--inventory",
        inv.to_str().unwrap_or_default(),
        "--now",
        "2026-11-20T00:00:00Z",
        "--format",
        "json",
        "--output",
        out_file.to_str().unwrap_or_default(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!(out.transcript());
    let plan: serde_json::Value = match std::fs::read(&out_file).map(|b| serde_json::from_slice(&b))
    {
        Ok(Ok(v)) => v,
        other => panic!("plan file unreadable: {other:?}"),
    };
    assert_eq!(plan["schema"], 1);
    assert_eq!(plan["summary"]["delete"], 3);
    assert_eq!(plan["generated_at"], "2026-11-20T00:00:00Z");
    assert_eq!(plan["packages"][0]["versions"][0]["reasons"][0], "prs");
}

#[test]
fn a_plan_over_max_deletions_fails_naming_the_count() {
    let _filters = Filters::new().bind();
    let dir = tempdir();
    let policy = write(dir.path(), "p.yml", POLICY);
    let inv = write(dir.path(), "inv.json", &inventory(3));
    let out = retention(&[
        "plan",
        "--policy",
        policy.to_str().unwrap_or_default(),
        "--inventory",
        inv.to_str().unwrap_or_default(),
        "--now",
        "2026-11-20T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // The whole report comes, opening with the refusal: which limit, by how much, the two ways
    // out, and no flag that `plan` does not accept.
    insta::assert_snapshot!(out.transcript());
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(
            "refused: the plan deletes 3 versions, 2 versions more than safety.max_deletions (1)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("Delete api"),
        "the report follows: {stdout}"
    );
    assert!(
        !text(&out.stderr).contains("--max-deletions"),
        "{}",
        text(&out.stderr)
    );
    assert!(!stdout.contains("--max-deletions"), "{stdout}");
    for (format, opening) in [
        (
            "markdown",
            "> [!CAUTION]\n> **Refused: the plan deletes 3 versions",
        ),
        ("json", "{"),
    ] {
        let out = retention(&[
            "plan",
            "--policy",
            policy.to_str().unwrap_or_default(),
            "--inventory",
            inv.to_str().unwrap_or_default(),
            "--now",
            "2026-11-20T00:00:00Z",
            "--format",
            format,
        ]);
        assert_eq!(out.status.code(), Some(1), "{format}");
        let stdout = text(&out.stdout);
        assert!(stdout.starts_with(opening), "{format}: {stdout}");
        if format == "json" {
            let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
            assert_eq!(plan["summary"]["delete"], 3, "the whole plan: {stdout}");
        } else {
            assert!(stdout.contains("Retention plan for"), "{format}: {stdout}");
        }
    }
}

/// A container inventory of images tagged `v<i>` and `pr-<i>`, with their manifests.
fn multi_tagged_inventory(n: usize) -> String {
    use sha2::{Digest, Sha256};
    let mut versions = Vec::new();
    let mut manifests = Vec::new();
    for i in 1..=n {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"digest":"sha256:{i:064x}"}},"layers":[]}}"#
        );
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(body.as_bytes())));
        versions.push(format!(r#"{{"id":{i},"name":"{digest}","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","metadata":{{"package_type":"container","container":{{"tags":["v{i}","pr-{i}"]}}}}}}"#));
        manifests.push(format!(
            "{}:{}",
            serde_json::json!(digest),
            serde_json::json!(body)
        ));
    }
    format!(
        r#"{{"schema":1,"owner":"acme","captured_at":"2026-11-20T00:00:00Z","packages":[{{"package":{{"id":1,"name":"api","package_type":"container"}},"versions":[{}],"manifests":{{{}}}}}]}}"#,
        versions.join(","),
        manifests.join(",")
    )
}

#[test]
fn a_plan_over_max_untags_fails_naming_the_count_and_untag_false_keeps_the_tags() {
    let _filters = Filters::new().bind();
    let dir = tempdir();
    let policy = |safety: &str| {
        format!("version: 1\npackages:\n  type: container\n  names: [\"api\"]\nrules:\n  - name: prs\n    delete: {{ tags: [\"pr-*\"] }}\nsafety: {{ keep_newest: 0, min_age: 0s, {safety} }}\n")
    };
    let inv = write(dir.path(), "inv.json", &multi_tagged_inventory(3));
    let plan = |policy: &Path| {
        retention(&[
            "plan",
            "--policy",
            policy.to_str().unwrap_or_default(),
            "--inventory",
            inv.to_str().unwrap_or_default(),
            "--now",
            "2026-11-20T00:00:00Z",
            "--format",
            "json",
        ])
    };
    let over = write(dir.path(), "over.yml", &policy("max_untags: 2"));
    let out = plan(&over);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    insta::assert_snapshot!(out.transcript());
    let fits = write(dir.path(), "fits.yml", &policy("max_untags: 3"));
    let out = plan(&fits);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!(out.transcript());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(json["summary"]["untag"], 3);
    assert_eq!(json["summary"]["delete"], 0);
    assert_eq!(
        json["packages"][0]["versions"][0]["untag"],
        serde_json::json!(["pr-3"])
    );
    let off = write(
        dir.path(),
        "off.yml",
        &policy("max_untags: 2, untag: false"),
    );
    let out = plan(&off);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(json["summary"].get("untag"), None);
    assert_eq!(
        json["packages"][0]["versions"][0]["reasons"][0],
        "tag pr-3 selected by delete rule 'prs' stays (safety.untag is false)"
    );
}

#[test]
fn malformed_inventories_name_the_file_and_the_json_path() {
    let _filters = Filters::new().bind();
    let dir = tempdir();
    let policy = write(dir.path(), "p.yml", POLICY);
    let cases = [
        ("notjson.json", "this is not json".to_string()),
        (
            "schema.json",
            inventory(1).replace("\"schema\":1", "\"schema\":2"),
        ),
        ("noid.json", inventory(2).replace("\"id\":2,", "")),
        (
            "badtime.json",
            inventory(1).replace("2026-01-01T00:00:00Z", "yesterday"),
        ),
    ];
    for (name, body) in cases {
        let inv = write(dir.path(), name, &body);
        let out = retention(&[
            "plan",
            "--policy",
            policy.to_str().unwrap_or_default(),
            "--inventory",
            inv.to_str().unwrap_or_default(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        insta::assert_snapshot!(out.transcript());
    }
    let out = retention(&[
        "plan",
        "--policy",
        policy.to_str().unwrap_or_default(),
        "--inventory",
        "/nonexistent/inv.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(out.transcript());
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let out = retention(&["plan", "--policy", "p.yml", "--now", "not-a-time"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(out.transcript());
    let out = retention(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(out.transcript());
    let out = retention(&["check", "/nonexistent.yml"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(out.transcript());
}

#[test]
fn check_warns_of_a_variable_given_only_when_the_policy_runs() {
    let _filters = Filters::new().bind();
    let dir = tempdir();
    let body = "version: 1\npackages:\n  type: container\n  names: [\"api\"]\nrules:\n  - name: the closed pull request\n    delete: { tags: [\"pr-${PR_NUMBER}\"] }\n";
    let pr = write(dir.path(), "pr.yml", body);
    let pr = pr.to_str().unwrap_or_default();
    // Unset: a warning naming it where it is, the rest checked, exit 0.
    let out = retention(&["check", pr]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!(out.transcript());
    // Given: no warning.
    let out = retention(&["check", pr, "--var", "PR_NUMBER=7"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    // Another problem beside it is still an error, and the variable with it.
    let both = write(
        dir.path(),
        "both.yml",
        &format!("{body}safety: {{ min_age: fortnight }}\n"),
    );
    let out = retention(&["check", both.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("fortnight"), "{stderr}");
    assert!(stderr.contains("error: 2 problems found"), "{stderr}");
    // A variable where only its value can be checked (a duration): left to the run.
    let age = write(
        dir.path(),
        "age.yml",
        &body.replace("delete: {", "delete: { older_than: \"${AGE}\","),
    );
    let out = retention(&[
        "check",
        age.to_str().unwrap_or_default(),
        "--var",
        "PR_NUMBER=7",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ok, but for the values of AGE"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn quiet_keeps_the_warnings_and_the_plan_and_drops_the_status_lines() {
    // `plan --base` on the example inventory: the base policy keeps what the example
    // deployments run, the new one deletes three of those images. Stderr has a status line
    // (what the in-use scan found) and a warning per image.
    let run = |quiet: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_retention"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("RUST_LOG");
        if quiet {
            cmd.arg("--quiet");
        }
        cmd.args([
            "plan",
            "--policy",
            "policies/nightly-ghcr.yml",
            "--base",
            "examples/in-use/nightly.yml",
            "--inventory",
            "examples/inventory.json",
            "--now",
            "2026-11-20T00:00:00Z",
        ]);
        snap::run(&mut cmd)
    };
    let (loud, quiet) = (run(false), run(true));
    assert_eq!(loud.status.code(), Some(0), "{}", text(&loud.stderr));
    assert_eq!(quiet.status.code(), Some(0), "{}", text(&quiet.stderr));
    // The result on stdout is the same.
    assert_eq!(text(&quiet.stdout), text(&loud.stdout));
    let loud_err = text(&loud.stderr);
    assert!(
        loud_err.contains("in use (the base policy): 5 references to acme's images"),
        "{loud_err}"
    );
    // Quiet: exactly the warnings (and errors) of the run, in the same order.
    let labelled: Vec<&str> = loud_err
        .lines()
        .filter(|l| l.starts_with("warning: ") || l.starts_with("error: "))
        .collect();
    assert_eq!(labelled.len(), 3, "{loud_err}");
    assert!(labelled.len() < loud_err.lines().count(), "{loud_err}");
    let quiet_err = text(&quiet.stderr);
    assert_eq!(
        quiet_err.lines().collect::<Vec<_>>(),
        labelled,
        "{quiet_err}"
    );
}
