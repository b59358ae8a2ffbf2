//! The whole nightly run, end to end, on real images: the real binary lists versions from a local
//! server that behaves like the GitHub Packages API (tests/it/support/github_server.rs) and reads
//! their manifests from a real OCI registry (the CNCF distribution registry, `docker-registry`)
//! holding real multi-platform images, attestations, cosign signatures and OCI referrers. It
//! plans, snapshots, plans again offline, applies; then, as ghcr.io does when GitHub deletes a
//! package version, the deleted digests are deleted from the registry, and every kept image must
//! still be pullable: its index, all its children and its tags.

use crate::support::github_server;
use crate::support::image_fixture;
use crate::support::registry as registry_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::support::snap::{self, Filters, Run};

use github_server::{Config, GithubServer};
use image_fixture::{assert_pullable, push_fixture, Fixture, POLICY, REPO};
use registry_support::{Pushed, Registry};
use serde_json::{json, Value};

const TOKEN: &str = "ghp_imagesE2Esecret0123456789";
const NOW: &str = "2026-11-20T00:00:00Z";

/// A version object as the API returns it.
fn version(id: u64, package: &str, digest: &str, tags: &[String]) -> Value {
    let day = 1 + id % 9;
    let t = format!("2026-11-0{day}T00:00:00Z");
    json!({
        "id": id, "name": digest,
        "url": format!("https://api.github.com/orgs/acme/packages/container/{package}/versions/{id}"),
        "package_html_url": format!("https://github.com/orgs/acme/packages/container/package/{package}"),
        "html_url": format!("https://github.com/orgs/acme/packages/container/{package}/{id}"),
        "created_at": t, "updated_at": t,
        "metadata": {"package_type": "container", "container": {"tags": tags}}
    })
}

fn package(
    id: u64,
    name: &str,
    versions: Vec<Value>,
    manifests: BTreeMap<String, String>,
) -> Value {
    json!({
        "package": {
            "id": id, "name": name, "package_type": "container", "visibility": "private",
            "url": format!("https://api.github.com/orgs/acme/packages/container/{name}"),
            "html_url": format!("https://github.com/orgs/acme/packages/container/package/{name}"),
            "version_count": versions.len(),
            "owner": {"login": "acme", "id": 1, "type": "Organization"},
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z"
        },
        "versions": versions,
        // Only the GitHub server reads these (to remove an index's children when the index is
        // deleted, as ghcr.io does); the binary must read manifests from the registry.
        "manifests": manifests
    })
}

/// What GitHub would list for owner `acme`: `app` (every graph shape) and `base` (one release).
fn github_inventory(f: &Fixture, base: &Pushed) -> Value {
    let app: Vec<Value> = f
        .versions
        .iter()
        .enumerate()
        .map(|(i, (p, tags))| version(100 + i as u64, "app", &p.digest, tags))
        .collect();
    let manifests: BTreeMap<String, String> = f
        .versions
        .iter()
        .map(|(p, _)| (p.digest.clone(), p.bytes.clone()))
        .collect();
    json!({"schema": 1, "owner": "acme", "captured_at": NOW, "packages": [
        package(1, "app", app, manifests),
        package(2, "base", vec![version(900, "base", &base.digest, &["v0.1".to_string()])], BTreeMap::new()),
    ]})
}

fn retention(server: &GithubServer, registry: &Registry, dir: &Path, args: &[&str]) -> Run {
    let o = snap::run(
        Command::new(env!("CARGO_BIN_EXE_retention"))
            .args(args)
            .args(["--registry", &registry.url()])
            .current_dir(dir)
            .env("GITHUB_API_URL", server.url())
            .env("GITHUB_TOKEN", TOKEN)
            .env("RETENTION_TEST_TIME_SCALE", "0.01")
            .env("RETENTION_CACHE_DIR", dir.join("cache"))
            .env("RUST_LOG", "retention=debug")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_REPOSITORY_OWNER"),
    );
    for stream in [&o.stdout, &o.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains(TOKEN),
            "the token leaked into the output"
        );
    }
    o
}

