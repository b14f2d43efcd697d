//! `GET /api/metrics`: history of several machines in one request (the overview).

use lunasentri_schema::api::{ErrorBody, MetricSeries};
use serde::Deserialize;

use super::access;
use super::extract::{Json, Query};
use crate::auth::AuthUser;
use crate::db::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::query::{self, RangeParams};
use crate::retention;
use crate::state::State;

/// Most machines one request may name.
const MAX_MACHINES: usize = 500;

/// `?machine_ids&from&to&points&metrics` of a multi-machine history query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OverviewParams {
    /// Comma-separated machine ids (at most 500).
    pub machine_ids: String,
    /// Start, epoch milliseconds (default: one hour before `to`).
    pub from: Option<i64>,
    /// End, epoch milliseconds, exclusive (default: now).
    pub to: Option<i64>,
    /// Most buckets per machine (default 300, at most 5000).
    pub points: Option<i64>,
    /// Comma-separated scalar names (default: all).
    pub metrics: Option<String>,
}

fn parse_ids(list: &str) -> Result<Vec<i64>, ApiError> {
    let mut ids = Vec::new();
    for part in list.split(',') {
        let id: i64 = part
            .trim()
            .parse()
            .map_err(|_| ApiError::field("machine_ids", format!("{part:?} is not a machine id")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_MACHINES {
        return Err(ApiError::field(
            "machine_ids",
            format!("at most {MAX_MACHINES} machines per request"),
        ));
    }
    Ok(ids)
}

/// History of several machines at once, one series each in the order asked, all from
/// the same tier and buckets. Every id must be a machine the caller may see: one that
/// is not (or does not exist) makes the whole request 404, exactly as
/// `/api/machines/{id}/metrics` would answer for it.
#[utoipa::path(get, path = "/api/metrics", tag = "metrics", params(OverviewParams),
    responses((status = 200, body = [MetricSeries]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn overview(
    state: State,
    user: AuthUser,
    q: Query<OverviewParams>,
) -> ApiResult<Json<Vec<MetricSeries>>> {
    let q = q.into_inner();
    let ids = parse_ids(&q.machine_ids)?;
    let now = now_ms();
    let range = RangeParams {
        from: q.from,
        to: q.to,
        points: q.points,
        metrics: q.metrics,
    }
    .resolve(now)?;
    let defaults = state.config.retention;
    let out = state
        .db(move |c| {
            for &id in &ids {
                access::machine(c, &user, id, "admin_read_metrics")?;
            }
            let keep = retention::current(c, defaults)?;
            let plan = query::plan(&range, &keep, now);
            Ok(query::series(c, &ids, &range, &plan)?)
        })
        .await?;
    Ok(Json(out))
}
