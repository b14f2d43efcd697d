//! Agent configuration: a YAML file, `LUNASENTRI_AGENT_*` environment variables and
//! command-line flags, resolved into one validated [`Config`].
//!
//! Precedence: flags > environment > file > defaults. Every value is checked at start;
//! an error names the key, variable or flag it came from. Unknown keys in the file are
//! errors (with the line), so a typo never silently falls back to a default. The file
//! is parsed by serde-saphyr.
//!
//! | file key                    | environment                        | flag             | default  |
//! |-----------------------------|------------------------------------|------------------|----------|
//! | `server.url` (one or a list)| `LUNASENTRI_AGENT_SERVER_URL`      | `--server-url`   | —        |
//! | `server.api_key`            | `LUNASENTRI_AGENT_API_KEY`         | `--api-key`      | —        |
//! | `server.api_key_file`       | `LUNASENTRI_AGENT_API_KEY_FILE`    | `--api-key-file` | —        |
//! | `agent.interval`            | `LUNASENTRI_AGENT_INTERVAL`        | `--interval`     | `5s`     |
//! | `agent.machine_name`        | `LUNASENTRI_AGENT_NAME`            | `--name`         | hostname |
//! | `agent.top_processes`       | `LUNASENTRI_AGENT_TOP_PROCESSES`   |                  | `5`      |
//! | `agent.buffer.max_samples`  | `LUNASENTRI_AGENT_BUFFER_MAX_SAMPLES` |               | `3600`   |
//! | `agent.buffer.spool_path`   | `LUNASENTRI_AGENT_SPOOL_PATH`      |                  | none     |
//! | `logging.level`             | `LUNASENTRI_AGENT_LOG_LEVEL`       | `--log-level`    | `info`   |
//! | `logging.format`            | `LUNASENTRI_AGENT_LOG_FORMAT`      | `--log-format`   | `text`   |
//! | `link.http_fallback`        | `LUNASENTRI_AGENT_HTTP_FALLBACK`   |                  | `auto`   |
//! | `link.allow_insecure`       | `LUNASENTRI_AGENT_ALLOW_INSECURE`  |                  | `false`  |
//!
//! The file itself comes from `--config` or `LUNASENTRI_AGENT_CONFIG`.
//!
//! `server.url` names one hub or several (the hubs of a cluster, tried in turn when one
//! fails): a YAML list in the file, comma-separated in the variable and the flag (which
//! may also be repeated). Each entry is checked on its own and named in errors.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::link::url::HubUrl;

/// Default sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Shortest interval accepted. Intervals under a second exist for soak tests, which
/// compress hours of sampling into minutes; every sample costs CPU on host and hub.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// Longest interval accepted.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// Default bound of the unacked-sample buffer: one hour at 1 Hz.
pub const DEFAULT_BUFFER_SAMPLES: usize = 3600;
/// Default number of top processes by CPU and by memory.
pub const DEFAULT_TOP_PROCESSES: usize = 5;

/// A configuration problem, phrased for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid {key}: {message}")]
    Invalid { key: String, message: String },
    #[error("missing {what}: {hint}")]
    Missing {
        what: &'static str,
        hint: &'static str,
    },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// The machine's API key. Never printed: `Debug` shows only its prefix.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Checks that a key can travel in an HTTP header.
    pub fn new(key: &str, source: &str) -> Result<Self, ConfigError> {
        let key = key.trim();
        if key.is_empty() {
            return Err(invalid(source, "the API key is empty"));
        }
        if key.len() > 512 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                source,
                "the API key must be printable ASCII without spaces (copy it exactly as the dashboard shows it)",
            ));
        }
        Ok(Self(key.to_owned()))
    }

    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.0.chars().take(8).collect();
        write!(f, "ApiKey({shown}…)")
    }
}

