//! Why a version is deleted or kept, as values: the evaluator decides with these, tests compare
//! them, and only [`super::words`] turns them into the words of the plan and the reports.

use crate::graph::Edge;

/// A version named in a reason: its digest and tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub digest: &'a str,
    pub tags: &'a [String],
}

/// A safety guard that protects a version whatever the rules say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Guard {
    /// Younger than `safety.min_age`.
    MinAge(std::time::Duration),
    /// One of the N newest top-level images (`images`) or versions of the package.
    KeepNewest { n: usize, images: bool },
    /// Its manifest does not match its digest, or is not a manifest.
    ManifestUnusable(String),
    /// `count` manifests of the package could not be read (the first few in `sample`), and the
    /// version may be part of one of them: untagged (so no image of its own), or `tagged` and
    /// selected for deletion whole (a kept index may list it: deleting it could break that index).
    ParentsUnknown {
        count: usize,
        sample: Vec<String>,
        tagged: bool,
    },
    /// Selected for deletion, but its own manifest was not read: it may be an index.
    ManifestNotRead,
    /// Some of its tags are selected for removal, but its manifest was not read: a removed tag
    /// could not be restored without it, so its tags stay.
    ManifestNotReadForUntag,
    /// The package's listing did not add up (`listed` versions, GitHub counts `version_count`),
    /// and its deletion would rest on a version's absence: it is untagged, or tagged and selected
    /// for deletion whole (its index, perhaps a kept one, may be the version missing), or broken
    /// (ghost, partial, orphaned: what it lacks may be).
    ListingIncomplete { listed: u64, version_count: u64 },
}

/// One reason of a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason<'a> {
    /// A rule (keep or delete) that selects the version, by name.
    Rule(&'a str),
    /// A guard that protects it.
    Guard(Guard),
    /// It follows an image through the graph: `edge` says what it is of `image`, `kept` whether
    /// that image stays, `top` the top of the chain when it is not `image`.
    Graph {
        edge: Edge,
        kept: bool,
        image: ImageRef<'a>,
        top: Option<ImageRef<'a>>,
    },
    /// An index selected for deletion that stays: the registry could remove `child` with it, an
    /// untagged version that stays for a reason of its own (a keep rule, a guard, a kept subject
    /// it refers to, or withheld itself).
    Withheld { child: ImageRef<'a> },
    /// Kept although these delete rules select it (and every tag of it).
    KeepWins(Vec<&'a str>),
    /// These tags are removed from the image, which stays under its other tags; `rules` are the
    /// delete rules that select them. `stays_as`: every tag goes, and the image stays as this
    /// part (`edge`) of the kept image that needs it.
    Untag {
        tags: Vec<&'a str>,
        rules: Vec<&'a str>,
        stays_as: Option<(Edge, ImageRef<'a>)>,
    },
    /// These tags are selected for deletion but stay: `safety.untag` is false.
    UntagOff {
        tags: Vec<&'a str>,
        rules: Vec<&'a str>,
    },
    /// Delete rules select some tags of the image, but not these, so the image stays.
    TagsStay(Vec<&'a str>),
    /// No rule selects it.
    NoRule,
    /// A reference found by `in_use` names it: where (`file:line`).
    InUse(Vec<String>),
}
