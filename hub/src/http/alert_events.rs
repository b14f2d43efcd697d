//! `/api/alert-events`: the history of alerts, filtered, and acknowledgement.

use actix_web::web;
use lunasentri_schema::alert::{AlertEvent, AlertState};
use lunasentri_schema::api::ErrorBody;
use serde::Deserialize;

use super::access;
use super::extract::{Json, Query};
use crate::alerts::dispatch::publish;
use crate::auth::AuthUser;
use crate::cluster::ControlEvent;
use crate::db::alert_events::{self, EventFilter, EventRow};
use crate::db::{DbConn, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::State;

/// Default and largest page.
const DEFAULT_LIMIT: i64 = 200;
const MAX_LIMIT: i64 = 1000;

/// Filters; every one optional.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Only this machine's alerts.
    pub machine_id: Option<i64>,
    /// `firing` or `resolved`.
    pub state: Option<String>,
    /// Alerts open at or after this time (epoch ms).
    pub from: Option<i64>,
    /// Alerts that started at or before this time (epoch ms).
    pub to: Option<i64>,
    /// At most this many, newest first (default 200, at most 1000).
    pub limit: Option<i64>,
    /// Admins only: include every user's alerts.
    #[serde(default)]
    pub all: bool,
}

/// The event if `user` may see it (its owner, or an admin).
fn event_for(conn: &mut DbConn, user: &AuthUser, id: i64) -> ApiResult<EventRow> {
    match alert_events::by_id(conn, id)? {
        Some(e) if e.user_id == user.id || user.is_admin() => Ok(e),
        _ => Err(ApiError::NotFound("alert event")),
    }
}

/// Alerts, newest first.
#[utoipa::path(get, operation_id = "list_alert_events", path = "/api/alert-events", tag = "alerts",
    params(EventParams),
    responses((status = 200, body = [AlertEvent]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn list(
    state: State,
    user: AuthUser,
    q: Query<EventParams>,
) -> ApiResult<Json<Vec<AlertEvent>>> {
    let q = q.into_inner();
    let state_filter =
        match q.state.as_deref() {
            None => None,
            Some(s) => Some(AlertState::parse(s).ok_or_else(|| {
                ApiError::field("state", format!("{s:?} is not firing or resolved"))
            })?),
        };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    if let (Some(f), Some(t)) = (q.from, q.to)
        && f > t
    {
        return Err(ApiError::field("from", "must not be after to"));
    }
    let events = state
        .db(move |c| {
            if let Some(m) = q.machine_id {
                access::machine(c, &user, m, "admin_read_alerts")?;
            }
            let everyone = (q.all || q.machine_id.is_some()) && user.is_admin();
            let filter = EventFilter {
                user_id: (!everyone).then_some(user.id),
                machine_id: q.machine_id,
                state: state_filter,
                from: q.from,
                to: q.to,
                limit,
            };
            let rows = alert_events::list(c, &filter)?;
            Ok(alert_events::with_deliveries(c, rows)?)
        })
        .await?;
    Ok(Json(events))
}

/// One alert with its deliveries.
#[utoipa::path(get, operation_id = "get_alert_event", path = "/api/alert-events/{id}", tag = "alerts",
    params(("id" = i64, Path, description = "Event id")),
    responses((status = 200, body = AlertEvent), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(state: State, user: AuthUser, id: web::Path<i64>) -> ApiResult<Json<AlertEvent>> {
    let id = id.into_inner();
    let mut events = state
        .db(move |c| {
            let row = event_for(c, &user, id)?;
            Ok(alert_events::with_deliveries(c, vec![row])?)
        })
        .await?;
    events
        .pop()
        .map(Json)
        .ok_or(ApiError::NotFound("alert event"))
}

/// Acknowledge an alert: it stays open until it clears, but is not repeated.
#[utoipa::path(post, operation_id = "acknowledge_alert_event", path = "/api/alert-events/{id}/ack", tag = "alerts",
    params(("id" = i64, Path, description = "Event id")),
    responses((status = 200, body = AlertEvent), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn acknowledge(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> ApiResult<Json<AlertEvent>> {
    let id = id.into_inner();
    let by = user.id;
    let mut events = state
        .db(move |c| {
            event_for(c, &user, id)?;
            alert_events::acknowledge(c, id, by, now_ms())?;
            let row = alert_events::by_id(c, id)?.ok_or(ApiError::NotFound("alert event"))?;
            Ok(alert_events::with_deliveries(c, vec![row])?)
        })
        .await?;
    let event = events.pop().ok_or(ApiError::NotFound("alert event"))?;
    if let (Some(rule_id), AlertState::Firing) = (event.rule_id, event.state) {
        state.live.control(ControlEvent::AlertAcknowledged {
            rule_id,
            machine_id: event.machine_id,
        });
    }
    publish(&state.live.registry, &event);
    Ok(Json(event))
}
