//! Memory and swap: bytes used and total, and the used share of RAM: from
//! `/proc/meminfo` on Linux (kept open), from sysinfo elsewhere.

use sysinfo::System;

use super::procfs::{ProcFile, table_value};

/// Memory figures of one sample.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct MemReading {
    pub used_bytes: u64,
    pub total_bytes: u64,
    pub used_pct: f64,
    pub swap_used_bytes: u64,
    pub swap_total_bytes: u64,
}

impl MemReading {
    fn new(total: u64, available: u64, swap_total: u64, swap_free: u64) -> Self {
        let used = total.saturating_sub(available);
        Self {
            used_bytes: used,
            total_bytes: total,
            used_pct: if total == 0 {
                0.0
            } else {
                used as f64 / total as f64 * 100.0
            },
            swap_used_bytes: swap_total.saturating_sub(swap_free),
            swap_total_bytes: swap_total,
        }
    }
}

/// Reads memory. "Used" excludes caches and buffers the kernel can reclaim (total
/// minus available), which is what an operator means by "used". `meminfo` is the open
/// `/proc/meminfo`; when it is missing or unreadable, sysinfo is used from then on.
pub fn read(sys: &mut System, meminfo: &mut Option<ProcFile>) -> MemReading {
    if let Some(m) = meminfo
        .as_mut()
        .and_then(|f| f.read().ok())
        .and_then(parse_meminfo)
    {
        return m;
    }
    *meminfo = None;
    sys.refresh_memory();
    MemReading::new(
        sys.total_memory(),
        sys.available_memory(),
        sys.total_swap(),
        sys.free_swap(),
    )
}

/// Parses `/proc/meminfo` (values in KiB, though it says "kB"). `None` without
/// `MemAvailable` (kernels before 3.14), where sysinfo's estimate is used instead.
pub fn parse_meminfo(text: &str) -> Option<MemReading> {
    let kib = |key| table_value(text, key).map(|v| v.saturating_mul(1024));
    Some(MemReading::new(
        kib("MemTotal")?,
        kib("MemAvailable")?,
        kib("SwapTotal").unwrap_or(0),
        kib("SwapFree").unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Used memory is total minus available; swap used is total minus free.
    #[test]
    fn parses_meminfo() {
        let text = "MemTotal:        1000 kB\nMemFree:          100 kB\nMemAvailable:     750 kB\n\
                    SwapTotal:        200 kB\nSwapFree:         150 kB\n";
        let m = parse_meminfo(text).unwrap();
        assert_eq!(m.total_bytes, 1_024_000);
        assert_eq!(m.used_bytes, 256_000);
        assert_eq!(m.used_pct, 25.0);
        assert_eq!((m.swap_used_bytes, m.swap_total_bytes), (51_200, 204_800));
        assert!(parse_meminfo("MemTotal: 1000 kB\n").is_none());
    }
}