/// When the agent posts samples over HTTP instead of the WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpFallback {
    /// WebSocket first; after repeated handshake failures that are not a bad key, post
    /// over HTTP and retry the WebSocket every few minutes.
    Auto,
    /// HTTP only (networks whose proxies break WebSockets).
    Always,
    /// WebSocket only.
    Never,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-01-02T03:04:05.678Z  WARN message key=value`, one line per event.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Validated agent configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Hub base URLs in the order they are tried; empty when none is configured.
    /// Required to stream; not needed for `--once`.
    pub hub_urls: Vec<HubUrl>,
    /// Required to stream; not needed for `--once`.
    pub api_key: Option<ApiKey>,
    pub interval: Duration,
    /// Name for this machine in logs; defaults to the hostname.
    pub machine_name: String,
    pub top_processes: usize,
    pub buffer_max_samples: usize,
    /// File that keeps unacked samples and the last `seq` across restarts.
    pub spool_path: Option<PathBuf>,
    pub log_level: tracing::Level,
    pub log_format: LogFormat,
    pub http_fallback: HttpFallback,
    pub allow_insecure: bool,
}

impl Config {
    /// A configuration for streaming to `server` with every other value at its default.
    pub fn new(server: HubUrl, api_key: ApiKey) -> Self {
        Self {
            hub_urls: vec![server],
            api_key: Some(api_key),
            ..Self::default()
        }
    }

    /// The hub URLs (at least one) and the key, or an error saying which is missing.
    pub fn link(&self) -> Result<(&[HubUrl], &ApiKey), ConfigError> {
        if self.hub_urls.is_empty() {
            return Err(ConfigError::Missing {
                what: "hub URL",
                hint: "set server.url in the config file, LUNASENTRI_AGENT_SERVER_URL or --server-url",
            });
        }
        let server = self.hub_urls.as_slice();
        let key = self.api_key.as_ref().ok_or(ConfigError::Missing {
            what: "API key",
            hint: "set server.api_key or server.api_key_file in the config file, \
                   LUNASENTRI_AGENT_API_KEY(_FILE) or --api-key(-file)",
        })?;
        Ok((server, key))
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hub_urls: Vec::new(),
            api_key: None,
            interval: DEFAULT_INTERVAL,
            machine_name: crate::collector::host::hostname(),
            top_processes: DEFAULT_TOP_PROCESSES,
            buffer_max_samples: DEFAULT_BUFFER_SAMPLES,
            spool_path: None,
            log_level: tracing::Level::INFO,
            log_format: LogFormat::Text,
            http_fallback: HttpFallback::Auto,
            allow_insecure: false,
        }
    }
}

/// The YAML file, as written by the operator. Every key is optional; unknown keys are
/// errors. Values are kept as text here and checked in [`resolve`], by the same rules as
/// the environment and flags, so every source gets the same messages.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    #[serde(deserialize_with = "section")]
    pub server: ServerSection,
    #[serde(deserialize_with = "section")]
    pub agent: AgentSection,
    #[serde(deserialize_with = "section")]
    pub logging: LoggingSection,
    #[serde(deserialize_with = "section")]
    pub link: LinkSection,
}

/// `server:` — where the hub is and how to prove who we are.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// Hub base URL, `https://hub.example.com` (`ws://`/`wss://` accepted too), or a
    /// list of them: the hubs of a cluster, tried in turn.
    pub url: Option<UrlList>,
    /// The machine's API key. Prefer `api_key_file` to keep it out of this file.
    pub api_key: Option<String>,
    /// File holding only the API key.
    pub api_key_file: Option<PathBuf>,
}

/// `server.url` as written: one URL or a YAML list of URLs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UrlList(pub Vec<String>);

impl<'de> Deserialize<'de> for UrlList {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct OneOrMany;
        impl<'de> Visitor<'de> for OneOrMany {
            type Value = UrlList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a hub URL or a list of hub URLs")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<UrlList, E> {
                Ok(UrlList(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UrlList, A::Error> {
                let mut urls = Vec::new();
                while let Some(url) = seq.next_element::<String>()? {
                    urls.push(url);
                }
                Ok(UrlList(urls))
            }
        }
        de.deserialize_any(OneOrMany)
    }
}

/// `agent:` — what to sample and how often.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentSection {
    /// `5s`, `1s`, `500ms`, `1m`; a bare number is seconds.
    pub interval: Option<String>,
    pub machine_name: Option<String>,
    /// Top processes by CPU and by memory in each sample; 0 disables.
    pub top_processes: Option<String>,
    #[serde(deserialize_with = "section")]
    pub buffer: BufferSection,
}

