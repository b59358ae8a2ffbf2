//! Pacing, so that GitHub's limits are kept rather than hit and waited out, and so that a limit
//! lower than documented is found from GitHub's own refusals instead of hammered.
//!
//! Two kinds of request are paced differently:
//! - **Reads** (GETs): each endpoint at most 900 points a minute (a GET costs 1 point), spaced
//!   evenly (a leaky bucket with no burst) at a few percent under the limit ([`HEADROOM`]), as
//!   GitHub documents; a refusal holds that endpoint back for the wait GitHub asks ([`Pacer::pause`]).
//! - **Mutative requests** (DELETE, restore POST, the deletion of a placeholder): one shared,
//!   adaptive pace ([`Adaptive`]). By default one a second, serially, as GitHub's "best practices
//!   for using the REST API" ask; `--deletions-per-minute` configures it (at most the documented
//!   180, less [`HEADROOM`]). The pace never exceeds the configured one. On a secondary-limit
//!   refusal every mutative request is held back, **slots already booked included** (a booking
//!   made before the refusal is cancelled and taken again after the pause: no request of the
//!   class leaves during it); the pace drops to 90% of what GitHub accepted in the minute before
//!   the refusal, and rises again by small steps ([`RAISE_STEP`] of the configured pace a minute)
//!   only after [`HOLD_AFTER_REFUSAL`] without a refusal, and not above 90% of what GitHub
//!   accepted until [`PROBE_AFTER`] has passed. Requests that were already on their way
//!   when the refusal came are answered by the same limit: their refusals count once (the
//!   booking's `epoch` tells), so a change of the server's limit costs one refusal, not one per
//!   worker.
//!
//! What a run learned is reported ([`PaceSummary`]) and remembered per API host and owner
//! ([`super::memory`]), so that the next run starts where this one ended.
//!
//! Time can be compressed for tests ([`crate::backoff::time_scale`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::backoff::{scaled, time_scale};

/// GitHub's secondary limit: points per minute per endpoint.
pub const POINTS_PER_MINUTE: f64 = 900.0;
/// The share of a limit used: 3% of headroom absorbs jitter between sending and arrival.
pub const HEADROOM: f64 = 0.97;
/// Requests in flight at once (GitHub allows 100; far fewer suffice at 180 deletions a minute).
pub const CONCURRENCY: usize = 6;
/// The documented most deletions a minute (900 points, 5 a DELETE).
pub const DOCUMENTED_DELETIONS_PER_MINUTE: f64 = POINTS_PER_MINUTE / 5.0;
/// The default pace of mutative requests: one a second (GitHub's best practices).
pub const DEFAULT_DELETIONS_PER_MINUTE: f64 = 60.0;
/// The lowest pace a refusal leads to, as a share of the configured one: what GitHub accepted
/// in a minute that began with a pause can be far below what it allows.
pub const FLOOR_SHARE: f64 = 0.1;
/// After a refusal the pace is this share of what GitHub accepted in the minute before.
pub const AFTER_REFUSAL: f64 = 0.9;
/// No raise of the pace until this long after the last refusal (unscaled).
pub const HOLD_AFTER_REFUSAL: Duration = Duration::from_secs(120);
/// A raise, once a minute without refusal: this share of the configured pace.
pub const RAISE_STEP: f64 = 0.05;
/// For this long after a refusal (unscaled), raises stop short of what GitHub accepted in the
/// minute before it ([`PROBE_CEILING`] of it): climbing back to a known limit costs a refusal a
/// step and gains little. After it, the pace probes up to the configured one.
pub const PROBE_AFTER: Duration = Duration::from_secs(600);
/// The share of what GitHub accepted that raises stop at, within [`PROBE_AFTER`]: where the
/// refusal left the pace (a limit GitHub just showed is not probed again at once).
pub const PROBE_CEILING: f64 = AFTER_REFUSAL;
/// A refusal without `retry-after`: wait at least this (GitHub: "at least a minute"), doubled
/// on each refusal that follows without a success between.
pub const SECONDARY_DEFAULT_WAIT: Duration = Duration::from_secs(60);
/// The longest pause this pacer imposes on its own (a longer `retry-after` is the client's
/// business: it stops the run).
pub const MAX_OWN_WAIT: Duration = Duration::from_secs(300);

