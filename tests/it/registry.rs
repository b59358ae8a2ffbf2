//! The registry path end to end against a real OCI registry (the CNCF distribution registry,
//! `docker-registry`), with real multi-platform images, attestations, cosign signatures and
//! OCI referrers pushed through the distribution API: reading and verifying manifests,
//! authentication (none, htpasswd Basic, ghcr.io-style Bearer realm), retries, the disk cache,
//! `fill_manifests`' minimal reads, and the graph decisions on the live graph, down to "every
//! kept image is still pullable after the plan's deletions".

use crate::support::image_fixture;
use crate::support::registry as registry_support;
use crate::support::registry_proxy;
use crate::support::snap::{self, Filters};

use std::time::Duration;

use chrono::{DateTime, Utc};
use image_fixture::{assert_pullable, push_fixture, Fixture, REPO};
use registry_proxy::{Proxy, ProxyAuth};
use registry_support::{Pushed, Registry};
use retention::fill::fill_manifests;
use retention::inventory::Inventory;
use retention::plan::{Action, Plan};
use retention::registry::{
    Credentials, ErrorKind, ManifestCache, RegistryClient, RetryPolicy, Secret,
};

const OWNER: &str = "acme";

fn now() -> DateTime<Utc> {
    "2026-11-20T00:00:00Z".parse().expect("time")
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

fn client(url: &str, creds: Option<Credentials>) -> RegistryClient {
    RegistryClient::with_options(url, creds, fast_retry(), 8).expect("client")
}

/// An inventory as GitHub would list it: package `app` with a version per pushed manifest
/// (10 days old), and package `base` (all tagged releases, which the policy keeps). Extra
/// untagged digests may be added to `app`.
fn inventory(f: &Fixture, base: &[Pushed], extra_untagged: &[String]) -> Inventory {
    let version = |id: usize, name: &str, tags: &[String]| {
        let day = 1 + id % 9;
        serde_json::json!({
            "id": id, "name": name,
            "created_at": format!("2026-11-0{day}T00:00:00Z"),
            "updated_at": format!("2026-11-0{day}T00:00:00Z"),
            "metadata": {"package_type": "container", "container": {"tags": tags}},
        })
    };
    let mut app: Vec<serde_json::Value> = f
        .versions
        .iter()
        .enumerate()
        .map(|(i, (p, tags))| version(100 + i, &p.digest, tags))
        .collect();
    for (i, d) in extra_untagged.iter().enumerate() {
        app.push(version(500 + i, d, &[]));
    }
    let base_versions: Vec<serde_json::Value> = base
        .iter()
        .enumerate()
        .map(|(i, p)| version(900 + i, &p.digest, &[format!("v0.{i}")]))
        .collect();
    let inv = serde_json::json!({
        "schema": 1, "owner": OWNER, "captured_at": "2026-11-20T00:00:00Z",
        "packages": [
            {"package": {"id": 1, "name": "app", "package_type": "container"}, "versions": app},
            {"package": {"id": 2, "name": "base", "package_type": "container"}, "versions": base_versions},
        ],
    });
    Inventory::from_slice(inv.to_string().as_bytes(), "test inventory").expect("inventory")
}

fn policy() -> retention::policy::Policy {
    let yaml = image_fixture::POLICY;
    match retention::policy::parse_policy("policy.yml", yaml.as_bytes()) {
        Ok(p) => p,
        Err(e) => panic!("policy: {e}"),
    }
}

fn action_of(plan: &Plan, digest: &str) -> (Action, Vec<String>) {
    plan.packages
        .iter()
        .flat_map(|p| &p.versions)
        .find(|v| v.name == digest)
        .map(|v| (v.action, v.reasons.clone()))
        .unwrap_or_else(|| panic!("{digest} is not in the plan"))
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn reads_and_verifies_every_shape_of_manifest() {
    let Some(reg) = Registry::start() else { return };
    let f = push_fixture(&reg.pusher()).await;
    let proxy = Proxy::start(&reg.url(), ProxyAuth::Open).await;
    let c = client(&proxy.url(), None);
    for (p, _) in &f.versions {
        let text = c.get_manifest(REPO, &p.digest).await.expect("manifest");
        assert_eq!(text, p.bytes, "exact bytes of {}", p.digest);
    }
    // The Accept header lists all four manifest types.
    let accept = proxy
        .state
        .last_accept
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_default();
    for t in [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ] {
        assert!(accept.contains(t), "Accept lacks {t}: {accept}");
    }
    // Upper-case owner/name is lower-cased by repository_for.
    assert_eq!(retention::registry::repository_for("ACME", "App"), REPO);
    // A manifest that is not there: NotFound, named.
    let missing = format!("sha256:{}", "0".repeat(64));
    let e = c.get_manifest(REPO, &missing).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    let _filters = Filters::new().registry(&proxy.url()).bind();
    insta::assert_snapshot!(e.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn tampered_content_is_detected() {
    let Some(reg) = Registry::start() else { return };
    let p = reg.pusher();
    let img = p.image(REPO, "amd64", "x", Some("t")).await;
    let proxy = Proxy::start(&reg.url(), ProxyAuth::Open).await;
    proxy.tamper_with(&img.digest);
    let c = client(&proxy.url(), None);
    let e = c.get_manifest(REPO, &img.digest).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DigestMismatch, "{e}");
    {
        let _filters = Filters::new().registry(&proxy.url()).bind();
        insta::assert_snapshot!(e.to_string());
    }
    // Asking for one digest and being served another's bytes is a mismatch too: the registry
    // serves by tag, so ask the proxy for a digest whose content we altered above only.
    let other = p.image(REPO, "arm64", "y", None).await;
    assert_eq!(
        c.get_manifest(REPO, &other.digest).await.expect("ok"),
        other.bytes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn htpasswd_basic_auth() {
    let Some(reg) = Registry::start_htpasswd("ci-user", "s3cret-pass") else {
        return;
    };
    let img = reg.pusher().image(REPO, "amd64", "x", None).await;
    let good = client(
        &reg.url(),
        Some(Credentials::new("ci-user", Secret::new("s3cret-pass"))),
    );
    assert_eq!(
        good.get_manifest(REPO, &img.digest).await.expect("read"),
        img.bytes
    );
    // 1 challenge + 1 authenticated; later reads go straight with Basic.
    assert_eq!(
        good.get_manifest(REPO, &img.digest).await.expect("read"),
        img.bytes
    );
    assert_eq!(good.manifest_requests(), 3);

    let anonymous = client(&reg.url(), None);
    let e = anonymous.get_manifest(REPO, &img.digest).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    {
        let _filters = Filters::new().registry(&reg.url()).bind();
        insta::assert_snapshot!(e.to_string());
    }

    let wrong = client(
        &reg.url(),
        Some(Credentials::new("ci-user", Secret::new("nope"))),
    );
    let e = wrong.get_manifest(REPO, &img.digest).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(
        !e.to_string().contains("nope"),
        "the secret leaked into {e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn bearer_realm_like_ghcr_with_refresh_on_401() {
    let Some(reg) = Registry::start() else { return };
    let p = reg.pusher();
    let a = p.image(REPO, "amd64", "a", None).await;
    let b = p.image(REPO, "arm64", "b", None).await;
    let proxy = Proxy::start(
        &reg.url(),
        ProxyAuth::Bearer {
            password: "ghp_test".into(),
            anonymous_ok: false,
            realm_host: "127.0.0.1".into(),
        },
    )
    .await;
    let c = client(
        &proxy.url(),
        Some(Credentials::new("anyone", Secret::new("ghp_test"))),
    );
    assert_eq!(c.get_manifest(REPO, &a.digest).await.expect("a"), a.bytes);
    assert_eq!(c.get_manifest(REPO, &b.digest).await.expect("b"), b.bytes);
    assert_eq!(
        proxy
            .state
            .token_requests
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one token serves many reads"
    );
    // The realm got Basic credentials (any user, the token as password).
    let seen = proxy.state.token_auth_seen.lock().unwrap().clone();
    assert!(
        matches!(seen.as_slice(), [Some(h)] if h.starts_with("Basic ")),
        "{seen:?}"
    );

    // The token expires: the next read gets a 401, fetches a new token once, and succeeds.
    proxy.expire_tokens();
    assert_eq!(
        c.get_manifest(REPO, &a.digest).await.expect("a again"),
        a.bytes
    );
    assert_eq!(
        proxy
            .state
            .token_requests
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );

    // Wrong token: refused by the realm, reported without the secret.
    let wrong = client(
        &proxy.url(),
        Some(Credentials::new("anyone", Secret::new("ghp_wrong"))),
    );
    let e = wrong.get_manifest(REPO, &a.digest).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(!e.to_string().contains("ghp_wrong"), "{e}");

    // No token and anonymous refused.
    let anon = client(&proxy.url(), None);
    assert_eq!(
        anon.get_manifest(REPO, &a.digest).await.unwrap_err().kind,
        ErrorKind::Unauthorized
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn anonymous_bearer_and_no_token_to_other_hosts() {
    let Some(reg) = Registry::start() else { return };
    let a = reg.pusher().image(REPO, "amd64", "a", None).await;
    // Public images: anonymous tokens.
    let public = Proxy::start(
        &reg.url(),
        ProxyAuth::Bearer {
            password: "ghp_test".into(),
            anonymous_ok: true,
            realm_host: "127.0.0.1".into(),
        },
    )
    .await;
    let anon = client(&public.url(), None);
    assert_eq!(
        anon.get_manifest(REPO, &a.digest).await.expect("anonymous"),
        a.bytes
    );
    assert_eq!(
        public.state.token_auth_seen.lock().unwrap().clone(),
        vec![None]
    );

    // A realm on another host name (`localhost`, not the registry's `127.0.0.1`) never gets the
    // token: the client asks it for an anonymous token instead.
    let elsewhere = Proxy::start(
        &reg.url(),
        ProxyAuth::Bearer {
            password: "ghp_test".into(),
            anonymous_ok: true,
            realm_host: "localhost".into(),
        },
    )
    .await;
    let c = client(
        &elsewhere.url(),
        Some(Credentials::new("u", Secret::new("ghp_test"))),
    );
    assert_eq!(
        c.get_manifest(REPO, &a.digest).await.expect("read"),
        a.bytes
    );
    assert_eq!(
        elsewhere.state.token_auth_seen.lock().unwrap().clone(),
        vec![None]
    );
}

/// Issue 10.9: a realm on another port of the registry's host is another origin: it never gets
/// the Basic credentials (before: the hosts were compared, and it did).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn no_token_to_a_realm_on_another_port() {
    let Some(reg) = Registry::start() else { return };
    let a = reg.pusher().image(REPO, "amd64", "a", None).await;
    let other_port = Proxy::start(
        &reg.url(),
        ProxyAuth::Bearer {
            password: "ghp_test".into(),
            anonymous_ok: true,
            realm_host: "127.0.0.1".into(),
        },
    )
    .await;
    let registry = Proxy::start(
        &reg.url(),
        ProxyAuth::Bearer {
            password: "ghp_test".into(),
            anonymous_ok: true,
            realm_host: format!("127.0.0.1:{}", other_port.port),
        },
    )
    .await;
    let c = client(
        &registry.url(),
        Some(Credentials::new("u", Secret::new("ghp_test"))),
    );
    // The token the other port hands out is not valid here: the read fails, which is fine.
    let _ = c.get_manifest(REPO, &a.digest).await;
    let seen = other_port.state.token_auth_seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the realm was asked");
    assert!(
        seen.iter().all(Option::is_none),
        "credentials sent to another port: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn retries_429_and_5xx_then_gives_up() {
    let Some(reg) = Registry::start() else { return };
    let a = reg.pusher().image(REPO, "amd64", "a", None).await;
    let proxy = Proxy::start(&reg.url(), ProxyAuth::Open).await;
    let c = client(&proxy.url(), None);
    proxy.fail_next(2, 429);
    assert_eq!(
        c.get_manifest(REPO, &a.digest).await.expect("after 429s"),
        a.bytes
    );
    proxy.fail_next(3, 503);
    assert_eq!(
        c.get_manifest(REPO, &a.digest).await.expect("after 503s"),
        a.bytes
    );
    // Bounded: 4 attempts, then an error naming the status.
    proxy.fail_next(10, 502);
    let e = c.get_manifest(REPO, &a.digest).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Http);
    {
        let _filters = Filters::new().registry(&proxy.url()).bind();
        insta::assert_snapshot!(e.to_string());
    }
    assert_eq!(
        proxy
            .state
            .fail_next
            .load(std::sync::atomic::Ordering::SeqCst),
        6
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn fill_reads_what_decisions_need_once_then_from_cache() {
    let Some(reg) = Registry::start() else { return };
    let p = reg.pusher();
    let f = push_fixture(&p).await;
    let base = vec![
        p.image("acme/base", "amd64", "b0", Some("v0.0")).await,
        p.image("acme/base", "amd64", "b1", Some("v0.1")).await,
    ];
    let proxy = Proxy::start(&reg.url(), ProxyAuth::Open).await;
    let c = client(&proxy.url(), None);
    let cache_dir = tempfile::tempdir().expect("tmp");
    let cache = ManifestCache::open(cache_dir.path()).expect("cache");
    let policy = policy();

    // Cold cache: every manifest of `app` (some version may be deleted), none of `base` (its
    // versions are all kept by `releases stay`: no manifest can change a decision).
    let mut inv = inventory(&f, &base, &[]);
    let report = fill_manifests(&c, &cache, &policy, &mut inv, now()).await;
    let app_versions = f.versions.len();
    assert_eq!(report.packages_needing, 1, "{report:?}");
    assert_eq!(report.packages_skipped, 1, "{report:?}");
    assert_eq!(
        (
            report.needed,
            report.from_network,
            report.from_cache,
            report.failed
        ),
        (app_versions, app_versions, 0, 0),
        "{report:?}"
    );
    assert_eq!(proxy.reads(), app_versions);
    assert!(proxy
        .state
        .manifest_reads
        .lock()
        .unwrap()
        .iter()
        .all(|p| p.starts_with("/v2/acme/app/")));
    assert!(inv.packages[1].manifests.is_empty());
    eprintln!("cold: {}", report.summary());

    // Warm cache, a fresh inventory: zero reads from the registry.
    let mut inv2 = inventory(&f, &base, &[]);
    let report2 = fill_manifests(&c, &cache, &policy, &mut inv2, now()).await;
    assert_eq!(
        (report2.from_network, report2.from_cache),
        (0, app_versions),
        "{report2:?}"
    );
    assert_eq!(proxy.reads(), app_versions, "a warm cache reads nothing");
    eprintln!("warm: {}", report2.summary());
    // Same plan either way.
    let plan1 = retention::evaluate::evaluate(&policy, &inv, now()).expect("plan");
    let plan2 = retention::evaluate::evaluate(&policy, &inv2, now()).expect("plan");
    assert_eq!(plan1, plan2);

    // Manifests already in the inventory are not read again (no cache at all here).
    let report3 = fill_manifests(&c, &ManifestCache::disabled(), &policy, &mut inv2, now()).await;
    assert_eq!(
        (report3.from_inventory, report3.from_network),
        (app_versions, 0)
    );

    // The registry's own access log agrees: the app's manifests, read once.
    assert_eq!(reg.manifest_gets(), app_versions, "{}", reg.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn graph_decisions_on_the_live_graph_and_kept_images_stay_pullable() {
    let Some(reg) = Registry::start() else { return };
    let p = reg.pusher();
    let f = push_fixture(&p).await;
    let c = client(&reg.url(), None);
    let policy = policy();
    let mut inv = inventory(&f, &[], &[]);
    let report = fill_manifests(&c, &ManifestCache::disabled(), &policy, &mut inv, now()).await;
    assert_eq!(report.failed, 0, "{report:?}");
    let plan = retention::evaluate::evaluate(&policy, &inv, now()).expect("plan");

    let expect = |p: &Pushed, want: Action, reason: &str| {
        let (action, reasons) = action_of(&plan, &p.digest);
        assert_eq!(action, want, "{} {reasons:?}", p.digest);
        assert!(
            reasons.iter().any(|r| r.contains(reason)),
            "{} lacks reason `{reason}`: {reasons:?}",
            p.digest
        );
    };
    // A kept index keeps its platform manifests and attestation.
    expect(&f.v1, Action::Keep, "releases stay");
    expect(&f.v1_arm64, Action::Keep, "child manifest of kept image");
    expect(&f.v1_att, Action::Keep, "build attestation of kept image");
    // The shared child: needed by kept v1.0, a dependant of deleted pr-7: keep wins.
    expect(&f.shared_amd64, Action::Keep, "of kept image");
    // pr-7 shares that child with v1.0: ghcr.io removes a deleted index's children that no
    // other index lists and spares the shared one, so pr-7 goes with its own parts.
    expect(&f.pr, Action::Delete, "pull-request images expire");
    expect(
        &f.pr_arm64,
        Action::Delete,
        "child manifest of deleted image",
    );
    expect(
        &f.pr_att,
        Action::Delete,
        "build attestation of deleted image",
    );
    expect(&f.pr_sig, Action::Delete, "signature of deleted image");
    expect(
        &f.pr_ref_index,
        Action::Delete,
        "referrers index of deleted image",
    );
    // Signatures follow their subject.
    expect(&f.v1_sig, Action::Keep, "signature of kept image");
    // Referrers and referrers fallback indexes follow their subject.
    expect(&f.v1_ref, Action::Keep, "of kept image");
    expect(
        &f.v1_ref_index,
        Action::Keep,
        "referrers index of kept image",
    );
    // The deleted index pr-8 takes its children, attestation, signature and referrers with it.
    expect(&f.pr8, Action::Delete, "pull-request images expire");
    expect(
        &f.pr8_amd64,
        Action::Delete,
        "child manifest of deleted image",
    );
    expect(
        &f.pr8_arm64,
        Action::Delete,
        "child manifest of deleted image",
    );
    expect(
        &f.pr8_att,
        Action::Delete,
        "build attestation of deleted image",
    );
    expect(&f.pr8_sig, Action::Delete, "signature of deleted image");
    expect(&f.pr8_ref, Action::Delete, "of deleted image");
    expect(
        &f.pr8_ref_index,
        Action::Delete,
        "referrers index of deleted image",
    );
    // Nested indexes, kept and deleted, all the way down.
    expect(&f.v2, Action::Keep, "releases stay");
    expect(&f.v2_inner, Action::Keep, "child manifest of kept image");
    expect(&f.v2_amd64, Action::Keep, "child manifest of kept image");
    expect(&f.pr9, Action::Delete, "pull-request images expire");
    expect(&f.pr9_inner, Action::Delete, "");
    expect(&f.pr9_amd64, Action::Delete, "");
    expect(&f.pr9_arm64, Action::Delete, "");
    // Nothing references the orphan: the untagged rule deletes it.
    expect(&f.orphan, Action::Delete, "untagged leftovers");

    // Carry out exactly the plan's deletions through the registry API.
    let deletions: Vec<String> = plan.deletions().map(|(_, v)| v.name.clone()).collect();
    assert_eq!(deletions.len(), 18, "{deletions:?}");
    for d in &deletions {
        assert_eq!(p.delete(REPO, d).await, 202, "DELETE {d}");
    }
    // Every kept image is still pullable: its manifest, all its children (recursively) and
    // its referrers (fallback index entries) resolve.
    let kept: Vec<(String, Vec<String>)> = plan
        .packages
        .iter()
        .flat_map(|p| &p.versions)
        .filter(|v| v.action == Action::Keep)
        .map(|v| (v.name.clone(), v.tags.clone()))
        .collect();
    assert_eq!(kept.len(), f.versions.len() - 18);
    for (digest, tags) in &kept {
        assert_pullable(&p, digest, 0).await;
        for tag in tags {
            let (status, _) = p.get(REPO, tag).await;
            assert_eq!(status, 200, "tag {tag} of kept {digest}");
        }
    }
    for d in &deletions {
        assert_eq!(p.get(REPO, d).await.0, 404, "deleted {d} still there");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn unreadable_manifest_withholds_that_packages_untagged_deletions() {
    let Some(reg) = Registry::start() else { return };
    let p = reg.pusher();
    let f = push_fixture(&p).await;
    let c = client(&reg.url(), None);
    let policy = policy();
    // A version GitHub lists whose manifest the registry does not have.
    let ghost = format!("sha256:{}", "e".repeat(64));
    let mut inv = inventory(&f, &[], std::slice::from_ref(&ghost));
    let report = fill_manifests(&c, &ManifestCache::disabled(), &policy, &mut inv, now()).await;
    assert_eq!(report.failed, 1, "{report:?}");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains(&ghost) && w.contains("404")),
        "{:?}",
        report.warnings
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("deletions that depend on them (untagged versions, and versions whose own manifest is unread) are withheld")),
        "{:?}",
        report.warnings
    );
    let plan = retention::evaluate::evaluate(&policy, &inv, now()).expect("plan");
    // Untagged versions that nothing known references are kept: their parents are unknown.
    for d in [&f.orphan.digest, &ghost] {
        let (action, reasons) = action_of(&plan, d);
        assert_eq!(action, Action::Keep, "{d}: {reasons:?}");
        assert!(
            reasons.iter().any(|r| r.contains("parents are unknown")),
            "{reasons:?}"
        );
    }
    assert!(
        plan.packages[0]
            .warnings
            .iter()
            .any(|w| w.contains("could not be read")),
        "{:?}",
        plan.packages[0].warnings
    );
    // Kept images are still whole.
    assert_eq!(action_of(&plan, &f.shared_amd64.digest).0, Action::Keep);
    assert_eq!(action_of(&plan, &f.v1_arm64.digest).0, Action::Keep);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn nothing_is_read_for_a_package_whose_versions_are_all_kept() {
    let Some(reg) = Registry::start() else { return };
    let p = reg.pusher();
    let f = push_fixture(&p).await;
    let proxy = Proxy::start(&reg.url(), ProxyAuth::Open).await;
    let c = client(&proxy.url(), None);
    // A policy that only keeps: no decision can depend on a manifest.
    let yaml = "version: 1\nowner: acme\npackages: {type: container, names: [\"*\"]}\nrules:\n  - name: all\n    keep: { tags: [\"*\"] }\n";
    let policy =
        retention::policy::parse_policy("p.yml", yaml.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut inv = inventory(&f, &[], &[]);
    let report = fill_manifests(&c, &ManifestCache::disabled(), &policy, &mut inv, now()).await;
    assert_eq!(
        (report.packages_needing, report.needed, report.from_network),
        (0, 0, 0),
        "{report:?}"
    );
    assert_eq!(
        proxy
            .state
            .manifest_requests
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    // A package the policy does not govern is never read either.
    let yaml = "version: 1\nowner: acme\npackages: {type: container, names: [\"other\"]}\nrules:\n  - name: all\n    delete: { untagged: true }\n";
    let policy =
        retention::policy::parse_policy("p.yml", yaml.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let report = fill_manifests(&c, &ManifestCache::disabled(), &policy, &mut inv, now()).await;
    assert_eq!(report.needed, 0, "{report:?}");
    assert_eq!(
        proxy
            .state
            .manifest_requests
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

// ---------------------------------------------------------------------------------------------
// The cache on its own (no registry needed).

fn manifest_text(i: usize) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","n":{i}}}"#
    )
}

#[test]
fn cache_concurrent_writers_and_readers_are_safe() {
    let dir = tempfile::tempdir().expect("tmp");
    let texts: Vec<(String, String)> = (0..40)
        .map(|i| {
            let t = manifest_text(i);
            (registry_support::sha256(t.as_bytes()), t)
        })
        .collect();
    std::thread::scope(|s| {
        for _ in 0..6 {
            let texts = &texts;
            let dir = dir.path();
            s.spawn(move || {
                // Each "run" opens the shared directory on its own.
                let cache = ManifestCache::open(dir).expect("open");
                for _ in 0..5 {
                    for (d, t) in texts {
                        cache.put(d, t).expect("put");
                        if let Some(got) = cache.get(d) {
                            assert_eq!(&got, t, "a reader saw a partial or wrong entry");
                        }
                    }
                }
            });
        }
    });
    let cache = ManifestCache::open(dir.path()).expect("open");
    for (d, t) in &texts {
        assert_eq!(cache.get(d).as_deref(), Some(t.as_str()));
    }
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("manifests/sha256"))
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn cache_eviction_keeps_the_most_recently_used_within_bounds() {
    let dir = tempfile::tempdir().expect("tmp");
    let cache = ManifestCache::open(dir.path())
        .expect("open")
        .with_limits(10, 1_000_000);
    let mut digests = Vec::new();
    let base = std::time::SystemTime::now() - Duration::from_secs(10_000);
    for i in 0..30 {
        let t = manifest_text(i);
        let d = registry_support::sha256(t.as_bytes());
        cache.put(&d, &t).expect("put");
        // Entry i was last used at base + i seconds.
        let path = dir.path().join("manifests/sha256").join(&d[7..]);
        let f = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open entry");
        f.set_modified(base + Duration::from_secs(i as u64))
            .expect("mtime");
        digests.push(d);
    }
    // Using entry 0 makes it the most recent.
    assert!(cache.get(&digests[0]).is_some());
    let ev = cache.evict().expect("evict");
    assert_eq!((ev.entries, ev.removed), (10, 20), "{ev:?}");
    assert!(
        cache.get(&digests[0]).is_some(),
        "the entry just used survives"
    );
    for d in &digests[21..] {
        assert!(cache.get(d).is_some(), "recent {d} evicted");
    }
    for d in &digests[1..21] {
        assert!(cache.get(d).is_none(), "old {d} kept");
    }
    // A byte bound works too.
    let small = ManifestCache::open(dir.path())
        .expect("open")
        .with_limits(1000, 300);
    let ev = small.evict().expect("evict");
    assert!(ev.bytes <= 300 && ev.entries >= 1, "{ev:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn binary_plan_reads_manifests_of_a_saved_inventory_through_the_cache() {
    let Some(reg) = Registry::start_htpasswd("ci-user", "ghp_fake_for_test") else {
        return;
    };
    let f = push_fixture(&reg.pusher()).await;
    let dir = tempfile::tempdir().expect("tmp");
    let inv_path = dir.path().join("inventory.json");
    let inv = inventory(&f, &[], &[]);
    std::fs::write(&inv_path, serde_json::to_string(&inv).expect("json")).expect("write");
    let policy_path = dir.path().join("policy.yml");
    std::fs::write(
        &policy_path,
        "version: 1\nowner: acme\npackages: {type: container, names: [\"*\"]}\nrules:\n  - name: releases stay\n    keep: { tags: [\"v*\"] }\n  - name: pull-request images expire\n    delete: { tags: [\"pr-*\"], older_than: 2d }\n  - name: untagged leftovers\n    delete: { untagged: true, older_than: 2d }\nsafety: {keep_newest: 0, min_age: 1h}\n",
    )
    .expect("write");
    let cache = dir.path().join("cache");
    let run = |label: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_retention"))
            .args([
                "plan",
                "--format",
                "json",
                "--read-manifests",
                "--now",
                "2026-11-20T00:00:00Z",
            ])
            .arg("--policy")
            .arg(&policy_path)
            .arg("--inventory")
            .arg(&inv_path)
            .args(["--registry", &reg.url()])
            .env("RETENTION_CACHE_DIR", &cache)
            .env("GITHUB_TOKEN", "ghp_fake_for_test")
            .env("RETENTION_REGISTRY_USER", "ci-user")
            .env("RUST_LOG", "debug")
            .output()
            .expect("run retention");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{label}: {stderr}");
        assert!(
            !stderr.contains("ghp_fake_for_test"),
            "{label}: the token was logged: {stderr}"
        );
        eprintln!(
            "{label}: {}",
            stderr
                .lines()
                .filter(|l| l.starts_with("manifests:"))
                .collect::<Vec<_>>()
                .join("")
        );
        let plan: Plan = serde_json::from_slice(&out.stdout).expect("plan json");
        plan
    };
    let cold = run("cold");
    let cold_reads = reg.manifest_gets();
    assert_eq!(cold_reads, f.versions.len(), "{}", reg.log());
    let warm = run("warm");
    assert_eq!(
        reg.manifest_gets(),
        cold_reads,
        "a warm cache reads nothing"
    );
    assert_eq!(cold, warm);
    assert_eq!(cold.summary.delete, 18, "{:?}", cold.summary);
    // Without --read-manifests the same inventory withholds the untagged deletions.
    let offline = snap::run(
        std::process::Command::new(env!("CARGO_BIN_EXE_retention"))
            .args(["plan", "--format", "json", "--now", "2026-11-20T00:00:00Z"])
            .arg("--policy")
            .arg(&policy_path)
            .arg("--inventory")
            .arg(&inv_path)
            .env_remove("GITHUB_ACTIONS")
            .env_remove("RUST_LOG"),
    );
    {
        let _filters = Filters::new().bind();
        insta::assert_snapshot!(offline.transcript());
    }
    let offline: Plan = serde_json::from_slice(&offline.stdout).expect("plan json");
    assert_eq!(
        offline.summary.delete, 0,
        "without manifests nothing that could be an index or a child is deleted: {:?}",
        offline.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn docker_manifest_lists_are_read_and_their_children_kept() {
    let Some(reg) = Registry::start() else { return };
    let p = reg.pusher();
    let repo = "acme/legacy";
    let mut children = Vec::new();
    for arch in ["amd64", "arm64"] {
        let layer = p
            .blob(
                repo,
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                format!("docker layer {arch}").as_bytes(),
            )
            .await;
        let config = p
            .blob(
                repo,
                "application/vnd.docker.container.image.v1+json",
                format!(r#"{{"architecture":"{arch}","os":"linux"}}"#).as_bytes(),
            )
            .await;
        let m = serde_json::json!({
            "schemaVersion": 2, "mediaType": registry_support::DOCKER_MANIFEST,
            "config": config, "layers": [layer],
        });
        children.push((
            p.manifest(repo, registry_support::DOCKER_MANIFEST, &m, None)
                .await,
            arch,
        ));
    }
    let list = serde_json::json!({
        "schemaVersion": 2, "mediaType": registry_support::DOCKER_LIST,
        "manifests": children.iter().map(|(c, arch)| {
            let mut d = c.descriptor();
            d["platform"] = serde_json::json!({"architecture": arch, "os": "linux"});
            d
        }).collect::<Vec<_>>(),
    });
    let list = p
        .manifest(repo, registry_support::DOCKER_LIST, &list, Some("v3"))
        .await;
    let c = client(&reg.url(), None);
    let version = |id: u64, d: &str, tags: &[&str]| {
        serde_json::json!({
            "id": id, "name": d, "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z",
            "metadata": {"package_type": "container", "container": {"tags": tags}},
        })
    };
    let inv = serde_json::json!({
        "schema": 1, "owner": "ACME", "captured_at": "2026-11-20T00:00:00Z",
        "packages": [{"package": {"id": 3, "name": "Legacy", "package_type": "container"},
            "versions": [version(1, &list.digest, &["v3"]), version(2, &children[0].0.digest, &[]), version(3, &children[1].0.digest, &[])]}],
    });
    let mut inv = Inventory::from_slice(inv.to_string().as_bytes(), "inv").expect("inventory");
    let policy = policy();
    let report = fill_manifests(&c, &ManifestCache::disabled(), &policy, &mut inv, now()).await;
    assert_eq!((report.from_network, report.failed), (3, 0), "{report:?}");
    let plan = retention::evaluate::evaluate(&policy, &inv, now()).expect("plan");
    assert_eq!(plan.summary.delete, 0, "{plan:?}");
    for (child, _) in &children {
        let (action, reasons) = action_of(&plan, &child.digest);
        assert_eq!(action, Action::Keep);
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("child manifest of kept image")),
            "{reasons:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry"]
async fn concurrent_reads_behind_a_bearer_realm_share_one_token() {
    let Some(reg) = Registry::start() else { return };
    let p = reg.pusher();
    let f = push_fixture(&p).await;
    let base = vec![p.image("acme/base", "amd64", "b0", Some("v0.0")).await];
    let proxy = Proxy::start(
        &reg.url(),
        ProxyAuth::Bearer {
            password: "ghp_test".into(),
            anonymous_ok: false,
            realm_host: "127.0.0.1".into(),
        },
    )
    .await;
    let c = client(
        &proxy.url(),
        Some(Credentials::new("x", Secret::new("ghp_test"))),
    );
    let mut inv = inventory(&f, &base, &[]);
    let report = fill_manifests(&c, &ManifestCache::disabled(), &policy(), &mut inv, now()).await;
    assert_eq!(
        (report.from_network, report.failed),
        (f.versions.len(), 0),
        "{report:?}"
    );
    assert_eq!(
        proxy
            .state
            .token_requests
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_eq!(proxy.reads(), f.versions.len());
    // Issue 22.2: one anonymous read (its 401) for the repository, not one per concurrent read:
    // the others waited for the token.
    assert_eq!(
        proxy
            .state
            .manifest_requests
            .load(std::sync::atomic::Ordering::SeqCst),
        f.versions.len() as u64 + 1,
        "registry requests of a cold run"
    );
    // A snapshot for offline work can read every governed package instead.
    let report = retention::fill::fill_manifests_scoped(
        &c,
        &ManifestCache::disabled(),
        &policy(),
        &mut inv,
        now(),
        retention::fill::FillScope::AllGoverned,
    )
    .await;
    assert_eq!(
        (report.from_inventory, report.from_network),
        (f.versions.len(), 1),
        "{report:?}"
    );
    assert_eq!(inv.packages[1].manifests.len(), 1);
}
