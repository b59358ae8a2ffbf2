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
//! out of it ([`super::placeholders`]), as `apply` does for the whole inventory otherwise. Each
//! deletion is explained to the journal ([`super::targets::explain`]) before it is handed over.
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

use super::journal::Journal;
use super::placeholders::{self, Sweep};
use super::untag::UntagReport;
use super::{ApplyReport, Item, Target};
use crate::fill::{FillReport, FillScope, ReadAhead};
use crate::github::{GithubClient, Scope};
use crate::inventory::{Inventory, PackageEntry};
use crate::outcome::{Failure, Outcome};
use crate::plan::Plan;
use crate::plural::count;
use crate::policy::Policy;
use crate::registry::RegistryClient;

/// Batches of targets waiting for the executor (a package each).
const BATCHES_AHEAD: usize = 4;

/// What a streamed run works with.
pub struct Stream<'a> {
    pub client: &'a GithubClient,
    pub scope: &'a Scope,
    pub policy: &'a Policy,
    /// The time the policy is evaluated at.
    pub now: DateTime<Utc>,
    /// Reads the manifests: `None` when the policy governs no container packages.
    pub reader: Option<RegistryClient>,
    /// Where placeholders an earlier run left are found and swept (its cache is the reader's).
    pub placeholders: &'a Sweep<'a>,
    pub journal: Arc<Journal>,
    /// Told the plan once every package is decided (the Action's plan report).
    pub on_plan: &'a (dyn Fn(&Plan) -> Result<(), Failure> + Sync),
}

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
    /// Placeholders left by an earlier run that still hold their tag.
    pub swept_failed: Vec<Item>,
}

