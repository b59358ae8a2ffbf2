//! The diff of two plans: what changes is listed, what does not is counted.

use chrono::{TimeZone, Utc};

use super::*;
use crate::plan::{PartKind, Summary, SCHEMA};

fn v(id: u64, tags: &[&str], action: Action, reason: &str) -> VersionPlan {
    let t = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    VersionPlan {
        id,
        name: format!("sha256:{}", format!("{id:02x}").repeat(32)),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        created_at: t,
        updated_at: t,
        action,
        reasons: vec![reason.to_string()],
        withheld: false,
        after: vec![],
        untag: vec![],
        part_of: None,
        in_use: Vec::new(),
    }
}

fn part(mut v: VersionPlan, image: u64, kind: PartKind) -> VersionPlan {
    v.part_of = Some(PartOf { image, kind });
    v
}

fn plan(sha: &str, packages: Vec<(&str, Vec<VersionPlan>, Option<u64>)>) -> Plan {
    Plan {
        schema: SCHEMA,
        owner: "acme".into(),
        generated_at: Utc
            .with_ymd_and_hms(2026, 11, 20, 0, 0, 0)
            .single()
            .unwrap_or_default(),
        policy_sha256: sha.into(),
        max_deletions: None,
        summary: Summary {
            bytes_freed: packages.iter().filter_map(|p| p.2).reduce(|a, b| a + b),
            ..Summary::default()
        },
        packages: packages
            .into_iter()
            .map(|(name, versions, bytes_freed)| PackagePlan {
                name: name.into(),
                package_type: PackageType::Container,
                warnings: vec![],
                broken: vec![],
                bytes_freed,
                versions,
            })
            .collect(),
    }
}

use Action::{Delete, Keep};

/// The base deletes pr-1 (with its platform manifest) and keeps v1; the new policy also
/// deletes pr-2 (an index with two platform manifests and a signature), keeps pr-1, and removes
/// the tag `edge` from v1.
fn pair() -> (Plan, Plan) {
    let base = plan(
        "base",
        vec![(
            "api",
            vec![
                v(1, &["v1", "edge"], Keep, "releases stay"),
                v(2, &["pr-2"], Keep, "no rule selects it"),
                part(
                    v(3, &[], Keep, "child of kept"),
                    2,
                    PartKind::PlatformManifest,
                ),
                part(
                    v(4, &[], Keep, "child of kept"),
                    2,
                    PartKind::PlatformManifest,
                ),
                part(v(5, &[], Keep, "signature of kept"), 2, PartKind::Signature),
                v(6, &["pr-1"], Delete, "pull requests go"),
                part(
                    v(7, &[], Delete, "child of deleted"),
                    6,
                    PartKind::PlatformManifest,
                ),
                v(8, &["main"], Keep, "main stays"),
            ],
            Some(1000),
        )],
    );
    let mut v1 = v(1, &["v1", "edge"], Keep, "releases stay");
    v1.untag = vec!["edge".into()];
    let new = plan(
        "new",
        vec![(
            "api",
            vec![
                v1,
                v(2, &["pr-2"], Delete, "all pull requests go"),
                part(
                    v(3, &[], Delete, "child of deleted"),
                    2,
                    PartKind::PlatformManifest,
                ),
                part(
                    v(4, &[], Delete, "child of deleted"),
                    2,
                    PartKind::PlatformManifest,
                ),
                part(
                    v(5, &[], Delete, "signature of deleted"),
                    2,
                    PartKind::Signature,
                ),
                v(6, &["pr-1"], Keep, "pr-1 stays"),
                part(
                    v(7, &[], Keep, "child of kept"),
                    6,
                    PartKind::PlatformManifest,
                ),
                v(8, &["main"], Keep, "main stays"),
            ],
            Some(1000 + 1536 * 1024 * 1024),
        )],
    );
    (base, new)
}

#[test]
fn changes_are_listed_with_both_reasons_and_the_rest_counted() {
    let (base, new) = pair();
    let d = diff(&base, &new);
    let p = &d.packages[0];
    let ids = |c: &[Change]| c.iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(ids(&p.newly_deleted), vec![2, 3, 4, 5]);
    assert_eq!(ids(&p.no_longer_deleted), vec![6, 7]);
    assert_eq!(ids(&p.newly_untagged), vec![1]);
    assert_eq!(p.newly_untagged[0].untag, vec!["edge".to_string()]);
    assert_eq!(p.unchanged, 1);
    let c = &p.newly_deleted[0];
    assert_eq!(
        c.new.as_ref().map(|f| f.reasons.clone()),
        Some(vec!["all pull requests go".to_string()])
    );
    assert_eq!(
        c.base.as_ref().map(|f| f.reasons.clone()),
        Some(vec!["no rule selects it".to_string()])
    );
    assert_eq!(d.summary.newly_deleted, 4);
    assert_eq!(d.summary.newly_deleted_images, 1);
    assert_eq!(d.summary.no_longer_deleted, 2);
    assert_eq!(d.summary.no_longer_deleted_images, 1);
    assert_eq!(d.summary.newly_untagged, 1);
    assert_eq!(d.summary.unchanged, 1);
    assert_eq!(
        headline(&d),
        "this change deletes 4 more versions (1 image, about 1.5 GiB), keeps 2 that the current policy deletes and removes 1 more tag from images that stay; 1 version unchanged"
    );
}

