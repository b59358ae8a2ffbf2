//! Issue 17.1: a tag the user asks to delete goes, even the last tag of an image that stays only
//! because a kept index lists it: `apply --policy` removes it through a placeholder (pushed under
//! the tag, then deleted), the image stays as an untagged platform manifest, and the check after
//! apply finds the index whole. Against the local GitHub server and its in-memory ghcr.io face.

use std::path::Path;

use crate::support::github_server::{Config, GithubServer};
use crate::support::snap::{self, text, Run};
use retention::registry::{Credentials, RegistryClient, Secret};
use serde_json::{json, Value};

const TOKEN: &str = "ghp_untagLASTsecret0123456789";
const NOW: &str = "2026-11-20T00:00:00Z";

fn sha256(text: &str) -> String {
    retention::registry::push::sha256_digest(text.as_bytes())
}

fn image(arch: &str) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2}},"layers":[],"annotations":{{"arch":"{arch}"}}}}"#,
        "1".repeat(64)
    )
}

/// Package `app`: the index `multiarch` (id 13) lists the image `image-a` (12, tagged) and an
/// untagged arm64 image (11).
fn fixture() -> (Value, String, String) {
    let (amd, arm) = (image("amd64"), image("arm64"));
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux"}}}}]}}"#,
        sha256(&amd),
        amd.len(),
        sha256(&arm),
        arm.len()
    );
    let v = |id: u64, text: &str, tags: &[&str]| {
        json!({"id": id, "name": sha256(text), "url": "u", "package_html_url": "h",
            "created_at": "2026-06-01T00:00:00Z", "updated_at": "2026-06-01T00:00:00Z",
            "metadata": {"package_type": "container", "container": {"tags": tags}}})
    };
    let manifests: serde_json::Map<String, Value> = [&index, &amd, &arm]
        .iter()
        .map(|m| (sha256(m), Value::String((*m).clone())))
        .collect();
    let inventory = json!({"schema": 1, "owner": "acme", "captured_at": NOW, "packages": [{
        "package": {"id": 1, "name": "app", "package_type": "container", "visibility": "private", "url": "u", "html_url": "h", "version_count": 3, "created_at": NOW, "updated_at": NOW},
        "versions": [v(13, &index, &["multiarch"]), v(12, &amd, &["image-a"]), v(11, &arm, &[])],
        "manifests": manifests}]});
    (inventory, sha256(&index), sha256(&amd))
}

fn retention(server: &GithubServer, dir: &Path, args: &[&str]) -> Run {
    snap::run(
        snap::against(&server.url(), TOKEN, dir)
            .args(args)
            .args(["--registry", &server.url()])
            .env_remove("GITHUB_RUN_ID"),
    )
}

fn tag_digest(server: &GithubServer, tag: &str) -> Option<String> {
    let client = RegistryClient::new(
        &server.url(),
        Some(Credentials::new("x", Secret::new(TOKEN))),
    )
    .expect("a registry client");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(client.tag_digest("acme/app", tag))
        .expect("the face answers")
}

#[test]
fn apply_removes_the_last_tag_of_an_image_a_kept_index_needs_and_verify_finds_it_whole() {
    let (inventory, index, amd) = fixture();
    let server = GithubServer::start(
        &inventory,
        Config {
            token: Some(TOKEN.into()),
            last_tagged_rule: true,
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("p.yml"),
        "version: 1\nowner: acme\npackages: { type: container, names: [app] }\nrules:\n  - name: image-a goes\n    delete: { tags: [\"image-a\"] }\nsafety: { keep_newest: 0, min_age: 0s }\n",
    )
    .expect("policy");
    let plan = retention(
        &server,
        dir.path(),
        &["plan", "--policy", "p.yml", "--now", NOW],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(
        plan.stdout()
            .contains("the image stays as a child manifest of kept image"),
        "{}",
        text(&plan)
    );
    let o = retention(
        &server,
        dir.path(),
        &[
            "apply",
            "--policy",
            "p.yml",
            "--now",
            NOW,
            "--journal",
            "journal.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The tag is gone, the image and its index stay: only the placeholder (id 14) was deleted.
    assert_eq!(tag_digest(&server, "image-a"), None);
    assert_eq!(tag_digest(&server, "multiarch"), Some(index));
    assert_eq!(server.deleted_ids(), [("app".to_string(), 14)]);
    assert!(o.stdout().contains("untagged=1"), "{}", text(&o));
    for word in ["broken", "lost", "not whole"] {
        assert!(!o.stderr().contains(word), "{}", text(&o));
    }
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).expect("journal");
    assert!(
        journal.contains("\"outcome\":\"untagged\"") && journal.contains(&amd),
        "{journal}"
    );
    // The next run has nothing left to do, and `verify` finds every kept image whole.
    let again = retention(
        &server,
        dir.path(),
        &[
            "plan", "--policy", "p.yml", "--now", NOW, "--format", "json",
        ],
    );
    let plan: Value = serde_json::from_str(&again.stdout()).expect("a JSON plan");
    assert_eq!(plan["summary"]["delete"], 0, "{}", text(&again));
    assert_eq!(plan["summary"].get("untag"), None, "{}", text(&again));
    let v = retention(
        &server,
        dir.path(),
        &["verify", "--policy", "p.yml", "--now", NOW],
    );
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
}
