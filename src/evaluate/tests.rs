//! The evaluator, case by case: each selector, each guard, each shape of the image graph; then
//! its laws as property tests.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sha2::{Digest, Sha256};

use super::reason::{Guard, ImageRef, Reason};
use super::*;
use crate::graph::{Edge, ImageGraph};
use crate::inventory::{ContainerMetadata, Metadata, Package, PackageType, Version};
use crate::plan::{BrokenImage, BrokenKind};
use crate::policy::parse_policy;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// A package under construction.
#[derive(Debug, Clone)]
struct Pkg {
    name: String,
    package_type: PackageType,
    versions: Vec<Version>,
    manifests: BTreeMap<String, String>,
}

fn container(name: &str) -> Pkg {
    Pkg {
        name: name.into(),
        package_type: PackageType::Container,
        versions: Vec::new(),
        manifests: BTreeMap::new(),
    }
}

fn digest_of(body: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body.as_bytes())))
}

impl Pkg {
    /// Add a version; `age_hours` before `now()`. Returns its name (the digest for images).
    fn add(&mut self, id: u64, name: &str, tags: &[&str], age_hours: i64) -> String {
        let t = now() - Duration::hours(age_hours);
        let metadata = Some(Metadata {
            package_type: Some(self.package_type),
            container: self.package_type.is_image().then(|| ContainerMetadata {
                tags: tags.iter().map(|s| s.to_string()).collect(),
            }),
            docker: None,
        });
        self.versions.push(Version {
            id,
            name: name.into(),
            created_at: t,
            updated_at: t,
            metadata,
        });
        name.to_string()
    }

    /// A single-platform image manifest (with a known manifest), returning its digest.
    fn image(&mut self, id: u64, tags: &[&str], age_hours: i64) -> String {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"digest":"sha256:{id:064x}"}},"layers":[]}}"#
        );
        let d = digest_of(&body);
        self.manifests.insert(d.clone(), body);
        self.add(id, &d, tags, age_hours)
    }

    /// A manifest with a `subject` (an OCI referrer).
    fn referrer(&mut self, id: u64, subject: &str, age_hours: i64) -> String {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example","config":{{"digest":"sha256:{id:064x}"}},"layers":[],"subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{subject}","size":1}}}}"#
        );
        let d = digest_of(&body);
        self.manifests.insert(d.clone(), body);
        self.add(id, &d, &[], age_hours)
    }

    /// An index listing `children`; `attest` marks which are buildx attestations.
    fn index(
        &mut self,
        id: u64,
        tags: &[&str],
        children: &[(&str, bool)],
        age_hours: i64,
    ) -> String {
        let entries: Vec<String> = children
            .iter()
            .map(|(c, attest)| {
                if *attest {
                    format!(r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{c}","size":1,"platform":{{"architecture":"unknown","os":"unknown"}},"annotations":{{"vnd.docker.reference.type":"attestation-manifest"}}}}"#)
                } else {
                    format!(r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{c}","size":1,"platform":{{"architecture":"amd64","os":"linux"}}}}"#)
                }
            })
            .collect();
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}],"annotations":{{"id":"{id}"}}}}"#,
            entries.join(",")
        );
        let d = digest_of(&body);
        self.manifests.insert(d.clone(), body);
        self.add(id, &d, tags, age_hours)
    }

    fn entry(self) -> PackageEntry {
        PackageEntry {
            package: Package {
                id: 1,
                name: self.name,
                package_type: self.package_type,
                visibility: None,
            },
            versions: self.versions,
            manifests: self.manifests,
            listing_gap: None,
        }
    }
}

fn inventory(pkgs: Vec<Pkg>) -> Inventory {
    Inventory {
        schema: 1,
        owner: "acme".into(),
        captured_at: now(),
        packages: pkgs.into_iter().map(Pkg::entry).collect(),
    }
}

/// A policy over container packages named `*` with no guards unless `safety` says otherwise.
fn policy(rules: &str) -> Policy {
    policy_with("container", rules, "  keep_newest: 0\n  min_age: 0s\n")
}

fn policy_with(package_type: &str, rules: &str, safety: &str) -> Policy {
    let yaml = format!("version: 1\npackages:\n  type: {package_type}\n  names: [\"*\"]\nrules:\n{rules}safety:\n{safety}");
    match parse_policy("test.yml", yaml.as_bytes()) {
        Ok(p) => p,
        Err(e) => panic!("test policy invalid:\n{e}\n{yaml}"),
    }
}

fn plan(p: &Policy, inv: &Inventory) -> Plan {
    match evaluate(p, inv, now()) {
        Ok(plan) => plan,
        Err(e) => panic!("evaluation failed: {e}"),
    }
}

fn decision<'a>(plan: &'a Plan, name: &str) -> &'a VersionPlan {
    plan.packages
        .iter()
        .flat_map(|p| &p.versions)
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("{name} not in plan"))
}

/// The typed reasons of one version's decision.
fn typed<'a>(policy: &'a Policy, inv: &'a Inventory, name: &str) -> Vec<Reason<'a>> {
    for entry in &inv.packages {
        if let Some(i) = entry.versions.iter().position(|v| v.name == name) {
            let decided = decide_package(policy, entry, now());
            if let Some(d) = decided.decisions.into_iter().find(|d| d.index == i) {
                return d.reasons;
            }
        }
    }
    panic!("{name} not in the inventory")
}

/// How a reason names a version.
fn image_ref<'a>(inv: &'a Inventory, name: &str) -> ImageRef<'a> {
    let v = inv
        .packages
        .iter()
        .flat_map(|p| &p.versions)
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("{name} not in the inventory"));
    ImageRef {
        digest: &v.name,
        tags: v.tags(),
    }
}

/// The version names of the plan's first package, in id order.
fn inventory_names(plan: &Plan) -> Vec<String> {
    let mut vs: Vec<&VersionPlan> = plan.packages[0].versions.iter().collect();
    vs.sort_by_key(|v| v.id);
    vs.into_iter().map(|v| v.name.clone()).collect()
}

fn deleted(plan: &Plan) -> Vec<u64> {
    let mut ids: Vec<u64> = plan.deletions().map(|(_, v)| v.id).collect();
    ids.sort();
    ids
}

// ---- selectors ----------------------------------------------------------------------------

#[test]
fn tags_with_exclusions() {
    let mut p = container("api");
    p.image(1, &["pr-1"], 100);
    p.image(2, &["pr-2-keep"], 100);
    p.image(3, &["main"], 100);
    let both = p.image(4, &["pr-3", "main-5"], 100);
    let plan = plan(
        &policy("  - name: prs\n    delete: { tags: [\"pr-*\", \"!*-keep\"] }\n"),
        &inventory(vec![p]),
    );
    // A tag selector selects tags: image 4 keeps main-5 and loses pr-3.
    assert_eq!(deleted(&plan), [1]);
    assert_eq!(decision(&plan, &both).untag, ["pr-3"]);
}

#[test]
fn tag_regex_searches_every_tag() {
    let mut p = container("api");
    p.image(1, &["build-123"], 100);
    p.image(2, &["x", "build-abc"], 100);
    p.image(3, &["v1"], 100);
    let plan = plan(
        &policy("  - name: numbered\n    delete: { tag_regex: '^build-\\d+$' }\n"),
        &inventory(vec![p]),
    );
    assert_eq!(deleted(&plan), [1]);
}

#[test]
fn untagged_true_and_false() {
    let mut p = container("api");
    p.image(1, &[], 100);
    p.image(2, &["a"], 100);
    let inv = inventory(vec![p]);
    assert_eq!(
        deleted(&plan(
            &policy("  - name: u\n    delete: { untagged: true }\n"),
            &inv
        )),
        [1]
    );
    assert_eq!(
        deleted(&plan(
            &policy("  - name: t\n    delete: { untagged: false }\n"),
            &inv
        )),
        [2]
    );
}

#[test]
fn older_than_and_newer_than_are_strict() {
    let mut p = container("api");
    p.image(1, &["a"], 47);
    p.image(2, &["b"], 48);
    p.image(3, &["c"], 49);
    let inv = inventory(vec![p]);
    assert_eq!(
        deleted(&plan(
            &policy("  - name: old\n    delete: { tags: [\"*\"], older_than: 2d }\n"),
            &inv
        )),
        [3]
    );
    assert_eq!(
        deleted(&plan(
            &policy("  - name: young\n    delete: { tags: [\"*\"], newer_than: 2d }\n"),
            &inv
        )),
        [1]
    );
}

#[test]
fn timestamp_created_at_is_honoured() {
    let mut p = container("api");
    p.image(1, &["a"], 1);
    p.versions[0].created_at = now() - Duration::days(30);
    let inv = inventory(vec![p]);
    let rule = "  - name: old\n    delete: { tags: [\"*\"], older_than: 7d }\n";
    assert!(deleted(&plan(&policy(rule), &inv)).is_empty());
    let yaml = format!("version: 1\npackages: {{ type: container, names: [\"*\"] }}\ntimestamp: created_at\nrules:\n{rule}safety: {{ keep_newest: 0, min_age: 0s }}\n");
    let created = parse_policy("t.yml", yaml.as_bytes()).expect("valid");
    assert_eq!(deleted(&plan(&created, &inv)), [1]);
}

#[test]
fn newest_keeps_n_per_package_by_time_ties_on_id() {
    let mut p = container("api");
    for id in 1..=5 {
        p.image(id, &[&format!("main-{id}")], 100 - id as i64);
    }
    p.image(6, &["main-6"], 95); // same time as id 5: higher id is newer
    let plan = plan(
        &policy("  - name: newest main\n    keep: { tags: [\"main-*\"], newest: 2 }\n  - name: old main\n    delete: { tags: [\"main-*\"] }\n"),
        &inventory(vec![p]),
    );
    assert_eq!(deleted(&plan), [1, 2, 3, 4]);
    assert_eq!(
        decision(&plan, &plan.packages[0].versions[0].name).id,
        6,
        "newest first"
    );
}

