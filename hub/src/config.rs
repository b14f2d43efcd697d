//! Hub configuration: flags > `LUNASENTRI_*` environment > YAML file > defaults.
//!
//! | flag | environment | file key | default |
//! |---|---|---|---|
//! | `--config` | `LUNASENTRI_CONFIG` | – | none |
//! | `--bind` | `LUNASENTRI_BIND` | `bind` | `127.0.0.1:8080` |
//! | `--database-url` | `LUNASENTRI_DATABASE_URL` | `database_url` | `sqlite://data/lunasentri.db` |
//! | `--db-pool-size` | `LUNASENTRI_DB_POOL_SIZE` | `db_pool_size` | 8 |
//! | `--nats-url` | `LUNASENTRI_NATS_URL` | `nats_url` | none (single hub) |
//! | `--log-format` | `LUNASENTRI_LOG_FORMAT` | `log_format` | `text` |
//! | `--log-level` | `LUNASENTRI_LOG_LEVEL` | `log_level` | `info` |
//! | `--tls-cert` / `--tls-key` | `LUNASENTRI_TLS_CERT` / `_KEY` | `tls_cert` / `tls_key` | none (plain HTTP) |
//! | `--public-url` | `LUNASENTRI_PUBLIC_URL` | `public_url` | none (taken from each request) |
//! | `--ui-dir` | `LUNASENTRI_UI_DIR` | `ui_dir` | `frontend/dist` when present |
//! | `--session-ttl` | `LUNASENTRI_SESSION_TTL` | `session_ttl` | `7d` |
//! | `--local-host-metrics` | `LUNASENTRI_LOCAL_HOST_METRICS` | `local_host_metrics` | `false` |
//! | `--metrics-token` | `LUNASENTRI_METRICS_TOKEN` | `metrics_token` | none (`/metrics` open) |
//! | – | `LUNASENTRI_ADMIN_EMAIL` / `LUNASENTRI_ADMIN_PASSWORD` | – | first start only |
//!
//! Tuning keys exist only in the file (`limits.*`, `writer.*`, `offline_after_min`,
//! `retention.raw|minute|hour` — the defaults until an admin sets them through the API,
//! `notifications.attempts|backoff|timeout|queue` for alert delivery);
//! `docs/operations.md` lists them. Secrets are never printed or logged.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde::Deserialize;

use crate::alerts::RetryPolicy;
use crate::retention::Retention;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Command line of `lunasentri-hub`.
#[derive(Debug, Parser, Default)]
#[command(
    name = "lunasentri-hub",
    version,
    about = "LunaSentri hub: ingest, storage, live dashboards"
)]
pub struct Cli {
    /// YAML configuration file.
    #[arg(long, env = "LUNASENTRI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "LUNASENTRI_BIND")]
    pub bind: Option<String>,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "LUNASENTRI_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Database connections in the pool.
    #[arg(long, env = "LUNASENTRI_DB_POOL_SIZE")]
    pub db_pool_size: Option<u32>,
    /// NATS server joining several hubs (cluster mode).
    #[arg(long, env = "LUNASENTRI_NATS_URL", hide_env_values = true)]
    pub nats_url: Option<String>,
    /// Log format.
    #[arg(long, env = "LUNASENTRI_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `lunasentri_hub=debug`.
    #[arg(long, env = "LUNASENTRI_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// PEM certificate chain; with --tls-key serves HTTPS.
    #[arg(long, env = "LUNASENTRI_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "LUNASENTRI_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// The URL users reach the hub at (for install commands, cookies and Origin checks).
    #[arg(long, env = "LUNASENTRI_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Bearer token `/metrics` requires (at least 16 characters); without it `/metrics`
    /// answers anyone who reaches the hub.
    #[arg(long, env = "LUNASENTRI_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Directory with the built dashboard (overrides the embedded one).
    #[arg(long, env = "LUNASENTRI_UI_DIR")]
    pub ui_dir: Option<PathBuf>,
    /// How long a login lasts, e.g. `12h`, `7d`.
    #[arg(long, env = "LUNASENTRI_SESSION_TTL")]
    pub session_ttl: Option<String>,
    /// Report this host's own metrics as a machine owned by the first admin.
    #[arg(long, env = "LUNASENTRI_LOCAL_HOST_METRICS", num_args = 0..=1, default_missing_value = "true")]
    pub local_host_metrics: Option<bool>,
    /// Print the OpenAPI document and exit.
    #[arg(long)]
    pub print_openapi: bool,
}

