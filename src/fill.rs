//! Filling an inventory's manifests: read exactly the manifests a decision can depend on.
//!
//! It sits above both the registry client (which reads) and the evaluator (which says what a
//! decision needs), so that the registry layer does not depend on the policy's meaning.
//!
//! The rule (also in docs/registry.md):
//! - packages the policy does not govern, and packages that are not container images: none;
//! - packages where no version is selected by a delete rule and by no keep rule
//!   ([`crate::evaluate::needs_manifests`] is false): none, since nothing is deleted whatever the
//!   graph says;
//! - otherwise every version's manifest: any version may be an index that keeps another one, and
//!   the evaluator withholds a package's untagged deletions while any of its manifests is unknown.
//!
//! Manifests already in the inventory (and matching their digest) are not read again; the rest
//! come from the cache, then from the registry, [`RegistryClient::concurrency`] at a time.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::evaluate::{governs, needs_manifests};
use crate::inventory::Inventory;
use crate::policy::Policy;
use crate::registry::{repository_for, ManifestCache, ManifestError, RegistryClient};

/// What [`fill_manifests`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FillReport {
    /// Packages whose manifests a decision needs.
    pub packages_needing: usize,
    /// Governed image packages whose decisions cannot depend on manifests: nothing read.
    pub packages_skipped: usize,
    /// Manifests needed in all (distinct digests per package).
    pub needed: usize,
    /// Already in the inventory.
    pub from_inventory: usize,
    /// Read from the cache.
    pub from_cache: usize,
    /// Read from the registry.
    pub from_network: usize,
    /// Could not be read: those packages' untagged deletions are withheld.
    pub failed: usize,
    /// One line per problem, naming the package and digest.
    pub warnings: Vec<String>,
    /// The packages some of whose manifests could not be read.
    pub failed_packages: Vec<String>,
}

impl FillReport {
    /// One line for the log.
    pub fn summary(&self) -> String {
        format!(
            "manifests: {} needed in {} package(s) ({} skipped: nothing to decide); {} in the inventory, {} from the cache, {} read from the registry, {} failed",
            self.needed,
            self.packages_needing,
            self.packages_skipped,
            self.from_inventory,
            self.from_cache,
            self.from_network,
            self.failed
        )
    }
}

/// A manifest to read: which package it is for, where, which digest.
struct Job {
    package: usize,
    repository: String,
    digest: String,
}

/// Which packages' manifests to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillScope {
    /// Only packages whose decisions can depend on them (`plan`, `apply`): the minimum.
    Needed,
    /// Every governed container package (a `snapshot` meant for trying other policies offline).
    AllGoverned,
}

/// Put into `inventory` every manifest that a decision of `policy` as of `now` can depend on and
/// that is not there yet, from `cache` or else from the registry (stored in the cache after).
/// A manifest that cannot be read is left out, with a warning: the evaluator then withholds that
/// package's untagged deletions (fail closed). Never fails as a whole.
pub async fn fill_manifests(
    client: &RegistryClient,
    cache: &ManifestCache,
    policy: &Policy,
    inventory: &mut Inventory,
    now: DateTime<Utc>,
) -> FillReport {
    fill_manifests_scoped(client, cache, policy, inventory, now, FillScope::Needed).await
}

