//! `apply --policy`: start deleting sooner on a cold manifest cache.
//!
//! Deletions are paced (180 a minute) and manifest reads are not, so reading every manifest
//! before the first DELETE only adds time. Here the inventory is listed, then the packages are
//! taken one at a time: read the manifests of one package, evaluate it, and hand its deletions to
//! the executor ([`crate::apply::execute_stream`]), which starts on them while the next
//! package's manifests are read. Evaluating package by package gives the same plan as
//! evaluating the whole inventory (each package is decided on its own).
//!
//! Reading starts during the listing ([`ReadEarly`]): once the versions listed so far show that a
//! package needs its manifests and no page still to come can change that
//! ([`crate::evaluate::needs_manifests_known_early`]), each page's manifests are read (through one
//! [`ReadAhead`] for the whole run) while the next page is listed; the package's fill then waits
//! for those reads. Decisions still wait for every manifest of their package.
//!
//! Before a package is evaluated, the placeholders an earlier run left in it are swept and taken
//! out of it ([`super::placeholders`]), as `apply` does for the whole inventory otherwise.
//!
//! `max_deletions` and `max_untags` must still refuse a plan that is too big before anything is
//! deleted: the pipeline runs only when upper bounds known before any manifest is read are
//! within the limits (deletions: every version of an image package whose decisions depend on
//! manifests, the exact count for other packages; tag removals:
//! [`crate::evaluate::untag_bound`]). Otherwise every manifest is read first and the whole plan
//! is checked, as without the pipeline.
//!
//! Either way the caller gets the executor's report, the plan as [`crate::evaluate::evaluate`]
//! makes it (the Action's plan report is written once every package is decided), the inventory
//! with the manifests that were read (for the check after apply) and the packages whose
//! manifests could not all be read; tags are removed afterwards by the caller.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::settings::Settings;
use super::Failure;
use crate::apply::journal::Journal;
use crate::apply::{ApplyReport, Target};
use crate::fill::{FillReport, FillScope, ReadAhead};
use crate::github::{GithubClient, Scope};
use crate::inventory::{Inventory, PackageEntry};
use crate::plan::Plan;
use crate::plural::count;
use crate::policy::Policy;

/// Batches of targets waiting for the executor (a package each).
const BATCHES_AHEAD: usize = 4;

pub use super::placeholders::Sweep;

/// What [`apply_streamed`] did.
pub struct Streamed {
    /// The executor's report of the deletions.
    pub report: ApplyReport,
    /// The plan the deletions came from.
    pub plan: Plan,
    /// The governed packages with the manifests read for the decisions.
    pub inventory: Inventory,
    /// Packages some of whose manifests could not be read.
    pub unreadable: Vec<String>,
    /// Placeholders left by an earlier run that still hold their tag (package, what, why).
    pub swept_failed: Vec<(String, String, String)>,
}

/// Upper bounds of what `policy` deletes and untags in `inventory`, known before any manifest
/// is read.
fn bounds(policy: &Policy, inventory: &Inventory, now: DateTime<Utc>) -> (u64, u64) {
    let (mut deletions, mut untags) = (0u64, 0u64);
    for entry in &inventory.packages {
        if !crate::evaluate::governs(policy, entry) {
            continue;
        }
        if entry.package.package_type.is_image() {
            if crate::evaluate::needs_manifests(policy, entry, now) {
                deletions += entry.versions.len() as u64;
            }
            untags += crate::evaluate::untag_bound(policy, entry, now);
        } else {
            let plan = crate::evaluate::plan_package(policy, entry, now);
            deletions += plan
                .versions
                .iter()
                .filter(|v| v.action == crate::plan::Action::Delete)
                .count() as u64;
        }
    }
    (deletions, untags)
}

/// Which listed packages have their manifests read while they are still being listed.
#[derive(Default)]
struct ReadEarly {
    /// Packages whose every listed version's manifest is being read.
    reading: std::collections::HashSet<String>,
}

