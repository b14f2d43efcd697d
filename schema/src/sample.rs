//! One measurement of one machine: the flat scalars every tier stores and charts,
//! plus per-device detail kept with the raw sample.

use serde::{Deserialize, Serialize};

/// One sample. `seq` is monotonic per agent and `ts` is epoch milliseconds UTC; the
/// pair makes replays idempotent (the hub stores each `(machine, ts)` once).
///
/// The seed's flat fields (`cpu_pct`, `mem_used_pct`, `disk_used_pct`, `net_rx_bytes`,
/// `net_tx_bytes`) keep their names. Every other field is optional on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sample {
    /// Per-agent sequence number, starting at 1, never reused.
    pub seq: u64,
    /// Time of measurement, epoch milliseconds UTC.
    pub ts: i64,
    /// CPU busy, all cores, 0–100.
    pub cpu_pct: f64,
    /// Memory used (excluding caches), 0–100.
    pub mem_used_pct: f64,
    /// Fullest real filesystem, 0–100.
    pub disk_used_pct: f64,
    /// Bytes received since boot, all non-virtual interfaces.
    pub net_rx_bytes: u64,
    /// Bytes sent since boot, all non-virtual interfaces.
    pub net_tx_bytes: u64,
    #[serde(default)]
    pub load1: f64,
    #[serde(default)]
    pub load5: f64,
    #[serde(default)]
    pub load15: f64,
    #[serde(default)]
    pub mem_used_bytes: u64,
    #[serde(default)]
    pub mem_total_bytes: u64,
    #[serde(default)]
    pub swap_used_bytes: u64,
    #[serde(default)]
    pub swap_total_bytes: u64,
    #[serde(default)]
    pub disk_read_bps: f64,
    #[serde(default)]
    pub disk_write_bps: f64,
    #[serde(default)]
    pub net_rx_bps: f64,
    #[serde(default)]
    pub net_tx_bps: f64,
    #[serde(default)]
    pub uptime_s: u64,
    #[serde(default)]
    pub procs: u64,
    /// CPU time waiting for I/O, 0–100, where the OS reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_iowait_pct: Option<f64>,
    /// CPU time stolen by the hypervisor, 0–100, where the OS reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_steal_pct: Option<f64>,
    /// Busy percentage per core, in core order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<DiskSample>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ifaces: Vec<IfaceSample>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub temps: Vec<TempSample>,
    /// Top processes by CPU and by memory (union, at most 2 × N entries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top: Vec<ProcSample>,
}

/// One real filesystem.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiskSample {
    pub mount: String,
    pub fs: String,
    pub used_bytes: u64,
    pub total_bytes: u64,
    #[serde(default)]
    pub read_bps: f64,
    #[serde(default)]
    pub write_bps: f64,
}

/// One network interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IfaceSample {
    pub name: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    #[serde(default)]
    pub rx_bps: f64,
    #[serde(default)]
    pub tx_bps: f64,
}

/// One temperature sensor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TempSample {
    pub label: String,
    pub celsius: f64,
}

/// One process among the top consumers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcSample {
    pub pid: u32,
    pub name: String,
    pub cpu_pct: f64,
    pub mem_bytes: u64,
}

impl Sample {
    /// The scalar fields by their stored name, in a fixed order. History tiers, alert
    /// rules and the query API name metrics with exactly these strings.
    pub fn scalars(&self) -> [(&'static str, f64); 18] {
        [
            ("cpu_pct", self.cpu_pct),
            ("mem_used_pct", self.mem_used_pct),
            ("disk_used_pct", self.disk_used_pct),
            ("net_rx_bytes", self.net_rx_bytes as f64),
            ("net_tx_bytes", self.net_tx_bytes as f64),
            ("load1", self.load1),
            ("load5", self.load5),
            ("load15", self.load15),
            ("mem_used_bytes", self.mem_used_bytes as f64),
            ("mem_total_bytes", self.mem_total_bytes as f64),
            ("swap_used_bytes", self.swap_used_bytes as f64),
            ("swap_total_bytes", self.swap_total_bytes as f64),
            ("disk_read_bps", self.disk_read_bps),
            ("disk_write_bps", self.disk_write_bps),
            ("net_rx_bps", self.net_rx_bps),
            ("net_tx_bps", self.net_tx_bps),
            ("uptime_s", self.uptime_s as f64),
            ("procs", self.procs as f64),
        ]
    }
}

/// Names of [`Sample::scalars`], for validating query parameters and rules.
pub const SCALAR_NAMES: [&str; 18] = [
    "cpu_pct",
    "mem_used_pct",
    "disk_used_pct",
    "net_rx_bytes",
    "net_tx_bytes",
    "load1",
    "load5",
    "load15",
    "mem_used_bytes",
    "mem_total_bytes",
    "swap_used_bytes",
    "swap_total_bytes",
    "disk_read_bps",
    "disk_write_bps",
    "net_rx_bps",
    "net_tx_bps",
    "uptime_s",
    "procs",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame from the seed with only the five original fields still parses.
    #[test]
    fn seed_sample_parses() {
        let s: Sample = serde_json::from_str(
            r#"{"seq":1,"ts":1700000000000,"cpu_pct":1.5,"mem_used_pct":2.0,
                "disk_used_pct":3.0,"net_rx_bytes":10,"net_tx_bytes":20}"#,
        )
        .unwrap();
        assert_eq!(s.cpu_pct, 1.5);
        assert_eq!(s.net_tx_bytes, 20);
        assert!(s.disks.is_empty());
    }

    /// Unknown fields from a newer agent are ignored, not an error.
    #[test]
    fn unknown_fields_are_ignored() {
        let s: Sample = serde_json::from_str(
            r#"{"seq":2,"ts":1,"cpu_pct":0,"mem_used_pct":0,"disk_used_pct":0,
                "net_rx_bytes":0,"net_tx_bytes":0,"gpu_pct":99}"#,
        )
        .unwrap();
        assert_eq!(s.seq, 2);
    }

    /// `scalars` and `SCALAR_NAMES` list the same names in the same order.
    #[test]
    fn scalar_names_match() {
        let names: Vec<_> = Sample::default()
            .scalars()
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(names, SCALAR_NAMES);
    }
}
