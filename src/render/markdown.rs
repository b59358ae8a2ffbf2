//! The `markdown` rendering: a plan as it should read on a pull request or in a job summary.
//!
//! A title, one summary table with a row per package (versions, and the estimated space freed),
//! a small chart of the space freed (or the deletions) per package where there are several
//! packages to compare ([`chart`]), the warnings as a GitHub `[!WARNING]` alert, then the
//! deletions with their reasons in a collapsible `<details>` section per package, one row per
//! image with its parts counted (listed too in the verbose report).
//! At most [`MAX_ROWS`] deletion rows are shown in total (GitHub truncates long comments and job
//! summaries); the rest is counted and pointed at the JSON plan. Everything that comes from the
//! inventory or the policy is escaped, so a tag cannot break a table or inject HTML.

use std::fmt::Write as _;

use super::group::{parts_label, rows};
use super::text::{
    freed_label, is_digest, short_digest, tag_list, total_line, COUNTS_NOTE, ESTIMATE_NOTE,
};
use super::Options;
use crate::plan::{Plan, VersionPlan};
use crate::plural;

/// Deletion rows shown in total across all packages.
pub const MAX_ROWS: usize = 300;

/// Escape text for a table cell or inline HTML: `|`, `<`, `>`, `&`, backticks and newlines.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push_str("&#96;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Escape prose that quotes code between backticks (a warning's `help:`): each balanced pair of
/// backticks stays a code span, whose text GitHub shows literally (no HTML, no entities), and the
/// rest is [`escape`]d. Unbalanced or empty backticks are escaped like any other character.
pub fn escape_prose(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let balanced = parts.len() % 2 == 1;
    let spans_ok = parts
        .iter()
        .skip(1)
        .step_by(2)
        .all(|code| !code.trim().is_empty());
    if !balanced || !spans_ok {
        return escape(s);
    }
    let mut out = String::with_capacity(s.len());
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 0 {
            out.push_str(&escape(part));
        } else {
            out.push('`');
            out.push_str(&part.replace(['\n', '\r'], " "));
            out.push('`');
        }
    }
    out
}

fn version_cell(v: &VersionPlan) -> String {
    if is_digest(v) {
        format!("`{}`", short_digest(&v.name))
    } else {
        escape(&v.name)
    }
}

/// Bars of the chart at most: the largest packages, then one "others" bar for the rest.
pub const CHART_SLICES: usize = 4;

/// A small chart, only where it says more than the table above it: a `mermaid` horizontal bar
/// chart of the space freed per package (or, when sizes are unknown, of the versions deleted per
/// package), 200 pixels high, when at least three packages free something and their shares
/// differ (the largest at least twice the smallest: near-equal bars say nothing the table does
/// not). The [`CHART_SLICES`] largest packages, largest first, then "others". GitHub renders
/// `mermaid` blocks in comments and job summaries; the table carries the same figures for any
/// other reader.
pub fn chart(plan: &Plan) -> Option<String> {
    let label = |name: &str| name.replace(['"', '\n', '\r', '#', ';', '[', ']', ','], "'");
    let by_size: Vec<(&str, u64)> = plan
        .packages
        .iter()
        .filter_map(|p| Some((p.name.as_str(), p.bytes_freed.filter(|&b| b > 0)?)))
        .collect();
    let sizes_known = plan
        .packages
        .iter()
        .all(|p| p.bytes_freed.is_some() || p.deletions().next().is_none());
    let (by_bytes, mut slices): (bool, Vec<(&str, u64)>) = if sizes_known && by_size.len() >= 2 {
        (true, by_size)
    } else {
        let by_count: Vec<(&str, u64)> = plan
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.deletions().count() as u64))
            .filter(|&(_, n)| n > 0)
            .collect();
        (false, by_count)
    };
    if slices.len() < 3 {
        return None;
    }
    // Largest first; equal values in name order, so the same plan gives the same chart.
    slices.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let (largest, smallest) = (slices[0].1, slices[slices.len() - 1].1);
    if largest < smallest.saturating_mul(2) {
        return None;
    }
    let others: u64 = slices.iter().skip(CHART_SLICES).map(|s| s.1).sum();
    let rest = slices.len().saturating_sub(CHART_SLICES);
    slices.truncate(CHART_SLICES);
    let mut names: Vec<String> = slices
        .iter()
        .map(|(n, _)| format!("\"{}\"", label(n)))
        .collect();
    let mut values: Vec<u64> = slices.iter().map(|s| s.1).collect();
    if rest > 0 {
        names.push(format!(
            "\"{}\"",
            crate::plural::count(rest, "other package", "other packages")
        ));
        values.push(others);
    }
    // Bytes in the unit of the largest value (MiB, GiB…), one decimal.
    let (title, unit, scale) = if by_bytes {
        let unit = crate::space::human(largest);
        let unit = unit.rsplit(' ').next().unwrap_or("B").to_string();
        let scale = match unit.as_str() {
            "KiB" => 1024f64,
            "MiB" => 1024f64.powi(2),
            "GiB" => 1024f64.powi(3),
            "TiB" => 1024f64.powi(4),
            "PiB" => 1024f64.powi(5),
            _ => 1.0,
        };
        ("Space freed per package", unit, scale)
    } else {
        ("Versions deleted per package", "versions".to_string(), 1.0)
    };
    let shown: Vec<String> = values
        .iter()
        .map(|&v| {
            if scale == 1.0 {
                v.to_string()
            } else {
                format!("{:.1}", v as f64 / scale)
            }
        })
        .collect();
    let mut out = String::from("```mermaid\n");
    out.push_str("%%{init: {\"xyChart\": {\"width\": 640, \"height\": 200}, \"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"#0969da\"}}}}%%\n");
    out.push_str("xychart-beta horizontal\n");
    if by_bytes {
        let _ = writeln!(out, "    title \"{title} ({unit})\"");
    } else {
        let _ = writeln!(out, "    title \"{title}\"");
    }
    let _ = writeln!(out, "    x-axis [{}]", names.join(", "));
    // From 0, so that a bar's length is its value (the default range starts at the smallest).
    let top = (largest as f64 / scale).ceil() as u64;
    let _ = writeln!(out, "    y-axis \"{unit}\" 0 --> {}", top.max(1));
    let _ = writeln!(out, "    bar [{}]", shown.join(", "));
    out.push_str("```\n");
    Some(out)
}

