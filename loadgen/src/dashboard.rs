//! A simulated dashboard: one browser tab's live socket. It logs in with its user's
//! session cookie, subscribes to its machines, and records for every `sample` frame
//! the latency since the agent sent it and its seq (for loss). A *slow* dashboard (the
//! slow-dashboard scenario) subscribes and then stops reading, like a frozen tab.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lunasentri_schema::{LiveClientFrame, LiveFrame};
use serde::Deserialize;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::metrics::{Counters, SeqSet, Shared};
use crate::provision::SESSION_COOKIE;
use crate::ws::{self, Socket};

/// Attempts to open and subscribe before a dashboard gives up.
const CONNECT_ATTEMPTS: u32 = 10;
/// Kernel receive buffer of a stalled dashboard: small, so the hub feels it quickly.
const SLOW_RECV_BUFFER: u32 = 4096;
/// How long a stalled dashboard reads at the end to collect its `lagged` notices.
const SLOW_FINAL_READ: Duration = Duration::from_secs(2);
/// One frame in this many is read as the schema's full [`LiveFrame`] (see [`SampleHead`]).
const FULL_READ_EVERY: u64 = 100;

/// One watched machine.
#[derive(Debug, Clone)]
pub struct Watched {
    pub machine_id: i64,
    /// Index into [`Shared::tracks`] when this process runs the machine's agent.
    pub track: Option<usize>,
}

/// What one dashboard simulates.
#[derive(Debug, Clone)]
pub struct DashboardSpec {
    pub index: usize,
    pub session: String,
    pub watch: Vec<Watched>,
    /// Subscribe without ids (all of the user's machines).
    pub subscribe_all: bool,
    pub slow: bool,
}

/// What every dashboard of a run shares.
#[derive(Debug, Clone)]
pub struct DashboardEnv {
    pub shared: Arc<Shared>,
    pub hub: String,
    pub addr: SocketAddr,
    /// Latency from the samples' `ts` (agents in another process) instead of the send log.
    pub ts_latency: bool,
    /// Dashboards whose subscription is confirmed (snapshot received), or who gave up.
    pub ready: Arc<AtomicUsize>,
    pub failed: Arc<AtomicUsize>,
    /// Becomes true when the run is over and the dashboards should close.
    pub finish: watch::Receiver<bool>,
}

/// What a dashboard saw.
#[derive(Debug, Default)]
pub struct DashboardOutcome {
    pub index: usize,
    pub slow: bool,
    pub subscribed: bool,
    /// Seqs received per watched machine, in the order of [`DashboardSpec::watch`].
    pub received: Vec<(Watched, SeqSet)>,
    pub lagged_notices: u64,
    pub lagged_dropped: u64,
}

fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What a dashboard measures a live `sample` frame by: whose sample, which one, when it
/// was taken. Nearly every frame is a sample, and the hub writes the tag first; reading
/// only these fields skips the intermediate tree serde builds for a tagged enum and the
/// sample's own lists. Anything else, and every [`FULL_READ_EVERY`]th frame so that a
/// malformed sample still counts as an error, takes the schema's [`LiveFrame`].
#[derive(Deserialize)]
struct SampleHead {
    machine_id: i64,
    sample: SeqTs,
}

#[derive(Deserialize)]
struct SeqTs {
    seq: u64,
    ts: i64,
}

impl SampleHead {
    fn read(text: &str) -> Option<Self> {
        if !text.starts_with(r#"{"type":"sample","#) {
            return None;
        }
        serde_json::from_str(text).ok()
    }
}

struct Dash {
    spec: DashboardSpec,
    env: DashboardEnv,
    slot: HashMap<i64, usize>,
    out: DashboardOutcome,
    /// Frames received so far.
    frames: u64,
}

impl Dash {
    fn c(&self) -> &Counters {
        &self.env.shared.counters
    }

    /// Records one live sample of `machine_id` received at `now_ns`.
    fn on_sample(&mut self, machine_id: i64, seq: u64, ts: i64, now_ns: u64) {
        let Some(&pos) = self.slot.get(&machine_id) else {
            Counters::add(&self.c().unmatched, 1);
            return;
        };
        if !self.out.received[pos].1.insert(seq) {
            Counters::add(&self.c().duplicates, 1);
            return;
        }
        Counters::add(&self.c().samples_received, 1);
        let shared = &self.env.shared;
        let latency_us = if self.env.ts_latency {
            Some((epoch_ms() - ts).max(0) as u64 * 1000)
        } else {
            self.spec.watch[pos]
                .track
                .and_then(|t| shared.latency_of(t, seq, now_ns))
        };
        match latency_us {
            Some(us) => shared.record_latency_us(us),
            None => Counters::add(&self.c().unmatched, 1),
        }
    }

    /// Handles one text frame received at `now_ns`; true when it was a snapshot.
    fn on_text(&mut self, text: &str, now_ns: u64) -> bool {
        Counters::add(&self.c().frames_received, 1);
        self.frames += 1;
        if !self.frames.is_multiple_of(FULL_READ_EVERY)
            && let Some(head) = SampleHead::read(text)
        {
            self.on_sample(head.machine_id, head.sample.seq, head.sample.ts, now_ns);
            return false;
        }
        let frame = match serde_json::from_str::<LiveFrame>(text) {
            Ok(f) => f,
            Err(e) => {
                Counters::add(&self.c().dashboard_errors, 1);
                tracing::warn!(dashboard = self.spec.index, error = %e, "unreadable live frame");
                return false;
            }
        };
        match frame {
            LiveFrame::Sample { machine_id, sample } => {
                self.on_sample(machine_id, sample.seq, sample.ts, now_ns);
                false
            }
            LiveFrame::Snapshot { .. } => true,
            LiveFrame::Lagged { dropped } => {
                self.out.lagged_notices += 1;
                self.out.lagged_dropped += dropped;
                Counters::add(&self.c().lagged_notices, 1);
                Counters::add(&self.c().lagged_dropped, dropped);
                false
            }
            LiveFrame::Error {
                code, machine_id, ..
            } => {
                Counters::add(&self.c().dashboard_errors, 1);
                tracing::warn!(dashboard = self.spec.index, %code, ?machine_id, "live error frame");
                false
            }
            LiveFrame::Status { .. } | LiveFrame::Alert { .. } => false,
        }
    }

