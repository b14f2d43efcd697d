//! `lunasentri-agent`: parses flags, sets up logging and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use lunasentri_agent::config::{self, FileConfig, Overrides};

const AFTER_HELP: &str = "\
Precedence: flags > environment > config file > defaults.

Environment:
  LUNASENTRI_AGENT_CONFIG              config file (like --config)
  LUNASENTRI_AGENT_SERVER_URL          hub base URL, or several separated by commas (server.url)
  LUNASENTRI_AGENT_API_KEY             API key (server.api_key)
  LUNASENTRI_AGENT_API_KEY_FILE        file holding the API key (server.api_key_file)
  LUNASENTRI_AGENT_INTERVAL            sampling interval, e.g. 1s, 5s (agent.interval)
  LUNASENTRI_AGENT_NAME                machine name (agent.machine_name)
  LUNASENTRI_AGENT_TOP_PROCESSES       top N processes, 0 disables (agent.top_processes)
  LUNASENTRI_AGENT_BUFFER_MAX_SAMPLES  unacked samples kept (agent.buffer.max_samples)
  LUNASENTRI_AGENT_SPOOL_PATH          spool file (agent.buffer.spool_path)
  LUNASENTRI_AGENT_LOG_LEVEL           error|warn|info|debug|trace (logging.level)
  LUNASENTRI_AGENT_LOG_FORMAT          text|json (logging.format)
  LUNASENTRI_AGENT_HTTP_FALLBACK       auto|always|never (link.http_fallback)
  LUNASENTRI_AGENT_ALLOW_INSECURE      true|false (link.allow_insecure)

Exit codes: 0 ok, 1 cannot start, 2 bad configuration, 3 hub unreachable (--check),
4 API key rejected (--check).";

/// Collects host metrics and streams them to a LunaSentri hub.
#[derive(Debug, Parser)]
#[command(name = "lunasentri-agent", version, about, after_help = AFTER_HELP)]
struct Flags {
    /// YAML config file.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Hub base URL, e.g. https://hub.example.com. Several hubs of a cluster: separate
    /// them with commas or repeat the flag; the agent fails over between them in order.
    #[arg(long, value_name = "URL")]
    server_url: Vec<String>,
    /// The machine's API key (visible in process lists: prefer --api-key-file).
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,
    /// File holding the machine's API key.
    #[arg(long, value_name = "PATH")]
    api_key_file: Option<String>,
    /// Sampling interval, e.g. 1s, 5s, 500ms.
    #[arg(long, value_name = "DURATION")]
    interval: Option<String>,
    /// Name of this machine (defaults to the hostname).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
    /// Log format: text or json.
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Print one sample as JSON and exit.
    #[arg(long, conflicts_with = "check")]
    once: bool,
    /// Validate the configuration, check the hub and the key, and exit.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    let config = match load_config(&flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lunasentri-agent: {e}");
            return ExitCode::from(2);
        }
    };
    lunasentri_agent::log::init(config.log_level, config.log_format);

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lunasentri-agent: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        if flags.once {
            return match lunasentri_agent::once(&config).await {
                Ok(sample) => match serde_json::to_string_pretty(&sample) {
                    Ok(text) => {
                        println!("{text}");
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(&e, 1),
                },
                Err(e) => fail(&e, e.exit_code()),
            };
        }
        if flags.check {
            return match lunasentri_agent::check(&config).await {
                Ok(report) => {
                    for (ok, line) in &report.steps {
                        println!("{} {line}", if *ok { "ok  " } else { "FAIL" });
                    }
                    ExitCode::from(report.exit_code)
                }
                Err(e) => fail(&e, e.exit_code()),
            };
        }
        match lunasentri_agent::run(config, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e, e.exit_code()),
        }
    })
}

fn fail(e: &dyn std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("lunasentri-agent: {e}");
    ExitCode::from(code)
}

fn load_config(flags: &Flags) -> Result<lunasentri_agent::Config, config::ConfigError> {
    let env = Overrides::from_env(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
    )?;
    let path = flags.config.clone().or_else(|| {
        std::env::var_os("LUNASENTRI_AGENT_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let file = match &path {
        Some(p) => FileConfig::load(p)?,
        None => FileConfig::default(),
    };
    let flag_values = Overrides {
        server_url: (!flags.server_url.is_empty()).then(|| flags.server_url.join(",")),
        api_key: flags.api_key.clone(),
        api_key_file: flags.api_key_file.clone(),
        interval: flags.interval.clone(),
        machine_name: flags.name.clone(),
        log_level: flags.log_level.clone(),
        log_format: flags.log_format.clone(),
        ..Overrides::default()
    };
    config::resolve(file, path.as_deref(), env, flag_values)
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stopping");
}
