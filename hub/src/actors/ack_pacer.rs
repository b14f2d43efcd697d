//! Spreads the acknowledgements of one commit over the time until the next.
//!
//! A flush at 10,000 agents commits about 2,500 jobs; acknowledging them all at once
//! puts 2,500 socket writes onto the HTTP workers in one go (and 2,500 reads onto the
//! agents' side), and the live samples sent meanwhile wait behind them: p99 agent →
//! browser 20–26 ms with acks at once, 3.1–3.6 ms with them spread (`docs/benchmarks.md`,
//! *Acknowledgements in bursts*). The writer therefore hands a commit's acknowledgements
//! out in slices, evenly over `spread`, and releases whatever is left before its next
//! transaction begins: an ack still only follows its commit, at most `spread` later.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How often the writer wakes to hand out the next slice.
pub const TICK: Duration = Duration::from_millis(5);

/// The acknowledgements of the last commit not handed out yet, oldest first.
#[derive(Debug)]
pub struct AckPacer<T> {
    spread: Duration,
    queue: VecDeque<T>,
    /// When the current items were committed, and how many there were.
    start: Instant,
    total: usize,
}

impl<T> AckPacer<T> {
    pub fn new(spread: Duration) -> Self {
        Self {
            spread,
            queue: VecDeque::new(),
            start: Instant::now(),
            total: 0,
        }
    }

    /// Takes a commit's items at `now`; returns what was still held of the previous one
    /// (to be handed out before them, at once).
    pub fn add(&mut self, items: Vec<T>, now: Instant) -> Vec<T> {
        let left = self.take_all();
        self.total = items.len();
        self.queue = items.into();
        self.start = now;
        left
    }

    /// The items due at `now`: the share of the commit's items that `now` has reached
    /// of `spread`, minus those handed out already.
    pub fn due(&mut self, now: Instant) -> Vec<T> {
        let elapsed = now.saturating_duration_since(self.start);
        let due_total = if elapsed >= self.spread || self.spread.is_zero() {
            self.total
        } else {
            // Rounded up, so the first slice goes at the first tick.
            (self.total as u128 * elapsed.as_nanos()).div_ceil(self.spread.as_nanos()) as usize
        };
        let handed_out = self.total - self.queue.len();
        let n = due_total.saturating_sub(handed_out).min(self.queue.len());
        self.queue.drain(..n).collect()
    }

    /// Everything still held, at once (before a transaction, or at shutdown).
    pub fn take_all(&mut self) -> Vec<T> {
        self.queue.drain(..).collect()
    }

    /// When the writer should wake to hand out more: the next tick after `now`, or
    /// never when nothing is held.
    pub fn next_wake(&self, now: Instant) -> Option<Instant> {
        (!self.queue.is_empty()).then(|| now + TICK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items go out in proportion to the time passed, in order, all by `spread`.
    #[test]
    fn hands_out_evenly_in_order() {
        let t0 = Instant::now();
        let mut p = AckPacer::new(Duration::from_millis(100));
        assert!(p.add((0..100).collect(), t0).is_empty());
        assert!(p.due(t0).is_empty());
        assert_eq!(p.next_wake(t0), Some(t0 + TICK));
        assert_eq!(
            p.due(t0 + Duration::from_millis(10)),
            (0..10).collect::<Vec<_>>()
        );
        assert_eq!(p.due(t0 + Duration::from_millis(10)), Vec::<i32>::new());
        assert_eq!(
            p.due(t0 + Duration::from_millis(55)),
            (10..55).collect::<Vec<_>>()
        );
        assert_eq!(
            p.due(t0 + Duration::from_millis(500)),
            (55..100).collect::<Vec<_>>()
        );
        assert_eq!(p.next_wake(t0), None);
    }

    /// A partial tick still hands out at least one item: a single ack is never held
    /// until `spread` is over.
    #[test]
    fn first_slice_at_first_tick() {
        let t0 = Instant::now();
        let mut p = AckPacer::new(Duration::from_millis(200));
        p.add(vec!["only"], t0);
        assert_eq!(p.due(t0 + TICK), vec!["only"]);
    }

    /// A new commit first returns what the previous one still held, so no item waits
    /// longer than one commit and the order across commits is kept.
    #[test]
    fn next_commit_releases_the_rest() {
        let t0 = Instant::now();
        let mut p = AckPacer::new(Duration::from_millis(100));
        p.add(vec![1, 2, 3, 4], t0);
        assert_eq!(p.due(t0 + Duration::from_millis(25)), vec![1]);
        assert_eq!(
            p.add(vec![5, 6], t0 + Duration::from_millis(30)),
            vec![2, 3, 4]
        );
        assert_eq!(p.take_all(), vec![5, 6]);
        assert!(p.due(t0 + Duration::from_secs(1)).is_empty());
        assert_eq!(p.next_wake(t0), None);
    }
}
