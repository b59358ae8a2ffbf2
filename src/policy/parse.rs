//! Parse and validate a policy file, reporting every error with `FILE:LINE:COLUMN`.
//!
//! We load the YAML with `saphyr` into a tree whose every node carries its position, then walk it
//! by hand. A serde derive would stop at the first unknown key or wrong type; walking the tree
//! lets `retention check` report all the problems of a file at once, each with a hint (the nearest
//! valid key for a typo, the accepted values for an enum).

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use sha2::{Digest, Sha256};

use super::{
    Globs, GroupBy, InUse, PackageFilter, Policy, Rule, RuleKind, Safety, Selector, Timestamp,
};
use crate::inventory::PackageType;

/// What kind of problem a diagnostic reports, so that code (the parser's own "do not say it
/// twice" checks, tests, callers) never has to match message text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagnosticKind {
    /// The file cannot be read, is too large, or is not UTF-8.
    Unreadable,
    /// The text is not YAML (including a key given twice in one mapping).
    Yaml,
    /// A key that the policy language does not have.
    UnknownKey,
    /// A required key is missing.
    Missing,
    /// `version` is not 1.
    UnsupportedVersion,
    /// The policy exceeds a bound (rules, globs, pattern length).
    TooLarge,
    /// A `${NAME}` that no `--var` sets, or a malformed `${`.
    Variable,
    /// Any other invalid value or combination.
    Invalid,
}

/// One problem in a policy file, located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  help: {hint}")?;
        }
        Ok(())
    }
}

/// All the problems found in one policy file.
#[derive(Clone, Debug)]
pub struct PolicyErrors {
    pub diagnostics: Vec<Diagnostic>,
}

impl PolicyErrors {
    pub(super) fn io(file: &str, e: &std::io::Error) -> PolicyErrors {
        PolicyErrors::one(
            DiagnosticKind::Unreadable,
            file,
            (1, 1),
            format!("cannot read policy: {e}"),
            Some("check the path of the policy file".into()),
        )
    }

    pub(super) fn one(
        kind: DiagnosticKind,
        file: &str,
        (line, column): (usize, usize),
        message: impl Into<String>,
        hint: Option<String>,
    ) -> PolicyErrors {
        PolicyErrors {
            diagnostics: vec![Diagnostic {
                kind,
                file: file.to_string(),
                line,
                column,
                message: message.into(),
                hint,
            }],
        }
    }
}

/// The largest policy file read, in bytes. Real policies are a few KB; this refuses `/dev/zero`
/// or a generated file before it is held in memory.
pub const MAX_POLICY_BYTES: usize = 1 << 20;
/// The most rules a policy may have.
pub const MAX_RULES: usize = 1000;
/// The most globs (all lists together) a policy may have: each is compiled into an automaton.
pub const MAX_GLOBS: usize = 10_000;
/// The longest glob, regex or name accepted.
pub const MAX_PATTERN_CHARS: usize = 1000;
/// How much of a user's text a message quotes.
const QUOTE_CHARS: usize = 60;
/// The largest whole number a count (`newest`, `keep_newest`, `max_deletions`, `max_untags`)
/// may be: 2^53, the largest that a JSON number (and so the policy schema) holds exactly.
pub const MAX_COUNT: u64 = 1 << 53;
/// What a duration is (schema/policy.schema.json has the same pattern): whole numbers of at
/// most 9 digits, each with a unit of humantime's; `1.5d` is refused (write `36h`), and no
/// number is large enough to overflow.
pub const DURATION_PATTERN: &str = r"^\s*([0-9]{1,9}\s*(nsec|ns|usec|us|µs|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y)\s*)+$";

/// [`DURATION_PATTERN`], compiled once.
fn duration_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(DURATION_PATTERN).expect("DURATION_PATTERN is a valid regex")
    });
    &PATTERN
}

/// A whole number of a YAML scalar: an integer, or a float with no fraction (`3.0`, which a
/// JSON Schema `integer` accepts too); `None` for anything else, a fraction, a negative number
/// or one over [`MAX_COUNT`] (the error says which).
fn whole_number(node: &Node) -> Result<i128, &'static str> {
    let n: i128 = match &node.data {
        YamlData::Value(Scalar::Integer(n)) => i128::from(*n),
        YamlData::Value(Scalar::FloatingPoint(f)) => {
            let f = f.into_inner();
            if f.fract() != 0.0 || !f.is_finite() {
                return Err("a fraction");
            }
            if f.abs() > MAX_COUNT as f64 {
                return Err("too large");
            }
            f as i128
        }
        _ => return Err("not a number"),
    };
    if n > i128::from(MAX_COUNT) {
        return Err("too large");
    }
    Ok(n)
}

