//! `/api/channels`: a user's notification channels. Strictly personal: nobody else,
//! admins included, sees or uses them; secrets are write-only.

use actix_web::{HttpResponse, web};
use lunasentri_schema::alert::{
    AlertEvent, AlertState, Channel, ChannelConfig, ChannelTestResult, Comparator, CreateChannel,
    Severity,
};
use lunasentri_schema::api::ErrorBody;

use super::extract::Json;
use super::validation;
use crate::alerts::notification::{MachineRef, Notification, Reason};
use crate::auth::AuthUser;
use crate::db::{DbConn, alert_rules, channels, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::State;

/// Most recipients of one email channel.
const MAX_RECIPIENTS: usize = 20;
/// Longest URL, topic, host or secret.
const MAX_FIELD: usize = 2048;

fn bounded<'a>(field: &str, v: &'a str) -> ApiResult<&'a str> {
    let v = v.trim();
    if v.is_empty() {
        return Err(ApiError::field(field, "must not be empty"));
    }
    if v.len() > MAX_FIELD || v.chars().any(char::is_control) {
        return Err(ApiError::field(
            field,
            format!("must be at most {MAX_FIELD} characters without control characters"),
        ));
    }
    Ok(v)
}

fn http_url(field: &str, v: &str) -> ApiResult<String> {
    let v = bounded(field, v)?;
    let parsed = reqwest::Url::parse(v)
        .map_err(|e| ApiError::field(field, format!("is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ApiError::field(field, "must be an http:// or https:// URL"));
    }
    Ok(v.to_string())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks a channel's settings; each error names the field.
fn validate(config: &ChannelConfig) -> ApiResult<ChannelConfig> {
    Ok(match config {
        ChannelConfig::Webhook { url, secret } => ChannelConfig::Webhook {
            url: http_url("config.url", url)?,
            secret: match secret {
                Some(s) => Some(bounded("config.secret", s)?.to_string()),
                None => None,
            },
        },
        ChannelConfig::Slack { url } => ChannelConfig::Slack {
            url: http_url("config.url", url)?,
        },
        ChannelConfig::Discord { url } => ChannelConfig::Discord {
            url: http_url("config.url", url)?,
        },
        ChannelConfig::Ntfy {
            server,
            topic,
            token,
        } => {
            let topic = bounded("config.topic", topic)?;
            if topic.len() > 64
                || !topic
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ApiError::field(
                    "config.topic",
                    "must be 1 to 64 letters, digits, - or _",
                ));
            }
            ChannelConfig::Ntfy {
                server: match server {
                    Some(s) => Some(http_url("config.server", s)?.trim_end_matches('/').into()),
                    None => None,
                },
                topic: topic.into(),
                token: match token {
                    Some(t) => Some(bounded("config.token", t)?.to_string()),
                    None => None,
                },
            }
        }
        ChannelConfig::Email {
            host,
            port,
            tls,
            username,
            password,
            from,
            to,
        } => {
            let host = bounded("config.host", host)?;
            let tls = tls.as_deref().unwrap_or("starttls");
            if !matches!(tls, "starttls" | "tls" | "none") {
                return Err(ApiError::field(
                    "config.tls",
                    "must be starttls, tls or none",
                ));
            }
            if tls == "none" && !is_loopback(host) {
                return Err(ApiError::field(
                    "config.tls",
                    "none is only allowed for a relay on loopback",
                ));
            }
            if *port == Some(0) {
                return Err(ApiError::field("config.port", "must be 1 to 65535"));
            }
            let mailbox = |field: &str, v: &str| -> ApiResult<String> {
                let v = bounded(field, v)?;
                v.parse::<lettre::message::Mailbox>().map_err(|e| {
                    ApiError::field(field, format!("{v:?} is not an address ({e})"))
                })?;
                Ok(v.to_string())
            };
            if to.is_empty() || to.len() > MAX_RECIPIENTS {
                return Err(ApiError::field(
                    "config.to",
                    format!("must list 1 to {MAX_RECIPIENTS} addresses"),
                ));
            }
            ChannelConfig::Email {
                host: host.into(),
                port: *port,
                tls: Some(tls.into()),
                username: match username {
                    Some(u) => Some(bounded("config.username", u)?.to_string()),
                    None => None,
                },
                password: password.clone(),
                from: mailbox("config.from", from)?,
                to: to
                    .iter()
                    .map(|t| mailbox("config.to", t))
                    .collect::<ApiResult<_>>()?,
            }
        }
    })
}

/// The channel if it is `user`'s own.
fn own(conn: &mut DbConn, user: &AuthUser, id: i64) -> ApiResult<channels::ChannelRow> {
    match channels::by_id(conn, id)? {
        Some(c) if c.user_id == user.id => Ok(c),
        _ => Err(ApiError::NotFound("channel")),
    }
}

/// My channels.
#[utoipa::path(get, operation_id = "list_channels", path = "/api/channels", tag = "alerts",
    responses((status = 200, body = [Channel]), (status = 401, body = ErrorBody)))]
