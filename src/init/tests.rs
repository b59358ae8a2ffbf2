//! The survey counts what each family covers; the written policy parses; and its law: on any
//! inventory, the policy `init` writes never deletes a version carrying a semver release tag or a
//! moving tag, and never deletes a part of an image it keeps.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;

use super::write::{policy, Options};
use super::*;
use crate::evaluate::evaluate_unchecked;
use crate::graph::ImageGraph;
use crate::plan::Action;
use crate::policy::{parse_policy, parse_version};
use crate::testkit::{inventory, now, Pkg};

#[test]
fn the_survey_counts_each_family() {
    let mut api = Pkg::new("api");
    let amd = api.image(1, &[], 300);
    api.index(2, &["v1.0.0", "latest"], &[&amd], 300);
    api.image(3, &["pr-7"], 200);
    api.image(4, &["pr-8-2"], 100);
    api.image(5, &["main-3de6a38"], 50);
    api.image(6, &["main-1dc35f1", "v1.1.0"], 40);
    api.image(7, &["foo"], 10);
    let mut web = Pkg::new("web");
    web.image(8, &["pr-9"], 20);
    web.image(9, &["20260301"], 20);
    let s = survey(&inventory("acme", vec![api, web]));
    assert_eq!(s.packages, vec!["api", "web"]);
    assert_eq!(s.versions, 9);
    assert_eq!(s.releases.images, 2);
    assert_eq!(s.moving.images, 1);
    assert_eq!(s.pull_requests.images, 3);
    assert_eq!(s.pull_requests.packages.len(), 2);
    assert_eq!(s.branch_builds.images, 2);
    assert_eq!(s.branches.get("main"), Some(&2));
    assert_eq!(s.dates.images, 1);
    assert_eq!(s.untagged.images, 1);
    assert_eq!(s.not_covered, vec!["foo"]);
    assert_eq!(
        s.pull_requests.oldest,
        Some(now() - chrono::Duration::hours(200))
    );
}

#[test]
fn a_branch_whose_rule_would_select_another_familys_tag_is_not_covered() {
    let mut api = Pkg::new("api");
    // `stable-1` would be branch `stable`; but `stable` ... is a moving tag, and the branch
    // regex `^(release)-…` would also select `release-20260301` (a date): left out.
    api.image(1, &["release-1234567"], 10);
    api.image(2, &["release-20260301"], 10);
    let s = survey(&inventory("acme", vec![api]));
    assert!(s.branches.is_empty(), "{:?}", s.branches);
    assert_eq!(s.not_covered, vec!["release-1234567"]);
}

/// The tags of the generator: every family, and a few tags of none.
fn tag_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u8..3, 0u8..5, 0u8..5, any::<bool>())
            .prop_map(|(a, b, c, v)| format!("{}{a}.{b}.{c}", if v { "v" } else { "" })),
        (0u8..3, 0u8..3).prop_map(|(a, b)| format!("{a}.{b}.0-rc.{b}")),
        prop::sample::select(MOVING_TAGS.to_vec()).prop_map(str::to_string),
        (1u16..60).prop_map(|n| format!("pr-{n}")),
        (1u16..60, 1u8..4).prop_map(|(n, m)| format!("pr-{n}-{m}")),
        (
            prop::sample::select(vec!["main", "develop", "sha"]),
            0u32..0xfff_ffff
        )
            .prop_map(|(b, h)| format!("{b}-{h:07x}")),
        (1u8..28).prop_map(|d| format!("2026-03-{d:02}")),
        prop::sample::select(vec!["foo", "edge-x", "build"]).prop_map(str::to_string),
    ]
}

const MOVING_TAGS: &[&str] = &["latest", "stable", "edge", "nightly", "main"];

#[derive(Clone, Debug)]
enum Shape {
    Image,
    /// An index with this many platform manifests.
    Index(usize),
}

fn shape_strategy() -> impl Strategy<Value = Shape> {
    prop_oneof![Just(Shape::Image), (1usize..3).prop_map(Shape::Index)]
}

/// Per image: its shape, tags (0 to 3) and age in hours.
fn images_strategy() -> impl Strategy<Value = Vec<(Shape, Vec<String>, i64)>> {
    prop::collection::vec(
        (
            shape_strategy(),
            prop::collection::vec(tag_strategy(), 0..3),
            0i64..2000,
        ),
        1..40,
    )
}

fn build(images: &[(Shape, Vec<String>, i64)]) -> crate::inventory::Inventory {
    let mut pkg = Pkg::new("api");
    let mut id = 1u64;
    let mut used: BTreeSet<String> = BTreeSet::new();
    for (shape, tags, age) in images {
        // A tag names one image: later images take only the tags not taken yet.
        let tags: Vec<&str> = tags
            .iter()
            .filter(|t| used.insert(t.to_string()))
            .map(String::as_str)
            .collect();
        match shape {
            Shape::Image => {
                pkg.image(id, &tags, *age);
                id += 1;
            }
            Shape::Index(n) => {
                let children: Vec<String> = (0..*n)
                    .map(|_| {
                        id += 1;
                        pkg.image(id, &[], *age)
                    })
                    .collect();
                let refs: Vec<&str> = children.iter().map(String::as_str).collect();
                id += 1;
                pkg.index(id, &tags, &refs, *age);
            }
        }
    }
    inventory("acme", vec![pkg])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_policy_init_writes_never_deletes_a_release_or_a_moving_tag_and_never_breaks_an_image(
        images in images_strategy()
    ) {
        let inv = build(&images);
        let text = policy(&survey(&inv), &Options::new(now()));
        let parsed = parse_policy("init.yml", text.as_bytes());
        prop_assert!(parsed.is_ok(), "{}\n{}", text, parsed.err().map(|e| e.to_string()).unwrap_or_default());
        let Ok(p) = parsed else { return Ok(()) };
        let plan = evaluate_unchecked(&p, &inv, now());
        let entry = &inv.packages[0];
        let action: HashMap<&str, Action> = plan.packages[0]
            .versions
            .iter()
            .map(|v| (v.name.as_str(), v.action))
            .collect();
        for v in &plan.packages[0].versions {
            if v.action != Action::Delete {
                continue;
            }
            for t in &v.tags {
                prop_assert!(parse_version(t).is_none(), "deleted release {t}\n{text}");
                prop_assert!(!MOVING.contains(&t.as_str()), "deleted moving tag {t}");
            }
        }
        // Never breaks an image: every child of a kept index is kept.
        let graph = ImageGraph::build(&entry.versions, &entry.manifests);
        for (i, v) in entry.versions.iter().enumerate() {
            if action.get(v.name.as_str()) != Some(&Action::Keep) {
                continue;
            }
            for &c in &graph.listed[i] {
                let child = &entry.versions[c].name;
                prop_assert_eq!(action.get(child.as_str()), Some(&Action::Keep), "child {} of kept {}", child, v.name);
            }
        }
    }
}

use super::families::MOVING;
