//! `sessions`: browser logins, stored as the SHA-256 of a random token.

use diesel::prelude::*;

use super::DbConn;
use super::schema::{sessions, users};
use super::users::UserRow;

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub user_id: i64,
    pub token_hash: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

pub fn insert(conn: &mut DbConn, new: &NewSession) -> QueryResult<usize> {
    diesel::insert_into(sessions::table)
        .values(new)
        .execute(conn)
}

/// The user behind an unexpired session token hash, with the session id.
pub fn user_for(
    conn: &mut DbConn,
    token_hash: &str,
    now: i64,
) -> QueryResult<Option<(i64, UserRow)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(now))
        .select((sessions::id, UserRow::as_select()))
        .first(conn)
        .optional()
}

pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(id)).execute(conn)
}

/// Ends every session of a user, optionally keeping one (the caller's own).
pub fn delete_for_user(conn: &mut DbConn, user_id: i64, keep: Option<i64>) -> QueryResult<usize> {
    let q = sessions::table.filter(sessions::user_id.eq(user_id));
    match keep {
        Some(id) => diesel::delete(q.filter(sessions::id.ne(id))).execute(conn),
        None => diesel::delete(q).execute(conn),
    }
}

pub fn delete_expired(conn: &mut DbConn, now: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)
}

/// A user's sessions as (id, created_at, expires_at); the token hash is not returned.
pub fn for_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<(i64, i64, i64)>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .order(sessions::id)
        .select((sessions::id, sessions::created_at, sessions::expires_at))
        .load(conn)
}
