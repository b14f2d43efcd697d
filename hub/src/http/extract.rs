//! Body and query extractors whose errors name the offending field by its path
//! (`role: unknown variant …`, `from: invalid digit …`), which actix's own do not, and
//! the request's Bearer credential.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A request's headers, whoever parsed them: actix-web, or `crate::server` for the
/// upgrades it takes over.
pub trait Headers {
    /// The value of header `name` (case-insensitive), if present and text.
    fn header(&self, name: &str) -> Option<&str>;
}

impl Headers for HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name).and_then(|v| v.to_str().ok())
    }
}

/// The Bearer credential of a request, if any.
pub fn bearer(req: &impl Headers) -> Option<String> {
    let h = req.header("authorization")?;
    let token = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))?
        .trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// Largest JSON body of the REST API.
pub const MAX_JSON: usize = 64 * 1024;

fn field_error(path: String, err: impl std::fmt::Display) -> String {
    if path.is_empty() || path == "." {
        err.to_string()
    } else {
        format!("{path}: {err}")
    }
}

/// A JSON body.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Parses JSON, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        ApiError::BadRequest(format!("body: {}", field_error(path, e.inner())))
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json_type {
                return Err(ApiError::BadRequest(
                    "body: Content-Type must be application/json".into(),
                ));
            }
            let bytes = body.await.map_err(|_| {
                ApiError::PayloadTooLarge(format!(
                    "body: larger than the limit of {MAX_JSON} bytes"
                ))
            })?;
            if bytes.len() > MAX_JSON {
                return Err(ApiError::PayloadTooLarge(format!(
                    "body: larger than the limit of {MAX_JSON} bytes"
                )));
            }
            parse_json(&bytes).map(Json)
        })
    }
}

/// Query parameters.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            req.query_string().as_bytes(),
        ));
        let res = serde_path_to_error::deserialize(pairs)
            .map(Query)
            .map_err(|e| {
                let path = e.path().to_string();
                ApiError::BadRequest(format!("query: {}", field_error(path, e.inner())))
            });
        std::future::ready(res)
    }
}

impl<T: serde::Serialize> actix_web::Responder for Json<T> {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &HttpRequest) -> actix_web::HttpResponse {
        actix_web::HttpResponse::Ok().json(self.0)
    }
}