/// Render the plan as GitHub-flavoured Markdown.
pub fn render(plan: &Plan) -> String {
    render_with(plan, Options::default())
}

/// Render the plan as GitHub-flavoured Markdown, with the parts of each image listed when
/// `options.verbose`.
pub fn render_with(plan: &Plan, options: Options) -> String {
    // Tags and names are written by whoever can push: their control characters are escaped.
    let plan = &*super::printable_plan(plan);
    let mut out = String::new();
    heading(&mut out, plan);
    summary_table(&mut out, plan);
    warnings(&mut out, plan);
    deletions(&mut out, plan, options.verbose);
    withheld(&mut out, plan);
    super::sections::untag_markdown(&mut out, plan);
    super::sections::broken_markdown(&mut out, plan);
    super::in_use::markdown(&mut out, plan);
    out
}

/// The title and the line under it: what is deleted, when, by which policy.
fn heading(out: &mut String, plan: &Plan) {
    let sha = plan.policy_sha256.get(..12).unwrap_or(&plan.policy_sha256);
    let _ = writeln!(out, "## Retention plan for {}\n", escape(&plan.owner));
    let freed = match plan.summary.bytes_freed {
        Some(b) if plan.summary.delete > 0 => format!(", {} freed", freed_label(Some(b))),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "**{}{freed}** · generated {} · policy `{}`\n",
        escape(&total_line(plan)),
        plan.generated_at.format("%Y-%m-%d %H:%M UTC"),
        escape(sha),
    );
}

/// The table of packages with their counts (and the space freed where sizes are known), and
/// the chart.
fn summary_table(out: &mut String, plan: &Plan) {
    if plan.packages.is_empty() {
        out.push_str("The policy selects no package.\n");
    } else {
        // The space freed column only where sizes are known (container packages).
        let sizes = plan.summary.bytes_freed.is_some();
        let freed = |b: Option<u64>, bold: bool| match (sizes, bold) {
            (false, _) => String::new(),
            (true, false) => format!(" {} |", freed_label(b)),
            (true, true) => format!(" **{}** |", freed_label(b)),
        };
        out.push_str("| Package | Versions | Delete | Keep |");
        out.push_str(if sizes { " Space freed |\n" } else { "\n" });
        out.push_str("| --- | ---: | ---: | ---: |");
        out.push_str(if sizes { " ---: |\n" } else { "\n" });
        for p in &plan.packages {
            let delete = p.deletions().count();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |{}",
                escape(&p.name),
                p.versions.len(),
                delete,
                p.versions.len() - delete,
                freed(p.bytes_freed, false),
            );
        }
        if plan.packages.len() > 1 {
            let _ = writeln!(
                out,
                "| **Total** | **{}** | **{}** | **{}** |{}",
                plan.summary.versions,
                plan.summary.delete,
                plan.summary.keep,
                freed(plan.summary.bytes_freed, true),
            );
        }
        let _ = writeln!(
            out,
            "\n_{}{}._",
            upper_first(COUNTS_NOTE),
            if sizes && plan.summary.delete > 0 {
                format!("; space freed is {ESTIMATE_NOTE}")
            } else {
                String::new()
            }
        );
        if let Some(chart) = chart(plan) {
            out.push('\n');
            out.push_str(&chart);
        }
    }
}

/// The plan's warnings, in one GitHub alert.
fn warnings(out: &mut String, plan: &Plan) {
    let warnings: Vec<String> = plan
        .packages
        .iter()
        .flat_map(|p| {
            p.warnings
                .iter()
                .map(move |w| format!("**{}**: {}", escape(&p.name), escape_prose(w)))
        })
        .collect();
    if !warnings.is_empty() {
        out.push_str("\n> [!WARNING]\n");
        for w in &warnings {
            let _ = writeln!(out, "> - {w}");
        }
    }
}

