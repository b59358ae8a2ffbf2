//! `keep: { in_use: true }`: a digest keeps exactly that version, a tag keeps the image it names
//! now and the tag, a reference to nothing in the package warns, and every version in use says
//! where.

use std::sync::Arc;

use crate::evaluate::evaluate;
use crate::inuse::{extract, Found};
use crate::plan::{Action, Plan, VersionPlan};
use crate::policy::{parse_policy, Policy};
use crate::testkit::{inventory, now, Pkg};

const POLICY: &str = r#"
version: 1
packages: { type: container, names: ["api"] }
in_use: { files: ["deploy/*.yaml"] }
rules:
  - name: what runs stays
    keep: { in_use: true }
  - name: old images go
    delete: { older_than: 10d }
  - name: pr tags go
    delete: { tags: ["pr-*"] }
safety: { keep_newest: 0 }
"#;

fn policy_using(deploy: &str) -> Policy {
    let mut policy = parse_policy("p.yml", POLICY.as_bytes()).unwrap();
    let found = Found {
        references: extract("ghcr.io", "deploy/prod.yaml", deploy.as_bytes()).unwrap(),
        ..Default::default()
    };
    policy.in_use.found = Some(Arc::new(found.for_owner("acme")));
    policy
}

fn version<'a>(plan: &'a Plan, digest: &str) -> &'a VersionPlan {
    plan.packages[0]
        .versions
        .iter()
        .find(|v| v.name == digest)
        .unwrap()
}

#[test]
fn a_digest_keeps_that_version_and_says_where() {
    let mut api = Pkg::new("api");
    let used = api.image(1, &["v1"], 500);
    let other = api.image(2, &["v2"], 500);
    let inv = inventory("acme", vec![api]);
    let plan = evaluate(
        &policy_using(&format!("a: 1\nimage: ghcr.io/acme/api@{used}\n")),
        &inv,
        now(),
    )
    .unwrap();
    let v = version(&plan, &used);
    assert_eq!(v.action, Action::Keep);
    assert_eq!(v.in_use, vec!["deploy/prod.yaml:2"]);
    assert_eq!(
        v.reasons,
        vec![
            "what runs stays",
            "in use: deploy/prod.yaml:2",
            "keep wins over delete rule 'old images go'"
        ]
    );
    assert_eq!(version(&plan, &other).action, Action::Delete);
    assert!(version(&plan, &other).in_use.is_empty());
}

#[test]
fn a_digest_of_an_index_keeps_its_parts() {
    let mut api = Pkg::new("api");
    let amd = api.image(1, &[], 500);
    let arm = api.image(2, &[], 500);
    let index = api.index(3, &["v1"], &[&amd, &arm], 500);
    let inv = inventory("acme", vec![api]);
    let plan = evaluate(
        &policy_using(&format!("ghcr.io/acme/api@{index}")),
        &inv,
        now(),
    )
    .unwrap();
    for d in [&index, &amd, &arm] {
        assert_eq!(version(&plan, d).action, Action::Keep, "{d}");
    }
    assert!(version(&plan, &amd).in_use.is_empty());
}

#[test]
fn a_platform_manifest_digest_keeps_only_it() {
    let mut api = Pkg::new("api");
    let amd = api.image(1, &[], 500);
    let arm = api.image(2, &[], 500);
    let index = api.index(3, &["v1"], &[&amd, &arm], 500);
    let inv = inventory("acme", vec![api]);
    let plan = evaluate(
        &policy_using(&format!("ghcr.io/acme/api@{amd}")),
        &inv,
        now(),
    )
    .unwrap();
    let kept = version(&plan, &amd);
    assert_eq!(kept.action, Action::Keep);
    assert!(kept.reasons.contains(&"what runs stays".to_string()));
    // The rule keeps neither the index nor its other platform manifest: the index stays only
    // because the graph withholds its deletion (the registry could take the kept manifest with
    // it), and says so.
    let idx = version(&plan, &index);
    assert!(idx.in_use.is_empty());
    assert!(!idx.reasons.iter().any(|r| r.contains("what runs stays")));
    assert!(idx.withheld, "{:?}", idx.reasons);
    assert!(!version(&plan, &arm)
        .reasons
        .iter()
        .any(|r| r.contains("what runs stays") || r.starts_with("in use")));
}

#[test]
fn a_tag_keeps_the_image_it_names_now_and_the_tag() {
    let mut api = Pkg::new("api");
    let used = api.image(1, &["v1", "pr-7"], 500);
    let old = api.image(2, &["stale", "pr-8"], 500);
    let inv = inventory("acme", vec![api]);
    let plan = evaluate(&policy_using("image: ghcr.io/acme/api:v1"), &inv, now()).unwrap();
    let v = version(&plan, &used);
    assert_eq!(v.action, Action::Keep);
    assert_eq!(v.in_use, vec!["deploy/prod.yaml:1"]);
    // The tag in use stays; another tag a delete rule selects is removed from the image.
    assert_eq!(v.untag, vec!["pr-7"]);
    assert_eq!(version(&plan, &old).action, Action::Delete);
}

