//! Carrying out deletions: the executor ([`execute`]), the journal ([`journal`]) and the progress
//! display ([`progress`]); removing tags from images that stay: [`untag`], the placeholders a killed
//! run left: [`leftovers`], putting tags back: [`retag`].
//!
//! Outcomes of a DELETE: 204 deleted; 404 "Package version not found." already gone (deleted by
//! someone else meanwhile, or by an earlier run whose answer was lost), which counts as done
//! (ghcr.io does not remove an index's children itself: each is a target of its own, deleted
//! after its index); 400 refusals (the last tagged
//! version, over 5,000 downloads) are skipped with GitHub's message and the run goes on; 401 and
//! the 403/404 of a missing permission stop the run with an explanation; 5xx and network failures
//! are retried by the client and count as failed when they persist. With `recheck` (`apply
//! --plan`) each version is read again first and skipped when it is gone, its tags changed or it
//! was pushed again (`updated_at` changed), or its name (digest) is not the planned one.
//!
//! [`execute_stream`] takes more targets while it runs (a batch per package, as soon as its
//! decisions are known), so that deleting starts before every manifest is read.
//!
//! The primary rate limit is watched: when what is left would not cover the rest, the executor
//! lets the requests in flight finish and stops, saying what is left and when the budget resets.
//! The pace of the deletions is the client's ([`crate::github::pacer`]): one a second by default,
//! lowered to what GitHub accepts when it refuses; the run goes on at that pace, and says at the
//! end what GitHub allowed. `--max-duration` stops it cleanly ([`Stop::Deadline`]).

pub mod journal;
pub mod leftovers;
pub mod progress;
pub mod retag;
pub mod untag;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::github::packages::{delete_version, get_version};
use crate::github::{ApiError, ApiErrorKind, Done, GithubClient, PaceSummary, RateBudget, Scope};
use crate::inventory::{PackageType, Version};
use crate::sync::lock;
use journal::{Entry, Journal, JournalError, JournalOutcome};
use progress::Progress;

/// What stops a step of `apply` that is not the executor (which reports per target, [`Stop`]):
/// GitHub refused for good (a permission), or the journal failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Requests kept in reserve: the executor stops when the primary budget falls to this.
pub const BUDGET_RESERVE: u64 = 10;
/// Deletions run concurrently (the pacer bounds the rate; this only overlaps latency).
const WORKERS: usize = 6;

/// A version to delete.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub package: String,
    pub package_type: PackageType,
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
    /// For `apply --plan`: the `updated_at` the plan saw; the version is re-read and compared.
    pub recheck: Option<DateTime<Utc>>,
    /// Ids of targets this one depends on (its index, its subject): it is deleted only after
    /// they are, and not at all when one of them is not (refused, failed): deleting a platform
    /// manifest of an index that stays would break the image.
    pub after: Vec<u64>,
    /// Not to be deleted after all, and why (`apply --plan --policy`: the policy, evaluated
    /// now, keeps it). Reported as skipped; no request is sent.
    pub hold: Option<String>,
}

impl Target {
    /// How a person recognises the version: its tags, else its name.
    pub fn label(&self) -> String {
        if self.tags.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.tags.join(", "))
        }
    }
}

/// Why the executor stopped before the end.
#[derive(Clone, Debug)]
pub enum Stop {
    /// The primary rate limit would not cover the rest.
    Budget {
        remaining: Option<u64>,
        reset: Option<DateTime<Utc>>,
    },
    /// GitHub's secondary rate limit asked for a longer wait than a run makes.
    Secondary {
        until: Option<DateTime<Utc>>,
        message: String,
    },
    /// A permission or configuration problem: nothing more can succeed.
    Fatal(ApiError),
    /// The journal could not be written: deleting on would leave deletions unrecorded.
    Journal(JournalError),
    /// `--max-duration` passed (how long it was).
    Deadline(std::time::Duration),
}

