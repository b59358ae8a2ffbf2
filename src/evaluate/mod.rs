//! Evaluation: (Policy, Inventory, now) -> Plan. A pure function: no network, no clock, no
//! randomness, so the same input always gives the same plan.
//!
//! The decision for each package, in order:
//! 1. every rule selects versions (all its conditions hold; `newest` last, per package or group);
//! 2. guards protect versions: `min_age`, `keep_newest` (top-level images), versions whose
//!    manifest is corrupt, untagged versions whose parents are unknown;
//! 3. candidates for deletion are what a `delete` rule selects and nothing protects, plus,
//!    transitively, the dependants of a candidate (platform manifests, attestations, signatures,
//!    referrers) that nothing protects;
//! 4. everything else is kept, and whatever a kept version needs is kept with it: the children
//!    of a kept index, the signatures and referrers of a kept image. Keep always wins.
//!
//! Every decision carries its reasons: rule names, guard names, and for graph decisions the
//! digest and tags of the image that decided it.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use crate::graph::{Edge, ImageGraph, ManifestState};
use crate::inventory::{Inventory, PackageEntry, Version};
use crate::plan::{Action, PackagePlan, PartOf, Plan, Summary, VersionPlan, SCHEMA};
use crate::policy::{parse_version, GroupBy, Policy, Rule, RuleKind, Selector, Timestamp};

/// Evaluation refuses to produce a plan.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error("the plan deletes {count} versions, more than max_deletions ({max}); nothing was deleted\n  help: check the rules with `retention plan`; if the plan is right, raise safety.max_deletions in the policy or pass --max-deletions {count}")]
    TooManyDeletions { count: u64, max: u64 },
}

/// Evaluate `policy` against `inventory` as of `now`.
pub fn evaluate(
    policy: &Policy,
    inventory: &Inventory,
    now: DateTime<Utc>,
) -> Result<Plan, EvaluateError> {
    let mut packages: Vec<PackagePlan> = inventory
        .packages
        .iter()
        .filter(|p| governs(policy, p))
        .map(|p| {
            let mut plan = evaluate_package(policy, p, now);
            plan.bytes_freed = crate::space::package_bytes_freed(p, &plan);
            plan
        })
        .collect();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let mut summary = Summary {
        packages: packages.len() as u64,
        ..Summary::default()
    };
    for p in &packages {
        if let Some(b) = p.bytes_freed {
            summary.bytes_freed = Some(summary.bytes_freed.unwrap_or(0) + b);
        }
        for v in &p.versions {
            summary.versions += 1;
            match v.action {
                Action::Delete => summary.delete += 1,
                Action::Keep => summary.keep += 1,
            }
        }
    }
    if summary.delete > policy.safety.max_deletions {
        return Err(EvaluateError::TooManyDeletions {
            count: summary.delete,
            max: policy.safety.max_deletions,
        });
    }
    Ok(Plan {
        schema: SCHEMA,
        owner: inventory.owner.clone(),
        generated_at: now,
        policy_sha256: policy.sha256.clone(),
        summary,
        packages,
    })
}

/// Whether the policy governs this package (type and name globs).
pub fn governs(policy: &Policy, entry: &PackageEntry) -> bool {
    entry.package.package_type == policy.packages.package_type
        && policy.packages.names.is_match(&entry.package.name)
}

/// Whether a package's decisions could depend on its image graph: true when some version is
/// selected by a delete rule, by no keep rule, and is old enough for `min_age` (the guards that do
/// not depend on the graph). Without such a version nothing is deleted, whatever the manifests
/// say, so the registry need not be asked for them: each manifest read on ghcr.io counts as a
/// download.
pub fn needs_manifests(policy: &Policy, entry: &PackageEntry, now: DateTime<Utc>) -> bool {
    if !entry.package.package_type.is_image() {
        return false;
    }
    let ctx = Ctx::new(policy, entry, now);
    let (keep, delete) = ctx.rule_selections(policy);
    let min_age = chrono_duration(policy.safety.min_age);
    (0..entry.versions.len())
        .any(|i| !delete[i].is_empty() && keep[i].is_empty() && ctx.age[i] >= min_age)
}

