//! `/api/me`: the logged-in user's own account as a whole: a complete export of their
//! data (`GET /api/me/export`, NDJSON) and erasure (`DELETE /api/me`).

use actix_web::HttpResponse;
use lunasentri_schema::api::{ErrorBody, Role};
use lunasentri_schema::sample::SCALAR_NAMES;
use serde_json::{Map, Value, json};

use super::auth::session_cookie;
use super::export::{self, Sink, StreamError};
use crate::auth::AuthUser;
use crate::cluster::ControlEvent;
use crate::db::audit::NewAuditOwned;
use crate::db::rollups::{self, Tier};
use crate::db::{
    DbConn, Pool, alert_events, alert_rules, audit, channels, enrollment, machines, now_ms,
    sessions, users,
};
use crate::error::{ApiError, ApiResult};
use crate::state::State;

/// Rollup buckets read per page.
const ROLLUP_PAGE: i64 = 1000;

fn line(out: &mut Sink, v: &Value) -> Result<(), StreamError> {
    let mut bytes = serde_json::to_vec(v).unwrap_or_default();
    bytes.push(b'\n');
    Ok(out.write(&bytes)?)
}

/// A user's channels (no secrets), alert rules and alert events as export lines.
fn alerting_of(c: &mut DbConn, user_id: i64) -> diesel::QueryResult<Vec<Value>> {
    let mut out = Vec::new();
    for ch in channels::list(c, Some(user_id))? {
        out.push(json!({"kind": "channel", "channel": ch.to_api()}));
    }
    for r in alert_rules::list(c, Some(user_id))? {
        out.push(json!({"kind": "alert_rule", "rule": r.to_api()}));
    }
    let events = alert_events::of_user(c, user_id)?;
    for e in alert_events::with_deliveries(c, events)? {
        out.push(json!({"kind": "alert_event", "event": e}));
    }
    Ok(out)
}

/// Writes every record of `user_id` as NDJSON lines.
fn export_all(pool: &Pool, user_id: i64, out: &mut Sink) -> Result<(), StreamError> {
    let (account, own, tokens, logins, audit_rows, alerting) = {
        let mut c = pool.get()?;
        let Some(account) = users::by_id(&mut c, user_id)? else {
            return Ok(());
        };
        let own = machines::list(&mut c, Some(user_id))?;
        let ids: Vec<i64> = own.iter().map(|m| m.id).collect();
        (
            account,
            own,
            enrollment::list(&mut c, user_id)?,
            sessions::for_user(&mut c, user_id)?,
            audit::about_user(&mut c, user_id, &ids)?,
            alerting_of(&mut c, user_id)?,
        )
    };
    line(out, &json!({"kind": "account", "user": account.to_api()}))?;
    for (id, created_at, expires_at) in logins {
        line(
            out,
            &json!({"kind": "session", "id": id, "created_at": created_at, "expires_at": expires_at}),
        )?;
    }
    for t in &tokens {
        line(
            out,
            &json!({"kind": "enrollment_token", "token": t.to_api()}),
        )?;
    }
    for a in audit_rows {
        line(out, &json!({"kind": "audit", "entry": a.to_api()}))?;
    }
    for m in &own {
        line(out, &json!({"kind": "machine", "machine": m.to_api()}))?;
    }
    for v in alerting {
        line(out, &v)?;
    }
    for m in &own {
        export::for_each_row(pool, m.id, i64::MIN, i64::MAX, |r| {
            line(
                out,
                &json!({"kind": "sample", "machine_id": m.id, "sample": r.to_sample()}),
            )
        })?;
        for tier in [Tier::Minute, Tier::Hour] {
            let mut from = -(1i64 << 62);
            loop {
                let page = rollups::page(&mut *pool.get()?, tier, m.id, from, ROLLUP_PAGE)?;
                for (bucket_ts, a) in &page {
                    let (mut avg, mut min, mut max) = (Map::new(), Map::new(), Map::new());
                    for (k, name) in SCALAR_NAMES.iter().enumerate() {
                        avg.insert((*name).into(), json!(a.sum[k] / a.n.max(1) as f64));
                        min.insert((*name).into(), json!(a.min[k]));
                        max.insert((*name).into(), json!(a.max[k]));
                    }
                    line(
                        out,
                        &json!({"kind": "rollup", "tier": tier.name(), "machine_id": m.id,
                                "bucket_ts": bucket_ts, "n": a.n, "avg": avg, "min": min, "max": max}),
                    )?;
                }
                match page.last() {
                    Some((ts, _)) if page.len() as i64 == ROLLUP_PAGE => from = ts + 1,
                    _ => break,
                }
            }
        }
    }
    Ok(())
}

/// Everything stored about me, streamed as NDJSON: one JSON object per line, each with
/// a `kind`: `account`, `session`, `enrollment_token` (no secrets), `audit`, `machine`,
/// `channel` (no secrets), `alert_rule`, `alert_event`, `sample` (raw history) and
/// `rollup` (1-minute and 1-hour history).
#[utoipa::path(get, path = "/api/me/export", tag = "me",
    responses((status = 200, description = "NDJSON, one object per line with a `kind` field", content_type = "application/x-ndjson"),
              (status = 401, body = ErrorBody)))]
pub async fn export(state: State, user: AuthUser) -> ApiResult<HttpResponse> {
    let pool = state.pool.clone();
    let id = user.id;
    Ok(export::stream(
        "application/x-ndjson",
        Some(format!("lunasentri-user-{id}.ndjson")),
        move |out| export_all(&pool, id, out),
    ))
}

/// Delete my account and everything of mine: machines with all their history, sessions,
/// enrollment tokens, and audit rows about me. The last admin cannot (409).
#[utoipa::path(delete, path = "/api/me", tag = "me",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete(state: State, user: AuthUser) -> ApiResult<HttpResponse> {
    let id = user.id;
    let admin = user.role == Role::Admin;
    state
        .db(move |c| {
            c.write_transaction::<_, ApiError, _>(|c| {
                if admin && users::count_admins(c)? <= 1 {
                    return Err(ApiError::Conflict(
                        "the last admin cannot delete their own account: make another user admin first".into(),
                    ));
                }
                users::erase(c, id)?;
                NewAuditOwned::new(None, "delete_account", "user", None, String::new())
                    .insert(c, now_ms())?;
                Ok(())
            })
        })
        .await?;
    state
        .live
        .control(ControlEvent::UserRemoved { user_id: id });
    state.alerts_changed().await;
    tracing::info!(user_id = id, "account deleted by its owner");
    Ok(HttpResponse::NoContent()
        .cookie(session_cookie(&state, String::new(), 0))
        .finish())
}
