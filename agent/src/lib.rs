//! The LunaSentri agent: samples host metrics every interval and streams them to the hub
//! over a WebSocket, keeping every unacked sample until the hub has stored it.
//!
//! # Layout
//! - [`config`]: YAML file, `LUNASENTRI_AGENT_*` environment and flags → [`Config`].
//! - [`collector`]: one long-lived [`collector::Collector`] per process; one file per area
//!   (CPU, memory, disks, network, temperatures, processes, host facts) and the pure
//!   counter-to-rate math in `collector::rate`.
//! - [`buffer`]: bounded ring of unacked samples, optional spool file, `seq` numbering.
//! - [`link`]: the loop that samples and delivers: WebSocket (`link::ws`), HTTP fallback
//!   (`link::http`), reconnect backoff, replay as `batch`.
//! - [`log`]: stderr logging (tracing-subscriber's formatter, text or JSON).
//!
//! The binary (`main.rs`) only parses flags, sets up logging and calls [`run`],
//! [`once`] or [`check`]; tests call the same functions.
//!
//! # Exit codes (of the binary)
//! - `0`: stopped by SIGTERM/SIGINT, or `--once`/`--check` succeeded.
//! - `1`: could not start (host metrics unreadable, spool file unusable, no CA roots).
//! - `2`: bad flags, environment or config file.
//! - `3`: `--check`: the hub is unreachable or did not answer like a LunaSentri hub.
//! - `4`: `--check`: the hub rejected the API key.

pub mod buffer;
pub mod collector;
pub mod config;
pub mod link;
pub mod log;

use std::future::Future;
use std::time::Duration;

use lunasentri_schema::Sample;
use lunasentri_schema::api::AgentHealth;

pub use config::Config;

/// Why the agent could not run.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Collector(#[from] collector::CollectorError),
    #[error(transparent)]
    Spool(#[from] buffer::SpoolError),
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

impl AgentError {
    /// The documented process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            AgentError::Config(_) => 2,
            _ => 1,
        }
    }
}

/// Streams samples to the hub until `shutdown` resolves, then flushes for up to two
/// seconds and returns. Network problems are not errors: the agent keeps sampling,
/// buffering and reconnecting.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), AgentError> {
    let (url, key) = config.link()?;
    let (url, key) = (url.clone(), key.clone());
    let tls = if url.is_secure() {
        Some(link::tls_config().map_err(AgentError::Tls)?)
    } else {
        None
    };
    let collector = collector::Collector::new(config.top_processes)?;
    let buffer = match &config.spool_path {
        Some(path) => buffer::Buffer::with_spool(config.buffer_max_samples, path)?,
        None => buffer::Buffer::in_memory(config.buffer_max_samples),
    };
    link::Link::new(&config, url, key, tls, collector, buffer)
        .run(shutdown)
        .await;
    Ok(())
}

/// Takes one complete sample (`seq` 1), waiting long enough for CPU usage and rates
/// to mean something.
pub async fn once(config: &Config) -> Result<Sample, AgentError> {
    let mut c = collector::Collector::new(config.top_processes)?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(c.sample(1))
}

/// Result of `--check`: what was verified, and the exit code it implies.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// One line per step: whether it passed, and what was seen.
    pub steps: Vec<(bool, String)>,
    /// 0 all good, 3 hub unreachable, 4 key rejected (see the exit codes above).
    pub exit_code: u8,
}

impl CheckReport {
    fn step(&mut self, ok: bool, line: impl Into<String>) {
        self.steps.push((ok, line.into()));
    }
}

/// Validates the configuration and talks to the hub: `GET /agent/health` with the key,
/// then a WebSocket handshake.
pub async fn check(config: &Config) -> Result<CheckReport, AgentError> {
    let (url, key) = config.link()?;
    let mut report = CheckReport::default();
    report.step(
        true,
        format!(
            "config: hub {url}, interval {:?}, machine name {:?}, buffer {} samples{}",
            config.interval,
            config.machine_name,
            config.buffer_max_samples,
            config
                .spool_path
                .as_ref()
                .map(|p| format!(", spool {}", p.display()))
                .unwrap_or_default()
        ),
    );
    let tls = if url.is_secure() {
        Some(link::tls_config().map_err(AgentError::Tls)?)
    } else {
        None
    };

    let health = link::http::request(
        url,
        tls.as_ref(),
        key,
        "GET",
        "/agent/health",
        None,
        link::NETWORK_TIMEOUT,
    )
    .await;
    match health {
        Err(e) => {
            report.step(false, format!("hub: {e}"));
            report.exit_code = 3;
            return Ok(report);
        }
        Ok(r) if r.status == 401 => {
            report.step(false, "API key: rejected by the hub (HTTP 401)");
            report.exit_code = 4;
            return Ok(report);
        }
        Ok(r) if r.status != 200 => {
            report.step(
                false,
                format!("hub: GET /agent/health answered HTTP {}", r.status),
            );
            report.exit_code = 3;
            return Ok(report);
        }
        Ok(r) => match serde_json::from_slice::<AgentHealth>(&r.body) {
            Err(_) => {
                report.step(
                    false,
                    "hub: /agent/health did not answer like a LunaSentri hub",
                );
                report.exit_code = 3;
                return Ok(report);
            }
            Ok(h) => {
                let proto_ok = h.protocol_version == lunasentri_schema::PROTOCOL_VERSION;
                report.step(
                    proto_ok,
                    format!(
                        "hub: reachable, status {:?}, protocol version {}",
                        h.status, h.protocol_version
                    ),
                );
                if !proto_ok {
                    report.exit_code = 3;
                }
                match h.key_valid {
                    Some(true) => report.step(
                        true,
                        format!(
                            "API key: valid{}",
                            h.machine_id
                                .map(|id| format!(" (machine {id})"))
                                .unwrap_or_default()
                        ),
                    ),
                    Some(false) => {
                        report.step(false, "API key: rejected by the hub");
                        report.exit_code = 4;
                        return Ok(report);
                    }
                    None => report.step(false, "API key: the hub did not say whether it is valid"),
                }
            }
        },
    }

    match link::ws::connect(url, key, tls, link::NETWORK_TIMEOUT).await {
        Ok(mut ws) => {
            let _ = ws.close(None).await;
            report.step(
                true,
                format!("WebSocket: {} accepted the connection", url.ws_url()),
            );
        }
        Err(link::ws::ConnectError::Unauthorized) => {
            report.step(false, "WebSocket: the hub rejected the API key (HTTP 401)");
            report.exit_code = 4;
        }
        Err(e) => {
            let fallback = config.http_fallback != config::HttpFallback::Never;
            report.step(
                false,
                format!(
                    "WebSocket: {e}{}",
                    if fallback {
                        " (samples will be posted over HTTP instead)"
                    } else {
                        ""
                    }
                ),
            );
            if !fallback && report.exit_code == 0 {
                report.exit_code = 3;
            }
        }
    }
    Ok(report)
}