/// `text` for a message: at most [`QUOTE_CHARS`] characters, control characters escaped.
pub(crate) fn quote(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(QUOTE_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().count() > QUOTE_CHARS {
        out.push_str(&format!("… ({} characters)", text.chars().count()));
    }
    out
}

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

const TOP_KEYS: &[&str] = &[
    "version",
    "owner",
    "packages",
    "timestamp",
    "rules",
    "safety",
    "in_use",
];
const IN_USE_KEYS: &[&str] = &["files", "lists"];
const PACKAGES_KEYS: &[&str] = &["type", "names"];
const RULE_KEYS: &[&str] = &["name", "keep", "delete"];
const SAFETY_KEYS: &[&str] = &[
    "keep_newest",
    "min_age",
    "max_deletions",
    "untag",
    "max_untags",
    "deletions_per_minute",
];
const SELECTOR_KEYS: &[&str] = &[
    "tags",
    "tag_regex",
    "untagged",
    "versions",
    "semver",
    "prerelease",
    "older_than",
    "newer_than",
    "newest",
    "group_by",
    "packages",
    "ghost",
    "partial",
    "orphaned",
    "in_use",
];

type Node<'a> = MarkedYaml<'a>;

struct Ctx {
    file: String,
    diags: Vec<Diagnostic>,
    /// Valid keys suggested for typos, so that "missing `x`" is not said again.
    suggested: Vec<&'static str>,
    /// Globs compiled so far, against [`MAX_GLOBS`].
    globs: usize,
}

impl Ctx {
    fn at(&mut self, node: &Node, message: impl Into<String>, hint: Option<String>) {
        self.report(DiagnosticKind::Invalid, node, message, hint);
    }

    fn count_of(&self, kind: DiagnosticKind) -> usize {
        self.diags.iter().filter(|d| d.kind == kind).count()
    }

    fn report(
        &mut self,
        kind: DiagnosticKind,
        node: &Node,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.diags.push(Diagnostic {
            kind,
            file: self.file.clone(),
            line: node.span.start.line().max(1),
            column: node.span.start.col() + 1,
            message: message.into(),
            hint,
        });
    }

    /// The entries of a mapping, with unknown keys reported (with the nearest valid key).
    fn mapping<'n, 'a>(
        &mut self,
        node: &'n Node<'a>,
        what: &str,
        known: &[&'static str],
    ) -> Vec<(&'n Node<'a>, String, &'n Node<'a>)> {
        let YamlData::Mapping(map) = &node.data else {
            self.at(
                node,
                format!(
                    "{what} must be a mapping (`key: value` lines), found {}",
                    kind(node)
                ),
                None,
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map {
            let Some(key) = scalar_string(k) else {
                self.at(
                    k,
                    format!("keys of {what} must be plain words, found {}", kind(k)),
                    None,
                );
                continue;
            };
            if !known.contains(&key.as_str()) {
                let hint = match nearest(&key, known) {
                    Some(best) => {
                        self.suggested.push(best);
                        format!("did you mean `{best}`? valid keys: {}", known.join(", "))
                    }
                    None => format!("valid keys: {}", known.join(", ")),
                };
                self.report(
                    DiagnosticKind::UnknownKey,
                    k,
                    format!("unknown key `{}` in {what}", quote(&key)),
                    Some(hint),
                );
                continue;
            }
            out.push((k, key, v));
        }
        out
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.data {
            YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
            _ => {
                self.at(
                    node,
                    format!("`{what}` must be a string, found {}", kind(node)),
                    Some("quote it: \"…\"".into()),
                );
                None
            }
        }
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match &node.data {
            YamlData::Value(Scalar::Boolean(b)) => Some(*b),
            _ => {
                self.at(
                    node,
                    format!("`{what}` must be true or false, found {}", kind(node)),
                    None,
                );
                None
            }
        }
    }

    fn count(&mut self, node: &Node, what: &str, min: i64) -> Option<u64> {
        match whole_number(node) {
            Ok(n) if n >= i128::from(min) => u64::try_from(n).ok(),
            Ok(n) => {
                let hint = if min == 1 && n == 0 {
                    Some(format!(
                        "`{what}: 0` selects nothing; remove the rule, or give at least 1"
                    ))
                } else {
                    None
                };
                self.at(
                    node,
                    format!("`{what}` must be at least {min}, found {n}"),
                    hint,
                );
                None
            }
            Err("too large") => {
                self.at(
                    node,
                    format!("`{what}` is too large: at most {MAX_COUNT}"),
                    None,
                );
                None
            }
            Err(_) => {
                self.at(
                    node,
                    format!("`{what}` must be a whole number, found {}", kind(node)),
                    None,
                );
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let text = match &node.data {
            YamlData::Value(Scalar::String(s)) => s.to_string(),
            YamlData::Value(Scalar::Integer(_)) => {
                self.at(
                    node,
                    format!("`{what}` needs a unit"),
                    Some("write a duration such as 90m, 36h, 14d or 2w".into()),
                );
                return None;
            }
            _ => {
                self.at(
                    node,
                    format!("`{what}` must be a duration, found {}", kind(node)),
                    Some("write a duration such as 90m, 36h, 14d or 2w".into()),
                );
                return None;
            }
        };
        match humantime::parse_duration(&text) {
            // What humantime reads and the schema does not: a fraction, a number too long.
            Ok(_) if !duration_pattern().is_match(&text) => {
                self.at(
                    node,
                    format!(
                        "`{what}`: `{}` is not a duration (whole numbers of at most 9 digits, each with a unit)",
                        quote(&text)
                    ),
                    Some("write a duration such as 90m, 36h, 14d or 2w (1.5d is 36h)".into()),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.at(
                    node,
                    format!(
                        "`{what}`: `{text}` is not a duration ({})",
                        duration_problem(&e)
                    ),
                    Some("write a duration such as 90m, 36h, 14d or 2w".into()),
                );
                None
            }
        }
    }

    /// A list of strings; a single string is accepted as a list of one.
    fn strings(&mut self, node: &Node, what: &str) -> Option<Vec<(String, usize)>> {
        let mut ok = true;
        let mut out = Vec::new();
        match &node.data {
            YamlData::Value(Scalar::String(s)) => out.push((s.to_string(), 0)),
            YamlData::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    match &item.data {
                        YamlData::Value(Scalar::String(s)) => out.push((s.to_string(), i)),
                        _ => {
                            ok = false;
                            self.at(
                                item,
                                format!("items of `{what}` must be strings, found {}", kind(item)),
                                Some("quote it: \"…\"".into()),
                            );
                        }
                    }
                }
            }
            _ => {
                self.at(
                    node,
                    format!("`{what}` must be a list of strings, found {}", kind(node)),
                    Some(format!("write {what}: [\"a\", \"b-*\"]")),
                );
                return None;
            }
        }
        ok.then_some(out)
    }

    fn globs(&mut self, node: &Node, what: &str) -> Option<Globs> {
        let items = self.strings(node, what)?;
        if items.is_empty() {
            self.at(
                node,
                format!("`{what}` is empty and would match nothing"),
                Some("list at least one name or glob".into()),
            );
            return None;
        }
        let patterns: Vec<String> = items.iter().map(|(s, _)| s.clone()).collect();
        self.globs += patterns.len();
        if self.globs > MAX_GLOBS {
            // Said once, at the list that crossed the bound.
            if self.globs - patterns.len() <= MAX_GLOBS {
                self.report(
                    DiagnosticKind::TooLarge,
                    node,
                    format!("the policy has more than {MAX_GLOBS} globs"),
                    Some("match many names with one glob (`web-*`) instead of listing them".into()),
                );
            }
            return None;
        }
        let node_of = |i: usize| match &node.data {
            YamlData::Sequence(seq) => seq.get(items[i].1).unwrap_or(node),
            _ => node,
        };
        let mut bad = false;
        for (i, p) in patterns.iter().enumerate() {
            let at = node_of(i);
            if p.chars().count() > MAX_PATTERN_CHARS {
                bad = true;
                self.report(
                    DiagnosticKind::TooLarge,
                    at,
                    format!(
                        "`{what}`: the pattern `{}` is longer than {MAX_PATTERN_CHARS} characters",
                        quote(p)
                    ),
                    None,
                );
            } else if let Err(reason) = super::check_glob(p) {
                bad = true;
                self.at(
                    at,
                    format!("`{what}`: bad glob `{}`: {reason}", quote(p)),
                    Some("globs use * ? [abc] {a,b}; escape a literal with \\".into()),
                );
            }
        }
        if bad {
            return None;
        }
        if !patterns.iter().any(|p| !p.starts_with('!')) {
            self.at(
                node,
                format!("`{what}` has only `!` exclusions and would match nothing"),
                Some("add an include pattern such as \"*\" before the exclusions".into()),
            );
            return None;
        }
        match Globs::new(&patterns) {
            Ok(g) => Some(g),
            Err(super::GlobError::TooLarge { reason }) => {
                self.report(
                    DiagnosticKind::TooLarge,
                    node,
                    format!(
                        "`{what}`: its {} globs are too large to compile together ({reason})",
                        patterns.len()
                    ),
                    Some("match many names with fewer, simpler globs (`web-*`)".into()),
                );
                None
            }
            Err(super::GlobError::Pattern { index: i, reason }) => {
                self.at(
                    node_of(i),
                    format!("`{what}`: bad glob `{}`: {reason}", quote(&patterns[i])),
                    Some("globs use * ? [abc] {a,b}; escape a literal with \\".into()),
                );
                None
            }
        }
    }

    fn regex(&mut self, node: &Node, what: &str) -> Option<regex::Regex> {
        let text = self.string(node, what)?;
        if text.chars().count() > MAX_PATTERN_CHARS {
            self.report(
                DiagnosticKind::TooLarge,
                node,
                format!(
                    "`{what}`: the regex `{}` is longer than {MAX_PATTERN_CHARS} characters",
                    quote(&text)
                ),
                None,
            );
            return None;
        }
        match regex::Regex::new(&text) {
            Ok(r) => Some(r),
            Err(e) => {
                let msg = e.to_string();
                let last = msg.lines().last().unwrap_or("invalid").trim().to_string();
                self.at(node, format!("`{what}`: bad regex `{}`: {last}", quote(&text)), Some("the syntax is Rust's regex crate (no look-around); in YAML prefer single quotes: '^pr-(\\d+)-'".into()));
                None
            }
        }
    }
}

/// What a node is, for messages.
/// What is wrong with a duration, in words (humantime says "expected number at 0").
fn duration_problem(e: &humantime::DurationError) -> String {
    use humantime::DurationError as E;
    match e {
        E::InvalidCharacter(at) => {
            format!("a character at {} is neither a digit nor a unit", at + 1)
        }
        E::NumberExpected(_) => "each unit needs a number before it".to_string(),
        E::UnknownUnit { unit, .. } => format!("`{unit}` is not a unit"),
        E::NumberOverflow => "it is too large".to_string(),
        E::Empty => "it is empty".to_string(),
    }
}

fn kind(node: &Node) -> &'static str {
    match &node.data {
        YamlData::Value(Scalar::Null) => "nothing (null)",
        YamlData::Value(Scalar::Boolean(_)) => "a boolean",
        YamlData::Value(Scalar::Integer(_)) => "a number",
        YamlData::Value(Scalar::FloatingPoint(_)) => "a fractional or out-of-range number",
        YamlData::Value(Scalar::String(_)) => "a string",
        YamlData::Sequence(_) => "a list",
        YamlData::Mapping(_) => "a mapping",
        YamlData::Alias(_) => "an alias",
        YamlData::Tagged(..) => "a tagged value",
        _ => "an unreadable value",
    }
}

fn scalar_string(node: &Node) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(n)) => Some(n.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// The valid word closest to a typo, when it is close enough to be what was meant.
fn nearest<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Parse and validate a policy. `file` names it in diagnostics.
pub fn parse_policy(file: &str, bytes: &[u8]) -> Result<Policy, PolicyErrors> {
    parse_policy_with(file, bytes, &super::vars::Vars::default())
}

/// [`parse_policy`] with `${NAME}` in string values replaced from `vars` (see [`super::vars`]).
pub fn parse_policy_with(
    file: &str,
    bytes: &[u8],
    vars: &super::vars::Vars,
) -> Result<Policy, PolicyErrors> {
    let mut cx = Ctx {
        file: file.to_string(),
        diags: Vec::new(),
        suggested: Vec::new(),
        globs: 0,
    };
    let text = policy_text(file, bytes)?;
    let sha256 = format!("{:x}", Sha256::digest(bytes));
    let mut docs = load_yaml(file, text)?;
    if let Some(root) = docs.first_mut() {
        cx.diags
            .extend(super::vars::substitute(root, text, vars, file));
    }
    let Some(root) = docs.first() else {
        return Err(PolicyErrors::one(
            DiagnosticKind::Missing,
            file,
            (1, 1),
            "the policy is empty",
            Some("start from one of the examples in policies/".into()),
        ));
    };
    if docs.len() > 1 {
        cx.at(
            &docs[1],
            "a policy file holds one YAML document; found more",
            Some("remove the `---` separators, or split the file".into()),
        );
    }

    let mut version = None;
    let mut owner = None;
    let mut packages = None;
    let mut timestamp = Timestamp::UpdatedAt;
    let mut rules: Option<Vec<Rule>> = None;
    let mut safety = Safety::DEFAULT;
    let mut in_use = InUse::default();
    let mut seen_packages = false;
    let mut seen_rules = false;

    // `packages` first: the checks of `rules` depend on the package type, wherever the keys are.
    let mut entries = cx.mapping(root, "the policy", TOP_KEYS);
    entries.sort_by_key(|(_, key, _)| key != "packages");
    for (_k, key, v) in entries {
        match key.as_str() {
            "version" => version = policy_version(&mut cx, v),
            "owner" => owner = policy_owner(&mut cx, v),
            "packages" => {
                seen_packages = true;
                packages = parse_packages(&mut cx, v);
            }
            "timestamp" => match scalar_string(v).as_deref() {
                Some("updated_at") => timestamp = Timestamp::UpdatedAt,
                Some("created_at") => timestamp = Timestamp::CreatedAt,
                _ => cx.at(
                    v,
                    format!(
                        "`timestamp` must be updated_at or created_at, found {}",
                        describe(v)
                    ),
                    None,
                ),
            },
            "rules" => {
                seen_rules = true;
                rules = parse_rules(
                    &mut cx,
                    v,
                    packages.as_ref().map(|p: &PackageFilter| p.package_type),
                );
            }
            "safety" => {
                if let Some(s) = parse_safety(&mut cx, v) {
                    safety = s;
                }
            }
            "in_use" => in_use = parse_in_use(&mut cx, v),
            _ => {}
        }
    }
    if matches!(root.data, YamlData::Mapping(_)) {
        report_missing(&mut cx, root, version.is_some(), seen_packages, seen_rules);
    }

    if !cx.diags.is_empty() {
        cx.diags.sort_by_key(|d| (d.line, d.column));
        return Err(PolicyErrors {
            diagnostics: cx.diags,
        });
    }
    match (packages, rules) {
        (Some(packages), Some(rules)) => Ok(Policy {
            sha256,
            owner,
            packages,
            timestamp,
            rules,
            safety,
            in_use,
        }),
        // Unreachable in practice: a missing part always left a diagnostic.
        _ => Err(PolicyErrors::one(
            DiagnosticKind::Missing,
            file,
            (1, 1),
            "incomplete policy",
            None,
        )),
    }
}

/// `version`: the number 1 (`1.0` too, as a JSON Schema `const: 1` takes it), else reported.
fn policy_version(cx: &mut Ctx, v: &Node) -> Option<u32> {
    match &v.data {
        YamlData::Value(Scalar::Integer(1)) => return Some(1),
        YamlData::Value(Scalar::FloatingPoint(f)) if f.into_inner() == 1.0 => return Some(1),
        YamlData::Value(Scalar::String(s)) if s.trim() == "1" => cx.report(
            DiagnosticKind::UnsupportedVersion,
            v,
            "`version` must be the number 1, found the string \"1\"",
            Some("write `version: 1` without quotes".into()),
        ),
        _ => cx.report(
            DiagnosticKind::UnsupportedVersion,
            v,
            format!("unsupported policy version: found {}", describe(v)),
            Some("this build reads policy version 1: write `version: 1`".into()),
        ),
    }
    None
}

/// `owner`: a login, neither empty nor a path segment a URL would drop (`.`, `..`).
fn policy_owner(cx: &mut Ctx, v: &Node) -> Option<String> {
    let owner = cx.string(v, "owner")?;
    if owner.trim().is_empty() {
        cx.at(v, "`owner` is empty", Some("remove `owner:` to use --owner or GITHUB_REPOSITORY_OWNER, or write the owner's login".into()));
        None
    } else if crate::inventory::is_dot_segment(owner.trim()) {
        cx.at(
            v,
            format!("`owner`: `{}` is not a user or organization", quote(&owner)),
            Some(
                "`.` and `..` would be dropped from the request's path; write the owner's login"
                    .into(),
            ),
        );
        None
    } else {
        Some(owner)
    }
}

/// The policy's text: at most [`MAX_POLICY_BYTES`], UTF-8 (the first invalid byte located).
fn policy_text<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, PolicyErrors> {
    if bytes.len() > MAX_POLICY_BYTES {
        return Err(PolicyErrors::one(
            DiagnosticKind::Unreadable,
            file,
            (1, 1),
            format!("the policy is larger than {} KB", MAX_POLICY_BYTES / 1024),
            Some("a policy is a short YAML file; check the path of the policy file".into()),
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(t) => Ok(t),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            // The prefix is valid UTF-8: count its characters on the last line.
            let column = String::from_utf8_lossy(&valid[line_start..])
                .chars()
                .count()
                + 1;
            Err(PolicyErrors::one(
                DiagnosticKind::Unreadable,
                file,
                (line, column),
                "the policy is not valid UTF-8",
                Some("save the file as UTF-8".into()),
            ))
        }
    }
}

/// The YAML documents of the policy's text; a YAML error located (a duplicated key named).
fn load_yaml<'a>(file: &str, text: &'a str) -> Result<Vec<MarkedYaml<'a>>, PolicyErrors> {
    match MarkedYaml::load_from_str(text) {
        Ok(d) => Ok(d),
        Err(e) => {
            let (line, column) = (e.marker().line().max(1), e.marker().col() + 1);
            let (message, hint) = match duplicated_key(text, e.info(), line, column) {
                Some(key) => (
                    format!(
                        "invalid YAML: the key `{}` is given twice in one mapping",
                        quote(&key)
                    ),
                    Some("keep one of the two".into()),
                ),
                None => (format!("invalid YAML: {}", e.info()), None),
            };
            Err(PolicyErrors::one(
                DiagnosticKind::Yaml,
                file,
                (line, column),
                message,
                hint,
            ))
        }
    }
}

/// The top-level keys a policy (a mapping) must have and lacks, unless a diagnostic already
/// suggested the key (a misspelling) or said its version is not supported.
fn report_missing(
    cx: &mut Ctx,
    root: &Node,
    has_version: bool,
    seen_packages: bool,
    seen_rules: bool,
) {
    if !has_version
        && !cx.suggested.contains(&"version")
        && cx.count_of(DiagnosticKind::UnsupportedVersion) == 0
    {
        cx.report(
            DiagnosticKind::Missing,
            root,
            "missing `version`",
            Some("add `version: 1` at the top".into()),
        );
    }
    if !seen_packages && !cx.suggested.contains(&"packages") {
        cx.report(
            DiagnosticKind::Missing,
            root,
            "missing `packages`",
            Some("add `packages: { type: container, names: [\"my-image\"] }`".into()),
        );
    }
    if !seen_rules && !cx.suggested.contains(&"rules") {
        cx.report(
            DiagnosticKind::Missing,
            root,
            "missing `rules`",
            Some("add a list of rules, each with a `name` and `keep:` or `delete:`".into()),
        );
    }
}

/// The key a "duplicated key" YAML error points at (saphyr does not name it).
fn duplicated_key(text: &str, info: &str, line: usize, column: usize) -> Option<String> {
    if !info.contains("duplicated key") {
        return None;
    }
    let at: String = text
        .lines()
        .nth(line - 1)?
        .chars()
        .skip(column - 1)
        .collect();
    let at = at.trim_start().trim_start_matches("- ").trim_start();
    let key = match at.chars().next()? {
        q @ ('"' | '\'') => at[1..].split(q).next()?,
        _ => at.split(':').next()?.trim_end(),
    };
    (!key.is_empty()).then(|| key.to_string())
}

fn describe(node: &Node) -> String {
    match scalar_string(node) {
        Some(s) => format!("`{}`", quote(&s)),
        None => kind(node).to_string(),
    }
}

fn parse_packages(cx: &mut Ctx, node: &Node) -> Option<PackageFilter> {
    let mut package_type = Some(PackageType::Container);
    let mut names = None;
    let mut seen_names = false;
    for (_k, key, v) in cx.mapping(node, "`packages`", PACKAGES_KEYS) {
        match key.as_str() {
            "type" => {
                package_type = match scalar_string(v).as_deref().and_then(PackageType::parse) {
                    Some(t) => Some(t),
                    None => {
                        let valid: Vec<&str> =
                            PackageType::ALL.iter().map(|t| t.as_str()).collect();
                        let hint =
                            match scalar_string(v).as_deref().and_then(|s| nearest(s, &valid)) {
                                Some(best) => format!(
                                    "did you mean `{best}`? valid types: {}",
                                    valid.join(", ")
                                ),
                                None => format!("valid types: {}", valid.join(", ")),
                            };
                        cx.at(
                            v,
                            format!("unknown package type {}", describe(v)),
                            Some(hint),
                        );
                        None
                    }
                }
            }
            "names" => {
                seen_names = true;
                names = cx.globs(v, "packages.names");
                let dots = names.as_ref().and_then(|n| n.exact_names()).and_then(|n| {
                    n.iter()
                        .find(|n| crate::inventory::is_dot_segment(n))
                        .cloned()
                });
                if let Some(dot) = dots {
                    cx.at(
                        v,
                        format!("`packages.names`: `{}` is not a package name", quote(&dot)),
                        Some("`.` and `..` would be dropped from the request's path and name another one; write the package's name".into()),
                    );
                    names = None;
                }
            }
            _ => {}
        }
    }
    if !seen_names && matches!(node.data, YamlData::Mapping(_)) {
        cx.report(
            DiagnosticKind::Missing,
            node,
            "missing `names` in `packages`",
            Some("list the package names or globs: names: [\"api\", \"web-*\"]".into()),
        );
    }
    Some(PackageFilter {
        package_type: package_type?,
        names: names?,
    })
}

/// The `in_use:` section: `files` (globs relative to the repository root) and `lists`.
fn parse_in_use(cx: &mut Ctx, node: &Node) -> InUse {
    let mut in_use = InUse::default();
    for (_k, key, v) in cx.mapping(node, "`in_use`", IN_USE_KEYS) {
        let what = format!("in_use.{key}");
        let Some(items) = cx.strings(v, &what) else {
            continue;
        };
        let node_of = |i: usize| match &v.data {
            YamlData::Sequence(seq) => seq.get(i).unwrap_or(v),
            _ => v,
        };
        for (s, i) in items {
            if s.trim().is_empty() {
                cx.at(node_of(i), format!("`{what}`: an empty path"), None);
            } else if key == "files" {
                if let Err(reason) = check_path_glob(&s) {
                    cx.at(
                        node_of(i),
                        format!("`{what}`: bad glob `{}`: {reason}", quote(&s)),
                        Some("globs use * (within a directory), ** (across directories), ? [abc] {a,b}".into()),
                    );
                }
                in_use.files.push(s);
            } else {
                in_use.lists.push(s);
            }
        }
    }
    if matches!(node.data, YamlData::Mapping(_))
        && in_use.files.is_empty()
        && in_use.lists.is_empty()
    {
        cx.at(
            node,
            "`in_use` names no file and no list: it would find nothing in use",
            Some("add `files: [\"deploy/**/*.yaml\"]` or `lists: [\"running-images.txt\"]`".into()),
        );
    }
    in_use
}

/// Whether a glob of `in_use.files` compiles (`*` within a path component, `**` across).
pub(crate) fn check_path_glob(p: &str) -> Result<(), String> {
    globset::GlobBuilder::new(p)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|_| ())
        .map_err(|e| e.kind().to_string())
}

fn parse_safety(cx: &mut Ctx, node: &Node) -> Option<Safety> {
    let mut safety = Safety::DEFAULT;
    let mut ok = true;
    for (_k, key, v) in cx.mapping(node, "`safety`", SAFETY_KEYS) {
        match key.as_str() {
            "keep_newest" => match cx.count(v, "keep_newest", 0) {
                Some(n) => safety.keep_newest = n as usize,
                None => ok = false,
            },
            "min_age" => match cx.duration(v, "min_age") {
                Some(d) => safety.min_age = d,
                None => ok = false,
            },
            "max_deletions" => match cx.count(v, "max_deletions", 0) {
                Some(n) => safety.max_deletions = n,
                None => ok = false,
            },
            "untag" => match cx.bool(v, "untag") {
                Some(b) => safety.untag = b,
                None => ok = false,
            },
            "max_untags" => match cx.count(v, "max_untags", 0) {
                Some(n) => safety.max_untags = n,
                None => ok = false,
            },
            "deletions_per_minute" => match cx.count(v, "deletions_per_minute", 1) {
                Some(n) if n <= 180 => safety.deletions_per_minute = Some(n as u32),
                Some(_) => {
                    cx.at(
                        v,
                        "`deletions_per_minute` may be at most 180, GitHub's documented limit",
                        Some("the default (60, one a second) is what GitHub asks for; raise it only as far as 180".into()),
                    );
                    ok = false;
                }
                None => ok = false,
            },
            _ => {}
        }
    }
    ok.then_some(safety)
}

fn parse_rules(cx: &mut Ctx, node: &Node, package_type: Option<PackageType>) -> Option<Vec<Rule>> {
    let YamlData::Sequence(items) = &node.data else {
        cx.at(
            node,
            format!("`rules` must be a list, found {}", kind(node)),
            Some("write each rule as `- name: …` on its own line".into()),
        );
        return None;
    };
    if items.is_empty() {
        cx.at(
            node,
            "`rules` is empty: the policy would keep everything",
            Some("add at least one rule".into()),
        );
        return None;
    }
    if items.len() > MAX_RULES {
        cx.report(
            DiagnosticKind::TooLarge,
            node,
            format!(
                "the policy has {} rules, more than {MAX_RULES}",
                items.len()
            ),
            Some("one rule can select many versions: merge rules with globs".into()),
        );
        return None;
    }
    let before = cx.diags.len();
    let mut rules = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let mut name = None;
        let mut name_node = None;
        let mut action: Option<(RuleKind, &Node)> = None;
        let mut selector = None;
        let typos_before = cx.count_of(DiagnosticKind::UnknownKey);
        for (k, key, v) in cx.mapping(item, &format!("rule {}", i + 1), RULE_KEYS) {
            match key.as_str() {
                "name" => {
                    name = cx.string(v, "name");
                    name_node = Some(v);
                }
                "keep" | "delete" => {
                    let kind = if key == "keep" {
                        RuleKind::Keep
                    } else {
                        RuleKind::Delete
                    };
                    if let Some((first, _)) = action {
                        cx.at(k, format!("a rule has either `keep` or `delete`, not both (it already has `{}`)", first.as_str()), Some("split it into two rules".into()));
                        continue;
                    }
                    action = Some((kind, v));
                    selector = parse_selector(cx, v, kind, package_type);
                }
                _ => {}
            }
        }
        if !matches!(item.data, YamlData::Mapping(_)) {
            continue;
        }
        let typo = cx.count_of(DiagnosticKind::UnknownKey) > typos_before;
        if name_node.is_none() && !typo {
            cx.report(
                DiagnosticKind::Missing,
                item,
                format!("rule {} has no `name`", i + 1),
                Some("name it: the name is the reason shown for every decision it makes".into()),
            );
        }
        if action.is_none() && !typo {
            cx.report(
                DiagnosticKind::Missing,
                item,
                format!("rule {} has neither `keep` nor `delete`", i + 1),
                Some(
                    "add `keep: {…}` or `delete: {…}` with the conditions that select versions"
                        .into(),
                ),
            );
        }
        if let (Some(n), Some(node)) = (&name, name_node) {
            if n.trim().is_empty() {
                cx.at(node, "a rule name cannot be empty", None);
            } else if let Some(first_line) = names.get(n) {
                cx.at(
                    node,
                    format!("duplicate rule name `{n}` (first used on line {first_line})"),
                    Some(
                        "give every rule its own name, so that each decision names one rule".into(),
                    ),
                );
            } else {
                names.insert(n.clone(), node.span.start.line());
            }
        }
        if let (Some(name), Some((kind, _)), Some(selector)) = (name, action, selector) {
            rules.push(Rule {
                name,
                kind,
                selector,
            });
        }
    }
    (cx.diags.len() == before).then_some(rules)
}

fn parse_selector(
    cx: &mut Ctx,
    node: &Node,
    rule_kind: RuleKind,
    package_type: Option<PackageType>,
) -> Option<Selector> {
    let before = cx.diags.len();
    let what = format!("`{}`", rule_kind.as_str());
    let mut s = Selector::default();
    let mut seen = Seen::default();
    let entries = cx.mapping(node, &what, SELECTOR_KEYS);
    if matches!(&node.data, YamlData::Mapping(m) if m.is_empty()) {
        cx.at(
            node,
            format!(
                "`{}` has no conditions and would select every version",
                rule_kind.as_str()
            ),
            Some("give at least one condition, e.g. `older_than: 30d` or `tags: [\"*\"]`".into()),
        );
    }
    let is_image = package_type.map(PackageType::is_image);
    for (k, key, v) in entries {
        match key.as_str() {
            "tags" => {
                seen.tags = Some(k);
                s.tags = cx.globs(v, "tags");
            }
            "tag_regex" => {
                seen.tags = Some(k);
                s.tag_regex = cx.regex(v, "tag_regex");
            }
            "untagged" => {
                seen.untagged = Some(k);
                s.untagged = cx.bool(v, "untagged");
            }
            "versions" => {
                if is_image == Some(true) {
                    cx.at(
                        k,
                        "`versions` matches version names, which for container images are digests",
                        Some("select container images by `tags` (or `untagged: true`)".into()),
                    );
                }
                s.versions = cx.globs(v, "versions");
            }
            "semver" => {
                if let Some(r) = selector_semver(cx, v) {
                    s.semver = Some(r);
                }
            }
            "prerelease" => s.prerelease = cx.bool(v, "prerelease"),
            "older_than" => s.older_than = cx.duration(v, "older_than"),
            "newer_than" => s.newer_than = cx.duration(v, "newer_than"),
            "newest" => {
                seen.newest = true;
                s.newest = cx.count(v, "newest", 1).map(|n| n as usize);
            }
            "group_by" => {
                seen.group_by = Some(k);
                s.group_by = selector_group_by(cx, v);
            }
            "packages" => s.packages = cx.globs(v, "packages"),
            "in_use" => {
                if is_image == Some(false) {
                    cx.at(
                        k,
                        "`in_use` finds references to container images",
                        Some(
                            "for npm, maven, rubygems and nuget select by `versions` or `semver`"
                                .into(),
                        ),
                    );
                }
                s.in_use = cx.bool(v, "in_use");
                if rule_kind == RuleKind::Delete && s.in_use == Some(true) {
                    cx.at(
                        v,
                        "`delete: { in_use: true }` would delete what is in use",
                        Some("keep what is in use with `keep: { in_use: true }`; `in_use: false` in a delete rule selects what no reference names".into()),
                    );
                }
            }
            "ghost" | "partial" | "orphaned" => {
                seen.broken = seen.broken.or(Some(k));
                let b = cx.bool(v, &key);
                match key.as_str() {
                    "ghost" => s.ghost = b,
                    "partial" => s.partial = b,
                    _ => s.orphaned = b,
                }
            }
            _ => {}
        }
    }
    check_combinations(cx, node, &s, is_image, &seen);
    (cx.diags.len() == before).then_some(s)
}

/// Where a selector's keys are, for the checks of what they say together.
#[derive(Default)]
struct Seen<'n, 'a> {
    /// `tags` or `tag_regex`.
    tags: Option<&'n Node<'a>>,
    untagged: Option<&'n Node<'a>>,
    group_by: Option<&'n Node<'a>>,
    /// The first of `ghost`, `partial` and `orphaned`.
    broken: Option<&'n Node<'a>>,
    newest: bool,
}

/// What a selector's conditions cannot say together, or of this package type.
fn check_combinations(
    cx: &mut Ctx,
    node: &Node,
    s: &Selector,
    is_image: Option<bool>,
    seen: &Seen,
) {
    if let (Some(true), Some(at)) = (s.untagged, seen.untagged) {
        if seen.tags.is_some() {
            cx.at(
                at,
                "`untagged: true` cannot be combined with `tags` or `tag_regex`: nothing has both",
                None,
            );
        }
    }
    if let (Some(false), Some(at)) = (is_image, seen.tags.or(seen.untagged)) {
        cx.at(
            at,
            "tags only exist on container images",
            Some("for npm, maven, rubygems and nuget select by `versions` or `semver`".into()),
        );
    }
    if let (Some(false), Some(at)) = (is_image, seen.broken) {
        cx.at(
            at,
            "`ghost`, `partial` and `orphaned` describe container images",
            Some("for npm, maven, rubygems and nuget select by `versions` or `semver`".into()),
        );
    }
    if let (Some(at), false) = (seen.group_by, seen.newest) {
        cx.at(
            at,
            "`group_by` needs `newest`: it says how many of each group",
            Some("add e.g. `newest: 3`".into()),
        );
    }
    if let (Some(o), Some(n)) = (s.older_than, s.newer_than) {
        if o >= n {
            cx.at(
                node,
                "`older_than` is not less than `newer_than`: no version can be both",
                None,
            );
        }
    }
}

/// `semver`: a requirement by Cargo's rules, else reported.
fn selector_semver(cx: &mut Ctx, v: &Node) -> Option<semver::VersionReq> {
    let text = cx.string(v, "semver")?;
    match semver::VersionReq::parse(&text) {
        Ok(r) => Some(r),
        Err(e) => {
            cx.at(v, format!("`semver`: bad requirement `{text}`: {e}"), Some("write a requirement such as \"<2.0.0\", \">=1.4, <1.6\" or \"^3\" (Cargo's rules)".into()));
            None
        }
    }
}

/// `group_by`: major, minor, or a regex whose first capture group names the group.
fn selector_group_by(cx: &mut Ctx, v: &Node) -> Option<GroupBy> {
    match scalar_string(v).as_deref() {
        Some("major") => Some(GroupBy::Major),
        Some("minor") => Some(GroupBy::Minor),
        Some(_) => match cx.regex(v, "group_by") {
            Some(r) if r.captures_len() < 2 => {
                cx.at(
                    v,
                    "`group_by` regex has no capture group to name the group",
                    Some(
                        "wrap the part that names the group in parentheses, e.g. '^pr-(\\d+)-'"
                            .into(),
                    ),
                );
                None
            }
            other => other.map(GroupBy::Regex),
        },
        None => {
            cx.at(
                v,
                format!(
                    "`group_by` must be major, minor or a regex, found {}",
                    kind(v)
                ),
                None,
            );
            None
        }
    }
}

#[cfg(test)]
mod tests;
