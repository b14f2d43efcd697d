//! `lunasentri-agent`: parses flags, sets up logging and calls the library.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use lunasentri_agent::config::{self, FileConfig, Overrides};

const HELP: &str = "\
LunaSentri agent: collects host metrics and streams them to the hub

Usage: lunasentri-agent [OPTIONS]

Options:
      --config <PATH>        YAML config file
      --server-url <URL>     Hub base URL, e.g. https://hub.example.com. Several hubs of a
                             cluster: separate them with commas or repeat the flag; the agent
                             fails over between them in order
      --api-key <KEY>        The machine's API key (visible in process lists: prefer
                             --api-key-file)
      --api-key-file <PATH>  File holding the machine's API key
      --interval <DURATION>  Sampling interval, e.g. 1s, 5s, 500ms
      --name <NAME>          Name of this machine (defaults to the hostname)
      --log-level <LEVEL>    Log level: error, warn, info, debug or trace
      --log-format <FORMAT>  Log format: text or json
      --once                 Print one sample as JSON and exit
      --check                Validate the configuration, check the hub and the key, and exit
  -h, --help                 Print help
  -V, --version              Print version

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
4 API key rejected (--check).
";

/// Command-line flags, parsed by lexopt (a few KiB instead of a general-purpose parser
/// in a binary that ships to every server). Values are checked later, with the
/// environment and the config file, by the same rules.
#[derive(Debug, Default, PartialEq)]
struct Flags {
    config: Option<PathBuf>,
    /// Every `--server-url`, in order; each may hold several URLs separated by commas.
    server_url: Vec<String>,
    api_key: Option<String>,
    api_key_file: Option<String>,
    interval: Option<String>,
    name: Option<String>,
    log_level: Option<String>,
    log_format: Option<String>,
    once: bool,
    check: bool,
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Run(Flags),
    Help,
    Version,
}

impl Flags {
    /// Parses the arguments after the program name. Errors name the offending flag or
    /// argument.
    fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, lexopt::Error> {
        use lexopt::prelude::*;
        let mut flags = Flags::default();
        let mut parser = lexopt::Parser::from_args(args);
        while let Some(arg) = parser.next()? {
            match arg {
                Long("config") => flags.config = Some(parser.value()?.into()),
                Long("server-url") => flags.server_url.push(parser.value()?.string()?),
                Long("api-key") => flags.api_key = Some(parser.value()?.string()?),
                Long("api-key-file") => flags.api_key_file = Some(parser.value()?.string()?),
                Long("interval") => flags.interval = Some(parser.value()?.string()?),
                Long("name") => flags.name = Some(parser.value()?.string()?),
                Long("log-level") => flags.log_level = Some(parser.value()?.string()?),
                Long("log-format") => flags.log_format = Some(parser.value()?.string()?),
                Long("once") => flags.once = true,
                Long("check") => flags.check = true,
                Short('h') | Long("help") => return Ok(Command::Help),
                Short('V') | Long("version") => return Ok(Command::Version),
                other => return Err(other.unexpected()),
            }
        }
        if flags.once && flags.check {
            return Err("--once and --check cannot be used together".into());
        }
        Ok(Command::Run(flags))
    }
}

