//! The image graph fixture shared by the registry tests: package `acme/app` holding every shape
//! of image graph ghcr.io holds, pushed for real into a registry, and the check that an image is
//! still pullable (its manifest and, for an index, every manifest it lists, recursively).
//!
//! Uses [`super::registry`] to push.

#![allow(dead_code)]

use super::registry::{Pushed, Pusher};

/// The repository (owner/image) the fixture is pushed to.
pub const REPO: &str = "acme/app";

/// The nightly policy the graph tests run: releases stay, pull-request images and untagged
/// leftovers older than two days go.
pub const POLICY: &str = r#"
version: 1
owner: acme
packages:
  type: container
  names: ["*"]
rules:
  - name: releases stay
    keep: { tags: ["v*"] }
  - name: pull-request images expire
    delete: { tags: ["pr-*"], older_than: 2d }
  - name: untagged leftovers
    delete: { untagged: true, older_than: 2d }
safety:
  keep_newest: 0
  min_age: 1h
"#;

/// The content of package `acme/app`: every shape of image graph ghcr.io holds.
pub struct Fixture {
    /// Tagged `v1.0`: [amd64 (shared), arm64, attestation].
    pub v1: Pushed,
    pub shared_amd64: Pushed,
    pub v1_arm64: Pushed,
    pub v1_att: Pushed,
    /// Tagged `pr-7`: [amd64 (shared with v1), arm64, attestation].
    pub pr: Pushed,
    pub pr_arm64: Pushed,
    pub pr_att: Pushed,
    /// cosign signatures, tagged `sha256-<hex>.sig`.
    pub v1_sig: Pushed,
    pub pr_sig: Pushed,
    /// OCI referrers with a `subject`, and their fallback indexes tagged `sha256-<hex>`.
    pub v1_ref: Pushed,
    pub v1_ref_index: Pushed,
    pub pr_ref: Pushed,
    pub pr_ref_index: Pushed,
    /// Tagged `pr-8`: [amd64, arm64, attestation] shared with nothing, signed, with a referrer
    /// and its fallback index: all of it goes when pr-8 goes.
    pub pr8: Pushed,
    pub pr8_amd64: Pushed,
    pub pr8_arm64: Pushed,
    pub pr8_att: Pushed,
    pub pr8_sig: Pushed,
    pub pr8_ref: Pushed,
    pub pr8_ref_index: Pushed,
    /// Nested: `v2.0` -> inner index -> [amd64]; `pr-9` -> inner index -> [amd64, arm64].
    pub v2: Pushed,
    pub v2_inner: Pushed,
    pub v2_amd64: Pushed,
    pub pr9: Pushed,
    pub pr9_inner: Pushed,
    pub pr9_amd64: Pushed,
    pub pr9_arm64: Pushed,
    /// An untagged single image nothing references.
    pub orphan: Pushed,
    /// (version, tags) in push order.
    pub versions: Vec<(Pushed, Vec<String>)>,
}

