//! The messages the registry takes and sends.

use std::sync::Arc;
use std::time::Instant;

use crate::actors::socket::Utf8Bytes;
use actix::prelude::*;
use lunasentri_schema::{MachineStatus, Sample};

use super::SessionId;
use crate::actors::machine::{MachineActor, SamplesReceived};
use crate::actors::outbox::Origin;

// ---- messages to browser sessions -------------------------------------------------

/// A pre-serialised [`LiveFrame`] for one browser, and where it comes from (the
/// session's outbox measures its wait from the hand-off, its own mailbox included).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Deliver {
    pub frame: Utf8Bytes,
    pub origin: Origin,
}

impl Deliver {
    /// A frame handed off now.
    pub fn now(frame: Utf8Bytes) -> Self {
        Self {
            frame,
            origin: Origin::now(),
        }
    }
}

/// The session must end: the login ended (logout, password change, user deleted) or
/// the hub is shutting down; `code` is the close code.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct EndSession {
    pub code: u16,
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

/// A new sample of a machine held by another hub, already serialised as a live
/// `sample` frame (machine actors here publish through the machine's feed).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SamplePublished {
    pub machine_id: i64,
    pub sample: Arc<Sample>,
    pub frame: Utf8Bytes,
    /// When the hub received it, for the fan-out latency histogram.
    pub received: Instant,
}

/// A machine went online or offline, as another hub or the orphan sweep reports it
/// (a local machine actor sets its status in the machine's feed).
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
    pub frame: Utf8Bytes,
    /// Sent by another hub (cluster mode); a local one is also published to the others.
    pub from_peer: bool,
}

// ---- messages from HTTP handlers --------------------------------------------------

/// The hub is shutting down: every agent and browser socket of this hub is closed with
/// 1001 (going away) so that clients reconnect (elsewhere or after the restart) at once.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ShuttingDown;

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
