//! Removing tags against the local GitHub server and its in-memory ghcr.io face
//! (tests/it/support/ghcr_face.rs), for what a real registry cannot stage: a placeholder left by a
//! killed run (deleted by the next run; finished by `restore`), a token without push scope, GitHub
//! refusing to delete the placeholder, a tag pushed again since the plan, and `--max-untags`.

use crate::support::github_server;

use std::path::Path;
use std::process::Command;

// The API and the registry are one origin here: the API filters cover both.
use crate::support::snap::{self, api_filters as filters, text, Filters, Run};

use github_server::{Config, GithubServer};
use retention::registry::push::{placeholder, OCI_MANIFEST};
use retention::registry::{Credentials, RegistryClient, Secret};
use serde_json::{json, Value};

const TOKEN: &str = "ghp_untagAPIsecret0123456789";
const NOW: &str = "2026-11-20T00:00:00Z";
const REPO: &str = "acme/app";

fn sha256(text: &str) -> String {
    retention::registry::push::sha256_digest(text.as_bytes())
}

/// A platform image manifest (its config blob is taken as present by the face).
fn image(arch: &str) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2}},"layers":[],"annotations":{{"arch":"{arch}"}}}}"#,
        "1".repeat(64)
    )
}

struct Fx {
    inventory: Value,
    index: String,
    amd: String,
    /// The single-tagged image `solo` (tag `pr-9`).
    solo: String,
}

/// Package `app`: an index (id 14) tagged `v1.0` and `pr-1` with two platform manifests (13, 12),
/// and an image (11) tagged `pr-9` only.
fn fixture() -> Fx {
    let (amd, arm, solo) = (image("amd64"), image("arm64"), image("solo"));
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux"}}}}]}}"#,
        sha256(&amd),
        amd.len(),
        sha256(&arm),
        arm.len()
    );
    let v = |id: u64, text: &str, tags: &[&str]| {
        json!({"id": id, "name": sha256(text), "url": "u", "package_html_url": "h",
            "created_at": "2026-06-01T00:00:00Z", "updated_at": "2026-06-01T00:00:00Z",
            "metadata": {"package_type": "container", "container": {"tags": tags}}})
    };
    let manifests: serde_json::Map<String, Value> = [&index, &amd, &arm, &solo]
        .iter()
        .map(|m| (sha256(m), Value::String((*m).clone())))
        .collect();
    let inventory = json!({"schema": 1, "owner": "acme", "captured_at": NOW, "packages": [{
        "package": {"id": 1, "name": "app", "package_type": "container", "visibility": "private", "url": "u", "html_url": "h", "version_count": 4, "created_at": NOW, "updated_at": NOW},
        "versions": [
            v(14, &index, &["v1.0", "pr-1"]),
            v(13, &amd, &[]),
            v(12, &arm, &[]),
            v(11, &solo, &["pr-9"])],
        "manifests": manifests}]});
    Fx {
        inventory,
        index,
        amd,
        solo,
    }
}

fn server(fx: &Fx, f: impl FnOnce(&mut Config)) -> GithubServer {
    let mut config = Config {
        token: Some(TOKEN.into()),
        ..Config::default()
    };
    f(&mut config);
    GithubServer::start(&fx.inventory, config)
}

fn retention(server: &GithubServer, dir: &Path, args: &[&str]) -> Run {
    retention_env(server, dir, args, &[])
}

fn retention_env(server: &GithubServer, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let o = snap::run(
        Command::new(env!("CARGO_BIN_EXE_retention"))
            .args(args)
            .args(["--registry", &server.url()])
            .current_dir(dir)
            .env("GITHUB_API_URL", server.url())
            .env("GITHUB_TOKEN", TOKEN)
            .env("RETENTION_TEST_TIME_SCALE", "0.01")
            .env("RETENTION_CACHE_DIR", dir.join("cache"))
            .env_remove("GITHUB_REPOSITORY_OWNER")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_RUN_ID")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied()),
    );
    for stream in [&o.stdout, &o.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains(TOKEN),
            "token leaked"
        );
    }
    o
}

/// A plan keeping every version of `fx`, removing `untags` ((version id, tag)).
fn write_plan(dir: &Path, fx: &Fx, untags: &[(u64, &str)]) {
    let versions: Vec<Value> = fx.inventory["packages"][0]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let id = v["id"].as_u64().unwrap_or(0);
            let tags: Vec<&str> = untags
                .iter()
                .filter(|(i, _)| *i == id)
                .map(|(_, t)| *t)
                .collect();
            json!({"id": id, "name": v["name"], "tags": v["metadata"]["container"]["tags"],
                "created_at": v["created_at"], "updated_at": v["updated_at"], "action": "keep",
                "reasons": ["releases stay"], "untag": tags})
        })
        .collect();
    let plan = json!({"schema": 1, "owner": "acme", "generated_at": NOW, "policy_sha256": "0",
        "summary": {"packages": 1, "versions": versions.len(), "delete": 0, "keep": versions.len(), "untag": untags.len()},
        "packages": [{"name": "app", "type": "container", "versions": versions}]});
    std::fs::write(dir.join("plan.json"), plan.to_string()).expect("write the plan");
}

fn apply_plan(server: &GithubServer, dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["apply", "--plan", "plan.json", "--journal", "journal.jsonl"];
    args.extend_from_slice(extra);
    retention(server, dir, &args)
}