/// What happened to each target.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    pub total: u64,
    pub deleted: u64,
    pub already_gone: u64,
    /// (package, version label, why)
    pub skipped: Vec<(String, String, String)>,
    /// (package, version label, error)
    pub failed: Vec<(String, String, String)>,
    /// Not attempted because the run stopped.
    pub left: u64,
    pub stop: Option<Stop>,
    pub requests: u64,
    pub secondary_limits: u64,
    pub budget: RateBudget,
    /// Packages where a DELETE was sent (deleted, already gone or failed): what verify lists.
    pub touched: std::collections::BTreeSet<String>,
    /// The pace of the deletions: configured, learned, refusals.
    pub pace: PaceSummary,
}

impl ApplyReport {
    /// Deletions done (deleted now, or found already gone).
    pub fn done(&self) -> u64 {
        self.deleted + self.already_gone
    }
}

struct Shared {
    queue: Mutex<VecDeque<Target>>,
    /// More targets may still come ([`execute_stream`]): an empty queue is not the end.
    open: std::sync::atomic::AtomicBool,
    report: Mutex<ApplyReport>,
    stop: Mutex<Option<Stop>>,
    order: Mutex<Order>,
    /// The budget warning was given ([`warn_budget`]).
    warned: std::sync::atomic::AtomicBool,
}

/// What the executor knows of the targets' progress, to honour [`Target::after`].
#[derive(Default)]
struct Order {
    /// Finished targets: whether the version is gone.
    finished: HashMap<u64, Finished>,
    /// Targets not finished yet (queued or in flight).
    unfinished: HashSet<u64>,
    in_flight: usize,
}

/// How a target ended, for the targets that wait on it.
enum Finished {
    Gone,
    /// Still there, and why (refused, failed, held).
    Stays(String),
}

/// What a worker does next.
enum Next {
    Go(Target),
    /// Not to be deleted: something it depends on was not deleted.
    Blocked(Target, String),
    /// Everything left waits on a target in flight.
    Wait,
    Empty,
    /// The hourly budget pays for no whole image left.
    OverBudget,
}

/// Take the first target whose dependencies are all gone, or one that can no longer go.
/// Locks the queue, then the order: the only place that holds two of [`Shared`]'s locks at once.
///
/// `room`: the deletions the hourly budget still pays for (when it is known). An image is started
/// only when the room holds it whole (itself and the queued targets that wait on it, less what
/// images already started still need), so that a run stopped by the budget leaves no image
/// half-deleted; when nothing fits and nothing is in flight, [`Next::OverBudget`].
fn next_target(shared: &Shared, room: Option<u64>) -> Next {
    let mut queue = lock(&shared.queue);
    if queue.is_empty() {
        return Next::Empty;
    }
    let mut order = lock(&shared.order);
    // What the room holds for new images: less the requests in flight and the parts of images
    // already started (queued targets none of whose `after` is still queued).
    let free = room.map(|room| {
        let queued: HashSet<u64> = queue.iter().map(|t| t.id).collect();
        let committed = queue
            .iter()
            .filter(|t| !t.after.is_empty() && t.after.iter().all(|a| !queued.contains(a)))
            .count() as u64;
        room.saturating_sub(order.in_flight as u64 + committed)
    });
    let mut over_budget = false;
    let mut pick = None;
    for (pos, t) in queue.iter().enumerate() {
        if let (Some(free), true, None) = (free, t.after.is_empty(), &t.hold) {
            let group = 1 + queue.iter().filter(|o| o.after.contains(&t.id)).count() as u64;
            if group > free {
                over_budget = true;
                continue;
            }
        }
        let mut wait = false;
        let mut blocked = t.hold.clone();
        for a in t.after.iter().filter(|_| t.hold.is_none()) {
            match order.finished.get(a) {
                Some(Finished::Gone) => {}
                Some(Finished::Stays(why)) => {
                    blocked = Some(format!(
                        "not deleted: version {a}, which it is part of, was not deleted ({why})"
                    ));
                    break;
                }
                None if order.unfinished.contains(a) => wait = true,
                None => {}
            }
        }
        if blocked.is_some() || !wait {
            pick = Some((pos, blocked));
            break;
        }
    }
    let (pos, blocked) = match pick {
        Some(p) => p,
        // Everything left waits on something left and nothing is in flight: a cycle, which
        // only a crafted inventory makes. Nothing in it is deleted.
        None if over_budget && order.in_flight == 0 => return Next::OverBudget,
        None if over_budget => return Next::Wait,
        None if order.in_flight == 0 => (
            0,
            Some("not deleted: it waits on a version that waits on it".to_string()),
        ),
        None => return Next::Wait,
    };
    let Some(target) = queue.remove(pos) else {
        return Next::Empty;
    };
    order.in_flight += 1;
    match blocked {
        Some(why) => Next::Blocked(target, why),
        None => Next::Go(target),
    }
}

