//! `SubscriptionRegistry`: one per hub. Knows every machine's owner, which browser
//! sessions watch which machine, and which MachineActor holds each connected agent. Authorisation of live streams happens here, at subscribe time: a machine the
//! user may not see answers `not_found`, exactly like one that does not exist.
//!
//! Who watches a machine, its status and its latest sample live in the machine's
//! [`Feed`]: the registry alone changes its watchers, and the MachineActor delivers
//! each status change and sample through it straight to the watching sessions (see
//! [`super::feed`]).
//!
//! # Layout
//! - `messages`: what the registry takes and sends.
//! - `browsers`: sockets opening and closing, subscribing, sessions ended by the hub.
//! - `machines`: machine actors attaching and detaching, and the fan-out of what they
//!   publish.
//! - `changes`: machines, keys, users and roles changed through the API.
//! - `peers`: cluster mode.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use crate::actors::socket::Utf8Bytes;
use actix::prelude::*;
use lunasentri_schema::{LiveFrame, MachineStatus};

use super::feed::{Feed, Feeds};
use super::machine::{MachineActor, MachineCommand};
use super::writer::{WriteJob, Writer};
use crate::cluster::ClusterLink;
use crate::db::audit::NewAuditOwned;
use crate::telemetry::HubMetrics;

mod browsers;
mod changes;
mod machines;
mod messages;
mod peers;
pub use messages::*;
pub use peers::{ClusterConnected, MachineAttachedElsewhere, PeerJoined, PeerLagged};

/// Identifies one browser socket.
pub type SessionId = u64;

/// Serialises a live frame once; every watcher gets a cheap clone.
pub fn encode(frame: &LiveFrame) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(frame).unwrap_or_default())
}

/// The `lagged {dropped}` frame: that many live frames will never arrive.
pub fn lagged(dropped: u64) -> Utf8Bytes {
    encode(&LiveFrame::Lagged { dropped })
}

/// What the registry knows of one machine.
#[derive(Debug)]
struct MachineInfo {
    owner_id: i64,
    /// Its watchers, status and latest sample.
    feed: Arc<Feed>,
    actor: Option<(u64, Addr<MachineActor>)>,
    /// Its live frames are received from another hub (cluster mode).
    remote: bool,
    /// When this registry learned of it (a table reload never removes what it learned later).
    known_since: Instant,
}

impl MachineInfo {
    fn new(owner_id: i64, feed: Arc<Feed>) -> Self {
        Self {
            owner_id,
            feed,
            actor: None,
            remote: false,
            known_since: Instant::now(),
        }
    }
}

#[derive(Debug)]
struct SessionEntry {
    user_id: i64,
    is_admin: bool,
    auth_session_id: i64,
    deliver: Recipient<Deliver>,
    end: Recipient<EndSession>,
    watching: HashSet<i64>,
    watch_all: bool,
}

impl SessionEntry {
    fn may_see(&self, owner_id: i64) -> bool {
        self.is_admin || self.user_id == owner_id
    }
}

/// A machine as loaded at start.
#[derive(Debug, Clone)]
pub struct KnownMachine {
    pub id: i64,
    pub owner_id: i64,
    pub status: MachineStatus,
    pub last_seen: Option<i64>,
}

/// Starts a MachineActor for a machine that reports over HTTP only:
/// `(machine_id, owner_id, registry) -> (conn_id, actor)`.
pub type SpawnMachine =
    Box<dyn Fn(i64, i64, Addr<SubscriptionRegistry>) -> (u64, Addr<MachineActor>)>;

/// The registry actor.
pub struct SubscriptionRegistry {
    machines: HashMap<i64, MachineInfo>,
    feeds: Feeds,
    sessions: HashMap<SessionId, SessionEntry>,
    writer: Writer,
    metrics: Arc<HubMetrics>,
    /// Builds a MachineActor for HTTP-only agents.
    spawn_machine: SpawnMachine,
    cluster: Option<ClusterLink>,
    reassert_pending: bool,
}

impl SubscriptionRegistry {
    pub fn new(
        known: Vec<KnownMachine>,
        feeds: Feeds,
        writer: Writer,
        metrics: Arc<HubMetrics>,
        spawn_machine: SpawnMachine,
    ) -> Self {
        let machines = known
            .into_iter()
            .map(|m| {
                let feed = feeds.get(m.id);
                feed.lock().restore_status(m.status, m.last_seen);
                (m.id, MachineInfo::new(m.owner_id, feed))
            })
            .collect();
        Self {
            machines,
            feeds,
            sessions: HashMap::new(),
            writer,
            metrics,
            spawn_machine,
            cluster: None,
            reassert_pending: false,
        }
    }