pub async fn push_fixture(p: &Pusher) -> Fixture {
    let shared_amd64 = p.image(REPO, "amd64", "shared", None).await;
    let v1_arm64 = p.image(REPO, "arm64", "v1", None).await;
    let v1_att = p.attestation(REPO, &shared_amd64).await;
    let v1 = p
        .index(
            REPO,
            &[(&shared_amd64, "amd64"), (&v1_arm64, "arm64")],
            &[(&v1_att, &shared_amd64)],
            Some("v1.0"),
        )
        .await;
    let pr_arm64 = p.image(REPO, "arm64", "pr-7", None).await;
    let pr_att = p.attestation(REPO, &pr_arm64).await;
    let pr = p
        .index(
            REPO,
            &[(&shared_amd64, "amd64"), (&pr_arm64, "arm64")],
            &[(&pr_att, &pr_arm64)],
            Some("pr-7"),
        )
        .await;
    let v1_sig = p.cosign_signature(REPO, &v1).await;
    let pr_sig = p.cosign_signature(REPO, &pr).await;
    let (v1_ref, v1_ref_index) = p.referrer_with_fallback(REPO, &v1).await;
    let (pr_ref, pr_ref_index) = p.referrer_with_fallback(REPO, &pr).await;
    let pr8_amd64 = p.image(REPO, "amd64", "pr-8", None).await;
    let pr8_arm64 = p.image(REPO, "arm64", "pr-8", None).await;
    let pr8_att = p.attestation(REPO, &pr8_amd64).await;
    let pr8 = p
        .index(
            REPO,
            &[(&pr8_amd64, "amd64"), (&pr8_arm64, "arm64")],
            &[(&pr8_att, &pr8_amd64)],
            Some("pr-8"),
        )
        .await;
    let pr8_sig = p.cosign_signature(REPO, &pr8).await;
    let (pr8_ref, pr8_ref_index) = p.referrer_with_fallback(REPO, &pr8).await;
    let v2_amd64 = p.image(REPO, "amd64", "v2", None).await;
    let v2_inner = p.index(REPO, &[(&v2_amd64, "amd64")], &[], None).await;
    let v2 = p.index(REPO, &[(&v2_inner, "")], &[], Some("v2.0")).await;
    let pr9_amd64 = p.image(REPO, "amd64", "pr-9", None).await;
    let pr9_arm64 = p.image(REPO, "arm64", "pr-9", None).await;
    let pr9_inner = p
        .index(
            REPO,
            &[(&pr9_amd64, "amd64"), (&pr9_arm64, "arm64")],
            &[],
            None,
        )
        .await;
    let pr9 = p.index(REPO, &[(&pr9_inner, "")], &[], Some("pr-9")).await;
    let orphan = p.image(REPO, "amd64", "orphan", None).await;

    let t = |s: &str| vec![s.to_string()];
    let sig_tag = |of: &Pushed| t(&format!("{}.sig", of.tag_prefix()));
    let versions = vec![
        (shared_amd64.clone(), vec![]),
        (v1_arm64.clone(), vec![]),
        (v1_att.clone(), vec![]),
        (v1.clone(), t("v1.0")),
        (pr_arm64.clone(), vec![]),
        (pr_att.clone(), vec![]),
        (pr.clone(), t("pr-7")),
        (v1_sig.clone(), sig_tag(&v1)),
        (pr_sig.clone(), sig_tag(&pr)),
        (v1_ref.clone(), vec![]),
        (v1_ref_index.clone(), t(&v1.tag_prefix())),
        (pr_ref.clone(), vec![]),
        (pr_ref_index.clone(), t(&pr.tag_prefix())),
        (pr8_amd64.clone(), vec![]),
        (pr8_arm64.clone(), vec![]),
        (pr8_att.clone(), vec![]),
        (pr8.clone(), t("pr-8")),
        (pr8_sig.clone(), sig_tag(&pr8)),
        (pr8_ref.clone(), vec![]),
        (pr8_ref_index.clone(), t(&pr8.tag_prefix())),
        (v2_amd64.clone(), vec![]),
        (v2_inner.clone(), vec![]),
        (v2.clone(), t("v2.0")),
        (pr9_amd64.clone(), vec![]),
        (pr9_arm64.clone(), vec![]),
        (pr9_inner.clone(), vec![]),
        (pr9.clone(), t("pr-9")),
        (orphan.clone(), vec![]),
    ];
    Fixture {
        v1,
        shared_amd64,
        v1_arm64,
        v1_att,
        pr,
        pr_arm64,
        pr_att,
        v1_sig,
        pr_sig,
        v1_ref,
        v1_ref_index,
        pr_ref,
        pr_ref_index,
        pr8,
        pr8_amd64,
        pr8_arm64,
        pr8_att,
        pr8_sig,
        pr8_ref,
        pr8_ref_index,
        v2,
        v2_inner,
        v2_amd64,
        pr9,
        pr9_inner,
        pr9_amd64,
        pr9_arm64,
        orphan,
        versions,
    }
}

/// GET a manifest and, for an index, every manifest it lists, recursively.
pub fn assert_pullable<'a>(
    p: &'a Pusher,
    digest: &'a str,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>> {
    Box::pin(async move {
        assert!(depth < 8, "index nesting too deep at {digest}");
        let (status, body) = p.get(REPO, digest).await;
        assert_eq!(status, 200, "kept {digest} is not pullable");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        if let Some(children) = v["manifests"].as_array() {
            for c in children {
                let d = c["digest"].as_str().expect("digest");
                assert_pullable(p, d, depth + 1).await;
            }
        }
    })
}
