//! `alert_rules`: per-user rules; machine and channel id lists are JSON arrays.

use diesel::prelude::*;
use lunasentri_schema::alert::{AlertRule, AlertRuleInput, Comparator, QuietHours, Severity};

use super::DbConn;
use super::schema::alert_rules;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alert_rules)]
pub struct RuleRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub machine_ids: Option<String>,
    pub metric: String,
    pub comparator: String,
    pub threshold: f64,
    pub clear_threshold: f64,
    pub for_s: i64,
    pub repeat_s: Option<i64>,
    pub severity: String,
    pub enabled: bool,
    pub quiet_start: Option<String>,
    pub quiet_end: Option<String>,
    pub channel_ids: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The columns a create or update writes.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = alert_rules, treat_none_as_null = true)]
pub struct RuleValues {
    pub name: String,
    pub machine_ids: Option<String>,
    pub metric: String,
    pub comparator: String,
    pub threshold: f64,
    pub clear_threshold: f64,
    pub for_s: i64,
    pub repeat_s: Option<i64>,
    pub severity: String,
    pub enabled: bool,
    pub quiet_start: Option<String>,
    pub quiet_end: Option<String>,
    pub channel_ids: String,
    pub updated_at: i64,
}

impl RuleValues {
    /// Columns of a validated rule body (comparator and thresholds filled in).
    pub fn from_input(r: &AlertRuleInput, now: i64) -> Self {
        let ids = |v: &[i64]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        Self {
            name: r.name.clone(),
            machine_ids: r.machine_ids.as_deref().map(ids),
            metric: r.metric.clone(),
            comparator: r.comparator.unwrap_or(Comparator::Gt).as_str().into(),
            threshold: r.threshold.unwrap_or(0.0),
            clear_threshold: r.clear_threshold.or(r.threshold).unwrap_or(0.0),
            for_s: r.for_s.into(),
            repeat_s: r.repeat_s.map(i64::from),
            severity: r.severity.as_str().into(),
            enabled: r.enabled,
            quiet_start: r.quiet_hours.as_ref().map(|q| q.start.clone()),
            quiet_end: r.quiet_hours.as_ref().map(|q| q.end.clone()),
            channel_ids: ids(&r.channel_ids),
            updated_at: now,
        }
    }
}

impl RuleRow {
    pub fn to_api(&self) -> AlertRule {
        let ids = |s: &str| serde_json::from_str::<Vec<i64>>(s).unwrap_or_default();
        AlertRule {
            id: self.id,
            user_id: self.user_id,
            name: self.name.clone(),
            machine_ids: self.machine_ids.as_deref().map(ids),
            metric: self.metric.clone(),
            comparator: Comparator::parse(&self.comparator).unwrap_or(Comparator::Gt),
            threshold: self.threshold,
            clear_threshold: self.clear_threshold,
            for_s: u32::try_from(self.for_s).unwrap_or(0),
            repeat_s: self.repeat_s.and_then(|r| u32::try_from(r).ok()),
            severity: Severity::parse(&self.severity),
            enabled: self.enabled,
            quiet_hours: match (&self.quiet_start, &self.quiet_end) {
                (Some(start), Some(end)) => Some(QuietHours {
                    start: start.clone(),
                    end: end.clone(),
                }),
                _ => None,
            },
            channel_ids: ids(&self.channel_ids),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

pub fn insert(conn: &mut DbConn, user_id: i64, v: &RuleValues) -> QueryResult<RuleRow> {
    crate::on_backend!(conn, c => diesel::insert_into(alert_rules::table)
        .values((
            alert_rules::user_id.eq(user_id),
            v,
            alert_rules::created_at.eq(v.updated_at),
        ))
        .returning(RuleRow::as_returning())
        .get_result(c))
}

pub fn update(conn: &mut DbConn, id: i64, v: &RuleValues) -> QueryResult<usize> {
    diesel::update(alert_rules::table.find(id))
        .set(v)
        .execute(conn)
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<RuleRow>> {
    alert_rules::table
        .find(id)
        .select(RuleRow::as_select())
        .first(conn)
        .optional()
}

/// Rules of one user, or of everyone when `user` is `None`.
pub fn list(conn: &mut DbConn, user: Option<i64>) -> QueryResult<Vec<RuleRow>> {
    let mut q = alert_rules::table
        .order(alert_rules::id)
        .select(RuleRow::as_select())
        .into_boxed();
    if let Some(u) = user {
        q = q.filter(alert_rules::user_id.eq(u));
    }
    q.load(conn)
}

/// Every enabled rule (the engine's index).
pub fn enabled(conn: &mut DbConn) -> QueryResult<Vec<RuleRow>> {
    alert_rules::table
        .filter(alert_rules::enabled.eq(true))
        .select(RuleRow::as_select())
        .load(conn)
}

pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(alert_rules::table.find(id)).execute(conn)
}

/// Replaces a rule's channel list.
pub fn set_channels(conn: &mut DbConn, id: i64, channel_ids: &[i64]) -> QueryResult<usize> {
    let json = serde_json::to_string(channel_ids).unwrap_or_else(|_| "[]".into());
    diesel::update(alert_rules::table.find(id))
        .set(alert_rules::channel_ids.eq(json))
        .execute(conn)
}
