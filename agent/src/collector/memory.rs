//! Memory and swap: bytes used and total, and the used share of RAM.

use sysinfo::System;

/// Memory figures of one sample.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct MemReading {
    pub used_bytes: u64,
    pub total_bytes: u64,
    pub used_pct: f64,
    pub swap_used_bytes: u64,
    pub swap_total_bytes: u64,
}

/// Refreshes and reads memory. "Used" excludes caches and buffers the kernel can
/// reclaim (total minus available), which is what an operator means by "used".
pub fn read(sys: &mut System) -> MemReading {
    sys.refresh_memory();
    let total = sys.total_memory();
    let used = total.saturating_sub(sys.available_memory());
    MemReading {
        used_bytes: used,
        total_bytes: total,
        used_pct: if total == 0 {
            0.0
        } else {
            used as f64 / total as f64 * 100.0
        },
        swap_used_bytes: sys.used_swap(),
        swap_total_bytes: sys.total_swap(),
    }
}
