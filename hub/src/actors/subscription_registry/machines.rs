//! The registry's handlers for machine actors (attaching, detaching, the alerts they
//! publish), and for status and samples reported from elsewhere: other hubs and the
//! orphan sweep (local machine actors publish theirs through the machine's feed).

use actix::prelude::*;

use super::{
    AlertPublished, Deliver, MachineAttached, MachineDetached, RouteSamples, SamplePublished,
    StatusChanged, SubscriptionRegistry,
};
use crate::actors::machine::MachineCommand;

impl Handler<MachineAttached> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: MachineAttached, _: &mut Context<Self>) {
        let Some(m) = self.machines.get_mut(&msg.machine_id) else {
            // Deleted between the key check and now (the actor made a feed for it).
            self.feeds.remove(msg.machine_id);
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
        let Some(m) = self.machines.get(&msg.machine_id) else {
            return;
        };
        let watchers = m.feed.publish(msg.sample, &msg.frame);
        self.metrics.fanned_out(msg.received, watchers);
    }
}

impl Handler<StatusChanged> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: StatusChanged, _: &mut Context<Self>) {
        let Some(m) = self.machines.get(&msg.machine_id) else {
            return;
        };
        if msg.from_peer && m.actor.is_some() {
            return;
        }
        m.feed
            .lock()
            .set_status(msg.machine_id, msg.status, msg.last_seen);
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
        for sid in m.feed.lock().sessions() {
            if let Some(s) = self.sessions.get(&sid)
                && s.user_id == msg.user_id
            {
                s.deliver.do_send(Deliver::now(msg.frame.clone()));
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
