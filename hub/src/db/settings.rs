//! `settings`: hub-wide settings changed at run time (today: retention), one JSON value
//! per key, so they survive restarts and are shared by every hub on one database.

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::DbConn;
use super::schema::settings;

/// The value stored under `key`.
pub fn get(conn: &mut DbConn, key: &str) -> QueryResult<Option<String>> {
    settings::table
        .find(key)
        .select(settings::value)
        .first(conn)
        .optional()
}

/// Stores `value` under `key`, replacing any previous value.
pub fn put(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<()> {
    crate::on_backend!(conn, c => diesel::insert_into(settings::table)
        .values((settings::key.eq(key), settings::value.eq(value)))
        .on_conflict(settings::key)
        .do_update()
        .set(settings::value.eq(excluded(settings::value)))
        .execute(c))?;
    Ok(())
}
