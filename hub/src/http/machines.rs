//! `/api/machines`: register, list, inspect, rename, delete machines; rotate or revoke
//! their keys; read their latest sample and history.

use actix_web::{HttpResponse, web};
use lunasentri_schema::MachineStatus;
use lunasentri_schema::api::{
    CreateMachine, ErrorBody, Latest, Machine, MachineWithKey, MetricSeries, UpdateMachine,
};
use lunasentri_schema::protocol::API_KEY_PREFIX;
use serde::Deserialize;

use super::extract::{Json, Query};
use super::{access, validation};
use crate::auth::AuthUser;
use crate::auth::secrets::{display_prefix, random_token, sha256_hex};
use crate::cluster::ControlEvent;
use crate::db::{machines, metrics, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::query;
use crate::retention;
use crate::state::State;

/// `?all=true` lets an admin list every user's machines.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Admins only: include every user's machines (audited).
    #[serde(default)]
    pub all: bool,
}

/// My machines (admins: `?all=true` for everyone's).
#[utoipa::path(get, operation_id = "list_machines", path = "/api/machines", tag = "machines", params(ListParams),
    responses((status = 200, body = [Machine]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    state: State,
    user: AuthUser,
    q: Query<ListParams>,
) -> ApiResult<Json<Vec<Machine>>> {
    let everyone = q.all && user.is_admin();
    let rows = state
        .db(move |c| {
            if everyone {
                access::audit(
                    c,
                    &user,
                    "list_all_machines",
                    "machine",
                    None,
                    String::new(),
                )?;
            }
            Ok(machines::list(c, (!everyone).then_some(user.id))?)
        })
        .await?;
    Ok(Json(rows.iter().map(|m| m.to_api()).collect()))
}

/// A fresh key and what is stored of it.
fn new_key() -> (String, String, String) {
    let key = random_token(API_KEY_PREFIX);
    let hash = sha256_hex(&key);
    let prefix = display_prefix(&key);
    (key, hash, prefix)
}

/// Register a machine; the answer carries its API key, shown only this once.
#[utoipa::path(post, operation_id = "create_machine", path = "/api/machines", tag = "machines", request_body = CreateMachine,
    responses((status = 201, body = MachineWithKey), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    state: State,
    user: AuthUser,
    body: Json<CreateMachine>,
) -> ApiResult<HttpResponse> {
    let name = validation::name("name", &body.name)?;
    let (key, hash, prefix) = new_key();
    let owner = user.id;
    let row = state
        .db(move |c| {
            let new = machines::NewMachine {
                owner_id: owner,
                name: &name,
                api_key_hash: &hash,
                key_prefix: &prefix,
                status: MachineStatus::Pending.as_str(),
                hostname: None,
                created_at: now_ms(),
            };
            Ok(machines::insert(c, &new)?)
        })
        .await?;
    state.live.control(ControlEvent::MachineCreated {
        machine_id: row.id,
        owner_id: row.owner_id,
    });
    state.alerts_changed().await;
    tracing::info!(machine_id = row.id, user_id = owner, "machine registered");
    Ok(HttpResponse::Created().json(MachineWithKey {
        machine: row.to_api(),
        api_key: key,
    }))
}

/// One machine.
#[utoipa::path(get, operation_id = "get_machine", path = "/api/machines/{id}", tag = "machines",
    params(("id" = i64, Path, description = "Machine id")),
    responses((status = 200, body = Machine), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(state: State, user: AuthUser, id: web::Path<i64>) -> ApiResult<Json<Machine>> {
    let id = id.into_inner();
    let row = state
        .db(move |c| access::machine(c, &user, id, "admin_read_machine"))
        .await?;
    Ok(Json(row.to_api()))
}

/// Rename a machine.
#[utoipa::path(patch, operation_id = "update_machine", path = "/api/machines/{id}", tag = "machines", request_body = UpdateMachine,
    params(("id" = i64, Path, description = "Machine id")),
    responses((status = 200, body = Machine), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn update(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: Json<UpdateMachine>,
) -> ApiResult<Json<Machine>> {
    let id = id.into_inner();
    let name = validation::name("name", &body.name)?;
    let row = state
        .db(move |c| {
            access::machine(c, &user, id, "admin_rename_machine")?;
            machines::rename(c, id, &name)?;
            machines::by_id(c, id)?.ok_or(ApiError::NotFound("machine"))
        })
        .await?;
    Ok(Json(row.to_api()))
}

/// Delete a machine and all its data; its agent is disconnected at once.
#[utoipa::path(delete, operation_id = "delete_machine", path = "/api/machines/{id}", tag = "machines",
    params(("id" = i64, Path, description = "Machine id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(state: State, user: AuthUser, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    state
        .db(move |c| {
            access::machine(c, &user, id, "admin_delete_machine")?;
            Ok(machines::delete(c, id)?)
        })
        .await?;
    state
        .live
        .control(ControlEvent::MachineRemoved { machine_id: id });
    state.alerts_changed().await;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the machine's key: the old one stops working immediately.
#[utoipa::path(post, path = "/api/machines/{id}/rotate-key", tag = "machines",
    params(("id" = i64, Path, description = "Machine id")),
    responses((status = 200, body = MachineWithKey), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_key(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> ApiResult<Json<MachineWithKey>> {
    let id = id.into_inner();
    let (key, hash, prefix) = new_key();
    let row = state
        .db(move |c| {
            access::machine(c, &user, id, "admin_rotate_key")?;
            machines::set_key(c, id, Some(&hash), Some(&prefix))?;
            machines::by_id(c, id)?.ok_or(ApiError::NotFound("machine"))
        })
        .await?;
    state
        .live
        .control(ControlEvent::KeyRevoked { machine_id: id });
    Ok(Json(MachineWithKey {
        machine: row.to_api(),
        api_key: key,
    }))
}

/// Revoke the machine's key without issuing a new one.
#[utoipa::path(post, path = "/api/machines/{id}/revoke-key", tag = "machines",
    params(("id" = i64, Path, description = "Machine id")),
    responses((status = 200, body = Machine), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_key(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> ApiResult<Json<Machine>> {
    let id = id.into_inner();
    let row = state
        .db(move |c| {
            access::machine(c, &user, id, "admin_revoke_key")?;
            machines::set_key(c, id, None, None)?;
            machines::by_id(c, id)?.ok_or(ApiError::NotFound("machine"))
        })
        .await?;
    state
        .live
        .control(ControlEvent::KeyRevoked { machine_id: id });
    Ok(Json(row.to_api()))
}

/// The newest stored sample and current status.
#[utoipa::path(get, path = "/api/machines/{id}/latest", tag = "metrics",
    params(("id" = i64, Path, description = "Machine id")),
    responses((status = 200, body = Latest), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn latest(state: State, user: AuthUser, id: web::Path<i64>) -> ApiResult<Json<Latest>> {
    let id = id.into_inner();
    let out = state
        .db(move |c| {
            let m = access::machine(c, &user, id, "admin_read_metrics")?;
            let row = metrics::latest(c, id)?;
            Ok(Latest {
                machine_id: id,
                status: MachineStatus::parse(&m.status),
                last_seen: m.last_seen,
                sample: row.map(|r| r.to_sample()),
            })
        })
        .await?;
    Ok(Json(out))
}

/// History as time buckets with avg/min/max per scalar, from the coarsest stored tier
/// that still gives the requested resolution (see `tier` in the answer).
#[utoipa::path(get, path = "/api/machines/{id}/metrics", tag = "metrics",
    params(("id" = i64, Path, description = "Machine id"), query::RangeParams),
    responses((status = 200, body = MetricSeries), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn history(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    q: Query<query::RangeParams>,
) -> ApiResult<Json<MetricSeries>> {
    let id = id.into_inner();
    let now = now_ms();
    let range = q.into_inner().resolve(now)?;
    let defaults = state.config.retention;
    let out = state
        .db(move |c| {
            access::machine(c, &user, id, "admin_read_metrics")?;
            let keep = retention::current(c, defaults)?;
            let plan = query::plan(&range, &keep, now);
            query::series(c, &[id], &range, &plan)?
                .pop()
                .ok_or(ApiError::NotFound("machine"))
        })
        .await?;
    Ok(Json(out))
}
