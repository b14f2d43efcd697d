//! CPU time and memory of a local process, read from `/proc` (Linux). Used for the hub
//! (`--hub-pid`) and for loadgen itself, to show it was not the bottleneck.

use std::time::Instant;

/// Clock ticks per second of `utime`/`stime` in `/proc/PID/stat` (USER_HZ, 100 on
/// every Linux architecture loadgen targets).
const TICKS_PER_SEC: f64 = 100.0;

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcSnapshot {
    pub at: Instant,
    /// User + system CPU seconds since the process started.
    pub cpu_s: f64,
    pub rss_bytes: u64,
    /// Peak resident set (VmHWM).
    pub peak_rss_bytes: u64,
}

/// Parses utime + stime (fields 14 and 15) of a `/proc/PID/stat` line, in seconds.
/// The command name (field 2) may hold spaces and parentheses, so fields are counted
/// from the last `)`.
pub fn parse_stat_cpu(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ")": state is field 3, so utime (14) is the 12th field of `rest`.
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SEC)
}

/// Reads a `kB` line such as `VmRSS:   1234 kB` from `/proc/PID/status`, in bytes.
pub fn parse_status_kb(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix(':')?;
        let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    })
}

/// Reads process `pid` (`None`: this process); `None` when it is gone or not Linux.
pub fn read(pid: Option<u32>) -> Option<ProcSnapshot> {
    let dir = match pid {
        Some(p) => format!("/proc/{p}"),
        None => "/proc/self".to_owned(),
    };
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
    Some(ProcSnapshot {
        at: Instant::now(),
        cpu_s: parse_stat_cpu(&stat)?,
        rss_bytes: parse_status_kb(&status, "VmRSS").unwrap_or(0),
        peak_rss_bytes: parse_status_kb(&status, "VmHWM").unwrap_or(0),
    })
}

/// CPU use between two readings, in percent of one core.
pub fn cpu_pct(from: &ProcSnapshot, to: &ProcSnapshot) -> f64 {
    let wall = to.at.duration_since(from.at).as_secs_f64();
    if wall <= 0.0 {
        return 0.0;
    }
    100.0 * (to.cpu_s - from.cpu_s).max(0.0) / wall
}

/// The whole machine's CPU counters from `/proc/stat`: (busy, total) ticks over all cores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineSnapshot {
    pub busy: u64,
    pub total: u64,
    pub cores: usize,
}

/// Parses the aggregate `cpu` line and counts the per-core lines of `/proc/stat`.
pub fn parse_machine(stat: &str) -> Option<MachineSnapshot> {
    let mut lines = stat.lines();
    let first = lines.next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = first
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    let cores = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    Some(MachineSnapshot {
        busy: total.saturating_sub(idle),
        total,
        cores: cores.max(1),
    })
}

/// Reads `/proc/stat`.
pub fn read_machine() -> Option<MachineSnapshot> {
    parse_machine(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// CPU the whole machine used between two readings, in percent of one core (up to
/// 100 × cores).
pub fn machine_busy_pct(from: &MachineSnapshot, to: &MachineSnapshot) -> f64 {
    let total = to.total.saturating_sub(from.total);
    if total == 0 {
        return 0.0;
    }
    100.0 * to.cores as f64 * to.busy.saturating_sub(from.busy) as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// utime and stime are found even when the command name holds spaces and parens.
    #[test]
    fn stat_line_parses() {
        let line = "4242 (lunasentri (hub) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 9 0 100 1000000 2000";
        assert_eq!(parse_stat_cpu(line), Some(3.0));
        assert_eq!(parse_stat_cpu("garbage"), None);
    }

    /// Memory lines are read in bytes.
    #[test]
    fn status_parses() {
        let s = "Name:\thub\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(parse_status_kb(s, "VmRSS"), Some(1024 * 1024));
        assert_eq!(parse_status_kb(s, "VmHWM"), Some(2048 * 1024));
        assert_eq!(parse_status_kb(s, "VmSwap"), None);
    }

    /// This process can read itself, and CPU over a span is non-negative.
    #[test]
    fn reads_self() {
        let a = read(None).expect("/proc/self");
        let b = read(None).expect("/proc/self");
        assert!(a.rss_bytes > 0);
        assert!(cpu_pct(&a, &b) >= 0.0);
    }

    /// Machine-wide busy time counts every core; idle and iowait are not busy.
    #[test]
    fn machine_stat_parses() {
        let a = "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 50 0 50 350 50 0 0 0 0 0\ncpu1 50 0 50 350 50 0 0 0 0 0\nintr 1\n";
        let b = "cpu  200 0 200 1300 100 0 0 0 0 0\ncpu0 1\ncpu1 1\n";
        let (a, b) = (parse_machine(a).unwrap(), parse_machine(b).unwrap());
        assert_eq!((a.busy, a.total, a.cores), (200, 1000, 2));
        // 200 busy of 800 ticks on 2 cores = 50 % of one core.
        assert!((machine_busy_pct(&a, &b) - 50.0).abs() < 1e-9);
    }
}
