//! Facts about the host for the `hello` frame: names, versions, hardware, boot time.

use lunasentri_schema::Hello;
use sysinfo::System;

/// Builds the `hello` frame. `sys` must have its CPU list loaded (the collector does).
pub fn hello(sys: &System, interval_ms: u64) -> Hello {
    Hello {
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        hostname: hostname(),
        os: System::long_os_version().unwrap_or_default(),
        kernel: System::kernel_version().unwrap_or_default(),
        arch: System::cpu_arch(),
        cpu_model: sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_owned())
            .unwrap_or_default(),
        cores: u32::try_from(sys.cpus().len()).unwrap_or(u32::MAX),
        mem_total_bytes: sys.total_memory(),
        boot_time_s: System::boot_time().unwrap_or_default(),
        interval_ms,
    }
}

/// The host's name, or `unknown` when the OS will not tell.
pub fn hostname() -> String {
    System::host_name()
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
