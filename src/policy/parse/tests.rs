//! Every kind of policy error, with its exact location.

use super::*;

fn errors(yaml: &str) -> Vec<String> {
    match parse_policy("p.yml", yaml.as_bytes()) {
        Ok(_) => panic!("expected errors for:\n{yaml}"),
        Err(e) => e
            .diagnostics
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
            .collect(),
    }
}

/// The first diagnostic that is not about the rest of the file being incomplete.
fn first(yaml: &str) -> Diagnostic {
    match parse_policy("p.yml", yaml.as_bytes()) {
        Ok(_) => panic!("expected errors for:\n{yaml}"),
        Err(e) => e
            .diagnostics
            .into_iter()
            .find(|d| !d.message.starts_with("`rules` is empty"))
            .expect("a diagnostic"),
    }
}

const HEAD: &str = "version: 1\npackages:\n  type: container\n  names: [\"api\"]\n";

fn with_rules(rules: &str) -> String {
    format!("{HEAD}rules:\n{rules}")
}

#[test]
fn a_valid_policy_parses_with_defaults() {
    let text = with_rules("  - name: r\n    delete: { untagged: true }\n");
    let p = parse_policy("p.yml", text.as_bytes()).unwrap();
    assert_eq!(p.safety, Safety::DEFAULT);
    assert_eq!(p.timestamp, Timestamp::UpdatedAt);
    assert_eq!(p.rules.len(), 1);
    assert_eq!(p.rules[0].kind, RuleKind::Delete);
    assert_eq!(
        p.packages.names.exact_names(),
        Some(&["api".to_string()][..])
    );
    assert_eq!(p.sha256, hex::encode(Sha256::digest(text.as_bytes())));
}

#[test]
fn the_design_example_parses() {
    let yaml = r#"
version: 1
owner: acme
packages:
  type: container
  names: ["api", "web-*", "!web-legacy"]
timestamp: updated_at
rules:
  - name: releases stay
    keep: { tags: ["v*", "latest"] }
  - name: the 10 newest main builds stay
    keep: { tags: ["main-*"], newest: 10 }
  - name: pull-request images expire
    delete: { tags: ["pr-*"], older_than: 14d }
  - name: untagged leftovers
    delete: { untagged: true, older_than: 2d }
safety:
  keep_newest: 3
  min_age: 1h
  max_deletions: 1000
"#;
    let p = parse_policy("p.yml", yaml.as_bytes()).unwrap();
    assert_eq!(p.owner.as_deref(), Some("acme"));
    assert!(p.packages.names.is_match("web-app"));
    assert!(!p.packages.names.is_match("web-legacy"));
    assert!(p.packages.names.exact_names().is_none());
    assert_eq!(p.safety.keep_newest, 3);
    assert_eq!(p.rules[1].selector.newest, Some(10));
    assert_eq!(
        p.rules[2].selector.older_than,
        Some(Duration::from_secs(14 * 86400))
    );
}

#[test]
fn unknown_key_suggests_the_nearest() {
    let d = first(&with_rules("  - name: r\n    delete: { untaged: true }\n"));
    assert_eq!((d.line, d.column), (7, 15));
    assert_eq!(d.message, "unknown key `untaged` in `delete`");
    assert!(d.hint.unwrap().starts_with("did you mean `untagged`?"));
    let d = first("version: 1\npakages: {}\nrules: []\n");
    assert_eq!(
        (d.line, d.column, d.message.as_str()),
        (2, 1, "unknown key `pakages` in the policy")
    );
    assert!(d.hint.unwrap().contains("`packages`"));
}

#[test]
fn wrong_types_are_located() {
    assert_eq!(
        errors(&with_rules(
            "  - name: r\n    delete: { untagged: yes please }\n"
        )),
        ["7:25: `untagged` must be true or false, found a string"]
    );
    assert_eq!(
        errors(&with_rules(
            "  - name: r\n    delete: { untagged: true, newest: many }\n"
        )),
        ["7:39: `newest` must be a whole number, found a string"]
    );
    assert_eq!(
        errors(&format!("{HEAD}rules: {{}}\n")),
        ["5:8: `rules` must be a list, found a mapping"]
    );
    assert_eq!(
        errors(&with_rules("  - name: r\n    delete: { tags: [1] }\n")),
        ["7:22: items of `tags` must be strings, found a number"]
    );
}

