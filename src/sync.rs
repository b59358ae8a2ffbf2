//! The one way a `std::sync::Mutex` is locked here: a lock whose holder panicked is still used.
//!
//! Every mutex of the program guards plain values (queues, counters, instants, the journal's
//! file handle) that a panic cannot leave half-written in a way that matters more than stopping
//! would: a worker that panicked must not stop the others from journaling what they deleted.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// The guard of `m`, even if a holder panicked.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_whose_holder_panicked_is_still_used() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let held = std::sync::Arc::clone(&m);
        let _ = std::thread::spawn(move || {
            let _g = lock(&held);
            panic!("a holder panics");
        })
        .join();
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 2);
    }
}
