//! Tag families: what kind of build a tag names, recognised by its shape, so that `init` can
//! propose one rule per family. The order of the checks decides overlaps: an artifact tag
//! (`sha256-<hex>.sig`) before anything, a moving tag before a branch build, a pull request
//! before a branch (`pr-12` is not branch `pr`), a date before a release (`20260301` is not
//! major 20260301).

use std::sync::LazyLock;

use regex::Regex;

use crate::graph::tag_subject;

/// What a tag names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// A semver release, with or without `v`, prereleases included (`v1.4.2`, `2.0.0-rc.1`),
    /// and the major/minor tags that follow them (`1`, `v1.4`).
    Release,
    /// A tag that moves to each new build: `latest`, `stable`, `edge`, `nightly`, a branch name.
    Moving,
    /// A pull request's build: `pr-12`, `pr-12-3`, `pr-12-<sha>`.
    PullRequest,
    /// A branch build, by branch (`main-3de6a38`, `sha-3de6a38` (branch `sha`), `develop-42`).
    Branch(String),
    /// A dated build: `2026-03-01`, `20260301`, `nightly-20260301`.
    Date,
    /// A cosign signature, attestation or SBOM, or a referrers index: it follows its image.
    Artifact,
    /// None of these: no rule selects it, so it stays.
    Other,
}

/// The moving tags `init` keeps, whether the inventory has them yet or not.
pub const MOVING: &[&str] = &[
    "latest", "stable", "edge", "nightly", "main", "master", "develop", "canary",
];

/// The regex of release tags (the `tag_regex` of the releases rule).
/// A full `x.y.z` may carry a prerelease and build; a major or `major.minor` tag may not (so
/// `2026-03-01` is not release 2026 with prerelease `03-01`).
pub const RELEASE: &str = r"^v?(0|[1-9]\d*)(\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?|(\.(0|[1-9]\d*))?)$";
/// The regex of pull-request tags.
pub const PULL_REQUEST: &str = r"^pr-\d+(-[0-9a-f]+)?$";
/// The regex of dated tags.
pub const DATE: &str = r"^([a-z]+-)?20\d\d-?[01]\d-?[0-3]\d([-.T]?\d{2,6})?$";
/// What follows a branch name in a branch build's tag: a commit (7 to 40 hex) or a number.
pub const BRANCH_SUFFIX: &str = r"-(?:[0-9a-f]{7,40}|\d+)$";

static RELEASE_RE: LazyLock<Regex> = LazyLock::new(|| compiled(RELEASE));
static PULL_REQUEST_RE: LazyLock<Regex> = LazyLock::new(|| compiled(PULL_REQUEST));
static DATE_RE: LazyLock<Regex> = LazyLock::new(|| compiled(DATE));
static BRANCH_RE: LazyLock<Regex> =
    LazyLock::new(|| compiled(&format!(r"^([a-z0-9][a-z0-9._-]*?){BRANCH_SUFFIX}")));

/// A fixed regex of this module: no input reaches it, and a test compiles each one.
fn compiled(pattern: &str) -> Regex {
    Regex::new(pattern)
        .unwrap_or_else(|e| panic!("the fixed regex {pattern} does not compile: {e}"))
}

/// The family of one tag.
pub fn classify(tag: &str) -> Family {
    if tag_subject(tag).is_some() {
        Family::Artifact
    } else if MOVING.contains(&tag) {
        Family::Moving
    } else if PULL_REQUEST_RE.is_match(tag) {
        Family::PullRequest
    } else if DATE_RE.is_match(tag) {
        Family::Date
    } else if RELEASE_RE.is_match(tag) {
        Family::Release
    } else if let Some(branch) = BRANCH_RE.captures(tag).and_then(|c| c.get(1)) {
        Family::Branch(branch.as_str().to_string())
    } else {
        Family::Other
    }
}

/// Whether the releases rule's regex selects `tag`.
pub fn is_release_tag(tag: &str) -> bool {
    RELEASE_RE.is_match(tag)
}

/// Whether the pull-request rule's regex selects `tag`.
pub fn is_pull_request_tag(tag: &str) -> bool {
    PULL_REQUEST_RE.is_match(tag)
}

/// Whether the dates rule's regex selects `tag`.
pub fn is_date_tag(tag: &str) -> bool {
    DATE_RE.is_match(tag)
}

/// The regex of the branch builds of `branches` (regex-escaped), with the branch as its first
/// capture group (the rule's `group_by`).
pub fn branch_regex(branches: &[String]) -> String {
    let names: Vec<String> = branches.iter().map(|b| regex::escape(b)).collect();
    format!("^({}){BRANCH_SUFFIX}", names.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_by_its_shape() {
        let cases = [
            ("v1.4.2", Family::Release),
            ("1.4.2", Family::Release),
            ("2.0.0-rc.1", Family::Release),
            ("v2", Family::Release),
            ("1.4", Family::Release),
            ("latest", Family::Moving),
            ("nightly", Family::Moving),
            ("pr-12", Family::PullRequest),
            ("pr-12-3", Family::PullRequest),
            ("pr-12-3de6a38", Family::PullRequest),
            ("main-3de6a38", Family::Branch("main".into())),
            ("sha-3de6a38", Family::Branch("sha".into())),
            ("develop-42", Family::Branch("develop".into())),
            ("feature-login-7", Family::Branch("feature-login".into())),
            ("2026-03-01", Family::Date),
            ("20260301", Family::Date),
            ("nightly-20260301", Family::Date),
            (
                "sha256-8e80cd5303bb1a9f6b7449f5b98631953dd9f72348da3535575fc3c63d8d6190.sig",
                Family::Artifact,
            ),
            ("foo", Family::Other),
            ("release-candidate", Family::Other),
        ];
        for (tag, family) in cases {
            assert_eq!(classify(tag), family, "{tag}");
        }
    }

    #[test]
    fn the_regexes_compile_and_select_their_family() {
        for p in [RELEASE, PULL_REQUEST, DATE, &branch_regex(&["main".into()])] {
            assert!(Regex::new(p).is_ok(), "{p}");
        }
        assert!(is_release_tag("v1.2.3-rc.1") && !is_release_tag("main-1234567"));
        assert!(is_release_tag("1.2") && !is_release_tag("2026-03-01") && !is_release_tag("1-x"));
        assert!(is_pull_request_tag("pr-1-2") && !is_pull_request_tag("pr-x"));
        assert!(is_date_tag("2026-03-01") && !is_date_tag("v2026"));
        let b = Regex::new(&branch_regex(&["main".into(), "a.b".into()])).unwrap();
        assert!(b.is_match("main-3de6a38") && b.is_match("a.b-12") && !b.is_match("axb-12"));
    }
}
