//! `SubscriptionRegistry`: one per hub. Knows every machine's owner, status and last
//! sample, which browser sessions watch which machine, and which MachineActor holds
//! each connected agent. Authorisation of live streams happens here, at subscribe
//! time: a machine the user may not see answers `not_found`, exactly like one that
//! does not exist.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use bytestring::ByteString;
use lunasentri_schema::live::MachineSnapshot;
use lunasentri_schema::{LiveFrame, MachineStatus, Sample};

use super::machine::{MachineActor, MachineCommand, SamplesReceived};
use super::writer::{WriteJob, Writer};
use crate::cluster::ClusterLink;
use crate::db::audit::NewAuditOwned;
use crate::telemetry::HubMetrics;

mod peers;
pub use peers::{ClusterConnected, MachineAttachedElsewhere, PeerJoined};

/// Identifies one browser socket.
pub type SessionId = u64;

/// Serialises a live frame once; every watcher gets a cheap clone.
pub fn encode(frame: &LiveFrame) -> ByteString {
    ByteString::from(serde_json::to_string(frame).unwrap_or_default())
}

// ---- messages to browser sessions -------------------------------------------------

/// A pre-serialised [`LiveFrame`] for one browser.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Deliver(pub ByteString);

/// The session must end (logout, password change, user deleted).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct EndSession {
    pub reason: &'static str,
}

// ---- messages from browser sessions -----------------------------------------------

/// A browser socket opened.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Connect {
    pub session_id: SessionId,
    pub user_id: i64,
    pub is_admin: bool,
    /// The login (session cookie) this socket belongs to.
    pub auth_session_id: i64,
    pub deliver: Recipient<Deliver>,
    pub end: Recipient<EndSession>,
}

/// A browser socket closed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub session_id: SessionId,
}

/// Watch machines (`None`: all the user may see, including ones added later).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    pub session_id: SessionId,
    pub machine_ids: Option<Vec<i64>>,
}

/// Stop watching machines (`None`: all).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub session_id: SessionId,
    pub machine_ids: Option<Vec<i64>>,
}

// ---- messages from machine actors -------------------------------------------------

/// A MachineActor took over a machine; any previous one is told to step down.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct MachineAttached {
    pub machine_id: i64,
    pub conn_id: u64,
    pub addr: Addr<MachineActor>,
}

/// A MachineActor stopped.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct MachineDetached {
    pub machine_id: i64,
    pub conn_id: u64,
}

/// A new sample, already serialised as a live `sample` frame.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SamplePublished {
    pub machine_id: i64,
    pub sample: Arc<Sample>,
    pub frame: ByteString,
    /// When the hub received it, for the fan-out latency histogram.
    pub received: Instant,
}

/// A machine went online or offline.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StatusChanged {
    pub machine_id: i64,
    pub status: MachineStatus,
    pub last_seen: Option<i64>,
    /// Sent by another hub (cluster mode): ignored while this hub holds the machine,
    /// whose own actor is the authority on its status.
    pub from_peer: bool,
}

/// An alert of `user_id` on a machine opened, resolved or was acknowledged, already
/// serialised as a live `alert` frame: it goes to that user's sessions watching the
/// machine, never to anyone else's.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct AlertPublished {
    pub machine_id: i64,
    pub user_id: i64,
    pub frame: ByteString,
    /// Sent by another hub (cluster mode); a local one is also published to the others.
    pub from_peer: bool,
}

// ---- messages from HTTP handlers --------------------------------------------------

/// A machine was registered.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct MachineCreated {
    pub machine_id: i64,
    pub owner_id: i64,
}

/// A machine was deleted: its agent is cut off and its watchers told `not_found`.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct MachineRemoved {
    pub machine_id: i64,
}

/// A machine's key was rotated or revoked: the connected agent is cut off at once.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct KeyRevoked {
    pub machine_id: i64,
}

