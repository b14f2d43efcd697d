//! CPU: busy percentage in total and per core (sysinfo), plus iowait and steal from
//! `/proc/stat` on Linux, where the kernel reports them.

use sysinfo::System;

/// CPU figures of one sample.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CpuReading {
    pub total_pct: f64,
    pub per_core_pct: Vec<f64>,
    pub iowait_pct: Option<f64>,
    pub steal_pct: Option<f64>,
}

/// Reads CPU usage since the previous call. The first call after start reports 0: usage
/// is a difference of two readings.
pub fn read(sys: &mut System, times: &mut CpuTimes) -> CpuReading {
    sys.refresh_cpu_usage();
    let (iowait_pct, steal_pct) = times.update().unzip();
    CpuReading {
        total_pct: f64::from(sys.global_cpu_usage()),
        per_core_pct: sys.cpus().iter().map(|c| f64::from(c.usage())).collect(),
        iowait_pct,
        steal_pct,
    }
}

/// The aggregate `cpu` line of `/proc/stat`, in clock ticks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StatLine {
    pub total: u64,
    pub iowait: u64,
    pub steal: u64,
}

/// Parses the first (`cpu `) line of `/proc/stat`:
/// `cpu user nice system idle iowait irq softirq steal guest guest_nice`.
/// Guest time is already counted in user time, so it is not added to the total.
pub fn parse_stat(text: &str) -> Option<StatLine> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map_while(|f| f.parse().ok())
        .collect();
    if fields.len() < 4 {
        return None;
    }
    let get = |i: usize| fields.get(i).copied().unwrap_or(0);
    let total = (0..8).map(get).fold(0u64, u64::saturating_add);
    Some(StatLine {
        total,
        iowait: get(4),
        steal: get(7),
    })
}

/// Percentages of iowait and steal between two `/proc/stat` readings.
pub fn iowait_steal_pct(prev: StatLine, cur: StatLine) -> Option<(f64, f64)> {
    let total = cur.total.checked_sub(prev.total)?;
    if total == 0 {
        return None;
    }
    let pct = |a: u64, b: u64| (b.saturating_sub(a) as f64 / total as f64 * 100.0).min(100.0);
    Some((pct(prev.iowait, cur.iowait), pct(prev.steal, cur.steal)))
}

/// Tracks `/proc/stat` between samples. On systems without it, reports nothing.
#[derive(Debug, Default)]
pub struct CpuTimes {
    last: Option<StatLine>,
    unavailable: bool,
}

impl CpuTimes {
    /// Reads `/proc/stat` and returns iowait and steal since the previous call.
    pub fn update(&mut self) -> Option<(f64, f64)> {
        if self.unavailable {
            return None;
        }
        let Some(cur) = std::fs::read_to_string("/proc/stat")
            .ok()
            .as_deref()
            .and_then(parse_stat)
        else {
            self.unavailable = true;
            return None;
        };
        let out = self.last.and_then(|prev| iowait_steal_pct(prev, cur));
        self.last = Some(cur);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The aggregate line is parsed and guest time is not double counted.
    #[test]
    fn parses_proc_stat() {
        let text = "cpu  100 0 50 800 30 0 0 20 5 0\ncpu0 50 0 25 400 15 0 0 10 0 0\n";
        let s = parse_stat(text).unwrap();
        assert_eq!(
            s,
            StatLine {
                total: 1000,
                iowait: 30,
                steal: 20
            }
        );
        assert!(parse_stat("intr 1 2 3").is_none());
    }

    /// iowait and steal are shares of the ticks between two readings.
    #[test]
    fn iowait_and_steal_percentages() {
        let a = StatLine {
            total: 1000,
            iowait: 30,
            steal: 20,
        };
        let b = StatLine {
            total: 1200,
            iowait: 50,
            steal: 30,
        };
        assert_eq!(iowait_steal_pct(a, b), Some((10.0, 5.0)));
        // No ticks passed, or the counters went backwards: nothing to report.
        assert_eq!(iowait_steal_pct(a, a), None);
        assert_eq!(iowait_steal_pct(b, a), None);
    }
}
