//! Snapshot tests of the three renderings on a small hand-built plan, colour, escaping and the
//! Markdown row limit.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::inventory::PackageType;
use crate::plan::{Action, BrokenImage, PackagePlan, Summary, VersionPlan, SCHEMA};

fn at(days_ago: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0)
        .single()
        .unwrap_or_default()
        - Duration::days(days_ago)
}

fn v(
    id: u64,
    name: &str,
    tags: &[&str],
    days_ago: i64,
    action: Action,
    reasons: &[&str],
) -> VersionPlan {
    VersionPlan {
        id,
        name: name.to_string(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        created_at: at(days_ago),
        updated_at: at(days_ago),
        action,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        withheld: false,
        after: vec![],
        untag: vec![],
        part_of: None,
        in_use: Vec::new(),
    }
}

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

fn with_summary(owner: &str, packages: Vec<PackagePlan>) -> Plan {
    let versions = packages.iter().map(|p| p.versions.len() as u64).sum();
    let delete = packages
        .iter()
        .flat_map(|p| &p.versions)
        .filter(|v| v.action == Action::Delete)
        .count() as u64;
    Plan {
        schema: SCHEMA,
        owner: owner.to_string(),
        generated_at: at(0),
        policy_sha256: "3f2a9c1d0e4b5a6978877665544332211003f2a9c1d0e4b5a69788776655443".into(),
        max_deletions: None,
        summary: Summary {
            packages: packages.len() as u64,
            versions,
            delete,
            keep: versions - delete,
            bytes_freed: packages
                .iter()
                .filter_map(|p| p.bytes_freed)
                .reduce(|a, b| a + b),
            ..Summary::default()
        },
        packages,
    }
}

/// A container package of `versions` and `broken` images, with no warnings nor size.
fn container(name: &str, versions: Vec<VersionPlan>, broken: Vec<BrokenImage>) -> PackagePlan {
    PackagePlan {
        name: name.into(),
        package_type: PackageType::Container,
        warnings: vec![],
        broken,
        bytes_freed: None,
        versions,
    }
}

/// Every `<details>` of a Markdown report is closed.
fn assert_details_closed(md: &str) {
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count(),
        "{md}"
    );
}

fn part(mut v: VersionPlan, image: u64, kind: crate::plan::PartKind) -> VersionPlan {
    v.part_of = Some(crate::plan::PartOf { image, kind });
    v
}

fn small_plan() -> Plan {
    use crate::plan::PartKind::{PlatformManifest, Signature};
    use Action::{Delete, Keep};
    let api = PackagePlan {
        name: "api".into(),
        package_type: PackageType::Container,
        warnings: vec![
            "manifest sha256:0f0f0f0f0f0f is missing: its untagged children are kept".into(),
        ],
        broken: vec![],
        bytes_freed: Some(1_503_238_553),
        versions: vec![
            v(
                110,
                &digest(1),
                &["v2.1.0", "latest"],
                1,
                Keep,
                &["releases stay"],
            ),
            part(
                v(
                    109,
                    &digest(2),
                    &[],
                    1,
                    Keep,
                    &["platform manifest of kept image sha256:010101010101 (v2.1.0, latest)"],
                ),
                110,
                PlatformManifest,
            ),
            part(
                v(
                    108,
                    &digest(3),
                    &["sha256-0101.sig"],
                    1,
                    Keep,
                    &["signature of kept image sha256:010101010101 (v2.1.0, latest)"],
                ),
                110,
                Signature,
            ),
            v(
                107,
                &digest(4),
                &["pr-41"],
                20,
                Delete,
                &["pull-request images expire"],
            ),
            part(
                v(
                    106,
                    &digest(5),
                    &[],
                    20,
                    Delete,
                    &["platform manifest of deleted image sha256:040404040404 (pr-41)"],
                ),
                107,
                PlatformManifest,
            ),
            part(
                v(
                    104,
                    &digest(9),
                    &["sha256-0404.sig"],
                    20,
                    Delete,
                    &["signature of deleted image sha256:040404040404 (pr-41)"],
                ),
                107,
                Signature,
            ),
            v(105, &digest(6), &[], 9, Delete, &["untagged leftovers"]),
        ],
    };
    let cli = PackagePlan {
        name: "tools/cli".into(),
        package_type: PackageType::Container,
        warnings: vec![],
        broken: vec![],
        bytes_freed: Some(52_428_800),
        versions: vec![
            v(
                202,
                &digest(7),
                &["main-abc|<b>`x`"],
                3,
                Delete,
                &["main builds > 10 expire", "a | b"],
            ),
            v(201, &digest(8), &["v1.0.0"], 30, Keep, &["releases stay"]),
        ],
    };
    let npm = PackagePlan {
        name: "sdk".into(),
        package_type: PackageType::Npm,
        warnings: vec![],
        broken: vec![],
        bytes_freed: None,
        versions: vec![
            v(302, "2.0.0", &[], 5, Keep, &["releases stay"]),
            v(
                301,
                "2.0.0-beta.1",
                &[],
                40,
                Delete,
                &["prereleases expire"],
            ),
        ],
    };
    with_summary("acme", vec![api, npm, cli])
}

