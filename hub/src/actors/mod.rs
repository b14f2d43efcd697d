//! The live pipeline's actors, one per file (`docs/architecture.md` draws the flow).
//!
//! - [`agent_session`]: one per agent connection: authenticates, parses, rate-limits.
//! - [`machine`]: one per connected machine: status, last sample, publishing, persisting.
//! - [`subscription_registry`]: one per hub: who watches which machine, and may they;
//!   it keeps each machine's watchers in a [`feed`] its MachineActor publishes to.
//! - [`browser_session`]: one per dashboard socket, with a bounded outbound queue
//!   ([`outbox`]) over either WebSocket library ([`socket`]).
//! - [`writer`]: the batch writer thread that owns the metrics write path, fed through
//!   [`job_queue`]; [`ack_pacer`] spreads its acknowledgements.

pub mod ack_pacer;
pub mod agent_session;
pub mod browser_session;
pub mod feed;
pub mod job_queue;
pub mod machine;
pub mod outbox;
pub mod socket;
pub mod subscription_registry;
pub mod writer;

pub use agent_session::AgentSession;
pub use browser_session::BrowserSession;
pub use machine::MachineActor;
pub use subscription_registry::SubscriptionRegistry;
pub use writer::Writer;
