//! What is listed, and how far a listing can be trusted: an owner that a URL would normalise
//! away is refused before any request, and a listing that skipped a version (another actor
//! deleted one of an earlier page while a later one was listed) never lets the absence of a
//! version decide a deletion (issue 17, items 2 and 18).

use std::path::Path;
use std::process::Command;

use crate::support::github_server::{Config, Fixture, GithubServer};
use crate::support::snap::{self, text, Run};

const TOKEN: &str = "ghp_listingSECRETtoken0123456789";
const NOW: &str = "2026-11-20T00:00:00Z";

fn retention(server: &GithubServer, dir: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retention"));
    cmd.args(args)
        .current_dir(dir)
        .env("GITHUB_API_URL", server.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("RETENTION_TEST_TIME_SCALE", "0.01")
        .env("RETENTION_CACHE_DIR", dir.join("cache"))
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("RUST_LOG");
    snap::run(&mut cmd)
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
