//! A rule as the engine runs it: the metric resolved to an accessor, thresholds and
//! durations in milliseconds, quiet hours in minutes of the UTC day.

use lunasentri_schema::Sample;
use lunasentri_schema::alert::{
    AlertRule, Comparator, DISK_MOUNT_PREFIX, OFFLINE_METRIC, QuietHours, Severity,
};
use lunasentri_schema::sample::SCALAR_NAMES;

/// What a rule reads from a sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// Index into [`Sample::scalars`].
    Scalar(usize),
    SwapUsedPct,
    TempMaxC,
    CpuIowaitPct,
    CpuStealPct,
    /// `disk_used_pct:<mount>`.
    DiskMount(String),
    /// The machine is not reporting.
    Offline,
}

impl Metric {
    /// Parses a rule's metric name; `None` names no known metric.
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(i) = SCALAR_NAMES.iter().position(|n| *n == name) {
            return Some(Self::Scalar(i));
        }
        if let Some(mount) = name.strip_prefix(DISK_MOUNT_PREFIX) {
            return (!mount.is_empty()).then(|| Self::DiskMount(mount.to_string()));
        }
        Some(match name {
            OFFLINE_METRIC => Self::Offline,
            "swap_used_pct" => Self::SwapUsedPct,
            "temp_max_c" => Self::TempMaxC,
            "cpu_iowait_pct" => Self::CpuIowaitPct,
            "cpu_steal_pct" => Self::CpuStealPct,
            _ => return None,
        })
    }

    /// The value in a sample; `None` when the sample does not carry it (no swap, no
    /// sensors, an unknown mount), in which case the rule is not evaluated.
    pub fn value(&self, s: &Sample) -> Option<f64> {
        match self {
            Self::Scalar(i) => Some(s.scalars()[*i].1),
            Self::SwapUsedPct => (s.swap_total_bytes > 0)
                .then(|| s.swap_used_bytes as f64 * 100.0 / s.swap_total_bytes as f64),
            Self::TempMaxC => s.temps.iter().map(|t| t.celsius).reduce(f64::max),
            Self::CpuIowaitPct => s.cpu_iowait_pct,
            Self::CpuStealPct => s.cpu_steal_pct,
            Self::DiskMount(m) => s
                .disks
                .iter()
                .find(|d| &d.mount == m && d.total_bytes > 0)
                .map(|d| d.used_bytes as f64 * 100.0 / d.total_bytes as f64),
            Self::Offline => None,
        }
    }

    /// Whether values are percentages (thresholds must lie in 0–100).
    pub fn is_percent(&self) -> bool {
        match self {
            Self::Scalar(i) => SCALAR_NAMES[*i].ends_with("_pct"),
            Self::SwapUsedPct | Self::CpuIowaitPct | Self::CpuStealPct | Self::DiskMount(_) => true,
            Self::TempMaxC | Self::Offline => false,
        }
    }
}

/// Parses `HH:MM` into minutes of the day.
pub fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub metric_name: String,
    pub metric: Metric,
    pub comparator: Comparator,
    pub threshold: f64,
    pub clear_threshold: f64,
    pub for_ms: i64,
    pub repeat_ms: Option<i64>,
    pub severity: Severity,
    /// `(start, end)` minutes of the UTC day, end exclusive.
    pub quiet: Option<(u16, u16)>,
    pub channel_ids: Vec<i64>,
}

const DAY_MS: i64 = 86_400_000;

impl Rule {
    /// Compiles a stored rule; `None` if it names a metric this hub does not know.
    pub fn compile(r: &AlertRule) -> Option<Self> {
        let quiet = match &r.quiet_hours {
            Some(QuietHours { start, end }) => Some((parse_hhmm(start)?, parse_hhmm(end)?)),
            None => None,
        };
        Some(Self {
            id: r.id,
            user_id: r.user_id,
            name: r.name.clone(),
            metric_name: r.metric.clone(),
            metric: Metric::parse(&r.metric)?,
            comparator: r.comparator,
            threshold: r.threshold,
            clear_threshold: r.clear_threshold,
            for_ms: i64::from(r.for_s) * 1000,
            repeat_ms: r.repeat_s.map(|s| i64::from(s) * 1000),
            severity: r.severity,
            quiet,
            channel_ids: r.channel_ids.clone(),
        })
    }

    /// Whether `v` meets the firing condition.
    pub fn breached(&self, v: f64) -> bool {
        match self.comparator {
            Comparator::Gt => v > self.threshold,
            Comparator::Ge => v >= self.threshold,
            Comparator::Lt => v < self.threshold,
            Comparator::Le => v <= self.threshold,
        }
    }

