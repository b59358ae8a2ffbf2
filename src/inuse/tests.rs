use std::path::PathBuf;

use super::*;

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// owner, package, tag, digest, line
type Row = (String, String, Option<String>, Option<String>, usize);

fn refs(text: &str) -> Vec<Row> {
    extract("https://ghcr.io", "f", text.as_bytes())
        .unwrap()
        .into_iter()
        .map(|r| (r.owner, r.package, r.tag, r.digest, r.at.line))
        .collect()
}

fn one(
    owner: &str,
    pkg: &str,
    tag: Option<&str>,
    digest: Option<&str>,
    line: usize,
) -> (String, String, Option<String>, Option<String>, usize) {
    (
        owner.into(),
        pkg.into(),
        tag.map(Into::into),
        digest.map(Into::into),
        line,
    )
}

#[test]
fn references_in_every_format_with_their_lines() {
    let text = format!(
        "# kubernetes\n\
         spec:\n  containers:\n    - image: ghcr.io/acme/api:v1.4.0\n\
         {{\"image\": \"ghcr.io/Acme/web@{D1}\"}}\n\
         image = \"ghcr.io/acme/tools/cli:1.2\"   # terraform\n\
         FROM ghcr.io/acme/base:3.19 AS build\n\
         API_IMAGE=ghcr.io/acme/api:main-3de6a38\n\
         docker-pullable://ghcr.io/acme/api@{D1}\n"
    );
    assert_eq!(
        refs(&text),
        vec![
            one("acme", "api", Some("v1.4.0"), None, 4),
            one("acme", "web", None, Some(D1), 5),
            one("acme", "tools/cli", Some("1.2"), None, 6),
            one("acme", "base", Some("3.19"), None, 7),
            one("acme", "api", Some("main-3de6a38"), None, 8),
            one("acme", "api", None, Some(D1), 9),
        ]
    );
}

#[test]
fn a_tag_and_a_digest_and_a_bare_name() {
    assert_eq!(
        refs(&format!("ghcr.io/acme/api:v1@{D1}\nghcr.io/acme/api\n")),
        vec![
            one("acme", "api", Some("v1"), Some(D1), 1),
            // Bare: no version, never `latest` by default.
            one("acme", "api", None, None, 2),
        ]
    );
}

/// (text, unresolved) of each reference.
fn split(text: &str) -> Vec<(String, Option<String>, usize)> {
    extract("ghcr.io", "values.yaml", text.as_bytes())
        .unwrap()
        .into_iter()
        .map(|r| (r.text, r.unresolved, r.at.line))
        .collect()
}

#[test]
fn helm_and_kustomize_split_references_take_the_tag_beside_them() {
    // Helm's values layout: repository and tag on separate lines of one mapping.
    assert_eq!(
        split("replicaCount: 2\nimage:\n  repository: ghcr.io/acme/api\n  tag: main-b8e2a0d\n  pullPolicy: IfNotPresent\n"),
        vec![("ghcr.io/acme/api:main-b8e2a0d".into(), None, 3)]
    );
    // The flow form, a digest (which decides), and kustomize's images list, where a `name:`
    // that a `newName:` replaces is not deployed.
    let text = format!(
        "web: {{ repository: ghcr.io/acme/web, tag: \"1.10\" }}\n\
         cli:\n  repository: ghcr.io/acme/tools/cli\n  tag: v1\n  digest: {D1}\n\
         images:\n\
         - name: ghcr.io/acme/api\n  newTag: v2.1.0\n\
         - name: ghcr.io/acme/old\n  newName: ghcr.io/acme/new\n  newTag: v3\n"
    );
    assert_eq!(
        split(&text),
        vec![
            ("ghcr.io/acme/web:1.10".into(), None, 1),
            (format!("ghcr.io/acme/tools/cli:v1@{D1}"), None, 3),
            ("ghcr.io/acme/api:v2.1.0".into(), None, 7),
            ("ghcr.io/acme/new:v3".into(), None, 10),
        ]
    );
    let r = extract("ghcr.io", "k.yaml", text.as_bytes()).unwrap();
    assert_eq!(r[0].tag.as_deref(), Some("1.10"));
    assert_eq!(r[1].digest.as_deref(), Some(D1));
}

#[test]
fn a_tag_beside_that_cannot_be_read_leaves_the_reference_unresolved() {
    let why = |text: &str| {
        let r = split(text);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].0, "ghcr.io/acme/api", "{r:?}");
        r[0].1.clone().unwrap_or_default()
    };
    // `helm create`'s default: the chart's appVersion decides, which this file does not say.
    assert!(why("image:\n  repository: ghcr.io/acme/api\n  tag: \"\"\n")
        .contains("`tag:` (line 3) is empty"));
    assert!(why("image:\n  repository: ghcr.io/acme/api\n  tag:\n").contains("is empty"));
    // A YAML number: Helm renders 1.10 as 1.1.
    assert!(why("image:\n  repository: ghcr.io/acme/api\n  tag: 1.10\n").contains("YAML number"));
    assert!(
        why("image:\n  repository: ghcr.io/acme/api\n  tag: \"{{ .Chart.AppVersion }}\"\n")
            .contains("not a tag")
    );
    assert!(
        why("image:\n  repository: ghcr.io/acme/api\n  tag: v1\n  digest: sha256:12\n")
            .contains("not a sha256 digest")
    );
    // No tag beside it (a Deployment's `image:`, a Dockerfile, a list): unresolved, not `latest`.
    assert_eq!(
        why("containers:\n  - image: ghcr.io/acme/api\n"),
        "neither a tag nor a digest"
    );
    assert_eq!(
        why("FROM ghcr.io/acme/api AS build\n"),
        "neither a tag nor a digest"
    );
    // A tag in another mapping is not this reference's.
    assert_eq!(
        why("image:\n  repository: ghcr.io/acme/api\nother:\n  tag: v1\n"),
        "neither a tag nor a digest"
    );
}

