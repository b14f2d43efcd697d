//! Cluster mode (`--nats-url`): several hubs share one database and join through NATS.
//! Every hub publishes its machines' samples and status per machine; each registry
//! subscribes only to machines its own browsers watch whose agents are elsewhere;
//! changes made through one hub's API reach every registry as control events; and an
//! agent attaching to one hub makes any other holder of its machine step down, so
//! exactly one hub writes a machine's samples and evaluates its alerts.
//!
//! # Layout
//! - [`subjects`]: the subject names, the one place they are spelled.
//! - [`control`]: control events and how each maps onto a registry message.
//! - [`link`]: [`ClusterLink`], the non-blocking handle the live pipeline holds.
//! - [`bridge`]: the NATS connection and the tasks publishing and subscribing.
//! - [`inbound`]: received messages back into registry messages.
//! - [`membership`]: whether peers can reach this hub, and catching up on (re)joining.
//! - [`orphans`]: machines left `online` by a hub that went away are marked offline.

pub mod bridge;
pub mod control;
mod inbound;
pub mod link;
mod membership;
pub mod orphans;
pub mod subjects;

pub use bridge::Joining;
pub use control::ControlEvent;
pub use link::ClusterLink;

use std::time::Duration;

use anyhow::Context as _;

use crate::db::{DbConn, settings};

/// How recently a machine marked online must have been seen for a starting hub to
/// leave it online: another hub may hold it (holders write `last_seen` at least every
/// 30 s, and re-assert the status of what they hold when a hub joins).
pub const HELD_ONLINE_WITHIN: Duration = Duration::from_secs(120);

/// The `settings` key holding the cluster id.
const CLUSTER_ID_KEY: &str = "cluster_id";

/// The id of the cluster formed by the hubs on this database, created by the first hub
/// that runs in cluster mode; it namespaces every subject (see [`subjects`]).
pub fn cluster_id(conn: &mut DbConn) -> anyhow::Result<String> {
    let mut bytes = [0u8; 6];
    rand::fill(&mut bytes);
    let fresh = serde_json::Value::from(hex::encode(bytes)).to_string();
    let stored = settings::get_or_put(conn, CLUSTER_ID_KEY, &fresh).context("cluster id")?;
    match serde_json::from_str::<String>(&stored) {
        Ok(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) => Ok(id),
        _ => anyhow::bail!(
            "settings: cluster_id {stored} is not a string of letters and digits; delete that row to get a new one"
        ),
    }
}
