//! Handles to the live pipeline, built once at start and shared by handlers.

use std::sync::Arc;

use actix::Addr;

use crate::actors::SubscriptionRegistry;
use crate::actors::agent_session::AgentDeps;
use crate::actors::writer::Writer;
use crate::alerts::AlertEngine;
use crate::cluster::{ClusterLink, ControlEvent};

/// What handlers use to reach the live pipeline.
#[derive(Clone)]
pub struct Live {
    pub registry: Addr<SubscriptionRegistry>,
    pub writer: Writer,
    pub agent: AgentDeps,
    /// Cluster mode: the other hubs.
    pub cluster: Option<ClusterLink>,
    /// Control events also act on the alert engine.
    pub alerts: Arc<AlertEngine>,
}

impl Live {
    /// Applies a change made through the API to this hub's registry and alert engine
    /// and, in cluster mode, to every other hub's.
    pub fn control(&self, event: ControlEvent) {
        if let Some(link) = &self.cluster {
            link.announce(event.clone());
        }
        event.apply(&self.registry, &self.alerts);
    }
}
