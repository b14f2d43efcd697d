//! Control events: changes made through one hub's API that every hub's registry and
//! alert engine must apply (machines, keys, users, roles, logins, alert rules and
//! acknowledgements), and agent attachments. Each event maps onto the registry message
//! or engine call the HTTP handlers make locally, so a change arriving from another hub
//! takes exactly the path of a local one.

use std::sync::Arc;

use actix::Addr;
use serde::{Deserialize, Serialize};

use crate::actors::SubscriptionRegistry;
use crate::actors::subscription_registry::{
    EndAuthSession, EndUserSessions, KeyRevoked, MachineAttachedElsewhere, MachineCreated,
    MachineRemoved, PeerJoined, RoleChanged, UserRemoved,
};
use crate::alerts::AlertEngine;

/// Reasons a user's live sessions end; anything else read from the wire becomes the
/// first (close reasons are `'static` and shown to the browser).
const END_REASONS: [&str; 3] = ["session ended", "password changed", "password reset"];

/// One change, as published on [`super::subjects::CONTROL`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlEvent {
    MachineCreated {
        machine_id: i64,
        owner_id: i64,
    },
    MachineRemoved {
        machine_id: i64,
    },
    KeyRevoked {
        machine_id: i64,
    },
    UserRemoved {
        user_id: i64,
    },
    RoleChanged {
        user_id: i64,
        is_admin: bool,
    },
    EndUserSessions {
        user_id: i64,
        keep_auth_session: Option<i64>,
        reason: String,
    },
    EndAuthSession {
        auth_session_id: i64,
    },
    /// An agent connected to the sending hub: any other hub holding the machine steps
    /// down, so exactly one hub writes its samples and evaluates its alerts.
    AgentAttached {
        machine_id: i64,
    },
    /// Alert rules, or what they apply to, changed: engines reload their rule index
    /// (after dropping the state of `forget_rule`, a rule changed or deleted).
    AlertsChanged {
        forget_rule: Option<i64>,
    },
    /// A firing alert was acknowledged: the holder of the machine stops repeating it.
    AlertAcknowledged {
        rule_id: i64,
        machine_id: i64,
    },
    /// The sending hub (re)joined and may have missed status changes: every hub
    /// re-asserts the status of the machines it holds.
    HubJoined,
}

/// What travels on the wire: the event and the hub that sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub hub: String,
    #[serde(flatten)]
    pub event: ControlEvent,
}

impl ControlEvent {
    /// Ends a user's live sessions, for any hub.
    pub fn end_user_sessions(user_id: i64, keep_auth_session: Option<i64>, reason: &str) -> Self {
        Self::EndUserSessions {
            user_id,
            keep_auth_session,
            reason: reason.to_owned(),
        }
    }

    /// Sends the registry message, or makes the engine call, this event stands for.
    pub fn apply(self, registry: &Addr<SubscriptionRegistry>, alerts: &Arc<AlertEngine>) {
        match self {
            Self::MachineCreated {
                machine_id,
                owner_id,
            } => registry.do_send(MachineCreated {
                machine_id,
                owner_id,
            }),
            Self::MachineRemoved { machine_id } => {
                alerts.forget_machine(machine_id);
                registry.do_send(MachineRemoved { machine_id })
            }
            Self::KeyRevoked { machine_id } => registry.do_send(KeyRevoked { machine_id }),
            Self::UserRemoved { user_id } => registry.do_send(UserRemoved { user_id }),
            Self::RoleChanged { user_id, is_admin } => {
                registry.do_send(RoleChanged { user_id, is_admin })
            }
            Self::EndUserSessions {
                user_id,
                keep_auth_session,
                reason,
            } => registry.do_send(EndUserSessions {
                user_id,
                keep_auth_session,
                reason: END_REASONS
                    .iter()
                    .find(|r| **r == reason)
                    .unwrap_or(&END_REASONS[0]),
            }),
            Self::EndAuthSession { auth_session_id } => {
                registry.do_send(EndAuthSession { auth_session_id })
            }
            Self::AgentAttached { machine_id } => {
                alerts.held_elsewhere(machine_id, true);
                registry.do_send(MachineAttachedElsewhere { machine_id })
            }
            Self::AlertsChanged { forget_rule } => {
                if let Some(id) = forget_rule {
                    alerts.forget_rule(id);
                }
                reload_rules(alerts.clone());
            }
            Self::AlertAcknowledged {
                rule_id,
                machine_id,
            } => alerts.acknowledge(rule_id, machine_id),
            Self::HubJoined => registry.do_send(PeerJoined),
        }
    }
}

/// Rebuilds the engine's rule index in the background.
pub(super) fn reload_rules(alerts: Arc<AlertEngine>) {
    tokio::spawn(async move {
        if let Err(e) = alerts.reload().await {
            tracing::error!(error = %e, "cannot reload alert rules");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire form is flat, tagged JSON that parses back to the same event.
    #[test]
    fn envelope_round_trips() {
        let e = Envelope {
            hub: "h1".into(),
            event: ControlEvent::end_user_sessions(3, Some(9), "password reset"),
        };
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.contains(r#""type":"end_user_sessions""#), "{text}");
        assert_eq!(serde_json::from_str::<Envelope>(&text).unwrap(), e);
    }
}
