//! `in_use` through the binary: the example policy keeps what `examples/in-use/deploy/` names
//! (every rendering says where), `--in-use` lists, the errors that keep a policy from silently
//! keeping nothing (a pattern that matches no file, an unreadable list, a rule with no source),
//! `plan --base` against a base whose sources find a deleted version in use, and the schemas.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::snap::{self, Filters, Run};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn inventory() -> String {
    root().join("examples/inventory.json").display().to_string()
}

/// `retention ARGS` in `dir` (in_use paths are relative to the working directory).
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

fn plan_args<'a>(policy: &'a str, inventory: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "plan",
        "--policy",
        policy,
        "--inventory",
        inventory,
        "--now",
        "2026-11-20T00:00:00Z",
    ];
    args.extend_from_slice(extra);
    args
}

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    std::fs::write(&p, body).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

fn json(run: &Run) -> Value {
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr());
    serde_json::from_slice(&run.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"))
}

/// The version of `package` whose digest starts with `prefix`, in a JSON plan.
fn version<'a>(plan: &'a Value, package: &str, prefix: &str) -> &'a Value {
    plan["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == package))
        .and_then(|p| p["versions"].as_array())
        .and_then(|vs| {
            vs.iter()
                .find(|v| v["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        })
        .unwrap_or_else(|| panic!("no {package} {prefix} in the plan"))
}

#[test]
fn the_example_keeps_what_the_deployments_name_and_says_where() {
    let _filters = Filters::new().bind();
    let inv = inventory();
    let run = retention(
        &root(),
        &plan_args("examples/in-use/nightly.yml", &inv, &[]),
    );
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn the_json_plan_says_where_each_kept_version_is_used() {
    let inv = inventory();
    let plan = json(&retention(
        &root(),
        &plan_args("examples/in-use/nightly.yml", &inv, &["--format", "json"]),
    ));
    // Pinned by digest: main-3de6a38, which "older main builds expire" deletes without in_use.
    let pinned = version(&plan, "api", "sha256:43002744213e");
    assert_eq!(pinned["action"], "keep");
    assert_eq!(
        pinned["in_use"],
        serde_json::json!(["examples/in-use/deploy/prod/api.yaml:14"])
    );
    assert!(pinned["reasons"]
        .as_array()
        .is_some_and(|r| r.contains(&Value::from(
            "in use: examples/in-use/deploy/prod/api.yaml:14"
        ))));
    // Its platform manifests stay with it (kept by the graph, not named themselves).
    let baseline = json(&retention(
        &root(),
        &plan_args("policies/nightly-ghcr.yml", &inv, &["--format", "json"]),
    ));
    assert_eq!(
        version(&baseline, "api", "sha256:43002744213e")["action"],
        "delete"
    );
    let validator = plan_validator();
    let errors: Vec<String> = validator
        .iter_errors(&plan)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn an_in_use_list_keeps_a_digest_the_cluster_runs() {
    let dir = tempdir();
    let inv = inventory();
    // What `kubectl get pods -A -o jsonpath='{..imageID}'` prints: one line, space-separated.
    write(
        dir.path(),
        "running-images.txt",
        "docker-pullable://ghcr.io/acme/api@sha256:3ba597b030763babce94a021e65e9c83351bbc444a45636dced7c632f87f70e4 docker.io/library/redis@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    );
    write(
        dir.path(),
        "policy.yml",
        &std::fs::read_to_string(root().join("policies/nightly-ghcr.yml"))
            .unwrap_or_default()
            .replace(
                "rules:\n",
                "rules:\n  - name: what runs stays\n    keep: { in_use: true }\n",
            ),
    );
    let plan = json(&retention(
        dir.path(),
        &plan_args(
            "policy.yml",
            &inv,
            &["--in-use", "running-images.txt", "--format", "json"],
        ),
    ));
    let v = version(&plan, "api", "sha256:3ba597b03076");
    assert_eq!(v["action"], "keep");
    assert_eq!(v["in_use"], serde_json::json!(["running-images.txt:1"]));
}

#[test]
fn sources_that_find_nothing_are_errors() {
    let _filters = Filters::new().bind();
    let dir = tempdir();
    let inv = inventory();
    write(
        dir.path(),
        "deploy/api.yaml",
        "image: ghcr.io/acme/api:v2.0.1\n",
    );
    let policy = |in_use: &str| {
        format!(
            "version: 1\nowner: acme\npackages: {{ type: container, names: [\"api\"] }}\n{in_use}rules:\n  - name: what runs stays\n    keep: {{ in_use: true }}\n"
        )
    };
    write(
        dir.path(),
        "moved.yml",
        &policy("in_use: { files: [\"deploy/*.yaml\", \"charts/**/values*.yaml\"] }\n"),
    );
    write(dir.path(), "nosource.yml", &policy(""));
    let moved = retention(dir.path(), &plan_args("moved.yml", &inv, &[]));
    let list = retention(
        dir.path(),
        &plan_args("nosource.yml", &inv, &["--in-use", "running-images.txt"]),
    );
    let none = retention(dir.path(), &plan_args("nosource.yml", &inv, &[]));
    for run in [&moved, &list, &none] {
        assert_eq!(run.status.code(), Some(1), "{}", run.stderr());
        assert!(run.stdout.is_empty());
    }
    insta::assert_snapshot!(format!(
        "{}\n{}\n{}",
        moved.transcript(),
        list.transcript(),
        none.transcript()
    ));
}

#[test]
fn check_reports_a_bad_in_use_section_and_selector() {
    let _filters = Filters::new().bind();
    let dir = tempdir();
    write(
        dir.path(),
        "bad.yml",
        "version: 1\npackages: { type: npm, names: [\"lib\"] }\nin_use: { files: [\"deploy/[.yaml\"], list: [\"x\"] }\nrules:\n  - name: r\n    keep: { in_use: true }\n",
    );
    write(
        dir.path(),
        "empty.yml",
        "version: 1\npackages: { type: container, names: [\"api\"] }\nin_use: {}\nrules:\n  - name: r\n    keep: { in_use: yes }\n  - name: d\n    delete: { in_use: true }\n",
    );
    let run = retention(dir.path(), &["check", "bad.yml", "empty.yml"]);
    assert_eq!(run.status.code(), Some(1));
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn plan_base_warns_when_a_change_deletes_what_the_base_finds_in_use() {
    let inv = inventory();
    let run = retention(
        &root(),
        &plan_args(
            "policies/nightly-ghcr.yml",
            &inv,
            &["--base", "examples/in-use/nightly.yml", "--format", "json"],
        ),
    );
    let doc = json(&run);
    let stderr = run.stderr();
    assert!(
        stderr.contains("warning: api: this change deletes sha256:43002744213e (main-3de6a38), in use under the base policy's sources: examples/in-use/deploy/prod/api.yaml:14"),
        "{stderr}"
    );
    let api = doc["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "api"))
        .unwrap_or_else(|| panic!("no api"));
    assert!(api["warnings"]
        .as_array()
        .is_some_and(|w| w.iter().any(|w| w
            .as_str()
            .is_some_and(|w| w.starts_with("this change deletes sha256:43002744213e")))));
    // The same policy as its own base: nothing newly deleted, no such warning.
    let same = retention(
        &root(),
        &plan_args(
            "examples/in-use/nightly.yml",
            &inv,
            &["--base", "examples/in-use/nightly.yml"],
        ),
    );
    assert!(
        !same.stderr().contains("this change deletes"),
        "{}",
        same.stderr()
    );
}

fn plan_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/plan.schema.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("plan schema: {e}"));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("plan schema: {e}"))
}

#[test]
fn the_cluster_example_keeps_the_digests_its_list_names() {
    let inv = inventory();
    let plan = json(&retention(
        &root(),
        &plan_args(
            "examples/in-use/cluster.yml",
            &inv,
            &[
                "--in-use",
                "examples/in-use/running-images.txt",
                "--format",
                "json",
            ],
        ),
    ));
    for (package, digest) in [
        ("api", "sha256:3ba597b03076"),
        ("web", "sha256:a741cb6afc65"),
    ] {
        let v = version(&plan, package, digest);
        assert_eq!(v["action"], "keep", "{v}");
        assert_eq!(
            v["in_use"],
            serde_json::json!(["examples/in-use/running-images.txt:1"])
        );
    }
    // Without the list the rule has no source: an error, not a plan that keeps nothing in use.
    let run = retention(
        &root(),
        &plan_args("examples/in-use/cluster.yml", &inv, &[]),
    );
    assert_eq!(run.status.code(), Some(1));
}

#[test]
fn the_in_use_examples_validate_against_the_policy_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/policy.schema.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("policy schema: {e}"));
    let v = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("policy schema: {e}"));
    for name in ["nightly.yml", "cluster.yml"] {
        let path = root().join("examples/in-use").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            text.starts_with("# yaml-language-server: $schema=../../schema/policy.schema.json\n")
        );
        let docs = <saphyr::Yaml as saphyr::LoadableYamlNode>::load_from_str(&text)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let instance = docs
            .first()
            .map(crate::init::yaml_to_json)
            .unwrap_or(Value::Null);
        let errors: Vec<String> = v.iter_errors(&instance).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let check = retention(&root(), &["check", &path.display().to_string()]);
        assert_eq!(check.status.code(), Some(0), "{}", check.stderr());
    }
    // The schema sees the selector and the section as the parser does.
    let bad = serde_json::json!({"version": 1, "packages": {"type": "container", "names": ["a"]},
        "in_use": {"files": []}, "rules": [{"name": "r", "keep": {"in_use": "yes"}},
        {"name": "d", "delete": {"in_use": true}}]});
    assert_eq!(
        v.iter_errors(&bad).count(),
        3,
        "{:?}",
        v.iter_errors(&bad)
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
    let good = serde_json::json!({"version": 1, "packages": {"type": "container", "names": ["a"]},
        "rules": [{"name": "d", "delete": {"in_use": false, "untagged": true}}]});
    assert_eq!(v.iter_errors(&good).count(), 0);
}

/// The id of the version of `package` whose digest starts with `prefix`, in the example inventory.
fn example_id(package: &str, prefix: &str) -> u64 {
    let inv: Value =
        serde_json::from_str(&std::fs::read_to_string(inventory()).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    inv["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["package"]["name"] == package))
        .and_then(|p| p["versions"].as_array())
        .and_then(|vs| {
            vs.iter()
                .find(|v| v["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        })
        .and_then(|v| v["id"].as_u64())
        .unwrap_or_else(|| panic!("no {package} {prefix}"))
}

#[test]
fn apply_never_deletes_what_the_deployments_name() {
    use crate::support::github_server::{Config, GithubServer};
    let inv: Value =
        serde_json::from_str(&std::fs::read_to_string(inventory()).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    let server = GithubServer::start(
        &inv,
        Config {
            token: Some("t0ken".into()),
            ..Config::default()
        },
    );
    let dir = tempdir();
    // The example's deployments, naming the run's registry (here the local server, as ghcr.io).
    let host = server.url().trim_start_matches("http://").to_string();
    for f in ["prod/api.yaml", "staging/compose.yaml"] {
        let text = std::fs::read_to_string(root().join("examples/in-use/deploy").join(f))
            .unwrap_or_default()
            .replace("ghcr.io/", &format!("{host}/"));
        write(&dir.path().join("examples/in-use/deploy"), f, &text);
    }
    std::fs::copy(
        root().join("examples/in-use/nightly.yml"),
        dir.path().join("nightly.yml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args([
            "apply",
            "--policy",
            "nightly.yml",
            "--now",
            "2026-11-20T00:00:00Z",
        ])
        .arg("--registry")
        .arg(server.url())
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .arg("--journal")
        .arg(dir.path().join("journal.jsonl"))
        .current_dir(dir.path())
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", "t0ken")
        .env("RETENTION_TEST_TIME_SCALE", "0.001")
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_SERVER_URL")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("in use (the policy): 5 references to acme's images"),
        "{stderr}"
    );
    let deleted: Vec<u64> = server.deleted_ids().into_iter().map(|(_, id)| id).collect();
    // The nightly policy without in_use deletes main-3de6a38 (pinned by digest in
    // deploy/prod/api.yaml) and main-1dc35f1 (by tag in deploy/staging/compose.yaml).
    for (package, digest) in [
        ("api", "sha256:43002744213e"),
        ("api", "sha256:3ba597b03076"),
    ] {
        let id = example_id(package, digest);
        assert!(
            !deleted.contains(&id),
            "{digest} (id {id}) was deleted: {deleted:?}"
        );
    }
    // And the run did delete what the policy deletes.
    assert!(
        deleted.contains(&example_id("api", "sha256:9033d479856b")),
        "{deleted:?}"
    );
}

#[test]
fn sources_that_name_nothing_on_the_runs_registry_are_an_error_when_a_rule_keeps_what_is_in_use() {
    let inv = inventory();
    let run = retention(
        &root(),
        &plan_args(
            "examples/in-use/nightly.yml",
            &inv,
            &["--registry", "http://127.0.0.1:5000"],
        ),
    );
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr());
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr().contains("error: in use (the policy): no reference to acme's images on 127.0.0.1:5000 in 1 file pattern, and a rule keeps what is in use: it would keep nothing\n  help: a reference is REGISTRY/OWNER/PACKAGE"),
        "{}",
        run.stderr()
    );
    // Without a rule that selects by `in_use` (the references only warn when the plan deletes
    // what they name), it stays a warning.
    let dir = tempdir();
    write(
        dir.path(),
        "p.yml",
        &std::fs::read_to_string(root().join("examples/in-use/nightly.yml"))
            .unwrap_or_default()
            .replace("keep: { in_use: true }", "keep: { tags: [\"never\"] }")
            .replace("examples/in-use/deploy/**/*.yaml", "deploy/*.yaml"),
    );
    write(
        dir.path(),
        "deploy/a.yaml",
        "image: ghcr.io/acme/api:v2.0.1\n",
    );
    let run = retention(
        dir.path(),
        &plan_args("p.yml", &inv, &["--registry", "http://127.0.0.1:5000"]),
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr());
    assert!(
        run.stderr().contains("warning: in use (the policy): no reference to acme's images on 127.0.0.1:5000 in 1 file pattern\n  help: a reference is REGISTRY/OWNER/PACKAGE"),
        "{}",
        run.stderr()
    );
}

/// A policy over `api` keeping what is in use (from `in_use` of `section`) and deleting every
/// `main-*` build, with no `keep_newest`: only `in_use` keeps a main build.
fn main_builds_policy(section: &str) -> String {
    format!(
        "version: 1\nowner: acme\npackages: {{ type: container, names: [\"api\"] }}\n{section}rules:\n  - name: what runs stays\n    keep: {{ in_use: true }}\n  - name: main builds go\n    delete: {{ tags: [\"main-*\"] }}\nsafety: {{ keep_newest: 0 }}\n"
    )
}

#[test]
fn a_helm_values_file_keeps_the_tag_written_beside_the_repository() {
    let dir = tempdir();
    let inv = inventory();
    // Helm's layout (the review's reproduction): repository and tag on separate lines. Read as
    // `:latest`, this deleted main-b8e2a0d, the build deployed.
    write(
        dir.path(),
        "charts/api/values.yaml",
        "image:\n  repository: ghcr.io/acme/api\n  tag: main-b8e2a0d\n  pullPolicy: IfNotPresent\n",
    );
    // kustomize's images list.
    write(
        dir.path(),
        "deploy/kustomization.yaml",
        "images:\n  - name: ghcr.io/acme/api\n    newTag: main-1dc35f1\n",
    );
    write(
        dir.path(),
        "p.yml",
        &main_builds_policy(
            "in_use: { files: [\"charts/**/values*.yaml\", \"deploy/kustomization.yaml\"] }\n",
        ),
    );
    let plan = json(&retention(
        dir.path(),
        &plan_args("p.yml", &inv, &["--format", "json"]),
    ));
    for (digest, at) in [
        ("sha256:2850cd17a5e5", "charts/api/values.yaml:2"),
        ("sha256:3ba597b03076", "deploy/kustomization.yaml:2"),
    ] {
        let v = version(&plan, "api", digest);
        assert_eq!(v["action"], "keep", "{v}");
        assert_eq!(v["in_use"], serde_json::json!([at]), "{v}");
    }
    // The rule deletes the other main builds.
    assert_eq!(
        version(&plan, "api", "sha256:43002744213e")["action"],
        "delete"
    );
}

#[test]
fn what_in_use_cannot_read_is_an_error_when_a_rule_keeps_what_is_in_use() {
    let _filters = Filters::new().bind();
    let dir = tempdir();
    let inv = inventory();
    // `helm create`'s default `tag: ""` (the chart's appVersion decides) and a bare image.
    write(
        dir.path(),
        "charts/api/values.yaml",
        "image:\n  repository: ghcr.io/acme/api\n  tag: \"\"\n",
    );
    write(
        dir.path(),
        "deploy/api.yaml",
        "containers:\n  - image: ghcr.io/acme/api\n",
    );
    write(
        dir.path(),
        "p.yml",
        &main_builds_policy("in_use: { files: [\"charts/**/values*.yaml\", \"deploy/*.yaml\"] }\n"),
    );
    // What `kubectl … | tr` writes when kubectl fails: an empty list.
    write(dir.path(), "running-images.txt", "");
    write(dir.path(), "cluster.yml", &main_builds_policy(""));
    let unread = retention(dir.path(), &plan_args("p.yml", &inv, &[]));
    let empty = retention(
        dir.path(),
        &plan_args("cluster.yml", &inv, &["--in-use", "running-images.txt"]),
    );
    for run in [&unread, &empty] {
        assert_eq!(run.status.code(), Some(1), "{}", run.stderr());
        assert!(run.stdout.is_empty());
    }
    insta::assert_snapshot!(format!("{}\n{}", unread.transcript(), empty.transcript()));
    // An empty list beside a source that names something is still an error: that list's step
    // failed.
    write(
        dir.path(),
        "deploy/api.yaml",
        "image: ghcr.io/acme/api:v2.0.1\n",
    );
    write(
        dir.path(),
        "both.yml",
        &main_builds_policy("in_use: { files: [\"deploy/*.yaml\"] }\n"),
    );
    let run = retention(
        dir.path(),
        &plan_args("both.yml", &inv, &["--in-use", "running-images.txt"]),
    );
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("the list running-images.txt names none of acme's images"),
        "{}",
        run.stderr()
    );
}

/// The `run` script and `shell` of the step named `name` in a workflow file.
fn workflow_step(path: &Path, name: &str) -> (String, Option<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs = <saphyr::Yaml as saphyr::LoadableYamlNode>::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = docs
        .first()
        .map(crate::init::yaml_to_json)
        .unwrap_or(Value::Null);
    let step = doc["jobs"]
        .as_object()
        .into_iter()
        .flat_map(|jobs| jobs.values())
        .filter_map(|job| job["steps"].as_array())
        .flatten()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step `{name}` in {}", path.display()));
    (
        step["run"].as_str().unwrap_or_default().to_string(),
        step["shell"].as_str().map(String::from),
    )
}

#[test]
fn the_cluster_workflow_stops_when_kubectl_fails_or_lists_nothing() {
    let (script, shell) = workflow_step(
        &root().join("examples/workflows/in-use-cluster.yml"),
        "list the running images",
    );
    // Without `shell:`, GitHub runs `bash -e {0}`: no pipefail, so `kubectl | tr` succeeds.
    assert_eq!(shell.as_deref(), Some("bash"));
    let dir = tempdir();
    std::fs::create_dir_all(dir.path().join("bin")).unwrap_or_else(|e| panic!("{e}"));
    let kubectl = dir.path().join("bin/kubectl");
    let path = format!(
        "{}:{}",
        dir.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // What `shell: bash` runs: `bash --noprofile --norc -eo pipefail {0}`.
    let run = |body: &str| {
        write(dir.path(), "bin/kubectl", &format!("#!/bin/sh\n{body}\n"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let _ = std::fs::remove_file(dir.path().join("running-images.txt"));
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
            .env("PATH", &path)
            .env("RUNNER_TEMP", dir.path())
            .env("KUBECONFIG_DATA", "apiVersion: v1")
            .output()
            .unwrap_or_else(|e| panic!("bash: {e}"));
        assert!(
            !dir.path().join("kubeconfig").exists(),
            "the kubeconfig is left behind"
        );
        out
    };
    let failed =
        run("echo 'error: You must be logged in to the server (Unauthorized)' >&2; exit 1");
    assert!(
        !failed.status.success(),
        "a failing kubectl passed the step"
    );
    let nothing = run("exit 0");
    assert!(!nothing.status.success(), "an empty list passed the step");
    let ok = run("printf '%s' 'docker-pullable://ghcr.io/acme/api@sha256:3ba597b030763babce94a021e65e9c83351bbc444a45636dced7c632f87f70e4 docker.io/library/redis:7'");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let list = std::fs::read_to_string(dir.path().join("running-images.txt")).unwrap_or_default();
    assert_eq!(list.lines().count(), 2, "{list}");
}

#[cfg(unix)]
#[test]
fn the_walk_reads_linked_files_ignores_global_excludes_and_names_unfollowed_links() {
    let dir = tempdir();
    let repo = dir.path().join("repo");
    let home = dir.path().join("home");
    let inv = inventory();
    write(&repo, "deploy/api.yaml", "image: ghcr.io/acme/api:v2.0.1\n");
    write(
        &repo,
        "shared/web.yaml",
        "image: ghcr.io/acme/api:main-1dc35f1\n",
    );
    write(
        &repo,
        "elsewhere/cli.yaml",
        "image: ghcr.io/acme/api:main-3de6a38\n",
    );
    let link = |target: &str, at: &str| {
        std::os::unix::fs::symlink(target, repo.join(at)).unwrap_or_else(|e| panic!("{at}: {e}"))
    };
    link("../shared/web.yaml", "deploy/web.yaml");
    link("../elsewhere", "deploy/more");
    // This machine's global excludes (git's default place for them) ignore the deploy file.
    write(&home, ".config/git/ignore", "deploy/api.yaml\n");
    write(
        &repo,
        "p.yml",
        &main_builds_policy("in_use: { files: [\"deploy/**/*.yaml\"] }\n"),
    );
    let run = snap::run(
        Command::new(env!("CARGO_BIN_EXE_retention"))
            .args(plan_args("p.yml", &inv, &["--format", "json"]))
            .current_dir(&repo)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_SERVER_URL")
            .env_remove("GITHUB_REPOSITORY_OWNER"),
    );
    let plan = json(&run);
    let stderr = run.stderr();
    assert!(
        stderr.contains("in use (the policy): 2 references to acme's images in 1 file pattern"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: in use (the policy): links to directories are not followed, and a file pattern may name files in it: deploy/more\n  help: "),
        "{stderr}"
    );
    // The linked file is read, under its own path.
    let linked = version(&plan, "api", "sha256:3ba597b03076");
    assert_eq!(linked["in_use"], serde_json::json!(["deploy/web.yaml:1"]));
    // The file the global excludes name is read all the same.
    let release = version(&plan, "api", "sha256:d752e3b0aa92");
    assert_eq!(release["in_use"], serde_json::json!(["deploy/api.yaml:1"]));
    // The linked directory is not entered.
    assert_eq!(
        version(&plan, "api", "sha256:43002744213e")["action"],
        "delete"
    );
}
