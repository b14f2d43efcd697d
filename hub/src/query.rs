//! History queries: parameter checking and time bucketing (avg/min/max per scalar).

use std::collections::BTreeMap;

use lunasentri_schema::api::{Band, MetricSeries};
use lunasentri_schema::sample::SCALAR_NAMES;
use serde::Deserialize;

use crate::db::metrics::MetricRow;
use crate::error::ApiError;

const DEFAULT_POINTS: i64 = 300;
const MAX_POINTS: i64 = 5000;
const DEFAULT_SPAN_MS: i64 = 3_600_000;
const MAX_SPAN_MS: i64 = 400 * 86_400_000;

/// `?from&to&points&metrics` of a history query.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RangeParams {
    /// Start, epoch milliseconds (default: one hour before `to`).
    pub from: Option<i64>,
    /// End, epoch milliseconds, exclusive (default: now).
    pub to: Option<i64>,
    /// Most buckets to return (default 300, at most 5000).
    pub points: Option<i64>,
    /// Comma-separated scalar names (default: all).
    pub metrics: Option<String>,
}

/// A checked range.
#[derive(Debug, Clone)]
pub struct Range {
    pub from: i64,
    pub to: i64,
    pub step_ms: i64,
    pub metrics: Vec<&'static str>,
}

impl RangeParams {
    /// Checks the parameters, naming the bad one.
    pub fn resolve(self, now: i64) -> Result<Range, ApiError> {
        let to = self.to.unwrap_or(now + 1);
        let from = self.from.unwrap_or(to - DEFAULT_SPAN_MS);
        if from >= to {
            return Err(ApiError::field("from", "must be before to"));
        }
        if to - from > MAX_SPAN_MS {
            return Err(ApiError::field("from", "range longer than 400 days"));
        }
        let points = self.points.unwrap_or(DEFAULT_POINTS);
        if !(1..=MAX_POINTS).contains(&points) {
            return Err(ApiError::field(
                "points",
                format!("must be between 1 and {MAX_POINTS}"),
            ));
        }
        let metrics = match self.metrics.as_deref() {
            None | Some("") => SCALAR_NAMES.to_vec(),
            Some(list) => list
                .split(',')
                .map(|m| {
                    SCALAR_NAMES
                        .iter()
                        .find(|n| **n == m.trim())
                        .copied()
                        .ok_or_else(|| ApiError::field("metrics", format!("unknown metric {m:?}")))
                })
                .collect::<Result<_, _>>()?,
        };
        // At least one second per bucket: raw samples are at most 1 Hz.
        let step_ms = ((to - from + points - 1) / points).max(1000);
        Ok(Range {
            from,
            to,
            step_ms,
            metrics,
        })
    }
}

#[derive(Clone, Copy)]
struct Acc {
    sum: f64,
    min: f64,
    max: f64,
    n: u32,
}

/// Buckets raw rows (ordered by ts) into at most `points` buckets.
pub fn bucket(machine_id: i64, r: &Range, rows: &[MetricRow]) -> MetricSeries {
    let n = ((r.to - r.from + r.step_ms - 1) / r.step_ms) as usize;
    let idx: Vec<usize> = r
        .metrics
        .iter()
        .map(|m| SCALAR_NAMES.iter().position(|n| n == m).unwrap_or(0))
        .collect();
    let empty = Acc {
        sum: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        n: 0,
    };
    let mut acc = vec![vec![empty; n]; idx.len()];
    for row in rows {
        let b = ((row.ts - r.from) / r.step_ms) as usize;
        if b >= n {
            continue;
        }
        let values = row.to_sample_scalars();
        for (k, &i) in idx.iter().enumerate() {
            let v = values[i];
            let a = &mut acc[k][b];
            a.sum += v;
            a.min = a.min.min(v);
            a.max = a.max.max(v);
            a.n += 1;
        }
    }
    let ts = (0..n).map(|b| r.from + b as i64 * r.step_ms).collect();
    let series: BTreeMap<String, Band> = r
        .metrics
        .iter()
        .zip(acc)
        .map(|(name, buckets)| {
            let mut band = Band::default();
            for a in buckets {
                let has = a.n > 0;
                band.avg.push(has.then(|| a.sum / f64::from(a.n)));
                band.min.push(has.then_some(a.min));
                band.max.push(has.then_some(a.max));
            }
            ((*name).to_owned(), band)
        })
        .collect();
    MetricSeries {
        machine_id,
        from: r.from,
        to: r.to,
        step_ms: r.step_ms,
        tier: "raw".into(),
        ts,
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lunasentri_schema::Sample;

    fn row(ts: i64, cpu: f64) -> MetricRow {
        MetricRow::from_sample(
            1,
            &Sample {
                seq: ts as u64,
                ts,
                cpu_pct: cpu,
                ..Sample::default()
            },
        )
    }

    /// Buckets hold avg/min/max of their rows; empty buckets are gaps.
    #[test]
    fn buckets_avg_min_max() {
        let r = RangeParams {
            from: Some(0),
            to: Some(4000),
            points: Some(2),
            metrics: Some("cpu_pct".into()),
        }
        .resolve(0)
        .unwrap();
        assert_eq!(r.step_ms, 2000);
        let s = bucket(1, &r, &[row(0, 10.0), row(1000, 30.0)]);
        let cpu = &s.series["cpu_pct"];
        assert_eq!(s.ts, vec![0, 2000]);
        assert_eq!(cpu.avg, vec![Some(20.0), None]);
        assert_eq!(cpu.min[0], Some(10.0));
        assert_eq!(cpu.max[0], Some(30.0));
    }

    /// Bad parameters are refused naming the parameter; never more than `points` buckets.
    #[test]
    fn params() {
        let bad = |p: RangeParams| p.resolve(10_000).unwrap_err().to_string();
        assert!(
            bad(RangeParams {
                from: Some(5),
                to: Some(5),
                ..Default::default()
            })
            .contains("from")
        );
        assert!(
            bad(RangeParams {
                points: Some(0),
                ..Default::default()
            })
            .contains("points")
        );
        assert!(
            bad(RangeParams {
                metrics: Some("gpu".into()),
                ..Default::default()
            })
            .contains("gpu")
        );
        let r = RangeParams {
            from: Some(0),
            to: Some(86_400_000),
            points: Some(7),
            metrics: None,
        }
        .resolve(0)
        .unwrap();
        assert!((r.to - r.from) / r.step_ms <= 7);
    }
}
