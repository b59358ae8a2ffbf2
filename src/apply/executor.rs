//! The executor: one scheduler task owns every piece of its state (the [`Order`], the report,
//! the progress display, why it stopped) and hands targets to workers over channels; a worker
//! re-checks and deletes one version and sends the outcome back. Batches of a streamed plan
//! ([`execute_stream`]) arrive on the same `select!` loop as the outcomes and the progress ticks:
//! nothing polls, nothing is shared behind a lock. The pace is the client's
//! ([`crate::github::pacer`]); journal lines are written off the async worker threads (the
//! scheduler's through `spawn_blocking`, a worker's `attempted` line through `block_in_place`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc;

use super::journal::{Entry, Journal, JournalError, JournalOutcome};
use super::order::{Next, Order};
use super::progress::{self, Progress};
use super::{ApplyReport, Item, Stop, Target, BUDGET_RESERVE};
use crate::github::packages::{delete_version, get_version};
use crate::github::{ApiError, ApiErrorKind, Done, GithubClient, PaceSummary, Scope};
use crate::inventory::Version;

/// Deletions in flight at most (the pacer bounds the rate, and sends one at a time at the
/// default pace; more only overlap latency at higher paces).
const WORKERS: usize = 6;

/// Delete `targets` of the owner in `scope`, journaling each outcome.
pub async fn execute(
    client: &GithubClient,
    scope: &Scope,
    targets: Vec<Target>,
    journal: Arc<Journal>,
) -> ApplyReport {
    execute_stream(client, scope, targets, None, journal).await
}

/// What a worker sends back: which worker, the target, and what became of it.
struct Done_ {
    worker: usize,
    target: Target,
    result: Result<(JournalOutcome, String), Failed>,
}

/// A request that failed: the error, whether its `attempted` line was written, and the journal's
/// error when writing it is what failed.
struct Failed {
    error: ApiError,
    attempted: bool,
    unjournaled: Option<JournalError>,
}

/// What a deletion costs of the hourly budget: the GET that reads the version again
/// ([`changed_since_plan`]), then its DELETE.
const REQUESTS_PER_DELETION: u64 = 2;

/// [`execute`], taking more batches of targets from `more` while it runs, until the sender is
/// dropped. A target's `after` ids must be in its own batch or an earlier one.
pub async fn execute_stream(
    client: &GithubClient,
    scope: &Scope,
    targets: Vec<Target>,
    mut more: Option<mpsc::Receiver<Vec<Target>>>,
    journal: Arc<Journal>,
) -> ApplyReport {
    let total = targets.len() as u64;
    let requests_before = client.requests();
    let secondary_before = client
        .stats()
        .secondary_limits
        .load(std::sync::atomic::Ordering::Relaxed);
    let mut warned = false;
    warn_budget(client, total, &mut warned);
    let mut order = Order::new(targets);
    let mut report = ApplyReport {
        total,
        ..ApplyReport::default()
    };
    let mut stopped: Option<Stop> = None;
    let started = Instant::now();
    let mut progress = Progress::new(total).with_pace({
        let client = client.clone();
        move || client.pacer().summary().pace
    });

    let (to_workers, mut done_rx, mut workers) = spawn_workers(client, scope, &journal);
    let mut idle: Vec<usize> = (0..WORKERS).rev().collect();
    // A line every few seconds on a non-terminal even while nothing finishes (a wait for a
    // rate limit), so that an Actions log never looks stuck.
    let mut ticker = tokio::time::interval(progress::line_every());
    ticker.tick().await;

    loop {
        // Hand out what may go, while a worker is free and the run goes on.
        let mut state = State {
            order: &mut order,
            report: &mut report,
            progress: &mut progress,
            stopped: &mut stopped,
        };
        hand_out(client, scope, &journal, &mut state, &mut idle, &to_workers).await;
        let finished = order.in_flight() == 0
            && (stopped.is_some() || (order.queued() == 0 && more.is_none()));
        if finished {
            break;
        }
        tokio::select! {
            batch = recv_batch(&mut more) => match batch {
                Some(batch) => {
                    report.total += batch.len() as u64;
                    // After a stop what comes is left, like the rest of the queue.
                    order.add(batch);
                    warn_budget(client, report.total, &mut warned);
                }
                None => more = None,
            },
            Some(done) = done_rx.recv() => {
                idle.push(done.worker);
                outcome(done, &journal, scope, &mut order, &mut report, &mut progress, &mut stopped).await;
            }
            _ = ticker.tick() => progress.update(&report),
        }
    }
    // The workers are idle: let them go.
    drop(to_workers);
    while workers.join_next().await.is_some() {}
    // Stopped early: what is still coming is left.
    if let Some(rx) = more.as_mut() {
        while let Some(batch) = rx.recv().await {
            report.total += batch.len() as u64;
            order.add(batch);
        }
    }
    progress.finish();
    report.left = order.queued() as u64;
    report.stop = stopped;
    report.requests = client.requests() - requests_before;
    report.secondary_limits = client
        .stats()
        .secondary_limits
        .load(std::sync::atomic::Ordering::Relaxed)
        - secondary_before;
    report.budget = client.budget();
    report.pace = client.pacer().summary();
    if let Some(line) = pace_line(&report.pace, report.done(), started.elapsed()) {
        crate::printer::status(&line);
    }
    report
}

