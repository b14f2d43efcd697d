//! `audit_log`: who did what to whose resource, for admin actions on other users' data.

use diesel::prelude::*;

use super::DbConn;
use super::schema::audit_log;
use lunasentri_schema::api::AuditEntry;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub ts: i64,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<i64>,
    pub detail: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAudit<'a> {
    pub ts: i64,
    pub actor_user_id: Option<i64>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<i64>,
    pub detail: &'a str,
}

impl AuditRow {
    pub fn to_api(self) -> AuditEntry {
        AuditEntry {
            id: self.id,
            ts: self.ts,
            actor_user_id: self.actor_user_id,
            action: self.action,
            target_type: self.target_type,
            target_id: self.target_id,
            detail: self.detail,
        }
    }
}

pub fn insert(conn: &mut DbConn, new: &NewAudit) -> QueryResult<usize> {
    diesel::insert_into(audit_log::table)
        .values(new)
        .execute(conn)
}

/// Newest first, `limit` rows, optionally only rows older than `before_id`.
pub fn list(conn: &mut DbConn, limit: i64, before_id: Option<i64>) -> QueryResult<Vec<AuditRow>> {
    let mut q = audit_log::table
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditRow::as_select())
        .into_boxed();
    if let Some(b) = before_id {
        q = q.filter(audit_log::id.lt(b));
    }
    q.load(conn)
}

/// Rows that are about `user_id`: done by them, done to their account, or done to one
/// of `machine_ids` (theirs). Oldest first.
pub fn about_user(
    conn: &mut DbConn,
    user_id: i64,
    machine_ids: &[i64],
) -> QueryResult<Vec<AuditRow>> {
    audit_log::table
        .filter(
            audit_log::actor_user_id
                .eq(user_id)
                .or(audit_log::target_type
                    .eq("user")
                    .and(audit_log::target_id.eq(user_id)))
                .or(audit_log::target_type
                    .eq("machine")
                    .and(audit_log::target_id.eq_any(machine_ids))),
        )
        .order(audit_log::id)
        .select(AuditRow::as_select())
        .load(conn)
}

/// Deletes the rows [`about_user`] returns (erasure of an account).
pub fn delete_about_user(
    conn: &mut DbConn,
    user_id: i64,
    machine_ids: &[i64],
) -> QueryResult<usize> {
    diesel::delete(
        audit_log::table.filter(
            audit_log::actor_user_id
                .eq(user_id)
                .or(audit_log::target_type
                    .eq("user")
                    .and(audit_log::target_id.eq(user_id)))
                .or(audit_log::target_type
                    .eq("machine")
                    .and(audit_log::target_id.eq_any(machine_ids))),
        ),
    )
    .execute(conn)
}

/// An audit row that owns its strings, for queuing to the writer.
#[derive(Debug, Clone)]
pub struct NewAuditOwned {
    pub actor_user_id: Option<i64>,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<i64>,
    pub detail: String,
}

impl NewAuditOwned {
    pub fn new(
        actor_user_id: Option<i64>,
        action: &'static str,
        target_type: &'static str,
        target_id: Option<i64>,
        detail: String,
    ) -> Self {
        Self {
            actor_user_id,
            action,
            target_type,
            target_id,
            detail,
        }
    }

    pub fn insert(&self, conn: &mut DbConn, ts: i64) -> QueryResult<usize> {
        insert(
            conn,
            &NewAudit {
                ts,
                actor_user_id: self.actor_user_id,
                action: self.action,
                target_type: self.target_type,
                target_id: self.target_id,
                detail: &self.detail,
            },
        )
    }
}