/// Rate limits and queue bounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Login attempts per minute from one IP address.
    pub login_per_minute_ip: u32,
    /// Login attempts per minute for one account.
    pub login_per_minute_account: u32,
    /// Frames per second one agent may send (bursts of twice that are allowed).
    pub agent_frames_per_second: u32,
    /// Frames queued for one browser before the oldest are dropped.
    pub browser_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            login_per_minute_ip: 30,
            login_per_minute_account: 10,
            agent_frames_per_second: 20,
            browser_queue: 512,
        }
    }
}

/// Batch writer tuning.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WriterConfig {
    /// Longest time a sample waits before its flush, in milliseconds.
    pub flush_ms: u64,
    /// Rows that trigger a flush before `flush_ms`.
    pub batch_rows: usize,
    /// Samples waiting for the writer before agents are asked to back off.
    pub queue: usize,
    /// How long rollup additions are held in memory before they are written, in
    /// milliseconds (0: with every flush). Always 0 in cluster mode.
    pub rollup_delay_ms: u64,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            flush_ms: 250,
            batch_rows: 5000,
            queue: 200_000,
            rollup_delay_ms: 30_000,
        }
    }
}

/// The YAML file: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    database_url: Option<String>,
    db_pool_size: Option<u32>,
    nats_url: Option<String>,
    log_format: Option<LogFormat>,
    log_level: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    public_url: Option<String>,
    metrics_token: Option<String>,
    ui_dir: Option<PathBuf>,
    session_ttl: Option<String>,
    local_host_metrics: Option<bool>,
    offline_after_min: Option<String>,
    limits: Option<Limits>,
    writer: Option<WriterConfig>,
    retention: Option<RetentionFile>,
    notifications: Option<NotificationsFile>,
}

/// `notifications:` in the file: how alert delivery retries.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationsFile {
    /// Attempts per notification (default 3, 1–10).
    attempts: Option<u32>,
    /// Wait before the second attempt, doubling after (default `2s`).
    backoff: Option<String>,
    /// Bound of one attempt (default `10s`).
    timeout: Option<String>,
    /// Notifications waiting for delivery (default 1000).
    queue: Option<usize>,
}

/// `retention:` in the file: how long each history tier is kept (`48h`, `30d`, ...).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionFile {
    /// Raw samples (default `48h`).
    raw: Option<String>,
    /// 1-minute rollups (default `30d`).
    minute: Option<String>,
    /// 1-hour rollups (default `400d`).
    hour: Option<String>,
}

/// The resolved configuration the hub runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: String,
    pub db_pool_size: u32,
    pub nats_url: Option<String>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub public_url: Option<String>,
    /// SHA-256 (hex) of the bearer token `/metrics` requires; the token itself is not kept.
    pub metrics_token_sha256: Option<String>,
    pub ui_dir: Option<PathBuf>,
    pub session_ttl: Duration,
    pub local_host_metrics: bool,
    /// A machine is offline after 3 missed intervals, but never sooner than this.
    pub offline_after_min: Duration,
    pub limits: Limits,
    pub writer: WriterConfig,
    /// Default retention per tier (an admin may override it at run time).
    pub retention: Retention,
    /// Alert delivery retries.
    pub notifications: RetryPolicy,
    /// First-start admin (from the environment only).
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".parse().expect("valid default address"),
            database_url: "sqlite://data/lunasentri.db".into(),
            db_pool_size: 8,
            nats_url: None,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            tls: None,
            public_url: None,
            metrics_token_sha256: None,
            ui_dir: None,
            session_ttl: Duration::from_secs(7 * 86_400),
            local_host_metrics: false,
            offline_after_min: Duration::from_secs(15),
            limits: Limits::default(),
            writer: WriterConfig::default(),
            retention: Retention::default(),
            notifications: RetryPolicy::default(),
            admin_email: None,
            admin_password: None,
        }
    }
}

/// A configuration problem, naming the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("{key}: {message}")]
    Value { key: &'static str, message: String },
}

fn value(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        message: message.into(),
    }
}

/// Parses `250ms`, `30s`, `5m`, `12h`, `7d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30s, 5m, 12h or 7d"))?;
    let ms = match unit {
        "ms" => n,
        "s" | "" => n * 1000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => {
            return Err(format!(
                "{s:?} has an unknown unit {unit:?}: use ms, s, m, h or d"
            ));
        }
    };
    Ok(Duration::from_millis(ms))
}