/// Per-package facts the rules and guards read.
struct Ctx<'a> {
    package: &'a str,
    versions: &'a [Version],
    is_image: bool,
    /// Age of each version on the policy's timestamp (negative when in the future).
    age: Vec<chrono::Duration>,
    /// Version indices, newest first (ties: higher id first).
    order: Vec<usize>,
}

impl<'a> Ctx<'a> {
    fn new(policy: &Policy, entry: &'a PackageEntry, now: DateTime<Utc>) -> Ctx<'a> {
        let versions = &entry.versions[..];
        let ts = |v: &Version| match policy.timestamp {
            Timestamp::UpdatedAt => v.updated_at,
            Timestamp::CreatedAt => v.created_at,
        };
        let age = versions.iter().map(|v| now - ts(v)).collect();
        let mut order: Vec<usize> = (0..versions.len()).collect();
        order.sort_by(|&a, &b| {
            ts(&versions[b])
                .cmp(&ts(&versions[a]))
                .then(versions[b].id.cmp(&versions[a].id))
        });
        Ctx {
            package: &entry.package.name,
            versions,
            is_image: entry.package.package_type.is_image(),
            age,
            order,
        }
    }

    /// For each version, the keep rules and the delete rules that select it.
    fn rule_selections<'p>(&self, policy: &'p Policy) -> (Vec<Vec<&'p Rule>>, Vec<Vec<&'p Rule>>) {
        let n = self.versions.len();
        let mut keep = vec![Vec::new(); n];
        let mut delete = vec![Vec::new(); n];
        for rule in &policy.rules {
            for i in self.select(&rule.selector) {
                match rule.kind {
                    RuleKind::Keep => keep[i].push(rule),
                    RuleKind::Delete => delete[i].push(rule),
                }
            }
        }
        (keep, delete)
    }

    /// The versions a selector selects.
    fn select(&self, s: &Selector) -> Vec<usize> {
        if let Some(p) = &s.packages {
            if !p.is_match(self.package) {
                return Vec::new();
            }
        }
        let matching = self.order.iter().copied().filter(|&i| self.matches(s, i));
        let Some(n) = s.newest else {
            return matching.collect();
        };
        // `order` is newest first, so the first N of each group are its newest.
        let mut taken: HashMap<Option<String>, usize> = HashMap::new();
        let mut out = Vec::new();
        for i in matching {
            let key = match &s.group_by {
                None => None,
                Some(g) => match self.group_key(g, i) {
                    Some(k) => Some(k),
                    None => continue,
                },
            };
            let count = taken.entry(key).or_insert(0);
            if *count < n {
                *count += 1;
                out.push(i);
            }
        }
        out
    }

    /// Every condition but `newest`.
    fn matches(&self, s: &Selector, i: usize) -> bool {
        let v = &self.versions[i];
        let tags = v.tags();
        if let Some(untagged) = s.untagged {
            if tags.is_empty() != untagged {
                return false;
            }
        }
        if let Some(g) = &s.tags {
            if !tags.iter().any(|t| g.is_match(t)) {
                return false;
            }
        }
        if let Some(r) = &s.tag_regex {
            if !tags.iter().any(|t| r.is_match(t)) {
                return false;
            }
        }
        if let Some(g) = &s.versions {
            if !g.is_match(&v.name) {
                return false;
            }
        }
        if s.semver.is_some() || s.prerelease.is_some() {
            let parsed: Vec<semver::Version> =
                self.version_strings(i).filter_map(parse_version).collect();
            if let Some(req) = &s.semver {
                if !parsed.iter().any(|p| req.matches(p)) {
                    return false;
                }
            }
            if let Some(pre) = s.prerelease {
                if !parsed.iter().any(|p| p.pre.is_empty() != pre) {
                    return false;
                }
            }
        }
        if let Some(d) = s.older_than {
            if self.age[i] <= chrono_duration(d) {
                return false;
            }
        }
        if let Some(d) = s.newer_than {
            if self.age[i] >= chrono_duration(d) {
                return false;
            }
        }
        true
    }

