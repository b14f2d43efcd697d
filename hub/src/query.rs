//! History queries: parameter checking, choice of tier, and time bucketing (avg/min/max
//! per scalar) done by the database over raw rows or rollups.

use std::collections::BTreeMap;

use lunasentri_schema::api::{Band, MetricSeries};
use lunasentri_schema::sample::SCALAR_NAMES;
use serde::Deserialize;

use crate::db::DbConn;
use crate::db::rollups::{self, Tier};
use crate::error::ApiError;
use crate::retention::Retention;

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
    pub points: i64,
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
        Ok(Range {
            from,
            to,
            points,
            metrics: parse_metrics(self.metrics.as_deref())?,
        })
    }
}

/// `metrics=a,b`: names from `SCALAR_NAMES`; empty or absent means all.
fn parse_metrics(list: Option<&str>) -> Result<Vec<&'static str>, ApiError> {
    match list {
        None | Some("") => Ok(SCALAR_NAMES.to_vec()),
        Some(list) => list
            .split(',')
            .map(|m| {
                SCALAR_NAMES
                    .iter()
                    .find(|n| **n == m.trim())
                    .copied()
                    .ok_or_else(|| ApiError::field("metrics", format!("unknown metric {m:?}")))
            })
            .collect(),
    }
}

/// How a range is answered: from which tier, in buckets of `step_ms` from `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub tier: Tier,
    pub from: i64,
    pub to: i64,
    pub step_ms: i64,
    /// Number of buckets, never more than the requested points.
    pub buckets: i64,
}

fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

/// Picks the coarsest tier that still gives the requested resolution: raw below a
/// one-minute step, `1m` below one hour, `1h` above. When the chosen tier no longer
/// holds data as old as `from` (its retention has passed), the next coarser tier
/// answers instead, so old ranges are never empty just because raw rows expired.
/// Rollup steps are whole multiples of the tier's bucket, starting on a bucket edge.
pub fn plan(r: &Range, retention: &Retention, now: i64) -> Plan {
    // At least one second per bucket: raw samples are at most 1 Hz.
    let wanted = ceil_div(r.to - r.from, r.points).max(1000);
    let mut tier = if wanted < 60_000 {
        Tier::Raw
    } else if wanted < 3_600_000 {
        Tier::Minute
    } else {
        Tier::Hour
    };
    while tier != Tier::Hour && r.from < now.saturating_sub(retention.keep_ms(tier)) {
        tier = if tier == Tier::Raw {
            Tier::Minute
        } else {
            Tier::Hour
        };
    }
    let size = tier.bucket_ms();
    let from = tier.bucket_start(r.from);
    let step_ms = if tier == Tier::Raw {
        wanted
    } else {
        ceil_div(ceil_div(r.to - from, r.points), size).max(1) * size
    };
    Plan {
        tier,
        from,
        to: r.to,
        step_ms,
        buckets: ceil_div(r.to - from, step_ms),
    }
}

/// Runs a plan for several machines in one query; one series per machine, in the
/// order of `machine_ids`.
pub fn series(
    conn: &mut DbConn,
    machine_ids: &[i64],
    r: &Range,
    p: &Plan,
) -> diesel::QueryResult<Vec<MetricSeries>> {
    let rows = rollups::aggregate(
        conn,
        p.tier,
        machine_ids,
        p.from,
        p.to,
        p.step_ms,
        &r.metrics,
    )?;
    let n = p.buckets as usize;
    let ts: Vec<i64> = (0..p.buckets).map(|b| p.from + b * p.step_ms).collect();
    let mut out: Vec<MetricSeries> = machine_ids
        .iter()
        .map(|&machine_id| MetricSeries {
            machine_id,
            from: p.from,
            to: p.to,
            step_ms: p.step_ms,
            tier: p.tier.name().into(),
            ts: ts.clone(),
            series: r
                .metrics
                .iter()
                .map(|m| {
                    let band = Band {
                        avg: vec![None; n],
                        min: vec![None; n],
                        max: vec![None; n],
                    };
                    ((*m).to_owned(), band)
                })
                .collect::<BTreeMap<_, _>>(),
        })
        .collect();
    for b in rows {
        let Some(s) = out.iter_mut().find(|s| s.machine_id == b.machine_id) else {
            continue;
        };
        let Ok(i) = usize::try_from(b.idx) else {
            continue;
        };
        if i >= n || b.n <= 0 {
            continue;
        }
        for (m, (sum, lo, hi)) in r.metrics.iter().zip(b.values) {
            if let Some(band) = s.series.get_mut(*m) {
                band.avg[i] = Some(sum / b.n as f64);
                band.min[i] = Some(lo);
                band.max[i] = Some(hi);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: i64, to: i64, points: i64) -> Range {
        RangeParams {
            from: Some(from),
            to: Some(to),
            points: Some(points),
            metrics: None,
        }
        .resolve(to)
        .unwrap()
    }

    /// The coarsest tier that still gives the resolution answers, never with more
    /// buckets than points, and rollup steps are whole buckets from a bucket edge.
    #[test]
    fn picks_the_tier() {
        let keep = Retention::default();
        let now = 400 * 86_400_000;
        let hour = 3_600_000;
        let p = plan(&range(now - hour, now, 300), &keep, now);
        assert_eq!((p.tier, p.step_ms), (Tier::Raw, 12_000));
        let p = plan(&range(now - 86_400_000, now, 300), &keep, now);
        assert_eq!((p.tier, p.step_ms), (Tier::Minute, 300_000));
        let p = plan(&range(now - 30 * 86_400_000, now, 300), &keep, now);
        assert_eq!(p.tier, Tier::Hour);
        assert_eq!(p.step_ms % hour, 0);
        for (span, points) in [(hour, 7), (86_400_000 + 12_345, 301), (90 * 86_400_000, 1)] {
            let p = plan(&range(now - span - 777, now - 777, points), &keep, now);
            assert!(p.buckets <= points, "{p:?}");
            assert_eq!(p.from % p.tier.bucket_ms(), 0);
            assert!(p.from + p.buckets * p.step_ms >= p.to);
        }
    }

    /// A range older than raw retention is answered from the minute tier, and one
    /// older than the minute tier's from the hour tier.
    #[test]
    fn expired_tiers_fall_back() {
        let keep = Retention::default();
        let now = 400 * 86_400_000;
        let p = plan(
            &range(now - 3 * 86_400_000, now - 3 * 86_400_000 + 60_000, 60),
            &keep,
            now,
        );
        assert_eq!(p.tier, Tier::Minute);
        let p = plan(
            &range(now - 40 * 86_400_000, now - 39 * 86_400_000, 300),
            &keep,
            now,
        );
        assert_eq!(p.tier, Tier::Hour);
    }

    /// Bad parameters are refused naming the parameter.
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
    }
}