/// Spaces requests and bounds concurrency; shared by every request of a run.
pub struct Pacer {
    /// Seconds (unscaled) one point occupies on a read endpoint.
    seconds_per_point: f64,
    scale: f64,
    next_free: Mutex<HashMap<String, Instant>>,
    in_flight: Semaphore,
    /// The mutative requests' pace.
    mutative: Mutex<Adaptive>,
    /// One mutative request at a time, at paces up to the default (serially, as GitHub asks).
    serial: Semaphore,
    /// `--max-duration`: when the run stops taking deletions, and the duration given.
    deadline: Mutex<Option<(Instant, Duration)>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("seconds_per_point", &self.seconds_per_point)
            .field("scale", &self.scale)
            .finish()
    }
}

/// Where a run's pace starts: the configured pace, or what an earlier run learned.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Start {
    /// Deletions a minute.
    pub pace: f64,
    /// Whether this run may raise the pace above `pace` (not when the remembered run met a
    /// refusal: it probes upward only after a run without one).
    pub may_probe: bool,
}

/// What a run's pacing of mutative requests came to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PaceSummary {
    /// The configured deletions a minute (`--deletions-per-minute`, else 60).
    pub configured: f64,
    /// Where the run started (below `configured` when it started from memory).
    pub started: f64,
    /// Whether it started from a remembered pace.
    pub from_memory: bool,
    /// The pace at the end.
    pub pace: f64,
    /// What GitHub accepted in the minute before its last refusal (deletions a minute).
    pub allowed: Option<f64>,
    /// Refusals (one per change of the server's limit, not per request refused).
    pub refusals: u64,
    /// Mutative requests accepted.
    pub accepted: u64,
}

/// The adaptive pace of mutative requests (see the module doc).
#[derive(Debug)]
struct Adaptive {
    /// Deletions a minute, at most: the configured pace.
    configured: f64,
    /// The pace now.
    pace: f64,
    started: f64,
    from_memory: bool,
    may_probe: bool,
    next_free: Option<Instant>,
    paused_until: Option<Instant>,
    /// Bumped by each refusal: bookings of an older epoch are cancelled.
    epoch: u64,
    /// When requests were accepted, the last minute's (scaled).
    recent: VecDeque<Instant>,
    accepted: u64,
    /// Refusals since the last success.
    consecutive: u32,
    refusals: u64,
    allowed: Option<f64>,
    last_refusal: Option<Instant>,
    last_raise: Option<Instant>,
    last_success: Option<Instant>,
    first_request: Option<Instant>,
}

/// The permission to send one request; hold it while the request runs.
pub struct Ticket<'a> {
    _permit: Option<SemaphorePermit<'a>>,
    _serial: Option<SemaphorePermit<'a>>,
    /// The mutative epoch the request was booked in (`None` for a read).
    epoch: Option<u64>,
}

impl Ticket<'_> {
    /// Whether this is a mutative request's ticket.
    pub fn is_mutative(&self) -> bool {
        self.epoch.is_some()
    }
}

/// What to do after a mutative request was refused.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Refusal {
    /// The pause (unscaled) from now, for the message.
    pub wait: Duration,
    /// This refusal paused the class (not a request already on its way when another was refused).
    pub first: bool,
    /// This refusal lowered the pace (the first of its change of limit), and to what.
    pub lowered_to: Option<f64>,
    /// Nothing was accepted for this long (unscaled) by the end of the pause.
    pub without_success: Duration,
}

/// The configured pace, made effective: at most the documented limit less the headroom.
pub fn effective(per_minute: f64) -> f64 {
    let max = DOCUMENTED_DELETIONS_PER_MINUTE * HEADROOM;
    if per_minute.is_finite() && per_minute > 0.0 {
        per_minute.min(max)
    } else {
        DEFAULT_DELETIONS_PER_MINUTE
    }
}

impl Pacer {
    /// GitHub's limits and the default pace, with the time scale from the environment.
    pub fn github() -> Pacer {
        Pacer::new(POINTS_PER_MINUTE * HEADROOM, CONCURRENCY, time_scale())
    }

    /// Reads at `points_per_minute` per endpoint, `concurrency` requests in flight, the default
    /// mutative pace, waits multiplied by `scale`.
    pub fn new(points_per_minute: f64, concurrency: usize, scale: f64) -> Pacer {
        let pace = DEFAULT_DELETIONS_PER_MINUTE;
        Pacer {
            seconds_per_point: 60.0 / points_per_minute.max(1.0),
            scale,
            next_free: Mutex::new(HashMap::new()),
            in_flight: Semaphore::new(concurrency.max(1)),
            mutative: Mutex::new(Adaptive {
                configured: pace,
                pace,
                started: pace,
                from_memory: false,
                may_probe: true,
                next_free: None,
                paused_until: None,
                epoch: 0,
                recent: VecDeque::new(),
                accepted: 0,
                consecutive: 0,
                refusals: 0,
                allowed: None,
                last_refusal: None,
                last_raise: None,
                last_success: None,
                first_request: None,
            }),
            serial: Semaphore::new(1),
            deadline: Mutex::new(None),
        }
    }

