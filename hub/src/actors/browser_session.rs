//! `BrowserSession`: one per dashboard socket on `/api/live`. The user was
//! authenticated and the Origin checked before the upgrade (see `http::live`). It
//! relays subscribe/unsubscribe to the registry and writes frames through a bounded
//! [`Outbox`]: a browser that stops reading loses its oldest frames and is told
//! `lagged {dropped}`; it never slows the registry or another browser.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::actors::socket::Utf8Bytes;
use actix::prelude::*;
use lunasentri_schema::protocol::close;
use lunasentri_schema::{LiveClientFrame, LiveFrame};

use super::outbox::{Origin, Outbox, Timings};
use super::socket::{Inbound, Socket};
use super::subscription_registry::{
    Connect, Deliver, Disconnect, EndSession, SessionId, Subscribe, SubscriptionRegistry,
    Unsubscribe, encode, lagged,
};
use crate::telemetry::HubMetrics;

const PING_EVERY: Duration = Duration::from_secs(10);
const PEER_TIMEOUT: Duration = Duration::from_secs(30);

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// The actor.
pub struct BrowserSession {
    id: SessionId,
    user_id: i64,
    is_admin: bool,
    auth_session_id: i64,
    registry: Addr<SubscriptionRegistry>,
    metrics: Arc<HubMetrics>,
    out: Outbox,
    last_heard: Instant,
}

/// Who a dashboard socket belongs to, and where it sends.
pub struct BrowserDeps {
    pub user_id: i64,
    pub is_admin: bool,
    /// The login session the socket was opened with (its logout ends the socket).
    pub auth_session_id: i64,
    pub registry: Addr<SubscriptionRegistry>,
    pub metrics: Arc<HubMetrics>,
    /// Frames the outbound queue holds before dropping the oldest.
    pub queue_cap: usize,
}

impl BrowserSession {
    /// Starts the session on this arbiter, reading `inbound` and writing to `socket`.
    pub fn spawn(
        deps: BrowserDeps,
        inbound: impl Stream<Item = Inbound> + 'static,
        socket: impl Socket,
    ) {
        let timings = Some(Timings {
            waited: deps.metrics.outbox_wait_seconds.clone(),
            sample_age: deps.metrics.live_sample_age_seconds.clone(),
        });
        BrowserSession::create(|ctx| {
            ctx.add_stream(inbound);
            Self {
                id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
                user_id: deps.user_id,
                is_admin: deps.is_admin,
                auth_session_id: deps.auth_session_id,
                registry: deps.registry,
                metrics: deps.metrics,
                out: Outbox::start(socket, deps.queue_cap, Some(lagged), timings),
                last_heard: Instant::now(),
            }
        });
    }

    fn push(&self, frame: Utf8Bytes) {
        self.push_from(frame, Origin::now());
    }

    fn push_from(&self, frame: Utf8Bytes, origin: Origin) {
        let dropped = self.out.push_from(frame, origin);
        if dropped > 0 {
            self.metrics.frames_dropped.inc_by(dropped);
        }
    }

    fn error(&self, code: &str, message: String) {
        self.push(encode(&LiveFrame::Error {
            code: code.into(),
            machine_id: None,
            message,
        }));
    }

    fn on_text(&mut self, text: &str) {
        match serde_json::from_str::<LiveClientFrame>(text) {
            Ok(LiveClientFrame::Subscribe { machine_ids }) => {
                self.registry.do_send(Subscribe {
                    session_id: self.id,
                    machine_ids,
                });
            }
            Ok(LiveClientFrame::Unsubscribe { machine_ids }) => {
                self.registry.do_send(Unsubscribe {
                    session_id: self.id,
                    machine_ids,
                });
            }
            Err(e) => self.error("bad_request", format!("not a valid live frame: {e}")),
        }
    }
}

impl Actor for BrowserSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.metrics.browser_sessions.inc();
        self.registry.do_send(Connect {
            session_id: self.id,
            user_id: self.user_id,
            is_admin: self.is_admin,
            auth_session_id: self.auth_session_id,
            deliver: ctx.address().recipient(),
            end: ctx.address().recipient(),
        });
        ctx.run_interval(PING_EVERY, |act, ctx| {
            if act.last_heard.elapsed() > PEER_TIMEOUT {
                act.out.close(close::GOING_AWAY, "no traffic for 30 s");
                return ctx.stop();
            }
            act.out.ping();
        });
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.metrics.browser_sessions.dec();
        self.registry.do_send(Disconnect {
            session_id: self.id,
        });
        self.out.close(close::GOING_AWAY, "session ended");
        Running::Stop
    }
}

impl StreamHandler<Inbound> for BrowserSession {
    fn handle(&mut self, item: Inbound, ctx: &mut Context<Self>) {
        self.last_heard = Instant::now();
        match item {
            Inbound::Text(text) => self.on_text(&text),
            Inbound::Binary => {
                self.error(
                    "bad_request",
                    "binary frames are not supported: send JSON text".into(),
                );
            }
            Inbound::Ping(p) => self.out.pong(p),
            Inbound::Pong => {}
            Inbound::Close | Inbound::TooLarge | Inbound::Lost(_) | Inbound::Protocol(_) => {
                ctx.stop()
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<Deliver> for BrowserSession {
    type Result = ();
    fn handle(&mut self, msg: Deliver, _: &mut Context<Self>) {
        self.push_from(msg.frame, msg.origin);
    }
}

impl Handler<EndSession> for BrowserSession {
    type Result = ();
    fn handle(&mut self, msg: EndSession, ctx: &mut Context<Self>) {
        self.out.close(msg.code, msg.reason);
        ctx.stop();
    }
}
