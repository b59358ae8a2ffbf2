//! Bounded retries with exponential backoff and jitter, for 429, 5xx and network errors: the one
//! backoff of both HTTP clients (the GitHub API's and the registry's), and the test knob that
//! compresses every wait.
//!
//! Time can be compressed for tests: `RETENTION_TEST_TIME_SCALE=0.01` multiplies every pacing,
//! backoff and `retry-after` sleep by 0.01 (a test knob; never set it against the real GitHub).

use std::time::Duration;

/// How often and how patiently to retry. The defaults suit ghcr.io (which answers 429 under
/// load); tests use short delays.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// The delay before the first retry; doubled at each retry.
    pub base: Duration,
    /// No single wait is longer than this, whatever `Retry-After` says.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first retry): `base * 2^(retry-1)`, with
    /// "full jitter" in its upper half, or the server's `Retry-After` when it gave one; capped.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let d = match retry_after {
            Some(d) => d,
            None => {
                let exp = self
                    .base
                    .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
                let half = exp / 2;
                let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
                half + Duration::from_millis(fastrand::u64(0..=jitter_ms))
            }
        };
        d.min(self.max_delay)
    }
}

/// The test knob: a factor applied to every sleep (pacing, backoff, `retry-after`).
pub fn time_scale() -> f64 {
    std::env::var(crate::env::RETENTION_TEST_TIME_SCALE)
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f > 0.0)
        .unwrap_or(1.0)
}

/// `d` multiplied by the time scale.
pub fn scaled(d: Duration, scale: f64) -> Duration {
    Duration::from_secs_f64((d.as_secs_f64() * scale).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let d1 = p.delay(1, None);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = p.delay(3, None);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            assert!(p.delay(30, None) <= Duration::from_secs(1));
        }
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(120))),
            Duration::from_secs(1)
        );
    }
}
