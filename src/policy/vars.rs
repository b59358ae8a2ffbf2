//! Variables in policy strings: `tags: ["pr-${PR_NUMBER}"]`, with values given on the command
//! line (`--var PR_NUMBER=42`, the action's input `vars`) and from nowhere else.
//!
//! Why this shape:
//! - **Only `--var`, never the environment.** A policy changed in a pull request must not be able
//!   to print `${GITHUB_TOKEN}` into a report: a name that was not given with `--var` is an
//!   error naming it, located `FILE:LINE:COL`.
//! - **Substituted in the parsed tree, not in the file's text.** Only string values of the YAML
//!   tree are rewritten (never keys), after parsing, so a value cannot add a key, a list item or
//!   a rule: it can only be part of the string it was written in.
//! - **Values are plain words** (letters, digits, `.`, `_`, `-`, `/`: what a tag, a package name,
//!   a number or a duration holds), so a value cannot widen a glob either (`*`, `{a,b}`, `!`).
//! - **A value is a literal wherever it lands.** In a regex (`tag_regex`, a `group_by` regex)
//!   it is substituted escaped (`N=..` in `'^pr-${N}$'` matches the tag `pr-..` only, not `pr-42`);
//!   in a `semver` requirement it must be a literal version (`1`, `1.4`, `1.4.2`, `1.4.2-rc.1`),
//!   never `x` or another wildcard that would select every version.
//!
//! Syntax: `${NAME}` where NAME is letters, digits and `_` (not starting with a digit); `$${`
//! writes a literal `${`; any other `$` is left as it is (a regex's `$` anchor).

use std::collections::BTreeMap;

use saphyr::{MarkedYaml, Marker, Scalar, YamlData};

use super::parse::{Diagnostic, DiagnosticKind};

/// The variables given on the command line, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

/// Whether `name` can be a variable name: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `c` may appear in a value.
fn is_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')
}

/// A `--var` that cannot be used. The texts end with a `help:` line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("`{arg}` is not NAME=VALUE\n  help: write e.g. --var PR_NUMBER=42")]
    NotAPair { arg: String },
    #[error("`{name}` is not a variable name\n  help: a name is letters, digits and _, not starting with a digit (PR_NUMBER)")]
    BadName { name: String },
    #[error("the variable {name} is empty\n  help: give it a value (an empty value usually means the workflow ran on an event that lacks it)")]
    Empty { name: String },
    #[error("the value of {name} contains {bad:?}\n  help: a value may hold letters, digits, '.', '_', '-' and '/' only, so that it can never widen a glob or a pattern")]
    BadValue { name: String, bad: char },
    #[error(
        "the variable {name} is given twice ({first} and {second})\n  help: give each --var once"
    )]
    Twice {
        name: String,
        first: String,
        second: String,
    },
}

/// Parse one `--var NAME=VALUE` (clap's value parser).
pub fn parse_var(arg: &str) -> Result<(String, String), VarError> {
    let Some((name, value)) = arg.split_once('=') else {
        return Err(VarError::NotAPair {
            arg: arg.to_string(),
        });
    };
    if !is_name(name) {
        return Err(VarError::BadName {
            name: name.to_string(),
        });
    }
    if value.is_empty() {
        return Err(VarError::Empty {
            name: name.to_string(),
        });
    }
    if let Some(bad) = value.chars().find(|c| !is_value_char(*c)) {
        return Err(VarError::BadValue {
            name: name.to_string(),
            bad,
        });
    }
    Ok((name.to_string(), value.to_string()))
}

