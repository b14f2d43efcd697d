//! Turns actix's own bodiless errors (no route, wrong method) into the API's JSON shape.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use lunasentri_schema::api::{ErrorBody, ErrorDetail};

fn to_json<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let already_json = res
        .response()
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.to_str().unwrap_or("").starts_with("application/json"));
    if already_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this method is not allowed on this path".to_owned(),
        ),
        StatusCode::NOT_FOUND => ("not_found", "endpoint not found".to_owned()),
        s => (
            "error",
            s.canonical_reason().unwrap_or("error").to_lowercase(),
        ),
    };
    let body = serde_json::to_string(&ErrorBody {
        error: ErrorDetail {
            code: code.into(),
            message,
        },
    })
    .unwrap_or_default();
    let (req, mut res) = res.into_parts();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let res = res.set_body(BoxBody::new(body));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, res).map_into_right_body::<B>(),
    ))
}

/// The middleware.
pub fn json_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new()
        .handler(StatusCode::NOT_FOUND, to_json)
        .handler(StatusCode::METHOD_NOT_ALLOWED, to_json)
}