/// The deletions, per package, in collapsible sections, at most [`MAX_ROWS`] rows in all.
fn deletions(out: &mut String, plan: &Plan, verbose: bool) {
    let mut budget = MAX_ROWS;
    let mut hidden = 0usize;
    let mut total = 0usize;
    for p in &plan.packages {
        let deleted: Vec<&VersionPlan> = p.deletions().collect();
        if deleted.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n<details><summary><b>{}</b>: {} to delete</summary>\n",
            escape(&p.name),
            plural::count(deleted.len(), "version", "versions")
        );
        let lines = image_rows(&deleted, verbose);
        total += lines.len();
        let shown = lines.len().min(budget);
        // The parts column only where an image has parts.
        let with_parts = lines
            .iter()
            .any(|(_, parts, part)| *part || !parts.is_empty());
        if shown > 0 {
            out.push_str("| Version | Tags | Updated | Reasons |");
            out.push_str(if with_parts { " Parts |\n" } else { "\n" });
            out.push_str("| --- | --- | --- | --- |");
            out.push_str(if with_parts { " --- |\n" } else { "\n" });
            for (v, parts, part) in &lines[..shown] {
                row(out, v, with_parts.then_some(parts.as_str()), *part);
            }
        }
        if shown < lines.len() {
            let rest = lines.len() - shown;
            hidden += rest;
            let _ = writeln!(out, "\n… and {rest} more rows in {}", escape(&p.name));
        }
        budget -= shown;
        out.push_str("\n</details>\n");
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "\nShowing {} of {} rows. … and {hidden} more (see the JSON plan).",
            total - hidden,
            total
        );
    }
}

/// What a delete rule selected but a safety guard or the image graph withheld.
fn withheld(out: &mut String, plan: &Plan) {
    let withheld: Vec<(&str, &VersionPlan)> = plan
        .packages
        .iter()
        .flat_map(|p| {
            p.versions
                .iter()
                .filter(|v| v.withheld)
                .map(move |v| (p.name.as_str(), v))
        })
        .collect();
    if withheld.is_empty() {
        return;
    }
    let summary = format!(
        "{} selected for deletion but withheld by a safety guard or the image graph",
        plural::count(withheld.len(), "version", "versions")
    );
    let header = ["Package", "Version", "Tags", "Updated", "Reasons"];
    details_table(out, &summary, &header, &withheld, |out, (name, v)| {
        let _ = write!(out, "| {} ", escape(name));
        row(out, v, None, false);
    });
}

/// A collapsible section holding a table, as the report's sections per package are: `summary`
/// (escaped already) opens it, `header` names the columns, `row` writes one whole line for an
/// item. At most [`MAX_ROWS`] items are shown; how many more the JSON plan has is said after.
pub(crate) fn details_table<T>(
    out: &mut String,
    summary: &str,
    header: &[&str],
    items: &[T],
    mut row: impl FnMut(&mut String, &T),
) {
    let _ = writeln!(out, "\n<details><summary>{summary}</summary>\n");
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
    for item in items.iter().take(MAX_ROWS) {
        row(out, item);
    }
    if items.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "\n… and {} more (see the JSON plan)",
            items.len() - MAX_ROWS
        );
    }
    out.push_str("\n</details>\n");
}

/// "Counts are…" from "counts are…".
pub(crate) fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The rows of a list of versions: one per image with its parts counted, and with `verbose` a
/// row for each part after its image. (version, parts label, is a part row)
pub(crate) fn image_rows<'a>(
    versions: &[&'a VersionPlan],
    verbose: bool,
) -> Vec<(&'a VersionPlan, String, bool)> {
    let mut out = Vec::new();
    for r in rows(versions, |v| v.id, |v| v.part_of) {
        let label = parts_label(r.parts.iter().filter_map(|v| v.part_of).map(|p| p.kind));
        out.push((r.head, label, false));
        if verbose {
            out.extend(r.parts.iter().map(|p| (*p, String::new(), true)));
        }
    }
    out
}

/// One table row: version, tags, date, reasons, and the parts counted when the table has that
/// column. A part row (verbose) starts with `↳`.
pub(crate) fn row(out: &mut String, v: &VersionPlan, parts: Option<&str>, part: bool) {
    let reasons: Vec<String> = v.reasons.iter().map(|r| escape(r)).collect();
    let tags = if !v.tags.is_empty() {
        escape(&tag_list(&v.tags))
    } else if is_digest(v) {
        "_untagged_".to_string()
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "| {}{} | {} | {} | {} |{}",
        if part { "↳ " } else { "" },
        version_cell(v),
        tags,
        v.updated_at.format("%Y-%m-%d"),
        reasons.join("<br>"),
        parts
            .map(|p| format!(" {} |", escape(p)))
            .unwrap_or_default(),
    );
}
