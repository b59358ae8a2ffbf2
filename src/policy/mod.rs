//! The policy language (version 1): what a `policy.yml` says, once parsed and validated.
//!
//! Parsing lives in [`parse`], which walks a located YAML tree so that every error carries
//! `FILE:LINE:COLUMN` and all errors of a file are reported at once. The types here are what the
//! evaluator reads: globs compiled, durations and semver requirements parsed, nothing left as text
//! that could still fail.

pub mod check;
mod in_use;
mod parse;
pub mod vars;

use std::time::Duration;

use globset::GlobSet;
use regex::Regex;
use semver::VersionReq;

pub use parse::{
    parse_policy, parse_policy_with, Diagnostic, DiagnosticKind, PolicyErrors, DURATION_PATTERN,
    MAX_COUNT, MAX_POLICY_BYTES,
};
pub use vars::{VarError, Vars};

use crate::inventory::PackageType;

/// A validated policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// sha256 of the file's bytes, recorded in every plan.
    pub sha256: String,
    pub owner: Option<String>,
    pub packages: PackageFilter,
    pub timestamp: Timestamp,
    pub rules: Vec<Rule>,
    pub safety: Safety,
    /// Where references to images in use live (`in_use:`), and what a scan found there.
    pub in_use: InUse,
}

/// The `in_use:` section: where the references that `keep: { in_use: true }` reads live, and,
/// once the commands have scanned them ([`crate::inuse::scan`]), what was found. The evaluator
/// only reads `found`: it stays pure.
#[derive(Clone, Debug, Default)]
pub struct InUse {
    /// Globs of files, relative to the repository root (`deploy/**/*.yaml`).
    pub files: Vec<String>,
    /// Files of references, one a line (`running-images.txt`).
    pub lists: Vec<String>,
    /// The references to the run's owner's images, found in `files`, `lists` and the
    /// `--in-use` lists; `None` until scanned.
    pub found: Option<std::sync::Arc<crate::inuse::Found>>,
}

impl Policy {
    /// Whether a rule selects by `in_use`.
    pub fn uses_in_use(&self) -> bool {
        self.rules.iter().any(|r| r.selector.in_use.is_some())
    }
}

/// Which packages the policy governs.
#[derive(Clone, Debug)]
pub struct PackageFilter {
    pub package_type: PackageType,
    pub names: Globs,
}

/// Which timestamp of a version ages and "newest" are measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timestamp {
    UpdatedAt,
    CreatedAt,
}

/// The guards that protect versions whatever the rules say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Safety {
    /// Never delete the N newest top-level images (or versions) of a package.
    pub keep_newest: usize,
    /// Never delete a version younger than this.
    pub min_age: Duration,
    /// A plan that deletes more than this is an error, never truncated.
    pub max_deletions: u64,
    /// Remove the tags a delete rule selects from an image that stays under other tags. When
    /// false, such tags stay and the plan says why.
    pub untag: bool,
    /// A plan that removes more tags than this is an error, never truncated.
    pub max_untags: u64,
    /// Deletions a minute at most when applying (`--deletions-per-minute` wins); `None`: the
    /// default, one a second.
    pub deletions_per_minute: Option<u32>,
}

impl Safety {
    /// The defaults, chosen to be safe when a policy says nothing:
    /// keep the newest version of every package (GitHub refuses to delete the last one anyway),
    /// leave anything younger than an hour alone (a push may be in progress: its platform
    /// manifests arrive before the index that tags them), and refuse plans of more than 1,000
    /// deletions (a typo in a glob should not empty a registry).
    pub const DEFAULT: Safety = Safety {
        keep_newest: 1,
        min_age: Duration::from_secs(3600),
        max_deletions: 1000,
        untag: true,
        max_untags: 1000,
        deletions_per_minute: None,
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    Keep,
    Delete,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Keep => "keep",
            RuleKind::Delete => "delete",
        }
    }
}

/// A named rule: keep or delete what its selector selects.
#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub kind: RuleKind,
    pub selector: Selector,
}

/// The conditions of a rule. All given conditions must hold.
#[derive(Clone, Debug, Default)]
pub struct Selector {
    pub tags: Option<Globs>,
    pub tag_regex: Option<Regex>,
    pub untagged: Option<bool>,
    pub versions: Option<Globs>,
    pub semver: Option<VersionReq>,
    pub prerelease: Option<bool>,
    pub older_than: Option<Duration>,
    pub newer_than: Option<Duration>,
    pub newest: Option<usize>,
    pub group_by: Option<GroupBy>,
    pub packages: Option<Globs>,
    /// `true`: an index none of whose platform manifests is in the package.
    pub ghost: Option<bool>,
    /// `true`: an index some but not all of whose platform manifests are in the package.
    pub partial: Option<bool>,
    /// `true`: a cosign artifact, OCI referrer or referrers index whose subject is not in the
    /// package.
    pub orphaned: Option<bool>,
    /// `true`: an image a reference found by `in_use` names (by digest: that version; by tag:
    /// the version carrying the tag, and the tag).
    pub in_use: Option<bool>,
}

impl Selector {
    /// Whether the rule selects tags (`tags`, `tag_regex`) rather than whole versions.
    pub fn selects_tags(&self) -> bool {
        self.tags.is_some() || self.tag_regex.is_some()
    }
}

