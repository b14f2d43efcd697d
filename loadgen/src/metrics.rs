//! Measurement state shared by the simulated agents and dashboards: when each sample
//! was sent ([`SendLog`], a ring per agent indexed by `seq`), which samples the hub
//! confirmed receiving live ([`SeqSet`] per agent), the latency histograms and the
//! run's counters.
//!
//! Latency is agent send → dashboard receive, measured on one monotonic clock in one
//! process, in microseconds. A sample counts as *expected live* once the hub has
//! acknowledged it on the connection it was sent on: the hub publishes before it
//! acknowledges, so such a sample must reach every dashboard watching its machine.
//! Samples whose connection dropped before the ack are replayed as history (only the
//! newest of a replayed batch is shown live) and are checked through storage instead.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use hdrhistogram::Histogram;

/// Slots per agent in the send log; a sample older than this many intervals cannot be
/// matched any more (its latency is not recorded, its loss still is).
pub const RING: usize = 128;

/// Highest latency the histograms hold, in microseconds (values above are clamped).
const MAX_LATENCY_US: u64 = 120_000_000;

/// A latency histogram in microseconds, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// A growable set of sequence numbers (a bitset indexed by `seq`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqSet {
    words: Vec<u64>,
    len: u64,
}

impl SeqSet {
    /// Adds `seq`; returns false when it was already there.
    pub fn insert(&mut self, seq: u64) -> bool {
        let (w, b) = ((seq / 64) as usize, seq % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let mask = 1u64 << b;
        let fresh = self.words[w] & mask == 0;
        self.words[w] |= mask;
        self.len += u64::from(fresh);
        fresh
    }

    pub fn contains(&self, seq: u64) -> bool {
        let (w, b) = ((seq / 64) as usize, seq % 64);
        self.words.get(w).is_some_and(|x| x & (1 << b) != 0)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many members of `self` are missing from `other`.
    pub fn missing_from(&self, other: &SeqSet) -> u64 {
        self.words
            .iter()
            .enumerate()
            .map(|(i, w)| (w & !other.words.get(i).copied().unwrap_or(0)).count_ones() as u64)
            .sum()
    }

    /// Smallest and largest member.
    pub fn bounds(&self) -> Option<(u64, u64)> {
        let first = self.words.iter().position(|w| *w != 0)?;
        let last = self.words.iter().rposition(|w| *w != 0)?;
        let lo = first as u64 * 64 + self.words[first].trailing_zeros() as u64;
        let hi = last as u64 * 64 + 63 - self.words[last].leading_zeros() as u64;
        Some((lo, hi))
    }

    /// Seqs between the smallest and largest member that are absent: gaps in a stream
    /// that should have been contiguous.
    pub fn gaps(&self) -> u64 {
        self.bounds()
            .map(|(lo, hi)| hi - lo + 1 - self.len)
            .unwrap_or(0)
    }
}

/// When each recent sample of one agent was sent, indexed by `seq % RING`.
#[derive(Debug)]
pub struct SendLog {
    slots: Box<[(AtomicU64, AtomicU64)]>,
}

impl Default for SendLog {
    fn default() -> Self {
        Self {
            slots: (0..RING)
                .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
                .collect(),
        }
    }
}

impl SendLog {
    /// Records that `seq` left at `sent_ns` (nanoseconds since the run's epoch).
    pub fn record(&self, seq: u64, sent_ns: u64) {
        let (s, t) = &self.slots[seq as usize % RING];
        // Invalidate first so a reader never pairs the new time with an old seq.
        s.store(0, Ordering::Release);
        t.store(sent_ns, Ordering::Release);
        s.store(seq, Ordering::Release);
    }

    /// When `seq` was sent, if it is still in the ring.
    pub fn sent_at(&self, seq: u64) -> Option<u64> {
        let (s, t) = &self.slots[seq as usize % RING];
        if s.load(Ordering::Acquire) != seq {
            return None;
        }
        let ns = t.load(Ordering::Acquire);
        (s.load(Ordering::Acquire) == seq).then_some(ns)
    }
}

/// Per simulated agent: its send log and the samples the hub confirmed live.
#[derive(Debug, Default)]
pub struct AgentTrack {
    pub log: SendLog,
    /// Samples acknowledged on the connection they were published on (expected live).
    pub published: Mutex<SeqSet>,
    /// Highest seq generated.
    pub last_seq: AtomicU64,
    /// Highest seq acknowledged (every seq ≤ it is committed).
    pub acked: AtomicU64,
}

/// Counters of a run; every field only grows.
#[derive(Debug, Default)]
pub struct Counters {
    pub samples_sent: AtomicU64,
    pub frames_received: AtomicU64,
    pub samples_received: AtomicU64,
    pub duplicates: AtomicU64,
    pub unmatched: AtomicU64,
    pub acks: AtomicU64,
    pub agent_connects: AtomicU64,
    pub agent_connect_errors: AtomicU64,
    pub agent_disconnects: AtomicU64,
    /// Connections cut on purpose by the scenario.
    pub outages: AtomicU64,
    pub hub_errors: AtomicU64,
    pub http_errors: AtomicU64,
    pub dashboard_connects: AtomicU64,
    pub dashboard_errors: AtomicU64,
    pub lagged_notices: AtomicU64,
    pub lagged_dropped: AtomicU64,
    pub batches_replayed: AtomicU64,
    pub samples_replayed: AtomicU64,
}

impl Counters {
    pub fn add(field: &AtomicU64, n: u64) {
        field.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(field: &AtomicU64) -> u64 {
        field.load(Ordering::Relaxed)
    }
}

/// Everything the simulation tasks share.
#[derive(Debug)]
pub struct Shared {
    pub epoch: Instant,
    pub tracks: Vec<AgentTrack>,
    pub counters: Counters,
    /// Latencies during the measured time.
    pub latency: Mutex<Histogram<u64>>,
    /// Latencies since the last progress tick.
    pub recent: Mutex<Histogram<u64>>,
    /// Whether latencies go into [`Shared::latency`] (false while ramping).
    pub measuring: AtomicBool,
}

impl Shared {
    pub fn new(agents: usize) -> Self {
        Self {
            epoch: Instant::now(),
            tracks: (0..agents).map(|_| AgentTrack::default()).collect(),
            counters: Counters::default(),
            latency: Mutex::new(latency_histogram()),
            recent: Mutex::new(latency_histogram()),
            measuring: AtomicBool::new(false),
        }
    }

    /// Nanoseconds since the run's epoch.
    pub fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Records one latency in microseconds.
    pub fn record_latency_us(&self, us: u64) {
        let us = us.max(1);
        if let Ok(mut h) = self.recent.lock() {
            h.saturating_record(us);
        }
        if self.measuring.load(Ordering::Relaxed)
            && let Ok(mut h) = self.latency.lock()
        {
            h.saturating_record(us);
        }
    }

    /// Latency of `seq` of agent `agent` received at `now_ns`, if its send is still logged.
    pub fn latency_of(&self, agent: usize, seq: u64, now_ns: u64) -> Option<u64> {
        let sent = self.tracks.get(agent)?.log.sent_at(seq)?;
        Some(now_ns.saturating_sub(sent) / 1000)
    }
}

/// Latency summary in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl LatencySummary {
    /// Percentiles of a microsecond histogram.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.5)),
            p90_ms: ms(h.value_at_quantile(0.9)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserting counts each seq once; `missing_from` finds exactly the absent ones.
    #[test]
    fn seq_sets_detect_loss() {
        let mut expected = SeqSet::default();
        let mut got = SeqSet::default();
        for s in 1..=200 {
            expected.insert(s);
            if s != 7 && s != 150 {
                got.insert(s);
            }
        }
        assert!(!got.insert(5), "a duplicate is reported");
        assert_eq!(expected.len(), 200);
        assert_eq!(expected.missing_from(&got), 2);
        assert_eq!(got.missing_from(&expected), 0);
        assert!(got.contains(149) && !got.contains(150));
        assert_eq!(got.bounds(), Some((1, 200)));
        assert_eq!(got.gaps(), 2);
        assert_eq!(SeqSet::default().gaps(), 0);
    }

    /// A logged send is found by its seq; an overwritten slot is not mistaken for it.
    #[test]
    fn send_log_matches_by_seq() {
        let log = SendLog::default();
        log.record(3, 1_000);
        assert_eq!(log.sent_at(3), Some(1_000));
        assert_eq!(log.sent_at(4), None);
        log.record(3 + RING as u64, 9_000);
        assert_eq!(log.sent_at(3), None, "slot reused by a later seq");
        assert_eq!(log.sent_at(3 + RING as u64), Some(9_000));
    }

    /// Latency is receive time minus logged send time, in microseconds, and lands in the
    /// measured histogram only while measuring.
    #[test]
    fn latency_accounting() {
        let shared = Shared::new(2);
        shared.tracks[1].log.record(10, 5_000_000);
        assert_eq!(shared.latency_of(1, 10, 7_500_000), Some(2_500));
        assert_eq!(shared.latency_of(0, 10, 7_500_000), None);
        assert_eq!(shared.latency_of(9, 10, 7_500_000), None);
        shared.record_latency_us(2_500);
        assert!(shared.latency.lock().unwrap().is_empty());
        shared.measuring.store(true, Ordering::Relaxed);
        for us in [1_000, 2_000, 3_000, 40_000] {
            shared.record_latency_us(us);
        }
        let s = LatencySummary::of(&shared.latency.lock().unwrap());
        assert_eq!(s.count, 4);
        assert!((s.p50_ms - 2.0).abs() < 0.01, "{s:?}");
        assert!((s.max_ms - 40.0).abs() < 0.05, "{s:?}");
        assert_eq!(shared.recent.lock().unwrap().len(), 5);
    }
}
