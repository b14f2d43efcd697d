//! Machine access, decided in one place: owners see their machines, admins see all
//! (and every admin touch of another user's machine is audited), everyone else gets
//! the same 404 as for a machine that does not exist.

use crate::auth::AuthUser;
use crate::db::audit::NewAuditOwned;
use crate::db::machines::{self, MachineRow};
use crate::db::{DbConn, now_ms};
use crate::error::ApiError;

/// The machine if `user` may act on it; writes an audit row when an admin acts on
/// someone else's machine. `action` names what the admin did.
pub fn machine(
    conn: &mut DbConn,
    user: &AuthUser,
    id: i64,
    action: &'static str,
) -> Result<MachineRow, ApiError> {
    let m = machines::by_id(conn, id)?.ok_or(ApiError::NotFound("machine"))?;
    if m.owner_id == user.id {
        return Ok(m);
    }
    if !user.is_admin() {
        return Err(ApiError::NotFound("machine"));
    }
    audit(
        conn,
        user,
        action,
        "machine",
        Some(id),
        format!("owner {}", m.owner_id),
    )?;
    Ok(m)
}

/// Writes one audit row for an admin action.
pub fn audit(
    conn: &mut DbConn,
    user: &AuthUser,
    action: &'static str,
    target_type: &'static str,
    target_id: Option<i64>,
    detail: String,
) -> Result<(), ApiError> {
    NewAuditOwned::new(Some(user.id), action, target_type, target_id, detail)
        .insert(conn, now_ms())?;
    Ok(())
}
