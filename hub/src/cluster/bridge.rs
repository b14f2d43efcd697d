//! The NATS side of cluster mode: one connection per hub (async-nats reconnects by
//! itself and re-subscribes what was subscribed), a task publishing what the
//! [`ClusterLink`] queued, and a task holding one subscription per machine that local
//! browsers watch while its agent is on another hub.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use anyhow::Context as _;
use async_nats::{Client, ConnectOptions, ServerAddr, Subscriber};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::inbound::Inbound;
use super::link::{ClusterLink, Outgoing, Queues, Watch};
use super::membership::Membership;
use super::subjects::Subjects;
use crate::actors::SubscriptionRegistry;
use crate::alerts::AlertEngine;
use crate::db::Pool;
use crate::telemetry::HubMetrics;

/// Longest wait for the server to confirm new subscriptions before counting them.
const CONFIRM_WAIT: Duration = Duration::from_secs(2);

/// A hub about to join the cluster: its link exists (the registry and machine actors
/// hold it) before the connection does.
pub struct Joining {
    pub link: ClusterLink,
    queues: Queues,
    server: ServerAddr,
    pool: Pool,
    metrics: Arc<HubMetrics>,
}

impl Joining {
    /// Checks the URL and creates this hub's link under a random hub id, on the
    /// subjects of `cluster_id` (see [`super::cluster_id`]).
    pub fn new(
        url: &str,
        cluster_id: &str,
        pool: Pool,
        metrics: Arc<HubMetrics>,
    ) -> anyhow::Result<Self> {
        // The URL may carry credentials: it is never echoed.
        let server: ServerAddr = url
            .parse()
            .context("nats_url: not a NATS URL (expected nats://HOST:PORT)")?;
        let mut bytes = [0u8; 8];
        rand::fill(&mut bytes);
        let subjects = Subjects::new(cluster_id);
        let (link, queues) = ClusterLink::new(&hex::encode(bytes), subjects, metrics.clone());
        Ok(Self {
            link,
            queues,
            server,
            pool,
            metrics,
        })
    }

    /// Connects in the background and starts the bridge tasks; returns at once; an
    /// unreachable server is retried for as long as the hub runs. Must be called
    /// inside the actix system.
    pub fn start(self, registry: Addr<SubscriptionRegistry>, alerts: Arc<AlertEngine>) {
        let hub_id: Arc<str> = self.link.hub_id().into();
        let inbound = Inbound {
            hub_id: hub_id.clone(),
            subjects: self.link.subjects().clone(),
            registry: registry.clone(),
            alerts: alerts.clone(),
            metrics: self.metrics.clone(),
        };
        let membership = Arc::new(Membership::new(
            registry,
            alerts,
            self.pool,
            self.metrics.clone(),
        ));
        let events = membership.clone();
        let options = ConnectOptions::new()
            .name(format!("lunasentri-hub {hub_id}"))
            .no_echo()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .event_callback(move |event| {
                let events = events.clone();
                async move { events.on_event(event) }
            });
        let (server, queues, metrics) = (self.server, self.queues, self.metrics);
        tracing::info!(hub_id = %hub_id, "cluster mode: joining via NATS");
        actix_web::rt::spawn(async move {
            let client = match options.connect(server).await {
                Ok(c) => c,
                Err(e) => return tracing::error!(error = %e, "cluster mode: NATS client failed"),
            };
            let fixed = [
                inbound.subjects.control(),
                inbound.subjects.status_all(),
                inbound.subjects.alert_all(),
            ];
            for subject in fixed {
                match client.subscribe(subject.clone()).await {
                    Ok(sub) => drop(actix_web::rt::spawn(forward(sub, inbound.clone()))),
                    Err(e) => tracing::error!(subject, error = %e, "cluster subscribe failed"),
                }
            }
            actix_web::rt::spawn(publish(
                client.clone(),
                queues.data,
                queues.control,
                metrics.clone(),
            ));
            actix_web::rt::spawn(keep_watches(
                client.clone(),
                queues.watch,
                inbound,
                metrics.clone(),
            ));
            if client.flush().await.is_ok() {
                membership.subscribed();
            }
        });
    }
}

/// Relays one subscription's messages until it is dropped.
async fn forward(mut sub: Subscriber, inbound: Inbound) {
    while let Some(msg) = sub.next().await {
        inbound.deliver(msg);
    }
}

/// Publishes queued messages, control events first.
async fn publish(
    client: Client,
    mut data: mpsc::Receiver<Outgoing>,
    mut control: mpsc::Receiver<Outgoing>,
    metrics: Arc<HubMetrics>,
) {
    loop {
        let out = tokio::select! {
            biased;
            Some(out) = control.recv() => out,
            Some(out) = data.recv() => out,
            else => return,
        };
        match client.publish(out.subject, out.payload).await {
            Ok(()) => {
                metrics.cluster_published.inc();
            }
            Err(e) => {
                metrics.cluster_publish_dropped.inc();
                tracing::debug!(error = %e, "cluster publish failed");
            }
        }
    }
}

/// Subscribes to and unsubscribes from machines' live subjects as the registry asks.
async fn keep_watches(
    client: Client,
    mut rx: mpsc::UnboundedReceiver<Watch>,
    inbound: Inbound,
    metrics: Arc<HubMetrics>,
) {
    let mut subs: HashMap<i64, AbortHandle> = HashMap::new();
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(w) = rx.try_recv() {
            batch.push(w);
        }
        for w in batch {
            match w {
                Watch::Start(id) if !subs.contains_key(&id) => {
                    match client.subscribe(inbound.subjects.live(id)).await {
                        Ok(sub) => {
                            let task = actix_web::rt::spawn(forward(sub, inbound.clone()));
                            subs.insert(id, task.abort_handle());
                        }
                        Err(e) => {
                            tracing::warn!(machine_id = id, error = %e, "cluster subscribe failed")
                        }
                    }
                }
                Watch::Start(_) => {}
                // Dropping the subscriber unsubscribes.
                Watch::Stop(id) => {
                    if let Some(task) = subs.remove(&id) {
                        task.abort();
                    }
                }
            }
        }
        let _ = tokio::time::timeout(CONFIRM_WAIT, client.flush()).await;
        metrics.cluster_subscriptions.set(subs.len() as i64);
    }
}
