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
//! come from the cache, then from the registry, [`RegistryClient::concurrency`] at a time
//! ([`ReadAhead`], which also lets `apply --policy` start a package's reads while it is still
//! being listed).
//!
//! [`listing`]: listing the governed packages and reading their manifests, the inventory the
//! online commands start from.

pub mod listing;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

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
            "manifests: {} needed in {} ({} skipped: nothing to decide); {} in the inventory, {} from the cache, {} read from the registry, {} failed",
            self.needed,
            crate::plural::count(self.packages_needing, "package", "packages"),
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

/// Manifest reads under way, shared by the fills of a run: at most
/// [`RegistryClient::concurrency`] reads at once, each read looking in the cache first and
/// storing what it read there (in the read's own task, off the path to the decisions).
///
/// A read can be started before its package is filled ([`ReadAhead::start`]: `apply --policy`
/// starts a listing page's reads while the next page is listed); the fill then waits for that
/// read instead of sending another one.
pub struct ReadAhead {
    client: RegistryClient,
    cache: ManifestCache,
    permits: Arc<Semaphore>,
    reads: HashMap<(String, String), JoinHandle<Read>>,
}

/// A manifest from the cache or the registry, or why it could not be read.
type Read = Result<(Source, String), ManifestError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Cache,
    Network,
}

impl ReadAhead {
    pub fn new(client: &RegistryClient, cache: &ManifestCache) -> ReadAhead {
        ReadAhead {
            client: client.clone(),
            cache: cache.clone(),
            permits: Arc::new(Semaphore::new(client.concurrency())),
            reads: HashMap::new(),
        }
    }

    /// Start reading `digest` of `repository` (once: a digest already started is left alone).
    /// Reads start in the order asked.
    pub fn start(&mut self, repository: &str, digest: &str) {
        let key = (repository.to_string(), digest.to_string());
        if self.reads.contains_key(&key) {
            return;
        }
        let client = self.client.clone();
        let cache = self.cache.clone();
        let permits = Arc::clone(&self.permits);
        let (repo, dig) = key.clone();
        let task = tokio::spawn(async move {
            if let Some(text) = cache.get(&dig) {
                return Ok((Source::Cache, text));
            }
            // The semaphore is never closed, so acquiring only fails if it were.
            let _permit = permits.acquire_owned().await.ok();
            let text = client.get_manifest(&repo, &dig).await?;
            if let Err(e) = cache.put(&dig, &text) {
                tracing::warn!("manifest cache: cannot store {dig}: {e}");
            }
            Ok((Source::Network, text))
        });
        self.reads.insert(key, task);
    }

    /// The result of a read started before (and forgotten here), or `None` if none was.
    async fn finish(&mut self, repository: &str, digest: &str) -> Option<Read> {
        let task = self
            .reads
            .remove(&(repository.to_string(), digest.to_string()))?;
        Some(match task.await {
            Ok(read) => read,
            Err(e) => Err(ManifestError {
                registry: self.client.registry().as_str().to_string(),
                repository: repository.to_string(),
                digest: digest.to_string(),
                kind: crate::registry::ErrorKind::Network,
                message: format!("the read was interrupted: {e}"),
            }),
        })
    }

    /// Remove the least recently used cache entries beyond the bounds (after reads stored some).
    pub fn evict(&self) {
        match self.cache.evict() {
            Ok(ev) if ev.removed > 0 => tracing::debug!(
                "manifest cache: evicted {}; {} remain ({})",
                crate::plural::count(ev.removed, "entry", "entries"),
                ev.entries,
                crate::plural::count(ev.bytes, "byte", "bytes")
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("manifest cache: eviction failed: {e}"),
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Reads nobody waits for any more (a run that stopped early) stop with it.
        for task in self.reads.values() {
            task.abort();
        }
    }
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
    let mut ahead = ReadAhead::new(client, cache);
    let report = fill_with(&mut ahead, policy, inventory, now, scope).await;
    if report.from_network > 0 {
        ahead.evict();
    }
    report
}

/// [`fill_manifests_scoped`] through `ahead`: reads it already started are waited for, not sent
/// again. The cache is not evicted here ([`ReadAhead::evict`], once the run's reads are done).
pub async fn fill_with(
    ahead: &mut ReadAhead,
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
            } else {
                ahead.start(&repository, digest);
                jobs.push(Job {
                    package: p,
                    repository: repository.clone(),
                    digest: digest.to_string(),
                });
            }
        }
    }

    let mut failed_packages = BTreeSet::new();
    for job in jobs {
        let result = ahead.finish(&job.repository, &job.digest).await;
        let entry = &mut inventory.packages[job.package];
        match result {
            Some(Ok((source, text))) => {
                match source {
                    Source::Cache => report.from_cache += 1,
                    Source::Network => report.from_network += 1,
                }
                entry.manifests.insert(job.digest, text);
            }
            Some(Err(e)) => {
                report.failed += 1;
                failed_packages.insert(job.package);
                let line = format!("{}: {e}", entry.package.name);
                tracing::warn!("{line}");
                report.warnings.push(line);
            }
            // Started just above, so not expected; were it missing (two packages whose names
            // differ only in case share a repository), the manifest is missing: say so.
            None => {
                report.failed += 1;
                failed_packages.insert(job.package);
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
            "{}: {} could not be read; deletions that depend on them (untagged versions, and versions whose own manifest is unread) are withheld until they can be read",
            entry.package.name,
            crate::plural::count(missing, "manifest", "manifests")
        );
        tracing::warn!("{line}");
        report.warnings.push(line);
    }
    tracing::info!("{}", report.summary());
    report
}