/// Say once, as soon as it is known, when the hourly budget left cannot cover the `total`
/// deletions: "1,000 requests left this hour: about 930 deletions now, the rest next run".
fn warn_budget(
    client: &GithubClient,
    total: u64,
    per_target: u64,
    warned: &std::sync::atomic::AtomicBool,
) {
    let budget = client.budget();
    let Some(remaining) = budget.remaining else {
        return;
    };
    let needed = total * per_target;
    if remaining >= needed + BUDGET_RESERVE || warned.swap(true, AtomicOrdering::SeqCst) {
        return;
    }
    let now = remaining.saturating_sub(BUDGET_RESERVE) / per_target;
    let reset = budget
        .reset
        .map(|r| format!(" (it resets at {})", r.to_rfc3339()))
        .unwrap_or_default();
    eprintln!(
        "warning: {} left this hour{reset}: about {} now, the rest next run; deleting in the plan's order, whole images at a time",
        crate::plural::count(remaining, "request", "requests").replacen(&remaining.to_string(), &grouped(remaining), 1),
        crate::plural::count(now, "deletion", "deletions").replacen(&now.to_string(), &grouped(now), 1),
    );
}

/// `n` with thousands separated by commas: 1,000.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Targets decided while the workers run (a streamed package) join the queue.
fn add_batch(shared: &Shared, batch: Vec<Target>) {
    // One lock at a time: `next_target` holds the queue while it takes the order, so holding the
    // order here while taking the queue could deadlock the two (it did, now and then). The
    // batch's ids are unfinished before its targets join the queue, so a target that waits on
    // one of them waits, as it should.
    lock(&shared.order)
        .unfinished
        .extend(batch.iter().map(|t| t.id));
    lock(&shared.report).total += batch.len() as u64;
    lock(&shared.queue).extend(batch);
}

/// A target's outcome is known (or it was put back): update the order state.
fn finished(shared: &Shared, id: u64, outcome: Option<(JournalOutcome, &str)>) {
    let mut order = lock(&shared.order);
    order.in_flight = order.in_flight.saturating_sub(1);
    if let Some((outcome, message)) = outcome {
        order.unfinished.remove(&id);
        let result = match outcome {
            JournalOutcome::Deleted | JournalOutcome::AlreadyGone => Finished::Gone,
            _ => Finished::Stays(message.to_string()),
        };
        order.finished.insert(id, result);
    }
}

/// Delete `targets` of the owner in `scope`, journaling each outcome.
pub async fn execute(
    client: &GithubClient,
    scope: &Scope,
    targets: Vec<Target>,
    journal: Arc<Journal>,
) -> ApplyReport {
    execute_stream(client, scope, targets, None, journal).await
}

