//! Operations endpoints: liveness, readiness, Prometheus metrics.

use actix_web::{HttpRequest, HttpResponse};
use diesel::RunQueryDsl;
use lunasentri_schema::api::ErrorBody;

use super::extract::bearer;
use crate::auth::secrets::sha256_hex;
use crate::error::{ApiError, ApiResult};
use crate::state::State;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "ok")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

/// The hub can reach its database.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "ready"), (status = 503, body = ErrorBody)))]
pub async fn readyz(state: State) -> ApiResult<HttpResponse> {
    state
        .db(|c| {
            diesel::sql_query("SELECT 1")
                .execute(c)
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain")
        .body("ready\n"))
}

/// Prometheus text exposition of the hub's own metrics. With `metrics_token` set, only
/// for requests that carry it as `Authorization: Bearer TOKEN`.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format"),
              (status = 401, body = ErrorBody, description = "`metrics_token` is set and the request does not carry it")))]
pub async fn metrics(state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    if let Some(want) = &state.config.metrics_token_sha256
        && bearer(&req).is_none_or(|t| sha256_hex(&t) != *want)
    {
        return Err(ApiError::Unauthorized);
    }
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.encode()))
}