impl Config {
    /// Resolves flags and environment (already merged by clap) over the file over defaults.
    pub fn resolve(
        cli: Cli,
        env_admin: (Option<String>, Option<String>),
    ) -> Result<Self, ConfigError> {
        let file = match &cli.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let d = Config::default();
        let bind_s = cli.bind.or(file.bind);
        let bind = match bind_s {
            Some(b) => b.parse().map_err(|_| {
                value(
                    "bind",
                    format!("{b:?} is not an address like 127.0.0.1:8080"),
                )
            })?,
            None => d.bind,
        };
        let tls = match (cli.tls_cert.or(file.tls_cert), cli.tls_key.or(file.tls_key)) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => {
                return Err(value(
                    "tls_cert",
                    "tls_cert and tls_key must be given together",
                ));
            }
        };
        let session_ttl = match cli.session_ttl.or(file.session_ttl) {
            Some(s) => parse_duration(&s).map_err(|m| value("session_ttl", m))?,
            None => d.session_ttl,
        };
        let offline_after_min = match file.offline_after_min {
            Some(s) => parse_duration(&s).map_err(|m| value("offline_after_min", m))?,
            None => d.offline_after_min,
        };
        let public_url = cli
            .public_url
            .or(file.public_url)
            .map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(value(
                "public_url",
                format!("{u:?} must start with http:// or https://"),
            ));
        }
        let metrics_token_sha256 = match cli.metrics_token.or(file.metrics_token) {
            Some(t) if t.len() < 16 || t.chars().any(char::is_whitespace) => {
                return Err(value(
                    "metrics_token",
                    "must be at least 16 characters, without spaces",
                ));
            }
            Some(t) => Some(crate::auth::secrets::sha256_hex(&t)),
            None => None,
        };
        let db_pool_size = cli
            .db_pool_size
            .or(file.db_pool_size)
            .unwrap_or(d.db_pool_size);
        if db_pool_size == 0 || db_pool_size > 256 {
            return Err(value("db_pool_size", "must be between 1 and 256"));
        }
        let limits = file.limits.unwrap_or_default();
        if limits.browser_queue == 0 || limits.agent_frames_per_second == 0 {
            return Err(value(
                "limits",
                "browser_queue and agent_frames_per_second must be positive",
            ));
        }
        let writer = file.writer.unwrap_or_default();
        if writer.flush_ms == 0 || writer.batch_rows == 0 || writer.queue == 0 {
            return Err(value(
                "writer",
                "flush_ms, batch_rows and queue must be positive",
            ));
        }
        let retention = resolve_retention(file.retention.unwrap_or_default())?;
        let notifications = resolve_notifications(file.notifications.unwrap_or_default())?;
        let ui_dir = cli.ui_dir.or(file.ui_dir);
        Ok(Self {
            bind,
            database_url: cli
                .database_url
                .or(file.database_url)
                .unwrap_or(d.database_url),
            db_pool_size,
            nats_url: cli.nats_url.or(file.nats_url),
            log_format: cli.log_format.or(file.log_format).unwrap_or_default(),
            log_level: cli.log_level.or(file.log_level).unwrap_or(d.log_level),
            tls,
            public_url,
            metrics_token_sha256,
            ui_dir,
            session_ttl,
            local_host_metrics: cli
                .local_host_metrics
                .or(file.local_host_metrics)
                .unwrap_or(false),
            offline_after_min,
            limits,
            writer,
            retention,
            notifications,
            admin_email: env_admin.0.filter(|s| !s.is_empty()),
            admin_password: env_admin.1.filter(|s| !s.is_empty()),
        })
    }

    /// Where the dashboard is served from on disk, if anywhere.
    pub fn ui_dir_or_default(&self) -> Option<PathBuf> {
        self.ui_dir.clone().or_else(|| {
            let p = Path::new("frontend/dist");
            p.join("index.html").exists().then(|| p.to_path_buf())
        })
    }
}

fn resolve_notifications(f: NotificationsFile) -> Result<RetryPolicy, ConfigError> {
    let d = RetryPolicy::default();
    let get = |key: &'static str, v: Option<String>, default: Duration| match v {
        Some(s) => parse_duration(&s).map_err(|m| value(key, m)),
        None => Ok(default),
    };
    let p = RetryPolicy {
        attempts: f.attempts.unwrap_or(d.attempts),
        backoff: get("notifications.backoff", f.backoff, d.backoff)?,
        timeout: get("notifications.timeout", f.timeout, d.timeout)?,
        queue: f.queue.unwrap_or(d.queue),
    };
    if !(1..=10).contains(&p.attempts) {
        return Err(value("notifications.attempts", "must be between 1 and 10"));
    }
    if p.timeout.is_zero() || p.timeout > Duration::from_secs(120) {
        return Err(value(
            "notifications.timeout",
            "must be between 1ms and 120s",
        ));
    }
    if p.queue == 0 {
        return Err(value("notifications.queue", "must be positive"));
    }
    Ok(p)
}