    /// Whether `v` is back past the clear threshold (hysteresis): strictly below it for
    /// upper rules, strictly above it for lower rules.
    pub fn cleared(&self, v: f64) -> bool {
        if self.comparator.is_upper() {
            v < self.clear_threshold
        } else {
            v > self.clear_threshold
        }
    }

    /// Whether notifications wait at `now_ms` (epoch milliseconds).
    pub fn is_quiet(&self, now_ms: i64) -> bool {
        let Some((start, end)) = self.quiet else {
            return false;
        };
        let minute = (now_ms.rem_euclid(DAY_MS) / 60_000) as u16;
        if start <= end {
            start <= minute && minute < end
        } else {
            minute >= start || minute < end
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lunasentri_schema::sample::{DiskSample, TempSample};

    fn rule(comparator: Comparator, threshold: f64, clear: f64) -> Rule {
        Rule {
            id: 1,
            user_id: 1,
            name: "r".into(),
            metric_name: "cpu_pct".into(),
            metric: Metric::Scalar(0),
            comparator,
            threshold,
            clear_threshold: clear,
            for_ms: 0,
            repeat_ms: None,
            severity: Severity::Warning,
            quiet: None,
            channel_ids: vec![],
        }
    }

    /// Every scalar, derived and per-mount metric parses and reads from a sample.
    #[test]
    fn metrics_read_samples() {
        let s = Sample {
            cpu_pct: 12.0,
            load1: 3.5,
            swap_used_bytes: 25,
            swap_total_bytes: 100,
            temps: vec![
                TempSample {
                    label: "a".into(),
                    celsius: 40.0,
                },
                TempSample {
                    label: "b".into(),
                    celsius: 71.5,
                },
            ],
            disks: vec![DiskSample {
                mount: "/var".into(),
                used_bytes: 30,
                total_bytes: 120,
                ..DiskSample::default()
            }],
            ..Sample::default()
        };
        let read = |n: &str| Metric::parse(n).unwrap().value(&s);
        assert_eq!(read("cpu_pct"), Some(12.0));
        assert_eq!(read("load1"), Some(3.5));
        assert_eq!(read("swap_used_pct"), Some(25.0));
        assert_eq!(read("temp_max_c"), Some(71.5));
        assert_eq!(read("disk_used_pct:/var"), Some(25.0));
        assert_eq!(read("disk_used_pct:/nope"), None);
        assert_eq!(read("cpu_iowait_pct"), None);
        assert_eq!(Metric::parse("offline"), Some(Metric::Offline));
        assert_eq!(Metric::parse("cpu"), None);
        assert_eq!(Metric::parse("disk_used_pct:"), None);
        for n in SCALAR_NAMES {
            assert!(Metric::parse(n).is_some(), "{n}");
        }
    }

    /// Comparators and clear thresholds on both sides.
    #[test]
    fn breach_and_clear() {
        let up = rule(Comparator::Gt, 90.0, 80.0);
        assert!(!up.breached(90.0) && up.breached(90.1));
        assert!(!up.cleared(85.0) && up.cleared(79.9));
        let ge = rule(Comparator::Ge, 90.0, 90.0);
        assert!(ge.breached(90.0) && !ge.cleared(90.0) && ge.cleared(89.0));
        let down = rule(Comparator::Lt, 10.0, 15.0);
        assert!(down.breached(9.0) && !down.breached(10.0));
        assert!(!down.cleared(12.0) && down.cleared(15.5));
    }

    /// Quiet windows, including one that wraps midnight.
    #[test]
    fn quiet_hours() {
        let mut r = rule(Comparator::Gt, 1.0, 1.0);
        let at = |h: i64, m: i64| 20 * DAY_MS + (h * 60 + m) * 60_000;
        r.quiet = Some((parse_hhmm("22:00").unwrap(), parse_hhmm("07:30").unwrap()));
        assert!(r.is_quiet(at(23, 0)) && r.is_quiet(at(3, 0)) && r.is_quiet(at(7, 29)));
        assert!(!r.is_quiet(at(7, 30)) && !r.is_quiet(at(12, 0)));
        r.quiet = Some((parse_hhmm("09:00").unwrap(), parse_hhmm("17:00").unwrap()));
        assert!(r.is_quiet(at(9, 0)) && !r.is_quiet(at(17, 0)));
        assert_eq!(parse_hhmm("24:00"), None);
        assert_eq!(parse_hhmm("7:00"), None);
    }
}
