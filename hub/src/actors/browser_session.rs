//! `BrowserSession`: one per dashboard socket on `/api/live`. The user was
//! authenticated and the Origin checked before the upgrade (see `http::live`). It
//! relays subscribe/unsubscribe to the registry and writes frames through a bounded
//! [`Outbox`]: a browser that stops reading loses its oldest frames and is told
//! `lagged {dropped}`; it never slows the registry or another browser.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_ws::{AggregatedMessage, ProtocolError};
use bytestring::ByteString;
use lunasentri_schema::{LiveClientFrame, LiveFrame};

use super::outbox::Outbox;
use super::subscription_registry::{
    Connect, Deliver, Disconnect, EndSession, SessionId, Subscribe, SubscriptionRegistry,
    Unsubscribe, encode,
};
use crate::telemetry::HubMetrics;

const PING_EVERY: Duration = Duration::from_secs(10);
const PEER_TIMEOUT: Duration = Duration::from_secs(30);

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

fn lagged(dropped: u64) -> ByteString {
    encode(&LiveFrame::Lagged { dropped })
}

/// The actor.
pub struct BrowserSession {
    id: SessionId,
    user_id: i64,
    is_admin: bool,
    auth_session_id: i64,
    registry: Addr<SubscriptionRegistry>,
    metrics: Arc<HubMetrics>,
    ws: actix_ws::Session,
    queue_cap: usize,
    out: Option<Outbox>,
    last_heard: Instant,
}

impl BrowserSession {
    pub fn new(
        user_id: i64,
        is_admin: bool,
        auth_session_id: i64,
        registry: Addr<SubscriptionRegistry>,
        metrics: Arc<HubMetrics>,
        ws: actix_ws::Session,
        queue_cap: usize,
    ) -> Self {
        Self {
            id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
            user_id,
            is_admin,
            auth_session_id,
            registry,
            metrics,
            ws,
            queue_cap,
            out: None,
            last_heard: Instant::now(),
        }
    }

    fn push(&self, frame: ByteString) {
        if let Some(out) = &self.out {
            let dropped = out.push(frame);
            if dropped > 0 {
                self.metrics.frames_dropped.inc_by(dropped);
            }
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
        self.out = Some(Outbox::start(self.ws.clone(), self.queue_cap, Some(lagged)));
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
                if let Some(out) = &act.out {
                    out.close(1001, "no traffic for 30 s");
                }
                return ctx.stop();
            }
            let mut ws = act.ws.clone();
            actix_web::rt::spawn(async move {
                let _ = ws.ping(b"").await;
            });
        });
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.metrics.browser_sessions.dec();
        self.registry.do_send(Disconnect {
            session_id: self.id,
        });
        if let Some(out) = &self.out {
            out.close(1001, "session ended");
        }
        Running::Stop
    }
}

impl StreamHandler<Result<AggregatedMessage, ProtocolError>> for BrowserSession {
    fn handle(&mut self, item: Result<AggregatedMessage, ProtocolError>, ctx: &mut Context<Self>) {
        self.last_heard = Instant::now();
        match item {
            Ok(AggregatedMessage::Text(text)) => self.on_text(&text),
            Ok(AggregatedMessage::Binary(_)) => {
                self.error(
                    "bad_request",
                    "binary frames are not supported: send JSON text".into(),
                );
            }
            Ok(AggregatedMessage::Ping(p)) => {
                let mut ws = self.ws.clone();
                actix_web::rt::spawn(async move {
                    let _ = ws.pong(&p).await;
                });
            }
            Ok(AggregatedMessage::Pong(_)) => {}
            Ok(AggregatedMessage::Close(_)) | Err(_) => ctx.stop(),
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<Deliver> for BrowserSession {
    type Result = ();
    fn handle(&mut self, msg: Deliver, _: &mut Context<Self>) {
        self.push(msg.0);
    }
}

impl Handler<EndSession> for BrowserSession {
    type Result = ();
    fn handle(&mut self, msg: EndSession, ctx: &mut Context<Self>) {
        if let Some(out) = &self.out {
            out.close(4401, msg.reason);
        }
        ctx.stop();
    }
}
