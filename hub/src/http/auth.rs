//! `/api/auth/*`: log in, log out, who am I, change my password.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, web};
use lunasentri_schema::api::{ChangePassword, ErrorBody, LoginRequest, User};

use super::extract::Json;
use super::validation;
use crate::auth::secrets::{dummy_hash, hash_password, random_token, sha256_hex, verify_password};
use crate::auth::{AuthUser, SESSION_COOKIE};
use crate::cluster::ControlEvent;
use crate::db::{now_ms, sessions, users};
use crate::error::{ApiError, ApiResult};
use crate::state::State;

pub(crate) fn session_cookie(state: &State, value: String, max_age_s: i64) -> Cookie<'static> {
    let secure = state.config.tls.is_some()
        || state
            .config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
    Cookie::build(SESSION_COOKIE, value)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .max_age(CookieDuration::seconds(max_age_s))
        .finish()
}

/// Log in with e-mail and password; sets the session cookie.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = User), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    state: State,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let LoginRequest { email, password } = body.into_inner();
    let email = email.trim().to_lowercase();
    if email.is_empty() || email.len() > 254 {
        return Err(ApiError::field(
            "email",
            "must be between 1 and 254 characters",
        ));
    }
    if password.len() > 1024 {
        return Err(ApiError::field(
            "password",
            "must be at most 1024 characters",
        ));
    }
    let ip = req.peer_addr().map(|a| a.ip());
    state
        .login_limiter
        .check(ip, &email)
        .map_err(ApiError::RateLimited)?;
    let ttl = state.config.session_ttl;
    let token = random_token("");
    let hash = sha256_hex(&token);
    // The password is checked without holding a database connection: argon2id takes
    // tens of milliseconds and at most two checks run at once, so a burst of logins
    // holding connections while they wait would starve every other request of the pool.
    let found = {
        let email = email.clone();
        state.db(move |c| Ok(users::by_email(c, &email)?)).await?
    };
    let stored = found
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
    let ok = web::block(move || verify_password(&password, &stored)).await?;
    let Some(checked) = found.filter(|_| ok) else {
        tracing::info!("login failed");
        return Err(ApiError::Unauthorized);
    };
    let user = state
        .db(move |c| {
            // The account as it is now: deleted or given a new password meanwhile, the
            // check above no longer counts.
            let user = users::by_email(c, &email)?
                .filter(|u| u.id == checked.id && u.password_hash == checked.password_hash)
                .ok_or(ApiError::Unauthorized)?;
            let now = now_ms();
            let new = sessions::NewSession {
                user_id: user.id,
                token_hash: &hash,
                created_at: now,
                expires_at: now + ttl.as_millis() as i64,
            };
            sessions::insert(c, &new)?;
            sessions::delete_expired(c, now)?;
            Ok(user)
        })
        .await?;
    tracing::info!(user_id = user.id, "login");
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&state, token, ttl.as_secs() as i64))
        .json(user.to_api()))
}

/// End this session; its live sockets close.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(state: State, user: AuthUser) -> ApiResult<HttpResponse> {
    let sid = user.session_id;
    state.db(move |c| Ok(sessions::delete(c, sid)?)).await?;
    state.live.control(ControlEvent::EndAuthSession {
        auth_session_id: sid,
    });
    Ok(HttpResponse::NoContent()
        .cookie(session_cookie(&state, String::new(), 0))
        .finish())
}

/// The logged-in user.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(state: State, user: AuthUser) -> ApiResult<Json<User>> {
    let id = user.id;
    let row = state
        .db(move |c| users::by_id(c, id)?.ok_or(ApiError::Unauthorized))
        .await?;
    Ok(Json(row.to_api()))
}

/// Change my password; every other session of mine ends.
#[utoipa::path(patch, path = "/api/auth/password", tag = "auth", request_body = ChangePassword,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn change_password(
    state: State,
    user: AuthUser,
    body: Json<ChangePassword>,
) -> ApiResult<HttpResponse> {
    let ChangePassword {
        current_password,
        new_password,
    } = body.into_inner();
    validation::password("new_password", &new_password)?;
    let (uid, sid) = (user.id, user.session_id);
    state
        .db(move |c| {
            let row = users::by_id(c, uid)?.ok_or(ApiError::Unauthorized)?;
            if !verify_password(&current_password, &row.password_hash) {
                return Err(ApiError::field("current_password", "is wrong"));
            }
            let hash = hash_password(&new_password).map_err(ApiError::Internal)?;
            users::set_password_hash(c, uid, &hash)?;
            sessions::delete_for_user(c, uid, Some(sid))?;
            Ok(())
        })
        .await?;
    state.live.control(ControlEvent::end_user_sessions(
        uid,
        Some(sid),
        "password changed",
    ));
    Ok(HttpResponse::NoContent().finish())
}