#[test]
fn newest_orders_by_time_not_version_number() {
    let mut p = container("api");
    p.image(1, &["v2.0.0"], 100);
    p.image(2, &["v1.0.0"], 10);
    let plan = plan(&policy("  - name: newest\n    keep: { tags: [\"v*\"], newest: 1 }\n  - name: rest\n    delete: { tags: [\"v*\"] }\n"), &inventory(vec![p]));
    assert_eq!(deleted(&plan), [1]);
}

#[test]
fn group_by_major_minor_and_regex() {
    let mut p = container("api");
    p.image(1, &["v1.0.0"], 50);
    p.image(2, &["v1.1.0"], 40);
    p.image(3, &["v1.1.1"], 30);
    p.image(4, &["v2.0.0"], 20);
    p.image(5, &["v2.0.1"], 10);
    p.image(6, &["latest"], 5);
    let inv = inventory(vec![p]);
    let rules = |g: &str| {
        format!("  - name: newest\n    keep: {{ tags: [\"*\"], newest: 1, group_by: {g} }}\n  - name: rest\n    delete: {{ tags: [\"v*\"] }}\n")
    };
    assert_eq!(deleted(&plan(&policy(&rules("major")), &inv)), [1, 2, 4]);
    assert_eq!(deleted(&plan(&policy(&rules("minor")), &inv)), [2, 4]);

    let mut p = container("api");
    p.image(1, &["pr-7-a"], 50);
    p.image(2, &["pr-7-b"], 40);
    p.image(3, &["pr-8-a"], 30);
    p.image(4, &["other"], 1);
    let plan = plan(
        &policy("  - name: newest per pr\n    keep: { tags: [\"*\"], newest: 1, group_by: '^pr-(\\d+)-' }\n  - name: prs\n    delete: { tags: [\"pr-*\", \"other\"] }\n"),
        &inventory(vec![p]),
    );
    // "other" has no group, so the keep rule does not select it.
    assert_eq!(deleted(&plan), [1, 4]);
}

#[test]
fn semver_follows_cargo_prerelease_rules() {
    let mut p = container("api");
    p.image(1, &["1.2.0"], 100);
    p.image(2, &["v1.2.1-beta.1"], 100);
    p.image(3, &["2.0.0-rc.1"], 100);
    p.image(4, &["2.0.0"], 100);
    p.image(5, &["not-a-version"], 100);
    let inv = inventory(vec![p]);
    assert_eq!(
        deleted(&plan(
            &policy("  - name: old\n    delete: { semver: \"<2.0.0\" }\n"),
            &inv
        )),
        [1]
    );
    assert_eq!(
        deleted(&plan(
            &policy("  - name: pre\n    delete: { prerelease: true }\n"),
            &inv
        )),
        [2, 3]
    );
    assert_eq!(
        deleted(&plan(
            &policy("  - name: rel\n    delete: { prerelease: false }\n"),
            &inv
        )),
        [1, 4]
    );
}

#[test]
fn npm_versions_and_semver_use_the_version_name() {
    let mut p = Pkg {
        name: "lib".into(),
        package_type: PackageType::Npm,
        versions: Vec::new(),
        manifests: BTreeMap::new(),
    };
    p.add(1, "1.0.0", &[], 100);
    p.add(2, "1.1.0-alpha.1", &[], 100);
    p.add(3, "2.0.0", &[], 100);
    p.add(4, "0.9.0-nightly", &[], 100);
    let inv = inventory(vec![p]);
    let npm = |rules: &str| policy_with("npm", rules, "  keep_newest: 0\n  min_age: 0s\n");
    assert_eq!(
        deleted(&plan(
            &npm("  - name: pre\n    delete: { prerelease: true }\n"),
            &inv
        )),
        [2, 4]
    );
    assert_eq!(
        deleted(&plan(
            &npm("  - name: v1\n    delete: { versions: [\"1.*\"] }\n"),
            &inv
        )),
        [1, 2]
    );
    assert_eq!(
        deleted(&plan(
            &npm("  - name: old\n    delete: { semver: \"<2\" }\n"),
            &inv
        )),
        [1]
    );
}

#[test]
fn packages_narrows_a_rule_and_names_select_packages() {
    let mut a = container("api");
    a.image(1, &["x"], 100);
    let mut w = container("web-legacy");
    w.image(2, &["x"], 100);
    let mut t = container("tools/cli");
    t.image(3, &["x"], 100);
    let inv = inventory(vec![a, w, t]);
    let plan1 = plan(
        &policy("  - name: only tools\n    delete: { tags: [x], packages: [\"tools/*\"] }\n"),
        &inv,
    );
    assert_eq!(deleted(&plan1), [3]);
    let yaml = "version: 1\npackages: { type: container, names: [\"*\", \"!web-*\"] }\nrules:\n  - name: all\n    delete: { tags: [x] }\nsafety: { keep_newest: 0, min_age: 0s }\n";
    let plan2 = plan(
        &parse_policy("t.yml", yaml.as_bytes()).expect("valid"),
        &inv,
    );
    assert_eq!(
        plan2
            .packages
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["api", "tools/cli"]
    );
    assert_eq!(deleted(&plan2), [1, 3]);
}

// ---- decisions, reasons, guards -----------------------------------------------------------

#[test]
fn keep_wins_and_says_so() {
    let mut p = container("api");
    let d = p.image(1, &["v1", "pr-1"], 100);
    let pol = policy("  - name: releases\n    keep: { tags: [\"v*\"] }\n  - name: old\n    delete: { older_than: 1d }\n");
    let inv = inventory(vec![p]);
    let plan = plan(&pol, &inv);
    let v = decision(&plan, &d);
    assert_eq!(v.action, Action::Keep);
    assert_eq!(v.reasons, ["releases", "keep wins over delete rule 'old'"]);
    assert!(!v.withheld, "kept by a keep rule: not withheld");
    assert!(
        v.untag.is_empty(),
        "a rule without tags selects the whole image, not its tags"
    );
    assert_eq!(
        typed(&pol, &inv, &d),
        [Reason::Rule("releases"), Reason::KeepWins(vec!["old"])]
    );
}

#[test]
fn a_version_no_rule_selects_is_kept() {
    let mut p = container("api");
    let d = p.image(1, &["x"], 100);
    let plan = plan(
        &policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n"),
        &inventory(vec![p]),
    );
    assert_eq!(decision(&plan, &d).reasons, ["no rule selects it"]);
    assert_eq!(
        plan.summary,
        Summary {
            packages: 1,
            versions: 1,
            delete: 0,
            keep: 1,
            // Nothing deleted: nothing freed.
            bytes_freed: Some(0),
            ..Summary::default()
        }
    );
}

#[test]
fn min_age_protects_young_versions() {
    let mut p = container("api");
    p.image(1, &["a"], 0);
    let old = p.image(2, &["b"], 5);
    let young = p.versions[0].name.clone();
    let pol = policy_with(
        "container",
        "  - name: all\n    delete: { tags: [\"*\"] }\n",
        "  keep_newest: 0\n  min_age: 1h\n",
    );
    let plan = plan(&pol, &inventory(vec![p]));
    assert_eq!(decision(&plan, &old).action, Action::Delete);
    assert_eq!(
        decision(&plan, &young).reasons,
        [
            "safety.min_age: younger than 1h",
            "keep wins over delete rule 'all'"
        ]
    );
}

#[test]
fn keep_newest_counts_top_level_images_only() {
    let mut p = container("api");
    let c1 = p.image(1, &[], 10);
    let c2 = p.image(2, &[], 10);
    let idx = p.index(3, &["old"], &[(&c1, false), (&c2, false)], 50);
    let newest = p.image(4, &["new"], 20);
    let pol = policy_with(
        "container",
        "  - name: all\n    delete: { older_than: 1h }\n",
        "  keep_newest: 2\n  min_age: 0s\n",
    );
    let inv = inventory(vec![p]);
    let plan = plan(&pol, &inv);
    // The children are newer than both images but are not images of their own.
    assert!(deleted(&plan).is_empty());
    let guard = Reason::Guard(Guard::KeepNewest { n: 2, images: true });
    let all = Reason::KeepWins(vec!["all"]);
    assert_eq!(typed(&pol, &inv, &idx), [guard.clone(), all.clone()]);
    assert_eq!(typed(&pol, &inv, &newest), [guard, all.clone()]);
    assert_eq!(
        typed(&pol, &inv, &c1),
        [
            Reason::Graph {
                edge: Edge::Child,
                kept: true,
                image: image_ref(&inv, &idx),
                top: None
            },
            all
        ]
    );
}

#[test]
fn max_deletions_is_an_error_naming_the_count() {
    let mut p = container("api");
    for id in 1..=5 {
        p.image(id, &["x"], 100);
    }
    let pol = policy_with(
        "container",
        "  - name: all\n    delete: { tags: [x] }\n",
        "  keep_newest: 0\n  min_age: 0s\n  max_deletions: 4\n",
    );
    let err = evaluate(&pol, &inventory(vec![p]), now()).expect_err("over the limit");
    assert!(
        err.to_string()
            .starts_with("the plan deletes 5 versions, more than max_deletions (4)"),
        "{err}"
    );
}

// ---- the image graph ----------------------------------------------------------------------

#[test]
fn children_of_a_kept_index_are_kept_with_the_image_named() {
    let mut p = container("api");
    let amd = p.image(1, &[], 100);
    let arm = p.image(2, &[], 100);
    let att = p.image(3, &[], 100);
    let idx = p.index(
        4,
        &["v1"],
        &[(&amd, false), (&arm, false), (&att, true)],
        100,
    );
    let plan = plan(&policy("  - name: releases\n    keep: { tags: [\"v*\"] }\n  - name: untagged\n    delete: { untagged: true }\n"), &inventory(vec![p]));
    assert!(deleted(&plan).is_empty());
    let short = &idx[..19];
    assert_eq!(
        decision(&plan, &amd).reasons,
        [
            format!("child manifest of kept image {short} (v1)"),
            "keep wins over delete rule 'untagged'".into()
        ]
    );
    assert_eq!(
        decision(&plan, &att).reasons[0],
        format!("build attestation of kept image {short} (v1)")
    );
}

