//! This hub's membership in the cluster: whether peers can reach it
//! (`lunasentri_cluster_connected`), and catching up when it (re)joins, since NATS does
//! not keep what was said while a hub was apart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use actix::Addr;
use async_nats::Event;

use super::control::reload_rules;
use crate::actors::SubscriptionRegistry;
use crate::actors::subscription_registry::ClusterConnected;
use crate::alerts::AlertEngine;
use crate::db::Pool;
use crate::db::bootstrap::load_machines;
use crate::telemetry::HubMetrics;

/// Shared by the connection's event callback and the bridge.
pub(super) struct Membership {
    pub registry: Addr<SubscriptionRegistry>,
    pub alerts: Arc<AlertEngine>,
    pub pool: Pool,
    pub metrics: Arc<HubMetrics>,
    /// Set once this hub's own subscriptions were first confirmed by the server.
    ready: AtomicBool,
}

impl Membership {
    pub fn new(
        registry: Addr<SubscriptionRegistry>,
        alerts: Arc<AlertEngine>,
        pool: Pool,
        metrics: Arc<HubMetrics>,
    ) -> Self {
        Self {
            registry,
            alerts,
            pool,
            metrics,
            ready: AtomicBool::new(false),
        }
    }

    /// The hub's control and status subscriptions are in place for the first time.
    pub fn subscribed(&self) {
        self.ready.store(true, Ordering::Relaxed);
        self.joined();
    }

    /// Follows the NATS client's connection events.
    pub fn on_event(&self, event: Event) {
        match event {
            Event::Connected if self.ready.load(Ordering::Relaxed) => self.joined(),
            Event::Disconnected | Event::Closed => {
                self.metrics.cluster_connected.set(0);
                tracing::warn!(
                    "cluster mode: lost NATS; serving local agents and browsers, reconnecting"
                );
            }
            _ => {}
        }
    }

    /// Reloads the machine table and alert rules (changes announced while apart were
    /// missed) and hands the table to the registry, which re-asserts what it holds and
    /// asks the other hubs to do the same.
    fn joined(&self) {
        tracing::info!("cluster mode: connected to NATS");
        self.metrics.cluster_connected.set(1);
        reload_rules(self.alerts.clone());
        let (pool, registry) = (self.pool.clone(), self.registry.clone());
        tokio::task::spawn_blocking(move || {
            let loaded_at = Instant::now();
            let loaded = pool
                .get()
                .map_err(anyhow::Error::from)
                .and_then(|mut conn| load_machines(&mut conn));
            match loaded {
                Ok(machines) => registry.do_send(ClusterConnected {
                    machines,
                    loaded_at,
                }),
                Err(e) => tracing::warn!(error = %e, "cluster mode: machine table not reloaded"),
            }
        });
    }
}
