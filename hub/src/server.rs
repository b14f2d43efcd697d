//! The listening socket: actix-web for the dashboard, the REST API and the HTTP agent
//! endpoints; agent WebSockets taken over before actix-http's dispatcher.
//!
//! An agent socket lives for days and carries a small frame per second. Served by
//! actix-http it keeps the dispatcher's read and write buffers (8 KiB each, the read
//! buffer regrown to 16 KiB) plus actix-ws's decoder for its whole life: half of what
//! a connection costs (`docs/architecture.md`, *Where per-connection memory goes*).
//! So on plain HTTP each new connection's first request is looked at before actix-http
//! sees it ([`first_request`]): an agent upgrade with a valid key is answered by
//! tokio-tungstenite with a 4 KiB read buffer, everything else (and every refused
//! upgrade, whose error actix-web's handler words) goes to actix-http unchanged.
//! With TLS the hub serves every connection through actix-web.

pub mod first_request;

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
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::actors::AgentSession;
use crate::actors::socket::Inbound;
use crate::http;
use crate::state::AppState;
use first_request::{AgentHead, Head, MAX_HEAD};

/// actix-web's defaults, kept for the plain-HTTP server built here.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Seconds workers get to finish their connections on stop.
const SHUTDOWN_TIMEOUT: u64 = 5;
/// Pause between two looks at an incomplete first request.
const HEAD_POLL: Duration = Duration::from_millis(5);

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
            .worker_max_blocking_threads(blocking_threads)
            .shutdown_timeout(SHUTDOWN_TIMEOUT)
            .listen_rustls_0_23(listener, tls)?;
        return Ok(server.run());
    }
    let addr = listener.local_addr().context("listener address")?;
    let server = Server::build()
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
    if let Some(head) = agent_upgrade(&io).await {
        let protocol = head.protocol.as_deref();
        if let Ok(machine_id) = http::agent::admit(&state, head.key, protocol).await {
            take_agent_socket(io, machine_id, &state).await;
            return Ok(());
        }
    }
    http.call(io).await
}

/// Looks at the connection's first request without consuming it.
async fn agent_upgrade(io: &TcpStream) -> Option<AgentHead> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut buf = vec![0; MAX_HEAD];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let n = tokio::time::timeout(left, io.peek(&mut buf))
            .await
            .ok()?
            .ok()?;
        match first_request::classify(&buf[..n]) {
            Head::Agent(head) => return Some(head),
            Head::Incomplete if n > 0 => tokio::time::sleep(HEAD_POLL).await,
            Head::Incomplete | Head::Other => return None,
        }
    }
}

/// Completes the WebSocket handshake and starts the agent's session.
async fn take_agent_socket(io: TcpStream, machine_id: i64, state: &AppState) {
    let _ = io.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_frame_size(Some(MAX_BATCH_BYTES))
        .max_message_size(Some(MAX_BATCH_BYTES));
    match tokio_tungstenite::accept_async_with_config(io, Some(config)).await {
        Ok(ws) => {
            let (sink, stream) = ws.split();
            let inbound = stream.map(Inbound::from);
            AgentSession::spawn(machine_id, inbound, sink, state.live.agent.clone());
        }
        Err(e) => tracing::info!(machine_id, error = %e, "agent WebSocket handshake failed"),
    }
}