#[test]
fn text_snapshot() {
    insta::assert_snapshot!(render(&small_plan(), Format::Text, false));
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!(render(&small_plan(), Format::Markdown, false));
}

#[test]
fn verbose_snapshots_list_the_parts_under_their_image() {
    let verbose = Options {
        verbose: true,
        ..Options::default()
    };
    insta::assert_snapshot!(render_with(&small_plan(), Format::Text, verbose));
    insta::assert_snapshot!(render_with(&small_plan(), Format::Markdown, verbose));
}

#[test]
fn parts_are_counted_under_their_image_not_listed() {
    let text = render(&small_plan(), Format::Text, false);
    let line = text
        .lines()
        .find(|l| l.contains("pr-41"))
        .unwrap_or_default();
    assert!(
        line.ends_with("pull-request images expire  + 1 platform manifest, 1 signature"),
        "{text}"
    );
    assert!(
        !text.contains("platform manifest of deleted image"),
        "{text}"
    );
    let md = render(&small_plan(), Format::Markdown, false);
    assert!(!md.contains("platform manifest of deleted image"), "{md}");
    assert!(
        md.contains("| + 1 platform manifest, 1 signature |"),
        "{md}"
    );
    // The JSON keeps every version.
    let json = render(&small_plan(), Format::Json, false);
    assert!(json.contains("platform manifest of deleted image"));
}

#[test]
fn space_freed_per_package_and_in_total() {
    let text = render(&small_plan(), Format::Text, false);
    assert!(
        text.contains("space freed: about 1.4 GiB (an estimate"),
        "{text}"
    );
    let md = render(&small_plan(), Format::Markdown, false);
    assert!(md.contains("| api | 7 | 4 | 3 | about 1.4 GiB |"), "{md}");
    assert!(md.contains("| sdk | 2 | 1 | 1 | unknown |"), "{md}");
    assert!(
        md.contains("title \"Versions deleted per package\""),
        "{md}"
    );
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!(render(&small_plan(), Format::Json, false));
}

#[test]
fn json_is_schema_1_and_reads_back() {
    let plan = small_plan();
    let s = json(&plan);
    let back: Plan = serde_json::from_str(&s).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, plan);
    assert!(s.ends_with("}\n"));
}

#[test]
fn ansi_codes_only_with_color() {
    let plan = small_plan();
    let plain = render(&plan, Format::Text, false);
    assert!(!plain.contains('\x1b'), "{plain}");
    let colored = render(&plan, Format::Text, true);
    assert!(colored.contains("\x1b["), "{colored}");
    assert!(!render(&plan, Format::Markdown, true).contains('\x1b'));
    assert!(!render(&plan, Format::Json, true).contains('\x1b'));
    // Colour changes nothing but the escape codes.
    let stripped = regex::Regex::new("\x1b\\[[0-9;]*m")
        .map(|re| re.replace_all(&colored, "").into_owned())
        .unwrap_or_default();
    assert_eq!(stripped, plain);
}

#[test]
fn text_ends_with_total_line() {
    let s = render(&small_plan(), Format::Text, false);
    let last: Vec<&str> = s.trim_end().lines().rev().take(2).collect();
    assert_eq!(
        last[1], "6 of 11 versions would be deleted in 3 packages",
        "{s}"
    );
    assert!(last[0].starts_with("space freed: about 1.4 GiB"), "{s}");
}

#[test]
fn nothing_to_delete() {
    let mut plan = small_plan();
    for p in &mut plan.packages {
        for v in &mut p.versions {
            v.action = Action::Keep;
        }
    }
    plan = with_summary("acme", plan.packages);
    let s = render(&plan, Format::Text, false);
    assert!(
        s.contains("nothing to delete: all 11 versions in 3 packages are kept"),
        "{s}"
    );
    let md = render(&plan, Format::Markdown, false);
    assert!(!md.contains("<details>"), "{md}");
}

