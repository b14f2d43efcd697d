//! `alert_events` (one row per alert, firing until resolved) and `alert_deliveries`
//! (each notification of an event on a channel).

use std::collections::HashMap;

use diesel::prelude::*;
use lunasentri_schema::alert::{AlertEvent, AlertState, Comparator, Delivery, Severity};

use super::DbConn;
use super::schema::{alert_deliveries, alert_events};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alert_events)]
pub struct EventRow {
    pub id: i64,
    pub rule_id: Option<i64>,
    pub rule_name: String,
    pub user_id: i64,
    pub machine_id: i64,
    pub metric: String,
    pub comparator: String,
    pub threshold: f64,
    pub severity: String,
    pub state: String,
    pub value: Option<f64>,
    pub resolved_value: Option<f64>,
    pub started_at: i64,
    pub resolved_at: Option<i64>,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<i64>,
    pub last_notified_at: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = alert_events)]
pub struct NewEvent<'a> {
    pub rule_id: i64,
    pub rule_name: &'a str,
    pub user_id: i64,
    pub machine_id: i64,
    pub metric: &'a str,
    pub comparator: &'a str,
    pub threshold: f64,
    pub severity: &'a str,
    pub state: &'a str,
    pub value: Option<f64>,
    pub started_at: i64,
    pub last_notified_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alert_deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub event_id: i64,
    pub channel_id: Option<i64>,
    pub channel_name: String,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub error: Option<String>,
    pub updated_at: i64,
}

impl DeliveryRow {
    pub fn to_api(&self) -> Delivery {
        Delivery {
            channel_id: self.channel_id,
            channel_name: self.channel_name.clone(),
            kind: self.kind.clone(),
            status: self.status.clone(),
            attempts: self.attempts,
            error: self.error.clone(),
            updated_at: self.updated_at,
        }
    }
}

impl EventRow {
    pub fn to_api(&self, deliveries: Vec<Delivery>) -> AlertEvent {
        AlertEvent {
            id: self.id,
            rule_id: self.rule_id,
            rule_name: self.rule_name.clone(),
            user_id: self.user_id,
            machine_id: self.machine_id,
            metric: self.metric.clone(),
            comparator: Comparator::parse(&self.comparator).unwrap_or(Comparator::Gt),
            threshold: self.threshold,
            severity: Severity::parse(&self.severity),
            state: AlertState::parse(&self.state).unwrap_or(AlertState::Resolved),
            value: self.value,
            resolved_value: self.resolved_value,
            started_at: self.started_at,
            resolved_at: self.resolved_at,
            acknowledged_at: self.acknowledged_at,
            acknowledged_by: self.acknowledged_by,
            deliveries,
        }
    }
}

const FIRING: &str = "firing";
const RESOLVED: &str = "resolved";

pub fn insert(conn: &mut DbConn, new: &NewEvent) -> QueryResult<EventRow> {
    crate::on_backend!(conn, c => diesel::insert_into(alert_events::table)
        .values(new)
        .returning(EventRow::as_returning())
        .get_result(c))
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<EventRow>> {
    alert_events::table
        .find(id)
        .select(EventRow::as_select())
        .first(conn)
        .optional()
}

/// The open alert of a rule on a machine.
pub fn open_for(conn: &mut DbConn, rule_id: i64, machine_id: i64) -> QueryResult<Option<EventRow>> {
    alert_events::table
        .filter(alert_events::rule_id.eq(rule_id))
        .filter(alert_events::machine_id.eq(machine_id))
        .filter(alert_events::state.eq(FIRING))
        .select(EventRow::as_select())
        .first(conn)
        .optional()
}

/// Every open alert (rebuilds the engine's state at start), or one machine's.
pub fn open(conn: &mut DbConn, machine_id: Option<i64>) -> QueryResult<Vec<EventRow>> {
    let mut q = alert_events::table
        .filter(alert_events::state.eq(FIRING))
        .filter(alert_events::rule_id.is_not_null())
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(m) = machine_id {
        q = q.filter(alert_events::machine_id.eq(m));
    }
    q.load(conn)
}

pub fn set_notified(conn: &mut DbConn, id: i64, at: i64) -> QueryResult<usize> {
    diesel::update(alert_events::table.find(id))
        .set(alert_events::last_notified_at.eq(at))
        .execute(conn)
}

/// Closes an alert with the value that cleared it.
pub fn resolve(conn: &mut DbConn, id: i64, at: i64, value: Option<f64>) -> QueryResult<usize> {
    diesel::update(alert_events::table.find(id))
        .filter(alert_events::state.eq(FIRING))
        .set((
            alert_events::state.eq(RESOLVED),
            alert_events::resolved_at.eq(at),
            alert_events::resolved_value.eq(value),
        ))
        .execute(conn)
}

/// Ids of a rule's open alerts.
pub fn open_ids_of_rule(conn: &mut DbConn, rule_id: i64) -> QueryResult<Vec<i64>> {
    alert_events::table
        .filter(alert_events::rule_id.eq(rule_id))
        .filter(alert_events::state.eq(FIRING))
        .select(alert_events::id)
        .load(conn)
}

/// Events by id, as the API shows them.
pub fn by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<AlertEvent>> {
    let rows = alert_events::table
        .filter(alert_events::id.eq_any(ids))
        .order(alert_events::id)
        .select(EventRow::as_select())
        .load(conn)?;
    with_deliveries(conn, rows)
}

/// Closes every open alert of a rule (the rule was changed, disabled or deleted).
pub fn resolve_rule(conn: &mut DbConn, rule_id: i64, at: i64) -> QueryResult<usize> {
    diesel::update(alert_events::table)
        .filter(alert_events::rule_id.eq(rule_id))
        .filter(alert_events::state.eq(FIRING))
        .set((
            alert_events::state.eq(RESOLVED),
            alert_events::resolved_at.eq(at),
        ))
        .execute(conn)
}

pub fn acknowledge(conn: &mut DbConn, id: i64, by: i64, at: i64) -> QueryResult<usize> {
    diesel::update(alert_events::table.find(id))
        .filter(alert_events::acknowledged_at.is_null())
        .set((
            alert_events::acknowledged_at.eq(at),
            alert_events::acknowledged_by.eq(by),
        ))
        .execute(conn)
}

/// Filters of `GET /api/alert-events`.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// `None`: everyone's (admins).
    pub user_id: Option<i64>,
    pub machine_id: Option<i64>,
    pub state: Option<AlertState>,
    /// Alerts that were open at some time in `[from, to]`.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: i64,
}

