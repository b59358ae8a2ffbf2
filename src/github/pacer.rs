//! Pacing, so that GitHub's secondary rate limits are never hit rather than hit and waited out.
//!
//! GitHub allows at most 900 points a minute per endpoint (a GET costs 1 point, a DELETE or POST
//! 5: at most 180 deletions a minute) and at most 100 concurrent requests. The [`Pacer`] spaces
//! the requests of each endpoint evenly (a leaky bucket with no burst: a request of cost `c` takes
//! the next free slot and moves it on by `c * 60s / points`), at a few percent under the limit so
//! that network jitter cannot push a minute over it, and bounds the requests in flight.
//!
//! There is no burst allowance. In any 60 s window the bucket sends at most `0.97 * 900 + c`
//! points (`c`: one request's cost, for the request at the window's edge), which leaves 22 points
//! (4 deletions) of margin for requests that arrive later or earlier than sent; a burst of `b`
//! points would add `b` to every window that holds it and eat that margin (a burst of 4 deletions
//! leaves 2 points). The burst would save at most 4 intervals (1.4 s) of a run, and how GitHub
//! counts its minutes is not documented, so the margin is kept.
//!
//! Time can be compressed for tests ([`crate::backoff::time_scale`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::backoff::{scaled, time_scale};

/// GitHub's secondary limit: points per minute per endpoint.
pub const POINTS_PER_MINUTE: f64 = 900.0;
/// The share of the limit used: 3% of headroom absorbs jitter between sending and arrival.
pub const HEADROOM: f64 = 0.97;
/// Requests in flight at once (GitHub allows 100; far fewer suffice at 180 deletions a minute).
pub const CONCURRENCY: usize = 6;

/// Spaces requests per endpoint and bounds concurrency; shared by every request of a run.
pub struct Pacer {
    /// Seconds (unscaled) one point occupies on an endpoint.
    seconds_per_point: f64,
    scale: f64,
    next_free: Mutex<HashMap<String, Instant>>,
    in_flight: Semaphore,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("seconds_per_point", &self.seconds_per_point)
            .field("scale", &self.scale)
            .finish()
    }
}

impl Pacer {
    /// GitHub's limits, with the time scale from the environment.
    pub fn github() -> Pacer {
        Pacer::new(POINTS_PER_MINUTE * HEADROOM, CONCURRENCY, time_scale())
    }

    pub fn new(points_per_minute: f64, concurrency: usize, scale: f64) -> Pacer {
        Pacer {
            seconds_per_point: 60.0 / points_per_minute.max(1.0),
            scale,
            next_free: Mutex::new(HashMap::new()),
            in_flight: Semaphore::new(concurrency.max(1)),
        }
    }

    /// Sleep for `d` (scaled).
    pub async fn sleep(&self, d: Duration) {
        tokio::time::sleep(scaled(d, self.scale)).await;
    }

    /// Wait for the next slot of `endpoint` for a request costing `cost` points, then for a place
    /// among the requests in flight. Hold the permit while the request runs.
    pub async fn acquire(&self, endpoint: &str, cost: u32) -> Option<SemaphorePermit<'_>> {
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
        self.in_flight.acquire().await.ok()
    }

    /// Hold back every request of `endpoint` for `d` (scaled): after a secondary-limit answer.
    pub fn pause(&self, endpoint: &str, d: Duration) {
        let until = Instant::now() + scaled(d, self.scale);
        let mut slots = crate::sync::lock(&self.next_free);
        let slot = slots.entry(endpoint.to_string()).or_insert(until);
        if *slot < until {
            *slot = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn deletions_are_spaced_at_the_limit() {
        let p = Pacer::new(900.0, 4, 1.0);
        let start = Instant::now();
        for _ in 0..181 {
            drop(p.acquire("DELETE version", 5).await);
        }
        // 180 intervals of 1/3 s: the 181st deletion starts a minute after the first.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_secs(60), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(60_100), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn endpoints_are_paced_independently() {
        let p = Pacer::new(900.0, 4, 1.0);
        let start = Instant::now();
        for _ in 0..10 {
            drop(p.acquire("DELETE version", 5).await);
            drop(p.acquire("GET version", 1).await);
        }
        // The GETs fit between the deletions: 9 DELETE intervals.
        assert!(start.elapsed() < Duration::from_millis(3_100));
    }

    #[test]
    fn scale_multiplies() {
        assert_eq!(
            scaled(Duration::from_secs(60), 0.01),
            Duration::from_millis(600)
        );
    }
}
