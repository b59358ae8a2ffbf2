//! Renderings of a plan: `text` for a terminal, `markdown` for a pull request or job summary,
//! `json` (schema 1) for machines and `apply --plan`.

pub mod diff;
pub mod group;
mod in_use;
pub mod markdown;
mod sections;
pub mod summary;
pub mod text;

#[cfg(test)]
mod tests;

use std::io::IsTerminal;
use std::path::Path;

use crate::diff::DiffDocument;
use crate::plan::Plan;

/// The output format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

/// How to render, beyond the format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// ANSI colour (text only).
    pub color: bool,
    /// List the parts of each image (platform manifests, attestations…) as rows of their own,
    /// not only counted.
    pub verbose: bool,
}

/// Render a plan in the given format. `color` applies to text only.
pub fn render(plan: &Plan, format: Format, color: bool) -> String {
    render_with(
        plan,
        format,
        Options {
            color,
            ..Options::default()
        },
    )
}

/// Render a plan in the given format with the given options.
pub fn render_with(plan: &Plan, format: Format, options: Options) -> String {
    match format {
        Format::Json => json(plan),
        Format::Text => text::render(plan, options),
        Format::Markdown => markdown::render_with(plan, options),
    }
}

/// Render a policy diff (`plan --base`): JSON is the new plan with its `diff` object.
pub fn render_diff(doc: &DiffDocument, format: Format, options: Options) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(doc)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
            s.push('\n');
            s
        }
        Format::Text => diff::text(doc, options),
        Format::Markdown => diff::markdown(doc, options),
    }
}

/// A rendered report that opens with a refusal (a plan over `max_deletions` or `max_untags`):
/// `refusal` is a first line and `  help: …` lines. Text gets it as written, then a blank line;
/// Markdown a `[!CAUTION]` alert with the ways out as a list. JSON stays the plan as it is
/// (schema 1, which records `max_deletions`, so `apply --plan` refuses it too): the refusal is
/// on standard error and in the exit code.
pub fn with_refusal(report: String, format: Format, refusal: Option<&str>) -> String {
    let Some(refusal) = refusal else {
        return report;
    };
    let mut lines = refusal.lines();
    let first = lines.next().unwrap_or_default();
    let helps: Vec<&str> = lines
        .map(|l| l.trim_start().trim_start_matches("help:").trim_start())
        .collect();
    match format {
        Format::Json => report,
        Format::Text => {
            let lines: Vec<_> = refusal.lines().map(printable).collect();
            format!("{}\n\n{report}", lines.join("\n"))
        }
        Format::Markdown => {
            let mut md = format!(
                "> [!CAUTION]\n> **{}**\n",
                markdown::escape_prose(&capitalised(first))
            );
            for h in helps {
                md.push_str(&format!("> - {}\n", markdown::escape_prose(h)));
            }
            md.push('\n');
            md.push_str(&report);
            md
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The plan as JSON (schema 1), pretty-printed, with a final newline.
pub fn json(plan: &Plan) -> String {
    let mut s =
        serde_json::to_string_pretty(plan).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// `s` with control characters written as escapes (`\u{1b}`, `\t`), so that a tag or name
/// (written by whoever can push) cannot move the cursor, clear the screen or forge lines.
pub(crate) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect(),
    )
}

/// The plan with every text that comes from GitHub or the policy made [`printable`] (borrowed
/// unchanged when there is nothing to escape, the usual case).
pub(crate) fn printable_plan(plan: &Plan) -> std::borrow::Cow<'_, Plan> {
    let has = |s: &String| s.chars().any(char::is_control);
    let any = has(&plan.owner)
        || plan.packages.iter().any(|p| {
            has(&p.name)
                || p.warnings.iter().any(has)
                || p.broken
                    .iter()
                    .any(|b| has(&b.name) || b.tags.iter().any(has) || b.missing.iter().any(has))
                || p.versions.iter().any(|v| {
                    has(&v.name)
                        || v.tags.iter().any(has)
                        || v.reasons.iter().any(has)
                        || v.untag.iter().any(has)
                })
        });
    if !any {
        return std::borrow::Cow::Borrowed(plan);
    }
    let fix = |s: &mut String| *s = printable(s).into_owned();
    let mut plan = plan.clone();
    fix(&mut plan.owner);
    for p in &mut plan.packages {
        fix(&mut p.name);
        p.warnings.iter_mut().for_each(fix);
        for b in &mut p.broken {
            fix(&mut b.name);
            b.tags.iter_mut().for_each(fix);
            b.missing.iter_mut().for_each(fix);
        }
        for v in &mut p.versions {
            fix(&mut v.name);
            v.tags.iter_mut().for_each(fix);
            v.reasons.iter_mut().for_each(fix);
            v.untag.iter_mut().for_each(fix);
        }
    }
    std::borrow::Cow::Owned(plan)
}

/// Colour when writing to a terminal and NO_COLOR is not set.
pub fn color_for(output: Option<&Path>) -> bool {
    output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os(crate::env::NO_COLOR).is_none_or(|v| v.is_empty())
}
