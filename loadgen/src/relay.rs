//! The bare relay: the least any hub has to do for loadgen's traffic, as a yardstick
//! for the real one on the same machine. It speaks just enough of the protocol for
//! loadgen: agents on `/agent/stream` (the Bearer key *is* the machine id: no
//! authentication), dashboards on `/api/live` (any cookie; every subscribe is granted).
//! Each agent frame is parsed as the hub parses it, each sample re-encoded once as a
//! live `sample` frame, handed to every dashboard watching the machine and acknowledged
//! at once; nothing is stored, no status is kept, nothing is checked. Sockets are set
//! up like the hub's (1 KiB read buffer, no write buffering, `TCP_NODELAY`), so a
//! comparison measures the work, not the buffer sizes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use lunasentri_schema::live::MachineSnapshot;
use lunasentri_schema::{AgentFrame, HubFrame, LiveClientFrame, LiveFrame, MachineStatus};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{WebSocketStream, accept_hdr_async_with_config};

/// Read buffer per socket, as the hub's.
const READ_BUFFER: usize = 1024;
/// Largest frame accepted (the hub's limit for agent batches).
const MAX_MESSAGE: usize = 1 << 20;
/// Frames queued per dashboard before new ones are dropped (and counted).
const DASHBOARD_QUEUE: usize = 1024;

/// What the relay counted; printed when it stops.
#[derive(Debug, Default)]
pub struct RelayStats {
    pub samples_in: AtomicU64,
    pub frames_out: AtomicU64,
    pub frames_dropped: AtomicU64,
    pub bad_frames: AtomicU64,
}

impl RelayStats {
    pub fn summary(&self) -> String {
        format!(
            "{} samples in, {} frames out, {} dropped (full dashboard queue), {} unreadable frames",
            self.samples_in.load(Ordering::Relaxed),
            self.frames_out.load(Ordering::Relaxed),
            self.frames_dropped.load(Ordering::Relaxed),
            self.bad_frames.load(Ordering::Relaxed),
        )
    }
}

/// Machine id → (dashboard id, queue) of each dashboard watching it.
type Watchers = HashMap<i64, Vec<(u64, mpsc::Sender<Utf8Bytes>)>>;

#[derive(Default)]
struct Registry {
    next_id: AtomicU64,
    watchers: Mutex<Watchers>,
}

impl Registry {
    fn subscribe(&self, id: u64, machines: &[i64], tx: &mpsc::Sender<Utf8Bytes>) {
        let mut w = self.watchers.lock().expect("registry lock");
        for m in machines {
            w.entry(*m).or_default().push((id, tx.clone()));
        }
    }

    fn forget(&self, id: u64, machines: &[i64]) {
        let mut w = self.watchers.lock().expect("registry lock");
        for m in machines {
            if let Some(v) = w.get_mut(m) {
                v.retain(|(i, _)| *i != id);
            }
        }
    }

    fn publish(&self, machine: i64, frame: &Utf8Bytes, stats: &RelayStats) {
        let w = self.watchers.lock().expect("registry lock");
        for (_, tx) in w.get(&machine).into_iter().flatten() {
            match tx.try_send(frame.clone()) {
                Ok(()) => stats.frames_out.fetch_add(1, Ordering::Relaxed),
                Err(_) => stats.frames_dropped.fetch_add(1, Ordering::Relaxed),
            };
        }
    }
}

/// Which side of the protocol an upgrade asked for.
enum Route {
    Agent(i64),
    Dashboard,
}

/// The handshake's answer to an upgrade the relay cannot route.
fn refuse((status, why): (StatusCode, &str)) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(why.to_owned()));
    *r.status_mut() = status;
    r
}

fn route(req: &Request) -> Result<Route, (StatusCode, &'static str)> {
    match req.uri().path() {
        "/agent/stream" => req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|k| k.trim().parse().ok())
            .map(Route::Agent)
            .ok_or((
                StatusCode::UNAUTHORIZED,
                "the Bearer key must be a machine id",
            )),
        "/api/live" => Ok(Route::Dashboard),
        _ => Err((StatusCode::NOT_FOUND, "only /agent/stream and /api/live")),
    }
}

