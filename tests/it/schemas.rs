//! The published JSON Schemas (`schema/`) against what they describe: the policy schema accepts
//! every policy in `policies/` and `examples/` and rejects the bad examples of the parser's
//! tests (those a schema can see); what the binary writes (plans, diffs, inventories) validates
//! against the plan and inventory schemas.

use crate::support::github_server;

use std::path::{Path, PathBuf};
use std::process::Command;

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(name: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(&root().join("schema").join(name)))
        .unwrap_or_else(|e| panic!("schema/{name} is not JSON: {e}"));
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("schema/{name} is not a valid schema: {e}"))
}

/// The errors of `instance` against `v`, one line each.
fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// YAML (as the policy parser reads it: YAML 1.2 core schema) to JSON.
fn yaml_to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        Yaml::Value(Scalar::Integer(n)) => Value::from(*n),
        Yaml::Value(Scalar::FloatingPoint(f)) => Value::from(f.into_inner()),
        Yaml::Value(Scalar::String(s)) => Value::String(s.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match yaml_to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        other => panic!("unexpected YAML node {other:?}"),
    }
}

fn policy_json(text: &str) -> Value {
    let docs = Yaml::load_from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    docs.first().map(yaml_to_json).unwrap_or(Value::Null)
}

fn yml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    files
}

fn retention(args: &[&str], dir: &Path, envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retention"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_REPOSITORY_OWNER");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run retention: {e}"))
}

#[test]
fn the_policy_schema_accepts_every_example_policy() {
    let v = validator("policy.schema.json");
    let mut files = yml_files(&root().join("policies"));
    files.extend(yml_files(&root().join("examples/policy-change")));
    files.push(root().join("tests/fixtures/action/policy.yml"));
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        let text = read(&f);
        let e = errors(&v, &policy_json(&text));
        assert!(e.is_empty(), "{}: {e:#?}", f.display());
    }
}

#[test]
fn every_example_policy_names_the_schema_for_editors() {
    for f in yml_files(&root().join("policies")) {
        let first = read(&f).lines().next().unwrap_or_default().to_string();
        assert_eq!(
            first,
            "# yaml-language-server: $schema=../schema/policy.schema.json",
            "{}",
            f.display()
        );
        let named = root().join("policies").join("../schema/policy.schema.json");
        assert!(named.exists());
    }
}

const HEAD: &str = "version: 1\npackages:\n  type: container\n  names: [\"api\"]\n";

fn with_rules(rules: &str) -> String {
    format!("{HEAD}rules:\n{rules}")
}

/// The bad examples of the parser's tests (src/policy/parse/tests.rs) that a schema can see,
/// each with what is wrong. The parser refuses every one of them too (checked here).
fn bad_policies() -> Vec<(&'static str, String)> {
    vec![
        ("unknown selector key", with_rules("  - name: r\n    delete: { untaged: true }\n")),
        ("unknown top-level key", "version: 1\npakages: {}\nrules: []\n".into()),
        ("untagged not a boolean", with_rules("  - name: r\n    delete: { untagged: yes please }\n")),
        ("newest not a number", with_rules("  - name: r\n    delete: { untagged: true, newest: many }\n")),
        ("rules not a list", format!("{HEAD}rules: {{}}\n")),
        ("tags of numbers", with_rules("  - name: r\n    delete: { tags: [1] }\n")),
        ("duration in fortnights", with_rules("  - name: r\n    delete: { untagged: true, older_than: 3 fortnights }\n")),
        ("duration without a unit", with_rules("  - name: r\n    delete: { untagged: true, older_than: 3 }\n")),
        ("rule with neither keep nor delete", with_rules("  - name: r\n")),
        ("rule with both", with_rules("  - name: r\n    keep: { tags: [a] }\n    delete: { tags: [b] }\n")),
        ("newest 0", with_rules("  - name: r\n    keep: { tags: [a], newest: 0 }\n")),
        ("unknown package type", "version: 1\npackages:\n  type: npn\n  names: [a]\nrules:\n  - name: r\n    delete: { versions: [\"*\"] }\n".into()),
        ("missing sections", "owner: acme\n".into()),
        ("version 2", format!("version: 2\n{}", &with_rules("  - name: r\n    delete: { untagged: true }\n")[11..])),
        ("untagged with tags", with_rules("  - name: r\n    delete: { untagged: true, tags: [a] }\n")),
        ("a selector with no condition", with_rules("  - name: r\n    delete: {}\n")),
        ("group_by without newest", with_rules("  - name: r\n    keep: { tags: [a], group_by: major }\n")),
        ("versions on a container package", with_rules("  - name: r\n    delete: { versions: [\"1.*\"] }\n")),
        ("tags on an npm package", "version: 1\npackages: { type: npm, names: [a] }\nrules:\n  - name: r\n    delete: { tags: [x] }\n".into()),
        ("bad min_age", format!("{}safety:\n  min_age: soon\n", with_rules("  - name: r\n    delete: { untagged: true }\n"))),
        ("unknown safety key", format!("{}safety:\n  keep_newst: 2\n", with_rules("  - name: r\n    delete: { untagged: true }\n"))),
    ]
}

