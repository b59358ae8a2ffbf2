//! What is listed, and how far a listing can be trusted: an owner that a URL would normalise
//! away is refused before any request, and a listing that skipped a version (another actor
//! deleted one of an earlier page while a later one was listed) never lets the absence of a
//! version decide a deletion (issue 17, items 2 and 18).

use std::path::Path;

use crate::support::github_server::{Config, Fixture, GithubServer};
use crate::support::snap::{self, text, Run};

const TOKEN: &str = "ghp_listingSECRETtoken0123456789";
const NOW: &str = "2026-11-20T00:00:00Z";

fn retention(server: &GithubServer, dir: &Path, args: &[&str]) -> Run {
    snap::run(snap::against(&server.url(), TOKEN, dir).args(args))
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write a test file");
    p.display().to_string()
}

/// Issue 17.18: `--owner ..` would send `GET /users/..`, which the URL parser normalises to
/// `GET /`: refused before any request, exit 1.
#[test]
fn an_owner_of_dots_is_refused_before_any_request() {
    let mut f = Fixture::new("acme");
    f.npm("api", 3, "2026-01-01T00:00:00Z");
    let server = GithubServer::start(&f.json(), Config::default());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let policy = write(
        dir.path(),
        "p.yml",
        "version: 1\npackages: { type: npm, names: [api] }\nrules:\n  - name: old go\n    delete: { older_than: 1d }\n",
    );
    for owner in ["..", ".", "%2e%2e"] {
        let o = retention(
            &server,
            dir.path(),
            &["plan", "--policy", &policy, "--now", NOW, "--owner", owner],
        );
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            o.stderr()
                .contains(&format!("`{owner}` is not a user or organization")),
            "{}",
            text(&o)
        );
        assert!(server.requests().is_empty(), "{:?}", server.requests());
    }
}

fn sha256(text: &str) -> String {
    retention::registry::push::sha256_digest(text.as_bytes())
}

fn image(name: &str) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2}},"layers":[],"annotations":{{"name":"{name}"}}}}"#,
        "1".repeat(64)
    )
}

/// Package `app`, newest first: `junk-2` (21), `junk-1` (20), `a` (19), `b` (18), the index
/// `release` (17) with its two untagged platform manifests (16, 15). Listed 3 to a page, so the
/// index is the first version of page 2 once a version of page 1 is deleted.
fn images() -> serde_json::Value {
    let (c1, c2) = (image("c1"), image("c2"));
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux"}}}}]}}"#,
        sha256(&c1),
        c1.len(),
        sha256(&c2),
        c2.len()
    );
    let texts = [
        (21, image("junk-2"), vec!["junk-2"]),
        (20, image("junk-1"), vec!["junk-1"]),
        (19, image("a"), vec!["a"]),
        (18, image("b"), vec!["b"]),
        (17, index, vec!["release"]),
        (16, c1, vec![]),
        (15, c2, vec![]),
    ];
    let versions: Vec<serde_json::Value> = texts
        .iter()
        .map(|(id, text, tags)| {
            let t = format!("2026-06-{:02}T00:00:00Z", id - 10);
            serde_json::json!({"id": id, "name": sha256(text), "url": "u", "package_html_url": "h",
                "created_at": t, "updated_at": t,
                "metadata": {"package_type": "container", "container": {"tags": tags}}})
        })
        .collect();
    let manifests: serde_json::Map<String, serde_json::Value> = texts
        .iter()
        .map(|(_, text, _)| (sha256(text), serde_json::Value::String(text.clone())))
        .collect();
    serde_json::json!({"schema": 1, "owner": "acme", "captured_at": NOW, "packages": [{
        "package": {"id": 1, "name": "app", "package_type": "container", "visibility": "private",
            "url": "u", "html_url": "h", "version_count": versions.len(), "created_at": NOW, "updated_at": NOW},
        "versions": versions, "manifests": manifests}]})
}

const LEFTOVERS: &str = "version: 1\nowner: acme\npackages: { type: container, names: [app] }\nrules:\n  - name: leftovers go\n    delete: { untagged: true }\nsafety: { keep_newest: 0, min_age: 0s }\n";

fn image_server(delete_while_listing: Vec<(usize, u64)>) -> GithubServer {
    GithubServer::start(
        &images(),
        Config {
            max_per_page: 3,
            delete_while_listing,
            ..Config::default()
        },
    )
}

