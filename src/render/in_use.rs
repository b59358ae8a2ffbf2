//! The **In use** section of a report: the kept images that a reference found by the policy's
//! `in_use` sources names, with where (`deploy/prod/api.yaml:12`), so that a reader sees why
//! they stay. In text and Markdown; the JSON has `in_use` on each version.

use std::fmt::Write as _;

use super::markdown::{details_table, escape};
use super::text::{short_digest, tags_label};
use crate::evaluate::words::in_use_places;
use crate::plan::{Action, PackagePlan, Plan, VersionPlan};
use crate::plural::count as plural;

/// The kept versions of a package that are in use.
fn kept_in_use(p: &PackagePlan) -> Vec<&VersionPlan> {
    p.versions
        .iter()
        .filter(|v| v.action == Action::Keep && !v.in_use.is_empty())
        .collect()
}

/// Text: the kept images in use of this package, under `title` and the painted `name`.
pub(crate) fn text(out: &mut String, title: &str, name: &str, p: &PackagePlan) {
    let vs = kept_in_use(p);
    if vs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{title} {name} ({} kept)",
        plural(vs.len(), "version", "versions")
    );
    let labels: Vec<String> = vs.iter().map(|v| tags_label(v)).collect();
    let w = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for (v, label) in vs.iter().zip(&labels) {
        let line = format!(
            "  {label:<w$}  {}  {}  in use: {}",
            short_digest(&v.name),
            v.updated_at.format("%Y-%m-%d"),
            in_use_places(&v.in_use)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// Markdown: one collapsible section per package with kept versions in use.
pub(crate) fn markdown(out: &mut String, plan: &Plan) {
    for p in &plan.packages {
        let vs = kept_in_use(p);
        if vs.is_empty() {
            continue;
        }
        let summary = format!(
            "<b>{}</b>: {} in use, kept",
            escape(&p.name),
            plural(vs.len(), "version", "versions")
        );
        let header = ["Version", "Tags", "In use"];
        details_table(out, &summary, &header, &vs, |out, v| {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                short_digest(&v.name),
                escape(&tags_label(v)),
                escape(&in_use_places(&v.in_use))
            );
        });
    }
}