/// What the scheduler's helpers change: the order, the report, the progress, why it stopped.
struct State<'a> {
    order: &'a mut Order,
    report: &'a mut ApplyReport,
    progress: &'a mut Progress,
    stopped: &'a mut Option<Stop>,
}

/// Start the [`WORKERS`]: each takes a target on its own channel, deletes it ([`work`]) and
/// sends what became of it back on the one returned receiver.
fn spawn_workers(
    client: &GithubClient,
    scope: &Scope,
    journal: &Arc<Journal>,
) -> (
    Vec<mpsc::Sender<Target>>,
    mpsc::Receiver<Done_>,
    tokio::task::JoinSet<()>,
) {
    let (done_tx, done_rx) = mpsc::channel::<Done_>(WORKERS);
    let mut to_workers = Vec::with_capacity(WORKERS);
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let (tx, mut rx) = mpsc::channel::<Target>(1);
        to_workers.push(tx);
        let (client, scope, journal, done_tx) = (
            client.clone(),
            scope.clone(),
            Arc::clone(journal),
            done_tx.clone(),
        );
        workers.spawn(async move {
            while let Some(target) = rx.recv().await {
                let result = work(&client, &scope, &journal, &target).await;
                let done = Done_ {
                    worker: w,
                    target,
                    result,
                };
                if done_tx.send(done).await.is_err() {
                    return;
                }
            }
        });
    }
    (to_workers, done_rx, workers)
}

/// Hand out what may go while a worker is `idle` and the run goes on: stop at the deadline or
/// when the budget is spent; a target blocked by another's outcome is recorded as skipped.
async fn hand_out(
    client: &GithubClient,
    scope: &Scope,
    journal: &Arc<Journal>,
    s: &mut State<'_>,
    idle: &mut Vec<usize>,
    to_workers: &[mpsc::Sender<Target>],
) {
    while s.stopped.is_none() && !idle.is_empty() {
        if let Some(after) = client.pacer().past_deadline() {
            *s.stopped = Some(Stop::Deadline(after));
            break;
        }
        let budget = client.budget();
        if let Some(remaining) = budget.remaining {
            if remaining < BUDGET_RESERVE + REQUESTS_PER_DELETION {
                *s.stopped = Some(Stop::Budget {
                    remaining: Some(remaining),
                    reset: budget.reset,
                });
                break;
            }
        }
        let room = budget
            .remaining
            .map(|r| r.saturating_sub(BUDGET_RESERVE) / REQUESTS_PER_DELETION);
        match s.order.next(room) {
            Next::Go(target) => {
                let Some(w) = idle.pop() else { break };
                if let Err(e) = to_workers[w].send(target).await {
                    // The worker is gone (it panicked): the target goes back.
                    s.order.put_back(e.0);
                    break;
                }
            }
            Next::Blocked(target, why) => {
                record(
                    journal,
                    scope,
                    s.order,
                    s.report,
                    s.progress,
                    &target,
                    JournalOutcome::Skipped,
                    why,
                    s.stopped,
                )
                .await;
            }
            Next::OverBudget => {
                *s.stopped = Some(Stop::Budget {
                    remaining: budget.remaining,
                    reset: budget.reset,
                });
            }
            Next::Wait | Next::Empty => break,
        }
    }
}

