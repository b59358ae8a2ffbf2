//! The pacer on tokio's paused clock: the default pace, the configured one, reads per endpoint,
//! and what a refusal does (issue 22.1: no request of the class leaves during the pause).

use std::sync::Arc;

use super::*;

fn pacer() -> Pacer {
    Pacer::new(900.0, CONCURRENCY, 1.0)
}

#[tokio::test(start_paused = true)]
async fn the_default_pace_is_one_deletion_a_second() {
    let p = pacer();
    let start = Instant::now();
    for _ in 0..61 {
        let t = p.acquire(true, "DELETE version", 5).await;
        p.accepted(&t);
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_secs(60), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(60_100), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn the_default_pace_is_serial() {
    let p = Arc::new(pacer());
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (p, in_flight, most) = (Arc::clone(&p), Arc::clone(&in_flight), Arc::clone(&most));
        tasks.spawn(async move {
            for _ in 0..3 {
                let t = p.acquire(true, "DELETE version", 5).await;
                let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                // A slow DELETE: 2.5 s, longer than the interval.
                tokio::time::sleep(Duration::from_millis(2500)).await;
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                p.accepted(&t);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_configured_pace_of_180_keeps_under_the_documented_limit() {
    let p = pacer();
    p.configure(180.0, None);
    assert_eq!(p.summary().configured, 180.0 * HEADROOM);
    let start = Instant::now();
    for _ in 0..175 {
        drop(p.acquire(true, "DELETE version", 5).await);
    }
    // 174 intervals of 60/174.6 s: just under a minute, never more than 180 in one.
    let elapsed = start.elapsed();
    assert!(elapsed > Duration::from_millis(59_700), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
    // Never above the documented limit, whatever is asked.
    p.configure(1000.0, None);
    assert_eq!(p.summary().configured, 180.0 * HEADROOM);
}

#[tokio::test(start_paused = true)]
async fn reads_are_paced_per_endpoint_beside_the_deletions() {
    let p = Pacer::new(900.0, 4, 1.0);
    let start = Instant::now();
    for _ in 0..10 {
        drop(p.acquire(false, "GET version", 1).await);
        drop(p.acquire(false, "GET versions", 1).await);
    }
    // 9 intervals of 1/15 s on each endpoint, side by side.
    assert!(start.elapsed() < Duration::from_millis(700));
}

/// Issue 22.1: six workers busy at 180 a minute, one is refused: the other five had booked
/// their slots, and none of them leaves before the pause ends.
#[tokio::test(start_paused = true)]
async fn a_refusal_cancels_the_slots_already_booked() {
    let p = Arc::new(pacer());
    p.configure(180.0, None);
    let sent = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let refused_at = Arc::new(Mutex::new(None::<Instant>));
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..6 {
        let (p, sent, refused_at) = (Arc::clone(&p), Arc::clone(&sent), Arc::clone(&refused_at));
        tasks.spawn(async move {
            for i in 0..5 {
                let t = p.acquire(true, "DELETE version", 5).await;
                crate::sync::lock(&sent).push(Instant::now());
                tokio::time::sleep(Duration::from_millis(100)).await;
                if w == 0 && i == 2 {
                    *crate::sync::lock(&refused_at) = Some(Instant::now());
                    let r = p.refused(&t, Some(Duration::from_secs(60)));
                    assert!(r.lowered_to.is_some());
                } else {
                    p.accepted(&t);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let refused_at = crate::sync::lock(&refused_at).expect("a refusal");
    let sent = crate::sync::lock(&sent).clone();
    let during: Vec<_> = sent
        .iter()
        .filter(|t| **t > refused_at && **t < refused_at + Duration::from_secs(60))
        .collect();
    assert!(during.is_empty(), "{} sent during the pause", during.len());
    assert_eq!(sent.len(), 30);
    assert_eq!(p.summary().refusals, 1);
}

#[tokio::test(start_paused = true)]
async fn a_refusal_lowers_the_pace_to_what_was_accepted_once_per_change() {
    let p = pacer();
    p.configure(180.0, None);
    // GitHub accepts 80 in the minute, then refuses: the two requests on their way are refused
    // by the same limit.
    for _ in 0..80 {
        let t = p.acquire(true, "DELETE version", 5).await;
        p.accepted(&t);
    }
    let (a, b) = (
        p.acquire(true, "DELETE version", 5).await,
        p.acquire(true, "DELETE version", 5).await,
    );
    let first = p.refused(&a, Some(Duration::from_secs(60)));
    let second = p.refused(&b, Some(Duration::from_secs(60)));
    assert_eq!(first.lowered_to, Some(72.0));
    assert_eq!(second.lowered_to, None);
    assert!(second.wait <= Duration::from_secs(60));
    let s = p.summary();
    assert_eq!((s.refusals, s.allowed, s.pace), (1, Some(80.0), 72.0));
    // The next goes after the pause, at the new pace.
    let before = Instant::now();
    drop(p.acquire(true, "DELETE version", 5).await);
    assert!(before.elapsed() >= Duration::from_secs(60));
    let before = Instant::now();
    drop(p.acquire(true, "DELETE version", 5).await);
    let interval = before.elapsed().as_secs_f64();
    assert!((interval - 60.0 / 72.0).abs() < 0.002, "{interval}");
}

#[tokio::test(start_paused = true)]
async fn a_refusal_right_after_a_pause_waits_longer_without_lowering_the_pace() {
    let p = pacer();
    for _ in 0..40 {
        let t = p.acquire(true, "DELETE version", 5).await;
        p.accepted(&t);
    }
    // (At the default pace a ticket holds the one place in flight: dropped after each answer.)
    let t = p.acquire(true, "DELETE version", 5).await;
    assert_eq!(
        p.refused(&t, Some(Duration::from_secs(1))).lowered_to,
        Some(36.0)
    );
    drop(t);
    // GitHub still counts the last minute: refused again, at once.
    let t = p.acquire(true, "DELETE version", 5).await;
    let r = p.refused(&t, Some(Duration::from_secs(1)));
    drop(t);
    assert_eq!(r.lowered_to, None);
    assert_eq!(r.wait, Duration::from_secs(60));
    // Without retry-after: a minute, doubled on each refusal that follows.
    let t = p.acquire(true, "DELETE version", 5).await;
    assert_eq!(p.refused(&t, None).wait, Duration::from_secs(240));
    assert_eq!(p.summary().pace, 36.0);
}

#[tokio::test(start_paused = true)]
async fn the_pace_rises_slowly_after_a_quiet_while_never_above_the_configured() {
    let p = pacer();
    p.configure(
        180.0,
        Some(Start {
            pace: 90.0,
            may_probe: true,
        }),
    );
    let s = p.summary();
    assert!(s.from_memory && s.started == 90.0);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60 * 30) {
        let t = p.acquire(true, "DELETE version", 5).await;
        p.accepted(&t);
    }
    assert_eq!(p.summary().pace, 180.0 * HEADROOM);
    // A remembered pace from a refused run is kept, not probed.
    let p = pacer();
    p.configure(
        180.0,
        Some(Start {
            pace: 90.0,
            may_probe: false,
        }),
    );
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60 * 5) {
        let t = p.acquire(true, "DELETE version", 5).await;
        p.accepted(&t);
    }
    assert_eq!(p.summary().pace, 90.0);
    // A remembered pace above the configured one is not used.
    let p = pacer();
    p.configure(
        60.0,
        Some(Start {
            pace: 90.0,
            may_probe: true,
        }),
    );
    assert!(!p.summary().from_memory);
    assert_eq!(p.summary().pace, 60.0);
}

#[test]
fn scale_multiplies() {
    assert_eq!(
        scaled(Duration::from_secs(60), 0.01),
        Duration::from_millis(600)
    );
}
