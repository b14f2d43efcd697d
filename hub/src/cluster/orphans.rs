//! Machines whose hub went away. The hub holding a machine writes its `last_seen` at
//! least every 30 s while the agent reports and marks it offline when it stops; a hub
//! that dies does neither, and its agents may be gone too. Every hub therefore sweeps
//! the shared table: a machine still `online` whose `last_seen` is older than
//! [`HELD_ONLINE_WITHIN`] is claimed by exactly one hub (a conditional update), which
//! tells every hub it is offline and evaluates its `offline` alerts. Silence is measured
//! on the database server's clock, so one hub's clock running ahead cannot claim
//! machines another hub still holds (the hubs' own clocks must still agree to within
//! a minute or so, as `last_seen` comes from the hub that holds the machine).

use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use actix_web::web;
use lunasentri_schema::MachineStatus;

use super::{ClusterLink, HELD_ONLINE_WITHIN};
use crate::actors::SubscriptionRegistry;
use crate::actors::subscription_registry::StatusChanged;
use crate::alerts::AlertEngine;
use crate::db::{Pool, machines};

/// Starts the sweep on the current actix system, every `every`.
pub fn start(
    pool: Pool,
    registry: Addr<SubscriptionRegistry>,
    link: ClusterLink,
    alerts: Arc<AlertEngine>,
    every: Duration,
) {
    actix::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let pool = pool.clone();
            let claimed = web::block(move || -> anyhow::Result<_> {
                let mut conn = pool.get()?;
                Ok(machines::claim_silent(&mut conn, HELD_ONLINE_WITHIN)?)
            })
            .await;
            let claimed = match claimed {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "sweep for machines of a vanished hub failed");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "sweep for machines of a vanished hub failed");
                    continue;
                }
            };
            for (machine_id, last_seen) in claimed {
                tracing::info!(
                    machine_id,
                    "machine silent and its hub gone: marked offline"
                );
                registry.do_send(StatusChanged {
                    machine_id,
                    status: MachineStatus::Offline,
                    last_seen,
                    from_peer: false,
                });
                link.publish_status(machine_id, MachineStatus::Offline, last_seen);
                alerts.on_status(machine_id, MachineStatus::Offline);
            }
        }
    });
}