/// The next batch of a streamed plan; never, once the sender is gone (`None` is returned once).
async fn recv_batch(more: &mut Option<mpsc::Receiver<Vec<Target>>>) -> Option<Vec<Target>> {
    match more.as_mut() {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// What a worker's answer means: an outcome to record, or a stop (the target goes back).
#[allow(clippy::too_many_arguments)]
async fn outcome(
    done: Done_,
    journal: &Arc<Journal>,
    scope: &Scope,
    order: &mut Order,
    report: &mut ApplyReport,
    progress: &mut Progress,
    stopped: &mut Option<Stop>,
) {
    let Done_ { target, result, .. } = done;
    let failed = match result {
        Ok((outcome, message)) => {
            record(
                journal, scope, order, report, progress, &target, outcome, message, stopped,
            )
            .await;
            return;
        }
        Err(f) => f,
    };
    let e = failed.error;
    let stop_with = match &e.kind {
        // Only the journal aborts a request; were it anything else, stop all the same.
        ApiErrorKind::Aborted => match failed.unjournaled {
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
            let message = e.to_string();
            record(
                journal,
                scope,
                order,
                report,
                progress,
                &target,
                JournalOutcome::Failed,
                message,
                stopped,
            )
            .await;
            return;
        }
    };
    // Not deleted: close its attempt and put it back, so it is counted as left.
    let closed = if failed.attempted {
        append(
            journal,
            entry(
                scope,
                &target,
                JournalOutcome::NotSent,
                format!("not deleted, back in the queue: {e}"),
            ),
        )
        .await
    } else {
        Ok(())
    };
    order.put_back(target);
    if stopped.is_none() {
        *stopped = Some(match closed {
            Ok(()) => stop_with,
            Err(j) => Stop::Journal(j),
        });
    }
}

/// Journal, count and show one outcome. The outcome is counted either way; when the journal
/// cannot be written the run stops (deleting on would leave deletions unrecorded).
#[allow(clippy::too_many_arguments)]
async fn record(
    journal: &Arc<Journal>,
    scope: &Scope,
    order: &mut Order,
    report: &mut ApplyReport,
    progress: &mut Progress,
    target: &Target,
    outcome: JournalOutcome,
    message: String,
    stopped: &mut Option<Stop>,
) {
    let written = append(journal, entry(scope, target, outcome, message.clone())).await;
    order.finish(target.id, outcome, &message);
    if matches!(
        outcome,
        JournalOutcome::Deleted | JournalOutcome::AlreadyGone | JournalOutcome::Failed
    ) {
        report.touched.insert(target.package.clone());
    }
    match outcome {
        JournalOutcome::Deleted => report.deleted += 1,
        JournalOutcome::AlreadyGone => report.already_gone += 1,
        JournalOutcome::Skipped => {
            report
                .skipped
                .push(Item::new(&target.package, target.label(), &message))
        }
        _ => report
            .failed
            .push(Item::new(&target.package, target.label(), &message)),
    }
    progress.update(report);
    outcome.log(&target.package, &target.label(), &message);
    if let Err(e) = written {
        if stopped.is_none() {
            *stopped = Some(Stop::Journal(e));
        }
    }
}

/// Append a journal line off the async threads (the write is fsynced).
async fn append(journal: &Arc<Journal>, entry: Entry) -> Result<(), JournalError> {
    let writer = Arc::clone(journal);
    match tokio::task::spawn_blocking(move || writer.append(&entry)).await {
        Ok(written) => written,
        // The blocking task panicked: the line may not be there; a write that failed.
        Err(e) => Err(JournalError::Write {
            path: journal.path().to_path_buf(),
            source: Arc::new(std::io::Error::other(e.to_string())),
        }),
    }
}

/// Run `f` (a journal write) where blocking is allowed: `block_in_place` on the multi-threaded
/// runtime the commands use, directly elsewhere (a current-thread test runtime).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// A worker's job: re-check and delete one version; `attempted` is journaled
/// when the DELETE is about to be sent (not while it waits for the pacer), so that a kill leaves
/// an open attempt only for a request that may have reached GitHub. Without a journal nothing
/// may be deleted.
async fn work(
    client: &GithubClient,
    scope: &Scope,
    journal: &Journal,
    target: &Target,
) -> Result<(JournalOutcome, String), Failed> {
    let attempted = std::sync::atomic::AtomicBool::new(false);
    // Why the request was not sent, when the `attempted` line could not be written (set once,
    // by the one request of this worker).
    let unjournaled = std::sync::OnceLock::new();
    let announce = || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let line = entry(scope, target, JournalOutcome::Attempted, String::new());
        match blocking(|| journal.append(&line)) {
            Ok(()) => {
                attempted.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            }
            Err(e) => {
                let _ = unjournaled.set(e.clone());
                Err(Box::new(e))
            }
        }
    };
    let result = run_one(client, scope, target, &announce).await;
    result.map_err(|error| Failed {
        error,
        attempted: attempted.load(std::sync::atomic::Ordering::SeqCst),
        unjournaled: unjournaled.into_inner(),
    })
}

/// Say once, as soon as it is known, when the hourly budget left cannot cover the `total`
/// deletions: "1,000 requests left this hour: about 495 deletions now, the rest next run".
fn warn_budget(client: &GithubClient, total: u64, warned: &mut bool) {
    let budget = client.budget();
    let Some(remaining) = budget.remaining else {
        return;
    };
    let needed = total * REQUESTS_PER_DELETION;
    if remaining >= needed + BUDGET_RESERVE || *warned {
        return;
    }
    *warned = true;
    let now = remaining.saturating_sub(BUDGET_RESERVE) / REQUESTS_PER_DELETION;
    let reset = budget
        .reset
        .map(|r| format!(" (it resets at {})", r.to_rfc3339()))
        .unwrap_or_default();
    crate::printer::warning(&format!(
        "{} left this hour{reset}: about {} now, the rest next run; deleting in the plan's order, whole images at a time",
        crate::plural::count(remaining, "request", "requests").replacen(&remaining.to_string(), &grouped(remaining), 1),
        crate::plural::count(now, "deletion", "deletions").replacen(&now.to_string(), &grouped(now), 1),
    ));
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

/// What GitHub allowed, when it refused: "GitHub allowed about 80 deletions a minute
/// (documented: 180); 249 deleted in 3m 12s" (the time in GitHub's time, unscaled).
fn pace_line(pace: &PaceSummary, done: u64, elapsed: Duration) -> Option<String> {
    let allowed = pace.allowed.filter(|_| pace.refusals > 0)?;
    let scale = crate::backoff::time_scale();
    let real = Duration::from_secs_f64(elapsed.as_secs_f64() / scale);
    Some(format!(
        "GitHub allowed about {allowed:.0} deletions a minute (documented: {:.0}); {done} deleted in {}; {} a minute from now on",
        crate::github::pacer::DOCUMENTED_DELETIONS_PER_MINUTE,
        progress::minutes_seconds(real),
        pace.pace.round()
    ))
}

/// Read the version again, skip it if it changed since the plan's listing, else delete it.
async fn run_one(
    client: &GithubClient,
    scope: &Scope,
    t: &Target,
    before_send: &crate::github::client::BeforeSend<'_>,
) -> Result<(JournalOutcome, String), ApiError> {
    let ty = t.package_type.as_str();
    if let Some(why) = changed_since_plan(client, scope, t).await? {
        return Ok((JournalOutcome::Skipped, why));
    }
    match delete_version(client, scope, ty, &t.package, t.id, &t.label(), before_send).await? {
        Done::Now => Ok((JournalOutcome::Deleted, String::new())),
        Done::AlreadyGone(m) => Ok((JournalOutcome::AlreadyGone, m)),
        Done::Refused(m) => Ok((JournalOutcome::Skipped, m)),
    }
}

/// Why `t` must not be deleted after all, read from GitHub now: gone, another digest under its
/// id, its tags changed (another actor tagged it) or pushed again (`updated_at`) since the
/// listing the plan was made from. `None`: it is as the plan saw it.
async fn changed_since_plan(
    client: &GithubClient,
    scope: &Scope,
    t: &Target,
) -> Result<Option<String>, ApiError> {
    let Some(value) = get_version(client, scope, t.package_type.as_str(), &t.package, t.id).await?
    else {
        return Ok(Some("gone since the plan was made".to_string()));
    };
    let now: Version = serde_json::from_value(value).map_err(|e| {
        ApiError::new(
            ApiErrorKind::Decode,
            format!("re-reading version {} of {}", t.id, t.package),
            e.to_string(),
        )
    })?;
    if now.name != t.name {
        return Ok(Some(format!(
            "not the version the plan names: {} then, {} now",
            t.name, now.name
        )));
    }
    let mut then_tags = t.tags.clone();
    let mut now_tags = now.tags().to_vec();
    then_tags.sort();
    now_tags.sort();
    if then_tags != now_tags {
        return Ok(Some(format!(
            "tags changed since the plan was made: [{}] then, [{}] now",
            then_tags.join(", "),
            now_tags.join(", ")
        )));
    }
    if now.updated_at != t.updated_at {
        return Ok(Some(format!(
            "pushed again since the plan was made: updated_at {} then, {} now",
            t.updated_at.to_rfc3339(),
            now.updated_at.to_rfc3339()
        )));
    }
    Ok(None)
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

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(7), "7");
        assert_eq!(grouped(930), "930");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
    }

    #[test]
    fn the_pace_line_says_what_github_allowed_only_after_a_refusal() {
        let mut pace = PaceSummary {
            configured: 174.6,
            started: 174.6,
            pace: 72.0,
            allowed: Some(80.0),
            refusals: 1,
            accepted: 249,
            ..PaceSummary::default()
        };
        assert_eq!(
            pace_line(&pace, 249, Duration::from_secs(192)).as_deref(),
            Some("GitHub allowed about 80 deletions a minute (documented: 180); 249 deleted in 3m 12s; 72 a minute from now on")
        );
        pace.refusals = 0;
        assert_eq!(pace_line(&pace, 249, Duration::from_secs(192)), None);
    }
}