#[test]
fn children_of_a_deleted_index_go_with_it() {
    let mut p = container("api");
    let amd = p.image(1, &[], 100);
    let att = p.image(2, &[], 100);
    let idx = p.index(3, &["pr-1"], &[(&amd, false), (&att, true)], 100);
    let plan = plan(
        &policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n"),
        &inventory(vec![p]),
    );
    assert_eq!(deleted(&plan), [1, 2, 3]);
    assert_eq!(
        decision(&plan, &amd).reasons,
        [format!(
            "child manifest of deleted image {} (pr-1)",
            &idx[..19]
        )]
    ); // Deleted only after their index (and not at all if the index cannot be).
    assert_eq!(decision(&plan, &amd).after, [3]);
    assert_eq!(decision(&plan, &att).after, [3]);
    assert!(decision(&plan, &idx).after.is_empty());
}

#[test]
fn a_child_shared_by_a_kept_and_a_deleted_index_stays_and_the_index_goes() {
    let mut p = container("api");
    let shared = p.image(1, &[], 100);
    let only_old = p.image(2, &[], 100);
    let v1 = p.index(3, &["v1"], &[(&shared, false)], 100);
    let pr = p.index(4, &["pr-1"], &[(&shared, false), (&only_old, false)], 100);
    let pol = policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n");
    let inv = inventory(vec![p]);
    let plan = plan(&pol, &inv);
    // ghcr.io removes a deleted index's children that no other index lists and spares the
    // shared one: pr-1 goes with its own child; the shared child stays with v1.
    assert_eq!(deleted(&plan), [2, 4]);
    assert_eq!(
        typed(&pol, &inv, &shared),
        [Reason::Graph {
            edge: Edge::Child,
            kept: true,
            image: image_ref(&inv, &v1),
            top: None
        }]
    );
    assert_eq!(
        typed(&pol, &inv, &only_old),
        [Reason::Graph {
            edge: Edge::Child,
            kept: false,
            image: image_ref(&inv, &pr),
            top: None
        }]
    );
    assert!(!decision(&plan, &pr).withheld);
}

#[test]
fn an_index_that_would_take_a_child_kept_for_itself_is_withheld() {
    let mut p = container("api");
    let young_child = p.image(1, &[], 1);
    let pr = p.index(2, &["pr-1"], &[(&young_child, false)], 100);
    let pol = policy("  - name: recent\n    keep: { newer_than: 2d }\n  - name: prs\n    delete: { tags: [\"pr-*\"] }\n");
    let inv = inventory(vec![p]);
    // The child stays by its own rule and no index that stays lists it: deleting pr-1 would let
    // the registry remove it, so pr-1 is withheld.
    assert!(deleted(&plan(&pol, &inv)).is_empty());
    assert_eq!(
        typed(&pol, &inv, &pr),
        [
            Reason::Withheld {
                child: image_ref(&inv, &young_child)
            },
            Reason::KeepWins(vec!["prs"])
        ]
    );
    assert!(decision(&plan(&pol, &inv), &pr).withheld);
}

#[test]
fn a_tagged_shared_child_does_not_withhold_the_index() {
    let mut p = container("api");
    let shared = p.image(1, &["amd64-build"], 100);
    let only_old = p.image(2, &[], 100);
    p.index(3, &["v1"], &[(&shared, false)], 100);
    p.index(4, &["pr-1"], &[(&shared, false), (&only_old, false)], 100);
    let plan = plan(
        &policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n"),
        &inventory(vec![p]),
    );
    // A registry does not remove a tagged manifest with an index: pr-1 can go.
    assert_eq!(deleted(&plan), [2, 4]);
    assert_eq!(decision(&plan, &shared).action, Action::Keep);
}