    /// Stop taking deletions `d` (scaled) from now (`--max-duration`).
    pub fn set_max_duration(&self, d: Duration) {
        *crate::sync::lock(&self.deadline) = Some((Instant::now() + self.scaled(d), d));
    }

    /// The `--max-duration` given, once it has passed.
    pub fn past_deadline(&self) -> Option<Duration> {
        let deadline = *crate::sync::lock(&self.deadline);
        deadline.and_then(|(at, d)| (Instant::now() >= at).then_some(d))
    }

    /// Configure the mutative pace: at most `per_minute` deletions a minute (made
    /// [`effective`]), starting at `start` (a remembered pace) when it is lower.
    pub fn configure(&self, per_minute: f64, start: Option<Start>) {
        let configured = effective(per_minute);
        let mut m = crate::sync::lock(&self.mutative);
        m.configured = configured;
        m.pace = configured;
        m.from_memory = false;
        m.may_probe = true;
        if let Some(s) = start.filter(|s| s.pace.is_finite() && s.pace > 0.0) {
            if s.pace < configured {
                m.pace = s.pace.max(configured * FLOOR_SHARE);
                m.from_memory = true;
                m.may_probe = s.may_probe;
            }
        }
        m.started = m.pace;
    }

    /// The mutative pace so far.
    pub fn summary(&self) -> PaceSummary {
        let m = crate::sync::lock(&self.mutative);
        PaceSummary {
            configured: m.configured,
            started: m.started,
            from_memory: m.from_memory,
            pace: m.pace,
            allowed: m.allowed,
            refusals: m.refusals,
            accepted: m.accepted,
        }
    }

    /// Sleep for `d` (scaled).
    pub async fn sleep(&self, d: Duration) {
        tokio::time::sleep(scaled(d, self.scale)).await;
    }

    fn scaled(&self, d: Duration) -> Duration {
        scaled(d, self.scale)
    }