    /// The strings that name a version: its tags for images, its name otherwise.
    fn version_strings(&self, i: usize) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        let v: &'a Version = &self.versions[i];
        if self.is_image {
            Box::new(v.tags().iter().map(String::as_str))
        } else {
            Box::new(std::iter::once(v.name.as_str()))
        }
    }

    fn group_key(&self, g: &GroupBy, i: usize) -> Option<String> {
        match g {
            GroupBy::Major => self
                .version_strings(i)
                .filter_map(parse_version)
                .next()
                .map(|v| v.major.to_string()),
            GroupBy::Minor => self
                .version_strings(i)
                .filter_map(parse_version)
                .next()
                .map(|v| format!("{}.{}", v.major, v.minor)),
            GroupBy::Regex(r) => self.version_strings(i).find_map(|s| {
                r.captures(s)
                    .and_then(|c| c.get(1))
                    .map(|m| m.as_str().to_string())
            }),
        }
    }
}

fn chrono_duration(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Why a version is deleted or kept through the graph.
#[derive(Clone, Copy)]
struct Via {
    /// The version that decided it (its index or subject).
    by: usize,
    edge: Edge,
    /// The top of the chain (the tagged image), when different from `by`.
    root: usize,
}

fn evaluate_package(policy: &Policy, entry: &PackageEntry, now: DateTime<Utc>) -> PackagePlan {
    let ctx = Ctx::new(policy, entry, now);
    let versions = &entry.versions;
    let n = versions.len();
    let graph = if ctx.is_image {
        ImageGraph::build(versions, &entry.manifests)
    } else {
        ImageGraph::isolated(n)
    };
    let top_level = |i: usize| graph.is_top_level(i);

    let (keep_by, delete_by) = ctx.rule_selections(policy);

    // Guards.
    let mut guards: Vec<Vec<String>> = vec![Vec::new(); n];
    let min_age = chrono_duration(policy.safety.min_age);
    let young = format!(
        "safety.min_age: younger than {}",
        humantime::format_duration(policy.safety.min_age)
    );
    for (guard, age) in guards.iter_mut().zip(&ctx.age) {
        if *age < min_age {
            guard.push(young.clone());
        }
    }
    let keep_newest = policy.safety.keep_newest;
    if keep_newest > 0 {
        let what = if ctx.is_image { "images" } else { "versions" };
        for &i in ctx
            .order
            .iter()
            .filter(|&&i| top_level(i))
            .take(keep_newest)
        {
            guards[i].push(format!(
                "safety.keep_newest: one of the {keep_newest} newest {what}"
            ));
        }
    }
    {
        let unknown: Vec<&str> = versions
            .iter()
            .zip(&graph.manifest)
            .filter(|(_, m)| **m != ManifestState::Known)
            .map(|(v, _)| v.name.as_str())
            .collect();
        let parents_unknown = format!(
            "untagged and its parents are unknown: {} manifest{} of this package could not be read ({})",
            unknown.len(),
            if unknown.len() == 1 { "" } else { "s" },
            short_list(&unknown)
        );
        for (i, guard) in guards.iter_mut().enumerate() {
            if let ManifestState::Corrupt(why) = &graph.manifest[i] {
                guard.push(format!("manifest unusable: {why}"));
            }
            if graph.parents_unknown[i] {
                guard.push(parents_unknown.clone());
            } else if graph.manifest[i] == ManifestState::Missing
                && guard.is_empty()
                && keep_by[i].is_empty()
                && (!delete_by[i].is_empty() || !graph.parents[i].is_empty())
            {
                // It may be an index: deleting it would let the registry remove its untagged
                // children, which a kept image may share.
                guard.push(
                    "manifest not read: it may be an index whose children a kept image shares"
                        .to_string(),
                );
            }
        }
    }
    let protected = |i: usize| !keep_by[i].is_empty() || !guards[i].is_empty();

    // Candidates: selected by a delete rule, or dependants of a candidate; never protected.
    let mut deleted = vec![false; n];
    let mut deleted_via: Vec<Option<Via>> = vec![None; n];
    let mut queue = VecDeque::new();
    for &i in &ctx.order {
        if !delete_by[i].is_empty() && !protected(i) {
            deleted[i] = true;
            queue.push_back(i);
        }
    }
    while let Some(d) = queue.pop_front() {
        for &(c, edge) in &graph.dependants[d] {
            if protected(c) {
                continue;
            }
            if deleted_via[c].is_none() {
                let root = deleted_via[d].map_or(d, |v| v.root);
                deleted_via[c] = Some(Via { by: d, edge, root });
            }
            if !deleted[c] {
                deleted[c] = true;
                queue.push_back(c);
            }
        }
    }

    // Keep wins: whatever a kept version needs (its children, referrers) is kept too.
    let mut kept_via: Vec<Option<Via>> = vec![None; n];
    // Tops first, so that a reason names the image at the top of the chain.
    let mut start: Vec<usize> = ctx.order.iter().copied().filter(|&i| !deleted[i]).collect();
    start.sort_by_key(|&i| !graph.parents[i].is_empty());
    keep_needed(&graph, start, &mut deleted, &mut kept_via, &protected);

    // A registry may remove an index's untagged children when the index is deleted (ghcr.io
    // does). Deleting an index that lists an untagged version that stays could take that
    // version away from the image that needs it: such an index is withheld, and what it needs
    // is kept with it. Repeat until nothing changes (a withheld inner index shields its parent).
    let mut shielded_by: Vec<Option<usize>> = vec![None; n];
    loop {
        let withheld: Vec<usize> = ctx
            .order
            .iter()
            .copied()
            .filter(|&d| deleted[d])
            .filter_map(|d| {
                let c = graph.listed[d]
                    .iter()
                    .copied()
                    .find(|&c| !deleted[c] && versions[c].tags().is_empty())?;
                shielded_by[d] = Some(c);
                Some(d)
            })
            .collect();
        if withheld.is_empty() {
            break;
        }
        for &d in &withheld {
            deleted[d] = false;
        }
        keep_needed(&graph, withheld, &mut deleted, &mut kept_via, &protected);
    }

    let describe = |i: usize| describe_image(&versions[i]);
    let via_text = |via: Via, state: &str| {
        let mut s = format!("{} of {state} image {}", via.edge.label(), describe(via.by));
        if via.root != via.by {
            s.push_str(&format!(", part of {}", describe(via.root)));
        }
        s
    };

    let plans = ctx
        .order
        .iter()
        .map(|&i| {
            let v = &versions[i];
            let mut reasons = Vec::new();
            let action = if deleted[i] {
                reasons.extend(delete_by[i].iter().map(|r| r.name.clone()));
                if let Some(via) = deleted_via[i] {
                    reasons.push(via_text(via, "deleted"));
                }
                Action::Delete
            } else {
                reasons.extend(keep_by[i].iter().map(|r| r.name.clone()));
                reasons.extend(guards[i].iter().cloned());
                if let Some(via) = kept_via[i] {
                    reasons.push(via_text(via, "kept"));
                }
                if let Some(c) = shielded_by[i] {
                    let needs = match kept_via[c] {
                        Some(via) => format!("which kept image {} needs", describe(via.root)),
                        None => "which stays".to_string(),
                    };
                    reasons.push(format!(
                        "withheld: deleting it would let the registry remove {} with it, {needs}",
                        describe(c)
                    ));
                }
                if reasons.is_empty() {
                    reasons.push(if delete_by[i].is_empty() {
                        "no rule selects it".to_string()
                    } else {
                        "kept".to_string()
                    });
                }
                if !delete_by[i].is_empty() {
                    let names: Vec<String> = delete_by[i]
                        .iter()
                        .map(|r| format!("'{}'", r.name))
                        .collect();
                    reasons.push(format!("keep wins over delete rule {}", names.join(", ")));
                }
                Action::Keep
            };
            let mut after: Vec<u64> = if deleted[i] {
                graph.parents[i]
                    .iter()
                    .filter(|(p, _)| deleted[*p])
                    .map(|(p, _)| versions[*p].id)
                    .collect()
            } else {
                Vec::new()
            };
            after.sort_unstable();
            after.dedup();
            VersionPlan {
                after,
                untag: Vec::new(),
                part_of: graph
                    .part_of(i, |j| versions[j].id)
                    .map(|(top, edge)| PartOf {
                        image: versions[top].id,
                        kind: edge.part_kind(),
                    }),
                withheld: action == Action::Keep
                    && !delete_by[i].is_empty()
                    && keep_by[i].is_empty()
                    && kept_via[i].is_none(),
                id: v.id,
                name: v.name.clone(),
                tags: v.tags().to_vec(),
                created_at: v.created_at,
                updated_at: v.updated_at,
                action,
                reasons,
            }
        })
        .collect();

    let mut warnings = graph.warnings.clone();
    let withheld = (0..n)
        .filter(|&i| graph.manifest[i] != ManifestState::Known || graph.parents_unknown[i])
        .filter(|&i| !delete_by[i].is_empty())
        .count();
    if withheld > 0 {
        warnings.push(format!(
            "{withheld} version{} selected for deletion {} kept: {} manifest{} of this package could not be read, so what they are part of is unknown",
            if withheld == 1 { "" } else { "s" },
            if withheld == 1 { "is" } else { "are" },
            graph.unknown_manifests(),
            if graph.unknown_manifests() == 1 { "" } else { "s" }
        ));
    }
    PackagePlan {
        name: entry.package.name.clone(),
        package_type: entry.package.package_type,
        warnings,
        broken: Vec::new(),
        bytes_freed: None,
        versions: plans,
    }
}

/// Keep whatever the versions in `start` need, transitively (children, referrers); a version
/// rescued from deletion or with no reason of its own records which kept image needed it.
fn keep_needed(
    graph: &ImageGraph,
    start: Vec<usize>,
    deleted: &mut [bool],
    kept_via: &mut [Option<Via>],
    protected: &dyn Fn(usize) -> bool,
) {
    let mut queue: VecDeque<usize> = start.into();
    while let Some(k) = queue.pop_front() {
        for &(c, edge) in &graph.dependants[k] {
            if kept_via[c].is_none() && (deleted[c] || !protected(c)) {
                let root = kept_via[k].map_or(k, |v| v.root);
                kept_via[c] = Some(Via { by: k, edge, root });
                if deleted[c] {
                    deleted[c] = false;
                    queue.push_back(c);
                }
            }
        }
    }
}

/// `sha256:0123456789ab (v1.2, latest)`, or `(untagged)`.
fn describe_image(v: &Version) -> String {
    let short = match v.name.strip_prefix("sha256:") {
        Some(hex) if hex.len() > 12 => format!("sha256:{}", &hex[..12]),
        _ => v.name.clone(),
    };
    if v.tags().is_empty() {
        format!("{short} (untagged)")
    } else {
        format!("{short} ({})", v.tags().join(", "))
    }
}

fn short_list(items: &[&str]) -> String {
    let shown: Vec<&str> = items.iter().take(3).copied().collect();
    if items.len() > 3 {
        format!("{} and {} more", shown.join(", "), items.len() - 3)
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests;
