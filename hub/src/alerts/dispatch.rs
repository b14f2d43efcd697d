//! Turns engine transitions into stored alerts: opens, notifies and resolves events in
//! order, pushes the `alert` frame to the owner's live sessions, and queues deliveries.
//! Runs as one task, so the transitions of a rule on a machine apply in order.

use actix::Addr;
use actix_web::web;
use diesel::QueryResult;
use lunasentri_schema::LiveFrame;
use lunasentri_schema::alert::{AlertEvent, ChannelConfig};
use tokio::sync::mpsc;

use super::deliver::{Deliverer, DeliveryJob};
use super::engine::Transition;
use super::notification::{MachineRef, Notification, Reason};
use super::state::Action;
use crate::actors::SubscriptionRegistry;
use crate::actors::subscription_registry::{AlertPublished, encode};
use crate::db::{DbConn, Pool, alert_events, channels, machines};

/// What recording a transition produced.
struct Recorded {
    event: AlertEvent,
    notification: Option<Notification>,
    jobs: Vec<(i64, ChannelConfig)>,
}

/// Starts the dispatcher on the current actix system.
pub fn start(
    mut rx: mpsc::Receiver<Transition>,
    pool: Pool,
    registry: Addr<SubscriptionRegistry>,
    deliverer: Deliverer,
) {
    actix::spawn(async move {
        while let Some(t) = rx.recv().await {
            let pool = pool.clone();
            let (rule_id, machine_id) = (t.rule.id, t.machine_id);
            let res = web::block(move || -> anyhow::Result<Option<Recorded>> {
                let mut conn = pool.get()?;
                Ok(record(&mut conn, &t)?)
            })
            .await;
            let recorded = match res {
                Ok(Ok(Some(r))) => r,
                Ok(Ok(None)) => continue,
                Ok(Err(e)) => {
                    tracing::error!(rule_id, machine_id, error = %e, "cannot record alert");
                    continue;
                }
                Err(e) => {
                    tracing::error!(rule_id, machine_id, error = %e, "cannot record alert");
                    continue;
                }
            };
            publish(&registry, &recorded.event);
            if let Some(n) = recorded.notification {
                for (delivery_id, config) in recorded.jobs {
                    deliverer.enqueue(DeliveryJob {
                        delivery_id,
                        config,
                        notification: n.clone(),
                    });
                }
            }
        }
    });
}

/// Sends an event to its owner's live sessions watching the machine.
pub fn publish(registry: &Addr<SubscriptionRegistry>, event: &AlertEvent) {
    registry.do_send(AlertPublished {
        machine_id: event.machine_id,
        user_id: event.user_id,
        frame: encode(&LiveFrame::Alert {
            event: Box::new(event.clone()),
        }),
        from_peer: false,
    });
}

/// Applies one transition to the database. `None` when there is nothing to announce
/// (the alert was already open, or already closed).
fn record(conn: &mut DbConn, t: &Transition) -> QueryResult<Option<Recorded>> {
    let rule = &t.rule;
    let open = alert_events::open_for(conn, rule.id, t.machine_id)?;
    let (row, reason) = match (t.action, open) {
        (Action::Fire { .. }, Some(_)) => return Ok(None),
        (Action::Fire { value, notify }, None) => {
            let row = alert_events::insert(
                conn,
                &alert_events::NewEvent {
                    rule_id: rule.id,
                    rule_name: &rule.name,
                    user_id: rule.user_id,
                    machine_id: t.machine_id,
                    metric: &rule.metric_name,
                    comparator: rule.comparator.as_str(),
                    threshold: rule.threshold,
                    severity: rule.severity.as_str(),
                    state: "firing",
                    value,
                    started_at: t.at,
                    last_notified_at: notify.then_some(t.at),
                },
            )?;
            (row, notify.then_some(Reason::Firing))
        }
        (_, None) => return Ok(None),
        (Action::NotifyFiring | Action::Repeat, Some(row)) => {
            alert_events::set_notified(conn, row.id, t.at)?;
            let reason = if t.action == Action::Repeat {
                Reason::Repeat
            } else {
                Reason::Firing
            };
            (row, Some(reason))
        }
        (Action::Resolve { value, notify }, Some(row)) => {
            alert_events::resolve(conn, row.id, t.at, value)?;
            let row = alert_events::by_id(conn, row.id)?.unwrap_or(row);
            (row, notify.then_some(Reason::Resolved))
        }
    };
    let mut jobs = Vec::new();
    if let Some(reason) = reason {
        for &channel_id in &rule.channel_ids {
            let Some(ch) = channels::by_id(conn, channel_id)? else {
                continue;
            };
            // Channels are checked when the rule is saved; a rule never borrows
            // another user's channel even if ids changed hands since.
            let (true, Some(config)) = (ch.user_id == rule.user_id, ch.parsed()) else {
                continue;
            };
            let id = alert_events::insert_delivery(
                conn,
                row.id,
                ch.id,
                &ch.name,
                reason.as_str(),
                "queued",
                t.at,
            )?;
            jobs.push((id, config));
        }
    }
    let event = alert_events::with_deliveries(conn, vec![row])?
        .pop()
        .expect("one row in, one event out");
    let notification = match reason {
        Some(reason) => {
            let name = machines::by_id(conn, t.machine_id)?
                .map(|m| m.name)
                .unwrap_or_else(|| format!("machine {}", t.machine_id));
            let machine = MachineRef {
                id: t.machine_id,
                name,
            };
            Some(Notification::new(reason, event.clone(), machine))
        }
        None => None,
    };
    Ok(Some(Recorded {
        event,
        notification,
        jobs,
    }))
}
