//! `MachineActor`: one per connected machine (and until it is declared offline after its
//! agent leaves). Owns the machine's live status, publishes each new sample once
//! (serialised once for every watcher, delivered through the machine's feed) and hands
//! rows to the writer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::actors::socket::Utf8Bytes;
use actix::prelude::*;
use lunasentri_schema::protocol::{MAX_INTERVAL_MS, MIN_INTERVAL_MS, close};
use lunasentri_schema::{Hello, MachineStatus, Sample};
use serde::Serialize;

use super::feed::{Feed, Feeds};
use super::subscription_registry::{MachineAttached, MachineDetached, SubscriptionRegistry};
use super::writer::{Done, WriteJob, Writer};
use crate::alerts::AlertEngine;
use crate::clock::Clock;
use crate::cluster::{ClusterLink, ControlEvent};
use crate::db::metrics::MetricRow;
use crate::telemetry::HubMetrics;

/// Distinguishes successive actors of the same machine.
static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Interval assumed until an agent says otherwise (the agent's default).
const DEFAULT_INTERVAL_MS: i64 = 5_000;

/// Tells the agent session to close with a code (sent by [`MachineActor`]).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct CloseAgent {
    pub code: u16,
    pub reason: String,
}

/// Registry → machine.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub enum MachineCommand {
    /// A newer connection with the same key took over.
    Replaced,
    /// The key was rotated or revoked.
    KeyRevoked,
    /// The machine was deleted.
    Removed,
    /// The hub is shutting down: the agent is told to reconnect; the machine's status
    /// is left as it is (it is back with the hub, or with another hub, in a moment).
    ShuttingDown,
}

/// The agent sent `hello`.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct HelloReceived(pub Hello);

/// Validated samples from an agent (one live sample, or a replayed batch).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SamplesReceived {
    pub samples: Vec<Sample>,
    pub received: Instant,
    pub done: Done,
}

/// The agent's socket closed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct AgentGone;

/// Settings a machine actor runs with, the alert engine it feeds and the live feeds
/// it publishes to.
#[derive(Debug, Clone)]
pub struct MachineSettings {
    pub clock: Clock,
    /// Every machine's watchers (see [`super::feed`]).
    pub feeds: Feeds,
    pub alerts: Arc<AlertEngine>,
    /// A machine is offline after 3 missed intervals, and never sooner than this.
    pub offline_after_min: Duration,
    /// How often status is re-evaluated.
    pub tick: Duration,
    /// Cluster mode: samples and status also go to the other hubs.
    pub cluster: Option<ClusterLink>,
}

/// The live `sample` frame, serialised from a borrowed sample.
#[derive(Serialize)]
struct SampleFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    machine_id: i64,
    sample: &'a Sample,
}

/// Serialises a live `sample` frame without cloning the sample.
pub fn sample_frame(machine_id: i64, sample: &Sample) -> Utf8Bytes {
    let f = SampleFrame {
        kind: "sample",
        machine_id,
        sample,
    };
    Utf8Bytes::from(serde_json::to_string(&f).unwrap_or_default())
}

/// The actor.
pub struct MachineActor {
    conn_id: u64,
    machine_id: i64,
    registry: Addr<SubscriptionRegistry>,
    feed: Arc<Feed>,
    writer: Writer,
    metrics: Arc<HubMetrics>,
    settings: MachineSettings,
    agent: Option<Recipient<CloseAgent>>,
    agent_gone: bool,
    interval_ms: i64,
    status: MachineStatus,
    last_heard: Option<i64>,
    last_published_ts: i64,
}

impl MachineActor {
    pub fn new(
        machine_id: i64,
        registry: Addr<SubscriptionRegistry>,
        writer: Writer,
        metrics: Arc<HubMetrics>,
        settings: MachineSettings,
        agent: Option<Recipient<CloseAgent>>,
    ) -> Self {
        Self {
            conn_id: NEXT_CONN.fetch_add(1, Ordering::Relaxed),
            machine_id,
            registry,
            feed: settings.feeds.get(machine_id),
            writer,
            metrics,
            settings,
            agent_gone: agent.is_none(),
            agent,
            interval_ms: DEFAULT_INTERVAL_MS,
            status: MachineStatus::Pending,
            last_heard: None,
            last_published_ts: i64::MIN,
        }
    }

    pub fn conn_id(&self) -> u64 {
        self.conn_id
    }

    fn offline_after_ms(&self) -> i64 {
        (3 * self.interval_ms).max(self.settings.offline_after_min.as_millis() as i64)
    }

    fn set_status(&mut self, status: MachineStatus) {
        if self.status == status {
            return;
        }
        self.status = status;
        self.settings.alerts.on_status(self.machine_id, status);
        let last_seen = self.last_heard;
        self.feed
            .lock()
            .set_status(self.machine_id, status, last_seen);
        if let Some(link) = &self.settings.cluster {
            link.publish_status(self.machine_id, status, last_seen);
        }
        let _ = self.writer.try_submit(WriteJob::Status {
            machine_id: self.machine_id,
            status,
            last_seen,
        });
        tracing::info!(
            machine_id = self.machine_id,
            status = status.as_str(),
            conn_id = self.conn_id,
            "machine status"
        );
    }