/// Issue 17.2: a version of page 1 deleted while page 2 is listed makes the listing skip the
/// index `release`; its platform manifests would look like parentless leftovers. The count does
/// not add up, so the package is listed again, and the plan keeps them with their index.
#[test]
fn a_listing_that_skipped_a_version_is_listed_again() {
    // The first listing: junk-2 goes before page 1, junk-1 before page 2, which then starts
    // after the index. The second adds up.
    let server = image_server(vec![(1, 21), (2, 20)]);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let policy = write(dir.path(), "p.yml", LEFTOVERS);
    let registry = server.url();
    let o = retention(
        &server,
        dir.path(),
        &[
            "plan",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--format",
            "json",
            "--registry",
            &registry,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        o.stderr().contains(
            "container package app: 5 versions listed, GitHub counts 7 before the listing and 5 after: listing it again"
        ),
        "{}",
        text(&o)
    );
    let plan: serde_json::Value = serde_json::from_str(&o.stdout()).expect("a JSON plan");
    assert_eq!(plan["summary"]["delete"], 0, "{}", text(&o));
    assert_eq!(plan["summary"]["versions"], 5, "{}", text(&o));
    assert!(!o.stderr().contains("does not add up"), "{}", text(&o));
}

/// Review finding 4: the count is read right before and right after each package's listing,
/// not once for all packages before any is listed. Here a push to `app` lands while `base` is
/// listed (so `app`'s count read with the package list is one short), and a version of `app`'s
/// first page is deleted while its second page is read, which skips the index `release`: listed
/// = the stale count, yet the index is missing and its platform manifests would look like
/// parentless leftovers. The count read right before `app`'s listing differs from the one right
/// after, so it is listed again, and nothing is deleted.
#[test]
fn a_push_and_a_deletion_that_leave_the_total_unchanged_are_caught() {
    let mut inventory = images();
    let pushed = image("pushed");
    let digest = sha256(&pushed);
    let t = "2026-06-12T00:00:00Z";
    let version = serde_json::json!({"id": 22, "name": digest, "url": "u",
        "package_html_url": "h", "created_at": t, "updated_at": t,
        "metadata": {"package_type": "container", "container": {"tags": ["pushed"]}}});
    inventory["packages"][0]["manifests"][&digest] = serde_json::Value::String(pushed);
    let base = image("base");
    let t = "2026-06-01T00:00:00Z";
    let base_package = serde_json::json!({
        "package": {"id": 2, "name": "base", "package_type": "container", "visibility": "private",
            "url": "u", "html_url": "h", "version_count": 1, "created_at": NOW, "updated_at": NOW},
        "versions": [{"id": 31, "name": sha256(&base), "url": "u", "package_html_url": "h",
            "created_at": t, "updated_at": t,
            "metadata": {"package_type": "container", "container": {"tags": ["base"]}}}],
        "manifests": {sha256(&base): base}});
    inventory["packages"]
        .as_array_mut()
        .expect("packages")
        .insert(0, base_package);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let policy = write(
        dir.path(),
        "p.yml",
        &LEFTOVERS.replace("names: [app]", "names: [\"*\"]"),
    );
    // A run of the night before (nothing moving) has cached the manifests of the versions
    // then listed, as every run does: the one deleted while listing stays readable there.
    let quiet = GithubServer::start(&inventory, Config::default());
    let o = retention(
        &quiet,
        dir.path(),
        &[
            "plan",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            &quiet.url(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let server = GithubServer::start(
        &inventory,
        Config {
            max_per_page: 5,
            push_while_listing: vec![("base".into(), 1, "app".into(), version)],
            delete_while_listing: vec![(2, 21)],
            ..Config::default()
        },
    );
    let registry = server.url();
    let o = retention(
        &server,
        dir.path(),
        &[
            "plan",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--format",
            "json",
            "--registry",
            &registry,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        o.stderr().contains(
            "warning: container package app: 7 versions listed, GitHub counts 8 before the listing and 7 after: listing it again"
        ),
        "{}",
        text(&o)
    );
    let plan: serde_json::Value = serde_json::from_str(&o.stdout()).expect("a JSON plan");
    assert_eq!(plan["summary"]["delete"], 0, "{}", text(&o));
    assert_eq!(plan["summary"]["versions"], 8, "{}", text(&o));
}

/// Review finding 4: an id listed twice means a push shifted the pages while the package was
/// listed; a deletion in the same listing (which skips a version) would leave the total right.
/// So a duplicate is a reason to list again, even when the total adds up.
#[test]
fn a_version_listed_twice_makes_the_package_listed_again() {
    let server = GithubServer::start(
        &images(),
        Config {
            max_per_page: 3,
            list_twice: vec![19],
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let policy = write(dir.path(), "p.yml", LEFTOVERS);
    let registry = server.url();
    let o = retention(
        &server,
        dir.path(),
        &[
            "plan",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--format",
            "json",
            "--registry",
            &registry,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        o.stderr().contains(
            "warning: container package app: 1 version listed twice (a push while it was listed): listing it again"
        ),
        "{}",
        text(&o)
    );
    // The server lists it twice every time: the two listings agree, so the listing is complete.
    assert!(
        o.stderr().contains(
            "warning: container package app: 1 version listed twice (a push while it was listed), but two listings agree on the same 7 versions: the listing is taken as complete"
        ),
        "{}",
        text(&o)
    );
    let plan: serde_json::Value = serde_json::from_str(&o.stdout()).expect("a JSON plan");
    assert_eq!(plan["summary"]["versions"], 7, "{}", text(&o));
}

/// Issue 17.2: when the second listing does not add up either (another deletion while it was
/// listed), every deletion that rests on a version's absence is withheld (here the platform
/// manifests of the index the listing skipped), the plan says so and `apply` exits 3.
#[test]
fn a_listing_that_does_not_add_up_twice_withholds_what_rests_on_absence_and_exits_3() {
    let server = image_server(vec![(2, 21), (2, 20)]);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let policy = write(dir.path(), "p.yml", LEFTOVERS);
    let registry = server.url();
    let o = retention(
        &server,
        dir.path(),
        &[
            "apply",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            &registry,
            "--journal",
            "journal.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    // The two platform manifests of the kept index stay; only the other actor deleted.
    let mut deleted = server.deleted_ids();
    deleted.sort();
    assert_eq!(
        deleted,
        [("app".to_string(), 20), ("app".to_string(), 21)],
        "{}",
        text(&o)
    );
    assert!(
        o.stderr().contains(
            "warning: the listing of package app (5 listed, GitHub counts 6) does not add up, twice: versions were deleted or pushed while it was listed; deletions that would rest on a version's absence (untagged leftovers, images the missing version may list, ghost, partial, orphaned) were withheld: run again"
        ),
        "{}",
        text(&o)
    );
    // `plan` says why each is kept, and exits 3 too.
    let server = image_server(vec![(2, 21), (2, 20)]);
    let o = retention(
        &server,
        dir.path(),
        &[
            "plan",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            &registry,
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        o.stdout()
            .contains("the listing is incomplete: 5 versions listed, GitHub counts 6"),
        "{}",
        text(&o)
    );
}

/// A count the listing can never reach (GitHub counting versions it does not list: how it counts
/// is not documented) must not withhold every leftover night after night: two listings that
/// agree version for version saw nothing move, so the listing is complete. Here the orphan (14,
/// an untagged version no index lists) goes; the index's platform manifests stay with it.
#[test]
fn two_listings_that_agree_are_complete_whatever_the_count() {
    let mut inventory = images();
    let orphan = image("orphan");
    let t = "2026-06-01T00:00:00Z";
    let package = &mut inventory["packages"][0];
    package["versions"].as_array_mut().expect("versions").push(
        serde_json::json!({"id": 14, "name": sha256(&orphan), "url": "u",
            "package_html_url": "h", "created_at": t, "updated_at": t,
            "metadata": {"package_type": "container", "container": {"tags": []}}}),
    );
    let digest = sha256(&orphan);
    package["manifests"][digest] = serde_json::Value::String(orphan);
    package["package"]["version_count"] = serde_json::json!(8);
    let server = GithubServer::start(
        &inventory,
        Config {
            max_per_page: 3,
            version_count_extra: 1,
            ..Config::default()
        },
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let policy = write(dir.path(), "p.yml", LEFTOVERS);
    let registry = server.url();
    let o = retention(
        &server,
        dir.path(),
        &[
            "apply",
            "--policy",
            &policy,
            "--now",
            NOW,
            "--registry",
            &registry,
            "--journal",
            "journal.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        o.stderr().contains(
            "warning: container package app: 8 versions listed, GitHub counts 9, but two listings agree on the same 8 versions: the listing is taken as complete"
        ),
        "{}",
        text(&o)
    );
    assert_eq!(
        server.deleted_ids(),
        [("app".to_string(), 14)],
        "{}",
        text(&o)
    );
}
