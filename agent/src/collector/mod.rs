//! Host metrics: one long-lived [`Collector`] that turns the OS's counters into a
//! [`Sample`], refreshing only what a sample contains.
//!
//! One file per area: [`cpu`], [`memory`], [`load`] (and uptime), [`disk`], [`network`],
//! [`temps`], [`procs`], [`host`] (facts for `hello`); [`rate`] holds the pure
//! counter-to-rate math and [`procfs`] the kept-open `/proc` files that most of a sample
//! is read from on Linux.
//!
//! Cost per sample on Linux: one `pread` each of `/proc/stat`, `/proc/meminfo`,
//! `/proc/loadavg`, `/proc/uptime`, `/proc/net/dev` and `/proc/diskstats`, one `statvfs`
//! per filesystem; the rest is refreshed less often (see the constants below), the
//! process table with one read of `/proc/PID/stat` per process ([`procs::ProcTable`]).

pub mod cpu;
pub mod disk;
pub mod host;
pub mod load;
pub mod memory;
pub mod network;
pub mod procfs;
pub mod procs;
pub mod rate;
pub mod temps;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lunasentri_schema::{Hello, Sample};
use sysinfo::{Components, CpuRefreshKind, Disks, Networks, System};

/// How often the process table is read for the top-process list. Reading every
/// process's counters is the most expensive part of a sample; between reads, samples
/// carry the latest list.
pub const TOP_REFRESH: Duration = Duration::from_secs(15);
/// How often the mount table is rescanned for new or removed filesystems.
pub const MOUNT_RESCAN: Duration = Duration::from_secs(30);
/// How often processes are counted (listing `/proc` is costly for the kernel).
pub const PROCS_REFRESH: Duration = Duration::from_secs(5);
/// How often temperature sensors are read (they change slowly).
pub const TEMP_REFRESH: Duration = Duration::from_secs(5);

/// The collector could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot read host metrics on this system: {0}")]
pub struct CollectorError(String);

/// Owns the OS handles and the previous readings that rates and CPU usage are computed
/// from. Create it once and call [`Collector::sample`] every interval: the first
/// sample's rates and CPU usage are 0, as there is nothing to compare with yet.
#[derive(Debug)]
pub struct Collector {
    sys: System,
    disks: Disks,
    networks: Networks,
    components: Components,
    cpu_times: cpu::CpuTimes,
    meminfo: Option<procfs::ProcFile>,
    load: load::LoadReader,
    net_dev: Option<procfs::ProcFile>,
    disk_stats: disk::DiskStats,
    disk_rates: rate::RateSet<2>,
    net_rates: rate::RateSet<2>,
    top_n: usize,
    /// The process table read from `/proc` (Linux); sysinfo's elsewhere.
    proc_table: Option<procs::ProcTable>,
    top: Vec<lunasentri_schema::sample::ProcSample>,
    top_at: Option<Instant>,
    mounts_at: Option<Instant>,
    temps: Vec<lunasentri_schema::sample::TempSample>,
    temps_at: Option<Instant>,
    procs: u64,
    procs_at: Option<Instant>,
}

/// Whether something refreshed at `last` is due again `every` after it.
fn due(last: Option<Instant>, now: Instant, every: Duration) -> bool {
    last.is_none_or(|t| now.saturating_duration_since(t) >= every)
}

impl Collector {
    /// Opens the OS handles and takes the baseline readings. `top_n` processes by CPU
    /// and by memory are listed in each sample; 0 disables the process table.
    pub fn new(top_n: usize) -> Result<Self, CollectorError> {
        let err = |e: sysinfo::Error| CollectorError(e.to_string());
        let mut sys = System::new().map_err(err)?;
        sys.refresh_cpu_list(CpuRefreshKind::nothing());
        sys.refresh_memory();
        let mut collector = Self {
            sys,
            disks: Disks::new().map_err(err)?,
            networks: Networks::new().map_err(err)?,
            components: Components::new_with_refreshed_list().map_err(err)?,
            cpu_times: cpu::CpuTimes::default(),
            meminfo: procfs::ProcFile::try_open_one_record("/proc/meminfo"),
            load: load::LoadReader::new(),
            net_dev: procfs::ProcFile::try_open("/proc/net/dev"),
            disk_stats: disk::DiskStats::new(),
            disk_rates: rate::RateSet::default(),
            net_rates: rate::RateSet::default(),
            top_n,
            proc_table: if top_n > 0 {
                procs::ProcTable::new()
            } else {
                None
            },
            top: Vec::new(),
            top_at: None,
            mounts_at: None,
            temps: Vec::new(),
            temps_at: None,
            procs: 0,
            procs_at: None,
        };
        // Baselines for CPU usage and counters; the first real sample reads the process
        // table again, so its top list covers the first interval.
        collector.sample(0);
        collector.top_at = None;
        Ok(collector)
    }

    /// The `hello` frame for this host.
    pub fn hello(&self, interval_ms: u64) -> Hello {
        host::hello(&self.sys, interval_ms)
    }