/// Newest first.
pub fn list(conn: &mut DbConn, f: &EventFilter) -> QueryResult<Vec<EventRow>> {
    let mut q = alert_events::table
        .order(alert_events::started_at.desc())
        .then_order_by(alert_events::id.desc())
        .limit(f.limit)
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(u) = f.user_id {
        q = q.filter(alert_events::user_id.eq(u));
    }
    if let Some(m) = f.machine_id {
        q = q.filter(alert_events::machine_id.eq(m));
    }
    if let Some(s) = f.state {
        q = q.filter(alert_events::state.eq(s.as_str()));
    }
    if let Some(to) = f.to {
        q = q.filter(alert_events::started_at.le(to));
    }
    if let Some(from) = f.from {
        q = q.filter(
            alert_events::resolved_at
                .is_null()
                .or(alert_events::resolved_at.ge(from)),
        );
    }
    q.load(conn)
}

/// Events of one user (export).
pub fn of_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<EventRow>> {
    alert_events::table
        .filter(alert_events::user_id.eq(user_id))
        .order(alert_events::id)
        .select(EventRow::as_select())
        .load(conn)
}

pub fn insert_delivery(
    conn: &mut DbConn,
    event_id: i64,
    channel_id: i64,
    channel_name: &str,
    kind: &str,
    status: &str,
    at: i64,
) -> QueryResult<i64> {
    crate::on_backend!(conn, c => diesel::insert_into(alert_deliveries::table)
        .values((
            alert_deliveries::event_id.eq(event_id),
            alert_deliveries::channel_id.eq(channel_id),
            alert_deliveries::channel_name.eq(channel_name),
            alert_deliveries::kind.eq(kind),
            alert_deliveries::status.eq(status),
            alert_deliveries::attempts.eq(0),
            alert_deliveries::updated_at.eq(at),
        ))
        .returning(alert_deliveries::id)
        .get_result(c))
}

pub fn update_delivery(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    attempts: i32,
    error: Option<&str>,
    at: i64,
) -> QueryResult<usize> {
    diesel::update(alert_deliveries::table.find(id))
        .set((
            alert_deliveries::status.eq(status),
            alert_deliveries::attempts.eq(attempts),
            alert_deliveries::error.eq(error),
            alert_deliveries::updated_at.eq(at),
        ))
        .execute(conn)
}

/// Deliveries of the given events, by event id, oldest first.
pub fn deliveries(
    conn: &mut DbConn,
    event_ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<Delivery>>> {
    let mut out: HashMap<i64, Vec<Delivery>> = HashMap::new();
    for chunk in event_ids.chunks(500) {
        let rows: Vec<DeliveryRow> = alert_deliveries::table
            .filter(alert_deliveries::event_id.eq_any(chunk))
            .order(alert_deliveries::id)
            .select(DeliveryRow::as_select())
            .load(conn)?;
        for r in rows {
            out.entry(r.event_id).or_default().push(r.to_api());
        }
    }
    Ok(out)
}

/// Events with their deliveries, as the API shows them.
pub fn with_deliveries(conn: &mut DbConn, rows: Vec<EventRow>) -> QueryResult<Vec<AlertEvent>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut d = deliveries(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let list = d.remove(&r.id).unwrap_or_default();
            r.to_api(list)
        })
        .collect())
}