/// End live sessions of a user: all of them (`keep` = None) or all but one login.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct EndUserSessions {
    pub user_id: i64,
    pub keep_auth_session: Option<i64>,
    pub reason: &'static str,
}

/// End the live sessions of one login (logout).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct EndAuthSession {
    pub auth_session_id: i64,
}

/// A user was deleted: their machines and sessions go.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct UserRemoved {
    pub user_id: i64,
}

/// A user's role changed: subscriptions they may no longer hold are dropped.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RoleChanged {
    pub user_id: i64,
    pub is_admin: bool,
}

/// Samples that arrived over HTTP: handed to the machine's actor, started if needed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RouteSamples {
    pub machine_id: i64,
    pub batch: SamplesReceived,
}

/// What the registry knows of one machine.
#[derive(Debug)]
struct MachineInfo {
    owner_id: i64,
    status: MachineStatus,
    last_seen: Option<i64>,
    last_sample: Option<Arc<Sample>>,
    actor: Option<(u64, Addr<MachineActor>)>,
    watchers: Vec<SessionId>,
    /// Its live frames are received from another hub (cluster mode).
    remote: bool,
    /// When this registry learned of it (a table reload never removes what it learned later).
    known_since: Instant,
}

impl MachineInfo {
    fn new(owner_id: i64, status: MachineStatus, last_seen: Option<i64>) -> Self {
        Self {
            owner_id,
            status,
            last_seen,
            last_sample: None,
            actor: None,
            watchers: Vec::new(),
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
        writer: Writer,
        metrics: Arc<HubMetrics>,
        spawn_machine: SpawnMachine,
    ) -> Self {
        let machines = known
            .into_iter()
            .map(|m| (m.id, MachineInfo::new(m.owner_id, m.status, m.last_seen)))
            .collect();
        Self {
            machines,
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

    fn send(&self, sid: SessionId, frame: ByteString) {
        if let Some(s) = self.sessions.get(&sid) {
            s.deliver.do_send(Deliver(frame));
        }
    }

    fn snapshot_of(&self, id: i64) -> Option<MachineSnapshot> {
        self.machines.get(&id).map(|m| MachineSnapshot {
            machine_id: id,
            status: m.status,
            last_seen: m.last_seen,
            sample: m.last_sample.as_deref().cloned(),
        })
    }

    /// Adds `ids` to a session's watch set, answering a snapshot and `not_found`s.
    fn watch(&mut self, sid: SessionId, ids: Vec<i64>) {
        let Some(session) = self.sessions.get(&sid) else {
            return;
        };
        let (user_id, is_admin) = (session.user_id, session.is_admin);
        let mut added = Vec::new();
        let mut foreign = Vec::new();
        for id in ids {
            match self.machines.get_mut(&id) {
                Some(m) if is_admin || m.owner_id == user_id => {
                    if !m.watchers.contains(&sid) {
                        m.watchers.push(sid);
                    }
                    if m.owner_id != user_id {
                        foreign.push(id);
                    }
                    added.push(id);
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
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.watching.extend(added.iter().copied());
        }
        for id in &added {
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
        let machines: Vec<_> = added
            .iter()
            .filter_map(|id| self.snapshot_of(*id))
            .collect();
        self.send(sid, encode(&LiveFrame::Snapshot { machines }));
    }

    fn unwatch(&mut self, sid: SessionId, id: i64) {
        if let Some(m) = self.machines.get_mut(&id) {
            m.watchers.retain(|w| *w != sid);
        }
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.watching.remove(&id);
        }
        self.sync_remote(id);
    }

    fn end_sessions(&mut self, pick: impl Fn(&SessionEntry) -> bool, reason: &'static str) {
        let ids: Vec<_> = self
            .sessions
            .iter()
            .filter(|(_, s)| pick(s))
            .map(|(id, _)| *id)
            .collect();
        for sid in ids {
            if let Some(s) = self.sessions.get(&sid) {
                s.end.do_send(EndSession { reason });
            }
            self.drop_session(sid);
        }
    }

    fn drop_session(&mut self, sid: SessionId) {
        if let Some(s) = self.sessions.remove(&sid) {
            for id in s.watching {
                if let Some(m) = self.machines.get_mut(&id) {
                    m.watchers.retain(|w| *w != sid);
                }
                self.sync_remote(id);
            }
        }
    }

    fn remove_machine(&mut self, id: i64) {
        if let Some(m) = self.machines.remove(&id) {
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
            for sid in m.watchers {
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.watching.remove(&id);
                }
                self.send(sid, frame.clone());
            }
        }
    }
}

impl Actor for SubscriptionRegistry {
    type Context = Context<Self>;
}

impl Handler<Connect> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: Connect, _: &mut Context<Self>) {
        self.sessions.insert(
            msg.session_id,
            SessionEntry {
                user_id: msg.user_id,
                is_admin: msg.is_admin,
                auth_session_id: msg.auth_session_id,
                deliver: msg.deliver,
                end: msg.end,
                watching: HashSet::new(),
                watch_all: false,
            },
        );
    }
}

impl Handler<Disconnect> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: Disconnect, _: &mut Context<Self>) {
        self.drop_session(msg.session_id);
    }
}

