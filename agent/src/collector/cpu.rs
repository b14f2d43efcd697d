//! CPU: busy percentage in total and per core, iowait and steal: from `/proc/stat` on
//! Linux, from sysinfo elsewhere.

use sysinfo::System;

use super::procfs::ProcFile;

/// CPU figures of one sample.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CpuReading {
    pub total_pct: f64,
    pub per_core_pct: Vec<f64>,
    pub iowait_pct: Option<f64>,
    pub steal_pct: Option<f64>,
}

/// Reads CPU usage since the previous call. The first call after start reports 0: usage
/// is a difference of two readings. On Linux everything comes from one read of
/// `/proc/stat`; elsewhere from sysinfo (without iowait and steal).
pub fn read(sys: &mut System, times: &mut CpuTimes) -> CpuReading {
    if let Some(reading) = times.update() {
        return reading;
    }
    sys.refresh_cpu_usage();
    CpuReading {
        total_pct: f64::from(sys.global_cpu_usage()),
        per_core_pct: sys.cpus().iter().map(|c| f64::from(c.usage())).collect(),
        iowait_pct: None,
        steal_pct: None,
    }
}

/// One `cpu` line of `/proc/stat`, in clock ticks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StatLine {
    pub total: u64,
    /// Idle and iowait: time the CPU did no work.
    pub idle: u64,
    pub iowait: u64,
    pub steal: u64,
}

/// Parses one `cpu…` line: `cpuN user nice system idle iowait irq softirq steal guest
/// guest_nice`. Guest time is already counted in user time, so it is not added again.
pub fn parse_line(line: &str) -> Option<StatLine> {
    let mut f = [0u64; 8];
    let mut n = 0;
    for (slot, field) in f.iter_mut().zip(line.split_whitespace().skip(1)) {
        match field.parse() {
            Ok(v) => *slot = v,
            Err(_) => break,
        }
        n += 1;
    }
    if n < 4 {
        return None;
    }
    Some(StatLine {
        total: f.iter().copied().fold(0u64, u64::saturating_add),
        idle: f[3].saturating_add(f[4]),
        iowait: f[4],
        steal: f[7],
    })
}

/// Parses the aggregate line of `/proc/stat` and puts the per-core lines into `cores`
/// (cleared first, so one vector serves every sample).
pub fn parse_stat_into(text: &str, cores: &mut Vec<StatLine>) -> Option<StatLine> {
    cores.clear();
    let mut total = None;
    for line in text.lines() {
        if line.starts_with("cpu ") {
            total = parse_line(line);
        } else if line.starts_with("cpu") {
            cores.push(parse_line(line)?);
        } else if total.is_some() {
            break;
        }
    }
    total
}

/// Parses the aggregate line and the per-core lines of `/proc/stat`.
pub fn parse_stat(text: &str) -> Option<(StatLine, Vec<StatLine>)> {
    let mut cores = Vec::new();
    let total = parse_stat_into(text, &mut cores)?;
    Some((total, cores))
}

/// Busy percentage between two readings.
pub fn busy_pct(prev: StatLine, cur: StatLine) -> f64 {
    let total = cur.total.saturating_sub(prev.total);
    if total == 0 {
        return 0.0;
    }
    let idle = cur.idle.saturating_sub(prev.idle).min(total);
    ((total - idle) as f64 / total as f64 * 100.0).clamp(0.0, 100.0)
}

/// Percentages of iowait and steal between two readings.
pub fn iowait_steal_pct(prev: StatLine, cur: StatLine) -> Option<(f64, f64)> {
    let total = cur.total.checked_sub(prev.total)?;
    if total == 0 {
        return None;
    }
    let pct = |a: u64, b: u64| (b.saturating_sub(a) as f64 / total as f64 * 100.0).min(100.0);
    Some((pct(prev.iowait, cur.iowait), pct(prev.steal, cur.steal)))
}

/// Tracks `/proc/stat` between samples, keeping the file open. Where it does not
/// exist, reports nothing.
#[derive(Debug, Default)]
pub struct CpuTimes {
    file: Option<ProcFile>,
    opened: bool,
    last_total: Option<StatLine>,
    last_cores: Vec<StatLine>,
    cores: Vec<StatLine>,
}

impl CpuTimes {
    /// The host's total CPU ticks (all cores) and the number of cores at the last
    /// [`CpuTimes::update`], where `/proc/stat` was read.
    pub fn total_ticks(&self) -> Option<(u64, usize)> {
        self.last_total.map(|t| (t.total, self.last_cores.len()))
    }

    /// Reads `/proc/stat` and returns usage since the previous call.
    pub fn update(&mut self) -> Option<CpuReading> {
        if !self.opened {
            self.opened = true;
            self.file = ProcFile::try_open_one_record("/proc/stat");
        }
        let file = self.file.as_mut()?;
        let Some(total) = file
            .read()
            .ok()
            .and_then(|text| parse_stat_into(text, &mut self.cores))
        else {
            self.file = None;
            return None;
        };
        let reading = match self.last_total {
            Some(prev_total) => {
                let (iowait, steal) = iowait_steal_pct(prev_total, total).unzip();
                CpuReading {
                    total_pct: busy_pct(prev_total, total),
                    per_core_pct: self
                        .cores
                        .iter()
                        .enumerate()
                        .map(|(i, c)| self.last_cores.get(i).map_or(0.0, |p| busy_pct(*p, *c)))
                        .collect(),
                    iowait_pct: iowait,
                    steal_pct: steal,
                }
            }
            None => CpuReading {
                per_core_pct: vec![0.0; self.cores.len()],
                ..CpuReading::default()
            },
        };
        self.last_total = Some(total);
        std::mem::swap(&mut self.last_cores, &mut self.cores);
        Some(reading)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The aggregate and per-core lines are parsed; guest time is not double counted.
    #[test]
    fn parses_proc_stat() {
        let text = "cpu  100 0 50 800 30 0 0 20 5 0\ncpu0 50 0 25 400 15 0 0 10 0 0\n\
                    cpu1 50 0 25 400 15 0 0 10 5 0\nintr 1 2 3\n";
        let (total, cores) = parse_stat(text).unwrap();
        assert_eq!(
            total,
            StatLine {
                total: 1000,
                idle: 830,
                iowait: 30,
                steal: 20
            }
        );
        assert_eq!(cores.len(), 2);
        assert!(parse_stat("intr 1 2 3").is_none());
    }

    /// Busy is everything but idle and iowait, over the ticks between readings.
    #[test]
    fn busy_percentage() {
        let a = StatLine {
            total: 1000,
            idle: 800,
            iowait: 0,
            steal: 0,
        };
        let b = StatLine {
            total: 1200,
            idle: 950,
            iowait: 0,
            steal: 0,
        };
        assert_eq!(busy_pct(a, b), 25.0);
        assert_eq!(busy_pct(a, a), 0.0);
        assert_eq!(
            busy_pct(b, a),
            0.0,
            "counters going backwards read as idle, not a spike"
        );
    }

    /// iowait and steal are shares of the ticks between two readings.
    #[test]
    fn iowait_and_steal_percentages() {
        let a = StatLine {
            total: 1000,
            idle: 0,
            iowait: 30,
            steal: 20,
        };
        let b = StatLine {
            total: 1200,
            idle: 0,
            iowait: 50,
            steal: 30,
        };
        assert_eq!(iowait_steal_pct(a, b), Some((10.0, 5.0)));
        // No ticks passed, or the counters went backwards: nothing to report.
        assert_eq!(iowait_steal_pct(a, a), None);
        assert_eq!(iowait_steal_pct(b, a), None);
    }
}
