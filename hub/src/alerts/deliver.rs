//! Notification delivery off the hot path: a bounded queue, a few concurrent sends,
//! retries with backoff, and each outcome written on the event's delivery row.

use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use actix_web::web;
use lunasentri_schema::alert::{AlertEvent, ChannelConfig};
use tokio::sync::{Semaphore, mpsc};

use super::channels::Senders;
use super::dispatch::publish;
use super::notification::Notification;
use crate::actors::SubscriptionRegistry;
use crate::db::{Pool, alert_events, now_ms};
use crate::telemetry::HubMetrics;

/// Sends running at once, so one slow receiver does not hold up the others.
const CONCURRENT_SENDS: usize = 8;

/// How hard delivery tries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per notification, at least 1.
    pub attempts: u32,
    /// Wait before the second attempt; doubles after each failure.
    pub backoff: Duration,
    /// Bound of one attempt.
    pub timeout: Duration,
    /// Notifications waiting; more are recorded as `dropped`.
    pub queue: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            backoff: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            queue: 1000,
        }
    }
}

/// One notification for one channel, recorded as delivery row `delivery_id`.
#[derive(Debug)]
pub struct DeliveryJob {
    pub delivery_id: i64,
    pub config: ChannelConfig,
    pub notification: Notification,
}

/// The outcome of all attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub result: Result<(), String>,
    pub attempts: i32,
}

/// The error of a blocking database call, if any.
pub fn block_error(
    res: Result<anyhow::Result<()>, actix_web::error::BlockingError>,
) -> Option<anyhow::Error> {
    match res {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(e) => Some(e.into()),
    }
}

/// Handle to the delivery worker; cheap to clone.
#[derive(Debug, Clone)]
pub struct Deliverer {
    tx: mpsc::Sender<DeliveryJob>,
    senders: Senders,
    policy: RetryPolicy,
    pool: Pool,
    metrics: Arc<HubMetrics>,
    /// Receives the event again with each delivery's outcome.
    registry: Addr<SubscriptionRegistry>,
}

impl Deliverer {
    /// Starts the worker on the current actix system; outcomes are pushed to the
    /// event owner's dashboards through `registry`.
    pub fn start(
        pool: Pool,
        policy: RetryPolicy,
        metrics: Arc<HubMetrics>,
        registry: Addr<SubscriptionRegistry>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(policy.queue.max(1));
        let d = Self {
            tx,
            senders: Senders::new(policy.timeout),
            policy,
            pool,
            metrics,
            registry,
        };
        actix::spawn(d.clone().run(rx));
        d
    }

    async fn run(self, mut rx: mpsc::Receiver<DeliveryJob>) {
        let slots = Arc::new(Semaphore::new(CONCURRENT_SENDS));
        while let Some(job) = rx.recv().await {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let d = self.clone();
            actix::spawn(async move {
                let outcome = d.attempt(&job.config, &job.notification).await;
                d.record(job.delivery_id, job.notification.event.id, &outcome)
                    .await;
                drop(permit);
            });
        }
    }

    /// Tries up to `attempts` times with doubling backoff.
    pub async fn attempt(&self, config: &ChannelConfig, n: &Notification) -> Outcome {
        let mut wait = self.policy.backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = self.senders.send(config, n).await;
            if result.is_ok() || attempts >= self.policy.attempts.max(1) as i32 {
                let label = if result.is_ok() { "sent" } else { "failed" };
                self.metrics.notification(label);
                return Outcome { result, attempts };
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }

    async fn record(&self, delivery_id: i64, event_id: i64, o: &Outcome) {
        let (status, error) = match &o.result {
            Ok(()) => ("sent", None),
            Err(e) => ("failed", Some(e.clone())),
        };
        if let Err(e) = &o.result {
            tracing::warn!(delivery_id, error = %e, "notification failed");
        }
        let (pool, attempts) = (self.pool.clone(), o.attempts);
        let res = web::block(move || -> anyhow::Result<Vec<AlertEvent>> {
            let mut conn = pool.get()?;
            alert_events::update_delivery(
                &mut conn,
                delivery_id,
                status,
                attempts,
                error.as_deref(),
                now_ms(),
            )?;
            Ok(alert_events::by_ids(&mut conn, &[event_id])?)
        })
        .await;
        match res {
            Ok(Ok(events)) => events.iter().for_each(|e| publish(&self.registry, e)),
            Ok(Err(e)) => {
                tracing::error!(delivery_id, error = %e, "cannot record delivery outcome")
            }
            Err(e) => tracing::error!(delivery_id, error = %e, "cannot record delivery outcome"),
        }
    }

    /// Queues a job; when the queue is full the delivery is recorded as `dropped`.
    pub fn enqueue(&self, job: DeliveryJob) {
        if let Err(e) = self.tx.try_send(job) {
            let job = match e {
                mpsc::error::TrySendError::Full(j) | mpsc::error::TrySendError::Closed(j) => j,
            };
            self.metrics.notification("dropped");
            let pool = self.pool.clone();
            actix::spawn(async move {
                let res = web::block(move || -> anyhow::Result<()> {
                    let mut conn = pool.get()?;
                    alert_events::update_delivery(
                        &mut conn,
                        job.delivery_id,
                        "dropped",
                        0,
                        Some("delivery queue full"),
                        now_ms(),
                    )?;
                    Ok(())
                })
                .await;
                if let Some(e) = block_error(res) {
                    tracing::error!(error = %e, "cannot record a dropped delivery");
                }
            });
        }
    }
}
