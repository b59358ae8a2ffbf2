//! The check, case by case: what a kept image needs, what after-apply and listed modes report.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{TimeZone, Utc};
use sha2::{Digest, Sha256};

use super::*;
use crate::inventory::Version;
use crate::testkit;

fn digest_of(body: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body.as_bytes())))
}

/// One container package under construction.
#[derive(Default)]
struct Pkg {
    versions: Vec<Version>,
    manifests: BTreeMap<String, String>,
}

impl Pkg {
    fn add(&mut self, id: u64, body: &str, tags: &[&str]) -> String {
        let d = digest_of(body);
        self.manifests.insert(d.clone(), body.to_string());
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap();
        self.versions.push(testkit::version(id, &d, tags, t));
        d
    }

    fn image(&mut self, id: u64, tags: &[&str]) -> String {
        self.add(
            id,
            &format!(
                r#"{{"schemaVersion":2,"config":{{"digest":"sha256:{id:064x}"}},"layers":[]}}"#
            ),
            tags,
        )
    }

    /// An index of `children` (digest, is a buildx attestation).
    fn index(&mut self, id: u64, tags: &[&str], children: &[(&str, bool)]) -> String {
        let entries: Vec<String> = children
            .iter()
            .map(|(c, attest)| {
                if *attest {
                    format!(r#"{{"digest":"{c}","annotations":{{"vnd.docker.reference.type":"attestation-manifest"}}}}"#)
                } else {
                    format!(r#"{{"digest":"{c}"}}"#)
                }
            })
            .collect();
        self.add(
            id,
            &format!(
                r#"{{"schemaVersion":2,"manifests":[{}],"annotations":{{"id":"{id}"}}}}"#,
                entries.join(",")
            ),
            tags,
        )
    }

    fn inventory(self) -> Inventory {
        Inventory {
            schema: 1,
            owner: "acme".into(),
            captured_at: Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).single().unwrap(),
            packages: vec![testkit::package("app", self.versions, self.manifests)],
        }
    }
}

/// `v1`: an index (10) of amd64 (11), arm64 (12) and an attestation (13), signed by cosign (14);
/// `pr-1`: an index (20) of its own platform manifest (21). The run deletes 20 and 21.
fn release_and_pr() -> (Inventory, HashMap<&'static str, String>) {
    let mut p = Pkg::default();
    let amd = p.image(11, &[]);
    let arm = p.image(12, &[]);
    let att = p.image(13, &[]);
    let v1 = p.index(10, &["v1"], &[(&amd, false), (&arm, false), (&att, true)]);
    let sig_tag = format!("sha256-{}.sig", v1.trim_start_matches("sha256:"));
    let sig = p.image(14, &[&sig_tag]);
    let pr_child = p.image(21, &[]);
    let pr = p.index(20, &["pr-1"], &[(&pr_child, false)]);
    let names = HashMap::from([
        ("amd", amd),
        ("arm", arm),
        ("att", att),
        ("v1", v1),
        ("sig", sig),
        ("pr_child", pr_child),
        ("pr", pr),
    ]);
    (p.inventory(), names)
}

fn kept(_: &str, id: u64) -> bool {
    id < 20
}

fn present(names: &HashMap<&str, String>, without: &[&str]) -> HashMap<String, HashSet<String>> {
    let set = names
        .iter()
        .filter(|(k, _)| !without.contains(k))
        .map(|(_, d)| d.clone())
        .collect();
    HashMap::from([("app".to_string(), set)])
}

#[test]
fn after_apply_a_whole_kept_image_is_no_finding() {
    let (inv, names) = release_and_pr();
    // The deleted pull-request image and its child are gone: that is the plan, not a loss.
    let r = check(
        &inv,
        kept,
        &present(&names, &["pr", "pr_child"]),
        Mode::AfterApply,
    );
    assert_eq!(r.findings, vec![]);
    assert_eq!((r.packages, r.images), (1, 5));
}

#[test]
fn after_apply_a_lost_platform_manifest_and_signature_are_named() {
    let (inv, names) = release_and_pr();
    let r = check(
        &inv,
        kept,
        &present(&names, &["pr", "pr_child", "arm", "sig"]),
        Mode::AfterApply,
    );
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    let f = &r.findings[0];
    assert_eq!(
        (f.id, f.gone, f.tags.clone()),
        (10, false, vec!["v1".to_string()])
    );
    let mut lost: Vec<(Option<u64>, &str)> = f.missing.iter().map(|m| (m.id, m.what)).collect();
    lost.sort();
    assert_eq!(
        lost,
        vec![(Some(12), "child manifest"), (Some(14), "signature")]
    );
    let text = f.to_string();
    assert!(
        text.starts_with(&format!(
            "app: kept image {} (v1, id 10) lost 2 parts: ",
            &names["v1"][..19]
        )),
        "{text}"
    );
    assert!(text.contains("(signature, id 14)"), "{text}");
}

#[test]
fn a_lost_attestation_counts_too() {
    let (inv, names) = release_and_pr();
    let r = check(&inv, kept, &present(&names, &["att"]), Mode::AfterApply);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].missing[0].what, "build attestation");
}

#[test]
fn a_kept_image_that_is_gone_is_reported_once() {
    let (inv, names) = release_and_pr();
    // The whole release is gone: one finding for the image, none for each of its parts.
    let r = check(
        &inv,
        kept,
        &present(&names, &["v1", "amd", "arm", "att", "sig"]),
        Mode::AfterApply,
    );
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert!(r.findings[0].gone);
    assert!(r.findings[0].to_string().ends_with("(v1, id 10) is gone"));
}

#[test]
fn only_listed_packages_are_checked() {
    let (inv, _) = release_and_pr();
    let r = check(&inv, kept, &HashMap::new(), Mode::AfterApply);
    assert_eq!((r.packages, r.images, r.findings.len()), (0, 0, 0));
}

#[test]
fn listed_mode_finds_a_kept_index_whose_children_are_not_in_the_package() {
    let mut p = Pkg::default();
    let amd = p.image(11, &[]);
    let absent = digest_of("a platform manifest deleted long ago");
    let v1 = p.index(10, &["v1"], &[(&amd, false), (&absent, false)]);
    // A deleted (not kept) index with the same problem is not this check's business.
    let absent2 = digest_of("another");
    p.index(20, &["pr-1"], &[(&absent2, false)]);
    let inv = p.inventory();
    let r = listed(&inv, kept);
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    let f = &r.findings[0];
    assert_eq!((f.id, f.digest.as_str()), (10, v1.as_str()));
    assert_eq!(
        f.missing,
        vec![MissingPart {
            digest: absent.clone(),
            what: "child manifest",
            id: None
        }]
    );
    assert!(
        f.to_string()
            .contains("(child manifest, never in the package)"),
        "{f}"
    );
    // A whole package has no finding.
    let (inv, _) = release_and_pr();
    assert_eq!(listed(&inv, kept).findings, vec![]);
}

#[test]
fn listed_mode_counts_kept_versions_without_a_manifest() {
    let (mut inv, names) = release_and_pr();
    inv.packages[0].manifests.remove(&names["v1"]);
    let r = listed(&inv, kept);
    assert_eq!(r.findings, vec![]);
    assert!(r.unknown_manifests >= 1);
}