    /// Cluster mode: watched machines held by other hubs are received through `link`.
    pub fn with_cluster(mut self, link: Option<ClusterLink>) -> Self {
        self.cluster = link;
        self
    }

    fn send(&self, sid: SessionId, frame: Utf8Bytes) {
        if let Some(s) = self.sessions.get(&sid) {
            s.deliver.do_send(Deliver::now(frame));
        }
    }

    /// Adds `ids` to a session's watch set, answering a snapshot and `not_found`s.
    /// The feeds of the machines added stay locked until the snapshot is sent, so it
    /// reaches the session ahead of their next samples.
    fn watch(&mut self, sid: SessionId, ids: Vec<i64>) {
        let Some(session) = self.sessions.get(&sid) else {
            return;
        };
        let (user_id, is_admin) = (session.user_id, session.is_admin);
        let deliver = session.deliver.clone();
        let mut added = Vec::new();
        let mut foreign = Vec::new();
        for id in ids {
            match self.machines.get(&id) {
                Some(m) if is_admin || m.owner_id == user_id => {
                    if m.owner_id != user_id {
                        foreign.push(id);
                    }
                    added.push((id, m.feed.clone()));
                }
                _ => {
                    let err = LiveFrame::Error {
                        code: "not_found".into(),
                        machine_id: Some(id),
                        message: "machine not found".into(),
                    };
                    self.send(sid, encode(&err));
                }
            }
        }
        let mut held = Vec::with_capacity(added.len());
        let mut machines = Vec::with_capacity(added.len());
        for (id, feed) in &added {
            let mut f = feed.lock();
            f.watch(sid, deliver.clone());
            machines.push(f.snapshot(*id));
            held.push(f);
        }
        deliver.do_send(Deliver::now(encode(&LiveFrame::Snapshot { machines })));
        drop(held);
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.watching.extend(added.iter().map(|a| a.0));
        }
        for (id, ..) in &added {
            self.sync_remote(*id);
        }
        if !foreign.is_empty() {
            let detail = format!("live subscribe to machines {foreign:?}");
            let _ = self.writer.try_submit(WriteJob::Audit(NewAuditOwned::new(
                Some(user_id),
                "admin_live_subscribe",
                "machine",
                None,
                detail,
            )));
        }
    }

    fn unwatch(&mut self, sid: SessionId, id: i64) {
        if let Some(m) = self.machines.get(&id) {
            m.feed.lock().unwatch(sid);
        }
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.watching.remove(&id);
        }
        self.sync_remote(id);
    }

    fn end_sessions(
        &mut self,
        pick: impl Fn(&SessionEntry) -> bool,
        code: u16,
        reason: &'static str,
    ) {
        let ids: Vec<_> = self
            .sessions
            .iter()
            .filter(|(_, s)| pick(s))
            .map(|(id, _)| *id)
            .collect();
        for sid in ids {
            if let Some(s) = self.sessions.get(&sid) {
                s.end.do_send(EndSession { code, reason });
            }
            self.drop_session(sid);
        }
    }

    fn drop_session(&mut self, sid: SessionId) {
        if let Some(s) = self.sessions.remove(&sid) {
            for id in s.watching {
                if let Some(m) = self.machines.get(&id) {
                    m.feed.lock().unwatch(sid);
                }
                self.sync_remote(id);
            }
        }
    }

    fn remove_machine(&mut self, id: i64) {
        if let Some(m) = self.machines.remove(&id) {
            self.feeds.remove(id);
            if let (true, Some(link)) = (m.remote, &self.cluster) {
                link.unwatch(id);
            }
            if let Some((_, addr)) = m.actor {
                addr.do_send(MachineCommand::Removed);
            }
            let frame = encode(&LiveFrame::Error {
                code: "not_found".into(),
                machine_id: Some(id),
                message: "machine was deleted".into(),
            });
            let mut feed = m.feed.lock();
            feed.send_all(&frame);
            for sid in feed.take_watchers() {
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.watching.remove(&id);
                }
            }
        }
    }
}

impl Actor for SubscriptionRegistry {
    type Context = Context<Self>;
}
