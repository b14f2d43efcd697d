//! `/api/admin/*`: the audit log and history retention.

use lunasentri_schema::api::{AuditEntry, ErrorBody, RetentionSettings};
use serde::Deserialize;

use super::access;
use super::extract::{Json, Query};
use crate::auth::AuthUser;
use crate::db::audit;
use crate::error::{ApiError, ApiResult};
use crate::retention::{self, Retention};
use crate::state::State;

/// Paging of the audit log, newest first.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Rows to return (default 100, at most 1000).
    pub limit: Option<i64>,
    /// Only rows older than this id (for the next page).
    pub before: Option<i64>,
}

/// The audit log (admins only).
#[utoipa::path(get, path = "/api/admin/audit-log", tag = "admin", params(AuditParams),
    responses((status = 200, body = [AuditEntry]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn audit_log(
    state: State,
    user: AuthUser,
    q: Query<AuditParams>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    user.require_admin()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 1000"));
    }
    let before = q.before;
    let rows = state
        .db(move |c| Ok(audit::list(c, limit, before)?))
        .await?;
    Ok(Json(rows.into_iter().map(|r| r.to_api()).collect()))
}

/// How long each history tier is kept: the value set here, else the configuration's.
#[utoipa::path(get, path = "/api/admin/retention", tag = "admin",
    responses((status = 200, body = RetentionSettings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get_retention(state: State, user: AuthUser) -> ApiResult<Json<RetentionSettings>> {
    user.require_admin()?;
    let defaults = state.config.retention;
    let r = state
        .db(move |c| Ok(retention::current(c, defaults)?))
        .await?;
    Ok(Json(r.to_api()))
}

/// Change how long each history tier is kept (stored; survives restarts). The next
/// retention pass applies it.
#[utoipa::path(put, path = "/api/admin/retention", tag = "admin", request_body = RetentionSettings,
    responses((status = 200, body = RetentionSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn put_retention(
    state: State,
    user: AuthUser,
    body: Json<RetentionSettings>,
) -> ApiResult<Json<RetentionSettings>> {
    user.require_admin()?;
    let r = Retention::from_api(&body);
    r.validate()
        .map_err(|(field, m)| ApiError::field(&format!("{field}_s"), m))?;
    state
        .db(move |c| {
            retention::store(c, r)?;
            access::audit(
                c,
                &user,
                "set_retention",
                "settings",
                None,
                serde_json::to_string(&r.to_api()).unwrap_or_default(),
            )
        })
        .await?;
    Ok(Json(r.to_api()))
}
