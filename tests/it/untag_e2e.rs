//! Removing a tag on real images, end to end: the real binary removes tag `pr-42` from a
//! multi-platform image (two platforms and a build attestation) also tagged `v1.4.0` and `latest`,
//! held by a real CNCF distribution registry (`docker-registry`) behind the local GitHub server's
//! ghcr.io face (tests/it/support/ghcr_face.rs: bearer tokens with push scope, a manifest PUT under a
//! tag moves the tag to a new package version, deleting a version deletes its manifest). Then
//! `restore` puts the tag back.
//!
//! Checked on the registry itself: the removed tag answers 404; the other tags and the digest
//! still pull, with every platform (manifests and blobs); no placeholder remains (neither a
//! version nor a manifest); after `restore`, `pr-42` names the same digest again. The requests the
//! untag cost are counted and printed.

use crate::support::github_server;
use crate::support::registry as registry_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::support::snap::{self, text, Filters, Run};

use github_server::{Config, GithubServer};
use registry_support::{Pushed, Registry, OCI_INDEX};
use serde_json::{json, Value};

const TOKEN: &str = "ghp_untagE2Esecret0123456789";
const REPO: &str = "acme/svc";
const NOW: &str = "2026-11-20T00:00:00Z";

fn version(id: u64, digest: &str, tags: &[&str]) -> Value {
    let t = "2026-11-01T00:00:00Z";
    json!({
        "id": id, "name": digest,
        "url": format!("https://api.github.com/orgs/acme/packages/container/svc/versions/{id}"),
        "package_html_url": "https://github.com/orgs/acme/packages/container/package/svc",
        "created_at": t, "updated_at": t,
        "metadata": {"package_type": "container", "container": {"tags": tags}}
    })
}

fn retention(server: &GithubServer, dir: &Path, args: &[&str]) -> Run {
    let o = snap::run(
        Command::new(env!("CARGO_BIN_EXE_retention"))
            .args(args)
            .current_dir(dir)
            .env("GITHUB_API_URL", server.url())
            .env("GITHUB_TOKEN", TOKEN)
            .env("RETENTION_TEST_TIME_SCALE", "0.01")
            .env("RETENTION_CACHE_DIR", dir.join("cache"))
            .env("RUST_LOG", "retention=debug")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_REPOSITORY_OWNER")
            .env_remove("GITHUB_RUN_ID"),
    );
    for stream in [&o.stdout, &o.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains(TOKEN),
            "the token leaked into the output"
        );
    }
    o
}

/// The snapshot filters of a test of `s`: the GitHub server (and its ghcr.io face) and the
/// registry behind it.
fn filters(s: &Setup) -> insta::internals::SettingsBindDropGuard {
    Filters::new()
        .api(&s.server.url())
        .registry(&s.reg.url())
        .bind()
}

/// PUT the exact bytes of `m` under `tag` on the registry.
async fn tag(registry: &Registry, m: &Pushed, tag: &str) {
    let r = reqwest::Client::new()
        .put(format!("{}/v2/{REPO}/manifests/{tag}", registry.url()))
        .header("content-type", &m.media_type)
        .body(m.bytes.clone())
        .send()
        .await;
    assert_eq!(r.map(|r| r.status().as_u16()).ok(), Some(201), "tag {tag}");
}