fn journal(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn outcomes(dir: &Path) -> Vec<String> {
    journal(dir)
        .iter()
        .filter_map(|l| l["outcome"].as_str().map(str::to_string))
        .collect()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn registry(server: &GithubServer) -> RegistryClient {
    RegistryClient::new(
        &server.url(),
        Some(Credentials::new("x", Secret::new(TOKEN))),
    )
    .expect("a registry client")
}

/// The digest `tag` names on the face, or None.
fn tag_digest(server: &GithubServer, tag: &str) -> Option<String> {
    rt().block_on(registry(server).tag_digest(REPO, tag))
        .expect("the face answers")
}

/// What a run killed after pushing its placeholder leaves: `tag` moved to a placeholder of
/// `original`. Returns the placeholder's digest.
fn push_placeholder(server: &GithubServer, tag: &str, original: &str) -> String {
    let p = placeholder("killed-run", tag, original);
    let r = registry(server);
    rt().block_on(async {
        r.ensure_empty_blob(REPO).await.expect("empty blob");
        r.put_manifest(REPO, tag, OCI_MANIFEST, &p.bytes)
            .await
            .expect("placeholder PUT");
    });
    p.digest
}

fn deletes(server: &GithubServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.clone())
        .collect()
}

#[test]
fn the_face_moves_a_tag_to_a_new_version_and_only_with_push_scope() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let index = sha256(&fx.index);
    assert_eq!(tag_digest(&server, "pr-1"), Some(index.clone()));
    let p = push_placeholder(&server, "pr-1", &index);
    assert_eq!(tag_digest(&server, "pr-1"), Some(p.clone()));
    assert_eq!(tag_digest(&server, "v1.0"), Some(index));
    // The token realm was asked for push.
    assert!(server
        .requests()
        .iter()
        .any(|r| r.endpoint == "registry GET token" && r.path.contains("push")));

    let read_only = server_with_push(&fx, false);
    let r = registry(&read_only);
    let err = rt()
        .block_on(r.put_manifest(
            REPO,
            "pr-1",
            OCI_MANIFEST,
            &placeholder("r", "pr-1", "x").bytes,
        ))
        .expect_err("a token without push scope");
    assert!(err.denied, "{err}");
    assert!(err.to_string().contains("packages: write"), "{err}");
}

fn server_with_push(fx: &Fx, push: bool) -> GithubServer {
    server(fx, |c| c.registry_push = push)
}

/// `apply --policy P` on the fixture, with a placeholder a killed run left holding pr-1.
fn sweep_run(policy: &str) -> (Fx, GithubServer, tempfile::TempDir, String, Run) {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let dir = tempfile::tempdir().expect("tempdir");
    let left = push_placeholder(&server, "pr-1", &sha256(&fx.index));
    let o = apply_policy(&server, dir.path(), policy);
    (fx, server, dir, left, o)
}

#[test]
fn a_placeholder_left_by_a_killed_run_gives_the_tag_back_when_the_policy_keeps_it() {
    // The policy names only v*: it does not remove pr-1, so pr-1 goes back on the index.
    let policy = "version: 1\nowner: acme\npackages: { type: container, names: [app] }\nrules:\n  - name: releases stay\n    keep: { tags: [\"v*\"] }\n";
    let (fx, server, dir, left, o) = sweep_run(policy);
    let _filters = filters(&server);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    let index = sha256(&fx.index);
    // The placeholder, untagged by the re-tag, is deleted (it was the newest version: 15).
    assert_eq!(server.deleted_ids(), [("app".to_string(), 15)]);
    assert_eq!(tag_digest(&server, "pr-1"), Some(index.clone()));
    assert_eq!(tag_digest(&server, "v1.0"), Some(index.clone()));
    let lines = journal(dir.path());
    assert_eq!(outcomes(dir.path()), ["retagged"], "{lines:?}");
    assert_eq!(lines[0]["name"], index.as_str());
    assert_eq!(lines[0]["id"], 14);
    assert_eq!(lines[0]["untag"]["placeholder"], left.as_str());
    // The next run finds nothing more to sweep.
    let o = apply_policy(&server, dir.path(), policy);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert_eq!(server.deleted_ids().len(), 1);
}

#[test]
fn a_placeholder_left_by_a_killed_run_finishes_the_removal_when_the_policy_removes_the_tag() {
    let (fx, server, dir, left, o) = sweep_run(PR_POLICY);
    let _filters = filters(&server);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Only the placeholder was deleted: pr-1 goes with it; solo (pr-9) goes by the policy.
    let deleted: Vec<u64> = server.deleted_ids().into_iter().map(|(_, id)| id).collect();
    assert!(
        deleted.contains(&15) && !deleted.contains(&14),
        "{deleted:?}"
    );
    assert_eq!(tag_digest(&server, "pr-1"), None);
    assert_eq!(tag_digest(&server, "v1.0"), Some(sha256(&fx.index)));
    let lines = journal(dir.path());
    let swept: Vec<&Value> = lines
        .iter()
        .filter(|l| l["untag"]["placeholder"] == left.as_str())
        .collect();
    assert_eq!(swept.len(), 1, "{lines:?}");
    assert_eq!(swept[0]["outcome"], "untagged");
}