#[test]
fn bad_glob_points_at_the_pattern() {
    assert_eq!(
        errors(&with_rules(
            "  - name: r\n    delete: { tags: [\"ok\", \"[bad\"] }\n"
        )),
        ["7:28: `tags`: bad glob `[bad`: unclosed character class; missing ']'"]
    );
}

#[test]
fn bad_regex_is_reported() {
    let e = errors(&with_rules(
        "  - name: r\n    delete: { tag_regex: \"(\" }\n",
    ));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("7:26: `tag_regex`: bad regex `(`"),
        "{e:?}"
    );
}

#[test]
fn bad_duration_is_reported() {
    let e = errors(&with_rules(
        "  - name: r\n    delete: { untagged: true, older_than: 3 fortnights }\n",
    ));
    assert!(
        e[0].starts_with("7:43: `older_than`: `3 fortnights` is not a duration"),
        "{e:?}"
    );
    assert_eq!(
        errors(&with_rules(
            "  - name: r\n    delete: { untagged: true, older_than: 3 }\n"
        )),
        ["7:43: `older_than` needs a unit"]
    );
}

#[test]
fn bad_semver_requirement_is_reported() {
    let e = errors(&with_rules(
        "  - name: r\n    delete: { tags: [\"*\"], semver: \"<<2\" }\n",
    ));
    assert!(
        e[0].starts_with("7:36: `semver`: bad requirement `<<2`"),
        "{e:?}"
    );
}

#[test]
fn rule_with_neither_or_both() {
    assert_eq!(
        errors(&with_rules("  - name: r\n")),
        ["6:5: rule 1 has neither `keep` nor `delete`"]
    );
    assert_eq!(
        errors(&with_rules(
            "  - name: r\n    keep: { tags: [a] }\n    delete: { tags: [b] }\n"
        )),
        ["8:5: a rule has either `keep` or `delete`, not both (it already has `keep`)"]
    );
}

#[test]
fn newest_zero_is_refused() {
    let d = first(&with_rules(
        "  - name: r\n    keep: { tags: [a], newest: 0 }\n",
    ));
    assert_eq!(
        (d.line, d.column, d.message.as_str()),
        (7, 32, "`newest` must be at least 1, found 0")
    );
}

#[test]
fn unknown_package_type_suggests() {
    let d = first("version: 1\npackages:\n  type: npn\n  names: [a]\nrules:\n  - name: r\n    delete: { versions: [\"*\"] }\n");
    assert_eq!((d.line, d.column), (3, 9));
    assert_eq!(d.message, "unknown package type `npn`");
    assert!(d.hint.unwrap().starts_with("did you mean `npm`?"));
}

#[test]
fn duplicate_rule_name() {
    assert_eq!(
        errors(&with_rules(
            "  - name: same\n    keep: { tags: [a] }\n  - name: same\n    keep: { tags: [b] }\n"
        )),
        ["8:11: duplicate rule name `same` (first used on line 6)"]
    );
}

