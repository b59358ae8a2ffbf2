//! `retention init` through the binary: the policy it proposes for the example inventory and for
//! a generated inventory with every tag family (whole snapshots), that the policy passes `check`
//! and the policy schema and starts with the `yaml-language-server` line, `--write` and
//! `--workflows`, and online against the local GitHub server.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::support::github_server;
use crate::support::snap::{self, Filters, Run};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn retention(dir: &Path, args: &[&str]) -> Run {
    snap::run(
        Command::new(env!("CARGO_BIN_EXE_retention"))
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_SERVER_URL")
            .env_remove("GITHUB_REPOSITORY_OWNER"),
    )
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The manifest of version `id` (a single-platform image) and its digest.
fn manifest(id: u64) -> (String, String) {
    use sha2::Digest as _;
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"digest":"sha256:{id:064x}","size":2}},"layers":[]}}"#
    );
    let digest = format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(body.as_bytes()))
    );
    (digest, body)
}

/// A version object as GitHub lists it, `days` old on 2026-11-20.
fn version(id: u64, tags: &[&str], days: i64) -> Value {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
        .map(|t| t - chrono::Duration::days(days))
        .unwrap_or_else(|e| panic!("{e}"))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({
        "id": id,
        "name": manifest(id).0,
        "created_at": at,
        "updated_at": at,
        "metadata": {"package_type": "container", "container": {"tags": tags}}
    })
}

/// An inventory with every family: releases (with and without `v`, a prerelease, major/minor
/// tags), moving tags, pull requests, branch builds of two branches and `sha-`, dates, a cosign
/// signature, untagged versions, and tags of no family.
fn families_inventory() -> Value {
    let mut api = vec![
        version(1, &["v1.0.0"], 400),
        version(2, &["v1.1.0", "1.1", "1"], 300),
        version(3, &["2.0.0-rc.1"], 200),
        version(4, &["2.0.0", "latest", "stable"], 150),
        version(5, &["edge"], 1),
        version(
            6,
            &[&format!("{}.sig", manifest(4).0.replace(':', "-"))],
            150,
        ),
    ];
    for (i, n) in (10..16).enumerate() {
        api.push(version(n, &[&format!("pr-{n}")], 3 + 5 * i as i64));
    }
    api.push(version(16, &["pr-12-2"], 20));
    for n in 0..13u64 {
        api.push(version(
            20 + n,
            &[&format!("main-{:07x}", 0xabc0000 + n)],
            1 + n as i64,
        ));
    }
    for n in 0..3u64 {
        api.push(version(
            40 + n,
            &[&format!("develop-{}", n + 1)],
            10 + n as i64,
        ));
        api.push(version(
            45 + n,
            &[&format!("sha-{:07x}", 0xdef0000 + n)],
            5 + n as i64,
        ));
    }
    for d in 1..13u64 {
        api.push(version(
            50 + d,
            &[&format!("2026-03-{d:02}")],
            260 - d as i64,
        ));
    }
    api.push(version(90, &["foo"], 30));
    api.push(version(91, &["experiment-x"], 30));
    for n in 0..4u64 {
        api.push(version(70 + n, &[], 1 + 2 * n as i64));
    }
    let manifests: serde_json::Map<String, Value> = api
        .iter()
        .filter_map(|v| v["id"].as_u64())
        .map(|id| {
            let (d, body) = manifest(id);
            (d, Value::String(body))
        })
        .collect();
    json!({
        "schema": 1,
        "owner": "acme",
        "captured_at": "2026-11-20T00:00:00Z",
        "packages": [
            {"package": {"id": 1, "name": "api", "package_type": "container"}, "versions": api, "manifests": manifests},
            {"package": {"id": 2, "name": "lib", "package_type": "npm"},
             "versions": [{"id": 100, "name": "1.0.0", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}]}
        ]
    })
}

