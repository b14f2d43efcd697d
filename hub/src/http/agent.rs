//! `/agent/*`: the agent link. The WebSocket `/agent/stream` is authenticated here,
//! before the upgrade (bad key → 401, unknown protocol → 400); so are the HTTP
//! fallback `POST /agent/metrics`, `GET /agent/health` and `POST /agent/register`.
//!
//! Most agent sockets never reach the handler below: `crate::server` recognises an
//! agent upgrade as a connection's first request, admits it with [`admit`] and serves
//! it with tokio-tungstenite, without actix-http's per-connection buffers. The handler
//! serves the rest (an upgrade after other requests on a kept-alive connection, TLS)
//! and answers every refused upgrade.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use lunasentri_schema::api::{Accepted, AgentHealth, ErrorBody, RegisterRequest, RegisterResponse};
use lunasentri_schema::protocol::{
    API_KEY_PREFIX, MAX_BATCH_BYTES, MAX_BATCH_SAMPLES, PROTOCOL_HEADER, PROTOCOL_VERSION,
};
use lunasentri_schema::{MachineStatus, Sample};
use tokio::sync::oneshot;

use super::extract::{Headers, Json, bearer, parse_json};
use super::upgrade;
use super::validation;
use crate::actors::AgentSession;
use crate::actors::machine::SamplesReceived;
use crate::actors::subscription_registry::RouteSamples;
use crate::actors::writer::Done;
use crate::auth::secrets::{display_prefix, random_token, sha256_hex};
use crate::cluster::ControlEvent;
use crate::db::machines::{self, MachineRow};
use crate::db::{enrollment, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::State;
use crate::validate;

/// The machine a Bearer key belongs to; 401 for a missing, unknown or revoked key.
async fn machine_for_key(state: &State, req: &impl Headers) -> ApiResult<MachineRow> {
    let key = bearer(req).ok_or(ApiError::Unauthorized)?;
    if !key.starts_with(API_KEY_PREFIX) {
        return Err(ApiError::Unauthorized);
    }
    let hash = sha256_hex(&key);
    state
        .db(move |c| machines::by_key_hash(c, &hash)?.ok_or(ApiError::Unauthorized))
        .await
}

/// The protocol version header must name a version this hub speaks.
fn check_protocol(v: Option<&str>) -> ApiResult<()> {
    match v.map(str::trim) {
        Some(v) if v == PROTOCOL_VERSION.to_string() => Ok(()),
        Some(v) => Err(ApiError::BadRequest(format!(
            "{PROTOCOL_HEADER}: protocol version {v:?} is not supported; this hub speaks version {PROTOCOL_VERSION}. Upgrade the agent or the hub."
        ))),
        None => Err(ApiError::BadRequest(format!(
            "{PROTOCOL_HEADER}: header missing; send `{PROTOCOL_HEADER}: {PROTOCOL_VERSION}`"
        ))),
    }
}

/// The agent's live link (WebSocket upgrade).
#[utoipa::path(get, path = "/agent/stream", tag = "agent",
    params(("X-LunaSentri-Protocol" = String, Header, description = "Protocol version, `1`")),
    responses((status = 101, description = "Switching to the WebSocket protocol (frames: AgentFrame / HubFrame)"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn stream(state: State, req: HttpRequest, body: web::Payload) -> ApiResult<HttpResponse> {
    let machine_id = admit(&state, &req).await?;
    let (res, session, inbound) = upgrade(&req, body, MAX_BATCH_BYTES)?;
    AgentSession::spawn(machine_id, inbound, session, state.live.agent.clone());
    Ok(res)
}

/// Decides whether an agent socket may open: the Bearer key names a machine and the
/// protocol header a version this hub speaks. Returns the machine's id.
pub async fn admit(state: &State, req: &impl Headers) -> ApiResult<i64> {
    let machine = machine_for_key(state, req).await?;
    check_protocol(req.header(PROTOCOL_HEADER))?;
    if state.live.cluster.is_some() {
        // The machine may arrive from another hub: alerts open there stay open here
        // instead of firing again.
        let (alerts, id) = (state.alerts.engine.clone(), machine.id);
        state
            .db(move |c| Ok(alerts.restore_open(c, Some(id))?))
            .await?;
    }
    Ok(machine.id)
}

/// Parses one sample or `{samples:[…]}`, naming what is wrong.
fn parse_samples(body: &[u8]) -> ApiResult<Vec<Sample>> {
    #[derive(serde::Deserialize)]
    struct Many {
        samples: Vec<Sample>,
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("body: not valid JSON: {e}")))?;
    let samples = if value.get("samples").is_some() {
        parse_json::<Many>(body)?.samples
    } else {
        vec![parse_json::<Sample>(body)?]
    };
    if samples.is_empty() {
        return Err(ApiError::field("samples", "must not be empty"));
    }
    if samples.len() > MAX_BATCH_SAMPLES {
        return Err(ApiError::field(
            "samples",
            format!("more than {MAX_BATCH_SAMPLES} samples"),
        ));
    }
    Ok(samples)
}

/// HTTP fallback: one sample or `{samples:[…]}`; answers 202 once they are committed.
#[utoipa::path(post, path = "/agent/metrics", tag = "agent", request_body = Sample,
    responses((status = 202, body = Accepted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn post_metrics(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let machine = machine_for_key(&state, &req).await?;
    let samples = parse_samples(&body)?;
    let now = state.live.agent.machine.clock.now_ms();
    for s in &samples {
        validate::sample(s, now)
            .map_err(|m| ApiError::BadRequest(format!("seq {}: {m}", s.seq)))?;
    }
    let n = samples.len();
    let (tx, rx) = oneshot::channel();
    let batch = SamplesReceived {
        samples,
        received: Instant::now(),
        done: Done::Http(tx),
    };
    state.live.registry.do_send(RouteSamples {
        machine_id: machine.id,
        batch,
    });
    match rx.await {
        Ok(Ok(_)) => Ok(HttpResponse::Accepted().json(Accepted { accepted: n })),
        Ok(Err(e)) => Err(ApiError::Unavailable(e)),
        Err(_) => Err(ApiError::Unavailable(
            "the machine was removed or the hub is stopping".into(),
        )),
    }
}

/// Liveness for agents; with a Bearer key, whether that key is valid.
#[utoipa::path(get, path = "/agent/health", tag = "agent", responses((status = 200, body = AgentHealth)))]
pub async fn health(state: State, req: HttpRequest) -> ApiResult<Json<AgentHealth>> {
    let (key_valid, machine_id) = match bearer(&req) {
        None => (None, None),
        Some(_) => match machine_for_key(&state, &req).await {
            Ok(m) => (Some(true), Some(m.id)),
            Err(ApiError::Unauthorized) => (Some(false), None),
            Err(e) => return Err(e),
        },
    };
    Ok(Json(AgentHealth {
        status: "ok".into(),
        protocol_version: PROTOCOL_VERSION,
        key_valid,
        machine_id,
    }))
}

/// Register a machine with an enrollment token (Bearer); returns its key once.
#[utoipa::path(post, path = "/agent/register", tag = "agent", request_body = RegisterRequest,
    responses((status = 201, body = RegisterResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("enrollment_token" = [])))]
pub async fn register(
    state: State,
    req: HttpRequest,
    body: Json<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let token = bearer(&req).ok_or(ApiError::Unauthorized)?;
    let name = validation::name("name", &body.name)?;
    let hostname = body.hostname.trim().chars().take(200).collect::<String>();
    let token_hash = sha256_hex(&token);
    let key = random_token(API_KEY_PREFIX);
    let (key_hash, prefix) = (sha256_hex(&key), display_prefix(&key));
    let row = state
        .db(move |c| {
            c.write_transaction::<_, ApiError, _>(|c| {
                let now = now_ms();
                let tok =
                    enrollment::consume(c, &token_hash, now)?.ok_or(ApiError::Unauthorized)?;
                let new = machines::NewMachine {
                    owner_id: tok.owner_id,
                    name: &name,
                    api_key_hash: &key_hash,
                    key_prefix: &prefix,
                    status: MachineStatus::Pending.as_str(),
                    hostname: (!hostname.is_empty()).then_some(hostname.as_str()),
                    created_at: now,
                };
                Ok(machines::insert(c, &new)?)
            })
        })
        .await?;
    state.live.control(ControlEvent::MachineCreated {
        machine_id: row.id,
        owner_id: row.owner_id,
    });
    state.alerts_changed().await;
    tracing::info!(
        machine_id = row.id,
        user_id = row.owner_id,
        "machine enrolled"
    );
    Ok(HttpResponse::Created().json(RegisterResponse {
        machine_id: row.id,
        api_key: key,
    }))
}