/// `agent.buffer:` — unacked samples kept for replay.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BufferSection {
    pub max_samples: Option<String>,
    pub spool_path: Option<PathBuf>,
}

/// `logging:`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingSection {
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: Option<String>,
    /// `text` (one line per event) or `json` (one object per line).
    pub format: Option<String>,
}

/// `link:` — transport choices.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkSection {
    /// `auto`, `always` or `never`.
    pub http_fallback: Option<String>,
    /// `true` allows plain `http`/`ws` to a host that is not loopback.
    pub allow_insecure: Option<String>,
}

impl FileConfig {
    /// Parses YAML text; `path` is only used in messages, which name the line and
    /// column of the problem (and the key, for unknown keys).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: yaml_message(&e),
        })
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }
}

/// One line for the operator: serde-saphyr's message, which ends with the line and
/// column, plus a hint where its wording is YAML jargon.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let msg = e.without_snippet().to_string();
    let msg = msg.trim();
    if msg.starts_with("expected mapping") {
        return format!(
            "{msg}: a section takes its keys on the following lines, indented, not a value"
        );
    }
    msg.to_owned()
}

/// A section written as `server:` with nothing below it is an empty section, not an
/// error: operators comment out every key of a section.
fn section<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// Raw values from one source above the file (environment or flags), not yet checked.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub server_url: Option<String>,
    pub api_key: Option<String>,
    pub api_key_file: Option<String>,
    pub interval: Option<String>,
    pub machine_name: Option<String>,
    pub top_processes: Option<String>,
    pub buffer_max_samples: Option<String>,
    pub spool_path: Option<String>,
    pub log_level: Option<String>,
    pub log_format: Option<String>,
    pub http_fallback: Option<String>,
    pub allow_insecure: Option<String>,
}

/// Prefix of every environment variable the agent reads.
pub const ENV_PREFIX: &str = "LUNASENTRI_AGENT_";

impl Overrides {
    /// Collects `LUNASENTRI_AGENT_*` variables. An unknown variable with that prefix is
    /// an error (a typo must not go unnoticed); empty values count as unset.
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let mut o = Self::default();
        for (name, value) in vars {
            let Some(suffix) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let slot = match suffix {
                "SERVER_URL" => &mut o.server_url,
                "API_KEY" => &mut o.api_key,
                "API_KEY_FILE" => &mut o.api_key_file,
                "INTERVAL" => &mut o.interval,
                "NAME" => &mut o.machine_name,
                "TOP_PROCESSES" => &mut o.top_processes,
                "BUFFER_MAX_SAMPLES" => &mut o.buffer_max_samples,
                "SPOOL_PATH" => &mut o.spool_path,
                "LOG_LEVEL" => &mut o.log_level,
                "LOG_FORMAT" => &mut o.log_format,
                "HTTP_FALLBACK" => &mut o.http_fallback,
                "ALLOW_INSECURE" => &mut o.allow_insecure,
                "CONFIG" => continue,
                _ => {
                    return Err(invalid(
                        name.clone(),
                        "unknown variable (see `lunasentri-agent --help` for the supported ones)",
                    ));
                }
            };
            *slot = Some(value);
        }
        Ok(o)
    }
}

/// Where a value came from, for error messages.
struct Pick<T> {
    value: T,
    source: String,
}

/// First of flag, env, file that is set, with its source name.
fn pick<T>(
    flag: (Option<T>, &str),
    env: (Option<T>, &str),
    file: (Option<T>, String),
) -> Option<Pick<T>> {
    if let Some(value) = flag.0 {
        return Some(Pick {
            value,
            source: flag.1.to_owned(),
        });
    }
    if let Some(value) = env.0 {
        return Some(Pick {
            value,
            source: env.1.to_owned(),
        });
    }
    file.0.map(|value| Pick {
        value,
        source: file.1,
    })
}

fn env_name(suffix: &str) -> String {
    format!("{ENV_PREFIX}{suffix}")
}

