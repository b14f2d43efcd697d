//! The [`DbConn`] connection over SQLite or PostgreSQL, and the r2d2 pool around it.
//!
//! `MultiConnection` reports a failed connect only as "unsupported URL", so [`connect`]
//! checks the scheme itself and opens the concrete connection first to surface the real
//! cause (missing directory, refused connection, bad password).

use std::path::Path;
use std::time::Duration;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ConnectionManager, CustomizeConnection};
use diesel::sqlite::SqliteConnection;

/// One connection to whichever backend the URL names.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// Pool of [`DbConn`].
pub type Pool = r2d2::Pool<ConnectionManager<DbConn>>;

/// A pooled connection.
pub type PooledConn = r2d2::PooledConnection<ConnectionManager<DbConn>>;

/// Which backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "unsupported database URL scheme in {0:?}: use sqlite://PATH (e.g. sqlite://data/lunasentri.db) or postgres://USER@HOST/DB"
    )]
    Scheme(String),
    #[error("cannot create the directory {dir} for the SQLite database: {source}")]
    Dir { dir: String, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("cannot create the connection pool: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("database migrations failed: {0}")]
    Migrate(String),
}

/// A parsed database URL: the backend and what its driver expects.
#[derive(Debug, Clone)]
pub struct DbUrl {
    pub backend: Backend,
    /// For SQLite the file path (or `:memory:`), for PostgreSQL the URL unchanged.
    pub target: String,
}

impl DbUrl {
    /// Accepts `sqlite://PATH`, `sqlite:PATH`, `postgres://…` and `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if rest.is_empty() {
                return Err(DbError::Scheme(url.to_owned()));
            }
            return Ok(Self {
                backend: Backend::Sqlite,
                target: rest.to_owned(),
            });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: url.to_owned(),
            });
        }
        Err(DbError::Scheme(redact(url)))
    }

    /// What `DbConn::establish` wants: the multi-connection dispatches on the scheme.
    fn establish_url(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.target),
            Backend::Postgres => self.target.clone(),
        }
    }
}

/// Hides a password in a URL before it reaches an error message or a log line.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Per-connection settings: SQLite gets `synchronous=NORMAL`, a busy timeout and foreign
/// keys on every connection the pool hands out (WAL is a property of the file).
#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<DbConn, r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            // journal_mode = WAL is persistent and set once in `connect`.
            c.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                 PRAGMA cache_size = -16000;")
            .map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Opens the database named by `url`, reporting the real cause of a failure, runs the
/// embedded migrations, and returns a pool of `pool_size` connections.
pub fn connect(url: &str, pool_size: u32) -> Result<(Pool, Backend), DbError> {
    let parsed = DbUrl::parse(url)?;
    match parsed.backend {
        Backend::Sqlite => {
            if parsed.target != ":memory:"
                && let Some(dir) = Path::new(&parsed.target)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|source| DbError::Dir {
                    dir: dir.display().to_string(),
                    source,
                })?;
            }
            let mut c = SqliteConnection::establish(&parsed.target)?;
            if parsed.target != ":memory:" {
                // auto_vacuum must be chosen before the first table exists: a new file
                // gets INCREMENTAL (retention hands freed pages back); on an existing
                // file the setting only takes effect after a one-time `VACUUM`.
                c.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL;")
                    .map_err(|e| {
                        diesel::ConnectionError::BadConnection(format!("enabling WAL: {e}"))
                    })?;
            }
        }
        Backend::Postgres => {
            PgConnection::establish(&parsed.target).map_err(|e| match e {
                diesel::ConnectionError::BadConnection(msg) => {
                    diesel::ConnectionError::BadConnection(format!(
                        "{} ({})",
                        msg.trim(),
                        redact(&parsed.target)
                    ))
                }
                other => other,
            })?;
        }
    }
    let manager = ConnectionManager::<DbConn>::new(parsed.establish_url());
    let pool = r2d2::Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(Pragmas))
        .build(manager)?;
    let mut conn = pool.get()?;
    with_startup_lock(&mut conn, super::migrate::run)
        .map_err(|e| DbError::Migrate(e.to_string()))?;
    Ok((pool, parsed.backend))
}