impl Handler<Subscribe> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        let ids = match msg.machine_ids {
            Some(ids) => ids,
            None => {
                let Some(s) = self.sessions.get_mut(&msg.session_id) else {
                    return;
                };
                s.watch_all = true;
                let (uid, admin) = (s.user_id, s.is_admin);
                let mut ids: Vec<i64> = self
                    .machines
                    .iter()
                    .filter(|(_, m)| admin || m.owner_id == uid)
                    .map(|(id, _)| *id)
                    .collect();
                ids.sort_unstable();
                ids
            }
        };
        self.watch(msg.session_id, ids);
    }
}

impl Handler<Unsubscribe> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: Unsubscribe, _: &mut Context<Self>) {
        let ids: Vec<i64> = match msg.machine_ids {
            Some(ids) => ids,
            None => {
                let Some(s) = self.sessions.get_mut(&msg.session_id) else {
                    return;
                };
                s.watch_all = false;
                s.watching.iter().copied().collect()
            }
        };
        for id in ids {
            self.unwatch(msg.session_id, id);
        }
    }
}

impl Handler<MachineAttached> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: MachineAttached, _: &mut Context<Self>) {
        let Some(m) = self.machines.get_mut(&msg.machine_id) else {
            // Deleted between the key check and now.
            msg.addr.do_send(MachineCommand::Removed);
            return;
        };
        if let Some((old, addr)) = m.actor.replace((msg.conn_id, msg.addr))
            && old != msg.conn_id
        {
            addr.do_send(MachineCommand::Replaced);
        }
        self.sync_remote(msg.machine_id);
    }
}

impl Handler<MachineDetached> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: MachineDetached, _: &mut Context<Self>) {
        if let Some(m) = self.machines.get_mut(&msg.machine_id)
            && m.actor.as_ref().is_some_and(|(c, _)| *c == msg.conn_id)
        {
            m.actor = None;
            self.sync_remote(msg.machine_id);
        }
    }
}

impl Handler<SamplePublished> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: SamplePublished, _: &mut Context<Self>) {
        let Some(m) = self.machines.get_mut(&msg.machine_id) else {
            return;
        };
        m.last_sample = Some(msg.sample);
        for sid in &m.watchers {
            if let Some(s) = self.sessions.get(sid) {
                s.deliver.do_send(Deliver(msg.frame.clone()));
                self.metrics
                    .fanout_latency_seconds
                    .observe(msg.received.elapsed().as_secs_f64());
            }
        }
    }
}

impl Handler<StatusChanged> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: StatusChanged, _: &mut Context<Self>) {
        let Some(m) = self.machines.get_mut(&msg.machine_id) else {
            return;
        };
        if msg.from_peer && m.actor.is_some() {
            return;
        }
        m.status = msg.status;
        m.last_seen = msg.last_seen.or(m.last_seen);
        let frame = encode(&LiveFrame::Status {
            machine_id: msg.machine_id,
            status: m.status,
            last_seen: m.last_seen,
        });
        for sid in m.watchers.clone() {
            self.send(sid, frame.clone());
        }
    }
}