/// Resolves file, environment and flags into a checked [`Config`].
pub fn resolve(
    file: FileConfig,
    file_path: Option<&Path>,
    env: Overrides,
    flags: Overrides,
) -> Result<Config, ConfigError> {
    let in_file = |key: &str| match file_path {
        Some(p) => format!("{key} (in {})", p.display()),
        None => key.to_owned(),
    };
    let mut cfg = Config {
        api_key: resolve_key(&file, &in_file, &env, &flags)?,
        ..Config::default()
    };

    let allow_insecure = match pick(
        (flags.allow_insecure.clone(), "--allow-insecure"),
        (env.allow_insecure.clone(), &env_name("ALLOW_INSECURE")),
        (file.link.allow_insecure, in_file("link.allow_insecure")),
    ) {
        Some(p) => {
            parse_bool(&p.value).ok_or_else(|| invalid(p.source, "expected true or false"))?
        }
        None => false,
    };
    cfg.allow_insecure = allow_insecure;

    if let Some(p) = pick(
        (flags.server_url.map(|u| vec![u]), "--server-url"),
        (env.server_url.map(|u| vec![u]), &env_name("SERVER_URL")),
        (file.server.url.map(|l| l.0), in_file("server.url")),
    ) {
        cfg.hub_urls = hub_urls(&p.value, &p.source, allow_insecure)?;
    }

    if let Some(p) = pick(
        (flags.interval, "--interval"),
        (env.interval, &env_name("INTERVAL")),
        (file.agent.interval, in_file("agent.interval")),
    ) {
        let d = parse_duration(&p.value).map_err(|m| invalid(&p.source, m))?;
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&d) {
            return Err(invalid(p.source, "must be between 10ms and 1h"));
        }
        cfg.interval = d;
    }

    if let Some(p) = pick(
        (flags.machine_name, "--name"),
        (env.machine_name, &env_name("NAME")),
        (file.agent.machine_name, in_file("agent.machine_name")),
    ) {
        let name = p.value.trim();
        if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            return Err(invalid(p.source, "must be 1–200 printable characters"));
        }
        cfg.machine_name = name.to_owned();
    }

    if let Some(p) = pick(
        (flags.top_processes, "--top-processes"),
        (env.top_processes, &env_name("TOP_PROCESSES")),
        (file.agent.top_processes, in_file("agent.top_processes")),
    ) {
        cfg.top_processes = parse_count(&p.value, 0, 100).map_err(|m| invalid(p.source, m))?;
    }

    if let Some(p) = pick(
        (flags.buffer_max_samples, "--buffer-max-samples"),
        (env.buffer_max_samples, &env_name("BUFFER_MAX_SAMPLES")),
        (
            file.agent.buffer.max_samples,
            in_file("agent.buffer.max_samples"),
        ),
    ) {
        cfg.buffer_max_samples =
            parse_count(&p.value, 1, 1_000_000).map_err(|m| invalid(p.source, m))?;
    }

    if let Some(p) = pick(
        (flags.spool_path.map(PathBuf::from), "--spool-path"),
        (env.spool_path.map(PathBuf::from), &env_name("SPOOL_PATH")),
        (
            file.agent.buffer.spool_path,
            in_file("agent.buffer.spool_path"),
        ),
    ) {
        if p.value.as_os_str().is_empty() || p.value.is_dir() {
            return Err(invalid(
                p.source,
                "must be a file path (the file is created if missing)",
            ));
        }
        cfg.spool_path = Some(p.value);
    }

    if let Some(p) = pick(
        (flags.log_level, "--log-level"),
        (env.log_level, &env_name("LOG_LEVEL")),
        (file.logging.level, in_file("logging.level")),
    ) {
        cfg.log_level = p
            .value
            .trim()
            .parse()
            .map_err(|_| invalid(p.source, "expected error, warn, info, debug or trace"))?;
    }

    if let Some(p) = pick(
        (flags.log_format, "--log-format"),
        (env.log_format, &env_name("LOG_FORMAT")),
        (file.logging.format, in_file("logging.format")),
    ) {
        cfg.log_format = match p.value.trim() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(invalid(p.source, "expected text or json")),
        };
    }

    if let Some(p) = pick(
        (flags.http_fallback, "--http-fallback"),
        (env.http_fallback, &env_name("HTTP_FALLBACK")),
        (file.link.http_fallback, in_file("link.http_fallback")),
    ) {
        cfg.http_fallback = match p.value.trim() {
            "auto" => HttpFallback::Auto,
            "always" => HttpFallback::Always,
            "never" => HttpFallback::Never,
            _ => return Err(invalid(p.source, "expected auto, always or never")),
        };
    }

    Ok(cfg)
}

