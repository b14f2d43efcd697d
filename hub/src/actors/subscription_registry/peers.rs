//! The registry's side of cluster mode: which machines it follows from other hubs,
//! stepping down when an agent attaches elsewhere, and catching up on (re)joining.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::{KnownMachine, MachineCreated, SubscriptionRegistry, lagged};
use crate::actors::machine::MachineCommand;
use crate::actors::writer::WriteJob;
use crate::cluster::ControlEvent;

/// How long re-assertion requests are gathered before they are served once.
const REASSERT_AFTER: Duration = Duration::from_millis(250);

/// An agent attached to another hub: a MachineActor here steps down (no offline).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct MachineAttachedElsewhere {
    pub machine_id: i64,
}

/// The hub (re)connected to NATS with the machine table as stored now: machines
/// created or deleted meanwhile are added or removed, the status of machines held here
/// is re-asserted, and the other hubs are asked to do the same.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ClusterConnected {
    pub machines: Vec<KnownMachine>,
    /// When the table was read: machines learned of since may be missing from it.
    pub loaded_at: Instant,
}

/// Another hub (re)joined: the status of machines held here is re-asserted.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PeerJoined;

/// The hub holding a machine could not publish `dropped` of its samples (its NATS
/// queue was full): the sessions here watching it are told, as `lagged {dropped}`, the
/// way an overflowing outbox tells its own browser.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PeerLagged {
    pub machine_id: i64,
    pub dropped: u64,
}

impl SubscriptionRegistry {
    /// Soon publishes and stores the status of every machine held here: this hub is
    /// its authority, and a peer may have missed or overwritten it. Requests arriving
    /// together (every hub rejoining after a NATS restart) are served once.
    pub(super) fn reassert_held(&mut self, ctx: &mut Context<Self>) {
        if self.cluster.is_none() || self.reassert_pending {
            return;
        }
        self.reassert_pending = true;
        ctx.run_later(REASSERT_AFTER, |act, _| {
            act.reassert_pending = false;
            let Some(link) = &act.cluster else { return };
            for (id, m) in act.machines.iter().filter(|(_, m)| m.actor.is_some()) {
                let (status, last_seen) = m.feed.lock().status();
                link.publish_status(*id, status, last_seen);
                // Status only: `last_seen` in storage is newer than the feed's.
                let _ = act.writer.try_submit(WriteJob::Status {
                    machine_id: *id,
                    status,
                    last_seen: None,
                });
            }
        });
    }

    /// Receives a machine's live frames from the cluster exactly while it has local
    /// watchers and no local actor; a last sample that stops being followed is forgotten
    /// rather than shown stale later.
    pub(super) fn sync_remote(&mut self, id: i64) {
        let (Some(link), Some(m)) = (&self.cluster, self.machines.get_mut(&id)) else {
            return;
        };
        let want = m.feed.lock().is_watched() && m.actor.is_none();
        if want == m.remote {
            return;
        }
        m.remote = want;
        if want {
            link.watch(id);
        } else {
            link.unwatch(id);
            if m.actor.is_none() {
                m.feed.lock().forget_sample();
            }
        }
    }
}

impl Handler<MachineAttachedElsewhere> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: MachineAttachedElsewhere, _: &mut Context<Self>) {
        let Some(m) = self.machines.get_mut(&msg.machine_id) else {
            return;
        };
        if let Some((_, addr)) = m.actor.take() {
            tracing::info!(
                machine_id = msg.machine_id,
                "agent attached to another hub; stepping down"
            );
            addr.do_send(MachineCommand::Replaced);
        }
        self.sync_remote(msg.machine_id);
    }
}

impl Handler<ClusterConnected> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: ClusterConnected, ctx: &mut Context<Self>) {
        let stored: HashSet<i64> = msg.machines.iter().map(|m| m.id).collect();
        let gone: Vec<i64> = self
            .machines
            .iter()
            .filter(|(id, m)| !stored.contains(id) && m.known_since < msg.loaded_at)
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.remove_machine(id);
        }
        for m in msg.machines {
            if !self.machines.contains_key(&m.id) {
                let created = MachineCreated {
                    machine_id: m.id,
                    owner_id: m.owner_id,
                };
                Handler::<MachineCreated>::handle(self, created, ctx);
            }
        }
        self.reassert_held(ctx);
        if let Some(link) = &self.cluster {
            link.announce(ControlEvent::HubJoined);
        }
    }
}

impl Handler<PeerJoined> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, _: PeerJoined, ctx: &mut Context<Self>) {
        self.reassert_held(ctx);
    }
}

impl Handler<PeerLagged> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: PeerLagged, _: &mut Context<Self>) {
        let Some(m) = self.machines.get(&msg.machine_id) else {
            return;
        };
        m.feed.lock().send_all(&lagged(msg.dropped));
    }
}
