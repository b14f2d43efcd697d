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

/// The value under `key`, storing `value` first if there is none; when several hubs
/// race, every one of them gets the first value stored.
pub fn get_or_put(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<String> {
    crate::on_backend!(conn, c => diesel::insert_into(settings::table)
        .values((settings::key.eq(key), settings::value.eq(value)))
        .on_conflict_do_nothing()
        .execute(c))?;
    settings::table
        .find(key)
        .select(settings::value)
        .first(conn)
}
