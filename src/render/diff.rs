//! Renderings of a policy diff (`plan --base`): what the change does, for its reviewer.
//!
//! Both open with the line a reviewer can act on ([`crate::diff::headline`]), then a table of
//! the changes per package (with the estimated space freed under each policy), then the changed
//! versions per package: newly deleted, no longer deleted, newly untagged, no longer untagged
//! (the tags the new policy keeps), one row per image with
//! its parts counted (listed with `--verbose`), with the reasons under the new policy ("now")
//! and the base policy ("before"). Unchanged versions are counted, not listed.

use std::fmt::Write as _;

use super::group::{parts_label, rows};
use super::markdown::{escape, escape_prose, upper_first, MAX_ROWS};
use super::text::{freed_label, short_digest, tag_list, tags_label_of, COUNTS_NOTE, ESTIMATE_NOTE};
use super::Options;
use crate::diff::{headline, Change, DiffDocument, Fate, PackageDiff, PlanDiff};
use crate::plural;

/// The four lists of changes of a package, with their titles and the verb of their `untag`.
fn sections(p: &PackageDiff) -> [(&'static str, &[Change], &'static str); 4] {
    [
        ("Newly deleted", &p.newly_deleted, "removes"),
        ("No longer deleted", &p.no_longer_deleted, "removes"),
        ("Newly untagged", &p.newly_untagged, "removes"),
        ("No longer untagged", &p.no_longer_untagged, "keeps"),
    ]
}

/// The tags a list of changes removes (or keeps), counted.
fn tag_count(changes: &[Change]) -> usize {
    changes.iter().map(|c| c.untag.len()).sum()
}

/// (version, parts label, is a part row) for a list of changes.
fn change_rows(changes: &[Change], verbose: bool) -> Vec<(&Change, String, bool)> {
    let refs: Vec<&Change> = changes.iter().collect();
    let mut out = Vec::new();
    for r in rows(&refs, |c| c.id, |c| c.part_of) {
        let label = parts_label(r.parts.iter().filter_map(|c| c.part_of).map(|p| p.kind));
        out.push((r.head, label, false));
        if verbose {
            out.extend(r.parts.iter().map(|c| (*c, String::new(), true)));
        }
    }
    out
}

fn tags_label(c: &Change) -> String {
    tags_label_of(&c.name, &c.tags)
}

fn sha(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}

fn freed_pair(base: Option<u64>, new: Option<u64>) -> String {
    format!("{} → {}", freed_label(base), freed_label(new))
}

/// The note of a base policy over its own limits.
fn base_refused(why: &str) -> String {
    format!("the current policy is over its own limits, so its runs change nothing today ({why}); this report compares with what it decides without them")
}

/// The diff for a terminal.
pub fn text(doc: &DiffDocument, options: Options) -> String {
    let (plan, diff) = (&doc.plan, &doc.diff);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Policy change for {} · {} · policy {} against base {}\n",
        plan.owner,
        plan.generated_at.format("%Y-%m-%d %H:%M UTC"),
        sha(&plan.policy_sha256),
        sha(&diff.base_policy_sha256),
    );
    let _ = writeln!(out, "{}\n", headline(diff));
    if let Some(why) = &diff.base_refused {
        let _ = writeln!(out, "note: {}\n", base_refused(why));
    }

    text_table(&mut out, diff);
    text_changes(&mut out, diff, options.verbose);
    if diff.summary.bytes_freed.is_some() || diff.summary.base_bytes_freed.is_some() {
        let _ = writeln!(
            out,
            "\nspace freed: {} ({ESTIMATE_NOTE})",
            freed_pair(diff.summary.base_bytes_freed, diff.summary.bytes_freed)
        );
    }
    out
}

/// The diff's table: per package, what changes, and the space freed before and after.
fn text_table(out: &mut String, diff: &PlanDiff) {
    let header = [
        "package",
        "newly deleted",
        "no longer deleted",
        "newly untagged",
        "no longer untagged",
        "unchanged",
        "space freed (base → new)",
    ];
    let table: Vec<[String; 7]> = diff
        .packages
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                p.newly_deleted.len().to_string(),
                p.no_longer_deleted.len().to_string(),
                tag_count(&p.newly_untagged).to_string(),
                tag_count(&p.no_longer_untagged).to_string(),
                p.unchanged.to_string(),
                freed_pair(p.base_bytes_freed, p.bytes_freed),
            ]
        })
        .collect();
    let width = |i: usize| {
        table
            .iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..7).map(width).collect();
    let line = |cells: [&str; 7]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let fill = " ".repeat(widths[i].saturating_sub(cell.chars().count()));
            if i == 0 || i == 6 {
                let _ = write!(s, "  {cell}{fill}");
            } else {
                let _ = write!(s, "  {fill}{cell}");
            }
        }
        s.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(header));
    for r in &table {
        let _ = writeln!(
            out,
            "{}",
            line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6]])
        );
    }
    if diff.packages.is_empty() {
        let _ = writeln!(out, "  (neither policy selects a package)");
    } else {
        let _ = writeln!(out, "  ({COUNTS_NOTE})");
    }
}

