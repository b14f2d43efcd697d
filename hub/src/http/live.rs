//! `GET /api/live`: the dashboard's WebSocket. Authenticated by the session cookie and
//! an Origin check (against cross-site WebSocket hijacking) before the upgrade.

use actix::{Actor, AsyncContext};
use actix_web::{HttpRequest, HttpResponse, web};
use lunasentri_schema::api::ErrorBody;

use crate::actors::BrowserSession;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::state::State;

/// Largest frame a browser may send (a subscribe naming many machines).
const MAX_CLIENT_FRAME: usize = 256 * 1024;

/// The Origin must be this hub: the configured public URL, or the request's own host.
fn origin_allowed(req: &HttpRequest, public_url: Option<&str>) -> bool {
    let Some(origin) = req.headers().get("origin").and_then(|o| o.to_str().ok()) else {
        // Non-browser clients send no Origin; the cookie still authenticates them.
        return true;
    };
    if public_url.is_some_and(|p| p.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = req.connection_info().host().to_owned();
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    origin_host.eq_ignore_ascii_case(&host)
}

/// Live frames for the logged-in user (frames: LiveClientFrame / LiveFrame).
#[utoipa::path(get, path = "/api/live", tag = "live",
    responses((status = 101, description = "Switching to the WebSocket protocol"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn live(
    state: State,
    user: AuthUser,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    if !origin_allowed(&req, state.config.public_url.as_deref()) {
        return Err(ApiError::Forbidden("Origin does not match this hub"));
    }
    let (res, session, msgs) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::BadRequest(format!("WebSocket upgrade failed: {e}")))?;
    let msgs = msgs
        .max_frame_size(MAX_CLIENT_FRAME)
        .aggregate_continuations()
        .max_continuation_size(MAX_CLIENT_FRAME);
    let registry = state.live.registry.clone();
    let metrics = state.metrics.clone();
    let cap = state.config.limits.browser_queue;
    BrowserSession::create(|ctx| {
        ctx.add_stream(msgs);
        BrowserSession::new(
            user.id,
            user.is_admin(),
            user.session_id,
            registry,
            metrics,
            session,
            cap,
        )
    });
    Ok(res)
}
