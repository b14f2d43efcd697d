//! The registry's handlers for browser sessions: sockets opening and closing,
//! subscribing (where live streams are authorised) and sessions ended by the hub,
//! including every socket (agents' too) when the hub shuts down.

use std::collections::HashSet;

use actix::prelude::*;
use lunasentri_schema::protocol::close;

use super::{
    Connect, Disconnect, EndAuthSession, EndUserSessions, SessionEntry, ShuttingDown, Subscribe,
    SubscriptionRegistry, Unsubscribe,
};
use crate::actors::machine::MachineCommand;

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

impl Handler<EndUserSessions> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: EndUserSessions, _: &mut Context<Self>) {
        let keep = msg.keep_auth_session;
        self.end_sessions(
            |s| s.user_id == msg.user_id && Some(s.auth_session_id) != keep,
            close::SESSION_ENDED,
            msg.reason,
        );
    }
}

impl Handler<EndAuthSession> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, msg: EndAuthSession, _: &mut Context<Self>) {
        self.end_sessions(
            |s| s.auth_session_id == msg.auth_session_id,
            close::SESSION_ENDED,
            "logged out",
        );
    }
}

impl Handler<ShuttingDown> for SubscriptionRegistry {
    type Result = ();
    fn handle(&mut self, _: ShuttingDown, _: &mut Context<Self>) {
        self.end_sessions(|_| true, close::GOING_AWAY, "the hub is shutting down");
        for (_, addr) in self.machines.values().filter_map(|m| m.actor.as_ref()) {
            addr.do_send(MachineCommand::ShuttingDown);
        }
    }
}