/// [`execute`], taking more batches of targets from `more` while it runs, until the sender is
/// dropped. A target's `after` ids must be in its own batch or an earlier one.
pub async fn execute_stream(
    client: &GithubClient,
    scope: &Scope,
    targets: Vec<Target>,
    more: Option<tokio::sync::mpsc::Receiver<Vec<Target>>>,
    journal: Arc<Journal>,
) -> ApplyReport {
    let total = targets.len() as u64;
    let requests_before = client.requests();
    let secondary_before = client
        .stats()
        .secondary_limits
        .load(std::sync::atomic::Ordering::Relaxed);
    let per_target: u64 = if targets.iter().any(|t| t.recheck.is_some()) {
        2
    } else {
        1
    };
    let warned = std::sync::atomic::AtomicBool::new(false);
    warn_budget(client, total, per_target, &warned);
    let order = Order {
        unfinished: targets.iter().map(|t| t.id).collect(),
        ..Order::default()
    };
    let shared = Arc::new(Shared {
        order: Mutex::new(order),
        open: std::sync::atomic::AtomicBool::new(more.is_some()),
        queue: Mutex::new(targets.into()),
        report: Mutex::new(ApplyReport {
            total,
            ..ApplyReport::default()
        }),
        stop: Mutex::new(None),
        warned,
    });
    let started = std::time::Instant::now();
    let progress = Arc::new(Progress::new(total).with_pace({
        let client = client.clone();
        move || client.pacer().summary().pace
    }));
    // Batches that arrive while the workers run join the queue.
    let feeder = more.map(|mut rx| {
        let shared = Arc::clone(&shared);
        let client = client.clone();
        tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                if lock(&shared.stop).is_some() {
                    // The run stopped: what comes now is left, like the rest of the queue.
                    lock(&shared.report).total += batch.len() as u64;
                    lock(&shared.queue).extend(batch);
                    continue;
                }
                add_batch(&shared, batch);
                let total = lock(&shared.report).total;
                warn_budget(&client, total, per_target, &shared.warned);
            }
            shared
                .open
                .store(false, std::sync::atomic::Ordering::SeqCst);
        })
    });
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let client = client.clone();
        let scope = scope.clone();
        let journal = Arc::clone(&journal);
        let shared = Arc::clone(&shared);
        let progress = Arc::clone(&progress);
        workers.spawn(async move {
            worker(&client, &scope, &journal, &shared, &progress, per_target).await;
        });
    }
    // A line every few seconds on a non-terminal even while nothing finishes (a wait for a
    // rate limit), so that an Actions log never looks stuck.
    let ticker = {
        let shared = Arc::clone(&shared);
        let progress = Arc::clone(&progress);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(progress::line_every()).await;
                progress.update(&lock(&shared.report));
            }
        })
    };
    while workers.join_next().await.is_some() {}
    if let Some(feeder) = feeder {
        // The workers stopped early (a stop): take what is still coming, as left.
        let _ = feeder.await;
    }
    ticker.abort();
    progress.finish();
    let mut report = lock(&shared.report).clone();
    report.left = lock(&shared.queue).len() as u64;
    report.stop = lock(&shared.stop).clone();
    report.requests = client.requests() - requests_before;
    report.secondary_limits = client
        .stats()
        .secondary_limits
        .load(std::sync::atomic::Ordering::Relaxed)
        - secondary_before;
    report.budget = client.budget();
    report.pace = client.pacer().summary();
    if let Some(line) = pace_line(&report.pace, report.done(), started.elapsed()) {
        eprintln!("{line}");
    }
    report
}

/// What GitHub allowed, when it refused: "GitHub allowed about 80 deletions a minute
/// (documented: 180); 249 deleted in 3m 12s" (the time in GitHub's time, unscaled).
fn pace_line(pace: &PaceSummary, done: u64, elapsed: std::time::Duration) -> Option<String> {
    let allowed = pace.allowed.filter(|_| pace.refusals > 0)?;
    let scale = crate::backoff::time_scale();
    let real = std::time::Duration::from_secs_f64(elapsed.as_secs_f64() / scale);
    Some(format!(
        "GitHub allowed about {allowed:.0} deletions a minute (documented: {:.0}); {done} deleted in {}; {} a minute from now on",
        crate::github::pacer::DOCUMENTED_DELETIONS_PER_MINUTE,
        progress::minutes_seconds(real),
        pace.pace.round()
    ))
}

