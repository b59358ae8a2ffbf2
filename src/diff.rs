//! The policy diff: what a policy change does, for the reviewer of a pull request.
//!
//! `retention plan --policy NEW --base OLD` lists (or loads) the inventory once, evaluates both
//! policies on it, and compares the two plans version by version: which versions the change
//! newly deletes, which it no longer deletes, which tags it newly removes from an image that
//! stays and which tags it no longer removes, each with the reasons under both policies.
//! Unchanged versions are counted, not listed. Images are counted apart from their parts: a
//! platform manifest, attestation or signature is never counted as an image, even when its
//! image's fate does not change. Pure: two plans in, a [`PlanDiff`] out.
//!
//! When the two policies name different owners, the base policy is evaluated on its own
//! owner's packages (commands/plan.rs), each package is named `OWNER/NAME` ([`between_owners`]),
//! and the diff says that the owner changes ([`PlanDiff::base_owner`]).
//!
//! In JSON the diff is the `diff` object of the new policy's plan ([`DiffDocument`]), so the file
//! is still a plan that `apply --plan` can carry out.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::inventory::PackageType;
use crate::plan::{Action, PackagePlan, PartOf, Plan, VersionPlan};

/// The new policy's plan with the diff against the base policy's (what `plan --base` writes
/// as JSON).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiffDocument {
    #[serde(flatten)]
    pub plan: Plan,
    pub diff: PlanDiff,
}

/// The document `plan --base` writes, and the warnings to say on the way, in order: each version
/// this policy deletes that the base policy's sources find in use ([`deleted_in_base_use`]), the
/// owner change (`(old, new)`: [`between_owners`]), and the base policy being over its own
/// limits (`refused`, said of `base_name`: where it was read; [`PlanDiff::refuse_base`]).
pub fn document(
    base: Plan,
    refused: Option<&crate::evaluate::EvaluateError>,
    mut plan: Plan,
    owner_change: Option<&(String, String)>,
    base_name: &str,
) -> (DiffDocument, Vec<String>) {
    let mut warnings = deleted_in_base_use(&base, &mut plan);
    let mut diff = match owner_change {
        None => diff(&base, &plan),
        Some((old, new)) => {
            warnings.push(format!(
                "the owner changes from {old} to {new}: the base policy is evaluated on {old}'s packages"
            ));
            between_owners(base, &plan, old, new)
        }
    };
    if let Some(e) = refused {
        let why = diff.refuse_base(e);
        warnings.push(format!(
            "the base policy {base_name} is over its own limits, so its runs change nothing today: {why}; the diff compares with what it decides without them"
        ));
    }
    (DiffDocument { diff, plan }, warnings)
}

/// What changes from the base policy's plan to the new policy's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanDiff {
    /// sha256 of the base policy file.
    pub base_policy_sha256: String,
    /// Set when the base policy's plan is over its own safety limits: why `apply` refuses it
    /// today (its runs change nothing). The diff then compares with what it decides without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_refused: Option<String>,
    /// Set when the base policy names another owner than the new one: the base policy's owner
    /// (its plan was made on that owner's packages, and packages are named `OWNER/NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_owner: Option<String>,
    pub summary: DiffSummary,
    /// Packages either policy governs, in name order (type first when names repeat).
    pub packages: Vec<PackageDiff>,
}

/// The counts of a diff, over all packages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffSummary {
    /// Versions the new policy deletes and the base policy does not.
    pub newly_deleted: u64,
    /// Of those, top-level images (not part of another deleted version).
    pub newly_deleted_images: u64,
    /// Versions the base policy deletes and the new policy does not.
    pub no_longer_deleted: u64,
    /// Of those, top-level images.
    pub no_longer_deleted_images: u64,
    /// Tags the new policy removes from images that stay and the base policy does not.
    pub newly_untagged: u64,
    /// Tags the base policy removes from images that stay and the new policy does not (the
    /// images stay under both).
    #[serde(default)]
    pub no_longer_untagged: u64,
    /// Versions whose fate is the same under both policies.
    pub unchanged: u64,
    /// Estimated bytes freed by the base policy's plan (absent when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_bytes_freed: Option<u64>,
    /// Estimated bytes freed by the new policy's plan (absent when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_freed: Option<u64>,
}

