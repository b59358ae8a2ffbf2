//! Evaluation: (Policy, Inventory, now) -> Plan. A pure function: no network, no clock, no
//! randomness, so the same input always gives the same plan.
//!
//! The decision for each package runs in named phases:
//! 1. [`select`]: every rule selects versions, or tags of versions (`tags`, `tag_regex`);
//!    `newest` counts top-level images only, last, per package or group;
//! 2. [`guards`]: `min_age`, `keep_newest` (top-level images), versions whose manifest is
//!    corrupt or was not read, untagged versions whose parents are unknown, and tagged versions
//!    selected for deletion whole while their parents are unknown (a kept index may list them);
//! 3. [`propagate_deletions`]: a version whose every tag a delete rule selects (an untagged one:
//!    that a delete rule selects) and that nothing protects is deleted, and with it, transitively,
//!    its dependants (platform manifests, attestations, signatures, referrers) that nothing
//!    protects;
//! 4. [`protect_needed`]: whatever a kept version needs is kept with it (the children of a kept
//!    index, the signatures and referrers of a kept image); keep always wins. An index whose
//!    deletion would let the registry remove an untagged child that stays and that no index
//!    that stays lists is withheld;
//! 5. [`tags_to_remove`]: an image that stays loses the tags a delete rule selects and no keep
//!    rule does ("untag"); its last tag too when it stays only because a kept image needs it
//!    (a platform manifest of a kept index), never when a keep rule or a guard keeps it;
//! 6. [`reasons`]: every decision carries typed [`Reason`]s (rules, guards, the image that decided
//!    it through the graph, keep-wins, untags) that only [`words`] turns into words (the strings of the plan).

mod in_use;
pub mod reason;
mod select;
pub mod words;

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};

use crate::graph::{tag_subject, Edge, ManifestState};
use crate::inventory::{Inventory, PackageEntry};
use crate::plan::{
    Action, BrokenImage, BrokenKind, PackagePlan, PartOf, Plan, Summary, VersionPlan, SCHEMA,
};
use crate::policy::{Policy, Rule};
use words::words;

use reason::{Guard, ImageRef, Reason};
use select::{chrono_duration, Ctx, Selected};

/// Evaluation refuses to produce a plan.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error("the plan deletes {}, more than max_deletions ({max}); nothing was deleted\n  help: check the rules with `retention plan`; if the plan is right, raise safety.max_deletions in the policy or pass --max-deletions {count}", crate::plural::count(*count, "version", "versions"))]
    TooManyDeletions { count: u64, max: u64 },
    #[error("the plan removes {} from images that stay, more than max_untags ({max}); nothing was changed\n  help: check the rules with `retention plan` (a `tags` rule removes the tags it selects from images that keep other tags); if the plan is right, raise safety.max_untags in the policy, or set safety.untag: false to keep such tags", crate::plural::count(*count, "tag", "tags"))]
    TooManyUntags { count: u64, max: u64 },
}

/// Evaluate `policy` against `inventory` as of `now`: every governed package
/// ([`plan_package`]), the plan with its summary ([`assemble`]), then the safety limits
/// ([`check_limits`]).
pub fn evaluate(
    policy: &Policy,
    inventory: &Inventory,
    now: DateTime<Utc>,
) -> Result<Plan, EvaluateError> {
    let plan = evaluate_unchecked(policy, inventory, now);
    check_limits(policy, &plan)?;
    Ok(plan)
}

/// The plan [`evaluate`] makes, without refusing one over the safety limits: what `plan --base`
/// compares with when the current policy is over its own limits (its runs change nothing today,
/// and the change under review may be the fix).
pub fn evaluate_unchecked(policy: &Policy, inventory: &Inventory, now: DateTime<Utc>) -> Plan {
    let listed = listed_digests(&inventory.packages);
    let packages: Vec<PackagePlan> = inventory
        .packages
        .iter()
        .filter(|p| governs(policy, p))
        .map(|p| plan_package_in(policy, p, now, &|d| listed.contains(d)))
        .collect();
    assemble(policy, &inventory.owner, now, packages)
}

/// The digests of every image version of `packages` (every package listed in a run): where an
/// artifact's subject is looked up when it is not in the artifact's own package (cosign's
/// `COSIGN_REPOSITORY` keeps signatures in a package of their own).
pub fn listed_digests(packages: &[PackageEntry]) -> HashSet<&str> {
    packages
        .iter()
        .filter(|p| p.package.package_type.is_image())
        .flat_map(|p| p.versions.iter().map(|v| v.name.as_str()))
        .collect()
}

