//! The check that every kept image is whole, end to end: after `apply` (one listing per touched
//! package, measured in the local GitHub server's request log) and `retention verify`.
//!
//! The registry is unreachable (`--registry http://127.0.0.1:1`): every manifest comes from the
//! cache, as in a nightly run, so any manifest read would fail and show.

use crate::support::github_server;

use std::path::Path;
use std::process::Command;

use crate::support::snap::{self, api_filters as filters, text, Run};

use github_server::{Config, GithubServer};
use serde_json::{json, Value};

const TOKEN: &str = "ghp_verifySECRETtoken0123456789";
const NOW: &str = "2026-11-20T00:00:00Z";

fn sha256(text: &str) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    )
}

fn image(n: u64) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{n:064x}","size":2}},"layers":[]}}"#
    )
}

fn index(children: &[&str]) -> String {
    let entries: Vec<String> = children
        .iter()
        .map(|c| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{}}}"#,
                sha256(c),
                c.len()
            )
        })
        .collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
        entries.join(",")
    )
}

/// Packages, with every manifest in the cache of the returned directory:
/// - `team/app`: `v1` (index 10 of amd64 11 and arm64 12, cosign signature 14) and `pr-1`
///   (index 20 of its own platform manifest 21), which the policy deletes;
/// - `team/big`: 120 images `main-N` and one `pr-2` (id 500): two pages to list;
/// - `team/quiet`: one release, nothing to delete.
///
/// `omit`: version ids left out of the served inventory (a package that is already broken).
fn fixture(omit: &[u64]) -> (Value, tempfile::TempDir, String) {
    let mut manifests: Vec<String> = Vec::new();
    let mut version = |id: u64, text: &str, tags: &[&str], t: &str| {
        manifests.push(text.to_string());
        json!({"id": id, "name": sha256(text), "url": "u", "package_html_url": "h",
               "created_at": t, "updated_at": t,
               "metadata": {"package_type": "container", "container": {"tags": tags}}})
    };
    let (amd, arm, pr_child) = (image(11), image(12), image(21));
    let v1 = index(&[&amd, &arm]);
    let pr = index(&[&pr_child]);
    let sig_tag = format!("sha256-{}.sig", &sha256(&v1)[7..]);
    let old = "2026-06-01T00:00:00Z";
    let app: Vec<Value> = vec![
        version(20, &pr, &["pr-1"], "2026-06-02T00:00:00Z"),
        version(21, &pr_child, &[], "2026-06-02T00:00:00Z"),
        version(14, &image(14), &[&sig_tag], "2026-06-01T00:00:01Z"),
        version(10, &v1, &["v1"], old),
        version(11, &amd, &[], old),
        version(12, &arm, &[], old),
    ];
    let mut big = vec![version(500, &image(500), &["pr-2"], "2026-06-03T00:00:00Z")];
    for n in 0..120u64 {
        let tag = format!("main-{n}");
        big.push(version(1000 + n, &image(1000 + n), &[&tag], old));
    }
    let quiet = vec![version(900, &image(900), &["v9"], old)];
    let package = |id: u64, name: &str, versions: Vec<Value>| {
        let versions: Vec<Value> = versions
            .into_iter()
            .filter(|v| !omit.contains(&v["id"].as_u64().unwrap_or(0)))
            .collect();
        json!({"package": {"id": id, "name": name, "package_type": "container", "visibility": "private",
                           "url": "u", "html_url": "h", "version_count": versions.len(),
                           "created_at": NOW, "updated_at": NOW},
               "versions": versions})
    };
    let inventory = json!({"schema": 1, "owner": "acme", "captured_at": NOW, "packages": [
        package(1, "team/app", app), package(2, "team/big", big), package(3, "team/quiet", quiet)]});
    let dir = tempfile::tempdir().unwrap();
    let cache = retention::registry::ManifestCache::open(&dir.path().join("cache")).unwrap();
    for m in &manifests {
        cache.put(&sha256(m), m).unwrap();
    }
    let policy = dir.path().join("p.yml");
    std::fs::write(&policy, "version: 1\nowner: acme\npackages: { type: container, names: [\"team/*\"] }\nrules:\n  - name: releases stay\n    keep: { tags: [\"v*\"] }\n  - name: pull requests expire\n    delete: { tags: [\"pr-*\"], older_than: 1d }\nsafety: { keep_newest: 0, min_age: 0s }\n").unwrap();
    (inventory, dir, policy.display().to_string())
}

fn retention(server: &GithubServer, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = args.to_vec();
    args.extend(["--registry", "http://127.0.0.1:1"]);
    retention_without_registry(server, dir, &args, env)
}

fn retention_without_registry(
    server: &GithubServer,
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retention"));
    cmd.args(args)
        .args(["--now", NOW])
        .current_dir(dir)
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("RETENTION_TEST_TIME_SCALE", "0.01")
        .env("RETENTION_CACHE_DIR", dir.join("cache"))
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_SERVER_URL")
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    snap::run(&mut cmd)
}