fn ok(o: &Run) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn read_json(path: &Path) -> Value {
    match std::fs::read(path).map(|b| serde_json::from_slice(&b)) {
        Ok(Ok(v)) => v,
        other => panic!("{} is not JSON: {other:?}", path.display()),
    }
}

/// (action, reasons) of the version named `digest` in a plan.
fn decision(plan: &Value, digest: &str) -> (String, Vec<String>) {
    for p in plan["packages"].as_array().into_iter().flatten() {
        for v in p["versions"].as_array().into_iter().flatten() {
            if v["name"] == digest {
                let reasons = v["reasons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect();
                return (v["action"].as_str().unwrap_or("").to_string(), reasons);
            }
        }
    }
    panic!("{digest} is not in the plan")
}

fn deletions(plan: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = plan["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["versions"].as_array().into_iter().flatten())
        .filter(|v| v["action"] == "delete")
        .filter_map(|v| v["id"].as_u64())
        .collect();
    ids.sort();
    ids
}

#[test]
#[ignore = "needs docker-registry"]
fn a_nightly_run_on_real_images_never_breaks_one() {
    let Some(reg) = Registry::start() else { return };
    // The GitHub server runs its own runtime; this one drives the registry client of the test.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let pusher = reg.pusher();
    let f = rt.block_on(push_fixture(&pusher));
    let base = rt.block_on(pusher.image("acme/base", "amd64", "base", Some("v0.1")));
    let server = GithubServer::start(
        &github_inventory(&f, &base),
        Config {
            token: Some(TOKEN.into()),
            ..Config::default()
        },
    );
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let d = dir.path();
    let _filters = Filters::new()
        .api(&server.url())
        .registry(&reg.url())
        .bind();
    if let Err(e) = std::fs::write(d.join("policy.yml"), POLICY) {
        panic!("write policy: {e}");
    }

    // 1. The online plan, cold cache: every manifest of `app` is read once; none of `base`,
    //    whose only version a keep rule keeps (a read counts as a download on ghcr.io).
    ok(&retention(
        &server,
        &reg,
        d,
        &[
            "plan",
            "--policy",
            "policy.yml",
            "--now",
            NOW,
            "--format",
            "json",
            "--output",
            "online.json",
        ],
    ));
    let online = read_json(&d.join("online.json"));
    assert_eq!(
        reg.manifest_gets(),
        f.versions.len(),
        "manifest reads, cold"
    );
    assert!(
        server.requests().iter().all(|r| r.method == "GET"),
        "a plan sends only GETs"
    );

    let expect = |p: &Pushed, want: &str, reason: &str| {
        let (action, reasons) = decision(&online, &p.digest);
        assert_eq!(action, want, "{} {reasons:?}", p.digest);
        assert!(
            reasons.iter().any(|r| r.contains(reason)),
            "{} lacks `{reason}`: {reasons:?}",
            p.digest
        );
    };
    expect(&f.v1, "keep", "releases stay");
    expect(&f.v1_arm64, "keep", "child manifest of kept image");
    expect(&f.v1_att, "keep", "build attestation of kept image");
    expect(
        &f.shared_amd64,
        "keep",
        "keep wins over delete rule 'untagged leftovers'",
    );
    expect(&f.v1_sig, "keep", "signature of kept image");
    expect(&f.v1_ref, "keep", "of kept image");
    expect(&f.v1_ref_index, "keep", "referrers index of kept image");
    expect(&f.v2_amd64, "keep", "child manifest of kept image");
    // pr-7 shares its amd64 manifest with v1.0: it goes with its own children, and ghcr.io
    // spares the shared one, which v1.0 still lists (step 5 checks v1.0 still pulls).
    expect(&f.pr, "delete", "pull-request images expire");
    expect(&f.pr_arm64, "delete", "child manifest of deleted image");
    expect(&f.pr_att, "delete", "build attestation of deleted image");
    expect(&f.pr_sig, "delete", "signature of deleted image");
    expect(&f.pr_ref, "delete", "of deleted image");
    expect(
        &f.pr_ref_index,
        "delete",
        "referrers index of deleted image",
    );
    expect(&f.pr8, "delete", "pull-request images expire");
    expect(&f.pr8_arm64, "delete", "child manifest of deleted image");
    expect(&f.pr8_att, "delete", "build attestation of deleted image");
    expect(&f.pr8_sig, "delete", "signature of deleted image");
    expect(&f.pr8_ref, "delete", "of deleted image");
    expect(
        &f.pr8_ref_index,
        "delete",
        "referrers index of deleted image",
    );
    expect(&f.pr9_arm64, "delete", "child manifest of deleted image");
    expect(&f.orphan, "delete", "untagged leftovers");
    assert_eq!(online["summary"]["delete"], 18);

    // 2. A second run reads no manifest: they are immutable by digest and cached.
    ok(&retention(
        &server,
        &reg,
        d,
        &[
            "plan",
            "--policy",
            "policy.yml",
            "--now",
            NOW,
            "--format",
            "json",
            "--output",
            "again.json",
        ],
    ));
    assert_eq!(
        reg.manifest_gets(),
        f.versions.len(),
        "manifest reads, warm cache"
    );
    assert_eq!(read_json(&d.join("again.json")), online);

    // 3. A snapshot holds the manifests, so the offline plan equals the online one.
    ok(&retention(
        &server,
        &reg,
        d,
        &[
            "snapshot",
            "--policy",
            "policy.yml",
            "--output",
            "inventory.json",
        ],
    ));
    let snapshot = read_json(&d.join("inventory.json"));
    let app = snapshot["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["package"]["name"] == "app")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        app["manifests"].as_object().map(|m| m.len()),
        Some(f.versions.len())
    );
    ok(&retention(
        &server,
        &reg,
        d,
        &[
            "plan",
            "--policy",
            "policy.yml",
            "--inventory",
            "inventory.json",
            "--now",
            NOW,
            "--format",
            "json",
            "--output",
            "offline.json",
        ],
    ));
    assert_eq!(read_json(&d.join("offline.json")), online);

    // 4. Apply: GitHub deletes exactly the plan's deletions (an index's children may be gone
    //    already: ghcr.io removes them with the index).
    let applied = retention(
        &server,
        &reg,
        d,
        &["apply", "--policy", "policy.yml", "--now", NOW],
    );
    ok(&applied);
    // The check after apply saw every kept image of the real images whole. The workers log
    // each re-read, DELETE and outcome in the order they finish: those lines are sorted.
    let applied = applied.sort_stderr_lines(|l| {
        l.starts_with("DEBUG GitHub request method=DELETE ")
            || (l.starts_with("DEBUG GitHub request method=GET ") && l.contains("/versions/"))
            || l.starts_with(" INFO app sha256:")
    });
    insta::assert_snapshot!(applied.transcript());
    assert!(server.requests().iter().any(|r| r.method == "DELETE"));
    let mut gone: Vec<u64> = server.deleted_ids().into_iter().map(|(_, id)| id).collect();
    gone.sort();
    assert_eq!(gone, deletions(&online), "deleted exactly the plan");

    // 5. As on ghcr.io, a deleted package version is a deleted manifest: delete them in the
    //    registry, then every kept image must still be pullable, children and tags included.
    let digest_of = |id: u64| {
        f.versions
            .get((id - 100) as usize)
            .map(|(p, _)| p.digest.clone())
    };
    for id in &gone {
        let Some(digest) = digest_of(*id) else {
            panic!("unknown id {id}")
        };
        assert_eq!(
            rt.block_on(pusher.delete(REPO, &digest)),
            202,
            "registry DELETE {digest}"
        );
    }
    for (p, tags) in &f.versions {
        if decision(&online, &p.digest).0 == "keep" {
            rt.block_on(assert_pullable(&pusher, &p.digest, 0));
            for tag in tags {
                assert_eq!(
                    rt.block_on(pusher.get(REPO, tag)).0,
                    200,
                    "tag {tag} of kept {}",
                    p.digest
                );
            }
        } else {
            assert_eq!(
                rt.block_on(pusher.get(REPO, &p.digest)).0,
                404,
                "deleted {} is still there",
                p.digest
            );
        }
    }
    assert_eq!(rt.block_on(pusher.get("acme/base", "v0.1")).0, 200);
}