    /// Wait for the next slot of a request, then for a place among the requests in flight.
    /// `mutative`: a DELETE or POST (the adaptive pace); else a read of `endpoint` costing `cost`
    /// points. Hold the ticket while the request runs.
    pub async fn acquire(&self, mutative: bool, endpoint: &str, cost: u32) -> Ticket<'_> {
        if mutative {
            return self.acquire_mutative().await;
        }
        let interval =
            Duration::from_secs_f64(self.seconds_per_point * f64::from(cost) * self.scale);
        let at = {
            let now = Instant::now();
            let mut slots = crate::sync::lock(&self.next_free);
            let slot = slots.entry(endpoint.to_string()).or_insert(now);
            let at = (*slot).max(now);
            *slot = at + interval;
            at
        };
        tokio::time::sleep_until(at).await;
        Ticket {
            _permit: self.in_flight.acquire().await.ok(),
            _serial: None,
            epoch: None,
        }
    }

    /// Book a mutative slot, wait for it, and go only if no refusal came meanwhile (else book
    /// again, after the pause).
    async fn acquire_mutative(&self) -> Ticket<'_> {
        loop {
            let (at, epoch, serial) = {
                let now = Instant::now();
                let mut m = crate::sync::lock(&self.mutative);
                self.maybe_raise(&mut m, now);
                let mut at = m.next_free.unwrap_or(now).max(now);
                if let Some(p) = m.paused_until {
                    at = at.max(p);
                }
                let interval = self.scaled(Duration::from_secs_f64(60.0 / m.pace.max(0.1)));
                m.next_free = Some(at + interval);
                m.first_request.get_or_insert(at);
                (at, m.epoch, m.pace <= DEFAULT_DELETIONS_PER_MINUTE)
            };
            tokio::time::sleep_until(at).await;
            if !self.still_valid(epoch) {
                continue;
            }
            let serial = if serial {
                self.serial.acquire().await.ok()
            } else {
                None
            };
            let permit = self.in_flight.acquire().await.ok();
            // A refusal may have come while this request waited for its place.
            if !self.still_valid(epoch) {
                continue;
            }
            return Ticket {
                _permit: permit,
                _serial: serial,
                epoch: Some(epoch),
            };
        }
    }

    /// No refusal since `epoch` was booked, and no pause now.
    fn still_valid(&self, epoch: u64) -> bool {
        let m = crate::sync::lock(&self.mutative);
        m.epoch == epoch && m.paused_until.is_none_or(|p| p <= Instant::now())
    }

    /// Additive increase: a step a minute, once [`HOLD_AFTER_REFUSAL`] passed without refusal.
    fn maybe_raise(&self, m: &mut Adaptive, now: Instant) {
        if !m.may_probe || m.pace >= m.configured {
            return;
        }
        let minute = self.scaled(Duration::from_secs(60));
        let quiet_since = match (m.last_refusal, m.first_request) {
            (Some(r), _) => r + self.scaled(HOLD_AFTER_REFUSAL),
            (None, Some(f)) => f + minute,
            (None, None) => return,
        };
        if now < quiet_since {
            return;
        }
        let due = m.last_raise.map_or(quiet_since, |r| r + minute);
        if now >= due {
            let ceiling = match (m.last_refusal, m.allowed) {
                (Some(r), Some(allowed)) if now < r + self.scaled(PROBE_AFTER) => {
                    m.configured.min(allowed * PROBE_CEILING).max(m.pace)
                }
                _ => m.configured,
            };
            m.pace = (m.pace + m.configured * RAISE_STEP).min(ceiling);
            m.last_raise = Some(now);
        }
    }

    /// A mutative request of `ticket` was answered without refusal.
    pub fn accepted(&self, ticket: &Ticket<'_>) {
        if ticket.epoch.is_none() {
            return;
        }
        let now = Instant::now();
        let minute = self.scaled(Duration::from_secs(60));
        let mut m = crate::sync::lock(&self.mutative);
        m.recent.push_back(now);
        while m
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > minute)
        {
            m.recent.pop_front();
        }
        m.accepted += 1;
        m.consecutive = 0;
        m.last_success = Some(now);
    }

    /// A mutative request of `ticket` met a secondary-limit refusal, with `retry_after` (unscaled)
    /// when GitHub gave one. The first refusal since the ticket was booked pauses the class
    /// (cancelling every booked slot) and lowers the pace; a later one of the same epoch (a
    /// request already on its way) changes nothing.
    pub fn refused(&self, ticket: &Ticket<'_>, retry_after: Option<Duration>) -> Refusal {
        let now = Instant::now();
        let minute = self.scaled(Duration::from_secs(60));
        let mut m = crate::sync::lock(&self.mutative);
        let since_success = |m: &Adaptive, until: Instant| {
            let from = m.last_success.or(m.first_request).unwrap_or(now);
            unscale(until.saturating_duration_since(from), self.scale)
        };
        if ticket.epoch.is_some_and(|e| e != m.epoch) {
            let until = m.paused_until.unwrap_or(now).max(now);
            return Refusal {
                wait: unscale(until - now, self.scale),
                first: false,
                lowered_to: None,
                without_success: since_success(&m, until),
            };
        }
        m.epoch += 1;
        m.refusals += 1;
        m.consecutive += 1;
        while m
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > minute)
        {
            m.recent.pop_front();
        }
        let accepted = m.recent.len() as f64;
        // A refusal right after a pause, with nothing accepted between, says nothing about the
        // pace (none was tried): the pace stays, the wait grows.
        let lowered = (m.consecutive == 1).then(|| {
            (AFTER_REFUSAL * accepted)
                .min(AFTER_REFUSAL * m.pace)
                .max(m.configured * FLOOR_SHARE)
        });
        if let Some(p) = lowered {
            m.allowed = Some(accepted);
            m.pace = p;
        }
        let backoff = |n: u32| {
            SECONDARY_DEFAULT_WAIT
                .saturating_mul(1 << n.min(8))
                .min(MAX_OWN_WAIT)
        };
        let wait = match retry_after {
            Some(r) if m.consecutive > 1 => r.max(backoff(m.consecutive - 2)),
            Some(r) => r,
            None => backoff(m.consecutive - 1),
        };
        let until = now + self.scaled(wait);
        m.paused_until = Some(until);
        m.next_free = Some(until);
        m.last_refusal = Some(until);
        m.last_raise = None;
        Refusal {
            wait,
            first: true,
            lowered_to: lowered,
            without_success: since_success(&m, until),
        }
    }

    /// Hold back every read of `endpoint` for `d` (scaled): after a secondary-limit answer.
    pub fn pause(&self, endpoint: &str, d: Duration) {
        let until = Instant::now() + scaled(d, self.scale);
        let mut slots = crate::sync::lock(&self.next_free);
        let slot = slots.entry(endpoint.to_string()).or_insert(until);
        if *slot < until {
            *slot = until;
        }
    }
}

/// `d` divided by the time scale: a scaled duration in real (GitHub's) time.
fn unscale(d: Duration, scale: f64) -> Duration {
    Duration::from_secs_f64(d.as_secs_f64() / scale.max(1e-9))
}

#[cfg(test)]
mod tests;