async fn worker(
    client: &GithubClient,
    scope: &Scope,
    journal: &Journal,
    shared: &Shared,
    progress: &Progress,
    per_target: u64,
) {
    loop {
        if lock(&shared.stop).is_some() {
            return;
        }
        if let Some(after) = client.pacer().past_deadline() {
            stop(shared, Stop::Deadline(after));
            return;
        }
        let budget = client.budget();
        if let Some(remaining) = budget.remaining {
            if remaining < BUDGET_RESERVE + per_target {
                let mut stop = lock(&shared.stop);
                if stop.is_none() {
                    *stop = Some(Stop::Budget {
                        remaining: Some(remaining),
                        reset: budget.reset,
                    });
                }
                return;
            }
        }
        let room = budget
            .remaining
            .map(|r| r.saturating_sub(BUDGET_RESERVE) / per_target);
        let target = match next_target(shared, room) {
            Next::Go(t) => t,
            Next::OverBudget => {
                stop(
                    shared,
                    Stop::Budget {
                        remaining: budget.remaining,
                        reset: budget.reset,
                    },
                );
                return;
            }
            Next::Blocked(t, why) => {
                let recorded = record(
                    shared,
                    journal,
                    scope,
                    progress,
                    &t,
                    JournalOutcome::Skipped,
                    why,
                );
                if let Err(e) = recorded {
                    stop(shared, Stop::Journal(e));
                    return;
                }
                continue;
            }
            Next::Wait => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
            Next::Empty if shared.open.load(std::sync::atomic::Ordering::SeqCst) => {
                // More targets are coming (the next package's decisions).
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                continue;
            }
            // Closed after its last batch was queued: an empty queue now is the end.
            Next::Empty if lock(&shared.queue).is_empty() => return,
            Next::Empty => continue,
        };
        // `attempted` is journaled when the DELETE is about to be sent (not while it waits for
        // the pacer), so that a kill leaves an open attempt only for a request that may have
        // reached GitHub. Without a journal nothing may be deleted.
        let attempted = AtomicBool::new(false);
        // Why the request was not sent, when the `attempted` line could not be written.
        let unjournaled: Mutex<Option<JournalError>> = Mutex::new(None);
        let announce = || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            match journal.append(&entry(
                scope,
                &target,
                JournalOutcome::Attempted,
                String::new(),
            )) {
                Ok(()) => {
                    attempted.store(true, AtomicOrdering::SeqCst);
                    Ok(())
                }
                Err(e) => {
                    *lock(&unjournaled) = Some(e.clone());
                    Err(Box::new(e))
                }
            }
        };
        let result = run_one(client, scope, &target, &announce).await;
        let attempted = attempted.load(AtomicOrdering::SeqCst);
        let (outcome, message) = match result {
            Ok(r) => r,
            Err(e) => {
                let stop_with = match &e.kind {
                    // Only the journal aborts a request; were it anything else, stop all the same.
                    ApiErrorKind::Aborted => match lock(&unjournaled).take() {
                        Some(j) => Stop::Journal(j),
                        None => Stop::Fatal(e.clone()),
                    },
                    ApiErrorKind::RateLimited { reset } => Stop::Budget {
                        remaining: Some(0),
                        reset: *reset,
                    },
                    ApiErrorKind::SecondaryLimited { until } => Stop::Secondary {
                        until: *until,
                        message: format!("{}: {}", e.context, e.message),
                    },
                    ApiErrorKind::Unauthorized
                    | ApiErrorKind::Forbidden
                    | ApiErrorKind::NotFound
                    | ApiErrorKind::Redirected
                    | ApiErrorKind::Config => Stop::Fatal(e.clone()),
                    _ => {
                        let recorded = record(
                            shared,
                            journal,
                            scope,
                            progress,
                            &target,
                            JournalOutcome::Failed,
                            e.to_string(),
                        );
                        if let Err(e) = recorded {
                            stop(shared, Stop::Journal(e));
                            return;
                        }
                        continue;
                    }
                };
                // Not deleted: close its attempt and put it back, so it is counted as left.
                let closed = if attempted {
                    journal.append(&entry(
                        scope,
                        &target,
                        JournalOutcome::NotSent,
                        format!("not deleted, back in the queue: {e}"),
                    ))
                } else {
                    Ok(())
                };
                finished(shared, target.id, None);
                lock(&shared.queue).push_front(target);
                stop(
                    shared,
                    match closed {
                        Ok(()) => stop_with,
                        Err(j) => Stop::Journal(j),
                    },
                );
                return;
            }
        };
        if let Err(e) = record(shared, journal, scope, progress, &target, outcome, message) {
            stop(shared, Stop::Journal(e));
            return;
        }
    }
}