impl Handler<AlertPublished> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: AlertPublished, _: &mut Context<Self>) {
        if let (Some(link), false) = (&self.cluster, msg.from_peer) {
            link.publish_alert(msg.machine_id, msg.frame.clone());
        }
        let Some(m) = self.machines.get(&msg.machine_id) else {
            return;
        };
        for sid in &m.watchers {
            if let Some(s) = self.sessions.get(sid)
                && s.user_id == msg.user_id
            {
                s.deliver.do_send(Deliver(msg.frame.clone()));
            }
        }
    }
}

impl Handler<MachineCreated> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: MachineCreated, _: &mut Context<Self>) {
        self.machines
            .entry(msg.machine_id)
            .or_insert_with(|| MachineInfo::new(msg.owner_id, MachineStatus::Pending, None));
        let auto: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.watch_all && s.may_see(msg.owner_id))
            .map(|(id, _)| *id)
            .collect();
        for sid in auto {
            self.watch(sid, vec![msg.machine_id]);
        }
    }
}

impl Handler<MachineRemoved> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: MachineRemoved, _: &mut Context<Self>) {
        self.remove_machine(msg.machine_id);
    }
}

impl Handler<KeyRevoked> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: KeyRevoked, _: &mut Context<Self>) {
        if let Some((_, addr)) = self
            .machines
            .get(&msg.machine_id)
            .and_then(|m| m.actor.as_ref())
        {
            addr.do_send(MachineCommand::KeyRevoked);
        }
    }
}

impl Handler<EndUserSessions> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: EndUserSessions, _: &mut Context<Self>) {
        let keep = msg.keep_auth_session;
        self.end_sessions(
            |s| s.user_id == msg.user_id && Some(s.auth_session_id) != keep,
            msg.reason,
        );
    }
}

impl Handler<EndAuthSession> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: EndAuthSession, _: &mut Context<Self>) {
        self.end_sessions(|s| s.auth_session_id == msg.auth_session_id, "logged out");
    }
}

impl Handler<UserRemoved> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: UserRemoved, _: &mut Context<Self>) {
        self.end_sessions(|s| s.user_id == msg.user_id, "account deleted");
        let owned: Vec<i64> = self
            .machines
            .iter()
            .filter(|(_, m)| m.owner_id == msg.user_id)
            .map(|(id, _)| *id)
            .collect();
        for id in owned {
            self.remove_machine(id);
        }
    }
}

impl Handler<RoleChanged> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: RoleChanged, _: &mut Context<Self>) {
        let sids: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.user_id == msg.user_id)
            .map(|(id, _)| *id)
            .collect();
        for sid in sids {
            let Some(s) = self.sessions.get_mut(&sid) else {
                continue;
            };
            s.is_admin = msg.is_admin;
            if msg.is_admin {
                continue;
            }
            let lost: Vec<i64> = s
                .watching
                .iter()
                .copied()
                .filter(|id| {
                    self.machines
                        .get(id)
                        .is_none_or(|m| m.owner_id != msg.user_id)
                })
                .collect();
            for id in lost {
                self.unwatch(sid, id);
            }
        }
    }
}

impl Handler<RouteSamples> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: RouteSamples, ctx: &mut Context<Self>) {
        let Some(m) = self.machines.get_mut(&msg.machine_id) else {
            return;
        };
        let addr = match &m.actor {
            Some((_, addr)) if addr.connected() => addr.clone(),
            _ => {
                let (conn_id, addr) =
                    (self.spawn_machine)(msg.machine_id, m.owner_id, ctx.address());
                m.actor = Some((conn_id, addr.clone()));
                addr
            }
        };
        addr.do_send(msg.batch);
    }
}