pub async fn list(state: State, user: AuthUser) -> ApiResult<Json<Vec<Channel>>> {
    let rows = state
        .db(move |c| Ok(channels::list(c, Some(user.id))?))
        .await?;
    Ok(Json(rows.iter().map(|r| r.to_api()).collect()))
}

/// Create a channel; its secrets are never shown again.
#[utoipa::path(post, operation_id = "create_channel", path = "/api/channels", tag = "alerts",
    request_body = CreateChannel,
    responses((status = 201, body = Channel), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    state: State,
    user: AuthUser,
    body: Json<CreateChannel>,
) -> ApiResult<HttpResponse> {
    let name = validation::name("name", &body.name)?;
    let config = validate(&body.config)?;
    let row = state
        .db(move |c| Ok(channels::insert(c, user.id, &name, &config, now_ms())?))
        .await?;
    Ok(HttpResponse::Created().json(row.to_api()))
}

/// Delete a channel; rules stop using it, past deliveries keep its name.
#[utoipa::path(delete, operation_id = "delete_channel", path = "/api/channels/{id}", tag = "alerts",
    params(("id" = i64, Path, description = "Channel id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(state: State, user: AuthUser, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    state
        .db(move |c| {
            own(c, &user, id)?;
            channels::delete(c, id)?;
            for rule in alert_rules::list(c, Some(user.id))? {
                let mut api = rule.to_api();
                if api.channel_ids.contains(&id) {
                    api.channel_ids.retain(|c| *c != id);
                    alert_rules::set_channels(c, rule.id, &api.channel_ids)?;
                }
            }
            Ok(())
        })
        .await?;
    state.alerts_changed().await;
    Ok(HttpResponse::NoContent().finish())
}

/// Send a test notification now and report how it went.
#[utoipa::path(post, operation_id = "test_channel", path = "/api/channels/{id}/test", tag = "alerts",
    params(("id" = i64, Path, description = "Channel id")),
    responses((status = 200, body = ChannelTestResult), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn test(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> ApiResult<Json<ChannelTestResult>> {
    let id = id.into_inner();
    let user_id = user.id;
    let row = state.db(move |c| own(c, &user, id)).await?;
    let config = row
        .parsed()
        .ok_or_else(|| ApiError::Internal(format!("channel {id} has unreadable settings")))?;
    let now = now_ms();
    let event = AlertEvent {
        id: 0,
        rule_id: None,
        rule_name: "Test notification".into(),
        user_id,
        machine_id: 0,
        metric: "cpu_pct".into(),
        comparator: Comparator::Gt,
        threshold: 90.0,
        severity: Severity::Info,
        state: AlertState::Firing,
        value: Some(95.0),
        resolved_value: None,
        started_at: now,
        resolved_at: None,
        acknowledged_at: None,
        acknowledged_by: None,
        deliveries: vec![],
    };
    let machine = MachineRef {
        id: 0,
        name: "LunaSentri".into(),
    };
    let n = Notification::new(Reason::Test, event, machine);
    let outcome = state.alerts.deliverer.attempt(&config, &n).await;
    Ok(Json(ChannelTestResult {
        ok: outcome.result.is_ok(),
        attempts: outcome.attempts,
        error: outcome.result.err(),
    }))
}