impl DiffSummary {
    /// How many more bytes the new policy frees than the base one (negative: fewer); `None`
    /// when either is unknown.
    pub fn bytes_freed_change(&self) -> Option<i128> {
        Some(i128::from(self.bytes_freed?) - i128::from(self.base_bytes_freed?))
    }
}

/// The changes in one package.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PackageDiff {
    pub name: String,
    #[serde(rename = "type")]
    pub package_type: PackageType,
    pub newly_deleted: Vec<Change>,
    pub no_longer_deleted: Vec<Change>,
    pub newly_untagged: Vec<Change>,
    /// Images that stay under both policies whose tags the base policy removes and the new
    /// one keeps (`untag`: those tags).
    #[serde(default)]
    pub no_longer_untagged: Vec<Change>,
    pub unchanged: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_bytes_freed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_freed: Option<u64>,
}

impl PackageDiff {
    /// Whether anything changes in this package.
    pub fn changes(&self) -> bool {
        !(self.newly_deleted.is_empty()
            && self.no_longer_deleted.is_empty()
            && self.newly_untagged.is_empty()
            && self.no_longer_untagged.is_empty())
    }
}

/// A version whose fate changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
    pub updated_at: DateTime<Utc>,
    /// The top-level image it is part of (under the new policy, else the base one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<PartOf>,
    /// Its fate under the base policy; absent when the base policy does not govern it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Fate>,
    /// Its fate under the new policy; absent when the new policy does not govern it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Fate>,
    /// For `newly_untagged`: the tags the new policy removes and the base one does not; for
    /// `no_longer_untagged`: the tags the base policy removes and the new one does not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untag: Vec<String>,
}

/// A version's fate under one policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fate {
    pub action: Action,
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untag: Vec<String>,
}

impl Fate {
    fn of(v: &VersionPlan) -> Fate {
        Fate {
            action: v.action,
            reasons: v.reasons.clone(),
            untag: v.untag.clone(),
        }
    }

    /// The reasons on one line, for reports.
    pub fn why(fate: Option<&Fate>) -> String {
        match fate {
            Some(f) => f.reasons.join("; "),
            None => "the policy does not govern this package".to_string(),
        }
    }
}

fn deletes(v: Option<&VersionPlan>) -> bool {
    v.is_some_and(|v| v.action == Action::Delete)
}

