//! The one HTTP error type: every failure a client sees is `{"error":{"code","message"}}`
//! with the matching status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use lunasentri_schema::api::{ErrorBody, ErrorDetail};

/// What went wrong, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; the message names the field or parameter.
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required: log in, or send a valid key")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    /// Does not exist, or belongs to someone else: the two are indistinguishable.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("too many requests: retry after {0} s")]
    RateLimited(u64),
    #[error("the server is not ready: {0}")]
    Unavailable(String),
    /// A bug or an infrastructure failure; details go to the log, not the client.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::RateLimited(_) => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// Shorthand for a bad field.
    pub fn field(name: &str, problem: impl std::fmt::Display) -> Self {
        Self::BadRequest(format!("{name}: {problem}"))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(detail) = self {
            tracing::error!(%detail, "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        if let Self::RateLimited(secs) = self {
            res.insert_header(("Retry-After", secs.to_string()));
        }
        res.json(ErrorBody {
            error: ErrorDetail {
                code: self.code().into(),
                message: self.to_string(),
            },
        })
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Internal(format!("database: {e}"))
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(format!("database pool: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(format!("blocking task: {e}"))
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
