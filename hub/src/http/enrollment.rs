//! `/api/enrollment-tokens`: per-user tokens that let agents register machines
//! themselves (`POST /agent/register`), for fleet installs.

use actix_web::{HttpResponse, web};
use lunasentri_schema::api::{
    CreateEnrollmentToken, EnrollmentToken, EnrollmentTokenWithSecret, ErrorBody,
};
use lunasentri_schema::protocol::ENROLLMENT_TOKEN_PREFIX;

use super::extract::Json;
use super::validation;
use crate::auth::AuthUser;
use crate::auth::secrets::{display_prefix, random_token, sha256_hex};
use crate::db::{enrollment, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::State;

/// Longest lifetime of a token: one year.
const MAX_EXPIRY_S: i64 = 366 * 86_400;

/// My enrollment tokens (secrets are never shown again).
#[utoipa::path(get, operation_id = "list_enrollment_tokens", path = "/api/enrollment-tokens", tag = "enrollment",
    responses((status = 200, body = [EnrollmentToken]), (status = 401, body = ErrorBody)))]
pub async fn list(state: State, user: AuthUser) -> ApiResult<Json<Vec<EnrollmentToken>>> {
    let rows = state.db(move |c| Ok(enrollment::list(c, user.id)?)).await?;
    Ok(Json(rows.iter().map(|t| t.to_api()).collect()))
}

/// Create a token; the answer carries the secret, shown only this once.
#[utoipa::path(post, operation_id = "create_enrollment_token", path = "/api/enrollment-tokens", tag = "enrollment", request_body = CreateEnrollmentToken,
    responses((status = 201, body = EnrollmentTokenWithSecret), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    state: State,
    user: AuthUser,
    body: Json<CreateEnrollmentToken>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let name = if b.name.trim().is_empty() {
        "enrollment token".to_owned()
    } else {
        validation::name("name", &b.name)?
    };
    if let Some(s) = b.expires_in_s
        && !(60..=MAX_EXPIRY_S).contains(&s)
    {
        return Err(ApiError::field(
            "expires_in_s",
            format!("must be between 60 and {MAX_EXPIRY_S}"),
        ));
    }
    if let Some(u) = b.max_uses
        && !(1..=100_000).contains(&u)
    {
        return Err(ApiError::field("max_uses", "must be between 1 and 100000"));
    }
    let secret = random_token(ENROLLMENT_TOKEN_PREFIX);
    let (hash, prefix) = (sha256_hex(&secret), display_prefix(&secret));
    let row = state
        .db(move |c| {
            let now = now_ms();
            let new = enrollment::NewToken {
                owner_id: user.id,
                name: &name,
                token_hash: &hash,
                token_prefix: &prefix,
                expires_at: b.expires_in_s.map(|s| now + s * 1000),
                uses_left: b.max_uses,
                created_at: now,
            };
            Ok(enrollment::insert(c, &new)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(EnrollmentTokenWithSecret {
        token: row.to_api(),
        secret,
    }))
}

/// Delete one of my tokens.
#[utoipa::path(delete, operation_id = "delete_enrollment_token", path = "/api/enrollment-tokens/{id}", tag = "enrollment",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(state: State, user: AuthUser, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    state
        .db(move |c| {
            let t = enrollment::by_id(c, id)?.filter(|t| t.owner_id == user.id);
            t.ok_or(ApiError::NotFound("enrollment token"))?;
            Ok(enrollment::delete(c, id)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