/// How `newest` groups versions before counting.
#[derive(Clone, Debug)]
pub enum GroupBy {
    Major,
    Minor,
    /// The first capture group of the regex names the group.
    Regex(Regex),
}

/// A list of globs where a leading `!` excludes: a string counts when it matches an include glob
/// and no exclude glob. `*` crosses `/`; matching is whole-string and case-sensitive.
#[derive(Clone, Debug)]
pub struct Globs {
    pub patterns: Vec<String>,
    include: GlobSet,
    exclude: GlobSet,
    /// Set when every pattern is a plain name: the names can be fetched without listing.
    exact: Option<Vec<String>>,
}

impl Globs {
    /// Compile patterns; on error, which pattern is bad and why, or that each pattern compiles
    /// but together they are too large.
    pub fn new(patterns: &[String]) -> Result<Globs, GlobError> {
        let mut include = globset::GlobSetBuilder::new();
        let mut exclude = globset::GlobSetBuilder::new();
        let mut exact = Some(Vec::new());
        for (i, p) in patterns.iter().enumerate() {
            let (negated, body, glob) = compile_glob(i, p)?;
            if negated {
                exact = None;
                exclude.add(glob);
            } else {
                if body.contains(['*', '?', '[', ']', '{', '}', '\\']) {
                    exact = None;
                }
                if let Some(names) = exact.as_mut() {
                    names.push(body.to_string());
                }
                include.add(glob);
            }
        }
        let build = |b: globset::GlobSetBuilder| {
            b.build().map_err(|e| GlobError::TooLarge {
                reason: e.kind().to_string(),
            })
        };
        Ok(Globs {
            patterns: patterns.to_vec(),
            include: build(include)?,
            exclude: build(exclude)?,
            exact,
        })
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.include.is_match(s) && !self.exclude.is_match(s)
    }

    /// The names, when every pattern is a plain name (no glob, no exclusion).
    pub fn exact_names(&self) -> Option<&[String]> {
        self.exact.as_deref()
    }
}

/// A glob list that does not compile.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    /// The pattern at `index` of the list is not a glob; `reason` says why.
    #[error("{reason}")]
    Pattern { index: usize, reason: String },
    /// Each pattern compiles, but together they are too large.
    #[error("{reason}")]
    TooLarge { reason: String },
}

/// Compile pattern `index` of a [`Globs`] list: whether it is an exclusion, its body, its glob.
fn compile_glob(index: usize, p: &str) -> Result<(bool, &str, globset::Glob), GlobError> {
    let bad = |reason: String| GlobError::Pattern { index, reason };
    let (negated, body) = match p.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, p),
    };
    if body.is_empty() {
        return Err(bad("an empty pattern matches nothing".into()));
    }
    let glob = globset::GlobBuilder::new(body)
        .literal_separator(false)
        .case_insensitive(false)
        .backslash_escape(true)
        .empty_alternates(true)
        .build()
        .map_err(|e| bad(e.kind().to_string()))?;
    Ok((negated, body, glob))
}

/// Whether one pattern of a [`Globs`] list compiles; why when not. The parser checks every
/// pattern of a list with it, so that all bad patterns are reported at once.
pub(crate) fn check_glob(p: &str) -> Result<(), GlobError> {
    compile_glob(0, p).map(|_| ())
}

/// Parse a version string as semver, allowing a leading `v` (`v1.2.3`).
pub fn parse_version(s: &str) -> Option<semver::Version> {
    let s = s.strip_prefix('v').unwrap_or(s);
    semver::Version::parse(s).ok()
}

impl Policy {
    /// Read and validate a policy file.
    pub fn load(path: &std::path::Path) -> Result<Policy, PolicyErrors> {
        Policy::load_with(path, &Vars::default())
    }

    /// Read and validate a policy file, with its `${NAME}` variables from `vars`.
    pub fn load_with(path: &std::path::Path, vars: &Vars) -> Result<Policy, PolicyErrors> {
        use std::io::Read as _;
        let display = path.display().to_string();
        // Read one byte past the bound, so that a larger file (or `/dev/zero`) is refused by the
        // parser without being read whole.
        let mut bytes = Vec::new();
        let read = std::fs::File::open(path)
            .and_then(|f| f.take(MAX_POLICY_BYTES as u64 + 1).read_to_end(&mut bytes));
        match read {
            Ok(_) => parse_policy_with(&display, &bytes, vars),
            Err(e) => Err(PolicyErrors::io(&display, &e)),
        }
    }

    /// Read and validate a policy from a file, or from standard input when `path` is `-` (so
    /// that a workflow can pipe `git show origin/main:policies/x.yml`), named `stdin_name` in
    /// its diagnostics. The outer error: standard input could not be read.
    pub fn load_or_stdin(
        path: &std::path::Path,
        vars: &Vars,
        stdin_name: &str,
    ) -> std::io::Result<Result<Policy, PolicyErrors>> {
        use std::io::Read as _;
        if path != std::path::Path::new("-") {
            return Ok(Policy::load_with(path, vars));
        }
        // Bounded like a policy file: one byte past the limit is enough to refuse it.
        let mut bytes = Vec::new();
        std::io::stdin()
            .take(MAX_POLICY_BYTES as u64 + 1)
            .read_to_end(&mut bytes)?;
        Ok(parse_policy_with(stdin_name, &bytes, vars))
    }
}