#[test]
fn the_policy_schema_rejects_the_parsers_bad_examples() {
    let v = validator("policy.schema.json");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (what, text) in bad_policies() {
        assert!(
            !errors(&v, &policy_json(&text)).is_empty(),
            "the schema accepts a bad policy ({what}):\n{text}"
        );
        let path = dir.path().join("bad.yml");
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        let out = retention(&["check", &path.display().to_string()], dir.path(), &[]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "the parser accepts ({what}):\n{text}"
        );
    }
}

#[test]
fn the_policy_schema_knows_the_broken_image_selectors_and_untag_guards() {
    let v = validator("policy.schema.json");
    let good = format!(
        "{}safety:\n  untag: true\n  max_untags: 20\n",
        with_rules("  - name: ghosts go\n    delete: { ghost: true }\n  - name: partial and orphaned go\n    delete: { partial: true, orphaned: true, older_than: 2d }\n")
    );
    assert_eq!(errors(&v, &policy_json(&good)), Vec::<String>::new());
    let bad = with_rules("  - name: r\n    delete: { ghost: yes please }\n");
    assert!(!errors(&v, &policy_json(&bad)).is_empty());
}

/// `plan --format json` of a policy on the example inventory, with extra arguments.
fn plan_json(policy: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "plan",
        "--policy",
        policy,
        "--inventory",
        "examples/inventory.json",
        "--now",
        "2026-11-20T00:00:00Z",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = retention(&args, &root(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"))
}

#[test]
fn plans_and_diffs_the_binary_writes_validate_against_the_plan_schema() {
    let v = validator("plan.schema.json");
    for f in yml_files(&root().join("policies")) {
        let policy = format!(
            "policies/{}",
            f.file_name().unwrap_or_default().to_string_lossy()
        );
        // policies/pr-closed.yml takes the pull request's number as a variable.
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let vars: &[&str] = if text.contains("${PR_NUMBER}") {
            &["--var", "PR_NUMBER=42"]
        } else {
            &[]
        };
        let plan = plan_json(&policy, vars);
        assert_eq!(errors(&v, &plan), Vec::<String>::new(), "{policy}");
    }
    let diff = plan_json(
        "examples/policy-change/nightly-ghcr.yml",
        &["--base", "policies/nightly-ghcr.yml"],
    );
    assert!(
        diff["diff"]["summary"]["newly_deleted"].as_u64() > Some(0),
        "{diff}"
    );
    assert!(diff["summary"]["bytes_freed"].as_u64() > Some(0), "{diff}");
    assert_eq!(errors(&v, &diff), Vec::<String>::new());
    // A base policy over its own limits: the diff still comes, and says so.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let base = dir.path().join("base.yml");
    let text = read(&root().join("policies/nightly-ghcr.yml"));
    std::fs::write(
        &base,
        text.replace("max_deletions: 500", "max_deletions: 5"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let refused = plan_json(
        "examples/policy-change/nightly-ghcr.yml",
        &["--base", &base.to_string_lossy()],
    );
    assert_eq!(
        refused["diff"]["base_refused"],
        "the plan deletes 51 versions, more than max_deletions (5)"
    );
    assert_eq!(errors(&v, &refused), Vec::<String>::new());
    assert_eq!(diff["diff"].get("base_refused"), None);
    // The schema is strict: a field it does not describe is an error (so it cannot drift).
    let mut extra = diff.clone();
    extra["packages"][0]["versions"][0]["surprise"] = Value::Bool(true);
    assert!(!errors(&v, &extra).is_empty());
}

#[test]
fn inventories_validate_against_the_inventory_schema() {
    use github_server::{Config, GithubServer};
    let v = validator("inventory.schema.json");
    let example: Value = serde_json::from_str(&read(&root().join("examples/inventory.json")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(errors(&v, &example), Vec::<String>::new());
    // What `snapshot` writes, from a server that answers like GitHub.
    let server = GithubServer::start(&example, Config::default());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out_path = dir.path().join("inventory.json");
    // The manifests come from the cache (as after an earlier run), so no registry is needed.
    let shard = dir.path().join("cache/manifests/sha256");
    std::fs::create_dir_all(&shard).unwrap_or_else(|e| panic!("{e}"));
    for p in example["packages"].as_array().into_iter().flatten() {
        for (digest, text) in p["manifests"].as_object().into_iter().flatten() {
            let hex = digest.trim_start_matches("sha256:");
            std::fs::write(shard.join(hex), text.as_str().unwrap_or_default())
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let policy = root().join("policies/nightly-ghcr.yml");
    let out = retention(
        &[
            "snapshot",
            "--policy",
            &policy.display().to_string(),
            "--output",
            &out_path.display().to_string(),
            "--registry",
            "http://127.0.0.1:1",
            "--cache-dir",
            &dir.path().join("cache").display().to_string(),
        ],
        dir.path(),
        &[("GITHUB_API_URL", &server.url()), ("GITHUB_TOKEN", "t")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: Value = serde_json::from_str(&read(&out_path)).unwrap_or_else(|e| panic!("{e}"));
    assert!(written["packages"]
        .as_array()
        .is_some_and(|p| !p.is_empty()));
    assert!(
        written["packages"][0]["manifests"]
            .as_object()
            .is_some_and(|m| !m.is_empty()),
        "{written}"
    );
    assert_eq!(errors(&v, &written), Vec::<String>::new());
}

/// Issue 17.16: the policy schema and the parser (`retention check`) agree on every variant of
/// a generated set: each value of each slot below (the 13 inputs they disagreed on, and their
/// neighbours), put into an otherwise valid policy, is accepted by both or refused by both. The
/// decisions are in docs/edge-cases.md.
#[test]
fn the_policy_schema_and_the_parser_agree_on_generated_variants() {
    let v = validator("policy.schema.json");
    // (slot, values): each value replaces `{slot}` in the template.
    let slots: &[(&str, &[&str])] = &[
        ("version", &["1", "1.0", "2", "\"1\"", "1.5", "-1"]),
        (
            "owner",
            &[
                "owner: acme\n",
                "owner: a.b\n",
                "owner: ''\n",
                "owner: ' '\n",
                "owner: '.'\n",
                "owner: '..'\n",
                "owner: '%2e%2E'\n",
                "owner: 5\n",
                "",
            ],
        ),
        (
            "names",
            &[
                "[api]",
                "api",
                "'!api'",
                "['!api']",
                "['*', '!api']",
                "[]",
                "['']",
                "['..']",
                "'..'",
                "['!']",
                "'.'",
                "['a..b']",
                "[1]",
            ],
        ),
        (
            "tags",
            &[
                "[a]",
                "'pr-*'",
                "'!pr-*'",
                "['!pr-*']",
                "['pr-*', '!pr-1']",
                "[]",
                "['!']",
                "''",
            ],
        ),
        (
            "newest",
            &[
                "1",
                "3",
                "3.0",
                "0",
                "0.0",
                "1.5",
                "-1",
                "9007199254740992",
                "9007199254740993",
                "99999999999999999999",
                "1e3",
                "'3'",
            ],
        ),
        (
            "keep_newest",
            &["0", "1.0", "-1", "1.5", "18446744073709551616", "1e20"],
        ),
        (
            "max_deletions",
            &[
                "0",
                "10",
                "99999999999999999999",
                "9007199254740992",
                "9007199254740993.0",
            ],
        ),
        (
            "min_age",
            &[
                "1h",
                "0s",
                "1.5d",
                "0.5h",
                "99999999999999999999d",
                "999999999d",
                "1h30m",
                "'1h 30m'",
                "soon",
                "3",
                "' 2d '",
                "1month",
                "'2 weeks'",
                "1y",
                "''",
                "'1000000000s'",
            ],
        ),
        (
            "older_than",
            &[
                "14d",
                "1.5d",
                "99999999999999999999d",
                "90m",
                "2w",
                "3",
                "1x",
            ],
        ),
        ("rules", &["RULES", "[]"]),
    ];
    let template = "version: {version}\n{owner}packages:\n  type: container\n  names: {names}\nrules: {rules}\nsafety:\n  keep_newest: {keep_newest}\n  min_age: {min_age}\n  max_deletions: {max_deletions}\n";
    let rules = "\n  - name: prs\n    delete: { tags: {tags}, older_than: {older_than} }\n  - name: newest stay\n    keep: { tags: ['*'], newest: {newest} }";
    let defaults: Vec<(&str, &str)> = slots
        .iter()
        .map(|(slot, values)| (*slot, values[0]))
        .collect();
    let fill = |slot: &str, value: &str| {
        let mut text = template.to_string();
        for (s, d) in &defaults {
            let v = if *s == slot { value } else { d };
            if *s == "rules" {
                let r = if v == "RULES" { rules } else { v };
                text = text.replace("{rules}", r);
            }
        }
        for (s, d) in &defaults {
            let v = if *s == slot { value } else { d };
            text = text.replace(&format!("{{{s}}}"), v);
        }
        text
    };
    let mut disagree = Vec::new();
    let mut count = 0;
    for (slot, values) in slots {
        for value in *values {
            count += 1;
            let text = fill(slot, value);
            let schema = errors(&v, &policy_json(&text));
            let parser = retention::policy::parse_policy("p.yml", text.as_bytes());
            if schema.is_empty() != parser.is_ok() {
                disagree.push(format!(
                    "{slot} = {value}: schema {}, parser {}\n{text}",
                    if schema.is_empty() {
                        "accepts".to_string()
                    } else {
                        format!("refuses ({})", schema.join("; "))
                    },
                    match &parser {
                        Ok(_) => "accepts".to_string(),
                        Err(e) => format!("refuses ({e})"),
                    }
                ));
            }
        }
    }
    assert!(count > 80, "{count} variants");
    // The bounds the parser checks are the schema's, character for character.
    let schema: Value = serde_json::from_str(&read(&root().join("schema/policy.schema.json")))
        .unwrap_or_else(|e| panic!("{e}"));
    for at in [
        "/properties/safety/properties/min_age/pattern",
        "/$defs/selector/properties/older_than/pattern",
        "/$defs/selector/properties/newer_than/pattern",
    ] {
        assert_eq!(
            schema.pointer(at),
            Some(&Value::from(retention::policy::DURATION_PATTERN)),
            "{at}"
        );
    }
    for at in [
        "/properties/safety/properties/keep_newest/maximum",
        "/properties/safety/properties/max_deletions/maximum",
        "/properties/safety/properties/max_untags/maximum",
        "/$defs/selector/properties/newest/maximum",
    ] {
        assert_eq!(
            schema.pointer(at),
            Some(&Value::from(retention::policy::MAX_COUNT)),
            "{at}"
        );
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n\n"));
}
