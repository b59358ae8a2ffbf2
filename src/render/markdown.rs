//! The `markdown` rendering: a plan as it should read on a pull request or in a job summary.
//!
//! A title, one summary table with a row per package, the warnings as a GitHub `[!WARNING]`
//! alert, then the deletions with their reasons in a collapsible `<details>` section per package.
//! At most [`MAX_ROWS`] deletion rows are shown in total (GitHub truncates long comments and job
//! summaries); the rest is counted and pointed at the JSON plan. Everything that comes from the
//! inventory or the policy is escaped, so a tag cannot break a table or inject HTML.

use std::fmt::Write as _;

use super::text::{is_digest, short_digest, total_line};
use crate::plan::{Plan, VersionPlan};

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

fn version_cell(v: &VersionPlan) -> String {
    if is_digest(v) {
        format!("`{}`", short_digest(&v.name))
    } else {
        escape(&v.name)
    }
}

/// Render the plan as GitHub-flavoured Markdown.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let sha = plan.policy_sha256.get(..12).unwrap_or(&plan.policy_sha256);
    let _ = writeln!(out, "## Retention plan for {}\n", escape(&plan.owner));
    let _ = writeln!(
        out,
        "**{}** · generated {} · policy `{}`\n",
        escape(&total_line(plan)),
        plan.generated_at.format("%Y-%m-%d %H:%M UTC"),
        escape(sha),
    );

    // Summary table.
    if plan.packages.is_empty() {
        out.push_str("The policy selects no package.\n");
    } else {
        out.push_str("| Package | Versions | Delete | Keep |\n");
        out.push_str("| --- | ---: | ---: | ---: |\n");
        for p in &plan.packages {
            let delete = p.deletions().count();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                escape(&p.name),
                p.versions.len(),
                delete,
                p.versions.len() - delete
            );
        }
        if plan.packages.len() > 1 {
            let _ = writeln!(
                out,
                "| **Total** | **{}** | **{}** | **{}** |",
                plan.summary.versions, plan.summary.delete, plan.summary.keep
            );
        }
    }

    // Warnings.
    let warnings: Vec<String> = plan
        .packages
        .iter()
        .flat_map(|p| {
            p.warnings
                .iter()
                .map(move |w| format!("**{}**: {}", escape(&p.name), escape(w)))
        })
        .collect();
    if !warnings.is_empty() {
        out.push_str("\n> [!WARNING]\n");
        for w in &warnings {
            let _ = writeln!(out, "> - {w}");
        }
    }

    // Deletions, per package, in collapsible sections.
    let mut budget = MAX_ROWS;
    let mut hidden = 0usize;
    let mut total = 0usize;
    for p in &plan.packages {
        let deleted: Vec<&VersionPlan> = p.deletions().collect();
        if deleted.is_empty() {
            continue;
        }
        let noun = if deleted.len() == 1 {
            "version"
        } else {
            "versions"
        };
        let _ = writeln!(
            out,
            "\n<details><summary><b>{}</b>: {} {noun} to delete</summary>\n",
            escape(&p.name),
            deleted.len()
        );
        total += deleted.len();
        let shown = deleted.len().min(budget);
        if shown > 0 {
            out.push_str("| Version | Tags | Updated | Reasons |\n");
            out.push_str("| --- | --- | --- | --- |\n");
            for v in &deleted[..shown] {
                row(&mut out, v);
            }
        }
        if shown < deleted.len() {
            let rest = deleted.len() - shown;
            hidden += rest;
            let _ = writeln!(out, "\n… and {rest} more in {}", escape(&p.name));
        }
        budget -= shown;
        out.push_str("\n</details>\n");
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "\nShowing {} of {} deletions. … and {hidden} more (see the JSON plan).",
            total - hidden,
            total
        );
    }

    // What a delete rule selected but a safety guard or the image graph withheld.
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
    if !withheld.is_empty() {
        let noun = if withheld.len() == 1 {
            "version"
        } else {
            "versions"
        };
        let _ = writeln!(
            out,
            "\n<details><summary>{} {noun} selected for deletion but withheld by a safety guard or the image graph</summary>\n",
            withheld.len()
        );
        out.push_str("| Package | Version | Tags | Updated | Reasons |\n");
        out.push_str("| --- | --- | --- | --- | --- |\n");
        for (name, v) in withheld.iter().take(MAX_ROWS) {
            let _ = write!(out, "| {} ", escape(name));
            row(&mut out, v);
        }
        if withheld.len() > MAX_ROWS {
            let _ = writeln!(
                out,
                "\n… and {} more (see the JSON plan)",
                withheld.len() - MAX_ROWS
            );
        }
        out.push_str("\n</details>\n");
    }
    super::sections::untag_markdown(&mut out, plan);
    super::sections::broken_markdown(&mut out, plan);
    out
}

/// One table row: version, tags, date, reasons.
fn row(out: &mut String, v: &VersionPlan) {
    let reasons: Vec<String> = v.reasons.iter().map(|r| escape(r)).collect();
    let tags = if !v.tags.is_empty() {
        escape(&v.tags.join(", "))
    } else if is_digest(v) {
        "_untagged_".to_string()
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} |",
        version_cell(v),
        tags,
        v.updated_at.format("%Y-%m-%d"),
        reasons.join("<br>"),
    );
}
