//! [`AuthUser`]: the logged-in user behind a request's session cookie. Every REST
//! handler that needs a user takes this extractor, and the live socket's admission
//! calls [`AuthUser::from_headers`]; nothing else reads the cookie.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use lunasentri_schema::api::Role;

use super::secrets::sha256_hex;
use crate::db::{now_ms, sessions};
use crate::error::ApiError;
use crate::http::extract::Headers;
use crate::state::State;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "lunasentri_session";

/// An authenticated user.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// The session this request came in on (logout ends exactly this one).
    pub session_id: i64,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// 403 unless admin. Admin-only endpoints are not secret, so 403 (not 404) is right.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("this endpoint is for admins"))
        }
    }

    /// The user whose session cookie `req` carries; 401 without a live session.
    pub async fn from_headers(state: &State, req: &impl Headers) -> Result<Self, ApiError> {
        let token = session_token(req).ok_or(ApiError::Unauthorized)?;
        let hash = sha256_hex(&token);
        let found = state
            .db(move |c| Ok(sessions::user_for(c, &hash, now_ms())?))
            .await?;
        let (session_id, user) = found.ok_or(ApiError::Unauthorized)?;
        Ok(AuthUser {
            id: user.id,
            role: user.role(),
            email: user.email,
            session_id,
        })
    }
}

/// The session cookie's value, from the `Cookie` header.
fn session_token(req: &impl Headers) -> Option<String> {
    req.header("cookie")?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req.app_data::<State>().ok_or(ApiError::Unauthorized)?;
            Self::from_headers(state, &req).await
        })
    }
}