/// Parses the hub URLs of one source. Entries may themselves be comma-separated lists;
/// an error names the source and, when there are several, the entry (1-based) and its text.
fn hub_urls(
    values: &[String],
    source: &str,
    allow_insecure: bool,
) -> Result<Vec<HubUrl>, ConfigError> {
    let entries: Vec<&str> = values.iter().flat_map(|v| v.split(',')).collect();
    let several = entries.len() > 1;
    let name = |i: usize, text: &str| {
        if several {
            format!("{source} entry {} (`{}`)", i + 1, text.trim())
        } else {
            source.to_owned()
        }
    };
    if entries.iter().all(|e| e.trim().is_empty()) {
        return Err(invalid(source, "no hub URL given"));
    }
    let mut urls: Vec<HubUrl> = Vec::with_capacity(entries.len());
    for (i, text) in entries.iter().enumerate() {
        if text.trim().is_empty() {
            return Err(invalid(
                name(i, text),
                "is empty; separate hub URLs with single commas",
            ));
        }
        let url = HubUrl::parse(text).map_err(|m| invalid(name(i, text), m))?;
        if !url.is_secure() && !url.is_loopback() && !allow_insecure {
            return Err(invalid(
                name(i, text),
                format!(
                    "{} sends the API key and metrics unencrypted to a host that is not \
                     loopback; use https:// (or wss://), or set link.allow_insecure: true \
                     if the network is trusted",
                    url.http_base()
                ),
            ));
        }
        if let Some(j) = urls.iter().position(|u| *u == url) {
            return Err(invalid(
                name(i, text),
                format!("is the same hub as entry {}; list each hub once", j + 1),
            ));
        }
        urls.push(url);
    }
    Ok(urls)
}

