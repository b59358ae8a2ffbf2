//! The text of the policy `init` proposes: the `yaml-language-server` line, a header, the
//! packages by exact name (the workflow token cannot list packages), the `in_use` skeleton
//! (commented), one rule per family with a comment that counts what it covers, and the safety
//! guards. Tags and names come from whoever can push, so comments show them only as plain
//! characters and YAML strings are written as JSON strings (valid YAML). And the text of the
//! nightly and pull-request workflows that run it ([`workflows`]).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::families::{self, MOVING};
use super::{Stats, Survey};
use crate::outcome::Failure;
use crate::plural::count;
use crate::policy::{parse_policy, Policy};

/// Where editors find the policy schema (the published repository's; README, "Editor support").
pub const SCHEMA_URL: &str =
    "https://raw.githubusercontent.com/acme/retention/v1/schema/policy.schema.json";

/// What the writer needs besides the survey.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// When the survey was made (its dates are said relative to nothing else).
    pub now: DateTime<Utc>,
    /// `safety.max_deletions`: the default (1000), or more when the first run deletes more.
    pub max_deletions: u64,
    /// `safety.max_untags`: likewise.
    pub max_untags: u64,
    /// The first run's deletions and tag removals, when a limit was raised to fit them: the
    /// comment then says so, and to lower it after that run.
    pub first_run: Option<(u64, u64)>,
}

impl Options {
    pub fn new(now: DateTime<Utc>) -> Options {
        Options {
            now,
            max_deletions: crate::policy::Safety::DEFAULT.max_deletions,
            max_untags: crate::policy::Safety::DEFAULT.max_untags,
            first_run: None,
        }
    }
}

