//! The order on its own: the budget's whole images, and a proptest of random plans, outcomes,
//! interleavings, put-backs and batches.

use proptest::prelude::*;

use super::*;
use crate::inventory::PackageType;

fn target(id: u64, after: Vec<u64>) -> Target {
    Target {
        package: "app".into(),
        package_type: PackageType::Container,
        id,
        name: format!("sha256:{id:064x}"),
        tags: Vec::new(),
        updated_at: chrono::DateTime::UNIX_EPOCH,
        after,
        hold: None,
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
    let mut order = Order::new(vec![
        target(1, vec![]),
        target(2, vec![1]),
        target(3, vec![1]),
        target(4, vec![]),
        target(5, vec![4]),
    ]);
    // Room for two deletions: image 1 (three) does not fit, image 4 (two) does.
    assert_eq!(id_of(order.next(Some(2))), Some(4));
    // Its part waits for it; image 1 still does not fit.
    assert!(matches!(order.next(Some(2)), Next::Wait));
    order.finish(4, JournalOutcome::Deleted, "");
    assert_eq!(id_of(order.next(Some(1))), Some(5));
    order.finish(5, JournalOutcome::Deleted, "");
    // Nothing whole fits any more: the run stops with image 1 untouched.
    assert!(matches!(order.next(Some(2)), Next::OverBudget));
    assert_eq!(order.queued(), 3);
    // With the budget unknown or ample, the plan's order.
    assert_eq!(id_of(order.next(None)), Some(1));
}

#[test]
fn a_refused_index_blocks_its_parts_and_a_held_target_is_blocked() {
    let mut held = target(3, vec![]);
    held.hold = Some("kept by the policy now".into());
    let mut order = Order::new(vec![target(1, vec![]), target(2, vec![1]), held]);
    assert_eq!(id_of(order.next(None)), Some(1));
    // The part waits for its index; the held target does not wait.
    match order.next(None) {
        Next::Blocked(t, why) => assert_eq!((t.id, why.as_str()), (3, "kept by the policy now")),
        other => panic!("{other:?}"),
    }
    order.finish(3, JournalOutcome::Skipped, "kept by the policy now");
    assert!(matches!(order.next(None), Next::Wait));
    order.finish(1, JournalOutcome::Skipped, "over 5,000 downloads");
    match order.next(None) {
        Next::Blocked(t, why) => {
            assert_eq!(t.id, 2);
            assert!(
                why.contains(
                    "version 1, which it is part of, was not deleted (over 5,000 downloads)"
                ),
                "{why}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A random plan: each target may wait on up to two earlier ones; each has the outcome it will
/// meet, may be put back once before it, and belongs to the first or the second batch.
fn plans() -> impl Strategy<Value = Vec<(Vec<usize>, u8, bool, bool)>> {
    (1usize..24).prop_flat_map(|n| {
        proptest::collection::vec(
            (
                proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
                0u8..4,
                any::<bool>(),
                any::<bool>(),
            ),
            n,
        )
        .prop_map(|items| {
            items
                .into_iter()
                .enumerate()
                .map(|(i, (after, outcome, put_back, second))| {
                    let after: Vec<usize> = if i == 0 {
                        Vec::new()
                    } else {
                        let mut a: Vec<usize> = after.iter().map(|x| x.index(i)).collect();
                        a.sort();
                        a.dedup();
                        a
                    };
                    (after, outcome, put_back, second)
                })
                .collect()
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the plan, the outcomes and the interleaving: a target goes only when what it
    /// waits on is gone, and is blocked when one of those stays; nothing is taken twice unless it
    /// was put back; every target is decided exactly once in the end.
    #[test]
    fn order_never_breaks_an_image_nor_loses_a_target(
        plan in plans(),
        choices in proptest::collection::vec(any::<u8>(), 400),
    ) {
        let n = plan.len();
        // A batch's `after` ids are in its own batch or an earlier one (the executor's contract):
        // a target goes to the second batch only when asked, and a first-batch target waits
        // only on first-batch ones.
        let second_batch: Vec<bool> = plan
            .iter()
            .enumerate()
            .map(|(i, (after, _, _, second))| *second && after.iter().all(|&a| a < i))
            .collect();
        let mut first = Vec::new();
        let mut second = Vec::new();
        for (i, (after, _, _, _)) in plan.iter().enumerate() {
            // A first-batch target may only wait on first-batch targets.
            let after: Vec<u64> = after
                .iter()
                .filter(|&&a| second_batch[i] || !second_batch[a])
                .map(|&a| a as u64)
                .collect();
            let t = target(i as u64, after);
            if second_batch[i] { second.push(t) } else { first.push(t) }
        }
        let afters: HashMap<u64, Vec<u64>> = first
            .iter()
            .chain(second.iter())
            .map(|t| (t.id, t.after.clone()))
            .collect();
        let mut order = Order::new(first);
        let mut pending_second = Some(second);
        let mut in_flight: Vec<Target> = Vec::new();
        let mut put_back: HashSet<u64> = HashSet::new();
        let mut decided: HashMap<u64, JournalOutcome> = HashMap::new();
        let mut taken: HashSet<u64> = HashSet::new();
        let mut step = 0usize;
        loop {
            let c = choices[step % choices.len()];
            step += 1;
            prop_assert!(step < 10_000, "no progress");
            if c % 7 == 0 {
                if let Some(batch) = pending_second.take() {
                    order.add(batch);
                    continue;
                }
            }
            if c % 2 == 0 && !in_flight.is_empty() {
                let t = in_flight.remove(usize::from(c) % in_flight.len());
                let (_, outcome, may_put_back, _) = plan[t.id as usize];
                if may_put_back && put_back.insert(t.id) {
                    taken.remove(&t.id);
                    order.put_back(t);
                    continue;
                }
                let outcome = match outcome {
                    0 | 1 => JournalOutcome::Deleted,
                    2 => JournalOutcome::Skipped,
                    _ => JournalOutcome::Failed,
                };
                decided.insert(t.id, outcome);
                order.finish(t.id, outcome, "stays");
                continue;
            }
            match order.next(None) {
                Next::Go(t) => {
                    prop_assert!(taken.insert(t.id), "{} taken twice", t.id);
                    prop_assert!(!decided.contains_key(&t.id));
                    for a in &t.after {
                        prop_assert!(
                            matches!(decided.get(a), Some(JournalOutcome::Deleted)),
                            "{} went before {a}, which it waits on, was gone", t.id
                        );
                    }
                    in_flight.push(t);
                }
                Next::Blocked(t, why) => {
                    prop_assert!(taken.insert(t.id), "{} taken twice", t.id);
                    prop_assert!(
                        t.after.iter().any(|a| matches!(decided.get(a), Some(o) if *o != JournalOutcome::Deleted)),
                        "{} blocked ({why}) though nothing it waits on stays", t.id
                    );
                    decided.insert(t.id, JournalOutcome::Skipped);
                    order.finish(t.id, JournalOutcome::Skipped, &why);
                }
                Next::Wait => prop_assert!(!in_flight.is_empty(), "waits on nothing in flight"),
                Next::OverBudget => prop_assert!(false, "no budget was given"),
                Next::Empty if in_flight.is_empty() && pending_second.is_none() => break,
                Next::Empty => {}
            }
        }
        prop_assert_eq!(decided.len(), n, "every target decided once");
        prop_assert_eq!(order.in_flight(), 0);
        for (id, after) in &afters {
            if matches!(decided.get(id), Some(JournalOutcome::Deleted)) {
                for a in after {
                    prop_assert!(matches!(decided.get(a), Some(JournalOutcome::Deleted)));
                }
            }
        }
    }
}
