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
use diesel::r2d2::{self, CustomizeConnection, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;

/// One connection to whichever backend the URL names.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// Pool of [`DbConn`].
pub type Pool = r2d2::Pool<Manager>;

/// A pooled connection.
pub type PooledConn = r2d2::PooledConnection<Manager>;

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

    /// Opens one connection. Failures name their real cause: diesel's multi-connection
    /// reports every failure, a missing database included, as an invalid URL.
    fn establish(&self) -> Result<DbConn, diesel::ConnectionError> {
        match self.backend {
            Backend::Sqlite => SqliteConnection::establish(&self.target).map(DbConn::Sqlite),
            Backend::Postgres => PgConnection::establish(&self.target)
                .map(DbConn::Pg)
                .map_err(|e| match e {
                    diesel::ConnectionError::BadConnection(msg) => {
                        diesel::ConnectionError::BadConnection(format!(
                            "{} ({})",
                            msg.trim(),
                            redact(&self.target)
                        ))
                    }
                    other => other,
                }),
        }
    }
}

/// The pool's connection manager: opens [`DbConn`]s through [`DbUrl`], so a connection
/// the pool opens later (after a restart of PostgreSQL, say) fails with the same clear
/// error as the first one.
#[derive(Debug)]
pub struct Manager(DbUrl);

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        self.0.establish().map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
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

/// Pages SQLite's write-ahead log grows to before a commit copies it into the database
/// file (SQLite's default: 1,000, about 4 MB). Each flush of the writer dirties about
/// one index page per machine that sent a sample, so with thousands of machines the
/// default checkpointed after every flush and rewrote each of those pages into the file
/// every time; with 10,000 pages (about 40 MB of log) a page changed by several flushes
/// is copied once. `docs/benchmarks.md` has the measurement.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// Bytes SQLite may hold on the heap, all connections together, before it reuses cached
/// pages instead of allocating more (`soft_heap_limit`, a process-wide setting). Each
/// connection's cache may grow to 16 MB: at 10,000 agents SQLite held 20 to 40 MB,
/// depending on how many of the pool's connections had filled theirs, in glibc arenas
/// of 32 to 50 MB; bounded, it holds 32 MB in arenas of 30 to 34 MB
/// (`docs/benchmarks.md`, *SQLite's share of the memory*).
const SQLITE_SOFT_HEAP_LIMIT: u64 = 32 << 20;

/// Per-connection settings: SQLite gets `synchronous=NORMAL`, a busy timeout, foreign
/// keys, the checkpoint threshold and the heap limit on every connection the pool hands
/// out (WAL is a property of the file).
#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<DbConn, r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            // journal_mode = WAL is persistent and set once in `connect`.
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                 PRAGMA cache_size = -16000; PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}; \
                 PRAGMA soft_heap_limit = {SQLITE_SOFT_HEAP_LIMIT};"
            ))
            .map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Opens the database named by `url`, reporting the real cause of a failure, runs the
/// embedded migrations, and returns a pool of `pool_size` connections.
pub fn connect(url: &str, pool_size: u32) -> Result<(Pool, Backend), DbError> {
    let parsed = DbUrl::parse(url)?;
    let backend = parsed.backend;
    let file = (backend == Backend::Sqlite && parsed.target != ":memory:")
        .then(|| Path::new(&parsed.target));
    if let Some(dir) = file
        .and_then(Path::parent)
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| DbError::Dir {
            dir: dir.display().to_string(),
            source,
        })?;
    }
    let mut first = parsed.establish()?;
    if file.is_some() {
        // auto_vacuum must be chosen before the first table exists: a new file gets
        // INCREMENTAL (retention hands freed pages back); on an existing file the
        // setting only takes effect after a one-time `VACUUM`.
        first
            .batch_execute("PRAGMA busy_timeout = 5000; PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL;")
            .map_err(|e| diesel::ConnectionError::BadConnection(format!("enabling WAL: {e}")))?;
    }
    drop(first);
    let pool = r2d2::Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(Pragmas))
        .build(Manager(parsed))?;
    let mut conn = pool.get()?;
    with_startup_lock(&mut conn, super::migrate::run)
        .map_err(|e| DbError::Migrate(e.to_string()))?;
    Ok((pool, backend))
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