/// Stop the run for `why`, unless it is already stopping (the first reason stands).
fn stop(shared: &Shared, why: Stop) {
    let mut stop = lock(&shared.stop);
    if stop.is_none() {
        *stop = Some(why);
    }
}

/// Journal, count and show one outcome. The outcome is counted either way; an error is the
/// journal's, and the run must stop (deleting on would leave deletions unrecorded).
fn record(
    shared: &Shared,
    journal: &Journal,
    scope: &Scope,
    progress: &Progress,
    target: &Target,
    outcome: JournalOutcome,
    message: String,
) -> Result<(), JournalError> {
    let written = journal.append(&entry(scope, target, outcome, message.clone()));
    finished(shared, target.id, Some((outcome, &message)));
    {
        let mut r = lock(&shared.report);
        if matches!(
            outcome,
            JournalOutcome::Deleted | JournalOutcome::AlreadyGone | JournalOutcome::Failed
        ) {
            r.touched.insert(target.package.clone());
        }
        match outcome {
            JournalOutcome::Deleted => r.deleted += 1,
            JournalOutcome::AlreadyGone => r.already_gone += 1,
            JournalOutcome::Skipped => {
                r.skipped
                    .push((target.package.clone(), target.label(), message.clone()))
            }
            _ => r
                .failed
                .push((target.package.clone(), target.label(), message.clone())),
        }
        progress.update(&r);
    }
    outcome.log(&target.package, &target.label(), &message);
    written
}

/// Re-check (with `recheck`) and delete one version.
async fn run_one(
    client: &GithubClient,
    scope: &Scope,
    t: &Target,
    before_send: &crate::github::client::BeforeSend<'_>,
) -> Result<(JournalOutcome, String), ApiError> {
    let ty = t.package_type.as_str();
    if let Some(planned_updated_at) = t.recheck {
        match get_version(client, scope, ty, &t.package, t.id).await? {
            None => {
                return Ok((
                    JournalOutcome::Skipped,
                    "gone since the plan was made".to_string(),
                ))
            }
            Some(value) => {
                let now: Version = serde_json::from_value(value).map_err(|e| {
                    ApiError::new(
                        ApiErrorKind::Decode,
                        format!("re-reading version {} of {}", t.id, t.package),
                        e.to_string(),
                    )
                })?;
                if now.name != t.name {
                    return Ok((
                        JournalOutcome::Skipped,
                        format!(
                            "not the version the plan names: {} then, {} now",
                            t.name, now.name
                        ),
                    ));
                }
                let mut then_tags = t.tags.clone();
                let mut now_tags = now.tags().to_vec();
                then_tags.sort();
                now_tags.sort();
                if then_tags != now_tags {
                    return Ok((
                        JournalOutcome::Skipped,
                        format!(
                            "tags changed since the plan was made: [{}] then, [{}] now",
                            then_tags.join(", "),
                            now_tags.join(", ")
                        ),
                    ));
                }
                if now.updated_at != planned_updated_at {
                    return Ok((
                        JournalOutcome::Skipped,
                        format!(
                            "pushed again since the plan was made: updated_at {} then, {} now",
                            planned_updated_at.to_rfc3339(),
                            now.updated_at.to_rfc3339()
                        ),
                    ));
                }
            }
        }
    }
    match delete_version(client, scope, ty, &t.package, t.id, &t.label(), before_send).await? {
        Done::Now => Ok((JournalOutcome::Deleted, String::new())),
        Done::AlreadyGone(m) => Ok((JournalOutcome::AlreadyGone, m)),
        Done::Refused(m) => Ok((JournalOutcome::Skipped, m)),
    }
}