/// The policy schema validator, and a YAML policy as JSON (through the binary's own reading is
/// not possible: saphyr, as `tests/it/schemas.rs` does).
fn schema_errors(policy: &str) -> Vec<String> {
    let schema: Value = serde_json::from_str(&read(&root().join("schema/policy.schema.json")))
        .unwrap_or_else(|e| panic!("{e}"));
    let v = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{e}"));
    let docs = <saphyr::Yaml as saphyr::LoadableYamlNode>::load_from_str(policy)
        .unwrap_or_else(|e| panic!("{e}"));
    let instance = docs.first().map(yaml_to_json).unwrap_or(Value::Null);
    v.iter_errors(&instance).map(|e| e.to_string()).collect()
}

pub(crate) fn yaml_to_json(y: &saphyr::Yaml) -> Value {
    use saphyr::{Scalar, Yaml};
    match y {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        Yaml::Value(Scalar::Integer(n)) => Value::from(*n),
        Yaml::Value(Scalar::FloatingPoint(f)) => Value::from(f.into_inner()),
        Yaml::Value(Scalar::String(s)) => Value::String(s.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match yaml_to_json(k) {
                    Value::String(s) => (s, yaml_to_json(v)),
                    other => (other.to_string(), yaml_to_json(v)),
                })
                .collect(),
        ),
        other => panic!("unexpected YAML node {other:?}"),
    }
}

/// The proposed policy passes `check` and the schema, and starts with the editor line.
fn assert_valid(dir: &Path, policy: &str) {
    assert!(
        policy.starts_with("# yaml-language-server: $schema="),
        "{policy}"
    );
    std::fs::write(dir.join("proposed.yml"), policy).unwrap_or_else(|e| panic!("{e}"));
    let check = retention(dir, &["check", "proposed.yml"]);
    assert_eq!(check.status.code(), Some(0), "{}", check.stderr());
    let errors = schema_errors(policy);
    assert!(errors.is_empty(), "{errors:?}\n{policy}");
}

