//! The `text` rendering: a plan for a person at a terminal.
//!
//! A header (owner, time, policy), the counts per package in aligned columns (versions, and the
//! estimated space freed), the deletions per package, one row per image (tags, short digest,
//! date, reasons, its parts counted; the parts listed too with `--verbose`), the warnings, and a
//! total line. ANSI colour only when asked (`render::color_for` decides: a terminal and no
//! `NO_COLOR`).

use std::fmt::Write as _;

use super::group::{parts_label, rows};
use super::Options;
use crate::plan::{PackagePlan, Plan, VersionPlan};
use crate::plural;

/// Widest tags column before it is cut with an ellipsis.
const MAX_TAGS_WIDTH: usize = 40;

/// A tiny ANSI painter that paints nothing when colour is off.
#[derive(Clone, Copy)]
struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(self, code: &str, s: &str) -> String {
        if self.on && !s.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn red(self, s: &str) -> String {
        self.wrap("1;31", s)
    }
    fn green(self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn yellow(self, s: &str) -> String {
        self.wrap("1;33", s)
    }
    fn cyan(self, s: &str) -> String {
        self.wrap("1;36", s)
    }
}

/// Pad `s` (already measured as `width` visible characters) to `to` columns on the left or right.
fn pad(painted: &str, width: usize, to: usize, right_align: bool) -> String {
    let fill = " ".repeat(to.saturating_sub(width));
    if right_align {
        format!("{fill}{painted}")
    } else {
        format!("{painted}{fill}")
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Cut `s` to at most `max` characters, ending with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if chars(s) <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub(crate) use crate::digest::short as short_digest;

/// A tag for display: a cosign or referrers tag (`sha256-<64 hex>.sig`) is shortened to
/// `sha256-<12 hex>….sig`; the JSON plan has it in full.
pub(crate) fn short_tag(tag: &str) -> String {
    match tag.strip_prefix("sha256-") {
        Some(rest) if rest.len() >= 64 && rest.is_char_boundary(64) => {
            let (hex, ext) = rest.split_at(64);
            if hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                format!("sha256-{}…{ext}", &hex[..12])
            } else {
                tag.to_string()
            }
        }
        _ => tag.to_string(),
    }
}

/// A version's tags for display: `v1.2, latest`, `untagged` for a container version without
/// tags, or the version name for other package types (npm, maven…), which carry no tags.
pub(crate) fn tags_label(v: &VersionPlan) -> String {
    tags_label_of(&v.name, &v.tags)
}

/// [`tags_label`] of a version given by its name and tags (a plan's version, a diff's change).
pub(crate) fn tags_label_of(name: &str, tags: &[String]) -> String {
    if tags.is_empty() {
        if name_is_digest(name) {
            "untagged".to_string()
        } else {
            name.to_string()
        }
    } else {
        tag_list(tags)
    }
}

/// A list of tags for display, the one way every rendering and table writes tags: each
/// [`short_tag`], joined with `, ` up to [`MAX_TAGS_WIDTH`] characters, then `+N more` (a tag
/// longer than that alone is cut with `…`). The JSON plan has them all, in full.
pub(crate) fn tag_list(tags: &[String]) -> String {
    let mut out = String::new();
    for (i, tag) in tags.iter().enumerate() {
        let tag = short_tag(tag);
        if i == 0 {
            out = cut(&tag, MAX_TAGS_WIDTH);
            continue;
        }
        if chars(&out) + 2 + chars(&tag) > MAX_TAGS_WIDTH {
            let _ = write!(out, " +{} more", tags.len() - i);
            break;
        }
        out.push_str(", ");
        out.push_str(&tag);
    }
    out
}

/// For container packages the version name is a digest; for npm and friends it is the version.
pub(crate) fn is_digest(v: &VersionPlan) -> bool {
    name_is_digest(&v.name)
}

fn name_is_digest(name: &str) -> bool {
    name.starts_with("sha256:") || name.starts_with("sha512:")
}

/// "12 of 40 versions would be deleted in 2 packages", shared with the Markdown rendering.
pub(crate) fn total_line(plan: &Plan) -> String {
    let versions = plan.summary.versions;
    let delete = plan.summary.delete;
    let with_deletions = plan
        .packages
        .iter()
        .filter(|p| p.deletions().next().is_some())
        .count();
    let noun = plural::word(versions, "version", "versions");
    if delete == 0 {
        let packages = plural::count(plan.packages.len(), "package", "packages");
        return format!("nothing to delete: all {versions} {noun} in {packages} are kept");
    }
    let packages = plural::count(with_deletions, "package", "packages");
    format!("{delete} of {versions} {noun} would be deleted in {packages}")
}

fn counts(p: &PackagePlan) -> (usize, usize) {
    let delete = p.deletions().count();
    (delete, p.versions.len() - delete)
}

/// "about 1.4 GiB", or "unknown" when the manifests needed are not known.
pub(crate) fn freed_label(bytes: Option<u64>) -> String {
    match bytes {
        Some(0) => "0 B".to_string(),
        Some(b) => format!("about {}", crate::space::human(b)),
        None => "unknown".to_string(),
    }
}

/// The estimate, said plainly: shared with the Markdown rendering.
pub(crate) const ESTIMATE_NOTE: &str = "an estimate from the manifests: the config and layers no kept image of the same package references, plus the manifests; a layer shared with another package is counted in each";

/// The note under the counts table: the counts are package versions, not images.
pub(crate) const COUNTS_NOTE: &str =
    "counts are package versions: each platform manifest, attestation and signature of an image is one";

/// Render the plan for a terminal.
pub fn render(plan: &Plan, options: Options) -> String {
    // Tags and names are written by whoever can push: their control characters are escaped.
    let plan = &*super::printable_plan(plan);
    let paint = Paint { on: options.color };
    let mut out = String::new();
    heading(&mut out, &paint, plan);
    counts_table(&mut out, &paint, plan);
    sections(&mut out, &paint, plan, options.verbose);
    warnings(&mut out, &paint, plan);
    totals(&mut out, &paint, plan);
    out
}

/// The title line: owner, when, which policy.
fn heading(out: &mut String, paint: &Paint, plan: &Plan) {
    let sha = plan.policy_sha256.get(..12).unwrap_or(&plan.policy_sha256);
    let _ = writeln!(
        out,
        "{} {} {}",
        paint.bold("Retention plan for"),
        paint.cyan(&plan.owner),
        paint.dim(&format!(
            "· {} · policy {sha}",
            plan.generated_at.format("%Y-%m-%d %H:%M UTC")
        )),
    );
    out.push('\n');
}

/// The counts per package, in aligned columns (the space freed where sizes are known).
fn counts_table(out: &mut String, paint: &Paint, plan: &Plan) {
    let name_w = plan
        .packages
        .iter()
        .map(|p| chars(&p.name))
        .chain(std::iter::once(chars("package")))
        .max()
        .unwrap_or(7);
    let num_w = |n: &str, min: usize| chars(n).max(min);
    let rows: Vec<(String, String, String, String, String)> = plan
        .packages
        .iter()
        .map(|p| {
            let (d, k) = counts(p);
            (
                p.name.clone(),
                p.versions.len().to_string(),
                d.to_string(),
                k.to_string(),
                match p.bytes_freed {
                    Some(0) => "-".to_string(),
                    Some(b) => crate::space::human(b),
                    None => "?".to_string(),
                },
            )
        })
        .collect();
    let ver_w = rows.iter().map(|r| num_w(&r.1, 8)).max().unwrap_or(8);
    let del_w = rows.iter().map(|r| num_w(&r.2, 6)).max().unwrap_or(6);
    let keep_w = rows.iter().map(|r| num_w(&r.3, 4)).max().unwrap_or(4);
    // The space freed column only where sizes are known (container packages).
    let sizes = plan.summary.bytes_freed.is_some();
    let freed_w = rows.iter().map(|r| num_w(&r.4, 5)).max().unwrap_or(5);
    let freed_col = |painted: &str, width: usize| {
        if sizes {
            format!("  {}", pad(painted, width, freed_w, true))
        } else {
            String::new()
        }
    };
    let _ = writeln!(
        out,
        "  {}  {}  {}  {}{}",
        paint.dim(&pad("package", 7, name_w, false)),
        paint.dim(&pad("versions", 8, ver_w, true)),
        paint.dim(&pad("delete", 6, del_w, true)),
        paint.dim(&pad("keep", 4, keep_w, true)),
        freed_col(&paint.dim("freed"), 5),
    );
    for (name, versions, delete, keep, freed) in &rows {
        let del_painted = if delete == "0" {
            paint.dim(delete)
        } else {
            paint.red(delete)
        };
        let line = format!(
            "  {}  {}  {}  {}{}",
            pad(&paint.bold(name), chars(name), name_w, false),
            pad(versions, chars(versions), ver_w, true),
            pad(&del_painted, chars(delete), del_w, true),
            pad(&paint.green(keep), chars(keep), keep_w, true),
            freed_col(freed, chars(freed)),
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if plan.packages.is_empty() {
        let _ = writeln!(out, "  {}", paint.dim("(the policy selects no package)"));
    } else {
        let _ = writeln!(out, "  {}", paint.dim(&format!("({COUNTS_NOTE})")));
    }
}

/// Per package: its deletions, then what a guard or the image graph withheld, the tags removed,
/// the broken images and what is in use.
fn sections(out: &mut String, paint: &Paint, plan: &Plan, verbose: bool) {
    for p in &plan.packages {
        let deleted: Vec<&VersionPlan> = p.deletions().collect();
        list(out, paint, &paint.red("Delete"), &p.name, &deleted, verbose);
        let withheld: Vec<&VersionPlan> = p.versions.iter().filter(|v| v.withheld).collect();
        list(
            out,
            paint,
            &paint.yellow("Withheld"),
            &p.name,
            &withheld,
            verbose,
        );
        let name = paint.bold(&p.name);
        super::sections::untag_text(out, &paint.cyan("Untag"), &name, p);
        super::sections::broken_text(out, &paint.yellow("Broken"), &name, p);
        super::in_use::text(out, &paint.green("In use"), &name, p);
    }
}

/// The plan's warnings, one line each.
fn warnings(out: &mut String, paint: &Paint, plan: &Plan) {
    let warnings: Vec<(&str, &str)> = plan
        .packages
        .iter()
        .flat_map(|p| {
            p.warnings
                .iter()
                .map(move |w| (p.name.as_str(), w.as_str()))
        })
        .collect();
    if !warnings.is_empty() {
        out.push('\n');
        for (pkg, w) in warnings {
            let _ = writeln!(out, "{}: {pkg}: {w}", paint.yellow("warning"));
        }
    }
}

/// The totals: what is deleted and untagged, and the space freed.
fn totals(out: &mut String, paint: &Paint, plan: &Plan) {
    out.push('\n');
    let total = total_line(plan);
    let _ = writeln!(
        out,
        "{}",
        if plan.summary.delete == 0 {
            paint.green(&total)
        } else {
            paint.bold(&total)
        }
    );
    if let Some(untag) = super::sections::untag_total(plan) {
        let _ = writeln!(out, "{}", paint.bold(&untag));
    }
    if let (Some(b), true) = (plan.summary.bytes_freed, plan.summary.delete > 0) {
        let _ = writeln!(
            out,
            "space freed: {} {}",
            paint.bold(&freed_label(Some(b))),
            paint.dim(&format!("({ESTIMATE_NOTE})"))
        );
    }
}

/// One section of versions (deleted, or withheld) of a package, in aligned columns: one row
/// per image with its parts counted, and with `verbose` the parts below it.
fn list(
    out: &mut String,
    paint: &Paint,
    title: &str,
    name: &str,
    versions: &[&VersionPlan],
    verbose: bool,
) {
    if versions.is_empty() {
        return;
    }
    out.push('\n');
    let grouped = rows(versions, |v| v.id, |v| v.part_of);
    let _ = writeln!(
        out,
        "{} {} {}",
        title,
        paint.bold(name),
        paint.dim(&if grouped.len() == versions.len() {
            format!("({})", versions.len())
        } else {
            format!(
                "({}: {})",
                crate::plural::count(versions.len(), "version", "versions"),
                crate::plural::count(grouped.len(), "image", "images")
            )
        }),
    );
    // (indent, version, what follows the date)
    let mut lines: Vec<(bool, &VersionPlan, String)> = Vec::new();
    for row in &grouped {
        let parts = parts_label(row.parts.iter().filter_map(|v| v.part_of).map(|p| p.kind));
        let mut why = row.head.reasons.join("; ");
        if !parts.is_empty() {
            why = format!("{why}  {parts}");
        }
        lines.push((false, row.head, why));
        if verbose {
            for part in &row.parts {
                lines.push((true, part, part.reasons.join("; ")));
            }
        }
    }
    let label_of = |indent: bool, v: &VersionPlan| {
        let label = tags_label(v);
        if indent {
            format!("  └ {label}")
        } else {
            label
        }
    };
    let labels: Vec<String> = lines.iter().map(|(i, v, _)| label_of(*i, v)).collect();
    let ids: Vec<String> = lines
        .iter()
        .map(|(_, v, _)| {
            if is_digest(v) {
                short_digest(&v.name)
            } else if v.tags.is_empty() {
                String::new()
            } else {
                v.name.clone()
            }
        })
        .collect();
    let tag_w = labels.iter().map(|l| chars(l)).max().unwrap_or(0);
    let id_w = ids.iter().map(|l| chars(l)).max().unwrap_or(0);
    for (((_, v, why), label), id) in lines.iter().zip(&labels).zip(&ids) {
        let painted_label = if v.tags.is_empty() && is_digest(v) {
            paint.dim(label)
        } else {
            paint.bold(label)
        };
        let id_col = if id_w == 0 {
            String::new()
        } else {
            format!("{}  ", pad(&paint.dim(id), chars(id), id_w, false))
        };
        let line = format!(
            "  {}  {id_col}{}  {}",
            pad(&painted_label, chars(label), tag_w, false),
            v.updated_at.format("%Y-%m-%d"),
            why,
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}