#[test]
fn markdown_escapes_cells() {
    let md = render(&small_plan(), Format::Markdown, false);
    assert!(md.contains("main-abc\\|&lt;b&gt;&#96;x&#96;"), "{md}");
    assert!(md.contains("a \\| b"), "{md}");
    assert!(md.contains("main builds &gt; 10 expire"), "{md}");
    assert!(!md.contains("<b>`x`"));
}

#[test]
fn markdown_truncates_at_300_rows_and_states_the_total() {
    let mk = |name: &str, n: u64, base: u64| PackagePlan {
        name: name.into(),
        package_type: PackageType::Container,
        warnings: vec![],
        broken: vec![],
        bytes_freed: None,
        versions: (0..n)
            .map(|i| {
                v(
                    base + i,
                    &format!("sha256:{:064x}", base + i),
                    &[],
                    10,
                    Action::Delete,
                    &["untagged leftovers"],
                )
            })
            .collect(),
    };
    let plan = with_summary(
        "acme",
        vec![mk("a", 250, 0), mk("b", 150, 1000), mk("c", 20, 2000)],
    );
    let md = render(&plan, Format::Markdown, false);
    let rows = md.lines().filter(|l| l.contains(" | _untagged_ |")).count();
    assert_eq!(rows, 300, "{md}");
    assert!(md.contains("… and 100 more rows in b"), "{md}");
    assert!(md.contains("… and 20 more rows in c"), "{md}");
    assert!(
        md.contains("Showing 300 of 420 rows. … and 120 more (see the JSON plan)."),
        "{md}"
    );
    assert!(
        md.contains("420 of 420 versions would be deleted in 3 packages"),
        "{md}"
    );
    assert_details_closed(&md);
}

#[test]
fn markdown_under_the_limit_states_no_truncation() {
    let md = render(&small_plan(), Format::Markdown, false);
    assert!(!md.contains("see the JSON plan"), "{md}");
}

/// The sections beside the deletions (withheld, tags removed, in use, broken) each show at most
/// 300 rows and say how many more the JSON plan has; their tables are whole.
#[test]
fn every_section_beside_the_deletions_stops_at_300_rows_and_says_how_many_more() {
    use crate::plan::BrokenKind;
    let n = 302u64;
    let versions = (0..n)
        .map(|i| {
            let mut held = v(
                i,
                &format!("sha256:{i:064x}"),
                &["t"],
                5,
                Action::Keep,
                &["r"],
            );
            held.withheld = true;
            held.untag = vec!["pr-1".into()];
            held.in_use = vec!["deploy/app.yml".into()];
            held
        })
        .collect();
    let broken = (0..n)
        .map(|i| BrokenImage {
            id: i,
            name: format!("sha256:{i:064x}"),
            tags: vec![],
            kind: BrokenKind::Partial,
            missing: vec![digest(1)],
        })
        .collect();
    let plan = with_summary("acme", vec![container("api", versions, broken)]);
    let md = render(&plan, Format::Markdown, false);
    for summary in [
        "<summary>302 versions selected for deletion but withheld",
        "<summary><b>api</b>: remove 302 tags from 302 images that stay</summary>",
        "<summary><b>api</b>: 302 versions in use, kept</summary>",
        "<summary><b>api</b>: 302 images cannot be pulled whole</summary>",
    ] {
        let at = md
            .find(summary)
            .unwrap_or_else(|| panic!("{summary}\n{md}"));
        let section = &md[at..at + md[at..].find("</details>").unwrap_or(0)];
        let rows = section.lines().filter(|l| l.starts_with("| ")).count();
        // The header and 300 rows; the separator starts with "| ---" too.
        assert_eq!(rows, 302, "{summary}\n{section}");
        assert!(
            section.contains("\n… and 2 more (see the JSON plan)\n"),
            "{summary}\n{section}"
        );
    }
    assert_details_closed(&md);
}

