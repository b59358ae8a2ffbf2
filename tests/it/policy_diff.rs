//! `retention plan --base`: the policy diff through the binary, offline, on the example
//! inventory (`examples/policy-change/nightly-ghcr.yml` against `policies/nightly-ghcr.yml`);
//! and online, against the local GitHub server, a base policy of another owner.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::support::snap::{self, Run};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run `retention plan` on the example inventory, with `stdin` fed to it.
fn plan(args: &[&str], stdin: &str) -> Run {
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    all.extend([
        "--inventory",
        "examples/inventory.json",
        "--now",
        "2026-11-20T00:00:00Z",
    ]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args(&all)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run retention: {e}"));
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.as_bytes())
            .unwrap_or_else(|e| panic!("stdin: {e}"));
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("retention: {e}"));
    snap::of(&all, output)
}

fn stdout(o: &Run) -> String {
    assert_eq!(o.status.code(), Some(0), "{}", o.stderr());
    o.stdout()
}

const NEW: &str = "examples/policy-change/nightly-ghcr.yml";
const BASE: &str = "policies/nightly-ghcr.yml";

#[test]
fn the_markdown_opens_with_the_line_a_reviewer_acts_on() {
    let o = plan(
        &["--policy", NEW, "--base", BASE, "--format", "markdown"],
        "",
    );
    let md = stdout(&o);
    insta::assert_snapshot!("example_diff_markdown", o.transcript());
    let second = md.lines().nth(2).unwrap_or_default();
    assert!(
        second.starts_with("**this change deletes 12 more versions (3 images, about 104 MiB); 167 versions unchanged**"),
        "{md}"
    );
    // Unchanged versions are counted, not listed: the releases are nowhere in the report.
    assert!(!md.contains("v1.0.0"), "{md}");
}

#[test]
fn the_text_report_and_the_base_from_standard_input() {
    let base = std::fs::read_to_string(root().join(BASE)).unwrap_or_default();
    let from_stdin = stdout(&plan(&["--policy", NEW, "--base", "-"], &base));
    let o = plan(&["--policy", NEW, "--base", BASE], "");
    assert_eq!(from_stdin, stdout(&o));
    insta::assert_snapshot!("example_diff_text", o.transcript());
    // The same policy on both sides changes nothing.
    let o = plan(&["--policy", BASE, "--base", BASE], "");
    insta::assert_snapshot!(o.transcript());
}

#[test]
fn the_json_is_a_plan_with_its_diff() {
    let json = stdout(&plan(
        &["--policy", NEW, "--base", BASE, "--format", "json"],
        "",
    ));
    let doc: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
    assert_eq!(doc["diff"]["summary"]["newly_deleted"], 12);
    // Three images: the twelfth version is a platform manifest that main-7e78138 shares with
    // an image that stays deleted under both policies (a part, not an image: issue 17.13).
    assert_eq!(doc["diff"]["summary"]["newly_deleted_images"], 3);
    assert_eq!(doc["diff"]["summary"]["no_longer_deleted"], 0);
    assert_eq!(doc["diff"]["summary"]["unchanged"], 167);
    let change = &doc["diff"]["packages"][0]["newly_deleted"][0];
    assert_eq!(change["new"]["action"], "delete");
    assert_eq!(change["base"]["action"], "keep");
    // Still a plan: `apply --plan` reads it (the new policy's decisions).
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("plan.json");
    std::fs::write(&path, &json).unwrap_or_else(|e| panic!("{e}"));
    let plan = retention::plan::Plan::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(plan.summary.delete, 51 + 12);
}

#[test]
fn a_bad_base_policy_is_a_usage_error_that_names_it() {
    let o = plan(&["--policy", NEW, "--base", "-"], "version: 1\nrules: [\n");
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!(o.transcript());
}

#[test]
fn a_base_policy_over_its_own_limits_is_compared_and_the_report_says_so() {
    // The nightly run of such a policy changes nothing today, and the change under review may be
    // the fix: the report compares with what the base decides without its limits, and says so.
    let base = std::fs::read_to_string(root().join(BASE)).unwrap_or_else(|e| panic!("{e}"));
    let base = base.replace("max_deletions: 500", "max_deletions: 5");
    let o = plan(
        &["--policy", NEW, "--base", "-", "--format", "markdown"],
        &base,
    );
    let md = stdout(&o);
    assert!(
        md.contains("> [!NOTE]\n> The current policy is over its own limits"),
        "{md}"
    );
    insta::assert_snapshot!(o.transcript());
}

/// Issue 17.13: a change of `owner:` is never reported as "does not change what is deleted":
/// the base policy is evaluated on its own owner's packages, which a saved inventory (one
/// owner's) does not hold, so `plan --base --inventory` refuses and says what to do.
#[test]
fn a_change_of_owner_is_not_compared_on_the_new_owner_s_packages() {
    let base = std::fs::read_to_string(root().join(BASE)).unwrap_or_else(|e| panic!("{e}"));
    let base = base.replace("owner: acme", "owner: old-org");
    let o = plan(&["--policy", BASE, "--base", "-"], &base);
    assert_eq!(o.status.code(), Some(1), "{}", o.stderr());
    assert!(
        o.stderr().contains(
            "error: the base policy is for owner old-org, this one for acme, and a saved inventory holds one owner's packages"
        ),
        "{}",
        o.stderr()
    );
    assert!(!o.stdout().contains("does not change what is deleted"));
}

/// Issue 17.13: online, a base policy of another owner is evaluated on that owner's packages:
/// they are looked up (here GitHub knows no such owner, and says so, exit 1), never replaced by
/// the new owner's.
#[test]
fn online_a_base_policy_of_another_owner_is_listed_on_its_own_owner() {
    use crate::support::github_server::{Config, Fixture, GithubServer};
    let mut f = Fixture::new("acme");
    f.npm("api", 3, "2026-01-01T00:00:00Z");
    let server = GithubServer::start(&f.json(), Config::default());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let policy = |owner: &str| {
        format!("version: 1\nowner: {owner}\npackages: {{ type: npm, names: [api] }}\nrules:\n  - name: old go\n    delete: {{ older_than: 1d }}\n")
    };
    std::fs::write(dir.path().join("new.yml"), policy("acme")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("old.yml"), policy("old-org")).unwrap_or_else(|e| panic!("{e}"));
    let o = snap::run(
        Command::new(env!("CARGO_BIN_EXE_retention"))
            .args(["plan", "--policy", "new.yml", "--base", "old.yml", "--now"])
            .arg("2026-11-20T00:00:00Z")
            .current_dir(dir.path())
            .env("GITHUB_API_URL", server.url())
            .env("GITHUB_TOKEN", "ghp_diffSECRET0123456789")
            .env("RETENTION_TEST_TIME_SCALE", "0.01")
            .env("RETENTION_CACHE_DIR", dir.path().join("cache"))
            .env_remove("GITHUB_REPOSITORY_OWNER")
            .env_remove("GITHUB_ACTIONS"),
    );
    assert_eq!(o.status.code(), Some(1), "{}", o.stderr());
    assert!(
        o.stderr()
            .contains("GitHub knows no user or organization named `old-org`"),
        "{}",
        o.stderr()
    );
    assert!(server
        .requests()
        .iter()
        .any(|r| r.path.starts_with("/users/old-org")));
}