impl DbConn {
    /// A transaction that writes. On SQLite it begins with `BEGIN IMMEDIATE`, taking the
    /// write lock (waiting up to the busy timeout for it) before its first read: a
    /// deferred transaction that reads first and then writes fails at once with
    /// `database is locked` whenever another connection (the sample writer, four times a
    /// second) commits between the two, since its snapshot is then stale. Every
    /// transaction that writes goes through here; nested, it is a savepoint of the outer
    /// one, and PostgreSQL gets a plain transaction.
    pub fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let DbConn::Sqlite(c) = self else {
            return self.transaction(f);
        };
        let depth = AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth();
        if !matches!(depth, Ok(None)) {
            // Nested: the outer transaction holds the lock (or the error) already.
            return self.transaction(f);
        }
        AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
        match f(self) {
            Ok(value) => {
                <DbConn as TransactionManager<DbConn>>::commit_transaction(self)?;
                Ok(value)
            }
            Err(e) => {
                <DbConn as TransactionManager<DbConn>>::rollback_transaction(self)?;
                Err(e)
            }
        }
    }
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

    /// Every SQLite connection the pool hands out runs with the hub's checkpoint threshold,
    /// and SQLite's memory is bounded.
    #[test]
    fn sqlite_connections_get_their_pragmas() {
        use diesel::RunQueryDsl;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/p.db", dir.path().display());
        let (pool, _) = connect(&url, 2).unwrap();
        let mut conn = pool.get().unwrap();
        let DbConn::Sqlite(c) = &mut *conn else {
            panic!("a sqlite URL gives a SQLite connection");
        };
        #[derive(diesel::QueryableByName)]
        struct Wal {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            wal_autocheckpoint: i64,
        }
        let wal: Wal = diesel::sql_query("PRAGMA wal_autocheckpoint")
            .get_result(c)
            .unwrap();
        assert_eq!(wal.wal_autocheckpoint, i64::from(WAL_AUTOCHECKPOINT_PAGES));
        #[derive(diesel::QueryableByName)]
        struct Limit {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            soft_heap_limit: i64,
        }
        let limit: Limit = diesel::sql_query("PRAGMA soft_heap_limit")
            .get_result(c)
            .unwrap();
        assert_eq!(limit.soft_heap_limit as u64, SQLITE_SOFT_HEAP_LIMIT);
    }

    /// A transaction that reads and then writes while another connection commits in
    /// between: the deferred one fails with "database is locked", the write transaction
    /// holds the lock from its start (the other connection is the one told to wait) and
    /// commits.
    #[test]
    fn write_transaction_takes_the_lock_before_reading() {
        use diesel::RunQueryDsl;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/w.db", dir.path().display());
        let (pool, _) = connect(&url, 2).unwrap();
        let (mut a, mut b) = (pool.get().unwrap(), pool.get().unwrap());
        b.batch_execute("PRAGMA busy_timeout = 0").unwrap();
        let read = |c: &mut DbConn| diesel::sql_query("SELECT 1 FROM settings").execute(c);
        let write = |c: &mut DbConn, key: &str| {
            diesel::sql_query(format!(
                "INSERT INTO settings (key, value) VALUES ('{key}', 'x')"
            ))
            .execute(c)
        };

        let deferred = a.transaction(|a| {
            read(a)?;
            write(&mut b, "other-1")?;
            write(a, "mine-1")
        });
        let err = deferred.expect_err("a stale snapshot cannot write");
        assert!(err.to_string().contains("locked"), "{err}");

        a.write_transaction(|a| {
            read(a)?;
            let other = write(&mut b, "other-2").expect_err("the lock is taken");
            assert!(other.to_string().contains("locked"), "{other}");
            write(a, "mine-2")
        })
        .unwrap();
        let stored: Vec<String> = {
            use crate::db::schema::settings::dsl::*;
            use diesel::QueryDsl;
            settings.select(key).order(key).load(&mut *a).unwrap()
        };
        assert_eq!(stored, ["mine-2", "other-1"], "{stored:?}");
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

    /// A connection the pool opens after start-up names the real cause of a failure
    /// (here: the database was dropped), not "invalid connection url".
    #[test]
    fn later_connections_name_the_real_error() {
        let Some(db) = crate::testing::TestDb::postgres() else {
            return;
        };
        let (pool, _) = super::super::connect(&db.url, 1).expect("connects");
        let name = db.url.rsplit('/').next().unwrap_or_default().to_owned();
        let mut admin =
            PgConnection::establish(crate::testing::PG_ADMIN_URL).expect("admin connection");
        admin
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .expect("drop");
        let err = match Manager(DbUrl::parse(&db.url).expect("url")).connect() {
            Ok(_) => panic!("connected to a dropped database"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("does not exist"), "{err}");
        assert!(err.contains(&name), "{err}");
        drop(pool);
    }
}
