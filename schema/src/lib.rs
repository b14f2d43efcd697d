//! Wire types shared by the LunaSentri hub, agent, loadgen and dashboard.
//!
//! Data only: serde types and constants, no I/O. Fields are added, never renamed or
//! reused; every new field is optional so an older peer still parses newer frames.
//!
//! # Layout
//! - [`protocol`]: version, headers, limits and close codes of the agent link.
//! - [`sample`]: one measurement of one machine ([`Sample`]) and its detail rows.
//! - [`agent`]: frames on `/agent/stream` in both directions ([`AgentFrame`], [`HubFrame`]).
//! - [`live`]: frames on the browser socket `/api/live` ([`LiveClientFrame`], [`LiveFrame`]).
//! - [`api`]: request and response bodies of the REST API.
//! - [`alert`]: alert rules, events and notification channels.

pub mod agent;
pub mod alert;
pub mod api;
pub mod live;
pub mod protocol;
pub mod sample;

pub use agent::{AgentFrame, Hello, HubFrame};
pub use live::{LiveClientFrame, LiveFrame, MachineStatus};
pub use protocol::PROTOCOL_VERSION;
pub use sample::Sample;