/// The journal line for an outcome of `target`, stamped now.
fn entry(scope: &Scope, target: &Target, outcome: JournalOutcome, message: String) -> Entry {
    Entry {
        owner: scope.owner().to_string(),
        scope: scope.journal_name(),
        package: target.package.clone(),
        package_type: target.package_type,
        id: target.id,
        name: target.name.clone(),
        tags: target.tags.clone(),
        outcome,
        message,
        time: Utc::now(),
        untag: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: u64, after: Vec<u64>) -> Target {
        Target {
            package: "app".into(),
            package_type: PackageType::Container,
            id,
            name: format!("sha256:{id:064x}"),
            tags: Vec::new(),
            recheck: None,
            after,
            hold: None,
        }
    }

    fn shared_with(targets: Vec<Target>) -> Shared {
        Shared {
            order: Mutex::new(Order {
                unfinished: targets.iter().map(|t| t.id).collect(),
                ..Order::default()
            }),
            queue: Mutex::new(targets.into()),
            open: std::sync::atomic::AtomicBool::new(false),
            report: Mutex::new(ApplyReport::default()),
            stop: Mutex::new(None),
            warned: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn id_of(next: Next) -> Option<u64> {
        match next {
            Next::Go(t) => Some(t.id),
            _ => None,
        }
    }

    /// Issue 21.3: when the hourly budget is short, an image starts only if the budget holds it
    /// whole (the index and its parts), so that the stop leaves no image half-deleted.
    #[test]
    fn a_short_budget_starts_only_images_it_can_finish() {
        // Image 1 with parts 2 and 3; image 4 with part 5.
        let shared = shared_with(vec![
            target(1, vec![]),
            target(2, vec![1]),
            target(3, vec![1]),
            target(4, vec![]),
            target(5, vec![4]),
        ]);
        // Room for two deletions: image 1 (three) does not fit, image 4 (two) does.
        assert_eq!(id_of(next_target(&shared, Some(2))), Some(4));
        // Its part waits for it; image 1 still does not fit.
        assert!(matches!(next_target(&shared, Some(2)), Next::Wait));
        finished(&shared, 4, Some((JournalOutcome::Deleted, "")));
        assert_eq!(id_of(next_target(&shared, Some(1))), Some(5));
        finished(&shared, 5, Some((JournalOutcome::Deleted, "")));
        // Nothing whole fits any more: the run stops with image 1 untouched.
        assert!(matches!(next_target(&shared, Some(2)), Next::OverBudget));
        assert_eq!(lock(&shared.queue).len(), 3);
        // With the budget unknown or ample, the plan's order.
        assert_eq!(id_of(next_target(&shared, None)), Some(1));
    }

    /// Batches joining the queue while workers take targets from it never deadlock the two
    /// (the feeder once held the order while taking the queue, and `next_target` the reverse:
    /// a streamed apply hung now and then).
    #[test]
    fn batches_join_while_workers_take_targets_without_deadlock() {
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            open: std::sync::atomic::AtomicBool::new(true),
            report: Mutex::new(ApplyReport::default()),
            stop: Mutex::new(None),
            order: Mutex::new(Order::default()),
            warned: std::sync::atomic::AtomicBool::new(false),
        });
        const BATCHES: u64 = 20_000;
        let (done, finished_all) = std::sync::mpsc::channel();
        let feeder = {
            let shared = Arc::clone(&shared);
            let done = done.clone();
            std::thread::spawn(move || {
                for b in 0..BATCHES {
                    // Each batch: an index and a child that waits on it.
                    add_batch(
                        &shared,
                        vec![target(2 * b, Vec::new()), target(2 * b + 1, vec![2 * b])],
                    );
                }
                let _ = done.send(());
            })
        };
        let worker = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let mut taken = 0u64;
                while taken < 2 * BATCHES {
                    match next_target(&shared, None) {
                        Next::Go(t) | Next::Blocked(t, _) => {
                            finished(&shared, t.id, Some((JournalOutcome::Deleted, "")));
                            taken += 1;
                        }
                        Next::Wait | Next::Empty | Next::OverBudget => std::thread::yield_now(),
                    }
                }
                let _ = done.send(());
            })
        };
        for _ in 0..2 {
            assert!(
                finished_all
                    .recv_timeout(std::time::Duration::from_secs(20))
                    .is_ok(),
                "the feeder and the worker deadlocked"
            );
        }
        let _ = (feeder.join(), worker.join());
        let order = lock(&shared.order);
        assert_eq!(order.finished.len() as u64, 2 * BATCHES);
        assert!(order.unfinished.is_empty());
    }
}
