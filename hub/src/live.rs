//! Handles to the live pipeline, built once at start and shared by handlers.

use actix::Addr;

use crate::actors::SubscriptionRegistry;
use crate::actors::agent_session::AgentDeps;
use crate::actors::writer::Writer;

/// What handlers use to reach the live pipeline.
#[derive(Clone)]
pub struct Live {
    pub registry: Addr<SubscriptionRegistry>,
    pub writer: Writer,
    pub agent: AgentDeps,
}
