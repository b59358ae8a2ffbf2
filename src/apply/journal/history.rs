//! A journal read back for a person (`retention journal show`): what happened to each version a
//! run deleted (or tried to), when, and why; and to each tag it removed. Pure: the lines in, the
//! text out.
//!
//! The lines are grouped per version (its deletion and restore lines) and per tag removed (its
//! tag removal lines), in owner, package, version id and tag order: the order of the lines in
//! the file varies with the executor's concurrency, and a person looks a version up by its
//! package. Within a group the events are in time order. Under the line that says why (the
//! first a run wrote about the version: [`super::Why`]) come the plan's reasons, the policy's
//! sha256 and the registry; an `attempted` line that says nothing of why comes from a build
//! that did not record it, and says so.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Entry, JournalOutcome, Line};
use crate::plural;
use crate::render::printable;

/// Where a line belongs: a version, or one tag of it.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Key<'a> {
    owner: &'a str,
    package: &'a str,
    id: u64,
    /// The tag of a tag removal's lines; `None` for the version's own lines.
    tag: Option<&'a str>,
}

/// The text for the versions `only` names (a version id, or a version's name: a digest, an npm
/// version), or for every version when `only` is `None`; `None` when `only` names none of them.
/// `source` names the journal in the first line.
pub fn render(lines: &[Line], only: Option<&str>, source: &str) -> Option<String> {
    let named = |e: &Entry| only.is_none_or(|q| e.id.to_string() == q || e.name == q);
    let mut groups: BTreeMap<Key<'_>, Vec<&Line>> = BTreeMap::new();
    for line in lines.iter().filter(|l| named(&l.entry)) {
        let e = &line.entry;
        let tag = match (&e.untag, e.outcome.is_untag()) {
            (Some(u), true) => Some(u.tag.as_str()),
            _ => None,
        };
        let key = Key {
            owner: &e.owner,
            package: &e.package,
            id: e.id,
            tag,
        };
        groups.entry(key).or_default().push(line);
    }
    if only.is_some() && groups.is_empty() {
        return None;
    }
    for group in groups.values_mut() {
        // Stable: lines written in the same instant keep their order in the file.
        group.sort_by_key(|l| l.entry.time);
    }
    let mut out = String::new();
    let _ = writeln!(out, "{}", summary(&groups, source));
    for (key, group) in &groups {
        out.push('\n');
        match key.tag {
            None => version(&mut out, group),
            Some(tag) => tag_removal(&mut out, tag, group),
        }
    }
    Some(out)
}

/// The first line: the journal, its owners, and how many versions and tags ended how.
fn summary(groups: &BTreeMap<Key<'_>, Vec<&Line>>, source: &str) -> String {
    let mut owners: Vec<&str> = groups.keys().map(|k| k.owner).collect();
    owners.dedup();
    let mut versions: BTreeMap<usize, (&str, u64)> = BTreeMap::new();
    let mut tags: BTreeMap<usize, (&str, u64)> = BTreeMap::new();
    for (key, group) in groups {
        let Some(last) = group.last() else { continue };
        let (rank, word) = state(last.entry.outcome);
        let counts = if key.tag.is_some() {
            &mut tags
        } else {
            &mut versions
        };
        counts.entry(rank).or_insert((word, 0)).1 += 1;
    }
    let counted = |counts: &BTreeMap<usize, (&str, u64)>, one: &str, many: &str| {
        let total: u64 = counts.values().map(|(_, n)| n).sum();
        let parts: Vec<String> = counts.values().map(|(w, n)| format!("{n} {w}")).collect();
        format!("{} ({})", plural::count(total, one, many), parts.join(", "))
    };
    let mut what = Vec::new();
    if !versions.is_empty() || tags.is_empty() {
        what.push(counted(&versions, "version", "versions"));
    }
    if !tags.is_empty() {
        what.push(counted(&tags, "tag removal", "tag removals"));
    }
    let owners = match owners.as_slice() {
        [] => String::new(),
        [one] => format!(", owner {}", printable(one)),
        many => format!(
            ", owners {}",
            many.iter()
                .map(|o| printable(o))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!("journal {source}{owners}: {}", what.join("; "))
}

/// Where a group stands after its last line, in words, and the rank of that word in the summary.
fn state(outcome: JournalOutcome) -> (usize, &'static str) {
    use JournalOutcome::*;
    match outcome {
        Deleted => (0, "deleted"),
        AlreadyGone => (1, "already gone"),
        Skipped => (2, "skipped"),
        Failed => (3, "failed"),
        NotSent => (4, "not sent"),
        Attempted => (5, "unfinished"),
        Restored => (6, "restored"),
        RestoreFailed => (7, "restore failed"),
        Untagged => (8, "removed"),
        UntagFailed => (9, "failed"),
        UntagAttempted => (10, "unfinished"),
        Retagged => (11, "put back"),
        RetagFailed => (12, "put back failed"),
    }
}

/// A version's header and its events, each `attempted` (or first) line followed by why.
fn version(out: &mut String, group: &[&Line]) {
    let Some(first) = group.first() else { return };
    let e = &first.entry;
    let tags = if e.tags.is_empty() {
        String::new()
    } else {
        format!(", tags {}", printable(&e.tags.join(", ")))
    };
    let _ = writeln!(
        out,
        "{} {} (version {}{tags})",
        printable(&e.package),
        printable(&e.name),
        e.id
    );
    for line in group {
        event(out, &line.entry);
        let why = &line.why;
        if why.is_empty() {
            if line.entry.outcome == JournalOutcome::Attempted {
                let _ = writeln!(
                    out,
                    "      why the plan deletes it: reason not recorded (journal of an earlier build)"
                );
            }
            continue;
        }
        let reasons = match &why.reasons {
            Some(r) if !r.is_empty() => printable(&r.join("; ")).into_owned(),
            Some(_) => "the plan gave no reason".to_string(),
            None => "reason not recorded".to_string(),
        };
        let _ = writeln!(out, "      why the plan deletes it: {reasons}");
        let mut by = Vec::new();
        if let Some(p) = &why.policy_sha256 {
            by.push(format!("policy sha256 {}", printable(p)));
        }
        if let Some(r) = &why.registry {
            by.push(format!("registry {}", printable(r)));
        }
        if !by.is_empty() {
            let _ = writeln!(out, "      decided by: {}", by.join(", "));
        }
    }
}

/// A tag removal's header and its events.
fn tag_removal(out: &mut String, tag: &str, group: &[&Line]) {
    let Some(first) = group.first() else { return };
    let e = &first.entry;
    let placeholder = e
        .untag
        .as_ref()
        .map(|u| format!(", placeholder {}", printable(&u.placeholder)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {} (version {}): tag {}{placeholder}",
        printable(&e.package),
        printable(&e.name),
        e.id,
        printable(tag)
    );
    for line in group {
        event(out, &line.entry);
    }
}

/// One event: when, what, and the message GitHub or the run gave.
fn event(out: &mut String, e: &Entry) {
    let when = e.time.format("%Y-%m-%d %H:%M:%S UTC");
    if e.message.is_empty() {
        let _ = writeln!(out, "  {when}  {}", e.outcome.word());
    } else {
        let _ = writeln!(
            out,
            "  {when}  {}: {}",
            e.outcome.word(),
            printable(&e.message)
        );
    }
}

#[cfg(test)]
mod tests;
