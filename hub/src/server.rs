//! The listening socket: actix-web for the dashboard, the REST API and the HTTP agent
//! endpoints; the long-lived WebSockets taken over before actix-http's dispatcher.
//!
//! An agent socket lives for days and carries a small frame per second; a dashboard
//! socket lives as long as the tab. Served by actix-http, each keeps the dispatcher's
//! read and write buffers (8 KiB each, grown to 16 KiB under load) plus actix-ws's
//! codec for its whole life: half of what a connection cost (`docs/architecture.md`,
//! *Where per-connection memory goes*). So on plain HTTP each new connection's first
//! request is looked at before actix-http sees it ([`first_request`]): an upgrade to
//! `/agent/stream` or `/api/live` that passes the same admission as actix-web's
//! handlers (`http::agent::admit`, `http::live::admit`) is answered by tokio-tungstenite
//! with a small read buffer. Everything else, including every refused upgrade (its
//! error is worded by actix-web's handler) and upgrades after other requests on a
//! kept-alive connection, goes to actix-http unchanged. With TLS the hub serves every
//! connection through actix-web.

pub mod first_request;
mod linger;

use std::net::TcpListener;
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_http::{HttpService, KeepAlive};
use actix_server::Server;
use actix_service::{
    IntoServiceFactory as _, Service, ServiceFactory, ServiceFactoryExt as _, fn_factory,
    fn_service, map_config,
};
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context as _;
use futures_util::StreamExt as _;
use lunasentri_schema::protocol::MAX_BATCH_BYTES;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::actors::socket::Inbound;
use crate::actors::{AgentSession, BrowserSession};
use crate::http;
use crate::state::AppState;
use first_request::{Head, Kind, MAX_HEAD, UpgradeHead};
use linger::Lingering;

/// actix-web's defaults, kept for the plain-HTTP server built here.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Seconds workers get to finish their connections on stop.
const SHUTDOWN_TIMEOUT: u64 = 5;
/// Pause between two looks at an incomplete first request.
const HEAD_POLL: Duration = Duration::from_millis(5);
/// Initial read buffer of a socket taken over, and the most read per call. The buffer
/// grows to fit the largest frame; agent frames are 1–4 KB, and starting at 1 KiB it
/// settles at about 4 KiB where 4 KiB settled at 8 KiB (tungstenite doubles it when a
/// frame's tail is already in it), with no measurable CPU cost
/// (`docs/architecture.md`).
const READ_BUFFER: usize = 1024;

/// Everything the server needs.
pub struct Options {
    pub state: web::Data<AppState>,
    pub tls: Option<rustls::ServerConfig>,
    pub blocking_threads: usize,
}

/// The actix-web application: every route and middleware.
fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .wrap(http::errors::json_errors())
        .wrap(middleware::Compress::default())
        .wrap(middleware::DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
        .configure(http::configure)
}

/// Binds the server to `listener`; it runs once awaited.
pub fn start(listener: TcpListener, opts: Options) -> anyhow::Result<Server> {
    let Options {
        state,
        tls,
        blocking_threads,
    } = opts;
    if let Some(tls) = tls {
        let server = HttpServer::new(move || app(state.clone()))
            .disable_signals()
            .worker_max_blocking_threads(blocking_threads)
            .shutdown_timeout(SHUTDOWN_TIMEOUT)
            .listen_rustls_0_23(listener, tls)?;
        return Ok(server.run());
    }
    let addr = listener.local_addr().context("listener address")?;
    let server = Server::build()
        .disable_signals()
        .worker_max_blocking_threads(blocking_threads)
        .shutdown_timeout(SHUTDOWN_TIMEOUT)
        .listen("lunasentri", listener, move || {
            let http = HttpService::build()
                .keep_alive(KeepAlive::Timeout(KEEP_ALIVE))
                .client_request_timeout(REQUEST_TIMEOUT)
                .client_disconnect_timeout(DISCONNECT_TIMEOUT)
                .tcp_nodelay(true)
                .local_addr(addr)
                .finish(map_config(
                    app(state.clone())
                        .into_factory()
                        .map_err(|e| e.error_response()),
                    // Only a fallback for requests without a Host header (HTTP/1.0).
                    |_| AppConfig::default(),
                ))
                .tcp();
            let state = state.clone();
            fn_factory(move || {
                let (http, state) = (http.new_service(()), state.clone());
                async move {
                    let http = Rc::new(http.await?);
                    Ok::<_, ()>(fn_service(move |io: TcpStream| {
                        serve(io, http.clone(), state.clone())
                    }))
                }
            })
        })?;
    Ok(server.run())
}

/// One accepted connection.
async fn serve<S>(io: TcpStream, http: Rc<S>, state: web::Data<AppState>) -> Result<(), S::Error>
where
    S: Service<TcpStream, Response = ()>,
{
    let io = match upgrade_head(&io).await {
        Some(head) => match take_over(io, head, &state).await {
            Ok(()) => return Ok(()),
            Err(io) => io,
        },
        None => io,
    };
    http.call(io).await
}

/// Serves an admitted upgrade itself; hands a refused one back for actix-web to answer.
async fn take_over(
    io: TcpStream,
    head: UpgradeHead,
    state: &web::Data<AppState>,
) -> Result<(), TcpStream> {
    match head.kind {
        Kind::Agent => {
            let Ok(machine_id) = http::agent::admit(state, &head).await else {
                return Err(io);
            };
            if let Some(ws) = accept(io, MAX_BATCH_BYTES).await {
                let (sink, stream) = ws.split();
                let inbound = stream.map(Inbound::from);
                AgentSession::spawn(machine_id, inbound, sink, state.live.agent.clone());
            }
        }
        Kind::Live => {
            let Ok(user) = http::live::admit(state, &head).await else {
                return Err(io);
            };
            if let Some(ws) = accept(io, http::live::MAX_CLIENT_FRAME).await {
                let (sink, stream) = ws.split();
                let deps = http::live::browser_deps(state, &user);
                BrowserSession::spawn(deps, stream.map(Inbound::from), sink);
            }
        }
    }
    Ok(())
}

/// Looks at the connection's first request without consuming it.
async fn upgrade_head(io: &TcpStream) -> Option<UpgradeHead> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut buf = vec![0; MAX_HEAD];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let n = tokio::time::timeout(left, io.peek(&mut buf))
            .await
            .ok()?
            .ok()?;
        match first_request::classify(&buf[..n]) {
            Head::Upgrade(head) => return Some(head),
            Head::Incomplete if n > 0 => tokio::time::sleep(HEAD_POLL).await,
            Head::Incomplete | Head::Other => return None,
        }
    }
}

/// Completes the WebSocket handshake of an admitted upgrade; `None` (logged) if the
/// peer broke it off. The socket lingers when the session drops it ([`linger`]).
async fn accept(io: TcpStream, max_message: usize) -> Option<WebSocketStream<Lingering>> {
    let _ = io.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_frame_size(Some(max_message))
        .max_message_size(Some(max_message));
    tokio_tungstenite::accept_async_with_config(Lingering::new(io), Some(config))
        .await
        .inspect_err(|e| tracing::info!(error = %e, "WebSocket handshake failed"))
        .ok()
}