/// GET a manifest (by tag or digest) from the registry: (status, digest of the body, body).
async fn get(registry: &Registry, reference: &str) -> (u16, String, Value) {
    let r = reqwest::Client::new()
        .get(format!(
            "{}/v2/{REPO}/manifests/{reference}",
            registry.url()
        ))
        .header(
            "accept",
            "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
        )
        .send()
        .await;
    let Ok(r) = r else { panic!("GET {reference}") };
    let status = r.status().as_u16();
    let body = r.bytes().await.unwrap_or_default();
    (
        status,
        registry_support::sha256(&body),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// Pull `reference` entirely: the index, every platform manifest, and every blob they name.
/// Returns the platforms pulled.
async fn pull(registry: &Registry, reference: &str) -> Vec<String> {
    let (status, _, index) = get(registry, reference).await;
    assert_eq!(status, 200, "{reference} does not pull");
    let mut platforms = Vec::new();
    for child in index["manifests"].as_array().into_iter().flatten() {
        let d = child["digest"].as_str().unwrap_or_default();
        let (status, _, m) = get(registry, d).await;
        assert_eq!(status, 200, "platform manifest {d} of {reference}");
        let blobs =
            std::iter::once(&m["config"]).chain(m["layers"].as_array().into_iter().flatten());
        for b in blobs {
            let bd = b["digest"].as_str().unwrap_or_default();
            let r = reqwest::Client::new()
                .get(format!("{}/v2/{REPO}/blobs/{bd}", registry.url()))
                .send()
                .await;
            assert_eq!(
                r.map(|r| r.status().as_u16()).ok(),
                Some(200),
                "blob {bd} of {d} ({reference})"
            );
        }
        platforms.push(format!(
            "{}/{}",
            child["platform"]["os"].as_str().unwrap_or("?"),
            child["platform"]["architecture"].as_str().unwrap_or("?")
        ));
    }
    platforms
}

fn journal(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The multi-platform image of the tests and where it lives.
struct Setup {
    reg: Registry,
    rt: tokio::runtime::Runtime,
    server: GithubServer,
    index: Pushed,
    dir: tempfile::TempDir,
}

/// A real registry holding an image [amd64, arm64, attestation] tagged `v1.4.0` and `extra`, and
/// the GitHub server listing it as package `svc` (versions 101–104), its ghcr.io face in front of
/// the registry. `None` when the registry binary is missing (skipped outside CI).
fn setup(extra: &[&str]) -> Option<Setup> {
    let reg = Registry::start()?;
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let pusher = reg.pusher();
    let (index, amd64, arm64, att) = rt.block_on(async {
        let amd64 = pusher.image(REPO, "amd64", "svc", None).await;
        let arm64 = pusher.image(REPO, "arm64", "svc", None).await;
        let att = pusher.attestation(REPO, &amd64).await;
        let index = pusher
            .index(
                REPO,
                &[(&amd64, "amd64"), (&arm64, "arm64")],
                &[(&att, &amd64)],
                Some("v1.4.0"),
            )
            .await;
        for t in extra {
            tag(&reg, &index, t).await;
        }
        (index, amd64, arm64, att)
    });
    assert_eq!(index.media_type, OCI_INDEX);
    let manifests: BTreeMap<String, String> = [&index, &amd64, &arm64, &att]
        .iter()
        .map(|p| (p.digest.clone(), p.bytes.clone()))
        .collect();
    let mut tags = vec!["v1.4.0"];
    tags.extend_from_slice(extra);
    let inventory = json!({"schema": 1, "owner": "acme", "captured_at": NOW, "packages": [{
        "package": {
            "id": 1, "name": "svc", "package_type": "container", "visibility": "private",
            "url": "https://api.github.com/orgs/acme/packages/container/svc",
            "html_url": "https://github.com/orgs/acme/packages/container/package/svc",
            "version_count": 4,
            "owner": {"login": "acme", "id": 1, "type": "Organization"},
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z"
        },
        "versions": [
            version(104, &index.digest, &tags),
            version(103, &att.digest, &[]),
            version(102, &arm64.digest, &[]),
            version(101, &amd64.digest, &[]),
        ],
        "manifests": manifests
    }]});
    let server = GithubServer::start(
        &inventory,
        Config {
            token: Some(TOKEN.into()),
            registry_upstream: Some(reg.url()),
            ..Config::default()
        },
    );
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    Some(Setup {
        reg,
        rt,
        server,
        index,
        dir,
    })
}

fn write(d: &Path, name: &str, text: &str) {
    if let Err(e) = std::fs::write(d.join(name), text) {
        panic!("write {name}: {e}")
    }
}

/// No version of the package and no manifest on the registry is a placeholder.
fn assert_no_placeholder(s: &Setup) {
    let d = s.dir.path();
    for line in journal(d) {
        if let Some(p) = line["untag"]["placeholder"].as_str() {
            let status = s.rt.block_on(get(&s.reg, p)).0;
            assert_eq!(status, 404, "placeholder {p} is still on the registry");
            if let Some(id) = line["untag"]["placeholder_id"].as_u64() {
                assert!(
                    s.server.deleted_ids().contains(&("svc".to_string(), id)),
                    "placeholder version {id} is still listed"
                );
            }
        }
    }
}

#[test]
#[ignore = "needs docker-registry"]
fn untag_a_multi_platform_image_on_a_real_registry_and_restore_it() {
    let Some(s) = setup(&["pr-42", "latest"]) else {
        return;
    };
    let _filters = filters(&s);
    let (reg, rt, server, index) = (&s.reg, &s.rt, &s.server, &s.index);
    let d = s.dir.path();
    write(
        d,
        "policy.yml",
        "version: 1\nowner: acme\npackages: { type: container, names: [svc] }\nrules:\n  - name: releases stay\n    keep: { tags: [\"v*\"] }\n",
    );
    let registry = server.url();

    // The plan (read through the ghcr.io face), with tag pr-42 removed from the image.
    let o = retention(
        server,
        d,
        &[
            "plan",
            "--policy",
            "policy.yml",
            "--now",
            NOW,
            "--format",
            "json",
            "--registry",
            &registry,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut plan: Value = match serde_json::from_slice(&o.stdout) {
        Ok(p) => p,
        Err(e) => panic!("plan JSON: {e}\n{}", text(&o)),
    };
    for v in plan["packages"][0]["versions"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        assert_eq!(v["action"], "keep", "{v}");
        if v["id"] == 104 {
            v["untag"] = json!(["pr-42"]);
        }
    }
    plan["summary"]["untag"] = json!(1);
    write(d, "plan.json", &plan.to_string());

    // Apply it.
    server.clear_requests();
    let o = retention(
        server,
        d,
        &[
            "apply",
            "--plan",
            "plan.json",
            "--journal",
            "journal.jsonl",
            "--registry",
            &registry,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    let requests = server.requests();
    let api: Vec<String> = requests
        .iter()
        .filter(|r| !r.endpoint.starts_with("registry"))
        .map(|r| r.endpoint.clone())
        .collect();
    let registry_requests: Vec<String> = requests
        .iter()
        .filter(|r| r.endpoint.starts_with("registry"))
        .map(|r| format!("{} {}", r.endpoint, r.status))
        .collect();
    let untag_api: Vec<&String> = api
        .iter()
        .filter(|e| *e == "GET versions" || *e == "DELETE version")
        .collect();
    eprintln!(
        "requests for 1 untag: API {} ({untag_api:?}; the rest finds the owner's scope: {api:?}); registry {} ({registry_requests:?})",
        untag_api.len(),
        registry_requests.len()
    );
    assert_eq!(
        untag_api,
        ["GET versions", "DELETE version"],
        "2 API requests per untag"
    );

    // The journal names the image, the tag and the placeholder.
    let lines = journal(d);
    let outcomes: Vec<&str> = lines.iter().filter_map(|l| l["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["untag_attempted", "untagged"], "{lines:?}");
    let record = &lines[1]["untag"];
    assert_eq!(lines[1]["name"], index.digest.as_str());
    assert_eq!(lines[1]["id"], 104);
    assert_eq!(record["tag"], "pr-42");
    let placeholder = record["placeholder"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(placeholder.starts_with("sha256:") && placeholder != index.digest);
    let placeholder_id = record["placeholder_id"].as_u64();
    assert!(placeholder_id.is_some_and(|id| id > 104), "{record}");

    rt.block_on(async {
        // The removed tag answers 404; the others and the digest pull with every platform.
        assert_eq!(get(reg, "pr-42").await.0, 404, "pr-42 is still there");
        for reference in ["v1.4.0", "latest", index.digest.as_str()] {
            let (_, digest, _) = get(reg, reference).await;
            assert_eq!(digest, index.digest, "{reference}");
            assert_eq!(
                pull(reg, reference).await,
                ["linux/amd64", "linux/arm64", "unknown/unknown"],
                "{reference}"
            );
        }
        // No placeholder remains on the registry.
    });
    assert_no_placeholder(&s);
    // ... nor in the package: the image lost pr-42 and nothing else changed.
    assert_eq!(
        server.deleted_ids(),
        [("svc".to_string(), placeholder_id.unwrap_or_default())]
    );

    // Restore puts pr-42 back on the same digest.
    let o = retention(
        server,
        d,
        &[
            "restore",
            "--journal",
            "journal.jsonl",
            "--registry",
            &registry,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    rt.block_on(async {
        let (status, digest, _) = get(reg, "pr-42").await;
        assert_eq!(
            (status, digest),
            (200, index.digest.clone()),
            "pr-42 restored"
        );
        assert_eq!(
            pull(reg, "pr-42").await,
            ["linux/amd64", "linux/arm64", "unknown/unknown"]
        );
    });
    let last = journal(d);
    assert_eq!(
        last.last().and_then(|l| l["outcome"].as_str()),
        Some("retagged")
    );
    // Restoring again does nothing more.
    let o = retention(
        server,
        d,
        &[
            "restore",
            "--journal",
            "journal.jsonl",
            "--registry",
            &registry,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
}

/// The peer case through `apply --policy`: a multi-platform image tagged `v1.4.0`,
/// `pr-42` and `pr-43` under "delete pr-*, keep v*" loses both pr tags and stays whole.
#[test]
#[ignore = "needs docker-registry"]
fn apply_policy_removes_the_pr_tags_of_a_multi_platform_image_which_stays_whole() {
    let Some(s) = setup(&["pr-42", "pr-43"]) else {
        return;
    };
    let _filters = filters(&s);
    let d = s.dir.path();
    write(
        d,
        "policy.yml",
        "version: 1\nowner: acme\npackages: { type: container, names: [svc] }\nrules:\n  - name: releases stay\n    keep: { tags: [\"v*\"] }\n  - name: pull requests go\n    delete: { tags: [\"pr-*\"] }\nsafety: { keep_newest: 0, min_age: 0s }\n",
    );
    let registry = s.server.url();
    let o = retention(
        &s.server,
        d,
        &[
            "apply",
            "--policy",
            "policy.yml",
            "--now",
            NOW,
            "--journal",
            "journal.jsonl",
            "--registry",
            &registry,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!(o.transcript());
    s.rt.block_on(async {
        for t in ["pr-42", "pr-43"] {
            assert_eq!(get(&s.reg, t).await.0, 404, "{t} is still there");
        }
        for reference in ["v1.4.0", s.index.digest.as_str()] {
            assert_eq!(
                get(&s.reg, reference).await.1,
                s.index.digest,
                "{reference}"
            );
            assert_eq!(
                pull(&s.reg, reference).await,
                ["linux/amd64", "linux/arm64", "unknown/unknown"],
                "{reference}"
            );
        }
    });
    // Only the two placeholders were deleted: the image and its parts are all there.
    let deleted: Vec<u64> = s
        .server
        .deleted_ids()
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(deleted, [105, 106]);
    assert_no_placeholder(&s);
}