/// The plan of one governed package, with the space its deletions free, with no other package
/// listed ([`plan_package_in`]).
pub fn plan_package(policy: &Policy, entry: &PackageEntry, now: DateTime<Utc>) -> PackagePlan {
    plan_package_in(policy, entry, now, &|_| false)
}

/// The plan of one governed package, with the space its deletions free; `elsewhere(digest)`:
/// whether a package listed in the run has that digest ([`listed_digests`]). Each package is
/// decided on its own (with what the run listed elsewhere), so evaluating package by package
/// (`apply --policy` does, to delete sooner) and [`assemble`]-ing gives the plan [`evaluate`]
/// makes at once.
pub fn plan_package_in(
    policy: &Policy,
    entry: &PackageEntry,
    now: DateTime<Utc>,
    elsewhere: &dyn Fn(&str) -> bool,
) -> PackagePlan {
    let mut plan = evaluate_package(policy, entry, now, elsewhere);
    plan.bytes_freed = crate::space::package_bytes_freed(entry, &plan);
    plan
}

/// The plan of the given package plans: sorted by name, with its summary (counts, untags,
/// broken images, space freed). The one place a plan's summary is computed.
pub fn assemble(
    policy: &Policy,
    owner: &str,
    now: DateTime<Utc>,
    mut packages: Vec<PackagePlan>,
) -> Plan {
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let mut summary = Summary {
        packages: packages.len() as u64,
        ..Summary::default()
    };
    // The sum of the packages' known estimates; unknown once it would overflow.
    let mut overflowed = false;
    for p in &packages {
        summary.broken += p.broken.len() as u64;
        if let Some(b) = p.bytes_freed {
            let sum = summary.bytes_freed.unwrap_or(0).checked_add(b);
            overflowed |= sum.is_none();
            summary.bytes_freed = sum.filter(|_| !overflowed);
        }
        for v in &p.versions {
            summary.versions += 1;
            summary.untag += v.untag.len() as u64;
            match v.action {
                Action::Delete => summary.delete += 1,
                Action::Keep => summary.keep += 1,
            }
        }
    }
    Plan {
        schema: SCHEMA,
        owner: owner.to_string(),
        generated_at: now,
        policy_sha256: policy.sha256.clone(),
        max_deletions: Some(policy.safety.max_deletions),
        summary,
        packages,
    }
}

/// Refuse a plan over `safety.max_deletions` or `safety.max_untags`.
pub fn check_limits(policy: &Policy, plan: &Plan) -> Result<(), EvaluateError> {
    let summary = &plan.summary;
    if summary.delete > policy.safety.max_deletions {
        return Err(EvaluateError::TooManyDeletions {
            count: summary.delete,
            max: policy.safety.max_deletions,
        });
    }
    if summary.untag > policy.safety.max_untags {
        return Err(EvaluateError::TooManyUntags {
            count: summary.untag,
            max: policy.safety.max_untags,
        });
    }
    Ok(())
}

/// Whether the policy governs this package (type and name globs).
pub fn governs(policy: &Policy, entry: &PackageEntry) -> bool {
    entry.package.package_type == policy.packages.package_type
        && policy.packages.names.is_match(&entry.package.name)
}

/// Whether a package's decisions could depend on its image graph: true when some version, old
/// enough for `min_age`, has every tag selected by a delete rule and is selected by no keep
/// rule, or has a tag to remove; and always when a rule looks for broken images (`ghost`,
/// `partial`, `orphaned`), which only the manifests reveal. Otherwise nothing is deleted or
/// untagged, whatever the manifests say, so the registry need not be asked for them: each
/// manifest read on ghcr.io counts as a download.
pub fn needs_manifests(policy: &Policy, entry: &PackageEntry, now: DateTime<Utc>) -> bool {
    if !entry.package.package_type.is_image() {
        return false;
    }
    if looks_for_broken(policy, &entry.package.name) {
        return true;
    }
    let ctx = Ctx::new(policy, entry, now);
    let sel = ctx.rule_selections(policy);
    let min_age = chrono_duration(policy.safety.min_age);
    (0..entry.versions.len()).any(|i| {
        ctx.age[i] >= min_age
            && ((sel[i].every_tag_deleted() && sel[i].keep.is_empty())
                || (policy.safety.untag
                    && !sel[i].tags_to_remove(entry.versions[i].tags()).is_empty()))
    })
}