/// Per package, each kind of change with its versions: what decides them now and before.
fn text_changes(out: &mut String, diff: &PlanDiff, verbose: bool) {
    for p in diff.packages.iter().filter(|p| p.changes()) {
        for (title, changes, verb) in sections(p) {
            if changes.is_empty() {
                continue;
            }
            let lines = change_rows(changes, verbose);
            let _ = writeln!(out, "\n{title} in {} ({})", p.name, changes.len());
            let labels: Vec<String> = lines
                .iter()
                .map(|(c, _, part)| {
                    let l = tags_label(c);
                    if *part {
                        format!("  └ {l}")
                    } else {
                        l
                    }
                })
                .collect();
            let tag_w = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            for ((c, parts, _), label) in lines.iter().zip(&labels) {
                let fill = " ".repeat(tag_w - label.chars().count());
                let mut why = format!(
                    "now: {} · before: {}",
                    Fate::why(c.new.as_ref()),
                    Fate::why(c.base.as_ref())
                );
                if !c.untag.is_empty() {
                    why = format!("{verb} {} · {why}", tag_list(&c.untag));
                }
                if !parts.is_empty() {
                    why = format!("{why}  {parts}");
                }
                let _ = writeln!(
                    out,
                    "  {label}{fill}  {}  {}  {why}",
                    short_digest(&c.name),
                    c.updated_at.format("%Y-%m-%d"),
                );
            }
        }
    }
}

/// The diff as GitHub-flavoured Markdown (a pull-request comment, a job summary).
pub fn markdown(doc: &DiffDocument, options: Options) -> String {
    let (plan, diff) = (&doc.plan, &doc.diff);
    let mut out = String::new();
    let _ = writeln!(out, "## Policy change for {}\n", escape(&plan.owner));
    let _ = writeln!(
        out,
        "**{}** · generated {} · policy `{}` against base `{}`\n",
        escape(&headline(diff)),
        plan.generated_at.format("%Y-%m-%d %H:%M UTC"),
        escape(sha(&plan.policy_sha256)),
        escape(sha(&diff.base_policy_sha256)),
    );
    if let Some(why) = &diff.base_refused {
        let _ = writeln!(
            out,
            "> [!NOTE]\n> {}\n",
            escape_prose(&upper_first(&base_refused(why)))
        );
    }
    if diff.packages.is_empty() {
        out.push_str("Neither policy selects a package.\n");
        return out;
    }
    out.push_str("| Package | Newly deleted | No longer deleted | Newly untagged | No longer untagged | Unchanged | Space freed (base → new) |\n");
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for p in &diff.packages {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            escape(&p.name),
            p.newly_deleted.len(),
            p.no_longer_deleted.len(),
            tag_count(&p.newly_untagged),
            tag_count(&p.no_longer_untagged),
            p.unchanged,
            freed_pair(p.base_bytes_freed, p.bytes_freed),
        );
    }
    let _ = writeln!(
        out,
        "\n_{}. Space freed is {ESTIMATE_NOTE}._",
        upper_first(COUNTS_NOTE)
    );

    let mut budget = MAX_ROWS;
    let mut hidden = 0usize;
    for p in diff.packages.iter().filter(|p| p.changes()) {
        for (title, changes, verb) in sections(p) {
            if changes.is_empty() {
                continue;
            }
            let lines = change_rows(changes, options.verbose);
            let _ = writeln!(
                out,
                "\n<details open><summary><b>{}</b>: {} {}</summary>\n",
                escape(&p.name),
                plural::count(changes.len(), "version", "versions"),
                title.to_lowercase(),
            );
            let shown = lines.len().min(budget);
            if shown > 0 {
                out.push_str("| Version | Tags | Updated | Now | Before | Parts |\n");
                out.push_str("| --- | --- | --- | --- | --- | --- |\n");
            }
            for (c, parts, part) in &lines[..shown] {
                let tags = if c.tags.is_empty() {
                    "_untagged_".to_string()
                } else {
                    escape(&tag_list(&c.tags))
                };
                let now = match &c.untag[..] {
                    [] => escape(&Fate::why(c.new.as_ref())),
                    untag => format!(
                        "{verb} {}<br>{}",
                        escape(&tag_list(untag)),
                        escape(&Fate::why(c.new.as_ref()))
                    ),
                };
                let _ = writeln!(
                    out,
                    "| {}`{}` | {} | {} | {} | {} | {} |",
                    if *part { "↳ " } else { "" },
                    short_digest(&c.name),
                    tags,
                    c.updated_at.format("%Y-%m-%d"),
                    now,
                    escape(&Fate::why(c.base.as_ref())),
                    escape(parts),
                );
            }
            if shown < lines.len() {
                hidden += lines.len() - shown;
                let _ = writeln!(out, "\n… and {} more rows", lines.len() - shown);
            }
            budget -= shown;
            out.push_str("\n</details>\n");
        }
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "\n… {hidden} more rows not shown (see the JSON plan's `diff`)."
        );
    }
    out
}
