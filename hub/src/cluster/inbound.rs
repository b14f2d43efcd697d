//! Messages from other hubs, turned back into the registry's own messages: a remote
//! sample or status reaches local browsers exactly as a local one does, a control
//! event takes the path of the HTTP handler that caused it on the other hub.

use std::sync::Arc;
use std::time::Instant;

use crate::actors::socket::Utf8Bytes;
use actix::Addr;
use async_nats::Message;
use lunasentri_schema::LiveFrame;

use super::control::Envelope;
use super::subjects::{Kind, Subjects};
use crate::actors::SubscriptionRegistry;
use crate::actors::subscription_registry::{
    AlertPublished, PeerLagged, SamplePublished, StatusChanged,
};
use crate::alerts::AlertEngine;
use crate::telemetry::HubMetrics;

/// Where received messages go.
#[derive(Clone)]
pub(super) struct Inbound {
    pub hub_id: Arc<str>,
    pub subjects: Subjects,
    pub registry: Addr<SubscriptionRegistry>,
    pub alerts: Arc<AlertEngine>,
    pub metrics: Arc<HubMetrics>,
}

impl Inbound {
    /// Hands one NATS message to the registry; what cannot be read is logged and skipped.
    pub fn deliver(&self, msg: Message) {
        self.metrics.cluster_received.inc();
        let kind = self.subjects.parse(msg.subject.as_str());
        let Ok(text) = Utf8Bytes::try_from(msg.payload) else {
            return tracing::debug!(subject = %msg.subject, "cluster message is not UTF-8");
        };
        match kind {
            Some(Kind::Sample(id)) => self.sample(id, text),
            Some(Kind::Status(id)) => self.status(id, &text),
            Some(Kind::Alert(id)) => self.alert(id, text),
            Some(Kind::Control) => self.control(&text),
            None => tracing::debug!(subject = %msg.subject, "unknown cluster subject"),
        }
    }

    fn sample(&self, id: i64, frame: Utf8Bytes) {
        match serde_json::from_str::<LiveFrame>(&frame) {
            Ok(LiveFrame::Sample { machine_id, sample }) if machine_id == id => {
                self.registry.do_send(SamplePublished {
                    machine_id,
                    sample: Arc::new(sample),
                    frame,
                    received: Instant::now(),
                });
            }
            Ok(LiveFrame::Lagged { dropped }) => self.registry.do_send(PeerLagged {
                machine_id: id,
                dropped,
            }),
            other => tracing::debug!(machine_id = id, ?other, "unreadable cluster sample"),
        }
    }

    fn status(&self, id: i64, frame: &str) {
        match serde_json::from_str::<LiveFrame>(frame) {
            Ok(LiveFrame::Status {
                machine_id,
                status,
                last_seen,
            }) if machine_id == id => {
                // Some hub holds it: not this hub's to declare offline after a start.
                self.alerts.held_elsewhere(machine_id, false);
                self.registry.do_send(StatusChanged {
                    machine_id,
                    status,
                    last_seen,
                    from_peer: true,
                });
            }
            other => tracing::debug!(machine_id = id, ?other, "unreadable cluster status"),
        }
    }

    fn alert(&self, id: i64, frame: Utf8Bytes) {
        match serde_json::from_str::<LiveFrame>(&frame) {
            Ok(LiveFrame::Alert { event }) if event.machine_id == id => {
                self.registry.do_send(AlertPublished {
                    machine_id: id,
                    user_id: event.user_id,
                    frame,
                    from_peer: true,
                });
            }
            other => tracing::debug!(machine_id = id, ?other, "unreadable cluster alert"),
        }
    }

    fn control(&self, text: &str) {
        match serde_json::from_str::<Envelope>(text) {
            Ok(env) if *env.hub == *self.hub_id => {}
            Ok(env) => {
                tracing::debug!(from_hub = %env.hub, event = ?env.event, "cluster control event");
                env.event.apply(&self.registry, &self.alerts);
            }
            Err(e) => tracing::warn!(error = %e, "unreadable cluster control event"),
        }
    }
}
