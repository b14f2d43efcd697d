//! `/api/alert-rules`: create, list, change and delete alert rules. A rule belongs to
//! its creator; admins see and change everyone's. Another user's rule is a 404.

use actix_web::{HttpResponse, web};
use lunasentri_schema::alert::{
    AlertEvent, AlertRule, AlertRuleInput, Comparator, DERIVED_METRICS, DISK_MOUNT_PREFIX,
    OFFLINE_METRIC,
};
use lunasentri_schema::api::{ErrorBody, Role};
use lunasentri_schema::sample::SCALAR_NAMES;

use serde::Deserialize;

use super::extract::{Json, Query};
use super::validation;
use crate::alerts::dispatch::publish;
use crate::alerts::rule::{Metric, parse_hhmm};
use crate::auth::AuthUser;
use crate::db::{DbConn, alert_events, alert_rules, channels, machines, now_ms, users};
use crate::error::{ApiError, ApiResult};
use crate::state::State;

/// Longest for-duration: one day.
const MAX_FOR_S: u32 = 86_400;
/// Repeat interval bounds: a minute to a week.
const REPEAT_S: std::ops::RangeInclusive<u32> = 60..=604_800;
/// Most machines or channels one rule may list.
const MAX_IDS: usize = 1000;
/// Bound of thresholds on metrics that are not percentages.
const MAX_ABS_THRESHOLD: f64 = 1e15;

/// The rule if `user` may see it (owner or admin).
fn rule_for(conn: &mut DbConn, user: &AuthUser, id: i64) -> ApiResult<alert_rules::RuleRow> {
    match alert_rules::by_id(conn, id)? {
        Some(r) if r.user_id == user.id || user.is_admin() => Ok(r),
        _ => Err(ApiError::NotFound("alert rule")),
    }
}

fn check_threshold(field: &str, metric: &Metric, v: f64) -> ApiResult<f64> {
    if !v.is_finite() {
        return Err(ApiError::field(field, "must be a finite number"));
    }
    let ok = if metric.is_percent() {
        (0.0..=100.0).contains(&v)
    } else if *metric == Metric::TempMaxC {
        (-100.0..=300.0).contains(&v)
    } else {
        (0.0..=MAX_ABS_THRESHOLD).contains(&v)
    };
    if ok {
        Ok(v)
    } else {
        let range = if metric.is_percent() {
            "0 to 100 for a percentage"
        } else if *metric == Metric::TempMaxC {
            "-100 to 300 °C"
        } else {
            "0 to 1e15"
        };
        Err(ApiError::field(field, format!("out of range ({range})")))
    }
}

/// Validates a rule body for `owner_id`; machines and channels must be the owner's
/// (any machine if the owner is an admin).
fn validate(conn: &mut DbConn, owner_id: i64, input: &AlertRuleInput) -> ApiResult<AlertRuleInput> {
    let name = validation::name("name", &input.name)?;
    let metric = Metric::parse(&input.metric).ok_or_else(|| {
        ApiError::field(
            "metric",
            format!(
                "unknown metric {:?}; use one of {}, {}, {DISK_MOUNT_PREFIX}<mount> or {OFFLINE_METRIC}",
                input.metric,
                SCALAR_NAMES.join(", "),
                DERIVED_METRICS.join(", ")
            ),
        )
    })?;
    let (comparator, threshold, clear) = if metric == Metric::Offline {
        (Comparator::Gt, 0.0, 0.0)
    } else {
        let comparator = input
            .comparator
            .ok_or_else(|| ApiError::field("comparator", "is required (gt, ge, lt or le)"))?;
        let threshold = input
            .threshold
            .ok_or_else(|| ApiError::field("threshold", "is required"))?;
        let threshold = check_threshold("threshold", &metric, threshold)?;
        let clear = check_threshold(
            "clear_threshold",
            &metric,
            input.clear_threshold.unwrap_or(threshold),
        )?;
        if comparator.is_upper() && clear > threshold {
            return Err(ApiError::field(
                "clear_threshold",
                "must be at or below threshold for gt/ge rules",
            ));
        }
        if !comparator.is_upper() && clear < threshold {
            return Err(ApiError::field(
                "clear_threshold",
                "must be at or above threshold for lt/le rules",
            ));
        }
        (comparator, threshold, clear)
    };
    if input.for_s > MAX_FOR_S {
        return Err(ApiError::field(
            "for_s",
            format!("must be between 0 and {MAX_FOR_S} seconds"),
        ));
    }
    if let Some(r) = input.repeat_s
        && !REPEAT_S.contains(&r)
    {
        return Err(ApiError::field(
            "repeat_s",
            format!(
                "must be between {} and {} seconds, or omitted",
                REPEAT_S.start(),
                REPEAT_S.end()
            ),
        ));
    }
    if let Some(q) = &input.quiet_hours {
        let (Some(s), Some(e)) = (parse_hhmm(&q.start), parse_hhmm(&q.end)) else {
            return Err(ApiError::field(
                "quiet_hours",
                "start and end must be HH:MM (UTC)",
            ));
        };
        if s == e {
            return Err(ApiError::field("quiet_hours", "start and end must differ"));
        }
    }
    let owner_is_admin = users::by_id(conn, owner_id)?.is_some_and(|u| u.role() == Role::Admin);
    let machine_ids = match &input.machine_ids {
        None => None,
        Some(ids) => {
            if ids.is_empty() || ids.len() > MAX_IDS {
                return Err(ApiError::field(
                    "machine_ids",
                    format!("must list 1 to {MAX_IDS} machines, or be null for all"),
                ));
            }
            let mut ids = ids.clone();
            ids.sort_unstable();
            ids.dedup();
            for &id in &ids {
                let visible = machines::by_id(conn, id)?
                    .is_some_and(|m| m.owner_id == owner_id || owner_is_admin);
                if !visible {
                    return Err(ApiError::field(
                        "machine_ids",
                        format!("machine {id} not found"),
                    ));
                }
            }
            Some(ids)
        }
    };
    if input.channel_ids.len() > MAX_IDS {
        return Err(ApiError::field("channel_ids", "too many channels"));
    }
    let mut channel_ids = input.channel_ids.clone();
    channel_ids.sort_unstable();
    channel_ids.dedup();
    for &id in &channel_ids {
        if channels::by_id(conn, id)?.is_none_or(|c| c.user_id != owner_id) {
            return Err(ApiError::field(
                "channel_ids",
                format!("channel {id} not found"),
            ));
        }
    }
    Ok(AlertRuleInput {
        name,
        machine_ids,
        metric: input.metric.clone(),
        comparator: Some(comparator),
        threshold: Some(threshold),
        clear_threshold: Some(clear),
        channel_ids,
        ..input.clone()
    })
}

