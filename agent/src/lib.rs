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
//!   (`link::http`), reconnect backoff, failover between hubs (`link::hubs`), replay as
//!   `batch`.
//! - [`log`]: stderr logging (a small `tracing` subscriber, text or JSON).
//!
//! The binary (`main.rs`) only parses flags, sets up logging and calls [`run`],
//! [`once`] or [`check`]; tests call the same functions.
//!
//! # Exit codes (of the binary)
//! - `0`: stopped by SIGTERM/SIGINT, or `--once`/`--check` succeeded.
//! - `1`: could not start (host metrics unreadable, spool file unusable, no CA roots).
//! - `2`: bad flags, environment or config file.
//! - `3`: `--check`: a hub is unreachable or did not answer like a LunaSentri hub.
//! - `4`: `--check`: a hub rejected the API key.

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
    let (urls, key) = config.link()?;
    let (hubs, key) = (link::hubs::Hubs::new(urls.to_vec()), key.clone());
    let tls = tls_for(urls)?;
    let collector = collector::Collector::new(config.top_processes)?;
    let buffer = match &config.spool_path {
        Some(path) => buffer::Buffer::with_spool(config.buffer_max_samples, path)?,
        None => buffer::Buffer::in_memory(config.buffer_max_samples),
    };
    link::Link::new(&config, hubs, key, tls, collector, buffer)
        .run(shutdown)
        .await;
    Ok(())
}

/// The TLS client configuration, when any hub is reached over TLS.
fn tls_for(
    urls: &[link::url::HubUrl],
) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>, AgentError> {
    if urls.iter().any(link::url::HubUrl::is_secure) {
        Ok(Some(link::tls_config().map_err(AgentError::Tls)?))
    } else {
        Ok(None)
    }
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

/// Validates the configuration and talks to every configured hub: `GET /agent/health`
/// with the key, then a WebSocket handshake. The exit code is the worst of the hubs'.
pub async fn check(config: &Config) -> Result<CheckReport, AgentError> {
    let (urls, key) = config.link()?;
    let mut report = CheckReport::default();
    let hubs: Vec<String> = urls.iter().map(ToString::to_string).collect();
    report.step(
        true,
        format!(
            "config: {} {}, interval {:?}, machine name {:?}, buffer {} samples{}",
            if hubs.len() == 1 { "hub" } else { "hubs" },
            hubs.join(", "),
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
    let tls = tls_for(urls)?;
    for url in urls {
        let code = check_hub(config, url, key, tls.clone(), &mut report).await;
        // 4 (key rejected) outranks 3 (unreachable), which outranks 0.
        report.exit_code = report.exit_code.max(code);
    }
    Ok(report)
}

/// Checks one hub, adding its steps to `report`; returns its exit code (0, 3 or 4).
async fn check_hub(
    config: &Config,
    url: &link::url::HubUrl,
    key: &config::ApiKey,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    report: &mut CheckReport,
) -> u8 {
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
    let mut code = 0;
    match health {
        Err(e) => {
            report.step(false, format!("hub {url}: {e}"));
            return 3;
        }
        Ok(r) if r.status == 401 => {
            report.step(false, format!("API key: rejected by {url} (HTTP 401)"));
            return 4;
        }
        Ok(r) if r.status != 200 => {
            report.step(
                false,
                format!("hub {url}: GET /agent/health answered HTTP {}", r.status),
            );
            return 3;
        }
        Ok(r) => match serde_json::from_slice::<AgentHealth>(&r.body) {
            Err(_) => {
                report.step(
                    false,
                    format!("hub {url}: /agent/health did not answer like a LunaSentri hub"),
                );
                return 3;
            }
            Ok(h) => {
                let proto_ok = h.protocol_version == lunasentri_schema::PROTOCOL_VERSION;
                report.step(
                    proto_ok,
                    format!(
                        "hub {url}: reachable, status {:?}, protocol version {}",
                        h.status, h.protocol_version
                    ),
                );
                if !proto_ok {
                    code = 3;
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
                        report.step(false, format!("API key: rejected by {url}"));
                        return 4;
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
            report.step(
                false,
                format!("WebSocket: {url} rejected the API key (HTTP 401)"),
            );
            code = 4;
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
            if !fallback && code == 0 {
                code = 3;
            }
        }
    }
    code
}
