//! `retention init`: propose a first policy from what the packages hold, so that a newcomer
//! starts from their own tags instead of a blank page.
//!
//! [`survey`] sorts every tag of every container package into a [`Family`] (releases, moving
//! tags, pull requests, branch builds, dates, artifacts, untagged, not covered) and counts what
//! each covers; [`write::policy`] turns the survey into a commented policy with one rule per
//! family and safe defaults (releases and moving tags stay, pull-request images expire after 14
//! days, the 10 newest builds of each branch stay, untagged leftovers expire after 2 days, tags
//! of no family stay). [`fit`] evaluates that policy and raises a limit the first run would go
//! over; [`report`] says what it would do. The command (`commands/init.rs`) lists, reads the
//! manifests and writes the files. Pure: no I/O here.

pub mod families;
pub mod report;
pub mod write;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::inventory::Inventory;
pub use families::{classify, Family};

/// What one family covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Versions carrying at least one tag of the family (or untagged, for the untagged family).
    pub images: usize,
    /// The packages they are in.
    pub packages: BTreeSet<String>,
    /// The oldest of them (`updated_at`).
    pub oldest: Option<DateTime<Utc>>,
    /// A few of the family's tags, as examples (distinct, in the order met).
    pub examples: Vec<String>,
}

impl Stats {
    fn add(&mut self, package: &str, at: DateTime<Utc>, tag: Option<&str>) {
        self.images += 1;
        self.packages.insert(package.to_string());
        self.oldest = Some(self.oldest.map_or(at, |o| o.min(at)));
        if let Some(tag) = tag {
            if self.examples.len() < 2 && !self.examples.iter().any(|e| e == tag) {
                self.examples.push(tag.to_string());
            }
        }
    }
}

/// What the packages of an inventory hold, by family.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Survey {
    pub owner: String,
    /// The container packages, in name order: the policy names them exactly.
    pub packages: Vec<String>,
    /// Packages of other types, left out (the policy governs one type).
    pub skipped: Vec<String>,
    pub versions: usize,
    pub releases: Stats,
    pub moving: Stats,
    pub pull_requests: Stats,
    /// All branch builds together, and per branch the number of images.
    pub branch_builds: Stats,
    pub branches: BTreeMap<String, usize>,
    pub dates: Stats,
    pub artifacts: Stats,
    pub untagged: Stats,
    /// Tags of no family (distinct, sorted): no rule selects them.
    pub not_covered: Vec<String>,
}

/// The proposed policy fitted to its first run: evaluated on `inventory` as of `options.now`
/// and, when that run would go over a default limit, written again with the limit raised
/// ([`report::fit_first_run`]). The text, the policy and its plan.
pub fn fit(
    survey: &Survey,
    inventory: &Inventory,
    options: &mut write::Options,
    proposed: (String, crate::policy::Policy),
) -> Result<(String, crate::policy::Policy, crate::plan::Plan), crate::outcome::Failure> {
    let (mut text, mut policy) = proposed;
    let now = options.now;
    let mut plan = crate::evaluate::evaluate_unchecked(&policy, inventory, now);
    if report::fit_first_run(options, &plan) {
        (text, policy) = write::proposed(survey, options)?;
        plan = crate::evaluate::evaluate_unchecked(&policy, inventory, now);
    }
    Ok((text, policy, plan))
}

/// The policy that lists every container package and reads no manifest (keep rules only): what
/// `init` lists before it proposes one.
pub fn list_all() -> Result<crate::policy::Policy, crate::outcome::Failure> {
    const LIST_ALL: &str = "version: 1\npackages: { type: container, names: [\"*\"] }\nrules:\n  - name: list\n    keep: { untagged: false }\n";
    crate::policy::parse_policy("(every container package)", LIST_ALL.as_bytes())
        .map_err(|e| crate::outcome::Failure::run(format!("{e}")))
}

/// Sort the tags of every container package of `inventory` into families.
pub fn survey(inventory: &Inventory) -> Survey {
    let mut s = Survey {
        owner: inventory.owner.clone(),
        ..Survey::default()
    };
    let mut tagged: Vec<(String, String, DateTime<Utc>, Family)> = Vec::new();
    for entry in &inventory.packages {
        let name = &entry.package.name;
        if !entry.package.package_type.is_image() {
            s.skipped.push(name.clone());
            continue;
        }
        s.packages.push(name.clone());
        for v in &entry.versions {
            s.versions += 1;
            if v.tags().is_empty() {
                s.untagged.add(name, v.updated_at, None);
            }
            for tag in v.tags() {
                tagged.push((name.clone(), tag.clone(), v.updated_at, classify(tag)));
            }
        }
    }
    s.packages.sort();
    s.packages.dedup();
    s.skipped.sort();
    s.skipped.dedup();
    // A branch whose rule would also select a tag of another family is left out: its builds
    // are then not covered (they stay).
    let branches: BTreeSet<String> = tagged
        .iter()
        .filter_map(|(_, _, _, f)| match f {
            Family::Branch(b) => Some(b.clone()),
            _ => None,
        })
        .collect();
    let clashing: BTreeSet<String> = branches
        .iter()
        .filter(|b| {
            let Ok(re) = regex::Regex::new(&families::branch_regex(&[b.to_string()])) else {
                return true;
            };
            tagged
                .iter()
                .any(|(_, t, _, f)| f != &Family::Branch(b.to_string()) && re.is_match(t))
        })
        .cloned()
        .collect();
    // Each version counts once per family, whatever number of its tags are of it.
    let mut seen: BTreeSet<(String, u64, String)> = BTreeSet::new();
    let ids: BTreeMap<(String, String), u64> = inventory
        .packages
        .iter()
        .flat_map(|e| {
            e.versions.iter().flat_map(move |v| {
                v.tags()
                    .iter()
                    .map(move |t| ((e.package.name.clone(), t.clone()), v.id))
            })
        })
        .collect();
    let mut other: BTreeSet<String> = BTreeSet::new();
    for (package, tag, at, family) in tagged {
        let family = match family {
            Family::Branch(b) if clashing.contains(&b) => Family::Other,
            f => f,
        };
        let id = ids
            .get(&(package.clone(), tag.clone()))
            .copied()
            .unwrap_or(0);
        let key = match &family {
            Family::Branch(_) => "branch".to_string(),
            f => format!("{f:?}"),
        };
        let first = seen.insert((package.clone(), id, key));
        let stats = match &family {
            Family::Release => &mut s.releases,
            Family::Moving => &mut s.moving,
            Family::PullRequest => &mut s.pull_requests,
            Family::Branch(b) => {
                if first {
                    *s.branches.entry(b.clone()).or_insert(0) += 1;
                }
                &mut s.branch_builds
            }
            Family::Date => &mut s.dates,
            Family::Artifact => &mut s.artifacts,
            Family::Other => {
                other.insert(tag.clone());
                continue;
            }
        };
        if first {
            stats.add(&package, at, Some(&tag));
        } else if stats.examples.len() < 2 && !stats.examples.contains(&tag) {
            stats.examples.push(tag);
        }
    }
    s.not_covered = other.into_iter().collect();
    s
}

#[cfg(test)]
mod tests;