#[test]
fn nested_indexes_follow_the_top() {
    let mut p = container("api");
    let leaf = p.image(1, &[], 100);
    let inner = p.index(2, &[], &[(&leaf, false)], 100);
    let top = p.index(3, &["v1"], &[(&inner, false)], 100);
    let mut q = container("web");
    let leaf2 = q.image(11, &[], 100);
    let inner2 = q.index(12, &[], &[(&leaf2, false)], 100);
    q.index(13, &["pr-9"], &[(&inner2, false)], 100);
    let plan = plan(&policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n  - name: untagged\n    delete: { untagged: true }\n"), &inventory(vec![p, q]));
    assert_eq!(deleted(&plan), [11, 12, 13]);
    let r = &decision(&plan, &leaf).reasons[0];
    assert_eq!(
        r,
        &format!(
            "child manifest of kept image {} (untagged), part of {} (v1)",
            &inner[..19],
            &top[..19]
        )
    );
}

#[test]
fn cosign_signatures_follow_their_subject() {
    let mut p = container("api");
    let kept = p.image(1, &["v1"], 100);
    let gone = p.image(2, &["pr-1"], 100);
    let hex = |d: &str| d.trim_start_matches("sha256:").to_string();
    let sig_kept = p.image(3, &[&format!("sha256-{}.sig", hex(&kept))], 100);
    let att_gone = p.image(4, &[&format!("sha256-{}.att", hex(&gone))], 100);
    let sbom_gone = p.image(5, &[&format!("sha256-{}.sbom", hex(&gone))], 100);
    let pol = policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n  - name: old signatures\n    delete: { tags: [\"sha256-*\"] }\n");
    let inv = inventory(vec![p]);
    let plan = plan(&pol, &inv);
    assert_eq!(deleted(&plan), [2, 4, 5]);
    assert_eq!(
        typed(&pol, &inv, &sig_kept),
        [
            Reason::Graph {
                edge: Edge::Signature,
                kept: true,
                image: image_ref(&inv, &kept),
                top: None
            },
            Reason::KeepWins(vec!["old signatures"])
        ]
    );
    assert_eq!(
        decision(&plan, &att_gone).reasons,
        [
            "old signatures".to_string(),
            format!("cosign attestation of deleted image {} (pr-1)", &gone[..19])
        ]
    );
    assert_eq!(decision(&plan, &sbom_gone).action, Action::Delete);
}

#[test]
fn referrers_and_their_fallback_index_follow_the_subject() {
    let mut p = container("api");
    let kept = p.image(1, &["v1"], 100);
    let gone = p.image(2, &["pr-1"], 100);
    let r_kept = p.referrer(3, &kept, 100);
    let r_gone = p.referrer(4, &gone, 100);
    let fallback_tag = format!("sha256-{}", gone.trim_start_matches("sha256:"));
    let fb = p.index(5, &[&fallback_tag], &[(&r_gone, false)], 100);
    let pol = policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n  - name: untagged\n    delete: { untagged: true }\n");
    let inv = inventory(vec![p]);
    let plan = plan(&pol, &inv);
    assert_eq!(deleted(&plan), [2, 4, 5]);
    assert_eq!(
        typed(&pol, &inv, &r_kept),
        [
            Reason::Graph {
                edge: Edge::Referrer,
                kept: true,
                image: image_ref(&inv, &kept),
                top: None
            },
            Reason::KeepWins(vec!["untagged"])
        ]
    );
    assert_eq!(
        typed(&pol, &inv, &fb),
        [Reason::Graph {
            edge: Edge::ReferrersIndex,
            kept: false,
            image: image_ref(&inv, &gone),
            top: None
        }]
    );
}

#[test]
fn explicit_keep_of_a_signature_wins_over_its_deleted_subject() {
    let mut p = container("api");
    let gone = p.image(1, &["pr-1"], 100);
    let sig = p.image(
        2,
        &[&format!(
            "sha256-{}.sig",
            gone.trim_start_matches("sha256:")
        )],
        100,
    );
    let plan = plan(&policy("  - name: sigs\n    keep: { tags: [\"*.sig\"] }\n  - name: prs\n    delete: { tags: [\"pr-*\"] }\n"), &inventory(vec![p]));
    assert_eq!(deleted(&plan), [1]);
    assert_eq!(decision(&plan, &sig).reasons, ["sigs"]);
}

#[test]
fn missing_manifests_keep_untagged_versions_and_say_why() {
    let mut p = container("api");
    let child = p.image(1, &[], 100);
    let idx = p.index(2, &["v1"], &[(&child, false)], 100);
    let pr = p.image(3, &["pr-1"], 100);
    let orphan = p.image(4, &[], 100);
    p.manifests.remove(&idx);
    let pol = policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n  - name: untagged\n    delete: { untagged: true }\n");
    let inv = inventory(vec![p]);
    let plan = plan(&pol, &inv);
    assert!(
        deleted(&plan).is_empty(),
        "untagged deletions are withheld, and so is a tagged one: the unread index may list it"
    );
    for (d, rule, tagged) in [
        (&child, "untagged", false),
        (&orphan, "untagged", false),
        (&pr, "prs", true),
    ] {
        assert_eq!(
            typed(&pol, &inv, d),
            [
                Reason::Guard(Guard::ParentsUnknown {
                    count: 1,
                    sample: vec![idx.clone()],
                    tagged,
                }),
                Reason::KeepWins(vec![rule])
            ]
        );
    }
    assert!(
        decision(&plan, &child).reasons[0].starts_with(
            "untagged and its parents are unknown: 1 manifest of this package could not be read"
        ),
        "{:?}",
        decision(&plan, &child).reasons
    );
    assert!(decision(&plan, &pr).reasons[0].starts_with(
        "its parents are unknown, and a kept index may list it (deleting it could break that index): 1 manifest of this package could not be read"
    ));
    assert_eq!(plan.packages[0].warnings.len(), 1);
    assert!(plan.packages[0].warnings[0].starts_with(
        "3 versions selected for deletion are kept: 1 manifest of this package could not be read"
    ));
}

#[test]
fn a_child_of_a_deleted_index_stays_when_another_manifest_is_unknown() {
    let mut p = container("api");
    let child = p.image(1, &[], 100);
    p.index(2, &["pr-1"], &[(&child, false)], 100);
    let unknown = p.image(3, &["v1"], 100);
    p.manifests.remove(&unknown);
    let plan = plan(
        &policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n"),
        &inventory(vec![p]),
    );
    // v1's manifest is unknown: it may list the child too, so the child stays, and so does the
    // index (v1 may list it as well: review finding 3).
    assert!(deleted(&plan).is_empty());
    assert!(decision(&plan, &child).reasons[0].starts_with("untagged and its parents are unknown"));
    let pr = &inventory_names(&plan)[1];
    assert!(
        decision(&plan, pr).reasons[0]
            .starts_with("its parents are unknown, and a kept index may list it"),
        "{:?}",
        decision(&plan, pr).reasons
    );
}

#[test]
fn a_tagged_version_whose_manifest_was_not_read_is_not_deleted() {
    let mut p = container("api");
    let pr = p.image(1, &["pr-1"], 100);
    let known = p.image(2, &["pr-2"], 100);
    p.manifests.remove(&pr);
    let plan = plan(
        &policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n"),
        &inventory(vec![p]),
    );
    // pr-1 may be an index: deleting it could take untagged children a kept image shares.
    assert_eq!(
        decision(&plan, &pr).reasons[0],
        "manifest not read: it may be an index whose children a kept image shares"
    );
    // And, kept, it may list pr-2: pr-2 is not deleted whole either (review finding 3).
    assert!(deleted(&plan).is_empty());
    assert!(decision(&plan, &known).withheld);
    assert!(decision(&plan, &known).reasons[0].starts_with("its parents are unknown"));
}

#[test]
fn a_manifest_that_does_not_match_its_digest_is_kept_with_a_warning() {
    let mut p = container("api");
    let d = p.image(1, &["pr-1"], 100);
    p.manifests.insert(d.clone(), "{\"tampered\":true}".into());
    let plan = plan(
        &policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n"),
        &inventory(vec![p]),
    );
    assert!(deleted(&plan).is_empty());
    assert!(decision(&plan, &d).reasons[0].starts_with("manifest unusable: manifest of sha256:"));
    assert!(plan.packages[0].warnings[0].contains("does not match its digest"));
}

#[test]
fn needs_manifests_only_where_something_could_be_deleted() {
    let mut p = container("api");
    p.image(1, &["v1"], 100);
    p.image(2, &[], 100);
    let inv = inventory(vec![p]);
    let keep_only = policy("  - name: releases\n    keep: { tags: [\"v*\"] }\n  - name: prs\n    delete: { tags: [\"pr-*\"] }\n");
    assert!(!needs_manifests(&keep_only, &inv.packages[0], now()));
    let untagged = policy("  - name: untagged\n    delete: { untagged: true }\n");
    assert!(needs_manifests(&untagged, &inv.packages[0], now()));
    let too_young = policy_with(
        "container",
        "  - name: untagged\n    delete: { untagged: true }\n",
        "  min_age: 200h\n",
    );
    assert!(!needs_manifests(&too_young, &inv.packages[0], now()));
    // Only the manifests show a ghost or partial index.
    let ghosts = policy("  - name: ghosts\n    delete: { ghost: true }\n");
    assert!(needs_manifests(&ghosts, &inv.packages[0], now()));
    // A tag to remove: restoring it needs the manifest.
    let mut q = container("web");
    q.image(1, &["v1", "pr-1"], 100);
    let inv = inventory(vec![q]);
    let prs = policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n");
    assert!(needs_manifests(&prs, &inv.packages[0], now()));
}

/// While a package is still being listed, its manifests are read early only when the whole
/// package is sure to need them: with `newest`, a version selected among the versions listed
/// so far may not be selected among all of them.
#[test]
fn manifests_are_known_to_be_needed_early_only_without_newest() {
    // Listed so far: an older pull-request image. Listed later: a newer one, kept as recent.
    let mut prefix = container("api");
    prefix.image(1, &["pr-1"], 100);
    let mut whole = prefix.clone();
    whole.image(2, &["pr-2"], 50);
    let (prefix, whole) = (
        inventory(vec![prefix]).packages.remove(0),
        inventory(vec![whole]).packages.remove(0),
    );
    let newest = policy("  - name: recent\n    keep: { newer_than: 3d }\n  - name: the newest pull request\n    delete: { tags: [\"pr-*\"], newest: 1 }\n");
    assert!(needs_manifests(&newest, &prefix, now()));
    assert!(!needs_manifests(&newest, &whole, now()));
    assert!(!needs_manifests_known_early(&newest, &prefix, now()));
    assert!(!needs_knowable_early(&newest, "api"));
    // Without `newest`, each version is selected on its own: needed among some is needed among all.
    let prs = policy("  - name: recent\n    keep: { newer_than: 3d }\n  - name: pull requests\n    delete: { tags: [\"pr-*\"] }\n");
    assert!(needs_manifests_known_early(&prs, &prefix, now()));
    assert!(needs_manifests(&prs, &whole, now()));
    // Looking for broken images needs every manifest, `newest` or not.
    let ghosts = policy("  - name: ghosts\n    delete: { ghost: true }\n  - name: the newest pull request\n    delete: { tags: [\"pr-*\"], newest: 1 }\n");
    assert!(needs_manifests_known_early(&ghosts, &prefix, now()));
    assert!(needs_knowable_early(&ghosts, "api"));
    // Nothing to delete among the versions listed so far: not known yet.
    let keep_only = policy("  - name: kept\n    keep: { tags: [\"pr-*\"] }\n");
    assert!(!needs_manifests_known_early(&keep_only, &prefix, now()));
}

// ---- newest counts images -----------------------------------------------------------------

/// A multi-platform image: an index over two platform manifests and an attestation, all of
/// them (like on ghcr.io) pushed just before the index. Returns (index, its parts).
fn multi_platform(p: &mut Pkg, id: u64, tags: &[&str], age_hours: i64) -> (String, Vec<String>) {
    let amd = p.image(id * 10 + 1, &[], age_hours);
    let arm = p.image(id * 10 + 2, &[], age_hours);
    let att = p.image(id * 10 + 3, &[], age_hours);
    let idx = p.index(
        id,
        tags,
        &[(&amd, false), (&arm, false), (&att, true)],
        age_hours,
    );
    (idx, vec![amd, arm, att])
}

#[test]
fn newest_untagged_counts_images_not_their_platform_manifests() {
    let mut p = container("api");
    let (old, old_parts) = multi_platform(&mut p, 1, &[], 300);
    let (mid, mid_parts) = multi_platform(&mut p, 2, &[], 200);
    let (new, new_parts) = multi_platform(&mut p, 3, &[], 100);
    let pol = policy("  - name: two untagged images\n    keep: { untagged: true, newest: 2 }\n  - name: untagged\n    delete: { untagged: true }\n");
    let inv = inventory(vec![p]);
    let plan = plan(&pol, &inv);
    // The two newest untagged *images* stay whole; the oldest goes with its parts.
    let mut gone = vec![old.clone()];
    gone.extend(old_parts);
    for d in &gone {
        assert_eq!(decision(&plan, d).action, Action::Delete, "{d}");
    }
    for d in [&mid, &new].into_iter().chain(&mid_parts).chain(&new_parts) {
        assert_eq!(decision(&plan, d).action, Action::Keep, "{d}");
    }
    assert_eq!(
        typed(&pol, &inv, &new),
        [
            Reason::Rule("two untagged images"),
            Reason::KeepWins(vec!["untagged"])
        ]
    );
    assert_eq!(deleted(&plan).len(), 4);
}

#[test]
fn newest_tags_counts_releases_not_their_signatures() {
    let mut p = container("api");
    let hex = |d: &str| d.trim_start_matches("sha256:").to_string();
    let v1 = p.image(1, &["v1"], 300);
    let v2 = p.image(2, &["v2"], 200);
    let v3 = p.image(3, &["v3"], 100);
    // Signatures are pushed after the release they sign: newer than it.
    let sig1 = p.image(4, &[&format!("sha256-{}.sig", hex(&v1))], 50);
    let sig2 = p.image(5, &[&format!("sha256-{}.sig", hex(&v2))], 40);
    let sig3 = p.image(6, &[&format!("sha256-{}.sig", hex(&v3))], 30);
    let pol = policy("  - name: two newest releases\n    keep: { tags: [\"*\"], newest: 2 }\n  - name: the rest\n    delete: { tags: [\"*\"] }\n");
    let inv = inventory(vec![p]);
    let plan = plan(&pol, &inv);
    assert_eq!(decision(&plan, &v3).action, Action::Keep);
    assert_eq!(decision(&plan, &v2).action, Action::Keep);
    assert_eq!(decision(&plan, &v1).action, Action::Delete);
    assert_eq!(decision(&plan, &sig1).action, Action::Delete);
    for sig in [&sig2, &sig3] {
        assert_eq!(decision(&plan, sig).action, Action::Keep, "{sig}");
    }
    assert_eq!(
        typed(&pol, &inv, &sig3),
        [
            Reason::Graph {
                edge: Edge::Signature,
                kept: true,
                image: image_ref(&inv, &v3),
                top: None
            },
            Reason::KeepWins(vec!["the rest"])
        ]
    );
}

#[test]
fn an_orphaned_signature_is_an_image_of_its_own() {
    let mut p = container("api");
    let gone = format!("sha256:{}", "a".repeat(64));
    let sig = p.image(1, &[&format!("sha256-{}.sig", "a".repeat(64))], 10);
    let v1 = p.image(2, &["v1"], 100);
    let pol = policy_with(
        "container",
        "  - name: all\n    delete: { older_than: 1h }\n",
        "  keep_newest: 1\n  min_age: 0s\n",
    );
    let inv = inventory(vec![p]);
    let plan = plan(&pol, &inv);
    // Its subject is not in the package: it stands on its own, and is the newest image.
    assert_eq!(decision(&plan, &sig).action, Action::Keep);
    assert_eq!(decision(&plan, &v1).action, Action::Delete);
    assert_eq!(
        plan.packages[0].broken,
        [BrokenImage {
            id: 1,
            name: sig.clone(),
            tags: vec![format!("sha256-{}.sig", "a".repeat(64))],
            kind: BrokenKind::Orphaned,
            missing: vec![gone],
        }]
    );
}

// ---- tags have their own fate -------------------------------------------------------------

#[test]
fn peer_case_removing_two_of_three_tags_keeps_the_image() {
    let mut p = container("api");
    let d = p.image(1, &["tag1", "tag2", "tag3"], 100);
    let pol = policy("  - name: two tags\n    delete: { tags: [\"tag1\", \"tag2\"] }\n");
    let inv = inventory(vec![p]);
    let plan = plan(&pol, &inv);
    assert!(deleted(&plan).is_empty());
    assert_eq!(decision(&plan, &d).untag, ["tag1", "tag2"]);
    assert_eq!(plan.summary.untag, 2);
    assert_eq!(
        typed(&pol, &inv, &d),
        [
            Reason::Untag {
                tags: vec!["tag1", "tag2"],
                rules: vec!["two tags"],
                stays_as: None,
            },
            Reason::TagsStay(vec!["tag3"])
        ]
    );
    assert!(!decision(&plan, &d).withheld);
}

#[test]
fn peer_case_a_multi_platform_image_loses_two_tags_and_stays_whole() {
    let mut p = container("api");
    let (idx, parts) = multi_platform(&mut p, 1, &["tag1", "tag2", "tag3"], 100);
    let plan = plan(
        &policy("  - name: two tags\n    delete: { tags: [\"tag2\", \"tag3\"] }\n  - name: untagged\n    delete: { untagged: true }\n"),
        &inventory(vec![p]),
    );
    assert!(deleted(&plan).is_empty(), "{:?}", deleted(&plan));
    assert_eq!(decision(&plan, &idx).untag, ["tag2", "tag3"]);
    for part in &parts {
        assert_eq!(decision(&plan, part).action, Action::Keep);
        assert!(decision(&plan, part).untag.is_empty());
    }
}

#[test]
fn peer_case_keep_the_newest_beta_legacy_old_image_delete_the_others() {
    let mut p = container("api");
    let old = p.image(1, &["old"], 400);
    let v1 = p.image(2, &["v1.0", "legacy"], 300);
    let v2 = p.image(3, &["v2.0", "beta"], 200);
    let v3 = p.image(4, &["v3.0"], 100);
    let plan = plan(
        &policy("  - name: newest beta/legacy/old\n    keep: { tags: [beta, legacy, old], newest: 1 }\n  - name: other beta/legacy/old\n    delete: { tags: [beta, legacy, old] }\n"),
        &inventory(vec![p]),
    );
    assert_eq!(deleted(&plan), [1]);
    assert_eq!(decision(&plan, &old).action, Action::Delete);
    assert_eq!(decision(&plan, &v1).untag, ["legacy"]);
    assert!(decision(&plan, &v2).untag.is_empty());
    assert!(decision(&plan, &v3).untag.is_empty());
    assert_eq!(plan.summary.untag, 1);
}

#[test]
fn peer_case_an_image_whose_every_tag_matches_is_deleted() {
    let mut p = container("api");
    let (idx, parts) = multi_platform(&mut p, 1, &["pr-1", "pr-1-abc"], 100);
    let plan = plan(
        &policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n"),
        &inventory(vec![p]),
    );
    assert_eq!(decision(&plan, &idx).action, Action::Delete);
    assert!(decision(&plan, &idx).untag.is_empty());
    for part in &parts {
        assert_eq!(decision(&plan, part).action, Action::Delete);
    }
}

#[test]
fn every_tag_selected_by_several_delete_rules_deletes_the_image() {
    let mut p = container("api");
    let d = p.image(1, &["pr-1", "legacy"], 100);
    let plan = plan(
        &policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n  - name: legacy\n    delete: { tags: [legacy] }\n"),
        &inventory(vec![p]),
    );
    assert_eq!(decision(&plan, &d).action, Action::Delete);
    assert_eq!(decision(&plan, &d).reasons, ["prs", "legacy"]);
}

#[test]
fn untag_off_keeps_the_tags_and_says_why() {
    let mut p = container("api");
    let d = p.image(1, &["v1", "pr-1"], 100);
    let pol = policy_with(
        "container",
        "  - name: prs\n    delete: { tags: [\"pr-*\"] }\n",
        "  keep_newest: 0\n  min_age: 0s\n  untag: false\n",
    );
    let inv = inventory(vec![p]);
    let plan = plan(&pol, &inv);
    assert!(decision(&plan, &d).untag.is_empty());
    assert_eq!(plan.summary.untag, 0);
    assert_eq!(
        typed(&pol, &inv, &d),
        [
            Reason::UntagOff {
                tags: vec!["pr-1"],
                rules: vec!["prs"]
            },
            Reason::TagsStay(vec!["v1"])
        ]
    );
    assert_eq!(
        decision(&plan, &d).reasons[0],
        "tag pr-1 selected by delete rule 'prs' stays (safety.untag is false)"
    );
}

#[test]
fn max_untags_is_an_error_naming_the_count() {
    let mut p = container("api");
    for id in 1..=3 {
        p.image(id, &["v", &format!("pr-{id}")], 100);
    }
    let pol = policy_with(
        "container",
        "  - name: prs\n    delete: { tags: [\"pr-*\"] }\n",
        "  keep_newest: 0\n  min_age: 0s\n  max_untags: 2\n",
    );
    let err = evaluate(&pol, &inventory(vec![p]), now()).expect_err("over the limit");
    assert!(matches!(
        err,
        EvaluateError::TooManyUntags { count: 3, max: 2 }
    ));
    assert!(err.to_string().contains("help: "), "{err}");
}

#[test]
fn artifact_tags_are_never_removed_on_their_own() {
    let mut p = container("api");
    let subject = p.image(1, &["v1"], 100);
    let both = p.image(
        2,
        &[
            "build-7",
            &format!("sha256-{}.att", subject.trim_start_matches("sha256:")),
        ],
        100,
    );
    let plan = plan(
        &policy("  - name: attestations\n    delete: { tags: [\"sha256-*\"] }\n"),
        &inventory(vec![p]),
    );
    assert!(deleted(&plan).is_empty());
    assert!(decision(&plan, &both).untag.is_empty());
}

#[test]
fn a_young_image_keeps_its_tags() {
    let mut p = container("api");
    let d = p.image(1, &["v1", "pr-1"], 0);
    let pol = policy_with(
        "container",
        "  - name: prs\n    delete: { tags: [\"pr-*\"] }\n",
        "  keep_newest: 0\n  min_age: 1h\n",
    );
    let inv = inventory(vec![p]);
    assert!(decision(&plan(&pol, &inv), &d).untag.is_empty());
    assert_eq!(
        typed(&pol, &inv, &d)[0],
        Reason::Guard(Guard::MinAge(std::time::Duration::from_secs(3600)))
    );
}

#[test]
fn tags_of_an_image_whose_manifest_was_not_read_stay_and_the_plan_says_why() {
    let mut p = container("api");
    let d = p.image(1, &["v1", "pr-1"], 100);
    p.manifests.remove(&d);
    let pol = policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n");
    let inv = inventory(vec![p]);
    assert!(decision(&plan(&pol, &inv), &d).untag.is_empty());
    assert_eq!(
        typed(&pol, &inv, &d),
        [
            Reason::Guard(Guard::ManifestNotReadForUntag),
            Reason::TagsStay(vec!["v1"])
        ]
    );
}

#[test]
fn a_tagged_part_no_delete_rule_names_stays_when_its_index_goes() {
    let mut p = container("api");
    let named = p.image(1, &["amd64-build"], 100);
    let plain = p.image(2, &[], 100);
    let idx = p.index(3, &["pr-1"], &[(&named, false), (&plain, false)], 100);
    let pol = policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n");
    let inv = inventory(vec![p]);
    let plan = plan(&pol, &inv);
    assert_eq!(deleted(&plan), [2, 3]);
    assert_eq!(
        typed(&pol, &inv, &named),
        [Reason::TagsStay(vec!["amd64-build"])]
    );
    let _ = idx;
}

// ---- broken images ------------------------------------------------------------------------

/// A package with one image of each broken kind and a whole one:
/// (ghost, partial, partial's present child, orphaned signature, orphaned fallback index, its
/// referrer, whole image).
fn broken_package() -> (Pkg, [String; 7]) {
    let mut p = container("api");
    let absent = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
    let whole = p.image(1, &["v1"], 100);
    let ghost = p.index(
        2,
        &["ghost"],
        &[(&absent(1), false), (&absent(2), false)],
        100,
    );
    let present = p.image(3, &[], 100);
    let partial = p.index(
        4,
        &["partial"],
        &[(&present, false), (&absent(3), false), (&absent(4), true)],
        100,
    );
    let sig = p.image(5, &[&format!("sha256-{}.sig", "05".repeat(32))], 100);
    let referrer = p.referrer(6, &absent(6), 100);
    let fallback = p.index(
        7,
        &[&format!("sha256-{}", "06".repeat(32))],
        &[(&referrer, false)],
        100,
    );
    (p, [ghost, partial, present, sig, fallback, referrer, whole])
}

#[test]
fn broken_images_are_reported_even_when_no_rule_selects_them() {
    let (p, [ghost, partial, _, sig, fallback, referrer, _]) = broken_package();
    let plan = plan(
        &policy("  - name: prs\n    delete: { tags: [\"pr-*\"] }\n"),
        &inventory(vec![p]),
    );
    assert!(deleted(&plan).is_empty());
    let broken: Vec<(String, BrokenKind, usize)> = plan.packages[0]
        .broken
        .iter()
        .map(|b| (b.name.clone(), b.kind, b.missing.len()))
        .collect();
    let mut want = vec![
        (ghost, BrokenKind::Ghost, 2),
        // The missing attestation does not count.
        (partial, BrokenKind::Partial, 1),
        (sig, BrokenKind::Orphaned, 1),
        (referrer, BrokenKind::Orphaned, 1),
        (fallback, BrokenKind::Orphaned, 1),
    ];
    let mut got = broken.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(plan.summary.broken, 5);
    assert!(
        plan.packages[0]
            .warnings
            .iter()
            .any(|w| w == "5 broken images (1 ghost, 1 partial, 3 orphaned) cannot be pulled whole; the plan keeps 5 (help: delete them with a rule such as `delete: { ghost: true }`, `{ partial: true }` or `{ orphaned: true }`)"),
        "{:?}",
        plan.packages[0].warnings
    );
}

#[test]
fn ghost_partial_and_orphaned_select_broken_images() {
    let (p, [ghost, partial, present, sig, fallback, referrer, whole]) = broken_package();
    let inv = inventory(vec![p]);
    let names = |plan: &Plan| -> Vec<String> {
        let mut v: Vec<String> = plan.deletions().map(|(_, v)| v.name.clone()).collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let ghosts = plan(
        &policy("  - name: ghosts\n    delete: { ghost: true }\n"),
        &inv,
    );
    assert_eq!(names(&ghosts), [ghost]);
    // A partial index takes its remaining children with it.
    let partials = plan(
        &policy("  - name: partials\n    delete: { partial: true }\n"),
        &inv,
    );
    assert_eq!(
        names(&partials),
        sorted(vec![partial.clone(), present.clone()])
    );
    // An orphaned fallback index takes the referrers it lists.
    let orphans = plan(
        &policy("  - name: orphans\n    delete: { orphaned: true }\n"),
        &inv,
    );
    assert_eq!(names(&orphans), sorted(vec![sig, fallback, referrer]));
    let not_ghosts = plan(
        &policy("  - name: whole\n    delete: { ghost: false, tags: [\"v*\"] }\n"),
        &inv,
    );
    assert_eq!(names(&not_ghosts), [whole]);
}

#[test]
fn a_broken_index_keeps_children_a_kept_image_needs() {
    let mut p = container("api");
    let shared = p.image(1, &[], 100);
    let absent = format!("sha256:{}", "ab".repeat(32));
    p.index(2, &["v1"], &[(&shared, false)], 100);
    let partial = p.index(3, &["x"], &[(&shared, false), (&absent, false)], 100);
    let plan = plan(
        &policy("  - name: partials\n    delete: { partial: true }\n"),
        &inventory(vec![p]),
    );
    assert_eq!(deleted(&plan), [3]);
    assert_eq!(decision(&plan, &shared).action, Action::Keep);
    let _ = partial;
}

// ---- laws ---------------------------------------------------------------------------------

mod laws {
    use super::*;
    use proptest::prelude::*;

    /// A random container package: images, indexes over earlier untagged images, signatures.
    fn arb_package() -> impl Strategy<Value = Pkg> {
        let tags = prop::sample::select(vec![
            "",
            "v1.0.0",
            "v2.1.0-rc.1",
            "latest",
            "pr-1",
            "pr-2",
            "main-1",
            "main-2",
            "sig",
            "v1.0.0 pr-1",
            "main-2 pr-2 latest",
            "pr-1 pr-2",
        ]);
        let spec = (tags, 0i64..400, 0u8..4);
        prop::collection::vec(spec, 1..24).prop_map(|specs| {
            let mut p = container("api");
            let mut untagged: Vec<String> = Vec::new();
            let mut all: Vec<String> = Vec::new();
            for (i, (tag, age, shape)) in specs.into_iter().enumerate() {
                let id = i as u64 + 1;
                let tags: Vec<String> = match (tag, all.last()) {
                    ("", _) => vec![],
                    ("sig", Some(subject)) => vec![format!(
                        "sha256-{}.sig",
                        subject.trim_start_matches("sha256:")
                    )],
                    ("sig", None) => vec![],
                    (t, _) => t.split(' ').map(str::to_string).collect(),
                };
                let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
                let d = if shape == 0 && !untagged.is_empty() {
                    let take = untagged.len().min(2);
                    let children: Vec<(&str, bool)> = untagged[untagged.len() - take..]
                        .iter()
                        .map(|c| (c.as_str(), false))
                        .collect();
                    p.index(id, &tag_refs, &children, age)
                } else if shape == 1 && !all.is_empty() {
                    let subject = all[age as usize % all.len()].clone();
                    p.referrer(id, &subject, age)
                } else {
                    p.image(id, &tag_refs, age)
                };
                if tags.is_empty() {
                    untagged.push(d.clone());
                }
                all.push(d);
            }
            p
        })
    }

    fn arb_rules() -> impl Strategy<Value = Vec<String>> {
        let rule = prop::sample::select(vec![
            "keep: { tags: [\"v*\"] }",
            "keep: { tags: [\"main-*\"], newest: 1 }",
            "keep: { newer_than: 2d }",
            "keep: { prerelease: true }",
            "delete: { untagged: true }",
            "delete: { untagged: true, older_than: 3d }",
            "delete: { tags: [\"pr-*\"] }",
            "delete: { tags: [\"*\"], older_than: 5d }",
            "delete: { tags: [\"main-*\"] }",
            "delete: { semver: \"<2\" }",
            "delete: { tags: [\"pr-1\", \"latest\"] }",
            "keep: { tags: [\"latest\"] }",
            "delete: { tag_regex: '^(pr|main)-' }",
        ]);
        prop::collection::vec(rule.prop_map(String::from), 1..5)
    }

    fn render_rules(rules: &[String]) -> String {
        rules
            .iter()
            .enumerate()
            .map(|(i, r)| format!("  - name: r{i}\n    {r}\n"))
            .collect()
    }

    fn policy_of(rules: &[String], keep_newest: usize, max: u64) -> Policy {
        policy_with(
            "container",
            &render_rules(rules),
            &format!("  keep_newest: {keep_newest}\n  min_age: 1h\n  max_deletions: {max}\n"),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn keep_wins(pkg in arb_package(), rules in arb_rules(), keep_newest in 0usize..3) {
            let pol = policy_of(&rules, keep_newest, 1_000_000);
            let inv = inventory(vec![pkg]);
            let plan = plan(&pol, &inv);
            let entry = &inv.packages[0];
            let ctx = Ctx::new(&pol, entry, now());
            let sel = ctx.rule_selections(&pol);
            for (i, v) in entry.versions.iter().enumerate() {
                if !sel[i].keep.is_empty() {
                    prop_assert_eq!(decision(&plan, &v.name).action, Action::Keep);
                }
            }
        }

        #[test]
        fn no_child_of_a_kept_index_and_no_referrer_of_a_kept_image_is_deleted(pkg in arb_package(), rules in arb_rules()) {
            let pol = policy_of(&rules, 0, 1_000_000);
            let inv = inventory(vec![pkg]);
            let plan = plan(&pol, &inv);
            let entry = &inv.packages[0];
            let graph = ImageGraph::build(&entry.versions, &entry.manifests);
            for (i, v) in entry.versions.iter().enumerate() {
                if decision(&plan, &v.name).action == Action::Keep {
                    for &(c, _) in &graph.dependants[i] {
                        prop_assert_eq!(decision(&plan, &entry.versions[c].name).action, Action::Keep);
                    }
                }
            }
        }

        #[test]
        fn no_deleted_index_takes_with_it_an_untagged_version_that_stays(pkg in arb_package(), rules in arb_rules()) {
            // ghcr.io removes a deleted index's untagged children that no remaining index lists.
            let pol = policy_of(&rules, 0, 1_000_000);
            let inv = inventory(vec![pkg]);
            let plan = plan(&pol, &inv);
            let entry = &inv.packages[0];
            let graph = ImageGraph::build(&entry.versions, &entry.manifests);
            let stays = |j: usize| decision(&plan, &entry.versions[j].name).action == Action::Keep;
            for (i, v) in entry.versions.iter().enumerate() {
                if decision(&plan, &v.name).action == Action::Delete {
                    for &c in &graph.listed[i] {
                        let listed_by_a_survivor = (0..entry.versions.len()).any(|p| stays(p) && graph.listed[p].contains(&c));
                        prop_assert!(!entry.versions[c].tags().is_empty() || !stays(c) || listed_by_a_survivor);
                    }
                }
            }
        }

        #[test]
        fn a_deletion_waits_for_every_deleted_image_it_is_part_of(pkg in arb_package(), rules in arb_rules()) {
            let pol = policy_of(&rules, 0, 1_000_000);
            let inv = inventory(vec![pkg]);
            let plan = plan(&pol, &inv);
            let entry = &inv.packages[0];
            let graph = ImageGraph::build(&entry.versions, &entry.manifests);
            let by_id: std::collections::HashMap<u64, &VersionPlan> = plan.packages[0].versions.iter().map(|v| (v.id, v)).collect();
            for (i, v) in entry.versions.iter().enumerate() {
                let d = by_id[&v.id];
                if d.action == Action::Delete {
                    let mut want: Vec<u64> = graph.parents[i].iter().map(|(p, _)| entry.versions[*p].id).filter(|id| by_id[id].action == Action::Delete).collect();
                    want.sort_unstable();
                    want.dedup();
                    prop_assert_eq!(&d.after, &want);
                } else {
                    prop_assert!(d.after.is_empty());
                }
            }
        }

        #[test]
        fn the_same_input_gives_the_same_plan_whatever_the_listing_order(pkg in arb_package(), rules in arb_rules(), seed in any::<u64>()) {
            let pol = policy_of(&rules, 1, 1_000_000);
            let inv = inventory(vec![pkg]);
            let a = plan(&pol, &inv);
            prop_assert_eq!(&a, &plan(&pol, &inv));
            let mut shuffled = inv.clone();
            let vs = &mut shuffled.packages[0].versions;
            let mut rng = seed;
            for i in (1..vs.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                vs.swap(i, (rng >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(a, plan(&pol, &shuffled));
        }

        #[test]
        fn max_deletions_is_never_exceeded(pkg in arb_package(), rules in arb_rules(), max in 0u64..10) {
            let pol = policy_of(&rules, 0, max);
            match evaluate(&pol, &inventory(vec![pkg]), now()) {
                Ok(plan) => prop_assert!(plan.summary.delete <= max),
                Err(EvaluateError::TooManyDeletions { count, max: m }) => prop_assert!(count > m),
                Err(EvaluateError::TooManyUntags { .. }) => prop_assert!(false, "untags are bounded at 1000"),
            }
        }

        #[test]
        fn adding_a_keep_rule_never_adds_a_deletion(pkg in arb_package(), rules in arb_rules(), extra in prop::sample::select(vec![
            "keep: { tags: [\"pr-*\"] }", "keep: { untagged: true }", "keep: { older_than: 1d }", "keep: { tags: [\"*\"], newest: 2 }",
        ])) {
            let inv = inventory(vec![pkg]);
            let before = deleted(&plan(&policy_of(&rules, 1, 1_000_000), &inv));
            let mut more = rules.clone();
            more.push(extra.to_string());
            let after = deleted(&plan(&policy_of(&more, 1, 1_000_000), &inv));
            prop_assert!(after.iter().all(|id| before.contains(id)), "before {:?} after {:?}", before, after);
        }

        #[test]
        fn an_image_goes_only_when_every_tag_of_its_own_goes(pkg in arb_package(), rules in arb_rules()) {
            let pol = policy_of(&rules, 0, 1_000_000);
            let inv = inventory(vec![pkg]);
            let plan = plan(&pol, &inv);
            let entry = &inv.packages[0];
            let ctx = Ctx::new(&pol, entry, now());
            let sel = ctx.rule_selections(&pol);
            for (i, v) in entry.versions.iter().enumerate() {
                if decision(&plan, &v.name).action == Action::Delete {
                    prop_assert!(sel[i].tags_no_delete_rule_selects(v.tags()).is_empty(), "{:?}", v.tags());
                }
            }
        }

        #[test]
        fn untag_removes_only_tags_a_delete_rule_selects_and_never_all(pkg in arb_package(), rules in arb_rules()) {
            let pol = policy_of(&rules, 1, 1_000_000);
            let inv = inventory(vec![pkg]);
            let plan = plan(&pol, &inv);
            let entry = &inv.packages[0];
            let ctx = Ctx::new(&pol, entry, now());
            let sel = ctx.rule_selections(&pol);
            for (i, v) in entry.versions.iter().enumerate() {
                let d = decision(&plan, &v.name);
                if d.untag.is_empty() {
                    continue;
                }
                prop_assert_eq!(d.action, Action::Keep);
                prop_assert!(d.untag.len() < v.tags().len(), "{:?} loses {:?}", v.tags(), d.untag);
                for t in &d.untag {
                    let j = v.tags().iter().position(|x| x == t);
                    prop_assert!(j.is_some());
                    let j = j.unwrap_or_default();
                    prop_assert!(!sel[i].untag_tags[j].is_empty(), "{} selected by no delete rule with tags", t);
                    prop_assert!(!sel[i].keep_tags[j], "{} selected by a keep rule", t);
                    prop_assert!(crate::graph::tag_subject(t).is_none(), "artifact tag {}", t);
                }
            }
        }

        #[test]
        fn parts_added_to_images_never_change_which_images_newest_selects(
            images in prop::collection::vec((prop::sample::select(vec!["", "v1.0.0", "v2.1.0", "latest", "pr-1"]), 0i64..400, 0u8..3), 1..8),
            extras in prop::collection::vec((0usize..8, 0u8..4, 0i64..400), 0..12),
            rule in prop::sample::select(vec![
                "keep: { tags: [\"*\"], newest: 2 }",
                "keep: { untagged: true, newest: 2 }",
                "delete: { older_than: 1d, newest: 3 }",
                "keep: { tags: [\"v*\"], newest: 1, group_by: major }",
            ]),
        ) {
            let build = |with_extras: bool| {
                let mut p = container("api");
                for (k, (tag, age, children)) in images.iter().enumerate() {
                    let base = 1000 + k as u64 * 100;
                    let mut kids: Vec<(String, bool)> = (0..*children as u64)
                        .map(|j| (p.image(base + j, &[], *age), false))
                        .collect();
                    let mine: Vec<&(usize, u8, i64)> = extras.iter().filter(|(to, _, _)| to % images.len() == k).collect();
                    if with_extras {
                        for (n, (_, kind, age)) in mine.iter().enumerate() {
                            if *kind < 2 {
                                kids.push((p.image(base + 10 + n as u64, &[], *age), *kind == 1));
                            }
                        }
                    }
                    let tags: Vec<&str> = if tag.is_empty() { vec![] } else { vec![tag] };
                    let id = k as u64 + 1;
                    let d = if kids.is_empty() {
                        p.image(id, &tags, *age)
                    } else {
                        let refs: Vec<(&str, bool)> = kids.iter().map(|(c, a)| (c.as_str(), *a)).collect();
                        p.index(id, &tags, &refs, *age)
                    };
                    if with_extras {
                        for (n, (_, kind, age)) in mine.iter().enumerate() {
                            let eid = base + 50 + n as u64;
                            match kind {
                                2 => { p.image(eid, &[&format!("sha256-{}.sig", d.trim_start_matches("sha256:"))], *age); }
                                3 => { p.referrer(eid, &d, *age); }
                                _ => {}
                            }
                        }
                    }
                }
                p
            };
            let pol = policy_of(&[rule.to_string()], 0, 1_000_000);
            let selected = |pkg: Pkg| {
                let inv = inventory(vec![pkg]);
                let entry = &inv.packages[0];
                let ctx = Ctx::new(&pol, entry, now());
                let mut ids: Vec<u64> = ctx
                    .select(&pol.rules[0].selector)
                    .into_iter()
                    .map(|(i, _)| entry.versions[i].id)
                    .collect();
                ids.sort_unstable();
                ids
            };
            let bare = selected(build(false));
            prop_assert!(bare.iter().all(|&id| id < 1000), "only images are counted: {:?}", bare);
            prop_assert_eq!(bare, selected(build(true)));
        }
    }
}

/// `apply --policy` plans package by package and assembles (apply/stream.rs): the plan,
/// summary included (untags, broken images, space freed), must be the one `evaluate` makes.
#[test]
fn package_by_package_and_assembled_is_the_plan_evaluate_makes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let inventory = Inventory::load(&root.join("examples/inventory.json")).expect("the example");
    let vars = crate::policy::vars::Vars::new(&[("PR_NUMBER".into(), "101".into())]).expect("vars");
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let mut untags = 0;
    for name in [
        "nightly-ghcr",
        "pull-requests",
        "pr-closed",
        "newest-per-major",
    ] {
        let mut policy = Policy::load_with(&root.join(format!("policies/{name}.yml")), &vars)
            .expect("the example policy");
        policy.safety.max_deletions = u64::MAX;
        policy.safety.max_untags = u64::MAX;
        let whole = evaluate(&policy, &inventory, now).expect("a plan");
        let packages = inventory
            .packages
            .iter()
            .rev()
            .filter(|p| governs(&policy, p))
            .map(|p| plan_package(&policy, p, now))
            .collect();
        let assembled = assemble(&policy, &inventory.owner, now, packages);
        assert_eq!(
            serde_json::to_value(&assembled).expect("json"),
            serde_json::to_value(&whole).expect("json"),
            "{name}"
        );
        untags += whole.summary.untag;
    }
    // The comparison covers untags (the example inventory has some for nightly-ghcr).
    assert!(untags > 0);
}

/// A warning is one line: the renderers escape control characters in plan texts (a newline in a
/// warning would print as `\n`), so the help of a warning stays on its line.
#[test]
fn warnings_of_the_example_plans_are_one_line() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let inventory = Inventory::load(&root.join("examples/inventory.json")).expect("the example");
    let policy = Policy::load(&root.join("policies/nightly-ghcr.yml")).expect("the policy");
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let plan = evaluate(&policy, &inventory, now).expect("a plan");
    let warnings: Vec<&String> = plan.packages.iter().flat_map(|p| &p.warnings).collect();
    assert!(
        warnings.iter().any(|w| w.contains("help: delete them")),
        "{warnings:?}"
    );
    for w in warnings {
        assert!(!w.contains('\n'), "{w}");
    }
}

/// Issue 17.1: a tag the user asks to delete goes even when it is the image's last, when the
/// image stays only because a kept index needs it; a keep rule, a guard or an unread manifest
/// still keeps it.
#[test]
fn the_last_tag_goes_when_the_image_stays_only_as_a_part_of_a_kept_image() {
    let build = || {
        let mut p = container("api");
        let a = p.image(1, &["image-a"], 100);
        let b = p.image(2, &[], 100);
        let idx = p.index(3, &["multiarch"], &[(&a, false), (&b, false)], 100);
        (p, a, idx)
    };
    let rules = "  - name: image-a goes\n    delete: { tags: [\"image-a\"] }\n";
    let (p, a, idx) = build();
    let inv = inventory(vec![p]);
    let pol = policy(rules);
    let made = plan(&pol, &inv);
    assert!(deleted(&made).is_empty());
    assert_eq!(decision(&made, &a).action, Action::Keep);
    assert_eq!(decision(&made, &a).untag, ["image-a"]);
    assert_eq!(made.summary.untag, 1);
    assert!(typed(&pol, &inv, &a).contains(&Reason::Untag {
        tags: vec!["image-a"],
        rules: vec!["image-a goes"],
        stays_as: Some((Edge::Child, image_ref(&inv, &idx))),
    }));
    assert!(decision(&made, &a).reasons.contains(&format!(
        "untag image-a (delete rule 'image-a goes'): the image stays as a child manifest of kept image {} (multiarch)",
        &idx[..19]
    )));
    // The bound known before the manifests are read covers it.
    assert!(untag_bound(&pol, &inv.packages[0], now()) >= 1);

    // A keep rule, a guard or an unread manifest keeps the tag.
    let kept = policy(&format!(
        "{rules}  - name: a stays\n    keep: {{ tags: [\"image-*\"] }}\n"
    ));
    assert!(plan_untags(&kept, &inventory(vec![build().0])).is_empty());
    let young = policy_with("container", rules, "  keep_newest: 0\n  min_age: 200h\n");
    assert!(plan_untags(&young, &inventory(vec![build().0])).is_empty());
    let (mut p, a, _) = build();
    p.manifests.remove(&a);
    assert!(plan_untags(&pol, &inventory(vec![p])).is_empty());
    // Without a kept image that needs it, the image whose every tag goes is deleted whole.
    let mut alone = container("api");
    alone.image(1, &["image-a"], 100);
    alone.image(2, &["other"], 100);
    let plan_alone = plan(&pol, &inventory(vec![alone]));
    assert_eq!(deleted(&plan_alone), [1]);
    // safety.untag: false keeps it and says so.
    let off = policy_with(
        "container",
        rules,
        "  keep_newest: 0\n  min_age: 0s\n  untag: false\n",
    );
    assert!(plan_untags(&off, &inventory(vec![build().0])).is_empty());
}

/// Review finding 3: a tagged platform manifest of a kept index whose index is not in the
/// listing (a listing gap) or whose index's manifest was not read is never deleted whole on a
/// tag rule: whether a kept index lists it is unknown, and deleting it would break that index.
/// It is withheld with its tags (not untagged: if it is no part after all, the next complete
/// run deletes it as the policy says), and says why; a partial untag still goes ahead.
#[test]
fn a_tagged_image_whose_index_is_missing_or_unread_is_never_deleted_whole() {
    let build = || {
        let mut p = container("api");
        let a = p.image(1, &["image-a", "a-too"], 100);
        let b = p.image(2, &[], 100);
        let idx = p.index(3, &["multiarch"], &[(&a, false), (&b, false)], 100);
        (p, a, idx)
    };
    let pol = policy("  - name: image-a goes\n    delete: { tags: [\"image-a\", \"a-too\"] }\n  - name: leftovers\n    delete: { untagged: true }\n");
    // Everything listed and read: the image stays for the index, its tags go (issue 17.1).
    let (p, a, _) = build();
    let full = plan(&pol, &inventory(vec![p]));
    assert!(deleted(&full).is_empty());
    assert_eq!(decision(&full, &a).untag, ["image-a", "a-too"]);

    // The index is the version the listing missed.
    let (mut p, a, idx) = build();
    p.versions.retain(|v| v.name != idx);
    p.manifests.remove(&idx);
    let mut inv = inventory(vec![p]);
    inv.packages[0].listing_gap = Some(crate::inventory::ListingGap {
        listed: 2,
        version_count: 3,
    });
    let gap = plan(&pol, &inv);
    assert!(deleted(&gap).is_empty(), "{:?}", deleted(&gap));
    let d = decision(&gap, &a);
    assert!(d.withheld && d.untag.is_empty(), "{d:?}");
    assert!(
        d.reasons
            .iter()
            .any(|r| r.starts_with("the listing of this package is incomplete")),
        "{:?}",
        d.reasons
    );

    // The index is listed, its manifest was not read.
    let (mut p, a, idx) = build();
    p.manifests.remove(&idx);
    let inv = inventory(vec![p]);
    let unread = plan(&pol, &inv);
    assert!(deleted(&unread).is_empty(), "{:?}", deleted(&unread));
    assert!(decision(&unread, &a).withheld);
    assert!(
        typed(&pol, &inv, &a).contains(&Reason::Guard(Guard::ParentsUnknown {
            count: 1,
            sample: vec![idx.clone()],
            tagged: true,
        }))
    );

    // Only some of its tags selected: removing them keeps the image, so it goes ahead.
    let some = policy("  - name: image-a goes\n    delete: { tags: [\"image-a\"] }\n");
    assert_eq!(plan_untags(&some, &inv), [(1, "image-a".to_string())]);
}

/// The (version id, tag) pairs a plan removes.
fn plan_untags(p: &Policy, inv: &Inventory) -> Vec<(u64, String)> {
    plan(p, inv)
        .packages
        .iter()
        .flat_map(|p| &p.versions)
        .flat_map(|v| v.untag.iter().map(move |t| (v.id, t.clone())))
        .collect()
}

/// Issue 17.2: with a listing that did not add up, nothing whose deletion rests on a version's
/// absence is deleted (untagged leftovers, ghost, partial, orphaned, and a tagged image the
/// missing version may list: review finding 3), each says why, the package warns.
#[test]
fn an_incomplete_listing_withholds_every_deletion_that_rests_on_absence() {
    let (mut p, [ghost, partial, present, sig, fallback, referrer, _]) = broken_package();
    let leftover = p.image(8, &[], 100);
    let pr = p.image(9, &["pr-1"], 100);
    let pol = policy("  - name: broken\n    delete: { ghost: true }\n  - name: partial\n    delete: { partial: true }\n  - name: orphaned\n    delete: { orphaned: true }\n  - name: leftovers\n    delete: { untagged: true }\n  - name: prs\n    delete: { tags: [\"pr-*\"] }\n");
    let mut inv = inventory(vec![p]);
    let complete = plan(&pol, &inv);
    for name in [
        &ghost, &partial, &present, &sig, &fallback, &referrer, &leftover, &pr,
    ] {
        assert_eq!(decision(&complete, name).action, Action::Delete, "{name}");
    }
    inv.packages[0].listing_gap = Some(crate::inventory::ListingGap {
        listed: 9,
        version_count: 10,
    });
    let gap = plan(&pol, &inv);
    assert!(
        deleted(&gap).is_empty(),
        "the tagged pull request stays too: the missing version may be a kept index listing it"
    );
    let why = "the listing of this package is incomplete (9 versions listed, GitHub counts 10): what it is part of, or lacks, may be the version missing";
    for name in [
        &ghost, &partial, &present, &sig, &fallback, &referrer, &leftover, &pr,
    ] {
        let d = decision(&gap, name);
        assert_eq!(d.action, Action::Keep, "{name}");
        assert!(d.withheld, "{name}");
        assert!(
            d.reasons.iter().any(|r| r == why),
            "{name}: {:?}",
            d.reasons
        );
    }
    assert!(
        gap.packages[0].warnings.iter().any(|w| w.starts_with(
            "the listing is incomplete: 9 versions listed, GitHub counts 10 (versions were deleted or pushed while it was listed, twice); 8 deletions that would rest on a version's absence"
        )),
        "{:?}",
        gap.packages[0].warnings
    );
}

/// Issue 17.7: signatures kept in a package of their own (cosign's COSIGN_REPOSITORY) are not
/// orphaned while their subject is listed in another package; in a package of artifacts only,
/// a subject found nowhere may be in a package not listed, so nothing there is orphaned; in a
/// package of images, an artifact whose subject is nowhere still is.
#[test]
fn a_signature_whose_subject_is_in_another_listed_package_is_not_orphaned() {
    let hex = |d: &str| d.trim_start_matches("sha256:").to_string();
    let absent = format!("sha256:{}", "0e".repeat(32));
    let mut app = container("app");
    let v1 = app.image(1, &["v1"], 100);
    let app_orphan = app.image(2, &[&format!("sha256-{}.sig", hex(&absent))], 100);
    let mut sigs = container("sigs");
    let sig_v1 = sigs.image(11, &[&format!("sha256-{}.sig", hex(&v1))], 100);
    let att_v1 = sigs.image(12, &[&format!("sha256-{}.att", hex(&v1))], 100);
    let sig_absent = sigs.image(13, &[&format!("sha256-{}.sig", hex(&absent))], 100);
    let referrer_v1 = sigs.referrer(14, &v1, 100);
    let pol = policy("  - name: orphans go\n    delete: { orphaned: true }\n");
    let inv = inventory(vec![app, sigs]);
    let made = plan(&pol, &inv);
    for kept in [&v1, &sig_v1, &att_v1, &sig_absent, &referrer_v1] {
        assert_eq!(decision(&made, kept).action, Action::Keep, "{kept}");
    }
    assert_eq!(decision(&made, &app_orphan).action, Action::Delete);
    assert_eq!(deleted(&made), [2]);
    let sigs_plan = &made.packages[1];
    assert_eq!(sigs_plan.name, "sigs");
    assert!(sigs_plan.broken.is_empty(), "{:?}", sigs_plan.broken);
    assert!(
        sigs_plan
            .warnings
            .iter()
            .any(|w| w
                .starts_with("1 artifact of this package has no subject in any package listed")),
        "{:?}",
        sigs_plan.warnings
    );
    // Evaluated alone (its subject's package not listed), the signature store keeps them all.
    let mut sigs_alone = inv.clone();
    sigs_alone.packages.remove(0);
    assert!(deleted(&plan(&pol, &sigs_alone)).is_empty());
}