fn main() -> ExitCode {
    let flags = match Flags::parse(std::env::args_os().skip(1)) {
        Ok(Command::Run(flags)) => flags,
        Ok(Command::Help) => {
            return print_out(HELP.trim_end(), ExitCode::SUCCESS);
        }
        Ok(Command::Version) => {
            let version = concat!("lunasentri-agent ", env!("CARGO_PKG_VERSION"));
            return print_out(version, ExitCode::SUCCESS);
        }
        Err(e) => {
            eprintln!("lunasentri-agent: {e}\nRun `lunasentri-agent --help` for the flags.");
            return ExitCode::from(2);
        }
    };
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
                    Ok(text) => print_out(&text, ExitCode::SUCCESS),
                    Err(e) => fail(&e, 1),
                },
                Err(e) => fail(&e, e.exit_code()),
            };
        }
        if flags.check {
            return match lunasentri_agent::check(&config).await {
                Ok(report) => {
                    let lines: Vec<String> = report
                        .steps
                        .iter()
                        .map(|(ok, line)| format!("{} {line}", if *ok { "ok  " } else { "FAIL" }))
                        .collect();
                    print_out(&lines.join("\n"), ExitCode::from(report.exit_code))
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

/// Writes `text` and a newline to stdout and returns `code`; a closed or broken stdout
/// (`lunasentri-agent --once | head`) is reported and exits 1 instead of panicking.
fn print_out(text: &str, code: ExitCode) -> ExitCode {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => code,
        Err(e) => fail(&format!("cannot write to standard output: {e}"), 1),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        Flags::parse(args.iter().map(OsString::from)).map_err(|e| e.to_string())
    }

    /// Every flag is read, in both `--flag value` and `--flag=value` spellings, and
    /// `--server-url` may be repeated.
    #[test]
    fn parses_every_flag() {
        let cmd = parse(&[
            "--config=/etc/a.yaml",
            "--server-url",
            "https://a",
            "--server-url=https://b,https://c",
            "--api-key",
            "k",
            "--api-key-file",
            "/k",
            "--interval",
            "1s",
            "--name",
            "web-1",
            "--log-level",
            "debug",
            "--log-format",
            "json",
            "--once",
        ])
        .unwrap();
        assert_eq!(
            cmd,
            Command::Run(Flags {
                config: Some(PathBuf::from("/etc/a.yaml")),
                server_url: vec!["https://a".into(), "https://b,https://c".into()],
                api_key: Some("k".into()),
                api_key_file: Some("/k".into()),
                interval: Some("1s".into()),
                name: Some("web-1".into()),
                log_level: Some("debug".into()),
                log_format: Some("json".into()),
                once: true,
                check: false,
            })
        );
        assert_eq!(parse(&[]).unwrap(), Command::Run(Flags::default()));
        assert_eq!(parse(&["--check", "-h"]).unwrap(), Command::Help);
        assert_eq!(parse(&["--version"]).unwrap(), Command::Version);
        assert_eq!(parse(&["-V"]).unwrap(), Command::Version);
    }

    /// Unknown flags, stray arguments, missing values and conflicting flags are errors
    /// that name the problem.
    #[test]
    fn bad_input_is_named() {
        for (args, needle) in [
            (&["--frobnicate"][..], "'--frobnicate'"),
            (&["-x"][..], "'-x'"),
            (&["now"][..], "\"now\""),
            (&["--config"][..], "missing argument for option '--config'"),
            (&["--once=yes"][..], "'--once'"),
            (&["--once", "--check"][..], "cannot be used together"),
        ] {
            let err = parse(args).expect_err(needle);
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    /// The help lists every flag and every environment variable the config reads.
    #[test]
    fn help_lists_flags_and_variables() {
        for flag in [
            "--config",
            "--server-url",
            "--api-key ",
            "--api-key-file",
            "--interval",
            "--name",
            "--log-level",
            "--log-format",
            "--once",
            "--check",
            "--help",
            "--version",
        ] {
            assert!(HELP.contains(flag), "{flag}");
        }
        for var in [
            "SERVER_URL",
            "API_KEY ",
            "API_KEY_FILE",
            "INTERVAL",
            "NAME",
            "TOP_PROCESSES",
            "BUFFER_MAX_SAMPLES",
            "SPOOL_PATH",
            "LOG_LEVEL",
            "LOG_FORMAT",
            "HTTP_FALLBACK",
            "ALLOW_INSECURE",
            "CONFIG",
        ] {
            assert!(HELP.contains(&format!("LUNASENTRI_AGENT_{var}")), "{var}");
        }
    }
}
