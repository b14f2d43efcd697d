//! LunaSentri hub: takes live samples from agents, stores them, and streams each one to
//! the dashboards of the users allowed to see it.
//!
//! # Layout
//! - [`config`]: flags > environment > YAML file > defaults.
//! - [`db`]: Diesel storage over SQLite or PostgreSQL, migrations, one module per table.
//! - [`auth`]: passwords, session cookies, keys, login rate limits.
//! - [`actors`]: the live pipeline: agent sessions, machines, the subscription registry,
//!   browser sessions, and the batch writer.
//! - [`alerts`]: alert rules evaluated per sample, events, notification delivery.
//! - [`http`]: REST and WebSocket endpoints, one file per resource; OpenAPI.
//! - [`validate`], [`query`]: sample checks; history queries over the raw and rollup tiers.
//! - [`retention`]: per-tier retention and the background task deleting expired history.
//! - [`cluster`]: cluster mode (`--nats-url`): several hubs joined through NATS.
//! - [`telemetry`]: `/metrics` and logging; [`clock`]: injectable time.
//! - [`state`], [`live`], [`error`]: what every handler shares, the handles to the live
//!   pipeline, and the one HTTP error type.
//! - [`tls`]: optional HTTPS; [`local_host`]: `--local-host-metrics`; [`shutdown`]:
//!   stopping gracefully.
//! - [`testing`]: `TestHub`, a real hub on `127.0.0.1:0` with a temp database.
//!
//! [`build`] wires it all to a listener ([`server`]); [`run`] serves until SIGINT/SIGTERM.

pub mod actors;
pub mod alerts;
pub mod auth;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod live;
pub mod local_host;
pub mod query;
pub mod retention;
pub mod server;
pub mod shutdown;
pub mod state;
pub mod telemetry;
pub mod testing;
pub mod tls;
pub mod validate;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use actix::Actor;
use actix_web::web;
use anyhow::Context as _;

use crate::actors::agent_session::AgentDeps;
use crate::actors::feed::Feeds;
use crate::actors::machine::{MachineActor, MachineSettings};
use crate::actors::{SubscriptionRegistry, Writer};
use crate::auth::limiter::LoginLimiter;
use crate::clock::Clock;
use crate::config::Config;
use crate::live::Live;
use crate::shutdown::Stopper;
use crate::state::AppState;
use crate::telemetry::HubMetrics;

/// Status ticks between two sweeps for machines of a vanished hub (10 s in production).
const ORPHAN_SWEEP_TICKS: u32 = 10;

/// How often machine status is re-evaluated in production.
const STATUS_TICK: Duration = Duration::from_secs(1);

/// When the first retention pass runs after start, and how often after that.
const RETENTION_FIRST: Duration = Duration::from_secs(60);
const RETENTION_EVERY: Duration = Duration::from_secs(600);

/// Options that only tests change.
#[derive(Debug, Clone)]
pub struct Hooks {
    pub clock: Clock,
    pub status_tick: Duration,
    /// Holds the writer still while set (backpressure tests).
    pub writer_paused: Arc<AtomicBool>,
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            clock: Clock::system(),
            status_tick: STATUS_TICK,
            writer_paused: Arc::default(),
        }
    }
}

/// A built hub: the server future plus what is needed to stop it cleanly.
pub struct Hub {
    pub server: actix_web::dev::Server,
    stopper: Stopper,
    writer: Writer,
    writer_thread: std::thread::JoinHandle<()>,
    retention: retention::RetentionTask,
    local_agent: Option<local_host::LocalAgent>,
}

impl Hub {
    /// What stops this hub gracefully (see [`shutdown`]).
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Serves until the server stops (SIGINT/SIGTERM or a [`Stopper`]), then lets the
    /// writer commit everything it accepted.
    pub async fn run(self) -> anyhow::Result<()> {
        actix_web::rt::spawn(self.stopper.clone().on_signal());
        let res = self.server.await;
        if let Some(agent) = self.local_agent {
            let _ = web::block(move || agent.stop()).await;
        }
        let retention = self.retention;
        let _ = web::block(move || retention.stop()).await;
        self.writer.shutdown();
        let _ = web::block(move || self.writer_thread.join()).await;
        tracing::info!("hub stopped");
        res.context("HTTP server failed")
    }
}

