//! `TestHub`: a real hub on `127.0.0.1:0` with its own temporary database, for the
//! integration tests of the hub, the agent and loadgen. It stops and cleans up on drop.
//! [`nats`] provides NATS servers for cluster tests.

pub mod nats;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use diesel::{Connection, RunQueryDsl};

use crate::clock::Clock;
use crate::config::Config;
use crate::{Hooks, build};

/// E-mail of the admin every test hub starts with.
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// Password of that admin.
pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// A database for one test: a temp SQLite file, or a fresh PostgreSQL database that is
/// dropped afterwards.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

/// Where PostgreSQL is expected (CI and this project's machines run it).
pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("hub.db").display());
        Self {
            url,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (with a loud message) when the server is
    /// not reachable. Under CI (`CI` set) an unreachable server is a failure.
    pub fn postgres() -> Option<Self> {
        let mut admin = match diesel::PgConnection::establish(PG_ADMIN_URL) {
            Ok(c) => c,
            Err(e) => {
                let msg = format!(
                    "PostgreSQL at {PG_ADMIN_URL} is not reachable ({e}); PostgreSQL tests SKIPPED"
                );
                if std::env::var_os("CI").is_some() {
                    panic!("{msg} (CI requires PostgreSQL)");
                }
                eprintln!("\n!!!!! {msg} !!!!!\n");
                return None;
            }
        };
        let mut bytes = [0u8; 6];
        rand::fill(&mut bytes);
        let name = format!("lunasentri_test_{}", hex::encode(bytes));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        Some(Self {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            _dir: None,
            pg_name: Some(name),
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut admin) = diesel::PgConnection::establish(PG_ADMIN_URL)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// A running hub.
pub struct TestHub {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The hub's clock (manual: tests move it with `advance_ms`).
    pub clock: Clock,
    /// While set, the writer takes no jobs (its queue fills as if storage were slow).
    pub writer_paused: Arc<AtomicBool>,
    stopper: crate::shutdown::Stopper,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Configures a [`TestHub`].
pub struct TestHubBuilder {
    database_url: String,
    tweak: Box<dyn FnOnce(&mut Config) + Send>,
    clock: Clock,
    status_tick: Duration,
}

impl TestHub {
    /// A hub on the given database with default test settings.
    pub fn start(db: &TestDb) -> Self {
        Self::builder(db).start()
    }

    pub fn builder(db: &TestDb) -> TestHubBuilder {
        TestHubBuilder {
            database_url: db.url.clone(),
            tweak: Box::new(|_| {}),
            clock: Clock::system(),
            status_tick: Duration::from_millis(50),
        }
    }

    /// `ws://127.0.0.1:PORT` + path.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// `http://127.0.0.1:PORT` + path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the hub gracefully (the writer commits what it accepted) and waits.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // A paused writer could never take the final shutdown job.
        self.writer_paused
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let stopper = self.stopper.clone();
        let stopper = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(stopper.stop());
            }
        });
        let _ = stopper.join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.shutdown();
        }
    }
}

impl TestHubBuilder {
    /// Changes the configuration before start (after any earlier change).
    pub fn config(mut self, f: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        let earlier = self.tweak;
        self.tweak = Box::new(move |c| {
            earlier(c);
            f(c)
        });
        self
    }

    /// Joins the cluster on the NATS server at `url` (cluster mode).
    pub fn nats(self, url: &str) -> Self {
        let url = url.to_owned();
        self.config(move |c| c.nats_url = Some(url))
    }

    /// Uses a manual clock starting at the current time.
    pub fn manual_clock(mut self) -> Self {
        self.clock = Clock::manual(crate::db::now_ms());
        self
    }

    pub fn start(self) -> TestHub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let mut config = Config {
            database_url: self.database_url,
            db_pool_size: 4,
            admin_email: Some(ADMIN_EMAIL.into()),
            admin_password: Some(ADMIN_PASSWORD.into()),
            ..Config::default()
        };
        config.writer.flush_ms = 20;
        (self.tweak)(&mut config);
        let tls = config.tls.is_some();
        let writer_paused = Arc::new(AtomicBool::new(false));
        let hooks = Hooks {
            clock: self.clock.clone(),
            status_tick: self.status_tick,
            writer_paused: writer_paused.clone(),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match build(listener, config, hooks) {
                    Ok(hub) => {
                        let _ = tx.send(Ok(hub.stopper()));
                        if let Err(e) = hub.run().await {
                            eprintln!("test hub stopped with error: {e:#}");
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(format!("{e:#}")));
                    }
                }
            });
        });
        let stopper = match rx.recv().expect("hub thread answered") {
            Ok(h) => h,
            Err(e) => panic!("test hub failed to start: {e}"),
        };
        TestHub {
            addr,
            base: format!("{}://{addr}", if tls { "https" } else { "http" }),
            clock: self.clock,
            writer_paused,
            stopper,
            thread: Some(thread),
        }
    }
}

impl TestDb {
    /// Raw samples stored for a machine, read straight from the database.
    pub fn count_metrics(&self, machine_id: i64) -> i64 {
        let (pool, _) = crate::db::connect(&self.url, 1).expect("open test database");
        let mut conn = pool.get().expect("connection");
        crate::db::metrics::count(&mut conn, machine_id).expect("count")
    }
}

impl TestDb {
    /// A database that already exists (not removed on drop).
    pub fn existing(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            _dir: None,
            pg_name: None,
        }
    }
}

/// A user (`email`) owning `machines` machines named `m0`, `m1`, …, written straight to
/// the database, for tests and benchmarks that need rows to hang samples or rules on.
/// Returns the user's id and the machines' ids in order.
pub fn seed_machines(
    conn: &mut crate::db::DbConn,
    email: &str,
    machines: usize,
) -> (i64, Vec<i64>) {
    use crate::db::{machines as m, users};
    let new_user = users::NewUser {
        email,
        password_hash: "x",
        role: "user",
        created_at: 0,
    };
    let owner = users::insert(conn, &new_user).expect("user").id;
    let ids = (0..machines)
        .map(|i| {
            let (name, hash) = (format!("m{i}"), format!("{email}-key{i}"));
            let new = m::NewMachine {
                owner_id: owner,
                name: &name,
                api_key_hash: &hash,
                key_prefix: "p",
                status: "online",
                hostname: None,
                created_at: 0,
            };
            m::insert(conn, &new).expect("machine").id
        })
        .collect();
    (owner, ids)
}
