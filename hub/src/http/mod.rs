//! REST and WebSocket endpoints, one file per resource.
//!
//! Every handler authenticates through one extractor ([`crate::auth::AuthUser`]) or,
//! for agents, one key lookup (`agent.rs`); machine access is decided in [`access`].

pub mod access;
pub mod admin;
pub mod agent;
pub mod alert_events;
pub mod alert_rules;
pub mod auth;
pub mod channels;
pub mod enrollment;
pub mod errors;
pub mod export;
pub mod extract;
pub mod live;
pub mod machines;
pub mod me;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod ui;
pub mod users;
pub mod validation;

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::{Stream, StreamExt as _};
use lunasentri_schema::protocol::MAX_BATCH_BYTES;

use crate::actors::socket::Inbound;
use crate::error::ApiError;

/// Upgrades an admitted request to a WebSocket through actix-ws: the response to send,
/// the outbound half, and the inbound messages of at most `max_message` bytes.
fn upgrade(
    req: &HttpRequest,
    body: web::Payload,
    max_message: usize,
) -> Result<
    (
        HttpResponse,
        actix_ws::Session,
        impl Stream<Item = Inbound> + use<>,
    ),
    ApiError,
> {
    let (res, session, msgs) = actix_ws::handle(req, body)
        .map_err(|e| ApiError::BadRequest(format!("WebSocket upgrade failed: {e}")))?;
    let inbound = msgs
        .max_frame_size(max_message)
        .aggregate_continuations()
        .max_continuation_size(max_message)
        .map(Inbound::from);
    Ok((res, session, inbound))
}

fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("path: {err}")).into()
}

/// Mounts every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::PayloadConfig::default().limit(MAX_BATCH_BYTES))
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .route("/install.sh", web::get().to(ui::install_sh))
        .route("/downloads/{name}", web::get().to(ui::download))
        .service(
            web::scope("/agent")
                .route("/stream", web::get().to(agent::stream))
                .route("/metrics", web::post().to(agent::post_metrics))
                .route("/health", web::get().to(agent::health))
                .route("/register", web::post().to(agent::register)),
        )
        .service(
            web::scope("/api")
                .route("/openapi.json", web::get().to(openapi::serve))
                .route("/live", web::get().to(live::live))
                .route("/auth/login", web::post().to(auth::login))
                .route("/auth/logout", web::post().to(auth::logout))
                .route("/auth/me", web::get().to(auth::me))
                .route("/auth/password", web::patch().to(auth::change_password))
                .route("/users", web::get().to(users::list))
                .route("/users", web::post().to(users::create))
                .route("/users/{id}", web::patch().to(users::update))
                .route("/users/{id}", web::delete().to(users::delete))
                .route("/machines", web::get().to(machines::list))
                .route("/machines", web::post().to(machines::create))
                .route("/machines/{id}", web::get().to(machines::get))
                .route("/machines/{id}", web::patch().to(machines::update))
                .route("/machines/{id}", web::delete().to(machines::delete))
                .route(
                    "/machines/{id}/rotate-key",
                    web::post().to(machines::rotate_key),
                )
                .route(
                    "/machines/{id}/revoke-key",
                    web::post().to(machines::revoke_key),
                )
                .route("/machines/{id}/latest", web::get().to(machines::latest))
                .route("/machines/{id}/metrics", web::get().to(machines::history))
                .route("/machines/{id}/export", web::get().to(export::machine))
                .route("/metrics", web::get().to(metrics::overview))
                .route("/me", web::delete().to(me::delete))
                .route("/me/export", web::get().to(me::export))
                .route("/enrollment-tokens", web::get().to(enrollment::list))
                .route("/enrollment-tokens", web::post().to(enrollment::create))
                .route(
                    "/enrollment-tokens/{id}",
                    web::delete().to(enrollment::delete),
                )
                .route("/alert-rules", web::get().to(alert_rules::list))
                .route("/alert-rules", web::post().to(alert_rules::create))
                .route("/alert-rules/{id}", web::get().to(alert_rules::get))
                .route("/alert-rules/{id}", web::put().to(alert_rules::update))
                .route("/alert-rules/{id}", web::delete().to(alert_rules::delete))
                .route("/alert-events", web::get().to(alert_events::list))
                .route("/alert-events/{id}", web::get().to(alert_events::get))
                .route(
                    "/alert-events/{id}/ack",
                    web::post().to(alert_events::acknowledge),
                )
                .route("/channels", web::get().to(channels::list))
                .route("/channels", web::post().to(channels::create))
                .route("/channels/{id}", web::delete().to(channels::delete))
                .route("/channels/{id}/test", web::post().to(channels::test))
                .route("/admin/audit-log", web::get().to(admin::audit_log))
                .route("/admin/retention", web::get().to(admin::get_retention))
                .route("/admin/retention", web::put().to(admin::put_retention)),
        )
        .default_service(web::to(ui::fallback));
}