/// Whether a rule for `package` looks for broken images (`ghost`, `partial`, `orphaned`).
fn looks_for_broken(policy: &Policy, package: &str) -> bool {
    policy.rules.iter().any(|r| {
        let s = &r.selector;
        (s.ghost.is_some() || s.partial.is_some() || s.orphaned.is_some())
            && s.packages.as_ref().is_none_or(|p| p.is_match(package))
    })
}

/// Whether [`needs_manifests`] is sure to hold for the whole package when `partial` holds only
/// some of its versions (a listing still under way): then the manifests can be read before the
/// listing ends, and none is read that the whole package would not need.
///
/// Sure when a rule looks for broken images, or when no rule counts `newest`: every other
/// condition (tags, age, name, semver, untagged) is a condition on one version alone, so a
/// version that makes the manifests needed among some versions makes them needed among all
/// (and `partial` may hold any of them, e.g. one listing page). With `newest`, a version's
/// selection depends on the versions not listed yet: not sure, and the reads wait for the whole
/// listing ([`needs_knowable_early`] says so without looking at any version).
pub fn needs_manifests_known_early(
    policy: &Policy,
    partial: &PackageEntry,
    now: DateTime<Utc>,
) -> bool {
    needs_knowable_early(policy, &partial.package.name)
        && governs(policy, partial)
        && needs_manifests(policy, partial, now)
}

/// Whether [`needs_manifests_known_early`] can ever be true for the package `package`: a rule
/// looks for broken images in it, or no rule counts `newest`.
pub fn needs_knowable_early(policy: &Policy, package: &str) -> bool {
    let counts_newest = policy.rules.iter().any(|r| r.selector.newest.is_some());
    !counts_newest || looks_for_broken(policy, package)
}

/// An upper bound of the tags the plan removes from this package's images, known before any
/// manifest is read: none when tags are not removed (`safety.untag: false`) or nothing in the
/// package depends on its manifests ([`needs_manifests`]); otherwise every tag that may be
/// removed at all (every own tag: an image that stays only as a part of a kept image loses
/// its last one; artifact tags follow their subject).
pub fn untag_bound(policy: &Policy, entry: &PackageEntry, now: DateTime<Utc>) -> u64 {
    if !policy.safety.untag || !needs_manifests(policy, entry, now) {
        return 0;
    }
    entry
        .versions
        .iter()
        .map(|v| {
            let tags = v.tags();
            // Every own tag, when the image stays only as a part of a kept image.
            tags.iter().filter(|t| tag_subject(t).is_none()).count() as u64
        })
        .sum()
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

/// The decision for one version, with typed reasons.
#[derive(Clone, Debug)]
pub(crate) struct Decision<'a> {
    /// Position in the package's `versions`.
    pub index: usize,
    pub action: Action,
    pub reasons: Vec<Reason<'a>>,
    pub untag: Vec<String>,
    pub withheld: bool,
    pub after: Vec<u64>,
    pub part_of: Option<PartOf>,
    /// Where it is used (`file:line`), when a reference found by `in_use` names it.
    pub in_use: Vec<String>,
}

/// The decisions for one package, newest first, and what the user should know of it.
pub(crate) struct PackageDecisions<'a> {
    pub decisions: Vec<Decision<'a>>,
    pub warnings: Vec<String>,
    pub broken: Vec<BrokenImage>,
}

fn evaluate_package(
    policy: &Policy,
    entry: &PackageEntry,
    now: DateTime<Utc>,
    elsewhere: &dyn Fn(&str) -> bool,
) -> PackagePlan {
    let decided = decide_package_in(policy, entry, now, elsewhere);
    let versions = decided
        .decisions
        .into_iter()
        .map(|d| {
            let v = &entry.versions[d.index];
            VersionPlan {
                id: v.id,
                name: v.name.clone(),
                tags: v.tags().to_vec(),
                created_at: v.created_at,
                updated_at: v.updated_at,
                action: d.action,
                reasons: d.reasons.iter().map(words).collect(),
                withheld: d.withheld,
                after: d.after,
                untag: d.untag,
                part_of: d.part_of,
                in_use: d.in_use,
            }
        })
        .collect();
    PackagePlan {
        name: entry.package.name.clone(),
        package_type: entry.package.package_type,
        warnings: decided.warnings,
        broken: decided.broken,
        bytes_freed: None,
        versions,
    }
}