#[test]
fn restore_puts_back_a_tag_a_killed_run_moved_and_deletes_its_placeholder() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    let index = sha256(&fx.index);
    let left = push_placeholder(&server, "pr-1", &index);
    // The run was killed after journaling its attempt and pushing: no outcome line.
    let line = json!({"owner": "acme", "scope": "/orgs/acme", "package": "app", "type": "container",
        "id": 14, "name": index, "tags": ["v1.0", "pr-1"], "outcome": "untag_attempted",
        "message": "", "time": "2026-11-20T00:00:00Z",
        "untag": {"tag": "pr-1", "placeholder": left}});
    std::fs::write(dir.path().join("journal.jsonl"), format!("{line}\n")).expect("journal");
    let o = retention(
        &server,
        dir.path(),
        &["restore", "--journal", "journal.jsonl"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert_eq!(tag_digest(&server, "pr-1"), Some(index));
    // The placeholder, untagged by the re-tag, is deleted.
    assert_eq!(server.deleted_ids(), [("app".to_string(), 15)]);
    assert_eq!(outcomes(dir.path()), ["untag_attempted", "retagged"]);
}

#[test]
fn a_token_that_cannot_push_stops_the_untags_and_says_which_permission() {
    let fx = fixture();
    let server = server_with_push(&fx, false);
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    write_plan(dir.path(), &fx, &[(14, "pr-1")]);
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert!(deletes(&server).is_empty());
    assert_eq!(tag_digest(&server, "pr-1"), Some(sha256(&fx.index)));
    assert_eq!(outcomes(dir.path()), ["untag_attempted", "untag_failed"]);
}

#[test]
fn when_github_refuses_to_delete_the_placeholder_the_tag_goes_back() {
    // The index loses both its tags, then `solo` its only one: the placeholder that takes `pr-9`
    // holds the package's last tag, which GitHub refuses to delete.
    let fx = fixture();
    let server = server(&fx, |c| {
        c.last_tagged_rule = true;
    });
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    write_plan(dir.path(), &fx, &[(14, "v1.0"), (14, "pr-1"), (11, "pr-9")]);
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    // v1.0 and pr-1 are gone; pr-9, refused, is back on its image; no placeholder is left.
    assert_eq!(tag_digest(&server, "v1.0"), None);
    assert_eq!(tag_digest(&server, "pr-1"), None);
    assert_eq!(tag_digest(&server, "pr-9"), Some(sha256(&fx.solo)));
    assert_eq!(
        server.deleted_ids(),
        [
            ("app".to_string(), 15),
            ("app".to_string(), 16),
            ("app".to_string(), 17)
        ]
    );
}

#[test]
fn a_tag_pushed_again_since_the_plan_is_not_taken_away() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    write_plan(dir.path(), &fx, &[(14, "pr-1")]);
    // Since the plan, pr-1 was pushed again: it names the amd64 image now.
    let r = registry(&server);
    rt().block_on(r.put_manifest(REPO, "pr-1", OCI_MANIFEST, &fx.amd))
        .expect("push");
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert_eq!(tag_digest(&server, "pr-1"), Some(sha256(&fx.amd)));
    assert!(deletes(&server).is_empty());
}