/// Key of the PostgreSQL advisory lock a hub holds while it migrates and bootstraps.
const STARTUP_LOCK: i64 = 0x4c75_6e61_5365_6e74;

/// Runs `f` while holding the hubs' start-up lock, so hubs starting together on one
/// PostgreSQL database migrate it and create the first admin one after the other. On
/// SQLite, where the file lock already serialises writers, `f` simply runs.
pub fn with_startup_lock<T, E: From<diesel::result::Error>>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    let DbConn::Pg(pg) = conn else {
        return f(conn);
    };
    pg.batch_execute(&format!("SELECT pg_advisory_lock({STARTUP_LOCK})"))?;
    let out = f(conn);
    if let DbConn::Pg(pg) = conn {
        // Closing the connection would release it too; an error here changes nothing.
        let _ = pg.batch_execute(&format!("SELECT pg_advisory_unlock({STARTUP_LOCK})"));
    }
    out
}

/// Runs `$body` with `$c` bound to the concrete connection inside a [`DbConn`], for the
/// few statements the multi-connection cannot express (`RETURNING`, `ON CONFLICT`).
/// The body is written once and compiled for each backend.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Pg($c) => $body,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four hubs starting at the same moment on one empty PostgreSQL database all start:
    /// the schema is migrated once and exactly one first admin is created.
    #[test]
    fn hubs_starting_together_share_one_setup() {
        let Some(db) = crate::testing::TestDb::postgres() else {
            return;
        };
        let gate = std::sync::Arc::new(std::sync::Barrier::new(4));
        let starts: Vec<_> = (0..4)
            .map(|_| {
                let (url, gate) = (db.url.clone(), gate.clone());
                std::thread::spawn(move || -> anyhow::Result<()> {
                    gate.wait();
                    let (pool, _) = super::super::connect(&url, 1)?;
                    let mut conn = pool.get()?;
                    with_startup_lock(&mut conn, |c| {
                        super::super::bootstrap::ensure_admin(
                            c,
                            Some("first@example.com"),
                            Some("first-admin-password"),
                        )
                    })
                })
            })
            .collect();
        for s in starts {
            s.join().unwrap().expect("every hub starts");
        }
        let (pool, _) = super::super::connect(&db.url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        assert_eq!(super::super::users::count(&mut conn).unwrap(), 1);
    }

    /// URL schemes are recognised, and an unknown one is refused with a hint.
    #[test]
    fn parse_urls() {
        assert_eq!(
            DbUrl::parse("sqlite://data/x.db").unwrap().target,
            "data/x.db"
        );
        assert_eq!(
            DbUrl::parse("sqlite:///tmp/x.db").unwrap().target,
            "/tmp/x.db"
        );
        assert_eq!(
            DbUrl::parse("postgres://u@h/db").unwrap().backend,
            Backend::Postgres
        );
        let err = DbUrl::parse("mysql://root:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported database URL scheme"), "{err}");
        assert!(!err.contains("pw"), "password leaked: {err}");
    }

    /// Passwords never appear in redacted URLs.
    #[test]
    fn redact_hides_password() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    /// An unreachable PostgreSQL server is reported with the driver's real cause, not
    /// as an unsupported URL.
    #[test]
    fn postgres_unreachable_reports_cause() {
        let err = connect("postgres://nobody:secret@127.0.0.1:1/none", 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot open the database"), "{err}");
        assert!(!err.contains("unsupported"), "{err}");
        assert!(!err.contains("secret"), "password leaked: {err}");
        assert!(
            err.to_lowercase().contains("refused") || err.contains("127.0.0.1"),
            "{err}"
        );
    }

    /// A SQLite path whose directory cannot be created names the directory.
    #[test]
    fn sqlite_bad_dir_reports_cause() {
        let err = connect("sqlite:///proc/nope/x.db", 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/proc/nope"), "{err}");
    }
}
