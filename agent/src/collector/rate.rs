//! Rates from monotonic counters: bytes per second over the real elapsed time, with
//! no spike when a counter resets or wraps, or a device appears or disappears.

use std::collections::HashMap;
use std::time::Instant;

/// Bytes (or any unit) per second between two readings of a counter that only grows.
///
/// Returns `None` when no rate can be told honestly: zero (or negative) elapsed time,
/// or a counter that went backwards. A decrease means the counter was reset (driver
/// reload, device re-created) or a narrow counter wrapped; either way the true delta is
/// unknown, and guessing it is how monitoring tools draw absurd spikes.
pub fn per_second(prev: u64, cur: u64, elapsed_s: f64) -> Option<f64> {
    if !elapsed_s.is_finite() || elapsed_s <= 0.0 || cur < prev {
        return None;
    }
    Some((cur - prev) as f64 / elapsed_s)
}

/// Last readings of a set of devices, each with `N` counters (read/written, rx/tx).
///
/// A device seen for the first time gets a baseline and a rate of 0, never its
/// counter-since-boot divided by one interval; a device that vanished is forgotten when
/// [`RateSet::retain_seen`] runs, so a device that comes back starts from a new baseline.
#[derive(Debug)]
pub struct RateSet<const N: usize> {
    last: HashMap<String, Reading<N>>,
}

#[derive(Debug, Clone, Copy)]
struct Reading<const N: usize> {
    counters: [u64; N],
    at: Instant,
    seen: bool,
}

impl<const N: usize> Default for RateSet<N> {
    fn default() -> Self {
        Self {
            last: HashMap::new(),
        }
    }
}

impl<const N: usize> RateSet<N> {
    /// Records a reading of `device` taken at `now` and returns its rates per counter.
    ///
    /// Zero elapsed time keeps the previous baseline (the next reading measures over the
    /// whole span) and reports 0; a counter that went backwards reports 0 for this
    /// interval and becomes the new baseline.
    pub fn update(&mut self, device: &str, counters: [u64; N], now: Instant) -> [f64; N] {
        let mut rates = [0.0; N];
        match self.last.get_mut(device) {
            None => {
                self.last.insert(
                    device.to_owned(),
                    Reading {
                        counters,
                        at: now,
                        seen: true,
                    },
                );
            }
            Some(prev) => {
                prev.seen = true;
                let elapsed = now.saturating_duration_since(prev.at).as_secs_f64();
                if elapsed <= 0.0 {
                    return rates;
                }
                for (i, rate) in rates.iter_mut().enumerate() {
                    *rate = per_second(prev.counters[i], counters[i], elapsed).unwrap_or(0.0);
                }
                prev.counters = counters;
                prev.at = now;
            }
        }
        rates
    }

    /// Forgets every device not updated since the previous call (it was unplugged,
    /// unmounted or renamed).
    pub fn retain_seen(&mut self) {
        self.last.retain(|_, r| std::mem::take(&mut r.seen));
    }

    /// How many devices have a baseline.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// Whether no device has a baseline yet.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A steady counter gives delta over elapsed seconds.
    #[test]
    fn steady_rate() {
        assert_eq!(per_second(1_000, 3_000, 2.0), Some(1_000.0));
        assert_eq!(per_second(5, 5, 1.0), Some(0.0));
    }

    /// Zero, negative or non-finite elapsed time yields no rate instead of inf/NaN.
    #[test]
    fn zero_elapsed_time_has_no_rate() {
        assert_eq!(per_second(0, 10, 0.0), None);
        assert_eq!(per_second(0, 10, -1.0), None);
        assert_eq!(per_second(0, 10, f64::NAN), None);
    }

    /// A counter that wraps (32-bit or 64-bit) or resets reports 0, not a spike.
    #[test]
    fn wrap_and_reset_do_not_spike() {
        assert_eq!(per_second(u32::MAX as u64 - 10, 5, 1.0), None);
        assert_eq!(per_second(u64::MAX - 1, 3, 1.0), None);

        let t0 = Instant::now();
        let mut set = RateSet::<1>::default();
        set.update("eth0", [u64::MAX - 100], t0);
        let after_wrap = set.update("eth0", [50], t0 + Duration::from_secs(1));
        assert_eq!(after_wrap, [0.0]);
        // The reading after the wrap is the new baseline: the next interval is normal.
        let next = set.update("eth0", [1_050], t0 + Duration::from_secs(2));
        assert_eq!(next, [1_000.0]);
    }

    /// A device that appears with a large since-boot counter starts at rate 0.
    #[test]
    fn hot_plugged_device_starts_at_zero() {
        let t0 = Instant::now();
        let mut set = RateSet::<2>::default();
        set.update("sda", [100, 100], t0);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(set.update("sda", [300, 100], t1), [200.0, 0.0]);
        // A new disk with 10 GB read since boot shows up: no spike.
        assert_eq!(set.update("sdb", [10_000_000_000, 7], t1), [0.0, 0.0]);
        let t2 = t1 + Duration::from_millis(500);
        assert_eq!(set.update("sdb", [10_000_000_100, 7], t2), [200.0, 0.0]);
    }

    /// A vanished device is forgotten; when it returns it gets a fresh baseline.
    #[test]
    fn vanished_device_is_forgotten() {
        let t0 = Instant::now();
        let mut set = RateSet::<1>::default();
        set.update("usb0", [10], t0);
        set.update("eth0", [10], t0);
        set.retain_seen();
        assert_eq!(set.len(), 2);
        // Next round only eth0 is present.
        set.update("eth0", [20], t0 + Duration::from_secs(1));
        set.retain_seen();
        assert_eq!(set.len(), 1);
        // usb0 comes back with a counter far ahead: baseline, not a spike.
        let back = set.update("usb0", [1_000_000], t0 + Duration::from_secs(2));
        assert_eq!(back, [0.0]);
    }

    /// Two readings at the same instant keep the older baseline.
    #[test]
    fn same_instant_keeps_baseline() {
        let t0 = Instant::now();
        let mut set = RateSet::<1>::default();
        set.update("eth0", [0], t0);
        assert_eq!(set.update("eth0", [500], t0), [0.0]);
        // Measured over the full second from the first baseline.
        assert_eq!(
            set.update("eth0", [1_000], t0 + Duration::from_secs(1)),
            [1_000.0]
        );
    }
}