#[test]
fn the_same_plan_changes_nothing() {
    let (base, _) = pair();
    let d = diff(&base, &base);
    assert!(!d.packages[0].changes());
    assert_eq!(d.summary.unchanged, 8);
    assert_eq!(
        headline(&d),
        "this change does not change what is deleted (8 versions unchanged)"
    );
}

#[test]
fn a_package_only_one_policy_governs() {
    let (base, _) = pair();
    let new = plan("new", vec![]);
    let d = diff(&base, &new);
    let p = &d.packages[0];
    assert_eq!(p.no_longer_deleted.len(), 2);
    assert!(p.no_longer_deleted[0].new.is_none());
    assert_eq!(
        Fate::why(p.no_longer_deleted[0].new.as_ref()),
        "the policy does not govern this package"
    );
    assert_eq!(p.unchanged, 6);
}

#[test]
fn diff_snapshots() {
    let (base, new) = pair();
    let doc = DiffDocument {
        diff: diff(&base, &new),
        plan: new,
    };
    use crate::render::Format;
    use crate::render::{render_diff, Options};
    insta::assert_snapshot!(
        "diff_text",
        render_diff(&doc, Format::Text, Options::default())
    );
    insta::assert_snapshot!(
        "diff_text_verbose",
        render_diff(
            &doc,
            Format::Text,
            Options {
                verbose: true,
                ..Options::default()
            }
        )
    );
    insta::assert_snapshot!(
        "diff_markdown",
        render_diff(&doc, Format::Markdown, Options::default())
    );
    insta::assert_snapshot!(
        "diff_json",
        render_diff(&doc, Format::Json, Options::default())
    );
}

/// Issue 17.13: a change that stops removing a tag is reported: listed, counted, in the
/// headline.
#[test]
fn a_change_that_stops_removing_a_tag_is_reported() {
    let mut untagging = v(1, &["v1", "edge"], Keep, "releases stay");
    untagging.untag = vec!["edge".into()];
    let base = plan("base", vec![("api", vec![untagging], None)]);
    let new = plan(
        "new",
        vec![(
            "api",
            vec![v(1, &["v1", "edge"], Keep, "releases stay")],
            None,
        )],
    );
    let d = diff(&base, &new);
    assert_eq!(d.summary.no_longer_untagged, 1);
    assert_eq!(d.summary.newly_untagged, 0);
    assert_eq!(d.summary.unchanged, 0);
    let p = &d.packages[0];
    assert_eq!(p.no_longer_untagged.len(), 1);
    assert_eq!(p.no_longer_untagged[0].untag, ["edge"]);
    assert!(p.changes());
    assert_eq!(
        headline(&d),
        "this change no longer removes 1 tag that the current policy removes; 0 versions unchanged"
    );
    let json = serde_json::to_value(&d).unwrap_or_default();
    assert_eq!(json["summary"]["no_longer_untagged"], 1);
    assert_eq!(
        json["packages"][0]["no_longer_untagged"][0]["untag"][0],
        "edge"
    );
    // The other way round, it is newly untagged.
    let back = diff(&new, &base);
    assert_eq!(
        (back.summary.newly_untagged, back.summary.no_longer_untagged),
        (1, 0)
    );
}

/// Issue 17.13: a platform manifest whose image's fate does not change (deleted under both
/// policies) but that the new policy newly deletes (its other index goes too) is a part, not an
/// image, in the counts of the one-line summary.
#[test]
fn a_shared_platform_manifest_is_not_counted_as_an_image() {
    let shared = |action, reason| part(v(3, &[], action, reason), 1, PartKind::PlatformManifest);
    let base = plan(
        "base",
        vec![(
            "api",
            vec![
                v(1, &["pr-1"], Delete, "prs"),
                v(2, &["pr-2"], Keep, "no rule selects it"),
                shared(Keep, "child manifest of kept image pr-2"),
            ],
            None,
        )],
    );
    let new = plan(
        "new",
        vec![(
            "api",
            vec![
                v(1, &["pr-1"], Delete, "prs"),
                v(2, &["pr-2"], Delete, "prs"),
                shared(Delete, "child manifest of deleted image pr-1"),
            ],
            None,
        )],
    );
    let d = diff(&base, &new);
    assert_eq!(d.summary.newly_deleted, 2);
    assert_eq!(d.summary.newly_deleted_images, 1);
    assert!(headline(&d).starts_with("this change deletes 2 more versions (1 image)"));
}

/// Issue 17.13: a change of owner opens the headline.
#[test]
fn a_change_of_owner_opens_the_headline() {
    let (base, new) = pair();
    let mut d = diff(&base, &new);
    d.base_owner = Some("old-org".into());
    assert!(
        headline(&d).starts_with("the owner changes from old-org (the current policy is evaluated on old-org's packages, named old-org/…); this change"),
        "{}",
        headline(&d)
    );
    let json = serde_json::to_value(&d).unwrap_or_default();
    assert_eq!(json["base_owner"], "old-org");
}

#[test]
fn between_owners_names_every_package_by_its_owner_and_leaves_the_plan_as_it_is() {
    let (base, new) = pair();
    let d = between_owners(base, &new, "old-org", "acme");
    assert_eq!(d.base_owner.as_deref(), Some("old-org"));
    let names: Vec<&str> = d.packages.iter().map(|p| p.name.as_str()).collect();
    // The same package under two owners is two packages: none is taken for the other's.
    assert_eq!(names, ["acme/api", "old-org/api"]);
    assert_eq!(new.packages[0].name, "api");
}