#[test]
fn withheld_versions_are_listed_apart_from_deletions() {
    let mut held = v(
        7,
        &digest(7),
        &["pr-42"],
        20,
        Action::Keep,
        &[
            "withheld: deleting it would let the registry remove sha256:0bc4 with it",
            "keep wins over delete rule 'prs'",
        ],
    );
    held.withheld = true;
    let prs = v(8, &digest(8), &["pr-41"], 30, Action::Delete, &["prs"]);
    let plan = with_summary("acme", vec![container("api", vec![held, prs], vec![])]);
    let text = render(&plan, Format::Text, false);
    assert!(
        text.contains("\nWithheld api (1)\n  pr-42  sha256:070707070707"),
        "{text}"
    );
    assert!(text.contains("\nDelete api (1)\n  pr-41"), "{text}");
    let md = render(&plan, Format::Markdown, false);
    assert!(md.contains("<summary>1 version selected for deletion but withheld by a safety guard or the image graph</summary>"), "{md}");
    assert!(
        md.contains("| api | `sha256:070707070707` | pr-42 |"),
        "{md}"
    );
    let json = render(&plan, Format::Json, false);
    assert_eq!(json.matches("\"withheld\": true").count(), 1, "{json}");
}

/// A plan with tags removed from images that stay, and broken images.
fn untag_and_broken_plan() -> Plan {
    use crate::plan::BrokenKind;
    let mut v1 = v(
        3,
        &digest(3),
        &["v1.0", "legacy"],
        30,
        Action::Keep,
        &[
            "untag legacy (delete rule 'old tags'): the image stays under its other tags",
            "tag v1.0 is selected by no delete rule",
        ],
    );
    v1.untag = vec!["legacy".into()];
    let broken = vec![
        BrokenImage {
            id: 5,
            name: digest(5),
            tags: vec!["ghost-1".into()],
            kind: BrokenKind::Ghost,
            missing: vec![digest(10), digest(11)],
        },
        BrokenImage {
            id: 4,
            name: digest(4),
            tags: vec![],
            kind: BrokenKind::Partial,
            missing: vec![digest(12)],
        },
        BrokenImage {
            id: 2,
            name: digest(2),
            tags: vec![format!("sha256-{}.sig", "0d".repeat(32))],
            kind: BrokenKind::Orphaned,
            missing: vec![digest(13)],
        },
    ];
    let mut plan = with_summary(
        "acme",
        vec![PackagePlan {
            name: "api".into(),
            package_type: PackageType::Container,
            warnings: vec![],
            broken,
            bytes_freed: None,
            versions: vec![
                v(5, &digest(5), &["ghost-1"], 10, Action::Delete, &["ghosts"]),
                v(
                    4,
                    &digest(4),
                    &[],
                    20,
                    Action::Keep,
                    &["no rule selects it"],
                ),
                v1,
                v(
                    2,
                    &digest(2),
                    &[&format!("sha256-{}.sig", "0d".repeat(32))],
                    40,
                    Action::Keep,
                    &["no rule selects it"],
                ),
            ],
        }],
    );
    plan.summary.untag = 1;
    plan.summary.broken = 3;
    plan
}