    /// Takes one sample now, numbered `seq`.
    pub fn sample(&mut self, seq: u64) -> Sample {
        let now = Instant::now();
        let ts = now_ms();
        let cpu = cpu::read(&mut self.sys, &mut self.cpu_times);
        let mem = memory::read(&mut self.sys, &mut self.meminfo);
        let rescan = due(self.mounts_at, now, MOUNT_RESCAN);
        if rescan {
            self.mounts_at = Some(now);
        }
        let disk = disk::read(
            &mut self.disks,
            &mut self.disk_stats,
            &mut self.disk_rates,
            now,
            rescan,
        );
        let net = network::read(
            &mut self.networks,
            &mut self.net_dev,
            &mut self.net_rates,
            now,
        );
        if due(self.temps_at, now, TEMP_REFRESH) {
            self.temps = temps::read(&mut self.components);
            self.temps_at = Some(now);
        }
        if self.top_n > 0 && due(self.top_at, now, TOP_REFRESH) {
            self.top_at = Some(now);
            // A scan of `/proc` counts the processes as it goes.
            let scanned = self
                .proc_table
                .as_mut()
                .zip(self.cpu_times.total_ticks())
                .and_then(|(table, (total, cores))| table.scan(total, cores));
            match scanned {
                Some((count, rows)) => {
                    self.top = procs::top(rows, self.top_n);
                    self.procs = count;
                    self.procs_at = Some(now);
                }
                None => self.top = procs::top_now(&mut self.sys, self.top_n),
            }
        }
        if due(self.procs_at, now, PROCS_REFRESH) {
            self.procs = procs::count(&mut self.sys);
            self.procs_at = Some(now);
        }
        let procs = self.procs;
        let [load1, load5, load15] = self.load.load();
        let mut sample = Sample {
            seq,
            ts,
            cpu_pct: cpu.total_pct,
            mem_used_pct: mem.used_pct,
            disk_used_pct: disk.max_used_pct,
            net_rx_bytes: net.rx_bytes,
            net_tx_bytes: net.tx_bytes,
            load1,
            load5,
            load15,
            mem_used_bytes: mem.used_bytes,
            mem_total_bytes: mem.total_bytes,
            swap_used_bytes: mem.swap_used_bytes,
            swap_total_bytes: mem.swap_total_bytes,
            disk_read_bps: disk.read_bps,
            disk_write_bps: disk.write_bps,
            net_rx_bps: net.rx_bps,
            net_tx_bps: net.tx_bps,
            uptime_s: self.load.uptime_s(),
            procs,
            cpu_iowait_pct: cpu.iowait_pct,
            cpu_steal_pct: cpu.steal_pct,
            cpus: cpu.per_core_pct,
            disks: disk.disks,
            ifaces: net.ifaces,
            temps: self.temps.clone(),
            top: self.top.clone(),
        };
        sanitize(&mut sample);
        sample
    }
}

/// Current time, epoch milliseconds UTC.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The hub refuses NaN and negative values; an odd OS reading must never cost a whole
/// sample (or, worse, a replay batch). Such values become 0, percentages are clamped.
pub fn sanitize(s: &mut Sample) {
    fn clean(v: &mut f64) {
        if !v.is_finite() || *v < 0.0 {
            *v = 0.0;
        }
    }
    fn pct(v: &mut f64) {
        clean(v);
        *v = v.min(100.0);
    }
    for v in [&mut s.cpu_pct, &mut s.mem_used_pct, &mut s.disk_used_pct] {
        pct(v);
    }
    for v in [
        &mut s.load1,
        &mut s.load5,
        &mut s.load15,
        &mut s.disk_read_bps,
        &mut s.disk_write_bps,
        &mut s.net_rx_bps,
        &mut s.net_tx_bps,
    ] {
        clean(v);
    }
    for v in s
        .cpu_iowait_pct
        .iter_mut()
        .chain(s.cpu_steal_pct.iter_mut())
        .chain(s.cpus.iter_mut())
    {
        pct(v);
    }
    for d in &mut s.disks {
        clean(&mut d.read_bps);
        clean(&mut d.write_bps);
    }
    for i in &mut s.ifaces {
        clean(&mut i.rx_bps);
        clean(&mut i.tx_bps);
    }
    s.temps.retain(|t| t.celsius.is_finite());
    for p in &mut s.top {
        clean(&mut p.cpu_pct);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NaN, infinite and negative readings never reach the wire.
    #[test]
    fn sanitize_removes_nan_and_negatives() {
        let mut s = Sample {
            cpu_pct: f64::NAN,
            mem_used_pct: 250.0,
            load1: -1.0,
            net_rx_bps: f64::INFINITY,
            cpus: vec![f64::NAN, 12.0],
            ..Sample::default()
        };
        sanitize(&mut s);
        assert_eq!(s.cpu_pct, 0.0);
        assert_eq!(s.mem_used_pct, 100.0);
        assert_eq!(s.load1, 0.0);
        assert_eq!(s.net_rx_bps, 0.0);
        assert_eq!(s.cpus, vec![0.0, 12.0]);
    }

    /// A real collector produces a sane second sample on this machine.
    #[test]
    fn collects_a_sane_sample() {
        let mut c = Collector::new(3).unwrap();
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let s = c.sample(1);
        assert_eq!(s.seq, 1);
        assert!(s.ts > 1_600_000_000_000);
        assert!(s.mem_total_bytes > 0 && s.mem_used_bytes <= s.mem_total_bytes);
        assert!((0.0..=100.0).contains(&s.cpu_pct));
        assert!(!s.cpus.is_empty());
        assert!(s.procs > 0);
        assert!(!s.top.is_empty() && s.top.len() <= 6);
        assert!(c.hello(1000).cores > 0);
    }
}
