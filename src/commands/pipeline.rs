//! `apply --policy`: start deleting sooner on a cold manifest cache.
//!
//! Deletions are paced (180 a minute) and manifest reads are not, so reading every manifest
//! before the first DELETE only adds time. Here the inventory is listed, then the packages are
//! taken one at a time: read the manifests of one package, evaluate it, and hand its deletions to
//! the executor ([`crate::apply::execute_stream`]), which starts on them while the next
//! package's manifests are read. Evaluating package by package gives the same plan as
//! evaluating the whole inventory (each package is decided on its own).
//!
//! `max_deletions` must still refuse a plan that is too big before anything is deleted: the
//! pipeline runs only when an upper bound of the deletions known before any manifest is read
//! (every version of an image package whose decisions depend on manifests, the exact count for
//! other packages) is within the limit. Otherwise every manifest is read first and the whole
//! plan is checked, as without the pipeline.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::online::{api_failure, RegistryArgs};
use super::Failure;
use crate::apply::journal::Journal;
use crate::apply::{ApplyReport, Target};
use crate::github::{GithubClient, Scope};
use crate::inventory::{Inventory, PackageEntry};
use crate::plan::{Action, PackagePlan, Plan, Summary, SCHEMA};
use crate::policy::Policy;
use crate::registry::{FillReport, FillScope, ManifestCache, RegistryClient};

/// Batches of targets waiting for the executor (a package each).
const BATCHES_AHEAD: usize = 4;

/// An upper bound of what `policy` deletes in `inventory`, known before any manifest is read.
pub fn deletion_bound(
    policy: &Policy,
    inventory: &Inventory,
    now: DateTime<Utc>,
) -> Result<u64, Failure> {
    let mut bound = 0u64;
    for entry in &inventory.packages {
        if !crate::evaluate::governs(policy, entry) {
            continue;
        }
        if entry.package.package_type.is_image() {
            if crate::evaluate::needs_manifests(policy, entry, now) {
                bound += entry.versions.len() as u64;
            }
        } else {
            let plan = evaluate_one(policy, &inventory.owner, entry.clone(), now)?;
            bound += plan.deletions().count() as u64;
        }
    }
    Ok(bound)
}

/// Evaluate one package on its own.
fn evaluate_one(
    policy: &Policy,
    owner: &str,
    entry: PackageEntry,
    now: DateTime<Utc>,
) -> Result<PackagePlan, Failure> {
    let name = entry.package.name.clone();
    let single = Inventory {
        schema: crate::inventory::SCHEMA,
        owner: owner.to_string(),
        captured_at: now,
        packages: vec![entry],
    };
    let mut plan = crate::evaluate::evaluate(policy, &single, now)
        .map_err(|e| Failure::usage(format!("{name}: {e}")))?;
    plan.packages
        .pop()
        .ok_or_else(|| Failure::run(format!("{name}: the policy does not govern it")))
}

/// The plan of the packages evaluated one by one, as `evaluate` would make it at once.
fn assemble(
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

fn add(total: &mut FillReport, r: FillReport) {
    total.packages_needing += r.packages_needing;
    total.packages_skipped += r.packages_skipped;
    total.needed += r.needed;
    total.from_inventory += r.from_inventory;
    total.from_cache += r.from_cache;
    total.from_network += r.from_network;
    total.failed += r.failed;
    total.warnings.extend(r.warnings);
}

/// List, then read, evaluate and delete package by package (see the module doc). Returns the
/// executor's report; `None` when the bound is over `max_deletions` and the caller must plan the
/// whole inventory first (the listed inventory is handed back for that).
pub async fn apply_streamed(
    client: &GithubClient,
    scope: &Scope,
    policy: &Policy,
    registry: &RegistryArgs<'_>,
    now: DateTime<Utc>,
    journal: Arc<Journal>,
    to_targets: fn(&Plan) -> Vec<Target>,
) -> Result<ApplyReport, Failure> {
    let raw = crate::github::fetch_inventory(client, scope, policy, Utc::now())
        .await
        .map_err(|e| api_failure(&e))?;
    let mut inventory = raw.typed().map_err(|e| api_failure(&e))?;
    eprintln!(
        "listed {} packages, {} versions of {scope} ({} API requests)",
        inventory.packages.len(),
        inventory
            .packages
            .iter()
            .map(|p| p.versions.len())
            .sum::<usize>(),
        client.requests()
    );
    let images = inventory
        .packages
        .iter()
        .any(|p| p.package.package_type.is_image());
    let reader: Option<(RegistryClient, ManifestCache)> = if images {
        let reg = super::online::registry_client(registry.registry, registry.token_env)?;
        Some((reg, ManifestCache::resolve(registry.cache_dir)))
    } else {
        None
    };

    let bound = deletion_bound(policy, &inventory, now)?;
    if bound > policy.safety.max_deletions {
        // The whole plan first, so that a plan over the limit deletes nothing.
        tracing::info!(
            "up to {bound} deletions before the manifests are read, over max_deletions {}: reading every manifest first",
            policy.safety.max_deletions
        );
        if let Some((reg, cache)) = &reader {
            let report = crate::registry::fill_manifests_scoped(
                reg,
                cache,
                policy,
                &mut inventory,
                now,
                FillScope::Needed,
            )
            .await;
            eprintln!("{}", report.summary());
        }
        let plan = crate::evaluate::evaluate(policy, &inventory, now)
            .map_err(|e| Failure::usage(e.to_string()))?;
        if let Some(runner) = crate::actions::Runner::detect() {
            runner.report_plan(&plan)?;
        }
        let targets = to_targets(&plan);
        eprintln!("deleting {} versions of {scope}", targets.len());
        return Ok(crate::apply::execute(client, scope, targets, journal).await);
    }

    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Target>>(BATCHES_AHEAD);
    let owner = inventory.owner.clone();
    let producer = async {
        let mut plans = Vec::new();
        let mut fill = FillReport::default();
        for entry in std::mem::take(&mut inventory.packages) {
            if !crate::evaluate::governs(policy, &entry) {
                continue;
            }
            let mut single = Inventory {
                schema: crate::inventory::SCHEMA,
                owner: owner.clone(),
                captured_at: now,
                packages: vec![entry],
            };
            if let Some((reg, cache)) = &reader {
                if single.packages[0].package.package_type.is_image() {
                    let r = crate::registry::fill_manifests_scoped(
                        reg,
                        cache,
                        policy,
                        &mut single,
                        now,
                        FillScope::Needed,
                    )
                    .await;
                    add(&mut fill, r);
                }
            }
            let Some(entry) = single.packages.pop() else {
                continue;
            };
            let package = evaluate_one(policy, &owner, entry, now)?;
            let batch = to_targets(&assemble(policy, &owner, now, vec![package.clone()]));
            tracing::info!("{}: {} deletions decided", package.name, batch.len());
            plans.push(package);
            if !batch.is_empty() && tx.send(batch).await.is_err() {
                // The executor is gone (it cannot be before the sender is dropped).
                break;
            }
        }
        drop(tx);
        if reader.is_some() {
            eprintln!("{}", fill.summary());
        }
        Ok::<Vec<PackagePlan>, Failure>(plans)
    };
    eprintln!(
        "deleting package by package as their decisions are known (at most {bound} versions of {scope})"
    );
    let (plans, report) = tokio::join!(
        producer,
        crate::apply::execute_stream(client, scope, Vec::new(), Some(rx), journal)
    );
    let plan = assemble(policy, &owner, now, plans?);
    if let Some(runner) = crate::actions::Runner::detect() {
        runner.report_plan(&plan)?;
    }
    Ok(report)
}