#[test]
fn other_registries_and_lookalike_hosts_are_ignored() {
    let text = "docker.io/acme/api:v1\nquay.io/acme/api:v1\nevil-ghcr.io/acme/api:v1\n\
                x.ghcr.io/acme/api:v1\nghcr.io.evil/acme/api:v1\nghcr.io/acme/api:v2\n";
    assert_eq!(refs(text), vec![one("acme", "api", Some("v2"), None, 6)]);
}

#[test]
fn templated_references_name_no_image() {
    let text = "image: ghcr.io/acme/api:${TAG}\n\
                image: ghcr.io/acme/api:{{ .Values.tag }}\n\
                image: ghcr.io/acme/api:v1-${SUFFIX}\n\
                image: ghcr.io/acme/api:v3.\n";
    assert_eq!(refs(text), vec![one("acme", "api", Some("v3"), None, 4)]);
}

#[test]
fn another_registry_by_url_with_a_port() {
    let found = extract(
        "http://127.0.0.1:5000",
        "f",
        b"ghcr.io/acme/api:v1 127.0.0.1:5000/acme/api:v2",
    )
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].tag.as_deref(), Some("v2"));
}

#[test]
fn text_that_is_not_utf8_is_still_read() {
    let mut bytes = b"\xff\xfe garbage\n".to_vec();
    bytes.extend_from_slice(b"ghcr.io/acme/api:v1\n");
    let found = extract("ghcr.io", "bin", &bytes).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].at.line, 2);
}

#[test]
fn owners_are_filtered_case_insensitively() {
    let found = Found {
        references: extract("ghcr.io", "f", b"ghcr.io/ACME/api:v1 ghcr.io/other/api:v1").unwrap(),
        ..Default::default()
    };
    let acme = found.for_owner("Acme");
    assert_eq!(acme.references.len(), 1);
    assert_eq!(acme.of_package("API").count(), 1);
}

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

#[test]
fn scan_walks_matching_files_respects_gitignore_and_reads_lists() {
    let dir = tree(&[
        ("deploy/prod/api.yaml", "a: 1\nimage: ghcr.io/acme/api:v1\n"),
        ("deploy/dev/api.yaml", "image: ghcr.io/acme/api:v2\n"),
        ("deploy/notes.txt", "ghcr.io/acme/api:v9\n"),
        ("deploy/build/out.yaml", "image: ghcr.io/acme/api:ignored\n"),
        (".gitignore", "deploy/build/\n"),
        (".env", "API=ghcr.io/acme/api:from-env\n"),
        ("running.txt", "ghcr.io/acme/web@sha256:1111111111111111111111111111111111111111111111111111111111111111\n"),
    ]);
    let sources = Sources {
        files: vec!["deploy/**/*.yaml".into(), ".env".into()],
        lists: vec![PathBuf::from("running.txt")],
    };
    let found = scan(dir.path(), &sources, "https://ghcr.io").unwrap();
    let got: Vec<String> = found
        .references
        .iter()
        .map(|r| format!("{} {}", r.at, r.text))
        .collect();
    assert_eq!(
        got,
        vec![
            ".env:1 ghcr.io/acme/api:from-env",
            "deploy/dev/api.yaml:1 ghcr.io/acme/api:v2",
            "deploy/prod/api.yaml:2 ghcr.io/acme/api:v1",
            format!("running.txt:1 ghcr.io/acme/web@{D1}").as_str(),
        ]
    );
}

#[test]
fn a_pattern_that_matches_nothing_is_an_error_naming_it() {
    let dir = tree(&[("deploy/api.yaml", "x")]);
    let sources = Sources {
        files: vec!["deploy/*.yaml".into(), "charts/**/values*.yaml".into()],
        lists: vec![],
    };
    let e = scan(dir.path(), &sources, "ghcr.io").unwrap_err();
    assert!(
        matches!(&e, ScanError::NoMatch { pattern, .. } if pattern == "charts/**/values*.yaml"),
        "{e}"
    );
    assert!(e.to_string().contains("help:"), "{e}");
    // `*` stays within a directory: deploy/*.yaml does not reach deploy/prod/api.yaml.
    let dir = tree(&[("deploy/prod/api.yaml", "x")]);
    let sources = Sources {
        files: vec!["deploy/*.yaml".into()],
        lists: vec![],
    };
    assert!(matches!(
        scan(dir.path(), &sources, "ghcr.io"),
        Err(ScanError::NoMatch { .. })
    ));
}

#[test]
fn an_unreadable_list_is_an_error_naming_it() {
    let dir = tree(&[]);
    let sources = Sources {
        files: vec![],
        lists: vec![PathBuf::from("running-images.txt")],
    };
    let e = scan(dir.path(), &sources, "ghcr.io").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("in_use: cannot read running-images.txt: "),
        "{msg}"
    );
    assert!(
        msg.contains("help: an in-use list is written by an earlier step"),
        "{msg}"
    );
}
