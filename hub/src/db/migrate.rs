//! Embedded migrations for each backend, applied at start.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConn;

const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Applies every pending migration for the connection's backend.
pub fn run(conn: &mut DbConn) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE)?.len(),
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES)?.len(),
    };
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(())
}