/// The key comes from whichever layer sets `api_key` or `api_key_file` first; one
/// layer setting both is ambiguous and refused.
fn resolve_key(
    file: &FileConfig,
    in_file: &dyn Fn(&str) -> String,
    env: &Overrides,
    flags: &Overrides,
) -> Result<Option<ApiKey>, ConfigError> {
    let layers: [(Option<&str>, String, Option<PathBuf>, String); 3] = [
        (
            flags.api_key.as_deref(),
            "--api-key".to_owned(),
            flags.api_key_file.as_ref().map(PathBuf::from),
            "--api-key-file".to_owned(),
        ),
        (
            env.api_key.as_deref(),
            env_name("API_KEY"),
            env.api_key_file.as_ref().map(PathBuf::from),
            env_name("API_KEY_FILE"),
        ),
        (
            file.server.api_key.as_deref(),
            in_file("server.api_key"),
            file.server.api_key_file.clone(),
            in_file("server.api_key_file"),
        ),
    ];
    for (key, key_src, key_file, file_src) in layers {
        match (key, key_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    format!("{key_src} / {file_src}"),
                    "set either the key or the key file, not both",
                ));
            }
            (Some(k), None) => return ApiKey::new(k, &key_src).map(Some),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    invalid(&file_src, format!("cannot read {}: {e}", path.display()))
                })?;
                warn_if_readable_by_others(&path);
                return ApiKey::new(&text, &file_src).map(Some);
            }
            (None, None) => {}
        }
    }
    Ok(None)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o004 != 0
    {
        tracing::warn!(path = %path.display(), "the API key file is readable by every user; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// Parses `500ms`, `5s`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write e.g. 5s, 1s, 500ms or 1m"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`; use ms, s, m or h"
            ));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{text}` is not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_count(text: &str, min: usize, max: usize) -> Result<usize, String> {
    let n: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number"))?;
    if !(min..=max).contains(&n) {
        return Err(format!("must be between {min} and {max}, got {n}"));
    }
    Ok(n)
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(yaml: &str) -> Result<FileConfig, ConfigError> {
        FileConfig::parse(yaml, Path::new("agent.yaml"))
    }

    fn resolve_yaml(yaml: &str) -> Result<Config, ConfigError> {
        resolve(
            file(yaml)?,
            Some(Path::new("agent.yaml")),
            Overrides::default(),
            Overrides::default(),
        )
    }

    /// A complete file resolves to the values it names.
    #[test]
    fn full_file_resolves() {
        let cfg = resolve_yaml(
            "server:\n  url: https://hub.example.com/\n  api_key: lsk_abc\n\
             agent:\n  interval: 1s\n  machine_name: web-1\n  top_processes: 0\n\
             \n  buffer:\n    max_samples: 100\n    spool_path: /tmp/x.spool\n\
             logging:\n  level: debug\nlink:\n  http_fallback: never\n  allow_insecure: false\n",
        )
        .unwrap();
        assert_eq!(cfg.hub_urls.len(), 1);
        assert_eq!(
            cfg.hub_urls[0].ws_url(),
            "wss://hub.example.com/agent/stream"
        );
        assert_eq!(cfg.api_key.unwrap().expose(), "lsk_abc");
        assert_eq!(cfg.interval, Duration::from_secs(1));
        assert_eq!(cfg.machine_name, "web-1");
        assert_eq!(cfg.top_processes, 0);
        assert_eq!(cfg.buffer_max_samples, 100);
        assert_eq!(cfg.spool_path, Some(PathBuf::from("/tmp/x.spool")));
        assert_eq!(cfg.log_level, tracing::Level::DEBUG);
        assert_eq!(cfg.http_fallback, HttpFallback::Never);
    }

    /// An empty file gives the documented defaults.
    #[test]
    fn defaults() {
        let cfg = resolve_yaml("").unwrap();
        assert_eq!(cfg.interval, DEFAULT_INTERVAL);
        assert_eq!(cfg.buffer_max_samples, 3600);
        assert_eq!(cfg.top_processes, 5);
        assert_eq!(cfg.http_fallback, HttpFallback::Auto);
        assert!(cfg.hub_urls.is_empty() && cfg.api_key.is_none());
        assert!(cfg.link().is_err());
    }

    /// An unknown key is an error that names it.
    #[test]
    fn unknown_key_is_named() {
        let err = file("server:\n  urll: https://x\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("urll"), "{err}");
        let err = file("agnet:\n  interval: 5s\n").unwrap_err().to_string();
        assert!(err.contains("agnet"), "{err}");
    }

    /// Bad values are errors naming the key and the file.
    #[test]
    fn bad_values_name_the_key() {
        for (yaml, key) in [
            ("agent:\n  interval: fast\n", "agent.interval"),
            ("agent:\n  interval: 5ms\n", "agent.interval"),
            ("agent:\n  top_processes: -3\n", "agent.top_processes"),
            (
                "agent:\n  buffer:\n    max_samples: 0\n",
                "agent.buffer.max_samples",
            ),
            ("logging:\n  level: loud\n", "logging.level"),
            ("link:\n  http_fallback: sometimes\n", "link.http_fallback"),
            ("server:\n  url: ftp://hub\n", "server.url"),
            ("server:\n  api_key: \"two words\"\n", "server.api_key"),
        ] {
            let err = resolve_yaml(yaml).expect_err(yaml).to_string();
            assert!(err.contains(key), "{yaml:?} -> {err}");
            assert!(err.contains("agent.yaml"), "{yaml:?} -> {err}");
        }
    }

    /// A wrong type is an error naming the key, not a silent default.
    #[test]
    fn wrong_type_is_an_error() {
        let err = resolve_yaml("link:\n  allow_insecure: maybe\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("link.allow_insecure"), "{err}");
        let err = file("server: https://x\n").unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("section"), "{err}");
        let err = file("server:\n  url:\n    deep: x\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(file("server: [1, 2]\n").is_err());
    }

    /// Comments, the three scalar styles, `~`, empty sections and values with colons
    /// and hashes read as YAML says.
    #[test]
    fn yaml_scalars_and_comments() {
        let f = file(
            "---\n# top comment\nserver:\n  url: http://127.0.0.1:8080/x#y  # the hub\n  \
             api_key: \"lsk_a\\\"b\"\nagent:\n    interval: 5\n    buffer:\n        \
             spool_path: '/var/lib/it''s'\n    machine_name: web #1\n    top_processes: ~\n\
             logging:\nlink:\n  allow_insecure: false\n",
        )
        .unwrap();
        assert_eq!(
            f.server.url,
            Some(UrlList(vec!["http://127.0.0.1:8080/x#y".into()]))
        );
        assert_eq!(f.server.api_key.as_deref(), Some("lsk_a\"b"));
        assert_eq!(f.agent.interval.as_deref(), Some("5"));
        assert_eq!(
            f.agent.buffer.spool_path,
            Some(PathBuf::from("/var/lib/it's"))
        );
        assert_eq!(f.agent.machine_name.as_deref(), Some("web"));
        assert_eq!(f.agent.top_processes, None);
        assert_eq!(f.logging.level, None);
        assert_eq!(f.link.allow_insecure.as_deref(), Some("false"));
    }

    /// Broken YAML is an error with the line: tabs, duplicate keys, bad indentation,
    /// unclosed quotes.
    #[test]
    fn yaml_errors_name_the_line() {
        for (text, line) in [
            ("server:\n\turl: x\n", "line 2"),
            ("server:\n  url: x\n  url: y\n", "line 3"),
            ("server:\n    url: x\n  api_key: y\n", "line 3"),
            ("server:\n  url: \"open\n", "line 2"),
        ] {
            let err = file(text).expect_err(text).to_string();
            assert!(err.contains(line), "{text:?}: {err}");
            assert!(err.contains("agent.yaml"), "{text:?}: {err}");
        }
        let err = file("server:\n  url: x\n  url: y\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate") && err.contains("url"), "{err}");
    }

    /// Plain http to a remote host needs allow_insecure; loopback does not.
    #[test]
    fn plain_http_only_for_loopback_or_when_allowed() {
        let err = resolve_yaml("server:\n  url: http://hub.example.com\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.url") && err.contains("allow_insecure"),
            "{err}"
        );
        resolve_yaml("server:\n  url: http://127.0.0.1:8080\n").unwrap();
        resolve_yaml("server:\n  url: ws://localhost:8080\n").unwrap();
        resolve_yaml("server:\n  url: http://[::1]:8080\n").unwrap();
        resolve_yaml("server:\n  url: http://hub.lan\nlink:\n  allow_insecure: true\n").unwrap();
    }

    /// `server.url` takes one URL or a YAML list; both keep the configured order.
    #[test]
    fn server_url_one_or_a_list() {
        let cfg = resolve_yaml("server:\n  url: https://a.example.com\n").unwrap();
        let hosts = |c: &Config| {
            c.hub_urls
                .iter()
                .map(|u| u.host().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(hosts(&cfg), ["a.example.com"]);
        let cfg = resolve_yaml(
            "server:\n  url:\n    - https://a.example.com\n    - wss://b.example.com:8443\n",
        )
        .unwrap();
        assert_eq!(hosts(&cfg), ["a.example.com", "b.example.com"]);
        assert_eq!(
            cfg.hub_urls[1].ws_url(),
            "wss://b.example.com:8443/agent/stream"
        );
        let cfg = resolve_yaml("server:\n  url: [https://a.example.com, https://c.example.com]\n")
            .unwrap();
        assert_eq!(hosts(&cfg), ["a.example.com", "c.example.com"]);
        let err = file("server:\n  url: 8080\n").unwrap_err().to_string();
        assert!(
            err.contains("list of hub URLs") && err.contains("line 2"),
            "{err}"
        );
    }

    /// The variable (like the flag) takes a comma-separated list, spaces allowed.
    #[test]
    fn server_url_comma_separated_in_env_and_flags() {
        let env = Overrides {
            server_url: Some("https://a.example.com, http://127.0.0.1:8080/x".into()),
            ..Overrides::default()
        };
        let cfg = resolve(FileConfig::default(), None, env, Overrides::default()).unwrap();
        let bases: Vec<String> = cfg.hub_urls.iter().map(HubUrl::http_base).collect();
        assert_eq!(bases, ["https://a.example.com", "http://127.0.0.1:8080/x"]);
    }

    /// A bad entry in a list is named by its position and text, whatever the source.
    #[test]
    fn bad_url_entry_is_named() {
        let err = resolve_yaml("server:\n  url:\n    - https://a.example.com\n    - htp://b\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.url (in agent.yaml) entry 2 (`htp://b`)")
                && err.contains("unsupported scheme"),
            "{err}"
        );
        let flags = |v: &str| Overrides {
            server_url: Some(v.into()),
            ..Overrides::default()
        };
        let run = |v: &str| {
            resolve(FileConfig::default(), None, Overrides::default(), flags(v))
                .unwrap_err()
                .to_string()
        };
        let err = run("https://a.example.com,,https://b.example.com");
        assert!(
            err.contains("--server-url entry 2") && err.contains("empty"),
            "{err}"
        );
        let err = run("https://a.example.com,https://a.example.com/");
        assert!(
            err.contains("entry 2") && err.contains("same hub as entry 1"),
            "{err}"
        );
        let err = run("https://a.example.com,http://b.example.com");
        assert!(
            err.contains("entry 2 (`http://b.example.com`)") && err.contains("allow_insecure"),
            "{err}"
        );
        let err = run(" , ");
        assert!(
            err.contains("--server-url") && err.contains("no hub URL"),
            "{err}"
        );
        let err = resolve_yaml("server:\n  url: []\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.url") && err.contains("no hub URL"),
            "{err}"
        );
        // A single bad URL reads as before: no entry number.
        let err = run("ftp://x");
        assert!(
            err.starts_with("invalid --server-url: unsupported scheme"),
            "{err}"
        );
    }

    /// Flags beat environment, which beats the file.
    #[test]
    fn precedence_flags_env_file() {
        let f = || file("agent:\n  interval: 30s\n  machine_name: from-file\n").unwrap();
        let env = Overrides {
            interval: Some("10s".into()),
            machine_name: Some("from-env".into()),
            ..Overrides::default()
        };
        let flags = Overrides {
            interval: Some("2s".into()),
            ..Overrides::default()
        };
        let cfg = resolve(f(), None, env.clone(), flags).unwrap();
        assert_eq!(cfg.interval, Duration::from_secs(2));
        assert_eq!(cfg.machine_name, "from-env");
        let cfg = resolve(f(), None, Overrides::default(), Overrides::default()).unwrap();
        assert_eq!(cfg.interval, Duration::from_secs(30));
        let err = resolve(
            f(),
            None,
            Overrides {
                interval: Some("soon".into()),
                ..Overrides::default()
            },
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("LUNASENTRI_AGENT_INTERVAL"), "{err}");
    }

    /// The key may come from a file; it is trimmed and never shown by Debug.
    #[test]
    fn api_key_from_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "lsk_secretsecret\n").unwrap();
        let flags = Overrides {
            api_key_file: Some(path.to_string_lossy().into_owned()),
            ..Overrides::default()
        };
        let cfg = resolve(FileConfig::default(), None, Overrides::default(), flags).unwrap();
        let key = cfg.api_key.unwrap();
        assert_eq!(key.expose(), "lsk_secretsecret");
        assert!(!format!("{key:?}").contains("secretsecret"));

        let both = Overrides {
            api_key: Some("lsk_a".into()),
            api_key_file: Some("/nonexistent".into()),
            ..Overrides::default()
        };
        let err = resolve(FileConfig::default(), None, both, Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");

        let missing = Overrides {
            api_key_file: Some("/nonexistent/key".into()),
            ..Overrides::default()
        };
        let err = resolve(FileConfig::default(), None, Overrides::default(), missing).unwrap_err();
        assert!(err.to_string().contains("--api-key-file"), "{err}");
    }

    /// Unknown LUNASENTRI_AGENT_* variables are refused by name; others are ignored.
    #[test]
    fn env_variables() {
        let vars = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        let o = Overrides::from_env(vars(&[
            ("LUNASENTRI_AGENT_INTERVAL", "1s"),
            ("LUNASENTRI_AGENT_NAME", ""),
            ("PATH", "/bin"),
        ]))
        .unwrap();
        assert_eq!(o.interval.as_deref(), Some("1s"));
        assert!(o.machine_name.is_none());
        let err = Overrides::from_env(vars(&[("LUNASENTRI_AGENT_INTERVALL", "1s")])).unwrap_err();
        assert!(
            err.to_string().contains("LUNASENTRI_AGENT_INTERVALL"),
            "{err}"
        );
    }

    /// Durations in the documented spellings.
    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("s").is_err());
    }
}
