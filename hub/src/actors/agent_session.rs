//! `AgentSession`: one per agent WebSocket on `/agent/stream`. The key and protocol
//! version were checked before the upgrade (see `http::agent::admit`); whichever
//! library serves the socket ([`super::socket`]), this actor parses and
//! validates frames, enforces size and rate limits, keeps the heartbeat, forwards to
//! its [`MachineActor`], and acknowledges samples once the writer has committed them.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::actors::socket::Utf8Bytes;
use actix::prelude::*;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use lunasentri_schema::protocol::{MAX_BATCH_BYTES, MAX_BATCH_SAMPLES, MAX_FRAME_BYTES, close};
use lunasentri_schema::{AgentFrame, HubFrame, Sample};

use super::machine::{
    AgentGone, CloseAgent, HelloReceived, MachineActor, MachineSettings, SamplesReceived,
};
use super::outbox::Outbox;
use super::socket::{Inbound, Socket};
use super::subscription_registry::SubscriptionRegistry;
use super::writer::{Committed, Done, Writer};
use crate::telemetry::HubMetrics;
use crate::validate;

/// How often the hub pings an agent.
const PING_EVERY: Duration = Duration::from_secs(15);
/// Silence after which the connection is considered dead.
const PEER_TIMEOUT: Duration = Duration::from_secs(45);
/// Acks and errors waiting to be written; a newer ack supersedes an older one.
const OUTBOX: usize = 256;

/// Everything an agent session needs from the hub.
#[derive(Clone)]
pub struct AgentDeps {
    pub registry: Addr<SubscriptionRegistry>,
    pub writer: Writer,
    pub metrics: Arc<HubMetrics>,
    pub machine: MachineSettings,
    pub frames_per_second: u32,
}

/// The actor.
pub struct AgentSession {
    machine_id: i64,
    deps: AgentDeps,
    out: Outbox,
    machine: Option<Addr<MachineActor>>,
    limiter: DefaultDirectRateLimiter,
    acked: u64,
    last_heard: Instant,
    closing: bool,
}

impl AgentSession {
    /// Starts the session on this arbiter, reading `inbound` and writing to `socket`.
    pub fn spawn(
        machine_id: i64,
        inbound: impl Stream<Item = Inbound> + 'static,
        socket: impl Socket,
        deps: AgentDeps,
    ) {
        tracing::info!(machine_id, "agent connected");
        AgentSession::create(|ctx| {
            ctx.add_stream(inbound);
            AgentSession::new(machine_id, Outbox::start(socket, OUTBOX, None, None), deps)
        });
    }