#[test]
fn a_reference_to_nothing_in_the_package_is_a_warning() {
    let mut api = Pkg::new("api");
    api.image(1, &["v1"], 500);
    let inv = inventory("acme", vec![api]);
    let plan = evaluate(
        &policy_using("x\nimage: ghcr.io/acme/api:v1.3.0\nimage: ghcr.io/acme/web:v1\nimage: ghcr.io/other/api:v9"),
        &inv,
        now(),
    )
    .unwrap();
    assert_eq!(
        plan.packages[0].warnings,
        vec!["deploy/prod.yaml:2 uses ghcr.io/acme/api:v1.3.0, which is not in the package"]
    );
}

#[test]
fn in_use_without_a_keep_rule_warns_when_the_plan_deletes_it() {
    let text = POLICY.replace(
        "    keep: { in_use: true }",
        "    keep: { tags: [\"never\"] }",
    );
    let mut policy = parse_policy("p.yml", text.as_bytes()).unwrap();
    let mut api = Pkg::new("api");
    let used = api.image(1, &["v1"], 500);
    policy.in_use.found = Some(Arc::new(Found {
        references: extract("ghcr.io", "k8s.yaml", b"ghcr.io/acme/api:v1").unwrap(),
        ..Default::default()
    }));
    let plan = evaluate(&policy, &inventory("acme", vec![api]), now()).unwrap();
    assert_eq!(version(&plan, &used).action, Action::Delete);
    assert_eq!(version(&plan, &used).in_use, vec!["k8s.yaml:1"]);
    let w = &plan.packages[0].warnings;
    assert!(
        w.len() == 1 && w[0].contains("(v1) is in use (k8s.yaml:1) and the plan deletes it"),
        "{w:?}"
    );
}

#[test]
fn in_use_false_selects_what_no_reference_names() {
    let text = POLICY.replace(
        "    keep: { in_use: true }",
        "    keep: { in_use: false, tags: [\"v*\"] }",
    );
    let mut policy = parse_policy("p.yml", text.as_bytes()).unwrap();
    policy.in_use.found = Some(Arc::new(Found {
        references: extract("ghcr.io", "k8s.yaml", b"ghcr.io/acme/api:v2").unwrap(),
        ..Default::default()
    }));
    let mut api = Pkg::new("api");
    let v1 = api.image(1, &["v1"], 500);
    let v2 = api.image(2, &["v2"], 500);
    let plan = evaluate(&policy, &inventory("acme", vec![api]), now()).unwrap();
    assert_eq!(version(&plan, &v1).action, Action::Keep);
    assert_eq!(version(&plan, &v2).action, Action::Delete);
}

const UNTAG_POLICY: &str = r#"
version: 1
packages: { type: container, names: ["api"] }
in_use: { files: ["deploy/*.yaml"] }
rules:
  - name: KEEP
  - name: releases stay
    keep: { tags: ["v*"] }
  - name: latest goes
    delete: { tags: ["latest"] }
safety: { keep_newest: 0 }
"#;

/// The review's case: `latest`, pulled by a deployment, on a kept release; `keep` is the first
/// rule's selector.
fn untag_plan(keep: &str) -> (Plan, String) {
    let text = UNTAG_POLICY.replace("KEEP", &format!("first\n    keep: {keep}"));
    let mut policy = parse_policy("p.yml", text.as_bytes()).unwrap();
    policy.in_use.found = Some(Arc::new(Found {
        references: extract(
            "ghcr.io",
            "deploy/a.yaml",
            b"image: ghcr.io/acme/api:latest\n",
        )
        .unwrap(),
        ..Default::default()
    }));
    let mut api = Pkg::new("api");
    let release = api.image(1, &["v2.1.0", "latest"], 500);
    (
        evaluate(&policy, &inventory("acme", vec![api]), now()).unwrap(),
        release,
    )
}

#[test]
fn removing_a_tag_a_deployment_pulls_warns() {
    let (plan, release) = untag_plan(r#"{ tags: ["never"] }"#);
    let v = version(&plan, &release);
    assert_eq!(v.action, Action::Keep);
    assert_eq!(v.untag, vec!["latest"]);
    let w = &plan.packages[0].warnings;
    assert!(
        w.len() == 1
            && w[0].starts_with("the plan removes tag latest from ")
            && w[0].contains("which deploy/a.yaml:1 pulls by that tag"),
        "{w:?}"
    );
}

#[test]
fn keep_in_use_keeps_the_tag_a_deployment_pulls() {
    let (plan, release) = untag_plan("{ in_use: true }");
    let v = version(&plan, &release);
    assert_eq!(v.action, Action::Keep);
    assert!(v.untag.is_empty(), "{:?}", v.untag);
    assert!(
        plan.packages[0].warnings.is_empty(),
        "{:?}",
        plan.packages[0].warnings
    );
}
