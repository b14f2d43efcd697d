//! A simulated agent: samples at its interval, streams each sample over its WebSocket
//! (or POSTs it), keeps what the hub has not acknowledged, and replays it as `batch`
//! frames after every reconnect, exactly like the real agent. Scenario outages cut the
//! connection abruptly; at the end of the run every agent reconnects if needed and
//! waits until the hub has acknowledged everything it generated.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lunasentri_schema::protocol::{MAX_BATCH_SAMPLES, PROTOCOL_HEADER};
use lunasentri_schema::{AgentFrame, Hello, HubFrame, PROTOCOL_VERSION, Sample};
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior, sleep_until};
use tokio_tungstenite::tungstenite::Message;

use crate::metrics::{Counters, Shared};
use crate::sample::HostModel;
use crate::scenario::{Outage, Phase};
use crate::ws::{self, ConnectError, Socket};

/// Samples per replayed `batch` frame: about 600 KB, well inside the hub's 1 MiB limit.
const REPLAY_CHUNK: usize = 400;
/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What one agent simulates.
#[derive(Debug, Clone)]
pub struct AgentSpec {
    /// Index into [`Shared::tracks`].
    pub index: usize,
    pub machine_id: i64,
    pub api_key: String,
    pub outages: Vec<Outage>,
    /// Delay of the first sample after start, to spread agents over the interval.
    pub first_tick: Duration,
}

/// What every agent of a run shares.
#[derive(Debug, Clone)]
pub struct AgentEnv {
    pub shared: Arc<Shared>,
    pub hub: String,
    pub addr: SocketAddr,
    pub interval: Duration,
    pub seed: u64,
    pub phase: watch::Receiver<Phase>,
    pub drain_timeout: Duration,
    /// Agents whose first connection is up (or who gave up: see `failed`).
    pub up: Arc<AtomicUsize>,
    pub failed: Arc<AtomicUsize>,
    /// Set for `--transport http`.
    pub http: Option<reqwest::Client>,
}

/// A generated sample the hub has not acknowledged yet.
#[derive(Debug)]
struct Pending {
    sample: Sample,
    /// The connection it was shown live on (sent as `sample`, or newest of a batch).
    live_on: Option<u32>,
}

