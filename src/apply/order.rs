//! What may be deleted when: the executor's queue and the outcomes it waits on, as a pure state
//! machine ([`Order::next`] / [`Order::finish`] / [`Order::put_back`]) with no I/O, no clock and
//! no lock, owned by the scheduler ([`super::executor`]) and tested by itself (a proptest: a target
//! never goes before what it waits on is gone, nothing goes twice, nothing is lost when a target
//! goes back to the queue).
//!
//! A target's `after` ids (its index, its subject) must be decided first: it goes when they are
//! all gone, and is blocked (not deleted) when one of them stays, since deleting a platform
//! manifest of an index that stays would break the image.

use std::collections::{HashMap, HashSet, VecDeque};

use super::journal::JournalOutcome;
use super::Target;

/// What the scheduler does next.
#[derive(Debug)]
pub enum Next {
    Go(Target),
    /// Not to be deleted (held, or something it depends on was not deleted), and why.
    Blocked(Target, String),
    /// Everything left waits on a target in flight.
    Wait,
    /// Nothing queued.
    Empty,
    /// The hourly budget pays for no whole image left (see [`Order::next`]).
    OverBudget,
}

/// How a target ended, for the targets that wait on it.
#[derive(Clone, Debug, PartialEq)]
enum Finished {
    Gone,
    /// Still there, and why (refused, failed, held).
    Stays(String),
}

/// The queue, what is in flight and what has been decided.
#[derive(Debug, Default)]
pub struct Order {
    queue: VecDeque<Target>,
    /// Finished targets: whether the version is gone.
    finished: HashMap<u64, Finished>,
    /// Targets not finished yet (queued or in flight).
    unfinished: HashSet<u64>,
    in_flight: usize,
}

impl Order {
    pub fn new(targets: Vec<Target>) -> Order {
        let mut order = Order::default();
        order.add(targets);
        order
    }

    /// Targets decided while the run goes (a streamed package) join the queue. Their ids are
    /// unfinished at once, so that a target waiting on one of them waits.
    pub fn add(&mut self, batch: Vec<Target>) {
        self.unfinished.extend(batch.iter().map(|t| t.id));
        self.queue.extend(batch);
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Targets queued (not in flight, not finished).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Take the first target whose dependencies are all gone, or one that can no longer go (it
    /// counts as in flight until [`Order::finish`]).
    ///
    /// `room`: the deletions the hourly budget still pays for (when it is known). An image is
    /// started only when the room holds it whole (itself and the queued targets that wait on it,
    /// less what images already started still need), so that a run stopped by the budget leaves
    /// no image half-deleted; when nothing fits and nothing is in flight, [`Next::OverBudget`].
    pub fn next(&mut self, room: Option<u64>) -> Next {
        if self.queue.is_empty() {
            return Next::Empty;
        }
        // What the room holds for new images: less the requests in flight and the parts of
        // images already started (queued targets none of whose `after` is still queued).
        let free = room.map(|room| {
            let queued: HashSet<u64> = self.queue.iter().map(|t| t.id).collect();
            let committed = self
                .queue
                .iter()
                .filter(|t| !t.after.is_empty() && t.after.iter().all(|a| !queued.contains(a)))
                .count() as u64;
            room.saturating_sub(self.in_flight as u64 + committed)
        });
        let mut over_budget = false;
        let mut pick = None;
        for (pos, t) in self.queue.iter().enumerate() {
            if let (Some(free), true, None) = (free, t.after.is_empty(), &t.hold) {
                let group = 1 + self
                    .queue
                    .iter()
                    .filter(|o| o.after.contains(&t.id))
                    .count() as u64;
                if group > free {
                    over_budget = true;
                    continue;
                }
            }
            let mut wait = false;
            let mut blocked = t.hold.clone();
            for a in t.after.iter().filter(|_| t.hold.is_none()) {
                match self.finished.get(a) {
                    Some(Finished::Gone) => {}
                    Some(Finished::Stays(why)) => {
                        blocked = Some(format!(
                            "not deleted: version {a}, which it is part of, was not deleted ({why})"
                        ));
                        break;
                    }
                    None if self.unfinished.contains(a) => wait = true,
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
            None if over_budget && self.in_flight == 0 => return Next::OverBudget,
            None if over_budget => return Next::Wait,
            // Everything left waits on something left and nothing is in flight: a cycle, which
            // only a crafted inventory makes. Nothing in it is deleted.
            None if self.in_flight == 0 => (
                0,
                Some("not deleted: it waits on a version that waits on it".to_string()),
            ),
            None => return Next::Wait,
        };
        let Some(target) = self.queue.remove(pos) else {
            return Next::Empty;
        };
        self.in_flight += 1;
        match blocked {
            Some(why) => Next::Blocked(target, why),
            None => Next::Go(target),
        }
    }

    /// A target taken by [`Order::next`] ended with `outcome` (and `message`, why it stays).
    pub fn finish(&mut self, id: u64, outcome: JournalOutcome, message: &str) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.unfinished.remove(&id);
        let result = match outcome {
            JournalOutcome::Deleted | JournalOutcome::AlreadyGone => Finished::Gone,
            _ => Finished::Stays(message.to_string()),
        };
        self.finished.insert(id, result);
    }

    /// A target taken by [`Order::next`] was not sent after all (the run stops): back to the
    /// front of the queue, counted as left.
    pub fn put_back(&mut self, target: Target) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.queue.push_front(target);
    }
}

#[cfg(test)]
mod tests;