#[test]
fn all_semantic_errors_of_a_file_are_reported_in_order() {
    let yaml = "version: 1\npackages:\n  type: container\n  names: [\"[\"]\nrules:\n  - name: a\n    delete: { older_than: 2x }\n  - name: b\n    keep: { newest: 0, tags: [v*] }\nsafety:\n  min_age: soon\n";
    let e = errors(yaml);
    assert_eq!(e.len(), 4, "{e:?}");
    let lines: Vec<&str> = e
        .iter()
        .map(|s| s.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(lines, ["4", "7", "9", "11"]);
}

#[test]
fn missing_sections_and_bad_version() {
    let e = errors("owner: acme\n");
    assert_eq!(
        e,
        [
            "1:1: missing `version`",
            "1:1: missing `packages`",
            "1:1: missing `rules`"
        ]
    );
    assert_eq!(
        errors(&format!(
            "version: 2\n{}",
            &with_rules("  - name: r\n    delete: { untagged: true }\n")[11..]
        )),
        ["1:10: unsupported policy version: found `2`"]
    );
}

#[test]
fn contradictions_are_refused() {
    assert_eq!(errors(&with_rules("  - name: r\n    delete: { untagged: true, tags: [a] }\n")), [
        "7:15: `untagged: true` cannot be combined with `tags` or `tag_regex`: nothing has both"
    ]);
    assert_eq!(
        errors(&with_rules("  - name: r\n    delete: {}\n")),
        ["7:13: `delete` has no conditions and would select every version"]
    );
    assert_eq!(
        errors(&with_rules(
            "  - name: r\n    keep: { tags: [a], group_by: major }\n"
        )),
        ["7:24: `group_by` needs `newest`: it says how many of each group"]
    );
    let e = errors(&with_rules(
        "  - name: r\n    keep: { newest: 2, group_by: \"^pr-\" }\n",
    ));
    assert_eq!(
        e,
        ["7:34: `group_by` regex has no capture group to name the group"]
    );
}

#[test]
fn container_versions_are_digests_not_names() {
    let d = first(&with_rules(
        "  - name: r\n    delete: { versions: [\"1.*\"] }\n",
    ));
    assert_eq!(
        d.message,
        "`versions` matches version names, which for container images are digests"
    );
}

#[test]
fn tags_on_npm_are_refused() {
    let d = first("version: 1\npackages: { type: npm, names: [a] }\nrules:\n  - name: r\n    delete: { tags: [x] }\n");
    assert_eq!(d.message, "tags only exist on container images");
}

#[test]
fn broken_image_selectors_and_untag_safety_parse() {
    let p = parse_policy(
        "p.yml",
        format!("{HEAD}rules:\n  - name: r\n    delete: {{ ghost: true, partial: false, orphaned: true }}\nsafety:\n  untag: false\n  max_untags: 7\n").as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let s = &p.rules[0].selector;
    assert_eq!(
        (s.ghost, s.partial, s.orphaned),
        (Some(true), Some(false), Some(true))
    );
    assert!(!p.safety.untag);
    assert_eq!(p.safety.max_untags, 7);
    let defaults = parse_policy(
        "p.yml",
        with_rules("  - name: r\n    delete: { untagged: true }\n").as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(defaults.safety.untag);
    assert_eq!(defaults.safety.max_untags, 1000);
}

#[test]
fn broken_image_selectors_on_npm_are_refused() {
    let d = first("version: 1\npackages: { type: npm, names: [a] }\nrules:\n  - name: r\n    delete: { orphaned: true }\n");
    assert_eq!(
        d.message,
        "`ghost`, `partial` and `orphaned` describe container images"
    );
    let d = first(&with_rules(
        "  - name: r\n    delete: { ghost: yes please }\n",
    ));
    assert!(
        d.message.starts_with("`ghost` must be true or false"),
        "{d:?}"
    );
}

#[test]
fn invalid_yaml_is_located() {
    let d = first("version: 1\nrules: [\n");
    assert!(d.message.starts_with("invalid YAML"), "{d:?}");
    assert!(d.line >= 2);
}

#[test]
fn diagnostics_print_as_file_line_column() {
    let e = parse_policy("dir/p.yml", b"version: 1\nbogus: 1\n").unwrap_err();
    assert!(
        e.to_string()
            .contains("\ndir/p.yml:2:1: unknown key `bogus` in the policy\n  help: valid keys:"),
        "{e}"
    );
}

#[test]
fn globs_cross_slashes_and_are_case_sensitive() {
    let g = Globs::new(&["*".into()]).unwrap();
    assert!(g.is_match("tools/cli"));
    let g = Globs::new(&["web-{a,b}".into(), "!web-b".into()]).unwrap();
    assert!(g.is_match("web-a") && !g.is_match("web-b") && !g.is_match("WEB-a"));
    let g = Globs::new(&["v?".into()]).unwrap();
    assert!(g.is_match("v1") && !g.is_match("v10"));
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_text_makes_the_parser_panic(s in "\\PC{0,200}") {
            let _ = parse_policy("p.yml", s.as_bytes());
        }

        #[test]
        fn no_mangled_policy_makes_the_parser_panic(cut in 0usize..400, junk in "[ :\\-\\[\\]{}!*,'\"a-z0-9\n]{0,12}") {
            let good = "version: 1\npackages:\n  type: container\n  names: [\"api\", \"!x\"]\nrules:\n  - name: a\n    keep: { tags: [\"v*\"], newest: 2, group_by: major }\n  - name: b\n    delete: { untagged: true, older_than: 2d, semver: \"<2\" }\nsafety: { keep_newest: 1, min_age: 1h }\n";
            let cut = cut.min(good.len());
            let mangled = format!("{}{}{}", &good[..cut], junk, &good[cut..]);
            let _ = parse_policy("p.yml", mangled.as_bytes());
        }
    }
}

#[test]
fn rules_before_packages_are_checked_with_the_package_type() {
    let d = first("version: 1\nrules:\n  - name: r\n    delete: { versions: [\"1.*\"] }\npackages: { type: container, names: [a] }\n");
    assert_eq!(
        d.message,
        "`versions` matches version names, which for container images are digests"
    );
    let d = first("rules:\n  - name: r\n    delete: { tags: [x] }\nversion: 1\npackages: { type: npm, names: [a] }\n");
    assert_eq!(d.message, "tags only exist on container images");
}

#[test]
fn diagnostics_are_classified_by_kind() {
    let kinds = |yaml: &str| -> Vec<DiagnosticKind> {
        parse_policy("p.yml", yaml.as_bytes())
            .unwrap_err()
            .diagnostics
            .iter()
            .map(|d| d.kind)
            .collect()
    };
    assert_eq!(
        kinds("version: 2\npakages: {}\n"),
        [
            DiagnosticKind::Missing,
            DiagnosticKind::UnsupportedVersion,
            DiagnosticKind::UnknownKey
        ]
    );
    assert_eq!(kinds("version: [\n"), [DiagnosticKind::Yaml]);
    assert_eq!(
        kinds(&with_rules("  - name: r\n    delete: { untagged: 3 }\n")),
        [DiagnosticKind::Invalid]
    );
}

#[test]
fn a_quoted_version_says_to_remove_the_quotes() {
    let d = first(&format!(
        "version: \"1\"\n{}",
        &with_rules("  - name: r\n    delete: { untagged: true }\n")[11..]
    ));
    assert_eq!(
        d.message,
        "`version` must be the number 1, found the string \"1\""
    );
    assert_eq!(d.hint.as_deref(), Some("write `version: 1` without quotes"));
}

#[test]
fn every_bad_glob_of_a_list_is_reported() {
    assert_eq!(
        errors(&with_rules(
            "  - name: r\n    delete: { tags: [\"[a\", \"ok\", \"{b\"] }\n"
        )),
        [
            "7:22: `tags`: bad glob `[a`: unclosed character class; missing ']'",
            "7:34: `tags`: bad glob `{b`: unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)"
        ]
    );
}

#[test]
fn a_long_pattern_is_not_echoed_whole() {
    let long = format!("[{}", "x".repeat(400_000));
    let e = errors(&with_rules(&format!(
        "  - name: r\n    delete: {{ tags: [\"{long}\"] }}\n"
    )));
    assert_eq!(e.len(), 1);
    assert!(e[0].len() < 200, "{}", &e[0][..300]);
    assert!(e[0].contains("longer than 1000 characters"), "{}", e[0]);
    let e = errors(&with_rules(&format!(
        "  - name: r\n    delete: {{ tags: [\"[{}\"] }}\n",
        "y".repeat(900)
    )));
    assert!(e[0].len() < 200 && e[0].contains("bad glob"), "{}", e[0]);
}

#[test]
fn the_policy_size_and_its_rules_and_globs_are_bounded() {
    let big = format!(
        "{}#{}\n",
        with_rules("  - name: r\n    delete: { untagged: true }\n"),
        "x".repeat(MAX_POLICY_BYTES)
    );
    let d = first(&big);
    assert_eq!(d.kind, DiagnosticKind::Unreadable);
    assert_eq!(d.message, "the policy is larger than 1024 KB");
    // /dev/zero is refused without being read whole.
    let e = Policy::load(std::path::Path::new("/dev/zero")).unwrap_err();
    assert_eq!(
        e.diagnostics[0].message,
        "the policy is larger than 1024 KB"
    );

    let rules: String = (0..1001)
        .map(|i| format!("  - name: r{i}\n    delete: {{ tags: [a] }}\n"))
        .collect();
    let d = first(&with_rules(&rules));
    assert_eq!(d.kind, DiagnosticKind::TooLarge);
    assert_eq!(d.message, "the policy has 1001 rules, more than 1000");

    let globs: Vec<String> = (0..10_001).map(|i| format!("\"t{i}\"")).collect();
    let e = errors(&with_rules(&format!(
        "  - name: r\n    delete: {{ tags: [{}] }}\n",
        globs.join(",")
    )));
    assert_eq!(e, ["7:21: the policy has more than 10000 globs"]);
}

#[test]
fn a_duplicated_key_is_named() {
    let d = first("version: 1\npackages: { type: npm, names: [a] }\nversion: 1\n");
    assert_eq!(d.kind, DiagnosticKind::Yaml);
    assert_eq!(
        d.message,
        "invalid YAML: the key `version` is given twice in one mapping"
    );
    let d = first("version: 1\nsafety:\n  min_age: 1h\n  \"min_age\": 2h\n");
    assert_eq!(
        d.message,
        "invalid YAML: the key `min_age` is given twice in one mapping"
    );
}

#[test]
fn invalid_utf8_is_located_at_its_column() {
    let mut b = b"version: 1\nowner: \xc3\xa9ab".to_vec();
    b.push(0xff);
    let e = parse_policy("p.yml", &b).unwrap_err();
    let d = &e.diagnostics[0];
    assert_eq!((d.line, d.column), (2, 11));
    assert_eq!(d.message, "the policy is not valid UTF-8");
}

#[test]
fn globs_too_large_together_blame_the_list_not_its_first_pattern() {
    let globs: Vec<String> = (0..9990)
        .map(|i| format!("\"web-{i:05}-*-{{a,b,c}}-[0-9]-{}\"", "x".repeat(50)))
        .collect();
    let d = first(&format!(
        "version: 1\npackages:\n  type: container\n  names: [{}]\nrules:\n  - name: r\n    delete: {{ untagged: true }}\n",
        globs.join(",")
    ));
    assert_eq!(d.kind, DiagnosticKind::TooLarge);
    assert_eq!(
        d.message,
        "`packages.names`: its 9990 globs are too large to compile together (error building NFA)"
    );
}

#[test]
fn deletions_per_minute_is_a_pace_from_1_to_180() {
    let p = parse_policy(
        "p.yml",
        format!("{HEAD}rules:\n  - name: r\n    delete: {{ untagged: true }}\nsafety:\n  deletions_per_minute: 30\n").as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.safety.deletions_per_minute, Some(30));
    let defaults = parse_policy(
        "p.yml",
        with_rules("  - name: r\n    delete: { untagged: true }\n").as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(defaults.safety.deletions_per_minute, None);
    let d = first(&format!("{HEAD}rules:\n  - name: r\n    delete: {{ untagged: true }}\nsafety:\n  deletions_per_minute: 181\n"));
    assert_eq!(
        d.message,
        "`deletions_per_minute` may be at most 180, GitHub's documented limit"
    );
}

#[test]
fn dot_segments_are_no_package_name_or_owner() {
    let rule = "rules:\n  - name: r\n    delete: { untagged: true }\n";
    for name in [".", "..", "%2e%2E"] {
        let text =
            format!("version: 1\npackages: {{ type: container, names: [\"{name}\"] }}\n{rule}");
        let d = first(&text);
        assert!(
            d.message.contains("is not a package name"),
            "{name}: {}",
            d.message
        );
    }
    // A name that only contains dots is a name.
    let ok =
        format!("version: 1\npackages: {{ type: container, names: [\"a..b\", \"...\"] }}\n{rule}");
    assert!(parse_policy("p.yml", ok.as_bytes()).is_ok());
    for owner in ["'..'", "'.'", "''", "' '"] {
        let text = format!(
            "version: 1\nowner: {owner}\npackages: {{ type: container, names: [app] }}\n{rule}"
        );
        let d = first(&text);
        assert_eq!((d.line, d.column), (2, 8), "{owner}: {}", d.message);
    }
}