fn untags(v: Option<&VersionPlan>) -> BTreeSet<&str> {
    v.map(|v| v.untag.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

impl PlanDiff {
    /// The base policy's plan is over its own limits (`refused`): its runs change nothing today.
    /// Records what the limit refuses, without what follows (the help is for a policy under
    /// review), and returns it.
    pub fn refuse_base(&mut self, refused: &crate::evaluate::EvaluateError) -> String {
        let why = refused.to_string();
        let why = why
            .split([';', '\n'])
            .next()
            .unwrap_or_default()
            .to_string();
        self.base_refused = Some(why.clone());
        why
    }
}

/// `plan --base`: a version the new plan deletes that the base policy's sources find in use (a
/// change that drops or narrows `in_use`, or its keep rule) is a warning on its package, and one
/// of the lines returned (`PACKAGE: WARNING`, for stderr). A version the new policy's own
/// sources find in use already has its warning.
pub fn deleted_in_base_use(base: &Plan, plan: &mut Plan) -> Vec<String> {
    let mut lines = Vec::new();
    for package in &mut plan.packages {
        let Some(before) = base
            .packages
            .iter()
            .find(|p| p.name == package.name && p.package_type == package.package_type)
        else {
            continue;
        };
        let in_base_use: HashMap<u64, &Vec<String>> = before
            .versions
            .iter()
            .filter(|v| !v.in_use.is_empty())
            .map(|v| (v.id, &v.in_use))
            .collect();
        let warnings: Vec<String> = package
            .versions
            .iter()
            .filter(|v| v.action == Action::Delete && v.in_use.is_empty())
            .filter_map(|v| {
                let at = in_base_use.get(&v.id)?;
                Some(format!(
                    "this change deletes {} ({}), in use under the base policy's sources: {}",
                    crate::digest::short(&v.name),
                    if v.tags.is_empty() {
                        "untagged".to_string()
                    } else {
                        v.tags.join(", ")
                    },
                    crate::evaluate::words::in_use_places(at)
                ))
            })
            .collect();
        lines.extend(warnings.iter().map(|w| format!("{}: {w}", package.name)));
        package.warnings.extend(warnings);
    }
    lines
}

/// Compare the plans of two owners' packages (`plan --base` when the owner changes): each
/// package is named `OWNER/NAME`, so that none is taken for the other owner's, and the diff says
/// that the owner changes ([`PlanDiff::base_owner`]). `new` keeps its names (the plan itself
/// keeps the ones `apply --plan` needs).
pub fn between_owners(mut base: Plan, new: &Plan, old_owner: &str, new_owner: &str) -> PlanDiff {
    let mut named = new.clone();
    for (p, owner) in [(&mut base, old_owner), (&mut named, new_owner)] {
        for package in &mut p.packages {
            package.name = format!("{owner}/{}", package.name);
        }
    }
    let mut diff = diff(&base, &named);
    diff.base_owner = Some(old_owner.to_string());
    diff
}

/// Compare the base policy's plan with the new policy's, on the same inventory.
pub fn diff(base: &Plan, new: &Plan) -> PlanDiff {
    type Key<'a> = (&'a str, PackageType);
    let mut packages: BTreeMap<Key, (Option<&PackagePlan>, Option<&PackagePlan>)> = BTreeMap::new();
    for p in &base.packages {
        packages.entry((&p.name, p.package_type)).or_default().0 = Some(p);
    }
    for p in &new.packages {
        packages.entry((&p.name, p.package_type)).or_default().1 = Some(p);
    }
    let mut summary = DiffSummary {
        base_bytes_freed: base.summary.bytes_freed,
        bytes_freed: new.summary.bytes_freed,
        ..DiffSummary::default()
    };
    let mut out = Vec::new();
    for ((name, package_type), (b, n)) in packages {
        let pd = package_diff(name, package_type, b, n);
        summary.newly_deleted += pd.newly_deleted.len() as u64;
        summary.no_longer_deleted += pd.no_longer_deleted.len() as u64;
        summary.newly_deleted_images += top_level(&pd.newly_deleted);
        summary.no_longer_deleted_images += top_level(&pd.no_longer_deleted);
        summary.newly_untagged += pd
            .newly_untagged
            .iter()
            .map(|c| c.untag.len() as u64)
            .sum::<u64>();
        summary.no_longer_untagged += pd
            .no_longer_untagged
            .iter()
            .map(|c| c.untag.len() as u64)
            .sum::<u64>();
        summary.unchanged += pd.unchanged;
        out.push(pd);
    }
    PlanDiff {
        base_policy_sha256: base.policy_sha256.clone(),
        base_refused: None,
        base_owner: None,
        summary,
        packages: out,
    }
}

/// How many of the changes are images: not part of another version (a platform manifest
/// shared with an image whose fate does not change is still a part, not an image).
fn top_level(changes: &[Change]) -> u64 {
    changes.iter().filter(|c| c.part_of.is_none()).count() as u64
}

fn by_id(p: Option<&PackagePlan>) -> HashMap<u64, &VersionPlan> {
    p.map(|p| p.versions.iter().map(|v| (v.id, v)).collect())
        .unwrap_or_default()
}

fn package_diff(
    name: &str,
    package_type: PackageType,
    base: Option<&PackagePlan>,
    new: Option<&PackagePlan>,
) -> PackageDiff {
    let (b, n) = (by_id(base), by_id(new));
    // Versions in the new plan's order (newest first), then those only the base plan lists.
    let mut order: Vec<&VersionPlan> = new.map(|p| p.versions.iter().collect()).unwrap_or_default();
    if let Some(base) = base {
        order.extend(base.versions.iter().filter(|v| !n.contains_key(&v.id)));
    }
    let mut pd = PackageDiff {
        name: name.to_string(),
        package_type,
        newly_deleted: Vec::new(),
        no_longer_deleted: Vec::new(),
        newly_untagged: Vec::new(),
        no_longer_untagged: Vec::new(),
        unchanged: 0,
        base_bytes_freed: base.and_then(|p| p.bytes_freed),
        bytes_freed: new.and_then(|p| p.bytes_freed),
    };
    for v in order {
        let (bv, nv) = (b.get(&v.id).copied(), n.get(&v.id).copied());
        let change = |untag: Vec<String>| Change {
            id: v.id,
            name: v.name.clone(),
            tags: v.tags.clone(),
            updated_at: v.updated_at,
            part_of: nv.and_then(|x| x.part_of).or(bv.and_then(|x| x.part_of)),
            base: bv.map(Fate::of),
            new: nv.map(Fate::of),
            untag,
        };
        let only = |a: Option<&VersionPlan>, b: Option<&VersionPlan>| -> Vec<String> {
            let other = untags(b);
            untags(a)
                .into_iter()
                .filter(|t| !other.contains(t))
                .map(str::to_string)
                .collect()
        };
        let newly_untagged: Vec<String> = if deletes(nv) {
            Vec::new()
        } else {
            only(nv, bv)
        };
        // Tags the base removes from an image that stays, which the new policy keeps on an
        // image that stays too (a version the new policy deletes loses them anyway).
        let no_longer_untagged: Vec<String> = if deletes(nv) || deletes(bv) {
            Vec::new()
        } else {
            only(bv, nv)
        };
        match (deletes(bv), deletes(nv)) {
            (false, true) => pd.newly_deleted.push(change(Vec::new())),
            (true, false) => pd.no_longer_deleted.push(change(newly_untagged)),
            _ if newly_untagged.is_empty() && no_longer_untagged.is_empty() => pd.unchanged += 1,
            _ => {
                if !newly_untagged.is_empty() {
                    pd.newly_untagged.push(change(newly_untagged));
                }
                if !no_longer_untagged.is_empty() {
                    pd.no_longer_untagged.push(change(no_longer_untagged));
                }
            }
        }
    }
    pd
}

/// The line a reviewer can act on: "this change deletes 12 more versions (3 images, about
/// 1.4 GiB) and keeps 2 that the current policy deletes".
pub fn headline(d: &PlanDiff) -> String {
    let s = &d.summary;
    use crate::plural::{count, word};
    let mut parts = Vec::new();
    if s.newly_deleted > 0 {
        let images = count(s.newly_deleted_images, "image", "images");
        let size = match s.bytes_freed_change() {
            Some(b) if b > 0 => format!(", about {}", crate::space::human(b as u64)),
            _ => String::new(),
        };
        parts.push(format!(
            "deletes {} more {} ({images}{size})",
            s.newly_deleted,
            word(s.newly_deleted, "version", "versions")
        ));
    }
    if s.no_longer_deleted > 0 {
        parts.push(format!(
            "keeps {} that the current policy deletes",
            s.no_longer_deleted
        ));
    }
    if s.newly_untagged > 0 {
        parts.push(format!(
            "removes {} more {} from images that stay",
            s.newly_untagged,
            word(s.newly_untagged, "tag", "tags")
        ));
    }
    if s.no_longer_untagged > 0 {
        parts.push(format!(
            "no longer removes {} that the current policy removes",
            crate::plural::count(s.no_longer_untagged, "tag", "tags")
        ));
    }
    let unchanged = format!("{} unchanged", count(s.unchanged, "version", "versions"));
    let line = match parts.len() {
        0 => format!("this change does not change what is deleted ({unchanged})"),
        _ => {
            let last = parts.pop().unwrap_or_default();
            let head = if parts.is_empty() {
                last
            } else {
                format!("{} and {last}", parts.join(", "))
            };
            format!("this change {head}; {unchanged}")
        }
    };
    match &d.base_owner {
        Some(owner) => format!(
            "the owner changes from {owner} (the current policy is evaluated on {owner}'s packages, named {owner}/…); {line}"
        ),
        None => line,
    }
}

#[cfg(test)]
mod tests;