/// Accepts connections for ever; each socket runs in its own task. A failed accept
/// (out of file descriptors, say) is reported and retried, not fatal.
// tungstenite's handshake callback returns its (large) error response by value.
#[allow(clippy::result_large_err)]
pub async fn serve(listener: TcpListener, stats: Arc<RelayStats>) {
    let registry = Arc::new(Registry::default());
    loop {
        let io = match listener.accept().await {
            Ok((io, _)) => io,
            Err(e) => {
                eprintln!("lunasentri-relay: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let registry = registry.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            let _ = io.set_nodelay(true);
            let mut chosen = None;
            let config = WebSocketConfig::default()
                .read_buffer_size(READ_BUFFER)
                .write_buffer_size(0)
                .max_frame_size(Some(MAX_MESSAGE))
                .max_message_size(Some(MAX_MESSAGE));
            let callback = |req: &Request, resp: Response| {
                chosen = Some(route(req).map_err(refuse)?);
                Ok(resp)
            };
            let Ok(ws) = accept_hdr_async_with_config(io, callback, Some(config)).await else {
                return;
            };
            match chosen {
                Some(Route::Agent(machine)) => agent(ws, machine, &registry, &stats).await,
                Some(Route::Dashboard) => dashboard(ws, &registry, &stats).await,
                None => {}
            }
        });
    }
}

/// Parses each frame, forwards its newest sample and acknowledges it.
async fn agent(
    mut ws: WebSocketStream<TcpStream>,
    machine: i64,
    registry: &Registry,
    stats: &RelayStats,
) {
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else {
            continue;
        };
        let newest = match AgentFrame::from_json(&text) {
            Ok(AgentFrame::Sample(s)) => Some(s),
            Ok(AgentFrame::Batch { samples }) => samples.into_iter().max_by_key(|s| s.seq),
            Ok(_) => None,
            Err(_) => {
                stats.bad_frames.fetch_add(1, Ordering::Relaxed);
                None
            }
        };
        let Some(sample) = newest else {
            continue;
        };
        stats.samples_in.fetch_add(1, Ordering::Relaxed);
        let seq = sample.seq;
        let live = LiveFrame::Sample {
            machine_id: machine,
            sample,
        };
        if let Ok(text) = serde_json::to_string(&live) {
            registry.publish(machine, &Utf8Bytes::from(text), stats);
        }
        let ack = serde_json::to_string(&HubFrame::Ack { seq }).unwrap_or_default();
        if ws.send(Message::text(ack)).await.is_err() {
            return;
        }
    }
}

/// Grants the first subscribe, answers it with an empty snapshot, then writes the
/// dashboard's queue to its socket until either side ends.
async fn dashboard(ws: WebSocketStream<TcpStream>, registry: &Registry, stats: &RelayStats) {
    let (mut sink, mut stream) = ws.split();
    let machines = loop {
        match stream.next().await {
            Some(Ok(Message::Text(t))) => match serde_json::from_str::<LiveClientFrame>(&t) {
                Ok(LiveClientFrame::Subscribe { machine_ids }) => {
                    break machine_ids.unwrap_or_default();
                }
                _ => {
                    stats.bad_frames.fetch_add(1, Ordering::Relaxed);
                }
            },
            Some(Ok(_)) => {}
            _ => return,
        }
    };
    let snapshot = LiveFrame::Snapshot {
        machines: machines
            .iter()
            .map(|&machine_id| MachineSnapshot {
                machine_id,
                status: MachineStatus::Online,
                last_seen: None,
                sample: None,
            })
            .collect(),
    };
    let snapshot = serde_json::to_string(&snapshot).unwrap_or_default();
    if sink.send(Message::text(snapshot)).await.is_err() {
        return;
    }
    let id = registry.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel(DASHBOARD_QUEUE);
    registry.subscribe(id, &machines, &tx);
    drop(tx);
    let writer = async {
        while let Some(frame) = rx.recv().await {
            if sink.send(Message::Text(frame)).await.is_err() {
                break;
            }
        }
    };
    let reader = async { while let Some(Ok(_)) = stream.next().await {} };
    tokio::select! {
        _ = writer => {}
        _ = reader => {}
    }
    registry.forget(id, &machines);
}