fn resolve_retention(f: RetentionFile) -> Result<Retention, ConfigError> {
    let d = Retention::default();
    let get = |key: &'static str, v: Option<String>, default: Duration| match v {
        Some(s) => parse_duration(&s).map_err(|m| value(key, m)),
        None => Ok(default),
    };
    let r = Retention {
        raw: get("retention.raw", f.raw, d.raw)?,
        minute: get("retention.minute", f.minute, d.minute)?,
        hour: get("retention.hour", f.hour, d.hour)?,
    };
    r.validate().map_err(|(field, m)| {
        value(
            match field {
                "raw" => "retention.raw",
                "minute" => "retention.minute",
                _ => "retention.hour",
            },
            m,
        )
    })?;
    Ok(r)
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    serde_saphyr::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    /// Durations accept the documented units and name the bad value otherwise.
    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert!(
            parse_duration("5 parsecs")
                .unwrap_err()
                .contains("5 parsecs")
        );
        assert!(parse_duration("").is_err());
    }

    /// Flags win over the file, the file over defaults.
    #[test]
    fn precedence() {
        let f = write("bind: 0.0.0.0:9000\ndatabase_url: sqlite://file.db\n");
        let cli = Cli {
            config: Some(f.path().into()),
            bind: Some("127.0.0.1:7000".into()),
            ..Cli::default()
        };
        let c = Config::resolve(cli, (None, None)).unwrap();
        assert_eq!(c.bind.port(), 7000);
        assert_eq!(c.database_url, "sqlite://file.db");
        assert_eq!(c.db_pool_size, 8);
    }

    /// A metrics token is kept only as its hash; a short one is refused by name.
    #[test]
    fn metrics_token() {
        let cli = Cli {
            metrics_token: Some("scrape-token-0123456789".into()),
            ..Cli::default()
        };
        let c = Config::resolve(cli, (None, None)).unwrap();
        assert_eq!(
            c.metrics_token_sha256.as_deref(),
            Some(crate::auth::secrets::sha256_hex("scrape-token-0123456789").as_str())
        );
        assert!(!format!("{c:?}").contains("scrape-token"));
        let f = write("metrics_token: short\n");
        let cli = Cli {
            config: Some(f.path().into()),
            ..Cli::default()
        };
        let err = Config::resolve(cli, (None, None)).unwrap_err().to_string();
        assert!(err.contains("metrics_token"), "{err}");
        assert!(
            !err.contains("short"),
            "the error must not repeat the secret: {err}"
        );
    }

    /// Unknown keys and bad values in the file are errors naming them.
    #[test]
    fn bad_file() {
        let f = write("bnid: 1\n");
        let err = Config::resolve(
            Cli {
                config: Some(f.path().into()),
                ..Cli::default()
            },
            (None, None),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("bnid"), "{err}");
        let f = write("session_ttl: forever\n");
        let err = Config::resolve(
            Cli {
                config: Some(f.path().into()),
                ..Cli::default()
            },
            (None, None),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("session_ttl"), "{err}");
    }

    /// Retention durations come from the file, and bad or inconsistent ones are
    /// refused naming the key.
    #[test]
    fn retention_section() {
        let load = |text: &str| {
            let f = write(text);
            Config::resolve(
                Cli {
                    config: Some(f.path().into()),
                    ..Cli::default()
                },
                (None, None),
            )
        };
        let c = load("retention:\n  raw: 24h\n  hour: 2000d\n").unwrap();
        assert_eq!(c.retention.raw, Duration::from_secs(86_400));
        assert_eq!(c.retention.minute, Duration::from_secs(30 * 86_400));
        assert_eq!(c.retention.hour, Duration::from_secs(2000 * 86_400));
        let err = load("retention:\n  raw: soon\n").unwrap_err().to_string();
        assert!(err.contains("retention.raw"), "{err}");
        let err = load("retention:\n  minute: 1d\n  raw: 2d\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("retention.minute"), "{err}");
        let err = load("retention:\n  daily: 1d\n").unwrap_err().to_string();
        assert!(err.contains("daily"), "{err}");
    }

    /// A half TLS configuration is refused.
    #[test]
    fn tls_pair() {
        let cli = Cli {
            tls_cert: Some("c.pem".into()),
            ..Cli::default()
        };
        assert!(
            Config::resolve(cli, (None, None))
                .unwrap_err()
                .to_string()
                .contains("tls_key")
        );
    }
}