/// What the phases decided for each version of a package (indexed like its `versions`).
struct Outcome<'p> {
    sel: Vec<Selected<'p>>,
    guards: Vec<Vec<Guard>>,
    deleted: Vec<bool>,
    deleted_via: Vec<Option<Via>>,
    kept_via: Vec<Option<Via>>,
    withheld_for: Vec<Option<usize>>,
    removed: Vec<Option<Vec<usize>>>,
}

/// Decide every version of one package.
#[cfg(test)]
pub(crate) fn decide_package<'a>(
    policy: &'a Policy,
    entry: &'a PackageEntry,
    now: DateTime<Utc>,
) -> PackageDecisions<'a> {
    decide_package_in(policy, entry, now, &|_| false)
}

/// Decide every version of one package, with what the run listed elsewhere.
pub(crate) fn decide_package_in<'a>(
    policy: &'a Policy,
    entry: &'a PackageEntry,
    now: DateTime<Utc>,
    elsewhere: &dyn Fn(&str) -> bool,
) -> PackageDecisions<'a> {
    let ctx = Ctx::new_in(policy, entry, now, elsewhere);
    let sel = ctx.rule_selections(policy);
    let guards = guards(policy, &ctx, &sel);
    let protected = |i: usize| !sel[i].keep.is_empty() || !guards[i].is_empty();
    let (mut deleted, deleted_via) = propagate_deletions(&ctx, &sel, &protected);
    let (kept_via, withheld_for) = protect_needed(&ctx, &mut deleted, &protected);
    let removed = tags_to_remove(&ctx, &sel, &guards, &deleted, &kept_via, &withheld_for);
    let outcome = Outcome {
        sel,
        guards,
        deleted,
        deleted_via,
        kept_via,
        withheld_for,
        removed,
    };
    let (sel, deleted) = (&outcome.sel, &outcome.deleted);
    // Once for all versions: a walk per version is quadratic on nested untagged indexes.
    let parts_of = ctx.graph.parts_of(|j| ctx.versions[j].id);
    let decisions: Vec<Decision> = ctx
        .order
        .iter()
        .map(|&i| {
            let s = &sel[i];
            let action = if deleted[i] {
                Action::Delete
            } else {
                Action::Keep
            };
            let after = if deleted[i] {
                let mut after: Vec<u64> = ctx.graph.parents[i]
                    .iter()
                    .filter(|(p, _)| deleted[*p])
                    .map(|(p, _)| ctx.versions[*p].id)
                    .collect();
                after.sort_unstable();
                after.dedup();
                after
            } else {
                Vec::new()
            };
            let untag = match (&outcome.removed[i], policy.safety.untag) {
                (Some(tags), true) => tags
                    .iter()
                    .map(|&j| ctx.versions[i].tags()[j].clone())
                    .collect(),
                _ => Vec::new(),
            };
            Decision {
                index: i,
                action,
                reasons: reasons(policy, &ctx, &outcome, i),
                untag,
                withheld: !deleted[i]
                    && s.every_tag_deleted()
                    && s.keep.is_empty()
                    && outcome.kept_via[i].is_none(),
                after,
                part_of: parts_of[i].map(|(top, edge)| PartOf {
                    image: ctx.versions[top].id,
                    kind: edge.part_kind(),
                }),
                in_use: ctx.in_use[i]
                    .as_ref()
                    .map(|h| h.at.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();

    let broken = broken_images(&ctx);
    let warnings = package_warnings(&ctx, &outcome, &decisions, &broken);
    PackageDecisions {
        decisions,
        warnings,
        broken,
    }
}

/// The warnings of one package's decisions: the graph's, an incomplete listing, what is in use
/// and deleted, deletions withheld for unreadable manifests, broken images.
fn package_warnings(
    ctx: &Ctx,
    outcome: &Outcome,
    decisions: &[Decision],
    broken: &[BrokenImage],
) -> Vec<String> {
    let (sel, deleted) = (&outcome.sel, &outcome.deleted);
    let mut warnings = ctx.graph.warnings.clone();
    if let Some(gap) = ctx.listing_gap {
        let withheld = (0..ctx.versions.len())
            .filter(|&i| {
                outcome.guards[i]
                    .iter()
                    .any(|g| matches!(g, Guard::ListingIncomplete { .. }))
            })
            .filter(|&i| sel[i].every_tag_deleted() && !deleted[i])
            .count();
        warnings.push(format!(
            "the listing is incomplete: {} listed, GitHub counts {} (versions were deleted or pushed while it was listed, twice); {} that would rest on a version's absence (untagged leftovers, images the missing version may list, ghost, partial, orphaned) {} withheld: run again",
            crate::plural::count(gap.listed as usize, "version", "versions"),
            gap.version_count,
            crate::plural::count(withheld, "deletion", "deletions"),
            crate::plural::word(withheld, "is", "are"),
        ));
    }
    let unknown = ctx.graph.unknown_manifests();
    warnings.extend(ctx.in_use_missing.iter().cloned());
    warnings.extend(in_use_deleted(ctx, deleted));
    let mut removed: Vec<Vec<String>> = vec![Vec::new(); ctx.versions.len()];
    for d in decisions {
        removed[d.index].clone_from(&d.untag);
    }
    let kept: Vec<bool> = deleted.iter().map(|d| !d).collect();
    warnings.extend(in_use::untag_warnings(
        ctx.versions,
        &ctx.order,
        &ctx.in_use,
        &removed,
        &kept,
    ));
    let withheld = (0..ctx.versions.len())
        .filter(|&i| {
            ctx.graph.manifest[i] != ManifestState::Known
                || ctx.graph.parents_unknown[i]
                || outcome.guards[i]
                    .iter()
                    .any(|g| matches!(g, Guard::ParentsUnknown { .. }))
        })
        .filter(|&i| sel[i].every_tag_deleted())
        .count();
    if withheld > 0 && unknown > 0 {
        warnings.push(format!(
            "{} selected for deletion {} kept: {} of this package could not be read, so what they are part of is unknown",
            crate::plural::count(withheld, "version", "versions"),
            crate::plural::word(withheld, "is", "are"),
            crate::plural::count(unknown, "manifest", "manifests"),
        ));
    }
    let kept = (0..ctx.versions.len())
        .filter(|&i| ctx.graph.broken[i].is_some() && !deleted[i])
        .count();
    if let Some(w) = broken_warning(broken, kept) {
        warnings.push(w);
    }
    warnings
}

/// Phase 2: the guards that protect each version whatever the rules say.
fn guards(policy: &Policy, ctx: &Ctx, sel: &[Selected]) -> Vec<Vec<Guard>> {
    let n = ctx.versions.len();
    let graph = &ctx.graph;
    let mut guards: Vec<Vec<Guard>> = vec![Vec::new(); n];
    let min_age = chrono_duration(policy.safety.min_age);
    for (guard, age) in guards.iter_mut().zip(&ctx.age) {
        if *age < min_age {
            guard.push(Guard::MinAge(policy.safety.min_age));
        }
    }
    let keep_newest = policy.safety.keep_newest;
    if keep_newest > 0 {
        for &i in ctx
            .order
            .iter()
            .filter(|&&i| graph.is_top_level(i))
            .take(keep_newest)
        {
            guards[i].push(Guard::KeepNewest {
                n: keep_newest,
                images: ctx.is_image,
            });
        }
    }
    // The unknown manifests, counted, and the first few named (each untagged version's
    // guard carries them: never the whole list, which can be as long as the package).
    let unknown = ctx
        .versions
        .iter()
        .zip(&graph.manifest)
        .filter(|(_, m)| **m != ManifestState::Known);
    let (count, sample): (usize, Vec<String>) = (
        unknown.clone().count(),
        unknown.take(3).map(|(v, _)| v.name.clone()).collect(),
    );
    for (i, guard) in guards.iter_mut().enumerate() {
        if let ManifestState::Corrupt(why) = &graph.manifest[i] {
            guard.push(Guard::ManifestUnusable(why.clone()));
        }
        // A tagged version selected for deletion whole, in a package where a version whose
        // manifest is unknown (not read, or not listed at all) may be a kept index that lists
        // it: deleting it could break that index, so it is withheld like an untagged one. (Its
        // own manifest unknown: `ManifestNotRead` below, or `ManifestUnusable`.)
        let tagged_part = |unknown: bool| {
            unknown
                && ctx.is_image
                && !ctx.versions[i].tags().is_empty()
                && graph.manifest[i] == ManifestState::Known
                && sel[i].every_tag_deleted()
                && sel[i].keep.is_empty()
        };
        let missing = ctx.listing_gap.map(|g| Guard::ListingIncomplete {
            listed: g.listed,
            version_count: g.version_count,
        });
        if let Some(missing) = &missing {
            if graph.parents_unknown[i] || graph.broken[i].is_some() || tagged_part(true) {
                guard.push(missing.clone());
            }
        }
        if graph.parents_unknown[i] || tagged_part(count > 0) {
            if count > 0 {
                guard.push(Guard::ParentsUnknown {
                    count,
                    sample: sample.clone(),
                    tagged: !graph.parents_unknown[i],
                });
            }
        } else if graph.manifest[i] == ManifestState::Missing
            && guard.is_empty()
            && sel[i].keep.is_empty()
            && (sel[i].every_tag_deleted() || !graph.parents[i].is_empty())
        {
            // It may be an index: deleting it would let the registry remove its untagged
            // children, which a kept image may share or a guard may protect.
            guard.push(Guard::ManifestNotRead);
        } else if graph.manifest[i] == ManifestState::Missing
            && ctx.is_image
            && !sel[i].tags_to_remove(ctx.versions[i].tags()).is_empty()
        {
            guard.push(Guard::ManifestNotReadForUntag);
        }
    }
    guards
}

/// Phase 3: what is deleted before keep wins. A version whose every tag a delete rule selects
/// (an untagged version: that a delete rule selects) and that nothing protects, then,
/// transitively, the dependants of a deleted version that nothing protects and that carry no
/// tag of their own that no delete rule selects (artifact tags follow their subject).
fn propagate_deletions(
    ctx: &Ctx,
    sel: &[Selected],
    protected: &dyn Fn(usize) -> bool,
) -> (Vec<bool>, Vec<Option<Via>>) {
    let n = ctx.versions.len();
    let mut deleted = vec![false; n];
    let mut deleted_via: Vec<Option<Via>> = vec![None; n];
    let mut queue = VecDeque::new();
    for &i in &ctx.order {
        if sel[i].every_tag_deleted() && !protected(i) {
            deleted[i] = true;
            queue.push_back(i);
        }
    }
    while let Some(d) = queue.pop_front() {
        for &(c, edge) in &ctx.graph.dependants[d] {
            let tags = ctx.versions[c].tags();
            let named = (0..tags.len())
                .any(|j| sel[c].delete_tags[j].is_empty() && tag_subject(&tags[j]).is_none());
            if protected(c) || named {
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
    (deleted, deleted_via)
}

/// Phase 4: keep wins. Whatever a kept version needs (its children, referrers) is kept too.
///
/// ghcr.io removes a deleted index's untagged children that no other index lists, and spares
/// the ones another index lists. So an index may go while a kept index shares its child (the
/// child stays, kept by that index). An index listing an untagged version that stays for
/// another reason (a keep rule or a guard of its own, as the referrer of a kept subject, or
/// because it is a withheld index itself) is withheld, and what it needs kept with it, until nothing changes: the registry could take
/// that version with it. (Withholding there even when a kept index also lists the version keeps
/// the law that adding a keep rule never adds a deletion: the condition only grows with what
/// is kept.) Returns, per version, the
/// kept image that needed it and, for a withheld index, the child it was withheld for.
fn protect_needed(
    ctx: &Ctx,
    deleted: &mut [bool],
    protected: &dyn Fn(usize) -> bool,
) -> (Vec<Option<Via>>, Vec<Option<usize>>) {
    let graph = &ctx.graph;
    let n = ctx.versions.len();
    let mut kept_via: Vec<Option<Via>> = vec![None; n];
    // Tops first, so that a reason names the image at the top of the chain.
    let mut start: Vec<usize> = ctx.order.iter().copied().filter(|&i| !deleted[i]).collect();
    start.sort_by_key(|&i| !graph.parents[i].is_empty());
    keep_needed(ctx, start, deleted, &mut kept_via, protected);

    let mut withheld_for: Vec<Option<usize>> = vec![None; n];
    loop {
        let withheld: Vec<(usize, usize)> = ctx
            .order
            .iter()
            .copied()
            .filter(|&d| deleted[d])
            .filter_map(|d| {
                let c = graph.listed[d].iter().copied().find(|&c| {
                    // Needed by a kept version that does not list it: its subject.
                    let needed_unlisted = graph.parents[c]
                        .iter()
                        .any(|&(p, _)| !deleted[p] && !graph.listed[p].contains(&c));
                    !deleted[c]
                        && ctx.versions[c].tags().is_empty()
                        && (protected(c) || needed_unlisted || withheld_for[c].is_some())
                })?;
                Some((d, c))
            })
            .collect();
        if withheld.is_empty() {
            break;
        }
        for &(d, c) in &withheld {
            deleted[d] = false;
            withheld_for[d] = Some(c);
        }
        let start = withheld.iter().map(|&(d, _)| d).collect();
        keep_needed(ctx, start, deleted, &mut kept_via, protected);
    }
    (kept_via, withheld_for)
}

/// Keep whatever the versions in `start` need, transitively (children, referrers); a version
/// rescued from deletion or with no reason of its own records which kept image needed it.
fn keep_needed(
    ctx: &Ctx,
    start: Vec<usize>,
    deleted: &mut [bool],
    kept_via: &mut [Option<Via>],
    protected: &dyn Fn(usize) -> bool,
) {
    let mut queue: VecDeque<usize> = start.into();
    while let Some(k) = queue.pop_front() {
        for &(c, edge) in &ctx.graph.dependants[k] {
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

/// Phase 5: for each version that stays, the tags (indices into its tags) a delete rule selects
/// and no keep rule does, when they may be removed: never an artifact tag, never on a version
/// younger than `min_age` (a push may be in progress) or whose manifest is not known (restoring
/// the tag needs its bytes). Every tag of an image goes only when it stays *only* because a kept
/// image needs it (a platform manifest of a kept index: the user asked for the tag to go, and
/// the image must stay for the index): never when a keep rule or a guard keeps it, nor for an
/// index withheld for its child (otherwise an image whose every tag goes is deleted, or withheld
/// whole). `None` when nothing is removed. With `safety.untag: false` the result is the same,
/// and the tags stay (the reasons say so).
fn tags_to_remove(
    ctx: &Ctx,
    sel: &[Selected],
    guards: &[Vec<Guard>],
    deleted: &[bool],
    kept_via: &[Option<Via>],
    withheld_for: &[Option<usize>],
) -> Vec<Option<Vec<usize>>> {
    (0..ctx.versions.len())
        .map(|i| {
            let tags = ctx.versions[i].tags();
            let remove = sel[i].tags_to_remove(tags);
            let young = guards[i].iter().any(|g| matches!(g, Guard::MinAge(_)));
            let only_needed = kept_via[i].is_some()
                && withheld_for[i].is_none()
                && sel[i].keep.is_empty()
                && guards[i].is_empty();
            let ok = !deleted[i]
                && !remove.is_empty()
                && (remove.len() < tags.len() || only_needed)
                && !young
                && ctx.graph.manifest[i] == ManifestState::Known;
            ok.then_some(remove)
        })
        .collect()
}

/// Phase 6: the reasons of one version's decision.
fn reasons<'a>(policy: &Policy, ctx: &Ctx<'a>, o: &Outcome<'a>, i: usize) -> Vec<Reason<'a>> {
    let s = &o.sel[i];
    let versions: &'a [crate::inventory::Version] = ctx.versions;
    let image = |j: usize| ImageRef {
        digest: versions[j].name.as_str(),
        tags: versions[j].tags(),
    };
    let graph = |via: Via, kept: bool| Reason::Graph {
        edge: via.edge,
        kept,
        image: image(via.by),
        top: (via.root != via.by).then(|| image(via.root)),
    };
    let names = |rules: &[&'a Rule]| -> Vec<&'a str> {
        let mut out: Vec<&'a str> = Vec::new();
        for r in rules {
            if !out.contains(&r.name.as_str()) {
                out.push(r.name.as_str());
            }
        }
        out
    };
    let tags = versions[i].tags();
    let mut out = Vec::new();
    if o.deleted[i] {
        out.extend(s.delete.iter().map(|r| Reason::Rule(r.name.as_str())));
        if let Some(via) = o.deleted_via[i] {
            out.push(graph(via, false));
        }
        return out;
    }
    out.extend(s.keep.iter().map(|r| Reason::Rule(r.name.as_str())));
    out.extend(o.guards[i].iter().cloned().map(Reason::Guard));
    if let Some(via) = o.kept_via[i] {
        out.push(graph(via, true));
    }
    if let Some(c) = o.withheld_for[i] {
        out.push(Reason::Withheld { child: image(c) });
    }
    if let Some(removed) = &o.removed[i] {
        let rules: Vec<&'a Rule> = removed
            .iter()
            .flat_map(|&j| s.untag_tags[j].iter().copied())
            .collect();
        // Every tag goes: the image stays only as a part of the kept image that needs it.
        let stays_as = o.kept_via[i]
            .filter(|_| removed.len() == tags.len())
            .map(|via| (via.edge, image(via.by)));
        let tags: Vec<&'a str> = removed.iter().map(|&j| tags[j].as_str()).collect();
        out.push(if policy.safety.untag {
            Reason::Untag {
                tags,
                rules: names(&rules),
                stays_as,
            }
        } else {
            Reason::UntagOff {
                tags,
                rules: names(&rules),
            }
        });
    }
    let unselected = s.tags_no_delete_rule_selects(tags);
    let part_of_deleted = ctx.graph.parents[i].iter().any(|&(p, _)| o.deleted[p]);
    if s.keep.is_empty() && !unselected.is_empty() && (!s.delete.is_empty() || part_of_deleted) {
        out.push(Reason::TagsStay(
            unselected.iter().map(|&j| tags[j].as_str()).collect(),
        ));
    }
    if out.is_empty() {
        out.push(Reason::NoRule);
    }
    if let Some(hit) = &ctx.in_use[i] {
        out.push(Reason::InUse(hit.at.clone()));
    }
    if s.every_tag_deleted() {
        out.push(Reason::KeepWins(names(&s.delete)));
    }
    out
}

/// A warning per deleted version that a reference found by `in_use` names: no rule keeps what is
/// in use (or a guard of the graph could not), and a deployment would lose its image.
fn in_use_deleted(ctx: &Ctx, deleted: &[bool]) -> Vec<String> {
    ctx.order
        .iter()
        .filter(|&&i| deleted[i])
        .filter_map(|&i| {
            let hit = ctx.in_use[i].as_ref()?;
            let v = &ctx.versions[i];
            Some(format!(
                "{} is in use ({}) and the plan deletes it (help: keep what is in use with a rule `keep: {{ in_use: true }}`)",
                words::image(&ImageRef {
                    digest: &v.name,
                    tags: v.tags(),
                }),
                words::in_use_places(&hit.at)
            ))
        })
        .collect()
}

/// The broken images of a package (ghost and partial indexes, orphaned artifacts), newest first.
fn broken_images(ctx: &Ctx) -> Vec<BrokenImage> {
    ctx.order
        .iter()
        .filter_map(|&i| {
            let (kind, missing) = ctx.graph.broken[i].as_ref()?;
            let v = &ctx.versions[i];
            Some(BrokenImage {
                id: v.id,
                name: v.name.clone(),
                tags: v.tags().to_vec(),
                kind: *kind,
                missing: missing.clone(),
            })
        })
        .collect()
}

/// The package warning that names how many broken images were found, how many the plan keeps,
/// and what to do about those.
fn broken_warning(broken: &[BrokenImage], kept: usize) -> Option<String> {
    if broken.is_empty() {
        return None;
    }
    let count = |k: BrokenKind| broken.iter().filter(|b| b.kind == k).count();
    let parts: Vec<String> = [
        (BrokenKind::Ghost, "ghost"),
        (BrokenKind::Partial, "partial"),
        (BrokenKind::Orphaned, "orphaned"),
    ]
    .into_iter()
    .filter(|(k, _)| count(*k) > 0)
    .map(|(k, word)| format!("{} {word}", count(k)))
    .collect();
    let n = broken.len();
    let found = format!(
        "{} ({}) cannot be pulled whole",
        crate::plural::count(n, "broken image", "broken images"),
        parts.join(", ")
    );
    Some(if kept == 0 {
        format!(
            "{found}; the plan deletes {}",
            crate::plural::word(n, "it", "them")
        )
    } else {
        format!(
            "{found}; the plan keeps {kept} (help: delete them with a rule such as `delete: {{ ghost: true }}`, `{{ partial: true }}` or `{{ orphaned: true }}`)"
        )
    })
}

/// A policy that cannot be evaluated: a usage error (1).
impl From<EvaluateError> for crate::outcome::Failure {
    fn from(e: EvaluateError) -> crate::outcome::Failure {
        crate::outcome::Failure::usage(e.to_string()).caused_by(e)
    }
}

#[cfg(test)]
mod tests;