impl Streamed {
    /// How many deletions were withheld for manifests that could not be read, as the warning
    /// the run ends with ([`super::targets::withheld_for_unread_manifests`]).
    pub fn withheld(&self) -> Option<String> {
        super::targets::withheld_for_unread_manifests(&self.plan, &self.inventory, &self.unreadable)
    }
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
/// ([`crate::fill::listing::inventory`]): a digest GitHub listed under two ids of a package
/// loses its manifest (both versions are then kept by the evaluator's guards).
async fn read_manifests(
    reader: &mut ReadAhead,
    policy: &Policy,
    inventory: &mut Inventory,
    now: DateTime<Utc>,
) -> FillReport {
    let shared = inventory.shared_digests();
    let report = crate::fill::fill_with(reader, policy, inventory, now, FillScope::Needed).await;
    crate::fill::listing::forget_shared(inventory, &shared);
    report
}

/// List, then read, evaluate and delete package by package (see the module doc); when the
/// bounds are over the limits, read every manifest and check the whole plan first.
pub async fn apply_streamed(s: Stream<'_>) -> Result<Streamed, Failure> {
    let (client, scope, policy, now) = (s.client, s.scope, s.policy, s.now);
    // The registry client comes first, so that a listing page's manifests are read while the
    // next page is listed (when the package is sure to need them: see `ReadEarly`).
    let mut reader: Option<ReadAhead> = s
        .reader
        .as_ref()
        .map(|reg| ReadAhead::new(reg, s.placeholders.cache));
    let mut early = ReadEarly::default();
    let raw = crate::github::fetch_inventory_paged(
        client,
        scope,
        &crate::fill::listing::governed(policy),
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
    crate::fill::listing::say_listed(&inventory, scope, client.requests());

    let (deletions, untags) = bounds(policy, &inventory, now);
    let (max_deletions, max_untags) = (policy.safety.max_deletions, policy.safety.max_untags);
    if deletions > max_deletions || untags > max_untags {
        // The whole plan first, so that a plan over a limit deletes nothing.
        tracing::info!(
            "up to {} and {} before the manifests are read (max_deletions {max_deletions}, max_untags {max_untags}): reading every manifest first",
            count(deletions, "deletion", "deletions"),
            count(untags, "tag removal", "tag removals")
        );
        return whole_plan_first(&s, reader, inventory).await;
    }
    package_by_package(&s, reader, inventory, deletions).await
}

/// The deletions of `plan`, each explained to the journal first and read again right before its
/// DELETE (the listing may be minutes old by then).
fn to_targets(s: &Stream<'_>, plan: &Plan) -> Vec<Target> {
    super::targets::explain(&s.journal, plan);
    super::targets::targets(plan)
}

/// Read every manifest, evaluate the whole `inventory` (refused when over a limit: nothing is
/// deleted), then delete.
async fn whole_plan_first(
    s: &Stream<'_>,
    mut reader: Option<ReadAhead>,
    mut inventory: Inventory,
) -> Result<Streamed, Failure> {
    let (client, scope, policy, now) = (s.client, s.scope, s.policy, s.now);
    let mut unreadable = Vec::new();
    if let Some(ahead) = &mut reader {
        let report = read_manifests(ahead, policy, &mut inventory, now).await;
        crate::printer::status(&report.summary());
        if report.from_network > 0 {
            ahead.evict();
        }
        unreadable = report.failed_packages;
    }
    let swept =
        placeholders::sweep(client, scope, s.placeholders, policy, now, &mut inventory).await?;
    let plan = placeholders::evaluate(policy, &inventory, now, &swept.doubt)?;
    (s.on_plan)(&plan)?;
    let targets = to_targets(s, &plan);
    crate::printer::status(&format!(
        "deleting {} of {scope}",
        count(targets.len(), "version", "versions")
    ));
    let report = super::execute(client, scope, targets, Arc::clone(&s.journal)).await;
    Ok(Streamed {
        report,
        plan,
        inventory,
        unreadable,
        swept_failed: swept.failed,
    })
}

/// Read, evaluate and hand over the governed packages of `inventory` one at a time while the
/// executor deletes (at most `deletions`, the bound known before any manifest was read).
async fn package_by_package(
    s: &Stream<'_>,
    mut reader: Option<ReadAhead>,
    mut inventory: Inventory,
    deletions: u64,
) -> Result<Streamed, Failure> {
    let (client, scope, policy, now) = (s.client, s.scope, s.policy, s.now);
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
            let mut doubt = placeholders::Doubt::default();
            if let Some(ahead) = &mut reader {
                if single.packages[0].package.package_type.is_image() {
                    let r = read_manifests(ahead, policy, &mut single, now).await;
                    add(&mut fill, r);
                    let swept = placeholders::sweep(
                        client,
                        scope,
                        s.placeholders,
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
            let package =
                placeholders::plan_package(policy, &entry, now, &doubt, &|d| listed.contains(d));
            let batch = to_targets(
                s,
                &crate::evaluate::assemble(policy, &owner, now, vec![package.clone()]),
            );
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
            crate::printer::status(&fill.summary());
            if fill.from_network > 0 {
                ahead.evict();
            }
        }
        Ok::<_, Failure>((plans, read, fill.failed_packages, swept_failed))
    };
    crate::printer::status(&format!(
        "deleting package by package as their decisions are known (at most {} of {scope})",
        count(deletions, "version", "versions")
    ));
    let (produced, report) = tokio::join!(
        producer,
        super::execute_stream(client, scope, Vec::new(), Some(rx), Arc::clone(&s.journal))
    );
    let (plans, read, unreadable, swept_failed) = produced?;
    let plan = crate::evaluate::assemble(policy, &owner, now, plans);
    inventory.packages = read;
    (s.on_plan)(&plan)?;
    Ok(Streamed {
        report,
        plan,
        inventory,
        unreadable,
        swept_failed,
    })
}

/// After the deletions of `streamed`: remove the tags its plan removes, unless they are more
/// than the policy's `max_untags` (then none is, and the refusal is returned, exit 1); the
/// placeholders that could not be swept count as failed tag removals.
pub async fn untag_after(
    client: &GithubClient,
    scope: &Scope,
    sweep: &Sweep<'_>,
    policy: &Policy,
    streamed: &Streamed,
) -> (UntagReport, Outcome) {
    use super::targets;
    let untags = targets::untag_targets(&streamed.plan);
    let (count, max) = (untags.len() as u64, policy.safety.max_untags);
    // The deletions are done; no tag has been removed yet.
    let (mut report, refused) = match targets::check_max_untags(count, max) {
        Ok(()) => (
            targets::remove_tags(client, scope, sweep, &streamed.report, untags).await,
            Ok(()),
        ),
        Err(_) => (
            targets::none_removed(count),
            Err(Failure::usage(targets::over_max_untags(
                count,
                max,
                "the deletions were done, no tag was removed",
            ))),
        ),
    };
    report.failed.extend(streamed.swept_failed.iter().cloned());
    (report, refused)
}