    fn close_agent(&mut self, code: u16, reason: &str) {
        if let Some(a) = self.agent.take() {
            a.do_send(CloseAgent {
                code,
                reason: reason.into(),
            });
        }
        self.agent_gone = true;
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = self.settings.clock.now_ms();
        if self.status == MachineStatus::Online
            && self
                .last_heard
                .is_some_and(|h| now - h > self.offline_after_ms())
        {
            self.set_status(MachineStatus::Offline);
        }
        if self.agent_gone && self.status != MachineStatus::Online {
            ctx.stop();
        }
    }
}

impl Actor for MachineActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.registry.do_send(MachineAttached {
            machine_id: self.machine_id,
            conn_id: self.conn_id,
            addr: ctx.address(),
        });
        if let (Some(link), Some(_)) = (&self.settings.cluster, &self.agent) {
            link.announce(ControlEvent::AgentAttached {
                machine_id: self.machine_id,
            });
        }
        ctx.run_interval(self.settings.tick, |act, ctx| act.tick(ctx));
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.registry.do_send(MachineDetached {
            machine_id: self.machine_id,
            conn_id: self.conn_id,
        });
        Running::Stop
    }
}

impl Handler<HelloReceived> for MachineActor {
    type Result = ();
    fn handle(&mut self, msg: HelloReceived, _: &mut Context<Self>) {
        if msg.0.interval_ms > 0 {
            self.interval_ms = msg.0.interval_ms.clamp(MIN_INTERVAL_MS, MAX_INTERVAL_MS) as i64;
        }
        let _ = self.writer.try_submit(WriteJob::Hello {
            machine_id: self.machine_id,
            hello: Box::new(msg.0),
        });
    }
}

impl Handler<SamplesReceived> for MachineActor {
    type Result = ();
    fn handle(&mut self, msg: SamplesReceived, _: &mut Context<Self>) {
        let SamplesReceived {
            mut samples,
            received,
            done,
        } = msg;
        let Some(at) = (0..samples.len()).max_by_key(|&i| samples[i].ts) else {
            return;
        };
        // The newest is moved into the feed as the latest sample, not copied.
        let newest = Arc::new(samples.swap_remove(at));
        self.last_heard = Some(self.settings.clock.now_ms());
        self.set_status(MachineStatus::Online);
        self.metrics
            .samples_received
            .inc_by(samples.len() as u64 + 1);
        // Live viewers get the newest sample only; a replayed backlog is history.
        if newest.ts > self.last_published_ts {
            self.last_published_ts = newest.ts;
            let frame = sample_frame(self.machine_id, &newest);
            if let Some(link) = &self.settings.cluster {
                link.publish_sample(self.machine_id, frame.clone());
            }
            let watchers = self.feed.publish(newest.clone(), &frame);
            self.metrics.fanned_out(received, watchers);
            self.settings.alerts.on_sample(self.machine_id, &newest);
        }
        let all = || samples.iter().chain(std::iter::once(&*newest));
        let max_seq = all().map(|s| s.seq).max().unwrap_or(0);
        let rows = all()
            .map(|s| MetricRow::from_sample(self.machine_id, s))
            .collect();
        let job = WriteJob::Samples {
            machine_id: self.machine_id,
            rows,
            max_seq,
            done,
        };
        if let Err(WriteJob::Samples { rows, done, .. }) = self.writer.try_submit(job) {
            // Not queued, so never acknowledged: the agent keeps the samples and replays.
            for _ in 0..rows.len() {
                self.metrics.reject("writer_full");
            }
            match done {
                Done::Agent(_) => {
                    self.close_agent(1013, "hub storage is busy; reconnect and replay")
                }
                Done::Http(tx) => {
                    let _ = tx.send(Err("hub storage is busy; retry later".into()));
                }
            }
        }
    }
}

impl Handler<AgentGone> for MachineActor {
    type Result = ();
    fn handle(&mut self, _: AgentGone, ctx: &mut Context<Self>) {
        self.agent = None;
        self.agent_gone = true;
        if self.status != MachineStatus::Online {
            ctx.stop();
        }
    }
}

impl Handler<MachineCommand> for MachineActor {
    type Result = ();
    fn handle(&mut self, msg: MachineCommand, ctx: &mut Context<Self>) {
        match msg {
            MachineCommand::Replaced => {
                self.close_agent(
                    close::REPLACED,
                    "replaced by a newer connection with the same key",
                );
            }
            MachineCommand::KeyRevoked => {
                self.close_agent(
                    close::KEY_REVOKED,
                    "the machine's key was rotated or revoked",
                );
                self.set_status(MachineStatus::Offline);
            }
            MachineCommand::Removed => {
                self.close_agent(close::KEY_REVOKED, "the machine was deleted")
            }
            MachineCommand::ShuttingDown => {
                return self.close_agent(close::GOING_AWAY, "the hub is shutting down");
            }
        }
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lunasentri_schema::LiveFrame;

    /// The borrowed frame is exactly the schema's `LiveFrame::Sample`.
    #[test]
    fn sample_frame_matches_schema() {
        let s = Sample {
            seq: 4,
            ts: 10,
            cpu_pct: 3.5,
            ..Sample::default()
        };
        let parsed: LiveFrame = serde_json::from_str(&sample_frame(7, &s)).unwrap();
        assert_eq!(
            parsed,
            LiveFrame::Sample {
                machine_id: 7,
                sample: s
            }
        );
    }
}