impl ReadEarly {
    /// A page of `package`'s versions arrived (`versions`: all so far, the page from `start`):
    /// start reading its manifests when the package is sure to need them
    /// ([`crate::evaluate::needs_manifests_known_early`]); the fill waits for these reads.
    /// Nothing is decided here: every decision still waits for every manifest of its package.
    /// Only the new page is looked at (where the answer can be known early, a version needs the
    /// manifests on its own), so a long listing costs no more than once over its versions.
    #[allow(clippy::too_many_arguments)]
    fn page(
        &mut self,
        ahead: &mut ReadAhead,
        policy: &Policy,
        owner: &str,
        now: DateTime<Utc>,
        package: &serde_json::Value,
        versions: &[serde_json::Value],
        start: usize,
    ) {
        let Some(name) = package.get("name").and_then(|n| n.as_str()) else {
            return;
        };
        let from = if self.reading.contains(name) {
            start
        } else {
            if !crate::evaluate::needs_knowable_early(policy, name) {
                return;
            }
            // An object that does not read is reported by the listing's own reading, later.
            let Ok(entry) = crate::github::fetch::typed_page(
                package,
                versions.get(start..).unwrap_or_default(),
                0,
            ) else {
                return;
            };
            if !entry.package.package_type.is_image()
                || !crate::evaluate::needs_manifests_known_early(policy, &entry, now)
            {
                return;
            }
            tracing::debug!("{name}: reading manifests while the listing goes on");
            self.reading.insert(name.to_string());
            0
        };
        let repository = crate::registry::repository_for(owner, name);
        for v in versions.iter().skip(from) {
            if let Some(digest) = v.get("name").and_then(|n| n.as_str()) {
                ahead.start(&repository, digest);
            }
        }
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
    for p in r.failed_packages {
        if !total.failed_packages.contains(&p) {
            total.failed_packages.push(p);
        }
    }
}

/// Read the manifests the decisions on `inventory` need, as `plan` does
/// ([`super::online::inventory`]): a digest GitHub listed under two ids of a package
/// loses its manifest (both versions are then kept by the evaluator's guards).
async fn read_manifests(
    reader: &mut ReadAhead,
    policy: &Policy,
    inventory: &mut Inventory,
    now: DateTime<Utc>,
) -> FillReport {
    let shared = inventory.shared_digests();
    let report = crate::fill::fill_with(reader, policy, inventory, now, FillScope::Needed).await;
    super::online::forget_shared(inventory, &shared);
    report
}

/// List, then read, evaluate and delete package by package (see the module doc); when the
/// bounds are over the limits, read every manifest and check the whole plan first.
#[allow(clippy::too_many_arguments)]
pub async fn apply_streamed(
    settings: &Settings,
    client: &GithubClient,
    scope: &Scope,
    policy: &Policy,
    placeholders: &Sweep<'_>,
    journal: Arc<Journal>,
    to_targets: &dyn Fn(&Plan) -> Vec<Target>,
) -> Result<Streamed, Failure> {
    let now = settings.now();
    // The registry client comes first, so that a listing page's manifests are read while the
    // next page is listed (when the package is sure to need them: see `ReadEarly`).
    let mut reader: Option<ReadAhead> = if policy.packages.package_type.is_image() {
        let reg = super::online::registry_client(settings)?;
        Some(ReadAhead::new(&reg, settings.cache()))
    } else {
        None
    };
    let mut early = ReadEarly::default();
    let raw = crate::github::fetch_inventory_paged(
        client,
        scope,
        &super::online::governed(policy),
        Utc::now(),
        &mut |package, versions, start| {
            if let Some(ahead) = &mut reader {
                early.page(ahead, policy, scope.owner(), now, package, versions, start);
            }
        },
    )
    .await?;
    let mut inventory = raw.typed()?;
    inventory.drop_repeated_ids();
    super::online::say_listed(&inventory, scope, client.requests());

    let (deletions, untags) = bounds(policy, &inventory, now);
    let (max_deletions, max_untags) = (policy.safety.max_deletions, policy.safety.max_untags);
    if deletions > max_deletions || untags > max_untags {
        // The whole plan first, so that a plan over a limit deletes nothing.
        tracing::info!(
            "up to {} and {} before the manifests are read (max_deletions {max_deletions}, max_untags {max_untags}): reading every manifest first",
            count(deletions, "deletion", "deletions"),
            count(untags, "tag removal", "tag removals")
        );
        let mut unreadable = Vec::new();
        if let Some(ahead) = &mut reader {
            let report = read_manifests(ahead, policy, &mut inventory, now).await;
            eprintln!("{}", report.summary());
            if report.from_network > 0 {
                ahead.evict();
            }
            unreadable = report.failed_packages;
        }
        let swept =
            super::placeholders::sweep(client, scope, placeholders, policy, now, &mut inventory)
                .await?;
        let plan = super::placeholders::evaluate(policy, &inventory, now, &swept.doubt)?;
        if let Some(runner) = crate::actions::Runner::detect() {
            runner.report_plan(&plan)?;
        }
        let targets = to_targets(&plan);
        eprintln!(
            "deleting {} of {scope}",
            count(targets.len(), "version", "versions")
        );
        let report = crate::apply::execute(client, scope, targets, journal).await;
        return Ok(Streamed {
            report,
            plan,
            inventory,
            unreadable,
            swept_failed: swept.failed,
        });
    }

    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Target>>(BATCHES_AHEAD);
    let owner = inventory.owner.clone();
    // Every digest listed, for the subjects of artifacts kept in another package.
    let listed: std::collections::HashSet<String> =
        crate::evaluate::listed_digests(&inventory.packages)
            .into_iter()
            .map(str::to_string)
            .collect();
    let producer = async {
        let mut plans = Vec::new();
        let mut read: Vec<PackageEntry> = Vec::new();
        let mut fill = FillReport::default();
        let mut swept_failed = Vec::new();
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
            let mut doubt = super::placeholders::Doubt::default();
            if let Some(ahead) = &mut reader {
                if single.packages[0].package.package_type.is_image() {
                    let r = read_manifests(ahead, policy, &mut single, now).await;
                    add(&mut fill, r);
                    let swept = super::placeholders::sweep(
                        client,
                        scope,
                        placeholders,
                        policy,
                        now,
                        &mut single,
                    )
                    .await?;
                    swept_failed.extend(swept.failed);
                    doubt = swept.doubt;
                }
            }
            let Some(entry) = single.packages.pop() else {
                continue;
            };
            let package = super::placeholders::plan_package(policy, &entry, now, &doubt, &|d| {
                listed.contains(d)
            });
            let batch = to_targets(&crate::evaluate::assemble(
                policy,
                &owner,
                now,
                vec![package.clone()],
            ));
            tracing::info!(
                "{}: {} decided",
                package.name,
                count(batch.len(), "deletion", "deletions")
            );
            plans.push(package);
            read.push(entry);
            if !batch.is_empty() && tx.send(batch).await.is_err() {
                // The executor is gone (it cannot be before the sender is dropped).
                break;
            }
        }
        drop(tx);
        if let Some(ahead) = &reader {
            eprintln!("{}", fill.summary());
            if fill.from_network > 0 {
                ahead.evict();
            }
        }
        Ok::<_, Failure>((plans, read, fill.failed_packages, swept_failed))
    };
    eprintln!(
        "deleting package by package as their decisions are known (at most {} of {scope})",
        count(deletions, "version", "versions")
    );
    let (produced, report) = tokio::join!(
        producer,
        crate::apply::execute_stream(client, scope, Vec::new(), Some(rx), journal)
    );
    let (plans, read, unreadable, swept_failed) = produced?;
    let plan = crate::evaluate::assemble(policy, &owner, now, plans);
    inventory.packages = read;
    if let Some(runner) = crate::actions::Runner::detect() {
        runner.report_plan(&plan)?;
    }
    Ok(Streamed {
        report,
        plan,
        inventory,
        unreadable,
        swept_failed,
    })
}