/// Opens storage, creates the first admin if needed, starts the actors and binds the
/// HTTP server to `listener`. Must be called inside an actix system.
pub fn build(listener: TcpListener, config: Config, hooks: Hooks) -> anyhow::Result<Hub> {
    let (pool, backend) = db::connect(&config.database_url, config.db_pool_size)
        .with_context(|| format!("database {}", db::backend::redact(&config.database_url)))?;
    tracing::info!(backend = ?backend, "database ready");
    if config.nats_url.is_some() && backend == db::backend::Backend::Sqlite {
        tracing::warn!(
            "cluster mode on SQLite: only hubs sharing this database file join; give every hub the same PostgreSQL database"
        );
    }
    let (known, local_key, cluster_id) = {
        let mut conn = pool.get().context("database connection")?;
        db::backend::with_startup_lock(&mut conn, |c| {
            db::bootstrap::ensure_admin(
                c,
                config.admin_email.as_deref(),
                config.admin_password.as_deref(),
            )
        })?;
        let local_key = match (config.local_host_metrics, config.tls.is_some()) {
            (true, false) => Some(local_host::prepare(&mut conn)?.2),
            (true, true) => {
                tracing::warn!(
                    "local host metrics need a plain-HTTP agent link; off while TLS is on"
                );
                None
            }
            (false, _) => None,
        };
        let rebuilt = db::pending_rollups::recover(&mut conn).context("rollup recovery")?;
        if rebuilt > 0 {
            tracing::warn!(
                buckets = rebuilt,
                "rebuilt rollup buckets the previous run had not written (it did not stop cleanly)"
            );
        }
        let (cluster_id, stale_before) = match config.nats_url {
            Some(_) => (
                Some(cluster::cluster_id(&mut conn)?),
                db::now_ms() - cluster::HELD_ONLINE_WITHIN.as_millis() as i64,
            ),
            None => (None, i64::MAX),
        };
        (
            db::bootstrap::known_machines(&mut conn, stale_before)?,
            local_key,
            cluster_id,
        )
    };
    let metrics = Arc::new(HubMetrics::default());
    let cluster = match (&config.nats_url, &cluster_id) {
        (Some(url), Some(id)) => Some(cluster::Joining::new(
            url,
            id,
            pool.clone(),
            metrics.clone(),
        )?),
        _ => None,
    };
    let link = cluster.as_ref().map(|c| c.link.clone());
    let mut writer_config = config.writer.clone();
    if config.nats_url.is_some() {
        // See `db::pending_rollups`: a hub of a cluster writes its rollups at once.
        writer_config.rollup_delay_ms = 0;
    }
    let (writer, writer_thread) = Writer::start(
        pool.clone(),
        writer_config,
        metrics.clone(),
        hooks.writer_paused.clone(),
    );
    let retention = retention::RetentionTask::start(
        pool.clone(),
        config.retention,
        hooks.clock.clone(),
        RETENTION_FIRST,
        RETENTION_EVERY,
        metrics.clone(),
    );
    let alerts = {
        let mut conn = pool.get().context("database connection")?;
        alerts::Alerts::prepare(
            &mut conn,
            alerts::AlertDeps {
                pool: pool.clone(),
                clock: hooks.clock.clone(),
                offline_after_min: config.offline_after_min,
                tick: hooks.status_tick,
                retry: config.notifications,
                metrics: metrics.clone(),
            },
        )?
    };
    let feeds = Feeds::default();
    let settings = MachineSettings {
        clock: hooks.clock.clone(),
        feeds: feeds.clone(),
        alerts: alerts.engine.clone(),
        offline_after_min: config.offline_after_min,
        tick: hooks.status_tick,
        cluster: link.clone(),
    };
    let spawn = {
        let (writer, metrics, settings) = (writer.clone(), metrics.clone(), settings.clone());
        Box::new(move |machine_id: i64, _owner: i64, registry| {
            let actor = MachineActor::new(
                machine_id,
                registry,
                writer.clone(),
                metrics.clone(),
                settings.clone(),
                None,
            );
            let conn_id = actor.conn_id();
            (conn_id, actor.start())
        })
    };
    let registry = SubscriptionRegistry::new(known, feeds, writer.clone(), metrics.clone(), spawn)
        .with_cluster(link.clone())
        .start();
    let alerts = alerts.start(registry.clone());
    if let Some(joining) = cluster {
        cluster::orphans::start(
            pool.clone(),
            registry.clone(),
            joining.link.clone(),
            alerts.engine.clone(),
            hooks.status_tick * ORPHAN_SWEEP_TICKS,
        );
        joining.start(registry.clone(), alerts.engine.clone());
    }
    let live = Live {
        registry: registry.clone(),
        writer: writer.clone(),
        agent: AgentDeps {
            registry,
            writer: writer.clone(),
            metrics: metrics.clone(),
            machine: settings,
            frames_per_second: config.limits.agent_frames_per_second,
        },
        cluster: link,
        alerts: alerts.engine.clone(),
    };
    let limits = &config.limits;
    let state = web::Data::new(AppState {
        pool,
        login_limiter: LoginLimiter::new(
            limits.login_per_minute_ip,
            limits.login_per_minute_account,
        ),
        live,
        alerts,
        metrics,
        config: Arc::new(config.clone()),
    });
    let tls = config
        .tls
        .as_ref()
        .map(|(c, k)| tls::server_config(c, k))
        .transpose()?;
    let addr = listener.local_addr().context("listener address")?;
    let (registry, metrics) = (state.live.registry.clone(), state.metrics.clone());
    let server = server::start(
        listener,
        server::Options {
            state,
            tls,
            blocking_threads: blocking_threads(config.db_pool_size),
        },
    )?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!("listening on {scheme}://{addr}");
    let local_agent = local_key
        .map(|key| local_host::start(addr, key))
        .transpose()?;
    Ok(Hub {
        stopper: Stopper {
            server: server.handle(),
            registry,
            metrics,
        },
        server,
        writer,
        writer_thread,
        retention,
        local_agent,
    })
}

/// Binds `config.bind` and serves until SIGINT/SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.bind)
        .with_context(|| format!("bind: cannot listen on {}", config.bind))?;
    build(listener, config, Hooks::default())?.run().await
}

/// Blocking threads per HTTP worker. Nearly every blocking job holds a pooled database
/// connection, so threads beyond the pool size would only wait for one; actix-web's
/// default (512 shared by the workers) let a burst of logins or registrations start
/// hundreds of threads, and every thread that allocates keeps its own allocator heap.
/// Jobs beyond the limit queue.
fn blocking_threads(db_pool_size: u32) -> usize {
    (db_pool_size as usize).max(2)
}