/// A tag or name for a comment: plain characters only (anything else becomes `?`), at most 40.
fn shown(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(40)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-/:".contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// A YAML string (a JSON string is one).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// "12 images in 2 packages tagged like v1.4.2 or 2.0.0-rc.1, oldest 2026-01-03".
fn covers(stats: &Stats, noun: (&str, &str), like: bool) -> String {
    let mut s = count(stats.images, noun.0, noun.1);
    if stats.packages.len() > 1 {
        let _ = write!(
            s,
            " in {}",
            count(stats.packages.len(), "package", "packages")
        );
    }
    if like && !stats.examples.is_empty() {
        let examples: Vec<String> = stats.examples.iter().map(|e| shown(e)).collect();
        let _ = write!(s, " tagged like {}", examples.join(" or "));
    }
    if let Some(oldest) = stats.oldest {
        let _ = write!(s, ", oldest {}", oldest.format("%Y-%m-%d"));
    }
    s
}

/// The policy text for `survey`, and the policy it parses to (a text that does not parse is a
/// bug of `init`, said as such).
pub fn proposed(survey: &Survey, options: &Options) -> Result<(String, Policy), Failure> {
    let text = policy(survey, options);
    match parse_policy("(the proposed policy)", text.as_bytes()) {
        Ok(policy) => Ok((text, policy)),
        Err(e) => Err(Failure::run(format!(
            "the proposed policy does not parse (a bug of retention init; please report it):\n{e}"
        ))),
    }
}

/// The nightly and pull-request workflows that run the policy at `policy_path`: each file's
/// name and text.
pub fn workflows(policy_path: &str) -> [(&'static str, String); 2] {
    // A YAML string (a JSON string is one): the path is never interpolated into shell, only
    // into `with:` and `env:` values.
    let quoted = serde_json::to_string(policy_path).unwrap_or_default();
    [
        (
            "retention-nightly.yml",
            include_str!("workflows/nightly.yml"),
        ),
        ("retention-plan.yml", include_str!("workflows/pr.yml")),
    ]
    .map(|(name, template)| (name, template.replace("__POLICY__", &quoted)))
}

/// The proposed policy, as text: a template filled from the survey, in five parts (the header
/// and the packages, the rules that keep, the rules that expire, what no rule needs, the safety
/// limits), each written as the YAML reads, top to bottom.
pub fn policy(survey: &Survey, options: &Options) -> String {
    let mut out = String::new();
    head(&mut out, survey, options);
    kept(&mut out, survey);
    expiring(&mut out, survey);
    leftovers(&mut out, survey);
    safety(&mut out, options);
    out
}

/// The header comments, the owner and packages, the commented `in_use` and the rules' preamble.
fn head(o: &mut String, survey: &Survey, options: &Options) {
    let _ = writeln!(o, "# yaml-language-server: $schema={SCHEMA_URL}");
    let _ = writeln!(
        o,
        "# A first retention policy for {}, written by `retention init` on {} from {} ({}).",
        shown(&survey.owner),
        options.now.format("%Y-%m-%d"),
        count(
            survey.packages.len(),
            "container package",
            "container packages"
        ),
        count(survey.versions, "version", "versions"),
    );
    o.push_str("# Each rule says what it covers today. Nothing is deleted until `retention apply` runs it:\n");
    o.push_str(
        "# read the plan first (`retention plan --policy THIS_FILE`), then commit the file.\n",
    );
    if !survey.skipped.is_empty() {
        let names: Vec<String> = survey.skipped.iter().take(5).map(|n| shown(n)).collect();
        let _ = writeln!(
            o,
            "# Left out: {} of another type ({}); a policy governs one package type.",
            count(survey.skipped.len(), "package", "packages"),
            names.join(", ")
        );
    }
    o.push_str("version: 1\n");
    let _ = writeln!(o, "owner: {}", quoted(&survey.owner));
    o.push_str("packages:\n  type: container\n");
    o.push_str("  # Exact names: the workflow token (GITHUB_TOKEN) cannot list packages, so a policy it runs\n");
    o.push_str("  # must name them. Add a package here when you publish a new one.\n");
    let names: Vec<String> = survey.packages.iter().map(|n| quoted(n)).collect();
    let _ = writeln!(o, "  names: [{}]", names.join(", "));
    o.push_str(
        "timestamp: updated_at              # ages and \"newest\" are measured on updated_at\n\n",
    );

    o.push_str("# Keep what is deployed: point `files` at your manifests (relative to the repository root;\n");
    o.push_str("# a pattern that matches no file is an error), uncomment it and the first rule (docs/in-use.md).\n");
    o.push_str("# in_use:\n#   files: [\"deploy/**/*.yaml\", \"docker-compose*.yml\", \"charts/**/values*.yaml\"]\n\n");
    o.push_str("rules:\n");
    o.push_str("  # - name: what runs stays\n  #   keep: { in_use: true }\n\n");
    o.push_str("  # Keep rules win over delete rules, whatever their order. Platform manifests, attestations\n");
    o.push_str("  # and signatures follow their image: no rule names them.\n\n");
}

/// The families that stay: releases and moving tags.
fn kept(o: &mut String, survey: &Survey) {
    // Releases.
    let _ = writeln!(
        o,
        "  # semver releases: {}.",
        if survey.releases.images == 0 {
            "none yet".to_string()
        } else {
            covers(&survey.releases, ("image", "images"), true)
        }
    );
    o.push_str("  # They all stay. To let old ones go, keep the newest 3 of each major and delete the rest:\n");
    let _ = writeln!(
        o,
        "  #   keep: {{ tag_regex: '{}', newest: 3, group_by: major }}",
        families::RELEASE
    );
    o.push_str("  - name: releases stay\n");
    let _ = writeln!(o, "    keep: {{ tag_regex: '{}' }}\n", families::RELEASE);

    // Moving tags.
    let _ = writeln!(
        o,
        "  # moving tags: {}.",
        if survey.moving.images == 0 {
            "none yet".to_string()
        } else {
            covers(&survey.moving, ("image", "images"), true)
        }
    );
    o.push_str("  - name: moving tags stay\n");
    let moving: Vec<String> = MOVING.iter().map(|t| quoted(t)).collect();
    let _ = writeln!(o, "    keep: {{ tags: [{}] }}\n", moving.join(", "));
}

/// The families that expire: pull-request images, branch builds, dated builds.
fn expiring(o: &mut String, survey: &Survey) {
    // Pull requests.
    let _ = writeln!(
        o,
        "  # pull-request images: {}.",
        if survey.pull_requests.images == 0 {
            "none yet".to_string()
        } else {
            covers(&survey.pull_requests, ("image", "images"), true)
        }
    );
    o.push_str("  # A release that also carries a pr tag stays and only loses that tag.\n");
    o.push_str("  - name: pull-request images expire\n");
    let _ = writeln!(
        o,
        "    delete: {{ tag_regex: '{}', older_than: 14d }}\n",
        families::PULL_REQUEST
    );

    // Branch builds.
    if !survey.branches.is_empty() {
        let branches: Vec<String> = survey.branches.keys().cloned().collect();
        let per: Vec<String> = survey
            .branches
            .iter()
            .map(|(b, n)| format!("{} ({n})", shown(b)))
            .collect();
        let _ = writeln!(
            o,
            "  # branch builds: {}; by branch: {}.",
            covers(&survey.branch_builds, ("image", "images"), true),
            per.join(", ")
        );
        let re = families::branch_regex(&branches);
        o.push_str("  - name: the 10 newest builds of each branch stay\n");
        let _ = writeln!(
            o,
            "    keep: {{ tag_regex: '{re}', newest: 10, group_by: '{re}' }}"
        );
        o.push_str("  - name: older branch builds expire\n");
        let _ = writeln!(o, "    delete: {{ tag_regex: '{re}' }}\n");
    }

    // Dates.
    if survey.dates.images > 0 {
        let _ = writeln!(
            o,
            "  # dated builds: {}.",
            covers(&survey.dates, ("image", "images"), true)
        );
        o.push_str("  - name: the 10 newest dated builds stay\n");
        let _ = writeln!(
            o,
            "    keep: {{ tag_regex: '{}', newest: 10 }}",
            families::DATE
        );
        o.push_str("  - name: dated builds expire\n");
        let _ = writeln!(
            o,
            "    delete: {{ tag_regex: '{}', older_than: 30d }}\n",
            families::DATE
        );
    }
}

/// Artifacts (no rule), the untagged leftovers rule, and the tags no rule covers.
fn leftovers(o: &mut String, survey: &Survey) {
    // Artifacts: no rule.
    if survey.artifacts.images > 0 {
        let _ = writeln!(
            o,
            "  # signatures, attestations and SBOMs: {}. They follow their image (no rule needed).\n",
            covers(&survey.artifacts, ("artifact", "artifacts"), false)
        );
    }

    // Untagged.
    let _ = writeln!(
        o,
        "  # untagged: {}. A platform manifest or attestation of a kept image stays with it.",
        if survey.untagged.images == 0 {
            "none yet".to_string()
        } else {
            covers(&survey.untagged, ("version", "versions"), false)
        }
    );
    o.push_str("  - name: untagged leftovers expire\n");
    o.push_str("    delete: { untagged: true, older_than: 2d }\n");

    if !survey.not_covered.is_empty() {
        let examples: Vec<String> = survey
            .not_covered
            .iter()
            .take(3)
            .map(|t| format!("`{}`", shown(t)))
            .collect();
        let _ = writeln!(
            o,
            "\n  # not covered: {} such as {}: no rule selects them, so their images stay.",
            count(survey.not_covered.len(), "tag", "tags"),
            examples.join(", ")
        );
    }
}

/// The safety limits, with why a limit was raised for the first run.
fn safety(o: &mut String, options: &Options) {
    o.push_str("\nsafety:\n");
    o.push_str(
        "  keep_newest: 3                   # the 3 newest images of each package always stay\n",
    );
    o.push_str("  min_age: 1h                      # never race a push in progress\n");
    let default = crate::policy::Safety::DEFAULT;
    let raised = |value: u64, default: u64, first: Option<u64>, what: &str| match first {
        Some(n) if value > default => format!(
            "raised from {default} to fit the first run ({}): lower it to {default} after that run",
            crate::plural::count(n as usize, what, &format!("{what}s"))
        ),
        _ => String::new(),
    };
    let deletions = raised(
        options.max_deletions,
        default.max_deletions,
        options.first_run.map(|f| f.0),
        "deletion",
    );
    let untags = raised(
        options.max_untags,
        default.max_untags,
        options.first_run.map(|f| f.1),
        "tag removal",
    );
    let _ = writeln!(
        o,
        "  max_deletions: {:<17} # {}",
        options.max_deletions,
        if deletions.is_empty() {
            "a bigger plan is an error, not a partial run"
        } else {
            &deletions
        }
    );
    let _ = writeln!(
        o,
        "  max_untags: {:<20} # {}",
        options.max_untags,
        if untags.is_empty() {
            "likewise for tags removed from images that stay"
        } else {
            &untags
        }
    );
}