#[test]
fn untag_and_broken_text() {
    let text = render(&untag_and_broken_plan(), Format::Text, false);
    assert!(
        text.trim_end()
            .ends_with("1 tag would be removed from 1 image that stays"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn untag_and_broken_markdown() {
    insta::assert_snapshot!(render(&untag_and_broken_plan(), Format::Markdown, false));
}

#[test]
fn untag_and_broken_json() {
    let json = render(&untag_and_broken_plan(), Format::Json, false);
    let back: Plan = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(back, untag_and_broken_plan());
    assert!(
        json.contains("\"untag\": [\n            \"legacy\"\n          ]"),
        "{json}"
    );
    assert!(json.contains("\"kind\": \"orphaned\""), "{json}");
}

#[test]
fn control_characters_in_tags_and_names_are_escaped() {
    let mut plan = small_plan();
    plan.packages[0].name = "api\u{1b}[2J".into();
    plan.packages[0].versions[0].tags =
        vec!["v1\u{1b}]0;pwned\u{7}".into(), "ok\r\nforged line".into()];
    plan.packages[0].versions[0].action = Action::Delete;
    for format in [Format::Text, Format::Markdown] {
        let out = render(&plan, format, false);
        assert!(
            !out.chars().any(|c| c.is_control() && c != '\n'),
            "{format:?}: {out:?}"
        );
        assert!(out.contains("v1\\u{1b}]0;pwned\\u{7}"), "{format:?}: {out}");
        assert!(out.contains("api\\u{1b}[2J"), "{format:?}: {out}");
        assert!(!out.contains("\nforged line"), "{format:?}: {out}");
    }
    // With colour, the only escape characters are the renderer's own SGR codes.
    let out = render(&plan, Format::Text, true);
    assert!(
        !out.contains("\u{1b}[2J") && !out.contains("\u{1b}]0"),
        "{out:?}"
    );
}

#[test]
fn a_warnings_code_stays_code_and_the_rest_is_escaped() {
    use super::markdown::escape_prose;
    assert_eq!(
        escape_prose("help: delete them with `delete: { ghost: true }` or `{ partial: true }`"),
        "help: delete them with `delete: { ghost: true }` or `{ partial: true }`"
    );
    // Outside the code spans, HTML and table pipes are escaped; inside, GitHub shows text as is.
    assert_eq!(
        escape_prose("<b>x</b> | `<img src=y>`"),
        "&lt;b&gt;x&lt;/b&gt; \\| `<img src=y>`"
    );
    // An odd backtick cannot open a span that swallows the rest of the comment.
    assert_eq!(escape_prose("a `b"), "a &#96;b");
    assert_eq!(escape_prose("a `` b"), "a &#96;&#96; b");
    assert_eq!(escape_prose("`a\nb`"), "`a b`");
}

#[test]
fn every_rendering_writes_tags_through_one_label_that_fits() {
    use Action::{Delete, Keep};
    let sig = format!("sha256-{}.sig", "ab".repeat(32));
    let many: Vec<String> = (1..=9).map(|i| format!("release-2026.0{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let api = PackagePlan {
        name: "api".into(),
        package_type: PackageType::Container,
        bytes_freed: None,
        warnings: vec![],
        broken: vec![],
        versions: vec![
            v(1, &digest(1), &[&sig], 3, Delete, &["orphaned signatures"]),
            v(2, &digest(2), &many, 4, Delete, &["old releases"]),
            v(3, &digest(3), &["v1"], 5, Keep, &["releases stay"]),
        ],
    };
    let plan = with_summary("acme", vec![api]);
    let short_sig = format!("sha256-{}….sig", "ab".repeat(6));
    for format in [Format::Text, Format::Markdown] {
        let out = render(&plan, format, false);
        assert!(out.contains(&short_sig), "{format:?}:\n{out}");
        assert!(
            !out.contains(&sig),
            "{format:?} prints the whole tag:\n{out}"
        );
        assert!(
            out.contains("release-2026.01, release-2026.02 +7 more"),
            "{format:?}:\n{out}"
        );
    }
    // The Markdown deletion table's rows stay narrow: the tags cell never passes 40 characters.
    let md = render(&plan, Format::Markdown, false);
    for line in md.lines().filter(|l| l.starts_with("| `sha256:")) {
        let tags = line.split(" | ").nth(1).unwrap_or_default();
        assert!(tags.chars().count() <= 40, "{line}");
    }
    assert_eq!(text::tag_list(&["a".repeat(50)]).chars().count(), 40);
    assert_eq!(text::tag_list(&[]), "");
}

#[test]
fn the_chart_comes_only_where_it_says_more_than_the_table() {
    use Action::Delete;
    let plan_of = |sizes: &[u64]| {
        let packages = sizes
            .iter()
            .enumerate()
            .map(|(i, &b)| PackagePlan {
                name: format!("pkg-{i}"),
                package_type: PackageType::Container,
                bytes_freed: Some(b),
                warnings: vec![],
                broken: vec![],
                versions: vec![v(
                    i as u64 + 1,
                    &digest(i as u8),
                    &["pr-1"],
                    30,
                    Delete,
                    &["old"],
                )],
            })
            .collect();
        with_summary("acme", packages)
    };
    // Two packages: the table says it all.
    assert_eq!(markdown::chart(&plan_of(&[100, 10])), None);
    // Eight equal slices say nothing.
    assert_eq!(markdown::chart(&plan_of(&[100; 8])), None);
    // Shares that differ: the four largest, then the rest as one slice.
    let chart = markdown::chart(&plan_of(&[5, 900, 40, 300, 7, 120, 6, 8])).unwrap_or_default();
    assert_eq!(
        chart,
        "```mermaid\n%%{init: {\"xyChart\": {\"width\": 640, \"height\": 200}, \"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"#0969da\"}}}}%%\nxychart-beta horizontal\n    title \"Space freed per package (B)\"\n    x-axis [\"pkg-1\", \"pkg-3\", \"pkg-5\", \"pkg-2\", \"4 other packages\"]\n    y-axis \"B\" 0 --> 900\n    bar [900, 300, 120, 40, 26]\n```\n"
    );
}
