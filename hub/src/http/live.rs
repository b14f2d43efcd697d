//! `GET /api/live`: the dashboard's WebSocket. Authenticated by the session cookie and
//! an Origin check (against cross-site WebSocket hijacking) before the upgrade, in
//! [`admit`], whichever server path takes the upgrade (see `crate::server`).

use actix_web::{HttpRequest, HttpResponse, web};
use lunasentri_schema::api::ErrorBody;

use super::extract::Headers;
use super::upgrade;
use crate::actors::browser_session::{BrowserDeps, BrowserSession};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, State};

/// Largest frame a browser may send (a subscribe naming many machines).
pub const MAX_CLIENT_FRAME: usize = 256 * 1024;

/// The Origin must be this hub: the configured public URL, or the request's own host.
fn origin_allowed(req: &impl Headers, public_url: Option<&str>) -> bool {
    let Some(origin) = req.header("origin") else {
        // Non-browser clients send no Origin; the cookie still authenticates them.
        return true;
    };
    if public_url.is_some_and(|p| p.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    request_host(req).is_some_and(|host| origin_host.eq_ignore_ascii_case(host))
}

/// The host the client asked for, as a proxy forwarded it: `Forwarded: host=`, then
/// `X-Forwarded-Host`, then `Host` (the order actix-web's `ConnectionInfo` uses).
fn request_host(req: &impl Headers) -> Option<&str> {
    let forwarded = req.header("forwarded").and_then(|f| {
        f.split([';', ','])
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.trim().trim_matches('"'))
    });
    forwarded
        .or_else(|| {
            req.header("x-forwarded-host")
                .and_then(|v| v.split(',').next())
                .map(str::trim)
        })
        .or_else(|| req.header("host"))
}

/// Decides whether a dashboard socket may open: a live session cookie (401) and an
/// Origin of this hub (403).
pub async fn admit(state: &State, req: &impl Headers) -> ApiResult<AuthUser> {
    let user = AuthUser::from_headers(state, req).await?;
    if !origin_allowed(req, state.config.public_url.as_deref()) {
        return Err(ApiError::Forbidden("Origin does not match this hub"));
    }
    Ok(user)
}

/// What a dashboard socket of `user` needs.
pub fn browser_deps(state: &AppState, user: &AuthUser) -> BrowserDeps {
    BrowserDeps {
        user_id: user.id,
        is_admin: user.is_admin(),
        auth_session_id: user.session_id,
        registry: state.live.registry.clone(),
        metrics: state.metrics.clone(),
        queue_cap: state.config.limits.browser_queue,
    }
}

/// Live frames for the logged-in user (frames: LiveClientFrame / LiveFrame).
#[utoipa::path(get, path = "/api/live", tag = "live",
    responses((status = 101, description = "Switching to the WebSocket protocol"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn live(state: State, req: HttpRequest, body: web::Payload) -> ApiResult<HttpResponse> {
    let user = admit(&state, &req).await?;
    let (res, session, inbound) = upgrade(&req, body, MAX_CLIENT_FRAME)?;
    BrowserSession::spawn(browser_deps(&state, &user), inbound, session);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct H(&'static [(&'static str, &'static str)]);

    impl Headers for H {
        fn header(&self, name: &str) -> Option<&str> {
            self.0
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        }
    }

    #[test]
    fn the_forwarded_host_wins_over_the_host_header() {
        let host =
            |h: &'static [(&'static str, &'static str)]| request_host(&H(h)).map(str::to_owned);
        assert_eq!(host(&[("Host", "hub:8080")]).as_deref(), Some("hub:8080"));
        assert_eq!(
            host(&[
                ("Host", "hub"),
                ("X-Forwarded-Host", "a.example, b.example")
            ])
            .as_deref(),
            Some("a.example")
        );
        const FORWARDED: &[(&str, &str)] = &[
            ("Host", "hub"),
            ("X-Forwarded-Host", "a.example"),
            (
                "Forwarded",
                "for=192.0.2.1;proto=https;host=\"m.example\", for=10.0.0.1",
            ),
        ];
        assert_eq!(host(FORWARDED).as_deref(), Some("m.example"));
        assert_eq!(host(&[]), None);
    }

    #[test]
    fn the_origin_must_be_this_hub() {
        let allowed =
            |h: &'static [(&'static str, &'static str)], public| origin_allowed(&H(h), public);
        assert!(
            allowed(&[("Host", "hub:8080")], None),
            "no Origin: not a browser"
        );
        assert!(allowed(
            &[("Host", "hub:8080"), ("Origin", "http://hub:8080")],
            None
        ));
        assert!(!allowed(
            &[("Host", "hub:8080"), ("Origin", "http://evil:8080")],
            None
        ));
        assert!(
            !allowed(&[("Origin", "http://hub:8080")], None),
            "no host to compare"
        );
        let public = Some("https://monitor.example");
        assert!(allowed(
            &[("Host", "10.0.0.5"), ("Origin", "https://monitor.example")],
            public
        ));
    }
}