/// Resolves a rule's open alerts (the rule changed or goes away); returns them.
fn close_open(conn: &mut DbConn, rule_id: i64) -> ApiResult<Vec<AlertEvent>> {
    let ids = alert_events::open_ids_of_rule(conn, rule_id)?;
    alert_events::resolve_rule(conn, rule_id, now_ms())?;
    Ok(alert_events::by_ids(conn, &ids)?)
}

/// Applies a rule change to the running engine and tells the owner's dashboards about
/// the alerts it closed.
async fn rules_changed(state: &State, changed: Option<i64>, closed: &[AlertEvent]) {
    for e in closed {
        publish(&state.live.registry, e);
    }
    state.alerts_changed_forgetting(changed).await;
}

/// `?all=true` lets an admin list every user's rules.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RuleListParams {
    /// Admins only: include every user's rules.
    #[serde(default)]
    pub all: bool,
}

/// My alert rules (admins: `?all=true` for everyone's).
#[utoipa::path(get, operation_id = "list_alert_rules", path = "/api/alert-rules", tag = "alerts",
    params(RuleListParams),
    responses((status = 200, body = [AlertRule]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    state: State,
    user: AuthUser,
    q: Query<RuleListParams>,
) -> ApiResult<Json<Vec<AlertRule>>> {
    let scope = (!(q.all && user.is_admin())).then_some(user.id);
    let rows = state.db(move |c| Ok(alert_rules::list(c, scope)?)).await?;
    Ok(Json(rows.iter().map(|r| r.to_api()).collect()))
}

/// Create a rule.
#[utoipa::path(post, operation_id = "create_alert_rule", path = "/api/alert-rules", tag = "alerts",
    request_body = AlertRuleInput,
    responses((status = 201, body = AlertRule), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    state: State,
    user: AuthUser,
    body: Json<AlertRuleInput>,
) -> ApiResult<HttpResponse> {
    let input = body.into_inner();
    let owner = user.id;
    let row = state
        .db(move |c| {
            let v = validate(c, owner, &input)?;
            Ok(alert_rules::insert(
                c,
                owner,
                &alert_rules::RuleValues::from_input(&v, now_ms()),
            )?)
        })
        .await?;
    rules_changed(&state, None, &[]).await;
    Ok(HttpResponse::Created().json(row.to_api()))
}

/// One rule.
#[utoipa::path(get, operation_id = "get_alert_rule", path = "/api/alert-rules/{id}", tag = "alerts",
    params(("id" = i64, Path, description = "Rule id")),
    responses((status = 200, body = AlertRule), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(state: State, user: AuthUser, id: web::Path<i64>) -> ApiResult<Json<AlertRule>> {
    let id = id.into_inner();
    let row = state.db(move |c| rule_for(c, &user, id)).await?;
    Ok(Json(row.to_api()))
}

/// Replace a rule. Its evaluation starts over: open alerts of the rule are resolved.
#[utoipa::path(put, operation_id = "update_alert_rule", path = "/api/alert-rules/{id}", tag = "alerts",
    request_body = AlertRuleInput, params(("id" = i64, Path, description = "Rule id")),
    responses((status = 200, body = AlertRule), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn update(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: Json<AlertRuleInput>,
) -> ApiResult<Json<AlertRule>> {
    let (id, input) = (id.into_inner(), body.into_inner());
    let (row, closed) = state
        .db(move |c| {
            let existing = rule_for(c, &user, id)?;
            let v = validate(c, existing.user_id, &input)?;
            alert_rules::update(c, id, &alert_rules::RuleValues::from_input(&v, now_ms()))?;
            let closed = close_open(c, id)?;
            let row = alert_rules::by_id(c, id)?.ok_or(ApiError::NotFound("alert rule"))?;
            Ok((row, closed))
        })
        .await?;
    rules_changed(&state, Some(id), &closed).await;
    Ok(Json(row.to_api()))
}

/// Delete a rule; its open alerts are resolved, its history kept.
#[utoipa::path(delete, operation_id = "delete_alert_rule", path = "/api/alert-rules/{id}", tag = "alerts",
    params(("id" = i64, Path, description = "Rule id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(state: State, user: AuthUser, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let closed = state
        .db(move |c| {
            rule_for(c, &user, id)?;
            let closed = close_open(c, id)?;
            alert_rules::delete(c, id)?;
            Ok(closed)
        })
        .await?;
    rules_changed(&state, Some(id), &closed).await;
    Ok(HttpResponse::NoContent().finish())
}
