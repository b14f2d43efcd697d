//! The registry's handlers for changes made through the API: machines created or
//! deleted, keys revoked, users removed and roles changed take effect on live streams.

use actix::prelude::*;
use lunasentri_schema::protocol::close;

use super::{
    KeyRevoked, MachineCreated, MachineInfo, MachineRemoved, RoleChanged, SessionId,
    SubscriptionRegistry, UserRemoved,
};
use crate::actors::machine::MachineCommand;

impl Handler<MachineCreated> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: MachineCreated, _: &mut Context<Self>) {
        let feeds = &self.feeds;
        self.machines.entry(msg.machine_id).or_insert_with(|| {
            let feed = feeds.get(msg.machine_id);
            MachineInfo::new(msg.owner_id, feed)
        });
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

impl Handler<UserRemoved> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: UserRemoved, _: &mut Context<Self>) {
        self.end_sessions(
            |s| s.user_id == msg.user_id,
            close::SESSION_ENDED,
            "account deleted",
        );
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
