//! [`AuthUser`]: the logged-in user behind a request's session cookie. Every REST
//! handler that needs a user takes this extractor; nothing else reads the cookie.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use lunasentri_schema::api::Role;

use super::secrets::sha256_hex;
use crate::db::{now_ms, sessions};
use crate::error::ApiError;
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
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let state = req.app_data::<State>().cloned();
        Box::pin(async move {
            let (Some(token), Some(state)) = (token, state) else {
                return Err(ApiError::Unauthorized);
            };
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
        })
    }
}