#[test]
fn init_on_the_example_inventory() {
    let _filters = Filters::new().bind();
    let dir = tempdir();
    let run = retention(
        &root(),
        &[
            "init",
            "--inventory",
            "examples/inventory.json",
            "--now",
            "2026-11-20T00:00:00Z",
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr());
    assert_valid(dir.path(), &run.stdout());
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn init_on_an_inventory_of_every_family() {
    let _filters = Filters::new().bind();
    let dir = tempdir();
    std::fs::write(
        dir.path().join("inventory.json"),
        families_inventory().to_string(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run = retention(
        dir.path(),
        &[
            "init",
            "--inventory",
            "inventory.json",
            "--now",
            "2026-11-20T00:00:00Z",
            "--write",
            "policies/retention.yml",
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr());
    let policy = read(&dir.path().join("policies/retention.yml"));
    assert_valid(dir.path(), &policy);
    // What the summary says is what `plan` decides with the written policy.
    let plan = retention(
        dir.path(),
        &[
            "plan",
            "--policy",
            "policies/retention.yml",
            "--inventory",
            "inventory.json",
            "--now",
            "2026-11-20T00:00:00Z",
            "--format",
            "json",
        ],
    );
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap_or_else(|e| panic!("{e}"));
    let deleted: Vec<String> = plan["packages"][0]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["action"] == "delete")
        .flat_map(|v| v["tags"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    // Pull requests older than 14 days, main builds beyond the newest 10, dated builds beyond
    // the newest 10; no release, no moving tag, no tag of no family.
    let mut expected: Vec<String> = ["pr-13", "pr-14", "pr-15", "pr-12-2"]
        .iter()
        .map(|s| s.to_string())
        .chain((10..13u64).map(|n| format!("main-{:07x}", 0xabc0000 + n)))
        .chain(["2026-03-01".to_string(), "2026-03-02".to_string()])
        .collect();
    expected.sort();
    let mut deleted = deleted;
    deleted.sort();
    assert_eq!(deleted, expected);
    let summary = run.stdout();
    assert!(
        summary.contains(&format!(
            "{} of {} versions would be deleted",
            plan["summary"]["delete"], plan["summary"]["versions"]
        )),
        "{summary}"
    );
    insta::assert_snapshot!(format!(
        "{}\n--- policies/retention.yml\n{policy}",
        run.transcript()
    ));
}

#[test]
fn init_writes_the_workflows_and_refuses_to_overwrite() {
    let _filters = Filters::new().bind();
    let dir = tempdir();
    let inv = root().join("examples/inventory.json").display().to_string();
    let args = [
        "init",
        "--inventory",
        &inv,
        "--write",
        "retention.yml",
        "--workflows",
        ".github/workflows",
    ];
    let first = retention(dir.path(), &args);
    assert_eq!(first.status.code(), Some(0), "{}", first.stderr());
    let nightly = read(&dir.path().join(".github/workflows/retention-nightly.yml"));
    let pr = read(&dir.path().join(".github/workflows/retention-plan.yml"));
    assert!(
        nightly.contains("          policy: \"retention.yml\"\n"),
        "{nightly}"
    );
    assert!(pr.contains("      - \"retention.yml\"\n"), "{pr}");
    assert!(pr.contains("          POLICY: \"retention.yml\"\n"), "{pr}");
    // Never interpolated into a shell script: only `with:` and `env:` values.
    assert!(!pr.contains("run: |\n          retention.yml"));
    let again = retention(dir.path(), &args);
    assert_eq!(again.status.code(), Some(1));
    insta::assert_snapshot!(again.transcript());
}

#[test]
fn init_says_when_it_raises_max_deletions_to_fit_the_first_run() {
    // 1,050 expired pull-request images: the first run deletes 1,047 (3 newest stay), over
    // the default max_deletions (1000).
    let api: Vec<Value> = (1..=1050u64)
        .map(|n| version(n, &[&format!("pr-{n}")], 30 + (n % 50) as i64))
        .collect();
    let manifests: serde_json::Map<String, Value> = (1..=1050u64)
        .map(|id| {
            let (d, body) = manifest(id);
            (d, Value::String(body))
        })
        .collect();
    let inventory = json!({"schema": 1, "owner": "acme", "captured_at": "2026-11-20T00:00:00Z",
        "packages": [{"package": {"id": 1, "name": "api", "package_type": "container"},
                      "versions": api, "manifests": manifests}]});
    let dir = tempdir();
    let inv = dir.path().join("inventory.json");
    std::fs::write(&inv, inventory.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let inv = inv.display().to_string();
    let run = retention(
        dir.path(),
        &[
            "init",
            "--inventory",
            &inv,
            "--write",
            "retention.yml",
            "--now",
            "2026-11-20T00:00:00Z",
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr());
    let stdout = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(stdout.contains("delete 1047"), "{stdout}");
    assert!(
        stdout.contains("note: safety.max_deletions is raised from 1000 to 1100 so that the first run is not refused; after that run, lower it to 1000 in the policy (or keep 1000 and run the first apply once with --max-deletions=1100)"),
        "{stdout}"
    );
    assert!(!stdout.contains("max_untags is raised"), "{stdout}");
    let policy = read(&dir.path().join("retention.yml"));
    assert!(
        policy.contains("  max_deletions: 1100              # raised from 1000 to fit the first run (1047 deletions): lower it to 1000 after that run\n"),
        "{policy}"
    );
    assert_valid(dir.path(), &policy);
}

/// A workflow file as JSON.
fn workflow(path: &Path) -> Value {
    let docs = <saphyr::Yaml as saphyr::LoadableYamlNode>::load_from_str(&read(path))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    docs.first().map(yaml_to_json).unwrap_or(Value::Null)
}

/// Every step of every job of a workflow.
fn steps(workflow: &Value) -> Vec<Value> {
    workflow["jobs"]
        .as_object()
        .into_iter()
        .flat_map(|jobs| jobs.values())
        .filter_map(|job| job["steps"].as_array())
        .flatten()
        .cloned()
        .collect()
}

#[test]
fn every_nightly_uploads_its_journal_where_restore_finds_it() {
    // What examples/workflows/restore.yml downloads, and the file it reads from it.
    let restore = steps(&workflow(&root().join("examples/workflows/restore.yml")));
    let download = restore
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/download-artifact"))
        })
        .unwrap_or_else(|| panic!("restore.yml downloads no artifact"));
    let artifact = download["with"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let journal = restore
        .iter()
        .find_map(|s| s["with"]["journal"].as_str())
        .unwrap_or_default();
    // The action's default journal, the one file of the artifact.
    assert!(journal.ends_with("/retention-journal.jsonl"), "{journal}");
    let action = read(&root().join("action/run.sh"));
    assert!(
        action.contains("/retention-journal.jsonl}"),
        "the action's default journal moved"
    );

    let dir = tempdir();
    let inv = root().join("examples/inventory.json").display().to_string();
    let run = retention(
        dir.path(),
        &[
            "init",
            "--inventory",
            &inv,
            "--write",
            "retention.yml",
            "--workflows",
            "wf",
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr());
    let mut nightlies = vec![dir.path().join("wf/retention-nightly.yml")];
    for entry in std::fs::read_dir(root().join("examples/workflows"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("nightly-") || name == "in-use-cluster.yml" {
            nightlies.push(entry.path());
        }
    }
    assert!(nightlies.len() >= 4, "{nightlies:?}");
    for path in nightlies {
        let uploads: Vec<Value> = steps(&workflow(&path))
            .into_iter()
            .filter(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/upload-artifact"))
            })
            .collect();
        let journal_upload = uploads
            .iter()
            .find(|s| {
                s["with"]["path"]
                    .as_str()
                    .is_some_and(|p| p.contains("outputs.journal"))
            })
            .unwrap_or_else(|| panic!("{} uploads no journal", path.display()));
        assert_eq!(
            journal_upload["with"]["name"].as_str(),
            Some(artifact.as_str()),
            "{}: restore.yml downloads `{artifact}`",
            path.display()
        );
        // The journal alone: restore.yml reads it at the artifact's root.
        assert_eq!(
            journal_upload["with"]["path"].as_str().map(str::trim),
            Some("${{ steps.retention.outputs.journal }}"),
            "{}",
            path.display()
        );
    }
}

#[test]
fn init_online_lists_the_owners_packages() {
    let inventory: Value = serde_json::from_str(&read(&root().join("examples/inventory.json")))
        .unwrap_or_else(|e| panic!("{e}"));
    let server = github_server::GithubServer::start(
        &inventory,
        github_server::Config {
            token: Some("t0ken".into()),
            ..github_server::Config::default()
        },
    );
    let dir = tempdir();
    let cache = dir.path().join("cache");
    let out = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args(["init", "--owner", "acme", "--now", "2026-11-20T00:00:00Z"])
        .arg("--registry")
        .arg(server.url())
        .arg("--cache-dir")
        .arg(&cache)
        .current_dir(dir.path())
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", "t0ken")
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let policy = String::from_utf8_lossy(&out.stdout);
    assert!(
        policy.contains("  names: [\"api\", \"tools/cli\", \"web\"]\n"),
        "{policy}"
    );
    assert_valid(dir.path(), &policy);
    assert!(
        stderr.contains("50 of 179 versions would be deleted in 3 packages"),
        "{stderr}"
    );
}

#[test]
fn init_with_a_token_that_cannot_list_says_what_to_do() {
    let inventory: Value = serde_json::from_str(&read(&root().join("examples/inventory.json")))
        .unwrap_or_else(|e| panic!("{e}"));
    let server = github_server::GithubServer::start(
        &inventory,
        github_server::Config {
            token: Some("t0ken".into()),
            refuse_listing: true,
            me: None,
            ..github_server::Config::default()
        },
    );
    let dir = tempdir();
    let run = snap::run(
        Command::new(env!("CARGO_BIN_EXE_retention"))
            .args(["init", "--owner", "acme", "--now", "2026-11-20T00:00:00Z"])
            .arg("--registry")
            .arg(server.url())
            .current_dir(dir.path())
            .env("GITHUB_API_URL", server.url())
            .env("GITHUB_TOKEN", "t0ken")
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_ACTIONS"),
    );
    let _filters = Filters::new().api(&server.url()).bind();
    insta::assert_snapshot!(run.transcript());
}
