//! The words of a decision's reasons: the one place where the evaluator's typed reasons become
//! the strings of the plan (`reasons: [string]`) and of every report.

use super::reason::{Guard, ImageRef, Reason};

/// `sha256:0123456789ab (v1.2, latest)`, or `(untagged)`.
pub fn image(r: &ImageRef) -> String {
    let short = crate::digest::short(r.digest);
    if r.tags.is_empty() {
        format!("{short} (untagged)")
    } else {
        format!("{short} ({})", r.tags.join(", "))
    }
}

fn quoted(names: &[&str]) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    q.join(", ")
}

use crate::plural::word as plural;

/// A guard, in words.
pub fn guard(g: &Guard) -> String {
    match g {
        Guard::MinAge(d) => format!(
            "safety.min_age: younger than {}",
            humantime::format_duration(*d)
        ),
        Guard::KeepNewest { n, images } => format!(
            "safety.keep_newest: one of the {n} newest {}",
            if *images { "images" } else { "versions" }
        ),
        Guard::ManifestUnusable(why) => format!("manifest unusable: {why}"),
        Guard::ParentsUnknown {
            count,
            sample,
            tagged,
        } => {
            let more = count.saturating_sub(sample.len());
            format!(
                "{}: {count} {} of this package could not be read ({}{})",
                if *tagged {
                    "its parents are unknown, and a kept index may list it (deleting it could break that index)"
                } else {
                    "untagged and its parents are unknown"
                },
                plural(*count, "manifest", "manifests"),
                sample.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        }
        Guard::ManifestNotRead => {
            "manifest not read: it may be an index whose children a kept image shares".to_string()
        }
        Guard::ListingIncomplete {
            listed,
            version_count,
        } => format!(
            "the listing of this package is incomplete ({listed} {} listed, GitHub counts {version_count}): what it is part of, or lacks, may be the version missing",
            plural(*listed as usize, "version", "versions")
        ),
        Guard::ManifestNotReadForUntag => {
            "manifest not read: its tags are not removed (restoring a tag needs the manifest)"
                .to_string()
        }
    }
}

/// A reason, in words.
pub fn words(r: &Reason) -> String {
    match r {
        Reason::Rule(name) => name.to_string(),
        Reason::Guard(g) => guard(g),
        Reason::Graph {
            edge,
            kept,
            image: by,
            top,
        } => {
            let state = if *kept { "kept" } else { "deleted" };
            let mut s = format!("{} of {state} image {}", edge.label(), image(by));
            if let Some(top) = top {
                s.push_str(&format!(", part of {}", image(top)));
            }
            s
        }
        Reason::Withheld { child } => format!(
            "withheld: deleting it would let the registry remove {} with it, which stays for a reason of its own",
            image(child)
        ),
        Reason::KeepWins(rules) => format!("keep wins over delete rule {}", quoted(rules)),
        Reason::Untag {
            tags,
            rules,
            stays_as: None,
        } => format!(
            "untag {} (delete rule {}): the image stays under its other tags",
            tags.join(", "),
            quoted(rules)
        ),
        Reason::Untag {
            tags,
            rules,
            stays_as: Some((edge, by)),
        } => {
            let label = edge.label();
            let article = if label.starts_with(['a', 'e', 'i', 'o', 'u', 'S']) {
                "an"
            } else {
                "a"
            };
            format!(
                "untag {} (delete rule {}): the image stays as {article} {label} of kept image {}",
                tags.join(", "),
                quoted(rules),
                image(by)
            )
        }
        Reason::UntagOff { tags, rules } => format!(
            "{} {} selected by delete rule {} {} (safety.untag is false)",
            plural(tags.len(), "tag", "tags"),
            tags.join(", "),
            quoted(rules),
            plural(tags.len(), "stays", "stay")
        ),
        Reason::TagsStay(tags) => format!(
            "{} {} {} selected by no delete rule",
            plural(tags.len(), "tag", "tags"),
            tags.join(", "),
            plural(tags.len(), "is", "are")
        ),
        Reason::NoRule => "no rule selects it".to_string(),
        Reason::InUse(at) => format!("in use: {}", in_use_places(at)),
    }
}

/// The first few places a version is used, `deploy/prod/api.yaml:12, …`, and how many more.
pub fn in_use_places(at: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut s = at
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if at.len() > SHOWN {
        s.push_str(&format!(" and {} more", at.len() - SHOWN));
    }
    s
}

/// The packages whose listing did not add up, twice ([`crate::inventory::ListingGap`]): their
/// deletions that rest on a version's absence are withheld, and the run exits 3 with this
/// message.
pub fn incomplete_listings(inventory: &crate::inventory::Inventory) -> Option<String> {
    let gaps = inventory.listing_gaps(|_| true);
    (!gaps.is_empty()).then(|| {
        let n = gaps.len();
        format!(
            "the {} of {} {} {} not add up, twice: versions were deleted or pushed while {} listed; deletions that would rest on a version's absence (untagged leftovers, images the missing version may list, ghost, partial, orphaned) were withheld: run again",
            crate::plural::word(n, "listing", "listings"),
            crate::plural::word(n, "package", "packages"),
            gaps.join(", "),
            crate::plural::word(n, "does", "do"),
            crate::plural::word(n, "it was", "they were"),
        )
    })
}

/// What a plan over a limit says, in `plan`'s words: which limit, by how much, and the two ways
/// out. `plan` takes no `--max-deletions`, so the help names only the policy and its rules.
pub fn refusal(e: &super::EvaluateError) -> String {
    use super::EvaluateError;
    use crate::plural::count;
    let (what, over, key, count_of, rules) = match *e {
        EvaluateError::TooManyDeletions { count: n, max } => (
            format!("the plan deletes {}", count(n, "version", "versions")),
            n.saturating_sub(max),
            "max_deletions",
            (n, max, "version", "versions"),
            "so that they select fewer versions",
        ),
        EvaluateError::TooManyUntags { count: n, max } => (
            format!(
                "the plan removes {} from images that stay",
                count(n, "tag", "tags")
            ),
            n.saturating_sub(max),
            "max_untags",
            (n, max, "tag", "tags"),
            "so that they remove fewer tags (or set safety.untag: false to keep such tags)",
        ),
    };
    let (n, max, one, many) = count_of;
    format!(
        "refused: {what}, {} more than safety.{key} ({max}), so `retention apply` would change nothing\n  help: if the plan is right, raise safety.{key} in the policy to {n} or more\n  help: otherwise change the rules {rules}; the report shows what they select",
        count(over, one, many)
    )
}