/// The agent's own state, independent of the transport.
struct Agent {
    spec: AgentSpec,
    env: AgentEnv,
    host: HostModel,
    seq: u64,
    last_ts: i64,
    unacked: VecDeque<Pending>,
    conn: u32,
    counted_up: bool,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Agent {
    fn new(spec: AgentSpec, env: AgentEnv) -> Self {
        let host = HostModel::new(env.seed, spec.index);
        Self {
            spec,
            env,
            host,
            seq: 0,
            last_ts: 0,
            unacked: VecDeque::new(),
            conn: 0,
            counted_up: false,
        }
    }

    fn c(&self) -> &Counters {
        &self.env.shared.counters
    }

    /// Generates the next sample and queues it as unacknowledged.
    fn generate(&mut self) -> &mut Pending {
        self.seq += 1;
        // Strictly increasing ts: the hub stores each (machine, ts) once.
        self.last_ts = now_ms().max(self.last_ts + 1);
        let sample = self
            .host
            .next(self.seq, self.last_ts, self.env.interval.as_secs_f64());
        self.env.shared.tracks[self.spec.index]
            .last_seq
            .store(self.seq, Ordering::Relaxed);
        self.unacked.push_back(Pending {
            sample,
            live_on: None,
        });
        self.unacked.back_mut().expect("just pushed")
    }

    /// Everything up to `seq` is committed.
    fn acked(&mut self, seq: u64) {
        let track = &self.env.shared.tracks[self.spec.index];
        let mut published = track.published.lock().ok();
        while self.unacked.front().is_some_and(|p| p.sample.seq <= seq) {
            let p = self.unacked.pop_front().expect("front exists");
            if p.live_on == Some(self.conn)
                && let Some(set) = published.as_mut()
            {
                set.insert(p.sample.seq);
            }
        }
        track.acked.fetch_max(seq, Ordering::Relaxed);
        Counters::add(&self.c().acks, 1);
    }

    fn mark_up(&mut self) {
        if !self.counted_up {
            self.counted_up = true;
            self.env.up.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn log_send(&self, seq: u64) {
        let shared = &self.env.shared;
        shared.tracks[self.spec.index]
            .log
            .record(seq, shared.now_ns());
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = Duration::from_millis(100u64 << attempt.min(6)).min(MAX_BACKOFF);
        // Jitter from the seq and index keeps reconnecting agents from marching in step.
        let jitter = (self.spec.index as u64 * 7919 + u64::from(attempt) * 104_729) % 1000;
        base.mul_f64(0.5 + jitter as f64 / 2000.0)
    }
}

/// Runs one agent until the run stops and everything it generated is acknowledged
/// (or the drain time is over).
pub async fn run(spec: AgentSpec, env: AgentEnv) {
    let agent = Agent::new(spec, env);
    if agent.env.http.is_some() {
        run_http(agent).await
    } else {
        run_ws(agent).await
    }
}

fn hello(agent: &Agent) -> String {
    let frame = AgentFrame::Hello(Hello {
        agent_version: concat!("loadgen-", env!("CARGO_PKG_VERSION")).into(),
        hostname: format!("loadgen-host-{}", agent.spec.index),
        os: "Linux".into(),
        kernel: "6.1.0-loadgen".into(),
        arch: "x86_64".into(),
        cpu_model: "Simulated CPU".into(),
        cores: 4,
        mem_total_bytes: 16 << 30,
        boot_time_s: 1_700_000_000,
        interval_ms: agent.env.interval.as_millis() as u64,
    });
    serde_json::to_string(&frame).unwrap_or_default()
}

/// Opens the agent link, says hello and replays the unacknowledged backlog.
async fn open(agent: &mut Agent) -> Result<Socket, ConnectError> {
    let url = format!("{}/agent/stream", ws::ws_base(&agent.env.hub));
    let headers = [
        ("authorization", format!("Bearer {}", agent.spec.api_key)),
        (PROTOCOL_HEADER, PROTOCOL_VERSION.to_string()),
    ];
    let mut sock = ws::connect(agent.env.addr, &url, &headers, None).await?;
    agent.conn += 1;
    Counters::add(&agent.c().agent_connects, 1);
    let send = |s: String| Message::text(s);
    sock.send(send(hello(agent)))
        .await
        .map_err(|e| ConnectError::Upgrade(e.to_string()))?;
    let conn = agent.conn;
    let mut start = 0;
    while start < agent.unacked.len() {
        let end = (start + REPLAY_CHUNK.min(MAX_BATCH_SAMPLES)).min(agent.unacked.len());
        for p in agent.unacked.range_mut(start..end) {
            p.live_on = None;
        }
        let newest = &mut agent.unacked[end - 1];
        newest.live_on = Some(conn);
        let newest_seq = newest.sample.seq;
        let frame = AgentFrame::Batch {
            samples: agent
                .unacked
                .range(start..end)
                .map(|p| p.sample.clone())
                .collect(),
        };
        let text = serde_json::to_string(&frame).unwrap_or_default();
        agent.log_send(newest_seq);
        sock.send(send(text))
            .await
            .map_err(|e| ConnectError::Upgrade(e.to_string()))?;
        Counters::add(&agent.c().batches_replayed, 1);
        Counters::add(&agent.c().samples_replayed, (end - start) as u64);
        start = end;
    }
    Ok(sock)
}

/// Sends the newest pending sample live.
async fn send_live(agent: &mut Agent, sock: &mut Socket) -> bool {
    let conn = agent.conn;
    let Some(p) = agent.unacked.back_mut() else {
        return true;
    };
    p.live_on = Some(conn);
    let seq = p.sample.seq;
    // Serialise through the schema's frame without cloning the sample.
    let frame = AgentFrame::Sample(std::mem::take(&mut p.sample));
    let text = serde_json::to_string(&frame).unwrap_or_default();
    if let AgentFrame::Sample(s) = frame {
        p.sample = s;
    }
    agent.log_send(seq);
    Counters::add(&agent.c().samples_sent, 1);
    sock.send(Message::text(text)).await.is_ok()
}

/// Handles one frame from the hub; false when the connection is over.
fn on_message(agent: &mut Agent, msg: Option<Result<Message, impl std::fmt::Display>>) -> bool {
    match msg {
        Some(Ok(Message::Text(t))) => {
            match serde_json::from_str::<HubFrame>(&t) {
                Ok(HubFrame::Ack { seq }) => agent.acked(seq),
                Ok(HubFrame::Config { .. }) => {}
                Ok(HubFrame::Error { code, message }) => {
                    Counters::add(&agent.c().hub_errors, 1);
                    tracing::warn!(machine_id = agent.spec.machine_id, %code, %message, "hub refused a frame");
                }
                Err(e) => {
                    Counters::add(&agent.c().hub_errors, 1);
                    tracing::warn!(machine_id = agent.spec.machine_id, error = %e, "unreadable hub frame");
                }
            }
            true
        }
        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => false,
        Some(Ok(_)) => true,
    }
}

async fn next_message(
    sock: &mut Option<Socket>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match sock {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

async fn until(t: Option<Instant>) {
    match t {
        Some(t) => sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn run_ws(mut agent: Agent) {
    let mut phase = agent.env.phase.clone();
    let mut ticker =
        tokio::time::interval_at(Instant::now() + agent.spec.first_tick, agent.env.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut sock: Option<Socket> = None;
    let mut reconnect_at = Some(Instant::now());
    let mut attempt = 0u32;
    let mut outages = std::mem::take(&mut agent.spec.outages).into_iter();
    let mut next_outage: Option<Outage> = None;
    let mut measure_start: Option<Instant> = None;
    let mut stop_by: Option<Instant> = None;
    loop {
        if let Some(deadline) = stop_by
            && (agent.unacked.is_empty() || Instant::now() >= deadline)
        {
            break;
        }
        if sock.is_none() && reconnect_at.is_some_and(|t| Instant::now() >= t) {
            match open(&mut agent).await {
                Ok(s) => {
                    sock = Some(s);
                    reconnect_at = None;
                    attempt = 0;
                    agent.mark_up();
                }
                Err(ConnectError::Refused(401)) => {
                    tracing::error!(
                        machine_id = agent.spec.machine_id,
                        "hub refused the machine's key (401)"
                    );
                    Counters::add(&agent.c().agent_connect_errors, 1);
                    if !agent.counted_up {
                        agent.env.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    return;
                }
                Err(e) => {
                    Counters::add(&agent.c().agent_connect_errors, 1);
                    tracing::debug!(machine_id = agent.spec.machine_id, error = %e, "agent connect failed");
                    reconnect_at = Some(Instant::now() + agent.backoff(attempt));
                    attempt += 1;
                    continue;
                }
            }
        }
        let outage_at = match (measure_start, next_outage, &sock, stop_by) {
            (Some(t0), Some(o), Some(_), None) => Some(t0 + o.at),
            _ => None,
        };
        tokio::select! {
            _ = ticker.tick(), if stop_by.is_none() => {
                agent.generate();
                if let Some(s) = sock.as_mut()
                    && !send_live(&mut agent, s).await
                {
                    sock = None;
                    Counters::add(&agent.c().agent_disconnects, 1);
                    reconnect_at = Some(Instant::now() + agent.backoff(0));
                }
            }
            msg = next_message(&mut sock) => {
                if !on_message(&mut agent, msg) {
                    sock = None;
                    Counters::add(&agent.c().agent_disconnects, 1);
                    reconnect_at = Some(Instant::now() + agent.backoff(attempt));
                    attempt += 1;
                }
            }
            changed = phase.changed() => {
                if changed.is_err() {
                    break;
                }
                match *phase.borrow_and_update() {
                    Phase::Ramp => {}
                    Phase::Measure(t0) => {
                        measure_start = Some(Instant::from_std(t0));
                        next_outage = outages.next();
                    }
                    Phase::Stop => {
                        stop_by = Some(Instant::now() + agent.env.drain_timeout);
                        if sock.is_none() {
                            reconnect_at = Some(Instant::now());
                        }
                    }
                }
            }
            _ = until(outage_at) => {
                // The network goes away: no close frame, nothing flushed.
                drop(sock.take());
                Counters::add(&agent.c().outages, 1);
                let down = next_outage.map(|o| o.down).unwrap_or_default();
                reconnect_at = Some(Instant::now() + down);
                next_outage = outages.next();
            }
            _ = until(reconnect_at), if sock.is_none() => {}
        }
    }
    if let Some(s) = sock {
        ws::close(s).await;
    }
}

/// `POST /agent/metrics` body with several samples.
#[derive(Serialize)]
struct SamplesBody<'a> {
    samples: Vec<&'a Sample>,
}

async fn post(agent: &mut Agent, client: &reqwest::Client) -> bool {
    let url = format!("{}/agent/metrics", agent.env.hub);
    while !agent.unacked.is_empty() {
        let n = agent.unacked.len().min(REPLAY_CHUNK);
        let body = if n == 1 {
            serde_json::to_vec(&agent.unacked[0].sample)
        } else {
            serde_json::to_vec(&SamplesBody {
                samples: agent.unacked.range(..n).map(|p| &p.sample).collect(),
            })
        }
        .unwrap_or_default();
        let conn = agent.conn;
        let newest = &mut agent.unacked[n - 1];
        newest.live_on = Some(conn);
        let newest_seq = newest.sample.seq;
        agent.log_send(newest_seq);
        if n == 1 {
            Counters::add(&agent.c().samples_sent, 1);
        } else {
            Counters::add(&agent.c().batches_replayed, 1);
            Counters::add(&agent.c().samples_replayed, n as u64);
        }
        let res = client
            .post(&url)
            .bearer_auth(&agent.spec.api_key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        match res {
            Ok(r) if r.status().as_u16() == 202 => {
                agent.mark_up();
                agent.acked(newest_seq);
            }
            Ok(r) => {
                Counters::add(&agent.c().http_errors, 1);
                if r.status().as_u16() == 401 && !agent.counted_up {
                    agent.env.failed.fetch_add(1, Ordering::Relaxed);
                    agent.counted_up = true;
                }
                tracing::debug!(status = r.status().as_u16(), "POST /agent/metrics refused");
                return false;
            }
            Err(e) => {
                Counters::add(&agent.c().http_errors, 1);
                tracing::debug!(error = %e, "POST /agent/metrics failed");
                return false;
            }
        }
    }
    true
}

async fn run_http(mut agent: Agent) {
    let Some(client) = agent.env.http.clone() else {
        return;
    };
    let mut phase = agent.env.phase.clone();
    let mut ticker =
        tokio::time::interval_at(Instant::now() + agent.spec.first_tick, agent.env.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut outages = std::mem::take(&mut agent.spec.outages).into_iter();
    let mut next_outage: Option<Outage> = None;
    let mut measure_start: Option<Instant> = None;
    let mut down_until: Option<Instant> = None;
    // Each request is its own "connection" for the live accounting.
    agent.conn = 1;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = Instant::now();
                if let (Some(t0), Some(o)) = (measure_start, next_outage)
                    && now >= t0 + o.at
                {
                    down_until = Some(t0 + o.at + o.down);
                    Counters::add(&agent.c().outages, 1);
                    next_outage = outages.next();
                }
                agent.generate();
                if down_until.is_some_and(|t| now < t) {
                    continue;
                }
                agent.conn += 1;
                post(&mut agent, &client).await;
            }
            changed = phase.changed() => {
                if changed.is_err() {
                    break;
                }
                match *phase.borrow_and_update() {
                    Phase::Ramp => {}
                    Phase::Measure(t0) => {
                        measure_start = Some(Instant::from_std(t0));
                        next_outage = outages.next();
                    }
                    Phase::Stop => break,
                }
            }
        }
    }
    let deadline = Instant::now() + agent.env.drain_timeout;
    while !agent.unacked.is_empty() && Instant::now() < deadline {
        agent.conn += 1;
        if !post(&mut agent, &client).await {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> Agent {
        let (_tx, phase) = watch::channel(Phase::Ramp);
        let env = AgentEnv {
            shared: Arc::new(Shared::new(1)),
            hub: "http://127.0.0.1:1".into(),
            addr: "127.0.0.1:1".parse().unwrap(),
            interval: Duration::from_secs(1),
            seed: 1,
            phase,
            drain_timeout: Duration::from_secs(1),
            up: Arc::default(),
            failed: Arc::default(),
            http: None,
        };
        let spec = AgentSpec {
            index: 0,
            machine_id: 7,
            api_key: "lsk_x".into(),
            outages: Vec::new(),
            first_tick: Duration::ZERO,
        };
        Agent::new(spec, env)
    }

    /// An ack releases every sample up to its seq; only samples shown live on the
    /// connection that acknowledged them become expected at the dashboards.
    #[test]
    fn acks_decide_what_is_expected_live() {
        let mut a = agent();
        a.conn = 1;
        a.generate().live_on = Some(1); // seq 1, live on connection 1
        a.generate().live_on = Some(1); // seq 2, live on connection 1, ack lost with it
        a.conn = 2;
        a.generate(); // seq 3, generated while away, replayed in a batch
        a.generate().live_on = Some(2); // seq 4, newest of that batch
        a.acked(4);
        assert!(a.unacked.is_empty());
        let track = &a.env.shared.tracks[0];
        let p = track.published.lock().unwrap();
        assert_eq!(
            (p.contains(1), p.contains(2), p.contains(3), p.contains(4)),
            (false, false, false, true)
        );
        assert_eq!(track.acked.load(Ordering::Relaxed), 4);
        assert_eq!(track.last_seq.load(Ordering::Relaxed), 4);
    }

    /// Samples keep strictly increasing ts and seq, so replays stay idempotent.
    #[test]
    fn seq_and_ts_increase() {
        let mut a = agent();
        let (s1, t1) = {
            let p = a.generate();
            (p.sample.seq, p.sample.ts)
        };
        let p = a.generate();
        assert_eq!((s1, p.sample.seq), (1, 2));
        assert!(p.sample.ts > t1);
        a.acked(1);
        assert_eq!(a.unacked.len(), 1);
    }
}