impl Vars {
    /// The variables from `--var` pairs (each already checked by [`parse_var`]); a name given
    /// twice is an error.
    pub fn new(pairs: &[(String, String)]) -> Result<Vars, VarError> {
        let mut values = BTreeMap::new();
        for (name, value) in pairs {
            if let Some(first) = values.insert(name.clone(), value.clone()) {
                return Err(VarError::Twice {
                    name: name.clone(),
                    first,
                    second: value.clone(),
                });
            }
        }
        Ok(Vars { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The names given, for messages.
    fn names(&self) -> String {
        if self.values.is_empty() {
            "none".to_string()
        } else {
            self.values.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    }
}

/// The longest variable name: a longer `${…}` is reported as malformed, shortened.
const MAX_NAME: usize = 64;

/// A problem with one `${…}` in a string value.
enum Problem {
    Unset(String),
    Malformed(String),
    /// A value that is not a literal version, in a `semver` requirement: (name, value).
    NotAVersion(String, String),
}

/// What the string a value lands in is, which decides how the value is written into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// A glob, a name, a duration: the value as it is (its characters cannot widen a glob).
    Plain,
    /// A regex (`tag_regex`, `group_by`): the value escaped, so that it matches itself only.
    Regex,
    /// A `semver` requirement: the value must be a literal version.
    Semver,
}

impl Slot {
    /// What the value of the key `key` is.
    fn of(key: &str) -> Slot {
        match key {
            "tag_regex" | "group_by" => Slot::Regex,
            "semver" => Slot::Semver,
            _ => Slot::Plain,
        }
    }
}

/// Whether `value` is a literal version (`1`, `1.4`, `1.4.2`, `1.4.2-rc.1`): digits in one to
/// three dot-separated parts, then an optional pre-release of letters, digits, `.` and `-`.
fn is_literal_version(value: &str) -> bool {
    let (numbers, pre) = match value.split_once('-') {
        Some((n, p)) => (n, Some(p)),
        None => (value, None),
    };
    let parts: Vec<&str> = numbers.split('.').collect();
    parts.len() <= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && pre.is_none_or(|p| {
            parts.len() == 3
                && !p.is_empty()
                && p.split('.').all(|id| {
                    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
        })
}

/// Expand the variables of one string. `Ok(None)` when it has none.
fn expand(s: &str, vars: &Vars, into: Slot) -> Result<Option<String>, Vec<Problem>> {
    if !s.contains('$') {
        return Ok(None);
    }
    let mut out = String::with_capacity(s.len());
    let mut problems = Vec::new();
    let mut changed = false;
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            changed = true;
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            changed = true;
            match tail.find('}') {
                Some(end) if end <= MAX_NAME && is_name(&tail[..end]) => {
                    let name = &tail[..end];
                    match (vars.get(name), into) {
                        (Some(value), Slot::Plain) => out.push_str(value),
                        (Some(value), Slot::Regex) => out.push_str(&regex::escape(value)),
                        (Some(value), Slot::Semver) if is_literal_version(value) => {
                            out.push_str(value)
                        }
                        (Some(value), Slot::Semver) => {
                            problems.push(Problem::NotAVersion(name.to_string(), value.to_string()))
                        }
                        (None, _) => problems.push(Problem::Unset(name.to_string())),
                    }
                    rest = &tail[end + 1..];
                }
                _ => {
                    let shown: String = after.chars().take(24).collect();
                    problems.push(Problem::Malformed(shown));
                    out.push_str("${");
                    rest = tail;
                }
            }
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    if problems.is_empty() {
        Ok(changed.then_some(out))
    } else {
        Err(problems)
    }
}

/// Replace `${NAME}` in every string value of the tree (keys are left alone); returns a
/// diagnostic per unset or malformed variable, located at the `${` in `source` when it can be
/// found there (else at the start of the value).
pub fn substitute(
    root: &mut MarkedYaml<'_>,
    source: &str,
    vars: &Vars,
    file: &str,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    walk(root, source, vars, file, Slot::Plain, &mut diags);
    diags
}

fn walk(
    node: &mut MarkedYaml<'_>,
    source: &str,
    vars: &Vars,
    file: &str,
    into: Slot,
    diags: &mut Vec<Diagnostic>,
) {
    match &mut node.data {
        YamlData::Value(Scalar::String(s)) => match expand(s, vars, into) {
            Ok(Some(expanded)) => *s = expanded.into(),
            Ok(None) => {}
            Err(problems) => {
                for p in problems {
                    let (needle, message, hint) = match p {
                        Problem::Unset(name) => (
                            format!("${{{name}}}"),
                            format!("the variable `{name}` is not set"),
                            format!(
                                "give it with --var {name}=VALUE (the action's input `vars`); variables never come from the environment (given: {})",
                                vars.names()
                            ),
                        ),
                        Problem::Malformed(text) => (
                            text.clone(),
                            format!("`{text}` is not a variable"),
                            "write ${NAME} (letters, digits and _), or $${ for a literal ${"
                                .to_string(),
                        ),
                        Problem::NotAVersion(name, value) => (
                            format!("${{{name}}}"),
                            format!("`semver`: the variable `{name}` is `{value}`, not a version"),
                            "in a semver requirement a variable must be a literal version (1, 1.4, 1.4.2 or 1.4.2-rc.1), so that it can never widen the requirement".to_string(),
                        ),
                    };
                    let (line, column) = locate(source, node.span.start, node.span.end, &needle);
                    let diag = Diagnostic {
                        kind: DiagnosticKind::Variable,
                        file: file.to_string(),
                        line,
                        column,
                        message,
                        hint: Some(hint),
                    };
                    // `${A}-${A}`: one error is enough.
                    if !diags.contains(&diag) {
                        diags.push(diag);
                    }
                }
            }
        },
        YamlData::Sequence(items) => {
            for item in items.iter_mut() {
                walk(item, source, vars, file, into, diags);
            }
        }
        YamlData::Mapping(map) => {
            for (key, value) in map.iter_mut() {
                let into = match &key.data {
                    YamlData::Value(Scalar::String(k)) => Slot::of(k),
                    _ => Slot::Plain,
                };
                walk(value, source, vars, file, into, diags);
            }
        }
        YamlData::Tagged(_, inner) => walk(inner, source, vars, file, into, diags),
        _ => {}
    }
}

/// The 1-based line and column of `needle` inside the node's span of `source`; the start of the
/// node when it is not there (an escape sequence in a double-quoted string).
fn locate(source: &str, from: Marker, to: Marker, needle: &str) -> (usize, usize) {
    let start = (from.line().max(1), from.col() + 1);
    let text: String = source
        .chars()
        .skip(from.index())
        .take(to.index().saturating_sub(from.index()))
        .collect();
    let Some(byte) = text.find(needle) else {
        return start;
    };
    let (mut line, mut column) = start;
    for c in text[..byte].chars() {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// A bad `--var`: a usage error (1).
impl From<VarError> for crate::outcome::Failure {
    fn from(e: VarError) -> crate::outcome::Failure {
        crate::outcome::Failure::usage(e.to_string()).caused_by(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse::parse_policy_with;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Vars::new(&pairs).unwrap()
    }

    const PR_POLICY: &str = r#"version: 1
owner: acme
packages: { type: container, names: ["api"] }
rules:
  - name: the pull request's tag goes
    delete: { tags: ["pr-${PR_NUMBER}"] }
"#;

    #[test]
    fn a_variable_in_a_tag_is_replaced() {
        let p = parse_policy_with("p.yml", PR_POLICY.as_bytes(), &vars(&[("PR_NUMBER", "42")]))
            .unwrap();
        let tags = p.rules[0].selector.tags.as_ref().unwrap();
        assert_eq!(tags.patterns, vec!["pr-42".to_string()]);
        assert!(tags.is_match("pr-42"));
        assert!(!tags.is_match("pr-420"));
    }

    #[test]
    fn an_unset_variable_is_an_error_naming_it_at_its_place() {
        let e = parse_policy_with("p.yml", PR_POLICY.as_bytes(), &Vars::default()).unwrap_err();
        assert_eq!(e.diagnostics.len(), 1, "{e}");
        let d = &e.diagnostics[0];
        // Line 6 `    delete: { tags: ["pr-${PR_NUMBER}"] }`: the `${` is at column 26.
        assert_eq!((d.line, d.column), (6, 26), "{e}");
        assert_eq!(d.message, "the variable `PR_NUMBER` is not set");
        assert!(
            d.hint.as_deref().unwrap().contains("--var PR_NUMBER=VALUE"),
            "{e}"
        );
    }

    #[test]
    fn variables_never_come_from_the_environment() {
        // PATH is set in every test process; the policy cannot read it.
        let policy = PR_POLICY.replace("PR_NUMBER", "PATH");
        let e = parse_policy_with("p.yml", policy.as_bytes(), &vars(&[("PR_NUMBER", "1")]))
            .unwrap_err();
        assert_eq!(e.diagnostics[0].message, "the variable `PATH` is not set");
    }

    #[test]
    fn a_value_cannot_inject_yaml_or_widen_a_glob() {
        // Text substitution of `"], keep: {…` would add a key; the tree keeps it in the string,
        // and such a value is refused before it gets there.
        assert!(parse_var("PR_NUMBER=42\"] }\n  - name: x").is_err());
        assert!(parse_var("PR_NUMBER=*").is_err());
        assert!(parse_var("PR_NUMBER={1,2}").is_err());
        assert!(parse_var("PR_NUMBER=").is_err());
        assert!(parse_var("1X=2").is_err());
        assert!(parse_var("PR_NUMBER").is_err());
        assert_eq!(
            parse_var("IMAGE=tools/cli-1.2_x").unwrap(),
            ("IMAGE".to_string(), "tools/cli-1.2_x".to_string())
        );
        // Even a value built by hand (bypassing parse_var) stays inside its string.
        let evil = vars(&[(
            "PR_NUMBER",
            "42\"]\n  - name: everything\n    delete: older_than: 0s",
        )]);
        let p = parse_policy_with("p.yml", PR_POLICY.as_bytes(), &evil).unwrap();
        assert_eq!(p.rules.len(), 1);
        assert!(p.rules[0].selector.tags.as_ref().unwrap().patterns[0].starts_with("pr-42\"]"));
    }

    #[test]
    fn keys_are_not_substituted_and_dollars_stay() {
        let policy = r#"version: 1
packages: { type: container, names: ["${IMAGE}"] }
rules:
  - name: "builds of $${BRANCH}"
    delete: { tag_regex: '^build-\d+$' }
"#;
        let p = parse_policy_with("p.yml", policy.as_bytes(), &vars(&[("IMAGE", "api")])).unwrap();
        assert_eq!(p.packages.names.patterns, vec!["api".to_string()]);
        assert_eq!(p.rules[0].name, "builds of ${BRANCH}");
        assert_eq!(
            p.rules[0].selector.tag_regex.as_ref().unwrap().as_str(),
            r"^build-\d+$"
        );
        let keyed = "version: 1\n${K}: 1\n";
        let e = parse_policy_with("p.yml", keyed.as_bytes(), &vars(&[("K", "owner")])).unwrap_err();
        assert!(e.to_string().contains("unknown key `${K}`"), "{e}");
    }

    #[test]
    fn a_malformed_reference_is_an_error() {
        let policy = PR_POLICY.replace("${PR_NUMBER}", "${PR NUMBER}");
        let e = parse_policy_with("p.yml", policy.as_bytes(), &vars(&[("PR_NUMBER", "1")]))
            .unwrap_err();
        assert!(
            e.diagnostics[0].message.contains("is not a variable"),
            "{e}"
        );
        assert_eq!((e.diagnostics[0].line, e.diagnostics[0].column), (6, 26));
    }

    #[test]
    fn a_long_reference_is_not_echoed_whole_and_a_repeated_one_is_reported_once() {
        let long = "A".repeat(100_000);
        let policy = PR_POLICY.replace("${PR_NUMBER}", &format!("${{{long}}}-${{X}}-${{X}}"));
        let e = parse_policy_with("p.yml", policy.as_bytes(), &Vars::default()).unwrap_err();
        let text = e.to_string();
        assert!(text.len() < 2_000, "{} bytes", text.len());
        assert!(text.contains("is not a variable"), "{text}");
        assert_eq!(
            e.diagnostics
                .iter()
                .filter(|d| d.message == "the variable `X` is not set")
                .count(),
            1,
            "{text}"
        );
    }

    #[test]
    fn a_name_given_twice_is_an_error() {
        let pairs = vec![
            ("A".to_string(), "1".to_string()),
            ("A".to_string(), "2".to_string()),
        ];
        assert_eq!(
            Vars::new(&pairs).unwrap_err().to_string(),
            "the variable A is given twice (1 and 2)\n  help: give each --var once"
        );
    }

    /// Issue 17.6: a value never widens what a selector selects, whatever the selector: the
    /// regex ones escape it, `semver` wants a literal version, the globs, names and durations
    /// take it as it is (its characters are no glob syntax).
    #[test]
    fn a_value_never_widens_any_selector() {
        let policy = |selector: &str| {
            format!("version: 1\npackages: {{ type: container, names: [\"app-${{N}}\"] }}\nrules:\n  - name: r\n    delete: {{ {selector} }}\n")
        };
        let parse = |selector: &str, n: &str| {
            parse_policy_with("p.yml", policy(selector).as_bytes(), &vars(&[("N", n)]))
        };
        let ok = |selector: &str, n: &str| {
            parse(selector, n).unwrap_or_else(|e| panic!("{selector} with N={n}: {e}"))
        };
        // tag_regex: `..` is two dots, not two characters.
        let p = ok(r"tag_regex: '^pr-${N}$'", "..");
        let r = p.rules[0].selector.tag_regex.as_ref().unwrap();
        assert!(r.is_match("pr-.."));
        assert!(!r.is_match("pr-42"), "{r}");
        let p = ok(r"tag_regex: '^pr-${N}$'", "1.2");
        let r = p.rules[0].selector.tag_regex.as_ref().unwrap();
        assert!(r.is_match("pr-1.2") && !r.is_match("pr-1x2"), "{r}");
        // A group_by regex, likewise.
        let p = ok(r"tag_regex: '^b-', newest: 1, group_by: '^b-(${N})-'", "..");
        let Some(crate::policy::GroupBy::Regex(g)) = &p.rules[0].selector.group_by else {
            panic!("a regex group_by");
        };
        assert!(g.is_match("b-..-1") && !g.is_match("b-ab-1"), "{g}");
        // semver: a literal version only.
        for good in ["1", "1.4", "1.4.2", "1.4.2-rc.1", "10.0.0-alpha-2"] {
            let p = ok(r#"semver: "^${N}""#, good);
            assert!(p.rules[0].selector.semver.is_some());
        }
        for bad in ["x", "X", "1.x", "1.2.3.4", "1..2", "1.2-rc", "v1", "1.2.3-"] {
            let e = parse(r#"semver: "${N}""#, bad).unwrap_err();
            assert!(e.to_string().contains("not a version"), "N={bad}: {e}");
        }
        let p = ok(r#"semver: ">=${N}, <2""#, "1.4");
        let req = p.rules[0].selector.semver.as_ref().unwrap();
        assert!(req.matches(&semver::Version::new(1, 5, 0)));
        assert!(!req.matches(&semver::Version::new(1, 3, 0)));
        // Globs (tags, versions, packages, names): the value is literal.
        let p = ok(r#"tags: ["pr-${N}"], packages: ["app-${N}"]"#, "..");
        let s = &p.rules[0].selector;
        assert!(s.tags.as_ref().unwrap().is_match("pr-.."));
        assert!(!s.tags.as_ref().unwrap().is_match("pr-42"));
        assert!(!s.packages.as_ref().unwrap().is_match("app-ab"));
        assert_eq!(
            p.packages.names.exact_names(),
            Some(&["app-..".to_string()][..])
        );
        let npm = "version: 1\npackages: { type: npm, names: [a] }\nrules:\n  - name: r\n    delete: { versions: [\"1.${N}\"] }\n";
        let p = parse_policy_with("p.yml", npm.as_bytes(), &vars(&[("N", "0")])).unwrap();
        let v = p.rules[0].selector.versions.as_ref().unwrap();
        assert!(v.is_match("1.0") && !v.is_match("1.00") && !v.is_match("1.1"));
        // Durations: a value that is no duration is an error, not a zero.
        assert!(parse("older_than: '${N}'", "x").is_err());
        assert_eq!(
            ok("older_than: '${N}d'", "2").rules[0].selector.older_than,
            Some(std::time::Duration::from_secs(2 * 86400))
        );
    }

    #[test]
    fn variable_errors_are_usage_errors_that_say_error() {
        let f = crate::outcome::Failure::from(parse_var("PR").unwrap_err());
        assert_eq!(
            (f.code().exit(), f.to_string()),
            (
                1,
                "error: `PR` is not NAME=VALUE\n  help: write e.g. --var PR_NUMBER=42".to_string()
            )
        );
    }
}