/// [`fill_manifests`] with the scope chosen.
pub async fn fill_manifests_scoped(
    client: &RegistryClient,
    cache: &ManifestCache,
    policy: &Policy,
    inventory: &mut Inventory,
    now: DateTime<Utc>,
    scope: FillScope,
) -> FillReport {
    let mut report = FillReport::default();
    let mut jobs = Vec::new();
    for (p, entry) in inventory.packages.iter_mut().enumerate() {
        if !entry.package.package_type.is_image() || !governs(policy, entry) {
            continue;
        }
        if scope == FillScope::Needed && !needs_manifests(policy, entry, now) {
            report.packages_skipped += 1;
            tracing::debug!(
                "{}: no version may be deleted by the rules; no manifest read",
                entry.package.name
            );
            continue;
        }
        report.packages_needing += 1;
        // A stored manifest that does not match its digest is read again.
        entry
            .manifests
            .retain(|d, text| crate::digest::verify(d, text.as_bytes()).is_ok());
        let repository = repository_for(&inventory.owner, &entry.package.name);
        let digests: BTreeSet<&str> = entry.versions.iter().map(|v| v.name.as_str()).collect();
        for digest in digests {
            report.needed += 1;
            if entry.manifests.contains_key(digest) {
                report.from_inventory += 1;
            } else if let Some(text) = cache.get(digest) {
                report.from_cache += 1;
                entry.manifests.insert(digest.to_string(), text);
            } else {
                jobs.push(Job {
                    package: p,
                    repository: repository.clone(),
                    digest: digest.to_string(),
                });
            }
        }
    }

    let results = read_all(client, jobs).await;
    let mut wrote = false;
    let mut failed_packages = BTreeSet::new();
    for (job, result) in results {
        let entry = &mut inventory.packages[job.package];
        match result {
            Ok(text) => {
                report.from_network += 1;
                if let Err(e) = cache.put(&job.digest, &text) {
                    tracing::warn!("manifest cache: cannot store {}: {e}", job.digest);
                } else {
                    wrote = true;
                }
                entry.manifests.insert(job.digest, text);
            }
            Err(e) => {
                report.failed += 1;
                failed_packages.insert(job.package);
                let line = format!("{}: {e}", entry.package.name);
                tracing::warn!("{line}");
                report.warnings.push(line);
            }
        }
    }
    for p in failed_packages {
        let entry = &inventory.packages[p];
        report.failed_packages.push(entry.package.name.clone());
        let missing = entry
            .versions
            .iter()
            .filter(|v| !entry.manifests.contains_key(&v.name))
            .count();
        let line = format!(
            "{}: {missing} manifest(s) could not be read; deletions that depend on them (untagged versions, and versions whose own manifest is unread) are withheld until they can be read",
            entry.package.name
        );
        tracing::warn!("{line}");
        report.warnings.push(line);
    }
    if wrote {
        match cache.evict() {
            Ok(ev) if ev.removed > 0 => tracing::debug!(
                "manifest cache: evicted {} entries; {} remain ({} bytes)",
                ev.removed,
                ev.entries,
                ev.bytes
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("manifest cache: eviction failed: {e}"),
        }
    }
    tracing::info!("{}", report.summary());
    report
}

/// Read every job's manifest, `client.concurrency()` at a time; results in job order.
async fn read_all(
    client: &RegistryClient,
    jobs: Vec<Job>,
) -> Vec<(Job, Result<String, ManifestError>)> {
    let semaphore = Arc::new(Semaphore::new(client.concurrency()));
    let mut set = JoinSet::new();
    for (i, job) in jobs.iter().enumerate() {
        let client = client.clone();
        let semaphore = Arc::clone(&semaphore);
        let repository = job.repository.clone();
        let digest = job.digest.clone();
        set.spawn(async move {
            // The semaphore is never closed, so acquiring only fails if it were.
            let _permit = semaphore.acquire_owned().await.ok();
            (i, client.get_manifest(&repository, &digest).await)
        });
    }
    let mut results: Vec<Option<Result<String, ManifestError>>> = vec![None; jobs.len()];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, r)) => results[i] = Some(r),
            Err(e) => tracing::warn!("a manifest read task failed: {e}"),
        }
    }
    jobs.into_iter()
        .zip(results)
        .map(|(job, r)| {
            let r = r.unwrap_or_else(|| {
                Err(ManifestError {
                    registry: client.registry().as_str().to_string(),
                    repository: job.repository.clone(),
                    digest: job.digest.clone(),
                    kind: crate::registry::ErrorKind::Network,
                    message: "the read was interrupted".into(),
                })
            });
            (job, r)
        })
        .collect()
}