    fn new(machine_id: i64, out: Outbox, deps: AgentDeps) -> Self {
        let per_sec = NonZeroU32::new(deps.frames_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = per_sec.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
        Self {
            machine_id,
            limiter: RateLimiter::direct(Quota::per_second(per_sec).allow_burst(burst)),
            deps,
            out,
            machine: None,
            acked: 0,
            last_heard: Instant::now(),
            closing: false,
        }
    }

    fn send(&self, frame: &HubFrame) {
        self.out.push(Utf8Bytes::from(
            serde_json::to_string(frame).unwrap_or_default(),
        ));
    }

    /// Sends an `error` frame naming the problem, then closes with `code`.
    fn fail(&mut self, ctx: &mut Context<Self>, code: u16, err: &str, message: String) {
        if self.closing {
            return;
        }
        tracing::warn!(machine_id = self.machine_id, code = err, %message, "agent frame refused");
        self.send(&HubFrame::Error {
            code: err.into(),
            message: message.clone(),
        });
        self.close(ctx, code, &message);
    }

    fn close(&mut self, ctx: &mut Context<Self>, code: u16, reason: &str) {
        self.closing = true;
        self.out.close(code, reason);
        ctx.stop();
    }

    fn forward(&mut self, ctx: &mut Context<Self>, samples: Vec<Sample>) {
        let now = self.deps.machine.clock.now_ms();
        for s in &samples {
            if let Err(msg) = validate::sample(s, now) {
                self.deps.metrics.reject("invalid_sample");
                return self.fail(
                    ctx,
                    close::BAD_FRAME,
                    "invalid_sample",
                    format!("seq {}: {msg}", s.seq),
                );
            }
        }
        let Some(machine) = &self.machine else { return };
        machine.do_send(SamplesReceived {
            samples,
            received: Instant::now(),
            done: Done::Agent(ctx.address().recipient()),
        });
    }

    fn on_text(&mut self, ctx: &mut Context<Self>, text: Utf8Bytes) {
        if self.limiter.check().is_err() {
            self.deps.metrics.reject("rate_limited");
            let msg = format!(
                "more than {} frames per second",
                self.deps.frames_per_second
            );
            return self.fail(ctx, close::RATE_LIMITED, "rate_limited", msg);
        }
        let frame = match AgentFrame::from_json(&text) {
            Ok(f) => f,
            Err(e) => {
                self.deps.metrics.reject("malformed");
                return self.fail(
                    ctx,
                    close::BAD_FRAME,
                    "malformed_frame",
                    format!("not a valid frame: {e}"),
                );
            }
        };
        let is_batch = matches!(frame, AgentFrame::Batch { .. });
        if text.len() > MAX_FRAME_BYTES && !is_batch {
            self.deps.metrics.reject("too_large");
            let msg = format!(
                "frame of {} bytes exceeds {MAX_FRAME_BYTES} (only batch frames may be larger)",
                text.len()
            );
            return self.fail(ctx, close::BAD_FRAME, "frame_too_large", msg);
        }
        match frame {
            AgentFrame::Hello(h) => {
                if let Some(m) = &self.machine {
                    m.do_send(HelloReceived(h));
                }
            }
            AgentFrame::Sample(s) => self.forward(ctx, vec![s]),
            AgentFrame::Batch { samples } => {
                if samples.len() > MAX_BATCH_SAMPLES {
                    self.deps.metrics.reject("too_large");
                    let msg = format!(
                        "batch of {} samples exceeds {MAX_BATCH_SAMPLES}",
                        samples.len()
                    );
                    return self.fail(ctx, close::BAD_FRAME, "batch_too_large", msg);
                }
                if !samples.is_empty() {
                    self.forward(ctx, samples);
                }
            }
        }
    }
}

impl Actor for AgentSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.deps.metrics.agents_connected.inc();
        let machine = MachineActor::new(
            self.machine_id,
            self.deps.registry.clone(),
            self.deps.writer.clone(),
            self.deps.metrics.clone(),
            self.deps.machine.clone(),
            Some(ctx.address().recipient()),
        )
        .start();
        self.machine = Some(machine);
        ctx.run_interval(PING_EVERY, |act, ctx| {
            if act.last_heard.elapsed() > PEER_TIMEOUT {
                tracing::info!(machine_id = act.machine_id, "agent timed out");
                return act.close(ctx, close::GOING_AWAY, "no traffic for 45 s");
            }
            act.out.ping();
        });
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.deps.metrics.agents_connected.dec();
        if let Some(m) = self.machine.take() {
            m.do_send(AgentGone);
        }
        self.out.close(close::GOING_AWAY, "session ended");
        Running::Stop
    }
}

impl StreamHandler<Inbound> for AgentSession {
    fn handle(&mut self, item: Inbound, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        self.last_heard = Instant::now();
        match item {
            Inbound::Text(text) => self.on_text(ctx, text),
            Inbound::Binary => {
                self.deps.metrics.reject("binary");
                self.fail(
                    ctx,
                    close::BAD_FRAME,
                    "binary_frame",
                    "binary frames are not supported: send JSON text".into(),
                );
            }
            Inbound::Ping(p) => self.out.pong(p),
            Inbound::Pong => {}
            Inbound::Close => {
                self.closing = true;
                ctx.stop();
            }
            Inbound::TooLarge => {
                self.deps.metrics.reject("too_large");
                let msg =
                    format!("frame exceeds {MAX_BATCH_BYTES} bytes (the largest batch frame)");
                self.fail(ctx, close::BAD_FRAME, "frame_too_large", msg);
            }
            Inbound::Lost(e) => {
                // The peer went away mid-frame: a lost connection, not bad input.
                tracing::debug!(machine_id = self.machine_id, error = %e, "agent connection lost");
                self.closing = true;
                ctx.stop();
            }
            Inbound::Protocol(e) => {
                self.deps.metrics.reject("protocol");
                let msg = format!("WebSocket protocol error: {e}");
                self.fail(ctx, close::BAD_FRAME, "protocol_error", msg);
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<Committed> for AgentSession {
    type Result = ();
    fn handle(&mut self, msg: Committed, ctx: &mut Context<Self>) {
        match msg.result {
            Ok(_) if msg.seq > self.acked => {
                self.acked = msg.seq;
                self.send(&HubFrame::Ack { seq: msg.seq });
            }
            Ok(_) => {}
            Err(e) => {
                let text = format!(
                    "storage failed, samples were not acknowledged and should be replayed: {e}"
                );
                self.fail(ctx, 1011, "storage_error", text);
            }
        }
    }
}

impl Handler<CloseAgent> for AgentSession {
    type Result = ();
    fn handle(&mut self, msg: CloseAgent, ctx: &mut Context<Self>) {
        // Going away is no error on the agent's side: the close code says it all.
        if msg.code != close::GOING_AWAY {
            self.send(&HubFrame::Error {
                code: "closed".into(),
                message: msg.reason.clone(),
            });
        }
        self.close(ctx, msg.code, &msg.reason);
    }
}
