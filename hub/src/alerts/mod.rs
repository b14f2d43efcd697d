//! Alerts: rules evaluated as samples arrive, events, and notification delivery.
//!
//! - [`rule`]: a stored rule compiled for evaluation (metric accessor, thresholds).
//! - [`state`]: the pure `ok → pending → firing → ok` state machine of one rule on one
//!   machine.
//! - [`index`]: which rules apply to which machine.
//! - [`engine`]: evaluates rules on samples (called by each MachineActor), status
//!   changes and a tick; emits transitions.
//! - [`dispatch`]: records transitions as events, pushes `alert` frames, queues
//!   notifications.
//! - [`deliver`] and [`channels`]: delivery with retries to webhook, Slack, Discord,
//!   ntfy and email.
//! - [`notification`]: what is sent.

pub mod channels;
pub mod deliver;
pub mod dispatch;
pub mod engine;
pub mod index;
pub mod notification;
pub mod rule;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use tokio::sync::mpsc;

use crate::actors::SubscriptionRegistry;
use crate::clock::Clock;
use crate::db::{DbConn, Pool};
use crate::telemetry::HubMetrics;
pub use deliver::{Deliverer, RetryPolicy};
pub use engine::AlertEngine;

/// Transitions waiting for the dispatcher.
const TRANSITION_QUEUE: usize = 10_000;

/// The alerting services of one hub.
#[derive(Debug, Clone)]
pub struct Alerts {
    pub engine: Arc<AlertEngine>,
    pub deliverer: Deliverer,
}

/// What the alerting services start with.
#[derive(Debug)]
pub struct AlertDeps {
    pub pool: Pool,
    pub clock: Clock,
    pub offline_after_min: Duration,
    pub tick: Duration,
    pub retry: RetryPolicy,
    pub metrics: Arc<HubMetrics>,
}

/// Alerting loaded but not yet running: MachineActors need the engine before the
/// registry exists, and the dispatcher needs the registry.
#[derive(Debug)]
pub struct Prepared {
    pub engine: Arc<AlertEngine>,
    rx: mpsc::Receiver<engine::Transition>,
    deps: AlertDeps,
}

impl Alerts {
    /// Loads rules and open alerts.
    pub fn prepare(conn: &mut DbConn, deps: AlertDeps) -> anyhow::Result<Prepared> {
        let (tx, rx) = mpsc::channel(TRANSITION_QUEUE);
        let engine = Arc::new(AlertEngine::new(
            conn,
            deps.pool.clone(),
            tx,
            deps.clock.clone(),
            deps.offline_after_min.as_millis() as i64,
            deps.metrics.clone(),
        )?);
        Ok(Prepared { engine, rx, deps })
    }
}

impl Prepared {
    /// Starts the dispatcher, delivery worker and tick. Must run inside an actix system;
    /// `registry` receives the live `alert` frames.
    pub fn start(self, registry: Addr<SubscriptionRegistry>) -> Alerts {
        let Prepared { engine, rx, deps } = self;
        let deliverer = Deliverer::start(
            deps.pool.clone(),
            deps.retry,
            deps.metrics,
            registry.clone(),
        );
        dispatch::start(rx, deps.pool, registry, deliverer.clone());
        let ticking = engine.clone();
        actix::spawn(async move {
            let mut every = tokio::time::interval(deps.tick);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                ticking.tick();
            }
        });
        Alerts { engine, deliverer }
    }
}
