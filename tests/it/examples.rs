//! The demo: every policy in `policies/` passes `check`, and `plan` on the example inventory
//! (`examples/inventory.json`, written by `examples/make_inventory.py`) makes the decisions the
//! policies' comments promise: children of kept images stay, naming the image; children and
//! signatures of expired images go with them; a platform manifest shared by a kept and an
//! expired image stays while the expired index goes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::snap::{self, Filters, Run};

use serde_json::Value;

const NOW: &str = "2026-11-20T00:00:00Z";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn retention(args: &[&str]) -> Run {
    snap::run(
        Command::new(env!("CARGO_BIN_EXE_retention"))
            .args(args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_ACTIONS"),
    )
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The JSON plan of `policies/<name>.yml` against the example inventory.
fn plan(policy: &str) -> Plan {
    plan_with(policy, &[])
}

/// [`plan`] with extra arguments (`--var NAME=VALUE`).
fn plan_with(policy: &str, extra: &[&str]) -> Plan {
    let policy = format!("policies/{policy}.yml");
    let mut args = vec![
        "plan",
        "--policy",
        &policy,
        "--inventory",
        "examples/inventory.json",
        "--now",
        NOW,
        "--format",
        "json",
    ];
    args.extend(extra);
    let out = retention(&args);
    assert!(
        out.status.success(),
        "plan {policy} failed: {}",
        text(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("plan {policy} is not JSON: {e}"));
    Plan {
        json,
        inventory: read_json(&root().join("examples/inventory.json")),
    }
}

struct Plan {
    json: Value,
    inventory: Value,
}

#[derive(Debug)]
struct Decision {
    name: String,
    tags: Vec<String>,
    action: String,
    reasons: String,
}

impl Plan {
    fn versions(&self, package: &str) -> Vec<Decision> {
        let pkg = self.json["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == package)
            .unwrap_or_else(|| panic!("no package {package} in the plan"));
        pkg["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| Decision {
                name: v["name"].as_str().unwrap_or_default().to_string(),
                tags: v["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(String::from))
                    .collect(),
                action: v["action"].as_str().unwrap_or_default().to_string(),
                reasons: v["reasons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            })
            .collect()
    }

    fn package_json(&self, package: &str) -> &Value {
        self.json["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == package)
            .unwrap_or_else(|| panic!("no package {package} in the plan"))
    }

    fn version_json(&self, package: &str, name: &str) -> &Value {
        self.package_json(package)["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no version {name} in {package}"))
    }

    fn by_tag(&self, package: &str, tag: &str) -> Decision {
        self.versions(package)
            .into_iter()
            .find(|d| d.tags.iter().any(|t| t == tag))
            .unwrap_or_else(|| panic!("no version tagged {tag} in {package}"))
    }

    fn by_name(&self, package: &str, name: &str) -> Decision {
        self.versions(package)
            .into_iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("no version {name} in {package}"))
    }

    /// The digests an index lists, read from the inventory's stored manifest.
    fn children(&self, package: &str, digest: &str) -> Vec<String> {
        let entry = self.inventory["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["package"]["name"] == package)
            .unwrap_or_else(|| panic!("no package {package} in the inventory"));
        let bytes = entry["manifests"][digest]
            .as_str()
            .unwrap_or_else(|| panic!("no manifest {digest}"));
        let manifest: Value = serde_json::from_str(bytes).unwrap_or_else(|e| panic!("{e}"));
        manifest["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["digest"].as_str().map(String::from))
            .collect()
    }

    fn deletions(&self, package: &str) -> usize {
        self.versions(package)
            .iter()
            .filter(|d| d.action == "delete")
            .count()
    }
}

fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// The dry run a user sees for each example policy besides nightly-ghcr (whose text and Markdown
/// plans `nightly_text_and_markdown_render` snapshots) on the example inventory: the whole text
/// plan, one snapshot per policy.
#[test]
fn the_text_plan_of_each_other_policy() {
    for (policy, vars) in [
        ("newest-per-major", &[][..]),
        ("npm-prereleases", &[][..]),
        ("pr-closed", &["--var", "PR_NUMBER=42"][..]),
        ("pull-requests", &[][..]),
    ] {
        let path = format!("policies/{policy}.yml");
        let mut args = vec![
            "plan",
            "--policy",
            &path,
            "--inventory",
            "examples/inventory.json",
            "--now",
            NOW,
        ];
        args.extend_from_slice(vars);
        let out = retention(&args);
        assert!(out.status.success(), "{policy}: {}", text(&out.stderr));
        insta::assert_snapshot!(
            format!("text_plan_{}", policy.replace('-', "_")),
            out.transcript()
        );
    }
}

#[test]
fn every_policy_passes_check() {
    let mut policies: Vec<String> = std::fs::read_dir(root().join("policies"))
        .unwrap_or_else(|e| panic!("policies/: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .map(|p| {
            format!(
                "policies/{}",
                p.file_name().unwrap_or_default().to_string_lossy()
            )
        })
        .collect();
    policies.sort();
    assert!(policies.len() >= 4, "{policies:?}");
    // pr-closed.yml names the pull request with a variable.
    let mut args = vec!["check", "--var", "PR_NUMBER=42"];
    args.extend(policies.iter().map(String::as_str));
    let out = retention(&args);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).lines().count(), policies.len());
    insta::assert_snapshot!(out.transcript());
}

#[test]
fn nightly_keeps_the_children_and_signature_of_a_kept_release() {
    let plan = plan("nightly-ghcr");
    let release = plan.by_tag("api", "v2.1.0");
    assert_eq!(release.action, "keep", "{release:?}");
    assert!(release.tags.contains(&"latest".to_string()));
    assert!(
        release.reasons.contains("releases and latest stay"),
        "{release:?}"
    );

    let children = plan.children("api", &release.name);
    assert_eq!(children.len(), 3, "amd64, arm64 and the attestation");
    for child in &children {
        let d = plan.by_name("api", child);
        assert_eq!(d.action, "keep", "{d:?}");
        assert!(d.tags.is_empty());
        assert!(d.reasons.contains("of kept image"), "{d:?}");
        assert!(d.reasons.contains(short(&release.name)), "{d:?}");
        assert!(d.reasons.contains("v2.1.0"), "{d:?}");
    }
    assert!(plan
        .by_name("api", &children[2])
        .reasons
        .contains("build attestation of kept image"));

    let hex = release.name.trim_start_matches("sha256:");
    let sig = plan.by_tag("api", &format!("sha256-{hex}.sig"));
    assert_eq!(sig.action, "keep", "{sig:?}");
    assert!(sig.reasons.contains("signature of kept image"), "{sig:?}");
    let referrers = plan.by_tag("api", &format!("sha256-{hex}"));
    assert_eq!(referrers.action, "keep", "{referrers:?}");
    for sbom in plan.children("api", &referrers.name) {
        assert_eq!(plan.by_name("api", &sbom).action, "keep");
    }
}

#[test]
fn nightly_deletes_expired_pr_images_with_their_children() {
    let plan = plan("nightly-ghcr");
    let pr = plan.by_tag("api", "pr-41");
    assert_eq!(pr.action, "delete", "{pr:?}");
    assert!(pr.reasons.contains("pull-request images expire"), "{pr:?}");
    for child in plan.children("api", &pr.name) {
        let d = plan.by_name("api", &child);
        assert_eq!(d.action, "delete", "{d:?}");
        assert!(d.reasons.contains("of deleted image"), "{d:?}");
        assert!(d.reasons.contains("pr-41"), "{d:?}");
    }
    // A fresh pull request is not touched.
    assert_eq!(plan.by_tag("api", "pr-57-2").action, "keep");

    // web: pr-88 is signed; the signature goes with it.
    let pr88 = plan.by_tag("web", "pr-88");
    assert_eq!(pr88.action, "delete");
    let hex = pr88.name.trim_start_matches("sha256:");
    let sig = plan.by_tag("web", &format!("sha256-{hex}.sig"));
    assert_eq!(sig.action, "delete", "{sig:?}");
    assert!(
        sig.reasons.contains("signature of deleted image"),
        "{sig:?}"
    );
    assert!(sig.reasons.contains("pr-88"), "{sig:?}");
}

#[test]
fn nightly_deletes_an_index_whose_child_a_kept_index_shares() {
    let plan = plan("nightly-ghcr");
    // pr-42 shares a platform manifest with a kept main build: ghcr.io spares a child that
    // another index lists, so pr-42 goes with its own children and the shared one stays.
    let pr42 = plan.by_tag("api", "pr-42");
    assert_eq!(pr42.action, "delete", "{pr42:?}");
    let versions = plan.versions("api");
    let kept_indexes: Vec<&Decision> = versions
        .iter()
        .filter(|d| d.action == "keep" && d.tags.iter().any(|t| t.starts_with("main-")))
        .collect();
    let (shared, own): (Vec<String>, Vec<String>) =
        plan.children("api", &pr42.name).into_iter().partition(|c| {
            kept_indexes
                .iter()
                .any(|k| plan.children("api", &k.name).contains(c))
        });
    assert_eq!(
        shared.len(),
        1,
        "the example has one shared platform manifest"
    );
    let d = plan.by_name("api", &shared[0]);
    assert_eq!(d.action, "keep", "{d:?}");
    assert!(d.reasons.contains("child manifest of kept image"), "{d:?}");
    assert!(d.reasons.contains("keep wins over delete rule"), "{d:?}");
    assert!(!own.is_empty());
    for c in &own {
        let d = plan.by_name("api", c);
        assert_eq!(d.action, "delete", "{d:?}");
        assert!(d.reasons.contains("of deleted image"), "{d:?}");
    }
}

#[test]
fn nightly_keeps_ten_main_builds_and_young_leftovers() {
    let plan = plan("nightly-ghcr");
    let versions = plan.versions("api");
    let main: Vec<&Decision> = versions
        .iter()
        .filter(|d| d.tags.iter().any(|t| t.starts_with("main-")))
        .collect();
    assert_eq!(main.len(), 14);
    let kept = main.iter().filter(|d| d.action == "keep").count();
    assert_eq!(kept, 10, "{main:?}");
    // Newest first: the four oldest main builds are the deleted ones.
    assert!(main[10..].iter().all(|d| d.action == "delete"), "{main:?}");
    // Nested index in tools/cli: the grandchildren are kept through the inner index.
    let cli = plan.by_tag("tools/cli", "v1.1.0");
    assert_eq!(cli.action, "keep");
    for inner in plan.children("tools/cli", &cli.name) {
        for leaf in plan.children("tools/cli", &inner) {
            let d = plan.by_name("tools/cli", &leaf);
            assert_eq!(d.action, "keep", "{d:?}");
            assert!(d.reasons.contains("v1.1.0"), "{d:?}");
        }
    }
    assert_eq!(plan.by_tag("tools/cli", "pr-7").action, "delete");
    // The counts of the example plan (the README's own first plan is checked by scripts/doc_test.py).
    assert_eq!(
        (
            plan.deletions("api"),
            plan.deletions("web"),
            plan.deletions("tools/cli")
        ),
        (38, 11, 2)
    );
}

#[test]
fn nightly_text_and_markdown_render() {
    let args = |format: &'static str| {
        [
            "plan",
            "--policy",
            "policies/nightly-ghcr.yml",
            "--inventory",
            "examples/inventory.json",
            "--now",
            NOW,
            "--format",
            format,
        ]
    };
    let out = retention(&args("text"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains('\x1b'),
        "no colour when writing to a pipe"
    );
    // One row per image: the platform manifests and attestation of pr-41 are counted, not listed.
    insta::assert_snapshot!(out.transcript());
    let out = retention(&args("markdown"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    insta::assert_snapshot!(out.transcript());
}

#[test]
fn nightly_removes_an_expired_pr_tag_from_a_release_and_keeps_the_release() {
    let plan = plan("nightly-ghcr");
    let d = plan.by_tag("api", "v1.4.2");
    assert_eq!(d.tags, ["v1.4.2", "pr-39"]);
    assert_eq!(d.action, "keep", "{d:?}");
    assert!(
        d.reasons
            .contains("untag pr-39 (delete rule 'pull-request images expire')"),
        "{d:?}"
    );
    let v = plan.version_json("api", &d.name);
    assert_eq!(v["untag"], serde_json::json!(["pr-39"]));
    // Its platform manifests stay with it.
    for c in plan.children("api", &d.name) {
        assert_eq!(plan.by_name("api", &c).action, "keep");
    }
    assert_eq!(plan.json["summary"]["untag"], 1);
}

#[test]
fn nightly_reports_broken_images_and_cleans_orphaned_signatures() {
    let plan = plan("nightly-ghcr");
    let broken = |package: &str| -> Vec<(String, String)> {
        plan.package_json(package)["broken"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| {
                (
                    b["kind"].as_str().unwrap_or_default().to_string(),
                    b["tags"][0].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let api = broken("api");
    assert_eq!(api.len(), 2, "{api:?}");
    assert!(
        api.contains(&("partial".into(), "v0.9.0".into())),
        "{api:?}"
    );
    assert!(api
        .iter()
        .any(|(k, t)| k == "orphaned" && t.ends_with(".sig")));
    assert_eq!(broken("web"), [("ghost".to_string(), "pr-80".to_string())]);
    assert_eq!(plan.json["summary"]["broken"], 3);
    // The partial release is kept (a keep rule), the orphaned signature goes.
    assert_eq!(plan.by_tag("api", "v0.9.0").action, "keep");
    let sig = api
        .iter()
        .find(|(k, _)| k == "orphaned")
        .map(|(_, t)| plan.by_tag("api", t))
        .unwrap_or_else(|| panic!("no orphaned signature"));
    assert_eq!(sig.action, "delete");
    assert_eq!(sig.reasons, "orphaned signatures");
}

#[test]
fn pull_requests_keep_the_two_newest_pushes_per_pull_request() {
    let plan = plan("pull-requests");
    assert_eq!(plan.by_tag("api", "pr-41-1").action, "delete");
    assert_eq!(plan.by_tag("api", "pr-41-2").action, "keep");
    assert_eq!(plan.by_tag("api", "pr-41").action, "keep");
    assert_eq!(plan.by_tag("api", "pr-42").action, "keep");
    let d = plan.by_tag("web", "pr-88-1");
    assert_eq!(d.action, "delete", "{d:?}");
    assert!(
        d.reasons.contains("other pull-request images expire"),
        "{d:?}"
    );
    for child in plan.children("web", &d.name) {
        assert_eq!(plan.by_name("web", &child).action, "delete");
    }
    // Releases and main builds are not this policy's business.
    assert_eq!(plan.by_tag("api", "v1.0.0").action, "keep");
    assert_eq!(plan.deletions("api") + plan.deletions("web"), 7);
}

#[test]
fn npm_prereleases_expire_releases_stay() {
    let plan = plan("npm-prereleases");
    for v in [
        "1.2.0-beta.1",
        "1.2.0-beta.2",
        "2.0.0-alpha.1",
        "2.0.0-rc.1",
        "2.0.0-rc.2",
    ] {
        assert_eq!(plan.by_name("sdk", v).action, "delete", "{v}");
    }
    for v in ["1.0.0", "1.1.0", "1.2.0", "2.0.0"] {
        let d = plan.by_name("sdk", v);
        assert_eq!(d.action, "keep", "{v}");
        assert!(d.reasons.contains("releases stay"), "{d:?}");
    }
    // Too young to expire.
    assert_eq!(plan.by_name("sdk", "2.1.0-beta.1").action, "keep");
}

#[test]
fn newest_per_major_keeps_three_per_major() {
    let plan = plan("newest-per-major");
    for tag in ["v1.0.0", "v1.1.0", "v1.2.0"] {
        let d = plan.by_tag("api", tag);
        assert_eq!(d.action, "delete", "{d:?}");
        for child in plan.children("api", &d.name) {
            let c = plan.by_name("api", &child);
            assert_eq!(c.action, "delete", "{c:?}");
            assert!(c.reasons.contains(tag), "{c:?}");
        }
    }
    for tag in ["v1.3.0", "v1.4.0", "v1.4.2", "v2.0.0", "v2.0.1", "v2.1.0"] {
        let d = plan.by_tag("api", tag);
        assert_eq!(d.action, "keep", "{d:?}");
        assert!(
            d.reasons.contains("3 newest releases of each major"),
            "{d:?}"
        );
    }
    assert_eq!(plan.by_tag("api", "v2.2.0-rc.1").action, "keep");
    assert_eq!(plan.by_tag("web", "v1.0.0").action, "delete");
    assert_eq!(plan.by_tag("web", "v1.1.0").action, "keep");
}

#[test]
fn the_example_inventory_is_what_the_generator_writes() {
    let out_dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let out = out_dir.path().join("inventory.json");
    let run = Command::new("python3")
        .arg(root().join("examples/make_inventory.py"))
        .arg(&out)
        .output();
    let Ok(run) = run else {
        eprintln!("python3 not found: skipping the generator check");
        return;
    };
    assert!(run.status.success(), "{}", text(&run.stderr));
    let fresh = std::fs::read(&out).unwrap_or_default();
    let committed = std::fs::read(root().join("examples/inventory.json")).unwrap_or_default();
    assert!(
        fresh == committed,
        "examples/inventory.json is stale: run python3 examples/make_inventory.py"
    );
}

#[test]
fn pr_closed_deletes_only_the_closed_pull_requests_image() {
    let plan = plan_with("pr-closed", &["--var", "PR_NUMBER=90"]);
    let closed = plan.by_tag("web", "pr-90");
    assert_eq!(closed.action, "delete", "{closed:?}");
    assert_eq!(closed.reasons, "the closed pull request's image goes");
    for (package, tag) in [("web", "pr-88"), ("api", "pr-42"), ("api", "pr-41")] {
        let other = plan.by_tag(package, tag);
        assert_eq!(other.action, "keep", "{tag}: {other:?}");
    }
    // Another number, another image: the value comes from --var alone.
    let plan = plan_with("pr-closed", &["--var", "PR_NUMBER=41"]);
    assert_eq!(plan.by_tag("api", "pr-41").action, "delete");
    assert_eq!(plan.by_tag("web", "pr-90").action, "keep");
}

#[test]
fn pr_closed_without_the_number_runs_nothing() {
    let out = retention(&[
        "plan",
        "--policy",
        "policies/pr-closed.yml",
        "--inventory",
        "examples/inventory.json",
        "--now",
        NOW,
    ]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(out.transcript());
}

#[test]
fn verify_offline_finds_the_example_registry_whole_and_a_lost_platform_manifest() {
    let args = |inventory: &str| {
        vec![
            "verify".to_string(),
            "--policy".into(),
            "policies/nightly-ghcr.yml".into(),
            "--inventory".into(),
            inventory.to_string(),
            "--now".into(),
            NOW.into(),
        ]
    };
    let run = |a: Vec<String>| retention(&a.iter().map(String::as_str).collect::<Vec<_>>());
    // The example registry holds one broken image that the nightly policy keeps: the partial
    // release v0.9.0 (one platform manifest was deleted by another tool). verify names it, and
    // only it.
    let plan = plan("nightly-ghcr");
    let partial = plan.by_tag("api", "v0.9.0");
    let release = plan.by_tag("api", "v2.1.0");
    let _filters = Filters::new().bind();
    let out = run(args("examples/inventory.json"));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(short(&partial.name)), "{err}");
    assert!(!err.contains(short(&release.name)), "{err}");
    insta::assert_snapshot!(out.transcript());

    // Remove one platform manifest of the kept release v2.1.0 from the inventory.
    let child = plan.children("api", &release.name)[0].clone();
    let mut inventory = read_json(&root().join("examples/inventory.json"));
    for p in inventory["packages"].as_array_mut().into_iter().flatten() {
        if let Some(versions) = p["versions"].as_array_mut() {
            versions.retain(|v| v["name"] != child.as_str());
        }
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let broken = dir.path().join("inventory.json");
    std::fs::write(&broken, inventory.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let out = run(args(&broken.display().to_string()));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    // Now v2.1.0 too, which lost `child` (never in the package).
    let err = text(&out.stderr);
    assert!(err.contains(short(&release.name)), "{err}");
    assert!(err.contains(short(&child)), "{err}");
    insta::assert_snapshot!(out.transcript());
}

/// An inventory of package `api`: `main-1` (two days old) and `pr-5` (one day old, the newest),
/// single-platform images with their manifests.
fn newest_is_a_pull_request() -> String {
    use sha2::Digest;
    let version = |id: u64, tag: &str, time: &str| {
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{id:064x}","size":2}},"layers":[]}}"#
        );
        let digest = format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(manifest.as_bytes()))
        );
        (
            format!(
                r#"{{"id":{id},"name":"{digest}","created_at":"{time}","updated_at":"{time}","metadata":{{"package_type":"container","container":{{"tags":["{tag}"]}}}}}}"#
            ),
            format!("{:?}:{:?}", digest, manifest),
        )
    };
    let (a, ma) = version(1, "main-1", "2026-11-18T00:00:00Z");
    let (b, mb) = version(2, "pr-5", "2026-11-19T00:00:00Z");
    format!(
        r#"{{"schema":1,"owner":"acme","captured_at":"{NOW}","packages":[{{"package":{{"id":1,"name":"api","package_type":"container"}},"versions":[{b},{a}],"manifests":{{{mb},{ma}}}}}]}}"#
    )
}

#[test]
fn keep_newest_protects_a_pull_requests_image_that_is_the_newest_unless_it_is_0() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inventory = dir.path().join("inventory.json");
    std::fs::write(&inventory, newest_is_a_pull_request()).unwrap_or_else(|e| panic!("{e}"));
    let shipped = std::fs::read_to_string(root().join("policies/pr-closed.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let default_guard = dir.path().join("keep-newest-1.yml");
    std::fs::write(
        &default_guard,
        shipped.replace("keep_newest: 0", "keep_newest: 1"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let decide = |policy: &str| {
        let out = retention(&[
            "plan",
            "--policy",
            policy,
            "--var",
            "PR_NUMBER=5",
            "--inventory",
            inventory.to_str().unwrap_or_default(),
            "--now",
            NOW,
            "--format",
            "json",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let plan: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
        let v = plan["packages"][0]["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["id"] == 2)
            .cloned()
            .unwrap_or_else(|| panic!("no pr-5 in {plan}"));
        (
            v["action"].as_str().unwrap_or_default().to_string(),
            v["reasons"].to_string(),
        )
    };
    let (action, reasons) = decide(default_guard.to_str().unwrap_or_default());
    assert_eq!(action, "keep", "{reasons}");
    assert!(reasons.contains("keep_newest"), "{reasons}");
    let (action, reasons) = decide("policies/pr-closed.yml");
    assert_eq!(action, "delete", "{reasons}");
}