#[test]
fn max_untags_refuses_a_larger_plan_before_anything_is_done() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    write_plan(dir.path(), &fx, &[(14, "pr-1"), (11, "pr-9")]);
    let o = apply_plan(&server, dir.path(), &["--max-untags", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert!(server.requests().iter().all(|r| r.method == "GET"));
    assert_eq!(tag_digest(&server, "pr-1"), Some(sha256(&fx.index)));
}

/// `apply --policy` on the fixture with `v1.0`, `pr-1` and `latest` on the index (two tags
/// that might go before the manifests are read; the plan removes one: `pr-1`) and the policy
/// "releases stay, pull requests go", with `extra` flags.
fn apply_policy_with_latest(extra: &[&str]) -> (GithubServer, Fx, Run) {
    let mut fx = fixture();
    fx.inventory["packages"][0]["versions"][0]["metadata"]["container"]["tags"] =
        json!(["v1.0", "pr-1", "latest"]);
    let server = server(&fx, |_| {});
    let dir = tempfile::tempdir().expect("tempdir");
    let o = apply_policy_with(
        &server,
        dir.path(),
        "version: 1\nowner: acme\npackages: { type: container, names: [app] }\nrules:\n  - name: releases stay\n    keep: { tags: [\"v*\", latest] }\n  - name: pull requests go\n    delete: { tags: [\"pr-*\"], older_than: 1d }\nsafety: { keep_newest: 0, min_age: 0s }\n",
        extra,
    );
    (server, fx, o)
}

/// `apply --policy` deletes while it reads (the pipeline) only when the tag removals known
/// possible before any manifest is read fit max_untags: a plan over it deletes nothing either.
#[test]
fn apply_policy_over_max_untags_deletes_nothing() {
    let (server, fx, o) = apply_policy_with_latest(&["--max-untags", "0"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let _filters = filters(&server);
    insta::assert_snapshot!(o.transcript());
    assert!(deletes(&server).is_empty(), "{}", text(&o));
    assert_eq!(tag_digest(&server, "pr-1"), Some(sha256(&fx.index)));
}

/// Over the bound but within max_untags: every manifest is read first, then the plan is carried
/// out whole (the deletion of `pr-9`, the removal of `pr-1`).
#[test]
fn apply_policy_within_max_untags_but_over_the_bound_reads_first_and_applies() {
    let (server, fx, o) = apply_policy_with_latest(&["--max-untags", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    {
        // Read first, then applied whole: no "package by package".
        let _filters = filters(&server);
        insta::assert_snapshot!(o.transcript());
    }
    // 11, then the placeholder (15) that took `pr-1` away from the index.
    let deleted = [("app".to_string(), 11), ("app".to_string(), 15)];
    assert_eq!(server.deleted_ids(), deleted);
    assert_eq!(tag_digest(&server, "pr-1"), None);
    assert_eq!(tag_digest(&server, "latest"), Some(sha256(&fx.index)));
    // Within the bound: deleted package by package, with the same outcome.
    let (server, fx, o) = apply_policy_with_latest(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    {
        let _filters = filters(&server);
        insta::assert_snapshot!(o.transcript());
    }
    assert_eq!(server.deleted_ids(), deleted);
    assert_eq!(tag_digest(&server, "pr-1"), None);
    assert_eq!(tag_digest(&server, "v1.0"), Some(sha256(&fx.index)));
}

/// Another actor tags an image after `apply --policy` listed it and before its DELETE (a release
/// made by tagging an old build): the version is read again right before its DELETE, found
/// re-tagged, and kept; the rest of the plan goes on. Without that re-read it was deleted, and
/// the release with it.
#[test]
fn apply_policy_keeps_an_image_tagged_by_another_actor_after_the_listing() {
    let fx = fixture();
    // 11 (`pr-9` only) is to be deleted; `v1.1` is pushed onto it once the package is listed.
    let server = server(&fx, |c| c.tag_after_listing = vec![(11, "v1.1".into())]);
    let dir = tempfile::tempdir().expect("tempdir");
    let o = apply_policy(
        &server,
        dir.path(),
        "version: 1\nowner: acme\npackages: { type: container, names: [app] }\nrules:\n  - name: releases stay\n    keep: { tags: [\"v*\"] }\n  - name: pull requests go\n    delete: { tags: [\"pr-*\"], older_than: 1d }\nsafety: { keep_newest: 0, min_age: 0s }\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stderr = o.stderr();
    assert!(
        stderr.contains("tags changed since the plan was made: [pr-9] then, [pr-9, v1.1] now"),
        "{stderr}"
    );
    // Nothing of 11 was deleted; `pr-1` still left the index (its placeholder, 15, deleted).
    assert_eq!(server.deleted_ids(), [("app".to_string(), 15)]);
    assert_eq!(tag_digest(&server, "v1.1"), Some(sha256(&fx.solo)));
    assert_eq!(tag_digest(&server, "pr-9"), Some(sha256(&fx.solo)));
    assert_eq!(tag_digest(&server, "pr-1"), None);
    assert!(outcomes(dir.path()).contains(&"skipped".to_string()));
}

/// The cost of removing tags, measured (bench/untag_requests.sh prints it): API requests and
/// registry requests per untag, for `UNTAG_N` tags (default 20) of one image, in one run.
#[test]
fn requests_per_untag() {
    let n: usize = std::env::var("UNTAG_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut fx = fixture();
    let tags: Vec<String> = (1..=n).map(|i| format!("build-{i}")).collect();
    let mut all = vec!["v1.0".to_string(), "pr-1".to_string()];
    all.extend(tags.iter().cloned());
    fx.inventory["packages"][0]["versions"][0]["metadata"]["container"]["tags"] = json!(all);
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    let untags: Vec<(u64, &str)> = tags.iter().map(|t| (14, t.as_str())).collect();
    write_plan(dir.path(), &fx, &untags);
    server.clear_requests();
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    if n == 20 {
        insta::assert_snapshot!(o.transcript());
    }
    let requests = server.requests();
    let count = |f: &dyn Fn(&str) -> bool| requests.iter().filter(|r| f(&r.endpoint)).count();
    let api = count(&|e| e == "GET versions" || e == "DELETE version");
    let setup =
        count(&|e| !e.starts_with("registry") && e != "GET versions" && e != "DELETE version");
    let registry = count(&|e| e.starts_with("registry"));
    let tokens = count(&|e| e == "registry GET token");
    let challenges = requests
        .iter()
        .filter(|r| r.endpoint.starts_with("registry") && r.status == 401)
        .count();
    let per = |x: usize| x as f64 / n as f64;
    println!(
        "untag cost: {n} untags: {api} API requests = {:.2} per untag (a deletion costs 2, its re-read and its DELETE: ratio {:.2}); \
         registry {registry} requests = {:.2} per untag ({tokens} token requests and {challenges} 401 challenges once per run and repository); \
         {setup} API requests to find the owner's scope, once per run",
        per(api),
        per(api) / 2.0,
        per(registry)
    );
    assert_eq!(api, 2 * n, "2 API requests per untag");
    // A progress line every few seconds (50 ms at the test time scale).
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("/{n} tags: ")), "{err}");
    assert_eq!(tag_digest(&server, "v1.0"), Some(sha256(&fx.index)));
    assert_eq!(tag_digest(&server, "pr-1"), Some(sha256(&fx.index)));
    for t in &tags {
        assert_eq!(tag_digest(&server, t), None, "{t}");
    }
}

#[test]
fn untags_stop_when_the_rate_budget_runs_out_and_the_next_run_continues() {
    let mut fx = fixture();
    fx.inventory["packages"][0]["versions"][0]["metadata"]["container"]["tags"] =
        json!(["v1.0", "pr-1", "b1", "b2", "b3"]);
    // One request finds the owner; then 15 left: two untags (2 each) fit above the reserve of 10.
    let server = server(&fx, |c| c.rate_remaining = 16);
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    write_plan(dir.path(), &fx, &[(14, "b1"), (14, "b2"), (14, "b3")]);
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert_eq!(tag_digest(&server, "b1"), None);
    assert_eq!(tag_digest(&server, "b2"), None);
    assert_eq!(tag_digest(&server, "b3"), Some(sha256(&fx.index)));
}

const PR_POLICY: &str = "version: 1\nowner: acme\npackages: { type: container, names: [app] }\nrules:\n  - name: releases stay\n    keep: { tags: [\"v*\"] }\n  - name: pull requests go\n    delete: { tags: [\"pr-*\"] }\nsafety: { keep_newest: 0, min_age: 0s }\n";

#[test]
fn apply_with_a_policy_removes_the_tags_the_policy_removes() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("p.yml"), PR_POLICY).expect("policy");
    // In a runner: the `untagged` output reaches the workflow.
    let temp = dir.path().join("runner-temp");
    std::fs::create_dir_all(&temp).expect("temp");
    let outputs = dir.path().join("outputs");
    let summary = dir.path().join("summary.md");
    let o = retention_env(
        &server,
        dir.path(),
        &[
            "apply",
            "--policy",
            "p.yml",
            "--now",
            NOW,
            "--journal",
            "journal.jsonl",
        ],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", &outputs.to_string_lossy()),
            ("GITHUB_STEP_SUMMARY", &summary.to_string_lossy()),
            ("RUNNER_TEMP", &temp.to_string_lossy()),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    let out = std::fs::read_to_string(&outputs).unwrap_or_default();
    assert!(out.lines().any(|l| l == "untagged=1"), "{out}");
    assert!(out.lines().any(|l| l == "deleted=1"), "{out}");
    // The index loses pr-1 and keeps v1.0; solo, whose only tag is pr-9, is deleted.
    assert_eq!(tag_digest(&server, "pr-1"), None);
    assert_eq!(tag_digest(&server, "v1.0"), Some(sha256(&fx.index)));
    assert_eq!(tag_digest(&server, "pr-9"), None);
    assert_eq!(
        server.deleted_ids(),
        [("app".to_string(), 11), ("app".to_string(), 15)],
        "solo and the placeholder"
    );
    assert_eq!(
        outcomes(dir.path()),
        ["attempted", "deleted", "untag_attempted", "untagged"]
    );
}

#[test]
fn apply_plan_with_the_policy_removes_only_the_tags_both_remove() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("p.yml"), PR_POLICY).expect("policy");
    let o = retention(
        &server,
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
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).expect("plan"))
            .expect("plan JSON");
    assert_eq!(plan["summary"]["untag"], 1, "{plan}");
    // Since the plan, the policy came to keep pr-1.
    std::fs::write(
        dir.path().join("now.yml"),
        PR_POLICY.replace("[\"v*\"]", "[\"v*\", \"pr-1\"]"),
    )
    .expect("policy");
    let o = apply_plan(&server, dir.path(), &["--policy", "now.yml", "--now", NOW]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert_eq!(tag_digest(&server, "pr-1"), Some(sha256(&fx.index)));
    // solo goes: both delete it.
    assert_eq!(server.deleted_ids(), [("app".to_string(), 11)]);
}

#[test]
fn a_placeholder_that_cannot_be_deleted_fails_the_untag_and_restore_undoes_it() {
    let fx = fixture();
    // Every attempt at the first DELETE answers 500 (the client tries 6 times).
    let server = server(&fx, |c| {
        c.faults = (0..6)
            .map(|nth| github_server::Fault {
                endpoint: "DELETE version".into(),
                nth,
                kind: github_server::FaultKind::Status500,
            })
            .collect();
    });
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    write_plan(dir.path(), &fx, &[(14, "pr-1")]);
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let lines = journal(dir.path());
    assert_eq!(outcomes(dir.path()), ["untag_attempted", "untag_failed"]);
    let placeholder = lines[1]["untag"]["placeholder"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    {
        // A placeholder is unique to its run (its digest differs from run to run): the one the
        // journal names.
        let _placeholder = Filters::new()
            .add(&regex::escape(&placeholder), "[PLACEHOLDER]")
            .bind();
        insta::assert_snapshot!(o.transcript());
    }
    assert_eq!(lines[1]["untag"]["placeholder_id"], 15);
    // The tag moved to the placeholder, which stays.
    assert_eq!(tag_digest(&server, "pr-1"), Some(placeholder));
    assert!(server.deleted_ids().is_empty());
    // restore puts the tag back and deletes the placeholder by its id.
    let o = retention(
        &server,
        dir.path(),
        &["restore", "--journal", "journal.jsonl"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert_eq!(tag_digest(&server, "pr-1"), Some(sha256(&fx.index)));
    assert_eq!(server.deleted_ids(), [("app".to_string(), 15)]);
    assert_eq!(
        outcomes(dir.path()),
        ["untag_attempted", "untag_failed", "retagged"]
    );
}

#[test]
fn an_artifact_tag_is_never_removed_on_its_own() {
    let mut fx = fixture();
    let sig = format!("{}.sig", sha256(&fx.solo).replacen(':', "-", 1));
    fx.inventory["packages"][0]["versions"][0]["metadata"]["container"]["tags"] =
        json!(["v1.0", "pr-1", sig]);
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    write_plan(dir.path(), &fx, &[(14, sig.as_str())]);
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert_eq!(tag_digest(&server, &sig), Some(sha256(&fx.index)));
    assert!(server.requests().iter().all(|r| r.method != "PUT"));
}

/// Delete version `id` of `app` through the API, as another actor (or the web UI) would.
fn delete_behind_our_back(server: &GithubServer, id: u64) {
    let url = format!(
        "{}/orgs/acme/packages/container/app/versions/{id}",
        server.url()
    );
    let status = rt()
        .block_on(
            reqwest::Client::new()
                .delete(url)
                .bearer_auth(TOKEN)
                .header("user-agent", "another-actor")
                .send(),
        )
        .expect("the server answers")
        .status();
    assert_eq!(status.as_u16(), 204, "deleting version {id}");
}

fn manifest_puts(server: &GithubServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.endpoint == "registry PUT manifest")
        .map(|r| r.path.clone())
        .collect()
}

#[test]
fn restore_refuses_to_put_a_tag_back_on_an_image_whose_parts_are_gone() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    write_plan(dir.path(), &fx, &[(14, "pr-1")]);
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Since, another actor deleted the amd64 platform manifest: the index cannot be pulled.
    delete_behind_our_back(&server, 13);
    server.clear_requests();
    let o = retention(
        &server,
        dir.path(),
        &["restore", "--journal", "journal.jsonl"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert!(manifest_puts(&server).is_empty(), "nothing is pushed");
    assert_eq!(tag_digest(&server, "pr-1"), None);
    assert_eq!(
        outcomes(dir.path()),
        ["untag_attempted", "untagged", "retag_failed"]
    );

    // The index itself deleted: refused too, and it says so.
    delete_behind_our_back(&server, 14);
    server.clear_requests();
    let o = retention(
        &server,
        dir.path(),
        &["restore", "--journal", "journal.jsonl"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        o.stderr().contains("is no longer in the registry (deleted since, and not by this journal's run): the tag is not put back on it"),
        "{}",
        text(&o)
    );
    assert!(manifest_puts(&server).is_empty(), "nothing is pushed");
    assert_eq!(tag_digest(&server, "pr-1"), None);
}

#[test]
fn restore_with_a_token_that_cannot_push_stops_at_the_first_tag_with_exit_2() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    write_plan(dir.path(), &fx, &[(14, "pr-1"), (11, "pr-9")]);
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The token may read and delete, not push.
    server.configure(|c| c.registry_push = false);
    server.clear_requests();
    let o = retention(
        &server,
        dir.path(),
        &["restore", "--journal", "journal.jsonl"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    let err = o.stderr();
    assert!(!err.contains("\\n"), "no escaped line break: {err}");
    assert!(!err.contains("1 versions"), "{err}");
    assert!(
        err.contains("\n  help: "),
        "the help is a line of its own: {err}"
    );
    assert!(err.contains("tag pr-1"), "speaks of the tag: {err}");
    // One refusal, then nothing more was tried.
    assert_eq!(manifest_puts(&server).len(), 1, "{:?}", server.requests());
    assert_eq!(
        outcomes(dir.path()),
        [
            "untag_attempted",
            "untagged",
            "untag_attempted",
            "untagged",
            "retag_failed"
        ]
    );
}

#[test]
fn restore_puts_tags_back_on_the_registry_the_journal_recorded() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    write_plan(dir.path(), &fx, &[(14, "pr-1")]);
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let lines = journal(dir.path());
    let recorded = server.url().trim_end_matches('/').to_string();
    assert_eq!(lines[1]["untag"]["registry"], recorded.as_str());
    let restore = |extra: &[&str]| {
        snap::run(
            Command::new(env!("CARGO_BIN_EXE_retention"))
                .args(["restore", "--journal", "journal.jsonl"])
                .args(extra)
                .current_dir(dir.path())
                .env("GITHUB_API_URL", server.url())
                .env("GITHUB_SERVER_URL", "https://github.invalid")
                .env("GITHUB_TOKEN", TOKEN)
                .env("RETENTION_TEST_TIME_SCALE", "0.01")
                .env("RETENTION_CACHE_DIR", dir.path().join("cache"))
                .env_remove("GITHUB_ACTIONS")
                .env_remove("RUST_LOG"),
        )
    };
    // No --registry, and this run's registry (from GITHUB_SERVER_URL) is not the one the journal
    // records: a journal may come from anywhere, so the token does not follow it. Refused before
    // anything is restored, naming the registry to pass if the journal is the user's own.
    server.clear_requests();
    let o = restore(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        o.stderr().contains(&format!(
            "help: if the journal is yours, run again with --registry {recorded}"
        )),
        "{}",
        text(&o)
    );
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert_ne!(tag_digest(&server, "pr-1"), Some(sha256(&fx.index)));
    // With --registry naming it, the tag goes back there.
    let o = restore(&["--registry", &recorded]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    assert_eq!(tag_digest(&server, "pr-1"), Some(sha256(&fx.index)));
}

#[test]
fn an_untag_never_leaves_the_image_without_the_tag_the_plan_keeps() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    // The plan removes pr-1 and keeps v1.0 on the index.
    write_plan(dir.path(), &fx, &[(14, "pr-1")]);
    // Since the plan, v1.0 was pushed again: it names the amd64 image now.
    let r = registry(&server);
    rt().block_on(r.put_manifest(REPO, "v1.0", OCI_MANIFEST, &fx.amd))
        .expect("push");
    server.clear_requests();
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    // The index keeps pr-1, its last tag; nothing was pushed or deleted.
    assert_eq!(tag_digest(&server, "pr-1"), Some(sha256(&fx.index)));
    assert!(deletes(&server).is_empty());
    assert!(manifest_puts(&server).is_empty());
}

#[test]
fn a_rerun_of_a_killed_apply_plan_finishes_the_removal_its_placeholder_started() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    let index = sha256(&fx.index);
    write_plan(dir.path(), &fx, &[(14, "pr-1")]);
    // The first run was killed after pushing its placeholder under pr-1.
    let left = push_placeholder(&server, "pr-1", &index);
    let line = json!({"owner": "acme", "scope": "/orgs/acme", "package": "app", "type": "container",
        "id": 14, "name": index, "tags": ["v1.0", "pr-1"], "outcome": "untag_attempted",
        "message": "", "time": "2026-11-20T00:00:00Z",
        "untag": {"tag": "pr-1", "placeholder": left}});
    std::fs::write(dir.path().join("journal.jsonl"), format!("{line}\n")).expect("journal");
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    // The placeholder (version 15) is deleted, and pr-1 with it; v1.0 stays.
    assert_eq!(server.deleted_ids(), [("app".to_string(), 15)]);
    assert_eq!(tag_digest(&server, "pr-1"), None);
    assert_eq!(tag_digest(&server, "v1.0"), Some(index.clone()));
    assert!(o.stdout().contains("untagged=1"), "{}", text(&o));
    assert_eq!(
        outcomes(dir.path()),
        ["untag_attempted", "untag_attempted", "untagged"]
    );
}

#[test]
fn a_rerun_rolls_back_a_placeholder_when_the_image_would_keep_no_tag() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    let index = sha256(&fx.index);
    write_plan(dir.path(), &fx, &[(14, "pr-1")]);
    let left = push_placeholder(&server, "pr-1", &index);
    // And v1.0 moved to another image since: the index would be left untagged.
    let r = registry(&server);
    rt().block_on(r.put_manifest(REPO, "v1.0", OCI_MANIFEST, &fx.amd))
        .expect("push");
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let _placeholder = Filters::new()
        .add(&regex::escape(&left), "[PLACEHOLDER]")
        .bind();
    insta::assert_snapshot!(o.transcript());
    // pr-1 is back on the index, the placeholder deleted.
    assert_eq!(tag_digest(&server, "pr-1"), Some(index));
    assert_eq!(server.deleted_ids(), [("app".to_string(), 15)]);
}

/// The fixture with the version at `older` (0: the index, 3: solo) older than the others, and a
/// placeholder left by a killed run holding `tag` (taken from the index when `pr-1`, from solo
/// when `pr-9`): the newest version (15) is the placeholder.
fn with_leftover(
    older: usize,
    tag: &str,
    f: impl FnOnce(&mut Config, &str),
) -> (Fx, GithubServer, tempfile::TempDir, String) {
    let mut fx = fixture();
    for field in ["created_at", "updated_at"] {
        fx.inventory["packages"][0]["versions"][older][field] = json!("2026-05-01T00:00:00Z");
    }
    let server = server(&fx, |_| {});
    let original = if tag == "pr-9" { &fx.solo } else { &fx.index };
    let left = push_placeholder(&server, tag, &sha256(original));
    server.configure(|c| f(c, &left));
    let dir = tempfile::tempdir().expect("tempdir");
    (fx, server, dir, left)
}

/// Keep the newest image, delete every other tagged one.
const NEWEST_ONLY: &str = "version: 1\nowner: acme\npackages: { type: container, names: [app] }\nrules:\n  - name: all but the newest go\n    delete: { tags: [\"*\"] }\nsafety: { keep_newest: 1, min_age: 0s }\n";

/// The plan's action for each version id, from `plan --format json`.
fn actions(o: &Run) -> Vec<(u64, String)> {
    let plan: Value = serde_json::from_slice(&o.stdout).expect("a JSON plan");
    plan["packages"][0]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            (
                v["id"].as_u64().unwrap_or(0),
                v["action"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn plan_never_counts_a_leftover_placeholder_as_the_newest_image() {
    let (_fx, server, dir, _left) = with_leftover(3, "pr-1", |_, _| {});
    let _filters = filters(&server);
    write(dir.path(), "p.yml", NEWEST_ONLY);
    let o = retention(
        &server,
        dir.path(),
        &[
            "plan", "--policy", "p.yml", "--now", NOW, "--format", "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The index (14) is the newest image: kept with its parts; the placeholder is no version
    // of the plan; the older solo image goes.
    let a = actions(&o);
    assert!(a.contains(&(14, "keep".into())), "{a:?}");
    assert!(a.contains(&(13, "keep".into())), "{a:?}");
    assert!(a.contains(&(11, "delete".into())), "{a:?}");
    assert!(!a.iter().any(|(id, _)| *id == 15), "{a:?}");
    assert!(
        o.stderr()
            .contains("is a placeholder left by a killed tag removal"),
        "{}",
        text(&o)
    );
}

#[test]
fn plan_withholds_what_rests_on_a_version_that_may_be_a_placeholder() {
    // The placeholder (15, pr-1, the newest) cannot be read: it may be an image, or not. solo
    // (11) is tagged `pr-9` and `solo`, the index older. The newest image stays whole, every
    // other loses its `pr-` tags.
    let mut fx = fixture();
    fx.inventory["packages"][0]["versions"][3]["metadata"]["container"]["tags"] =
        json!(["pr-9", "solo"]);
    for field in ["created_at", "updated_at"] {
        fx.inventory["packages"][0]["versions"][0][field] = json!("2026-05-01T00:00:00Z");
    }
    let server = server(&fx, |_| {});
    let left = push_placeholder(&server, "pr-1", &sha256(&fx.index));
    server.configure(|c| c.unreadable_manifests = vec![left.to_string()]);
    let dir = tempfile::tempdir().expect("tempdir");
    let _filters = filters(&server);
    write(
        dir.path(),
        "p.yml",
        "version: 1\nowner: acme\npackages: { type: container, names: [app] }\nrules:\n  - name: the newest stays\n    keep: { newest: 1 }\n  - name: pull requests go\n    delete: { tags: [\"pr-*\"] }\nsafety: { keep_newest: 0, min_age: 0s }\n",
    );
    let o = retention(
        &server,
        dir.path(),
        &[
            "plan", "--policy", "p.yml", "--now", NOW, "--format", "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let a = actions(&o);
    // If 15 is an image, it is the newest and solo loses pr-9; if not, solo is the newest and
    // stays whole: the removal rests on 15 and is withheld. Nothing is deleted either way.
    assert!(a.iter().all(|(_, action)| action == "keep"), "{a:?}");
    let plan: Value = serde_json::from_slice(&o.stdout).expect("a JSON plan");
    let solo = plan["packages"][0]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["id"] == 11);
    assert!(
        solo.is_some_and(|v| v["untag"].as_array().is_none_or(|u| u.is_empty())),
        "{solo:?}"
    );
    let warnings = plan["packages"][0]["warnings"].to_string();
    assert!(
        warnings.contains("1 deletion or tag removal withheld")
            && warnings.contains("may be a placeholder left by a killed tag removal"),
        "{warnings}"
    );
}

/// `apply --policy` of `policy` (written to `p.yml`) with `journal.jsonl`.
fn apply_policy(server: &GithubServer, dir: &Path, policy: &str) -> Run {
    apply_policy_with(server, dir, policy, &[])
}

/// [`apply_policy`] with `extra` arguments.
fn apply_policy_with(server: &GithubServer, dir: &Path, policy: &str, extra: &[&str]) -> Run {
    write(dir, "p.yml", policy);
    let mut args = vec![
        "apply",
        "--policy",
        "p.yml",
        "--now",
        NOW,
        "--journal",
        "journal.jsonl",
    ];
    args.extend_from_slice(extra);
    retention(server, dir, &args)
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

#[test]
fn apply_policy_never_counts_a_placeholder_it_could_not_delete_as_the_newest_image() {
    // Every attempt at the first DELETE (the placeholder's) answers 500.
    // The placeholder took pr-9 from solo, older than the index.
    let (fx, server, dir, left) = with_leftover(3, "pr-9", |c, _| {
        c.faults = (0..6)
            .map(|nth| github_server::Fault {
                endpoint: "DELETE version".into(),
                nth,
                kind: github_server::FaultKind::Status500,
            })
            .collect();
    });
    let _filters = filters(&server);
    let _placeholder = Filters::new()
        .add(&regex::escape(&left), "[PLACEHOLDER]")
        .bind();
    let o = apply_policy(&server, dir.path(), NEWEST_ONLY);
    insta::assert_snapshot!(o.transcript());
    // The placeholder still holds its tag: a failure (exit 3), never a success.
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(o.stdout().contains("failed=1"), "{}", text(&o));
    // The index, the newest image, and its parts stay; solo, untagged now, too.
    assert!(server.deleted_ids().is_empty(), "{}", text(&o));
    assert_eq!(tag_digest(&server, "v1.0"), Some(sha256(&fx.index)));
}

#[test]
fn a_rerun_recognises_its_placeholder_by_the_journal_when_its_manifest_cannot_be_read() {
    let fx = fixture();
    let server = server(&fx, |_| {});
    let _filters = filters(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    let index = sha256(&fx.index);
    write_plan(dir.path(), &fx, &[(14, "pr-1")]);
    let left = push_placeholder(&server, "pr-1", &index);
    server.configure(|c| c.unreadable_manifests = vec![left.clone()]);
    let line = json!({"owner": "acme", "scope": "/orgs/acme", "package": "app", "type": "container",
        "id": 14, "name": index, "tags": ["v1.0", "pr-1"], "outcome": "untag_attempted",
        "message": "", "time": "2026-11-20T00:00:00Z",
        "untag": {"tag": "pr-1", "placeholder": left}});
    std::fs::write(dir.path().join("journal.jsonl"), format!("{line}\n")).expect("journal");
    let o = apply_plan(&server, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(server.deleted_ids(), [("app".to_string(), 15)]);
    assert_eq!(tag_digest(&server, "v1.0"), Some(index));
    assert!(o.stdout().contains("untagged=1"), "{}", text(&o));
}

#[test]
fn apply_policy_never_leaves_an_image_untagged_when_its_kept_tag_moves_during_the_run() {
    // The policy removes pr-1 from the index, which keeps v1.0, and deletes solo (pr-9). While
    // solo's DELETE is in flight (slow), another actor moves v1.0 to the amd64 image.
    let fx = fixture();
    let server = server(&fx, |c| {
        c.faults = vec![github_server::Fault {
            endpoint: "DELETE version".into(),
            nth: 0,
            kind: github_server::FaultKind::Slow(std::time::Duration::from_millis(1500)),
        }];
    });
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "p.yml", PR_POLICY);
    let child = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args([
            "apply",
            "--policy",
            "p.yml",
            "--now",
            NOW,
            "--journal",
            "journal.jsonl",
        ])
        .args(["--registry", &server.url()])
        .current_dir(dir.path())
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("RETENTION_TEST_TIME_SCALE", "0.01")
        .env("RETENTION_CACHE_DIR", dir.path().join("cache"))
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_RUN_ID")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start retention");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // The journal's `attempted` line is written as the DELETE is sent.
    while !outcomes(dir.path()).iter().any(|o| o == "attempted") {
        assert!(std::time::Instant::now() < deadline, "no DELETE was sent");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let r = registry(&server);
    rt().block_on(r.put_manifest(REPO, "v1.0", OCI_MANIFEST, &fx.amd))
        .expect("push");
    let o = snap::of(&[], child.wait_with_output().expect("retention ends"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // solo went; the index keeps pr-1, its last tag, and the run says why.
    assert_eq!(
        server.deleted_ids(),
        [("app".to_string(), 11)],
        "{}",
        text(&o)
    );
    assert_eq!(tag_digest(&server, "pr-1"), Some(sha256(&fx.index)));
    assert!(
        o.stderr()
            .contains("not untagged: removing it would leave the image with no tag: tag v1.0"),
        "{}",
        text(&o)
    );
}

/// Review finding 8: an offline `plan` of a saved inventory doubts a single-tagged version whose
/// manifest the inventory does not hold, as an online plan doubts one it cannot read: it may be
/// a placeholder left by a killed tag removal, which must never count as the newest image. Here
/// `c` (the newest, manifest absent) would take `newest: 1` and `b` would lose `pr-2`; absent,
/// `b` is the newest and stays whole. The removal is withheld, and the plan says why.
#[test]
fn an_offline_plan_doubts_a_single_tagged_version_whose_manifest_is_not_in_the_inventory() {
    let (a, b, c) = (image("a"), image("b"), image("c"));
    let v = |id: u64, text: &str, tags: &[&str], day: u32| {
        let t = format!("2026-06-{day:02}T00:00:00Z");
        json!({"id": id, "name": sha256(text), "url": "u", "package_html_url": "h",
            "created_at": t, "updated_at": t,
            "metadata": {"package_type": "container", "container": {"tags": tags}}})
    };
    let manifests: serde_json::Map<String, Value> = [&a, &b]
        .iter()
        .map(|m| (sha256(m), Value::String((*m).clone())))
        .collect();
    let inventory = json!({"schema": 1, "owner": "acme", "captured_at": NOW, "packages": [{
        "package": {"id": 1, "name": "app", "package_type": "container", "visibility": "private",
            "url": "u", "html_url": "h", "version_count": 3, "created_at": NOW, "updated_at": NOW},
        "versions": [v(3, &c, &["c"], 3), v(2, &b, &["b", "pr-2"], 2), v(1, &a, &["a"], 1)],
        "manifests": manifests}]});
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "inventory.json",
        &serde_json::to_string(&inventory).expect("json"),
    );
    write(
        dir.path(),
        "p.yml",
        "version: 1\nowner: acme\npackages: { type: container, names: [app] }\nrules:\n  - name: the newest stays\n    keep: { newest: 1 }\n  - name: pull requests go\n    delete: { tags: [\"pr-*\"] }\nsafety: { keep_newest: 0, min_age: 0s }\n",
    );
    let o = snap::run(
        Command::new(env!("CARGO_BIN_EXE_retention"))
            .args([
                "plan",
                "--policy",
                "p.yml",
                "--inventory",
                "inventory.json",
                "--now",
                NOW,
                "--format",
                "json",
            ])
            .current_dir(dir.path())
            .env("RETENTION_CACHE_DIR", dir.path().join("cache"))
            .env_remove("GITHUB_TOKEN")
            .env_remove("RUST_LOG"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let plan: Value = serde_json::from_slice(&o.stdout).expect("a JSON plan");
    let untags: Vec<&Value> = plan["packages"][0]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["untag"].as_array().is_some_and(|u| !u.is_empty()))
        .collect();
    assert!(untags.is_empty(), "{untags:?}");
    let warnings = plan["packages"][0]["warnings"].to_string();
    assert!(
        warnings.contains("1 deletion or tag removal withheld")
            && warnings.contains("may be a placeholder left by a killed tag removal"),
        "{warnings}"
    );
}
