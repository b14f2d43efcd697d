//! Checks every sample before it is stored or fanned out, naming the first bad field.
//! Field names are formatted only for an error: a valid sample allocates nothing here.

use std::fmt::Display;

use lunasentri_schema::Sample;
use lunasentri_schema::protocol::{MAX_FUTURE_SKEW_MS, MAX_SAMPLE_AGE_MS};

/// Percentages may overshoot 100 by float noise, not more.
const PCT_MAX: f64 = 100.5;
const MAX_LIST: usize = 1024;
const MAX_LABEL: usize = 256;

fn pct(name: impl Display, v: f64) -> Result<(), String> {
    if !v.is_finite() || !(0.0..=PCT_MAX).contains(&v) {
        return Err(format!("{name}: {v} is not a percentage between 0 and 100"));
    }
    Ok(())
}

fn non_negative(name: impl Display, v: f64) -> Result<(), String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{name}: {v} must be a finite number ≥ 0"));
    }
    Ok(())
}

fn label(name: impl Display, s: &str) -> Result<(), String> {
    if s.len() > MAX_LABEL {
        return Err(format!("{name}: longer than {MAX_LABEL} bytes"));
    }
    Ok(())
}

fn list<T>(name: &str, v: &[T]) -> Result<(), String> {
    if v.len() > MAX_LIST {
        return Err(format!("{name}: more than {MAX_LIST} entries"));
    }
    Ok(())
}

/// `Ok` when the sample may be stored; otherwise a message naming the field.
pub fn sample(s: &Sample, now_ms: i64) -> Result<(), String> {
    if s.ts > now_ms + MAX_FUTURE_SKEW_MS {
        return Err(format!(
            "ts: {} is more than 5 minutes in the future (hub time {now_ms}); check the agent's clock",
            s.ts
        ));
    }
    if s.ts < now_ms - MAX_SAMPLE_AGE_MS {
        return Err(format!(
            "ts: {} is older than 7 days and would never be queried",
            s.ts
        ));
    }
    pct("cpu_pct", s.cpu_pct)?;
    pct("mem_used_pct", s.mem_used_pct)?;
    pct("disk_used_pct", s.disk_used_pct)?;
    if let Some(v) = s.cpu_iowait_pct {
        pct("cpu_iowait_pct", v)?;
    }
    if let Some(v) = s.cpu_steal_pct {
        pct("cpu_steal_pct", v)?;
    }
    for (name, v) in [
        ("load1", s.load1),
        ("load5", s.load5),
        ("load15", s.load15),
        ("disk_read_bps", s.disk_read_bps),
        ("disk_write_bps", s.disk_write_bps),
        ("net_rx_bps", s.net_rx_bps),
        ("net_tx_bps", s.net_tx_bps),
    ] {
        non_negative(name, v)?;
    }
    if s.mem_total_bytes > 0 && s.mem_used_bytes > s.mem_total_bytes {
        return Err("mem_used_bytes: larger than mem_total_bytes".into());
    }
    list("cpus", &s.cpus)?;
    for (i, v) in s.cpus.iter().enumerate() {
        pct(format_args!("cpus[{i}]"), *v)?;
    }
    list("disks", &s.disks)?;
    for (i, d) in s.disks.iter().enumerate() {
        label(format_args!("disks[{i}].mount"), &d.mount)?;
        label(format_args!("disks[{i}].fs"), &d.fs)?;
        non_negative(format_args!("disks[{i}].read_bps"), d.read_bps)?;
        non_negative(format_args!("disks[{i}].write_bps"), d.write_bps)?;
    }
    list("ifaces", &s.ifaces)?;
    for (i, n) in s.ifaces.iter().enumerate() {
        label(format_args!("ifaces[{i}].name"), &n.name)?;
        non_negative(format_args!("ifaces[{i}].rx_bps"), n.rx_bps)?;
        non_negative(format_args!("ifaces[{i}].tx_bps"), n.tx_bps)?;
    }
    list("temps", &s.temps)?;
    for (i, t) in s.temps.iter().enumerate() {
        label(format_args!("temps[{i}].label"), &t.label)?;
        if !t.celsius.is_finite() || !(-273.15..=1000.0).contains(&t.celsius) {
            return Err(format!(
                "temps[{i}].celsius: {} is not a plausible temperature",
                t.celsius
            ));
        }
    }
    list("top", &s.top)?;
    for (i, p) in s.top.iter().enumerate() {
        label(format_args!("top[{i}].name"), &p.name)?;
        non_negative(format_args!("top[{i}].cpu_pct"), p.cpu_pct)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn ok() -> Sample {
        Sample {
            seq: 1,
            ts: NOW,
            cpu_pct: 10.0,
            ..Sample::default()
        }
    }

    /// A plain sample passes.
    #[test]
    fn accepts_good() {
        assert!(sample(&ok(), NOW).is_ok());
    }

    /// Each bad value is refused with a message naming its field.
    #[test]
    fn names_the_field() {
        let cases: Vec<(Sample, &str)> = vec![
            (
                Sample {
                    cpu_pct: -1.0,
                    ..ok()
                },
                "cpu_pct",
            ),
            (
                Sample {
                    mem_used_pct: 250.0,
                    ..ok()
                },
                "mem_used_pct",
            ),
            (
                Sample {
                    cpu_pct: f64::NAN,
                    ..ok()
                },
                "cpu_pct",
            ),
            (
                Sample {
                    load1: f64::INFINITY,
                    ..ok()
                },
                "load1",
            ),
            (
                Sample {
                    net_rx_bps: -5.0,
                    ..ok()
                },
                "net_rx_bps",
            ),
            (
                Sample {
                    ts: NOW + 6 * 60_000,
                    ..ok()
                },
                "ts",
            ),
            (
                Sample {
                    ts: NOW - 8 * 86_400_000,
                    ..ok()
                },
                "ts",
            ),
            (
                Sample {
                    cpus: vec![10.0, 101.0],
                    ..ok()
                },
                "cpus[1]",
            ),
            (
                Sample {
                    mem_used_bytes: 2,
                    mem_total_bytes: 1,
                    ..ok()
                },
                "mem_used_bytes",
            ),
        ];
        for (s, field) in cases {
            let err = sample(&s, NOW).unwrap_err();
            assert!(err.starts_with(field), "expected {field}, got {err}");
        }
    }
}
