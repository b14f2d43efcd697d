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

#[cfg(test)]
mod tests {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    use diesel::sqlite::SqliteConnection;

    use super::*;
    use crate::db::rollups::{self, Tier};

    /// Upgrading a database that already holds raw history rolls that history up once,
    /// and keeps every raw row.
    #[test]
    fn upgrade_rolls_up_existing_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut c = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        c.run_next_migration(SQLITE).unwrap();
        c.batch_execute(
            "INSERT INTO users (id, email, password_hash, role, created_at) VALUES (1, 'a@x.io', 'x', 'user', 0);
             INSERT INTO machines (id, owner_id, name, created_at) VALUES (7, 1, 'old', 0);",
        )
        .unwrap();
        for i in 0..150i64 {
            c.batch_execute(&format!(
                "INSERT INTO metrics_history VALUES (7, {}, {i}, {}, 1, 2, 3, 4, 0.5, 0.5, 0.5, 5, 6, 7, 8, 1, 2, 3, 4, 9, 10, '{{}}')",
                3_600_000 + i * 1000,
                i as f64
            ))
            .unwrap();
        }
        drop(c);
        let (pool, _) = crate::db::connect(&format!("sqlite://{}", path.display()), 1).unwrap();
        let mut conn = pool.get().unwrap();
        assert_eq!(rollups::count(&mut conn, Tier::Raw, 7).unwrap(), 150);
        let minutes = rollups::load(&mut conn, Tier::Minute, 7).unwrap();
        assert_eq!(minutes.len(), 3);
        assert_eq!(minutes.iter().map(|(_, a)| a.n).sum::<i64>(), 150);
        assert_eq!(minutes[0].1.sum[0], (0..60).sum::<i64>() as f64);
        assert_eq!(minutes[2].1.max[0], 149.0);
        let hours = rollups::load(&mut conn, Tier::Hour, 7).unwrap();
        assert_eq!((hours.len(), hours[0].0, hours[0].1.n), (1, 3_600_000, 150));
    }
}
