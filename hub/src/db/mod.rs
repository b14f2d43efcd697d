//! Storage: one Diesel code path over SQLite (embedded default) and PostgreSQL.
//!
//! # Layout
//! - [`schema`]: table definitions.
//! - [`backend`]: the [`DbConn`] multi-connection, URL parsing, pool and pragmas.
//! - [`migrate`]: embedded migrations for each backend, run at start.
//! - one module per table with its row types and plain query functions
//!   (`fn(&mut DbConn, ..) -> QueryResult<_>`), run inside `web::block` or the writer
//!   thread, never on an actor thread.

pub mod alert_events;
pub mod alert_rules;
pub mod audit;
pub mod backend;
pub mod bootstrap;
pub mod channels;
pub mod enrollment;
pub mod machines;
pub mod metrics;
pub mod migrate;
pub mod pending_rollups;
pub mod raw_slots;
pub mod rollups;
pub mod schema;
pub mod sessions;
pub mod settings;
pub mod users;

pub use backend::{DbConn, DbError, Pool, connect};

/// Milliseconds since the Unix epoch, the unit of every time column.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
