//! Two report sections beside the deletions: **Untag**, the tags removed from images that stay
//! (the image is still pulled by its other tags and its digest), and **Broken**, the images of a
//! package that cannot be pulled whole as they stand (ghost and partial indexes, orphaned
//! artifacts), whatever the plan does with them. Each in text and Markdown, kept apart from the
//! per-format modules so that a section reads whole in one place.

use std::fmt::Write as _;

use super::markdown::{details_table, escape};
use super::text::{short_digest, tag_list, tags_label};
use crate::plan::{Action, BrokenImage, BrokenKind, PackagePlan, Plan, VersionPlan};

use crate::plural::count as plural;

/// The versions of a package that lose tags.
fn untagged(p: &PackagePlan) -> Vec<&VersionPlan> {
    p.versions.iter().filter(|v| !v.untag.is_empty()).collect()
}

/// "2 tags from 1 image that stays".
fn untag_count(vs: &[&VersionPlan]) -> String {
    let tags: usize = vs.iter().map(|v| v.untag.len()).sum();
    format!(
        "{} from {} that {}",
        plural(tags, "tag", "tags"),
        plural(vs.len(), "image", "images"),
        crate::plural::word(vs.len(), "stays", "stay")
    )
}

/// Tags for a Markdown cell ([`tag_list`]).
fn tags_cell(tags: &[String]) -> String {
    escape(&tag_list(tags))
}

/// What a broken image lacks, in words.
fn lacks(b: &BrokenImage) -> String {
    let missing: Vec<String> = b.missing.iter().map(|d| short_digest(d)).collect();
    match b.kind {
        BrokenKind::Ghost => format!(
            "ghost: none of its {} is in the package",
            plural(b.missing.len(), "platform manifest", "platform manifests")
        ),
        BrokenKind::Partial => format!(
            "partial: {} missing ({})",
            plural(b.missing.len(), "platform manifest", "platform manifests"),
            missing.join(", ")
        ),
        BrokenKind::Orphaned => format!(
            "orphaned: its subject {} is not in the package",
            missing.join(", ")
        ),
    }
}

/// What the plan does with a broken image.
fn fate(p: &PackagePlan, b: &BrokenImage) -> &'static str {
    match p.versions.iter().find(|v| v.id == b.id).map(|v| v.action) {
        Some(Action::Delete) => "deleted",
        _ => "kept",
    }
}

fn broken_label(b: &BrokenImage) -> String {
    if b.tags.is_empty() {
        "untagged".to_string()
    } else {
        tag_list(&b.tags)
    }
}

/// Text: the tags removed from this package's images, under `title` and the painted `name`.
pub(crate) fn untag_text(out: &mut String, title: &str, name: &str, p: &PackagePlan) {
    let vs = untagged(p);
    if vs.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title} {name} (remove {})", untag_count(&vs));
    let labels: Vec<String> = vs.iter().map(|v| tags_label(v)).collect();
    let w = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for (v, label) in vs.iter().zip(&labels) {
        let line = format!(
            "  {label:<w$}  {}  {}  {}",
            short_digest(&v.name),
            v.updated_at.format("%Y-%m-%d"),
            v.reasons.join("; ")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// Text: the broken images of this package, under `title` and the painted `name`.
pub(crate) fn broken_text(out: &mut String, title: &str, name: &str, p: &PackagePlan) {
    if p.broken.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{title} {name} ({} cannot be pulled whole)",
        plural(p.broken.len(), "image", "images")
    );
    let labels: Vec<String> = p.broken.iter().map(broken_label).collect();
    let w = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for (b, label) in p.broken.iter().zip(&labels) {
        let line = format!(
            "  {label:<w$}  {}  {}; {}",
            short_digest(&b.name),
            lacks(b),
            fate(p, b)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// Text: the line under the total that counts the tags removed, if any.
pub(crate) fn untag_total(plan: &Plan) -> Option<String> {
    let images = plan
        .packages
        .iter()
        .flat_map(|p| &p.versions)
        .filter(|v| !v.untag.is_empty())
        .count();
    (plan.summary.untag > 0).then(|| {
        format!(
            "{} would be removed from {} that {}",
            plural(plan.summary.untag as usize, "tag", "tags"),
            plural(images, "image", "images"),
            crate::plural::word(images, "stays", "stay")
        )
    })
}

/// Markdown: one collapsible section per package with tags to remove.
pub(crate) fn untag_markdown(out: &mut String, plan: &Plan) {
    for p in &plan.packages {
        let vs = untagged(p);
        if vs.is_empty() {
            continue;
        }
        let summary = format!("<b>{}</b>: remove {}", escape(&p.name), untag_count(&vs));
        let header = ["Version", "Tags", "Remove", "Reasons"];
        details_table(out, &summary, &header, &vs, |out, v| {
            let reasons: Vec<String> = v.reasons.iter().map(|r| escape(r)).collect();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                short_digest(&v.name),
                tags_cell(&v.tags),
                tags_cell(&v.untag),
                reasons.join("<br>")
            );
        });
    }
}

/// Markdown: one collapsible section per package with broken images.
pub(crate) fn broken_markdown(out: &mut String, plan: &Plan) {
    for p in &plan.packages {
        if p.broken.is_empty() {
            continue;
        }
        let summary = format!(
            "<b>{}</b>: {} cannot be pulled whole",
            escape(&p.name),
            plural(p.broken.len(), "image", "images")
        );
        let header = ["Version", "Tags", "What is wrong", "Plan"];
        details_table(out, &summary, &header, &p.broken, |out, b| {
            let tags = if b.tags.is_empty() {
                "_untagged_".to_string()
            } else {
                tags_cell(&b.tags)
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                short_digest(&b.name),
                tags,
                escape(&lacks(b)),
                fate(p, b)
            );
        });
    }
}