/// The requests recorded after the last DELETE, as (method, path without query).
fn after_last_delete(server: &GithubServer) -> Vec<(String, String)> {
    let requests = server.requests();
    let last = requests
        .iter()
        .rposition(|r| r.method == "DELETE")
        .expect("a DELETE was sent");
    requests[last + 1..]
        .iter()
        .map(|r| {
            (
                r.method.clone(),
                r.path.split('?').next().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn apply_checks_the_kept_images_with_one_listing_per_touched_package() {
    let (inventory, dir, policy) = fixture(&[]);
    let server = GithubServer::start(&inventory, Config::default());
    let _filters = filters(&server);
    let o = retention(&server, dir.path(), &["apply", "--policy", &policy], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    let mut gone: Vec<u64> = server.deleted_ids().into_iter().map(|(_, id)| id).collect();
    gone.sort();
    assert_eq!(gone, vec![20, 21, 500]);
    // The extra requests: team/app listed once (one page), team/big once (121 versions: two
    // pages), team/quiet (nothing deleted) not at all; no manifest read (the registry is
    // unreachable and nothing failed).
    let mut extra = after_last_delete(&server);
    extra.sort();
    assert_eq!(
        extra,
        vec![
            (
                "GET".to_string(),
                "/orgs/acme/packages/container/team%2Fapp/versions".to_string()
            ),
            (
                "GET".to_string(),
                "/orgs/acme/packages/container/team%2Fbig/versions".to_string()
            ),
            (
                "GET".to_string(),
                "/orgs/acme/packages/container/team%2Fbig/versions".to_string()
            ),
        ],
        "{}",
        text(&o)
    );
}

#[test]
fn a_kept_image_that_lost_a_part_fails_apply_with_exit_3_and_an_annotation() {
    let (inventory, dir, policy) = fixture(&[]);
    let mut config = Config::default();
    // The registry removes v1's arm64 manifest and its signature along with pr-1's index.
    config.also_delete.insert(20, vec![12, 14]);
    let server = GithubServer::start(&inventory, config);
    let _filters = filters(&server);
    let out = dir.path().join("outputs");
    let summary = dir.path().join("summary.md");
    let temp = dir.path().join("runner-temp");
    std::fs::create_dir_all(&temp).unwrap();
    let o = retention(
        &server,
        dir.path(),
        &["apply", "--policy", &policy],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", out.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("RUNNER_TEMP", temp.to_str().unwrap()),
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    // v1 (id 10) lost 2 parts (child manifest 12, signature 14): an error, an `::error`
    // annotation, and how to get them back.
    insta::assert_snapshot!(o.transcript());
}

#[test]
fn verify_finds_a_kept_index_missing_a_platform_manifest_and_deletes_nothing() {
    // arm64 (12) is not in the package: v1 cannot be pulled on arm64.
    let (inventory, dir, policy) = fixture(&[12]);
    let server = GithubServer::start(&inventory, Config::default());
    let o = retention(&server, dir.path(), &["verify", "--policy", &policy], &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    {
        let _filters = filters(&server);
        insta::assert_snapshot!(o.transcript());
    }
    assert!(
        !server.requests().iter().any(|r| r.method != "GET"),
        "verify sends only GETs"
    );

    // A whole registry: exit 0.
    let (inventory, dir, policy) = fixture(&[]);
    let server = GithubServer::start(&inventory, Config::default());
    let o = retention(&server, dir.path(), &["verify", "--policy", &policy], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let _filters = filters(&server);
    insta::assert_snapshot!(o.transcript());
}

#[test]
fn without_registry_the_registry_of_github_server_url_is_used_and_named() {
    let (inventory, dir, policy) = fixture(&[]);
    let server = GithubServer::start(&inventory, Config::default());
    let _filters = filters(&server);
    // Every manifest is in the cache: the derived registry is named, never reached.
    let o = retention_without_registry(
        &server,
        dir.path(),
        &["plan", "--policy", &policy],
        &[("GITHUB_SERVER_URL", "https://ghes.example.com")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The plan itself is the same in all three runs: stdout is snapshot once.
    insta::assert_snapshot!(o.transcript());
    let plan = o.stdout();
    let o = retention_without_registry(&server, dir.path(), &["plan", "--policy", &policy], &[]);
    assert_eq!(o.stdout(), plan);
    insta::assert_snapshot!(o.stderr());
    let o = retention_without_registry(
        &server,
        dir.path(),
        &["plan", "--policy", &policy],
        &[("GITHUB_SERVER_URL", "not a url")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
}

#[test]
fn verify_that_could_read_no_manifest_says_what_was_not_checked_and_exits_3() {
    // The same registry, whole, but no manifest in the cache and the registry unreachable.
    let (inventory, dir, policy) = fixture(&[]);
    std::fs::remove_dir_all(dir.path().join("cache")).expect("empty the cache");
    let server = GithubServer::start(&inventory, Config::default());
    let o = retention(&server, dir.path(), &["verify", "--policy", &policy], &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = text(&o);
    assert!(!out.contains("every kept image is whole"), "{out}");
    assert!(
        out.contains("not checked: team/app sha256:"),
        "names what was not checked: {out}"
    );
    assert!(
        o.stdout().starts_with("verify: 128 kept versions in 3 container packages checked: no kept image found broken; 127 kept images could not be checked (no readable manifest)"),
        "{out}"
    );
    assert!(out.contains("warning: not checked: 117 more"), "{out}");
    assert!(
        out.ends_with("error: 127 kept images could not be checked: no readable manifest (listed above)\n  help: run `retention verify` again when the registry answers\n"),
        "{out}"
    );
}

#[test]
fn apply_says_a_kept_image_that_was_already_broken_is_as_whole_as_before() {
    // arm64 (12) was never in the package: v1 is partial before the run, and stays so.
    let (inventory, dir, policy) = fixture(&[12]);
    let server = GithubServer::start(&inventory, Config::default());
    let _filters = filters(&server);
    let o = retention(&server, dir.path(), &["apply", "--policy", &policy], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    let err = o.stderr();
    assert!(!err.contains("every kept image is whole"), "{err}");
    assert!(
        err.contains(
            "as whole as before the run; 1 kept image was already broken: team/app sha256:"
        ),
        "{err}"
    );
    assert!(
        err.contains("(v1): partial: 1 platform manifest missing"),
        "{err}"
    );
}

/// `team/app` only (the fixture's rules), listed one version to a page, where another actor
/// deletes a version of page 1 while page 2 is read, in each of two listings: `pr-1` (20) in
/// the first (which then skips 21), its platform manifest 21 in the second, which then skips
/// the kept index `v1` (10). The listing does not add up, twice, and the kept index is the
/// version missing. (The signature 14 is left out: its subject missing, it would be called
/// orphaned, a finding of its own.)
fn gap_server(dir: &Path) -> (GithubServer, String) {
    let (inventory, _, _) = fixture(&[14]);
    let server = GithubServer::start(
        &inventory,
        Config {
            max_per_page: 1,
            delete_while_listing: vec![(2, 20), (2, 21)],
            ..Config::default()
        },
    );
    let policy = dir.join("app.yml");
    std::fs::write(&policy, "version: 1\nowner: acme\npackages: { type: container, names: [team/app] }\nrules:\n  - name: releases stay\n    keep: { tags: [\"v*\"] }\n  - name: pull requests expire\n    delete: { tags: [\"pr-*\"], older_than: 1d }\nsafety: { keep_newest: 0, min_age: 0s }\n").expect("write");
    (server, policy.display().to_string())
}

/// Review finding 6: `verify` over a listing that did not add up never says "every kept image
/// is whole" (the kept index may be, and here is, the version missing): it says which listing
/// is incomplete and exits 3.
#[test]
fn verify_with_an_incomplete_listing_says_what_was_not_checked_and_exits_3() {
    let (_, dir, _) = fixture(&[14]);
    let (server, policy) = gap_server(dir.path());
    let o = retention(&server, dir.path(), &["verify", "--policy", &policy], &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(!out.contains("every kept image is whole"), "{out}");
    assert!(
        o.stdout().starts_with("verify: 3 kept versions in 1 container package checked: no kept image found broken; not checked: the listing of team/app (3 listed, GitHub counts 4) is incomplete: a kept image may be the version missing"),
        "{out}"
    );
    assert!(
        out.ends_with("error: not every kept image was checked: the listing of team/app (3 listed, GitHub counts 4) is incomplete: a kept image may be the version missing\n  help: run `retention verify` again (another actor was deleting or pushing while it listed)\n"),
        "{out}"
    );
}

/// Review finding 6: `apply --plan P --policy X` evaluates the policy on a listing made now;
/// when that listing does not add up, what rests on a version's absence is withheld, and the
/// run says so and exits 3 (as `apply --policy` does), never 0.
#[test]
fn apply_plan_with_the_policy_over_an_incomplete_listing_exits_3() {
    let (inventory, dir, _) = fixture(&[14]);
    let (server, policy) = gap_server(dir.path());
    // The plan, made while nothing moved: pr-1 (20) and its platform manifest (21) go.
    let quiet = GithubServer::start(&inventory, Config::default());
    let o = retention(
        &quiet,
        dir.path(),
        &[
            "plan",
            "--policy",
            &policy,
            "--format",
            "json",
            "-o",
            "plan.json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = retention(
        &server,
        dir.path(),
        &[
            "apply",
            "--plan",
            "plan.json",
            "--policy",
            &policy,
            "--journal",
            "journal.jsonl",
        ],
        &[],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(!out.contains("every kept image is whole"), "{out}");
    assert!(
        out.contains("warning: the listing of package team/app (3 listed, GitHub counts 4) does not add up, twice"),
        "{out}"
    );
}