    /// Connects and subscribes; returns once the snapshot arrived.
    async fn open(&mut self) -> Option<Socket> {
        let url = format!("{}/api/live", ws::ws_base(&self.env.hub));
        let headers = [("cookie", format!("{SESSION_COOKIE}={}", self.spec.session))];
        let recv = self.spec.slow.then_some(SLOW_RECV_BUFFER);
        let subscribe = LiveClientFrame::Subscribe {
            machine_ids: (!self.spec.subscribe_all)
                .then(|| self.spec.watch.iter().map(|w| w.machine_id).collect()),
        };
        let subscribe = serde_json::to_string(&subscribe).unwrap_or_default();
        for attempt in 0..CONNECT_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
            }
            let mut sock = match ws::connect(self.env.addr, &url, &headers, recv).await {
                Ok(s) => s,
                Err(e) => {
                    Counters::add(&self.c().dashboard_errors, 1);
                    tracing::debug!(dashboard = self.spec.index, error = %e, "dashboard connect failed");
                    continue;
                }
            };
            Counters::add(&self.c().dashboard_connects, 1);
            if sock.send(Message::text(subscribe.clone())).await.is_err() {
                continue;
            }
            while let Some(Ok(msg)) = sock.next().await {
                if let Message::Text(t) = msg {
                    let now = self.env.shared.now_ns();
                    if self.on_text(&t, now) {
                        return Some(sock);
                    }
                }
            }
            Counters::add(&self.c().dashboard_errors, 1);
        }
        None
    }
}

/// Runs one dashboard until the run finishes.
pub async fn run(spec: DashboardSpec, env: DashboardEnv) -> DashboardOutcome {
    let slot = spec
        .watch
        .iter()
        .enumerate()
        .map(|(i, w)| (w.machine_id, i))
        .collect();
    let out = DashboardOutcome {
        index: spec.index,
        slow: spec.slow,
        received: spec
            .watch
            .iter()
            .map(|w| (w.clone(), SeqSet::default()))
            .collect(),
        ..DashboardOutcome::default()
    };
    let mut d = Dash {
        spec,
        env,
        slot,
        out,
        frames: 0,
    };
    let mut finish = d.env.finish.clone();
    let Some(mut sock) = d.open().await else {
        d.env.failed.fetch_add(1, Ordering::Relaxed);
        return d.out;
    };
    d.out.subscribed = true;
    d.env.ready.fetch_add(1, Ordering::Relaxed);
    if d.spec.slow {
        // A frozen tab: hold the socket, read nothing until the end.
        let _ = finish.wait_for(|f| *f).await;
        let _ = tokio::time::timeout(SLOW_FINAL_READ, async {
            while let Some(Ok(msg)) = sock.next().await {
                if let Message::Text(t) = msg {
                    let now = d.env.shared.now_ns();
                    d.on_text(&t, now);
                }
            }
        })
        .await;
        ws::close(sock).await;
        return d.out;
    }
    loop {
        tokio::select! {
            msg = sock.next() => {
                let now = d.env.shared.now_ns();
                match msg {
                    Some(Ok(Message::Text(t))) => {
                        d.on_text(&t, now);
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                        Counters::add(&d.c().dashboard_errors, 1);
                        tracing::warn!(dashboard = d.spec.index, "live socket closed by the hub; reconnecting");
                        match d.open().await {
                            Some(s) => sock = s,
                            None => return d.out,
                        }
                    }
                    Some(Ok(_)) => {}
                }
            }
            _ = async { finish.wait_for(|f| *f).await.is_ok() } => break,
        }
    }
    ws::close(sock).await;
    d.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lunasentri_schema::{MachineStatus, Sample};

    /// A sample frame as the hub writes it reads as its machine, seq and ts; any other
    /// frame, and a sample frame the schema would refuse, is left to the full read.
    #[test]
    fn sample_head_reads_only_sample_frames() {
        let sample = Sample {
            seq: 42,
            ts: 1_700_000_000_123,
            cpu_pct: 12.5,
            ..Sample::default()
        };
        let text = serde_json::to_string(&LiveFrame::Sample {
            machine_id: 7,
            sample,
        })
        .unwrap();
        let head = SampleHead::read(&text).expect("a sample frame");
        assert_eq!(
            (head.machine_id, head.sample.seq, head.sample.ts),
            (7, 42, 1_700_000_000_123)
        );

        let status = serde_json::to_string(&LiveFrame::Status {
            machine_id: 7,
            status: MachineStatus::Online,
            last_seen: None,
        })
        .unwrap();
        assert!(SampleHead::read(&status).is_none());
        let bad = r#"{"type":"sample","machine_id":7,"sample":{"seq":"x","ts":1}}"#;
        assert!(SampleHead::read(bad).is_none());
        assert!(serde_json::from_str::<LiveFrame>(bad).is_err());
    }
}
