//! What a run does: the command line ([`Cli`]) and the resolved [`Config`] that
//! [`crate::run`] takes.
//!
//! | flag | default | meaning |
//! |---|---|---|
//! | `--hub URL` | `http://127.0.0.1:8080` | the hub to measure |
//! | `--agents N` | 100 | simulated agents (machines) |
//! | `--dashboards M` | 10 | simulated dashboard sessions |
//! | `--users U` | ⌈M / 10⌉ | users the machines and dashboards are spread over |
//! | `--watch K` | 10 | machines each dashboard subscribes to (0: all of its user's) |
//! | `--interval` | `1s` | sampling interval of every agent |
//! | `--duration` | `60s` | measured time, after every connection is up |
//! | `--ramp-per-sec R` | 1000 | new connections per second while ramping up |
//! | `--transport ws\|http` | `ws` | agent link: WebSocket or `POST /agent/metrics` |
//! | `--scenario` | `steady` | `steady`, `churn`, `burst`, `slow-dashboard` |
//! | `--admin-email` / `--admin-password` | env `LUNASENTRI_ADMIN_*` | creates users and machines |
//! | `--hub-pid PID` | none | read the hub's CPU and RSS from `/proc` |
//! | `--json` | off | JSON report on stdout (the table goes to stderr) |
//! | `--max-p99-ms X` / `--max-loss Y` | none | exit 1 when the run breaks them |
//! | `--role`, `--plan`, `--write-plan`, `--agent-offset`, `--dashboard-offset` | | split a run over processes |

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// How simulated agents talk to the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// `GET /agent/stream`, one persistent WebSocket per agent.
    Ws,
    /// `POST /agent/metrics`, one request per sample.
    Http,
}

/// What happens during the measured time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Every agent sends every interval; nothing disconnects.
    Steady,
    /// Agents drop their connection at random, stay away a few seconds and replay
    /// what was not acknowledged: zero loss is expected.
    Churn,
    /// All agents lose the hub at once, buffer a backlog, and reconnect together.
    Burst,
    /// Some dashboards stop reading; the others must not notice.
    SlowDashboard,
}

/// Which part of the simulation this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Agents and dashboards (exact latency and loss accounting).
    Both,
    /// Agents only; dashboards run in another process.
    Agents,
    /// Dashboards only; latency from the samples' `ts` (millisecond resolution).
    Dashboards,
}

/// Command line of `lunasentri-loadgen`.
#[derive(Debug, Parser)]
#[command(
    name = "lunasentri-loadgen",
    version,
    about = "Simulates LunaSentri agents and dashboards against a hub and measures it",
    after_help = "Split a run over several processes (the open-file limit caps one process):\n  \
        lunasentri-loadgen --hub URL --agents 20000 --dashboards 2000 --write-plan plan.json --provision-only\n  \
        lunasentri-loadgen --plan plan.json --role dashboards --dashboards 2000 --duration 90s &\n  \
        lunasentri-loadgen --plan plan.json --role agents --agents 10000 --duration 60s &\n  \
        lunasentri-loadgen --plan plan.json --role agents --agents 10000 --agent-offset 10000 --duration 60s"
)]
pub struct Cli {
    /// Base URL of the hub.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub hub: String,
    /// Simulated agents (one machine each).
    #[arg(long, default_value_t = 100)]
    pub agents: usize,
    /// Simulated dashboard sessions.
    #[arg(long, default_value_t = 10)]
    pub dashboards: usize,
    /// Users the machines and dashboards are spread over (default: one per 10 dashboards).
    #[arg(long)]
    pub users: Option<usize>,
    /// Machines each dashboard watches; 0 subscribes to all of its user's machines.
    #[arg(long, default_value_t = 10)]
    pub watch: usize,
    /// Sampling interval of every agent, e.g. `1s`, `500ms`.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Measured time after all connections are up, e.g. `60s`, `2m`.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub duration: Duration,
    /// New connections per second while ramping up.
    #[arg(long, default_value_t = 1000)]
    pub ramp_per_sec: u32,
    /// Agent link.
    #[arg(long, value_enum, default_value_t = Transport::Ws)]
    pub transport: Transport,
    /// What happens during the measured time.
    #[arg(long, value_enum, default_value_t = Scenario::Steady)]
    pub scenario: Scenario,
    /// Admin account that creates the simulated users and machines.
    #[arg(long, env = "LUNASENTRI_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Password of that admin.
    #[arg(long, env = "LUNASENTRI_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// PID of the hub when it runs on this host: CPU and RSS are read from /proc.
    #[arg(long)]
    pub hub_pid: Option<u32>,
    /// Print the report as JSON on stdout (the table goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when the p99 agent→dashboard latency exceeds this many milliseconds.
    #[arg(long)]
    pub max_p99_ms: Option<f64>,
    /// Exit 1 when the fraction of samples lost (live or storage) exceeds this, e.g. `0`.
    #[arg(long)]
    pub max_loss: Option<f64>,
    /// Agents that drop per second in the churn scenario, as a fraction of all agents.
    #[arg(long, default_value_t = 0.02)]
    pub churn_rate: f64,
    /// How long agents stay away in the burst scenario.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub outage: Duration,
    /// Fraction of dashboards that stop reading in the slow-dashboard scenario.
    #[arg(long, default_value_t = 0.1)]
    pub slow_fraction: f64,
    /// Worker threads of loadgen's runtime (1: current-thread runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Which part of the simulation this process runs.
    #[arg(long, value_enum, default_value_t = Role::Both)]
    pub role: Role,
    /// Use the users, machines and keys of this plan file instead of creating them.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Write the plan (users, sessions, machines, keys) to this file (mode 0600).
    #[arg(long)]
    pub write_plan: Option<PathBuf>,
    /// Alert rules each user creates over all of their machines (so every machine has
    /// this many), with thresholds the simulated values never cross: measures rule
    /// evaluation, not notification.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=20))]
    pub rules_per_machine: u16,
    /// Only create users and machines (with `--write-plan`), then exit.
    #[arg(long)]
    pub provision_only: bool,
    /// Measure `lunasentri-relay` instead of a hub: machines (ids 1..=agents) and
    /// sessions are made up rather than created, and nothing is read back from storage.
    #[arg(long, conflicts_with_all = ["plan", "write_plan", "provision_only", "rules_per_machine", "transport"])]
    pub relay: bool,
    /// First machine of the plan this process simulates (with `--role agents`).
    #[arg(long, default_value_t = 0)]
    pub agent_offset: usize,
    /// First dashboard of the plan this process simulates (with `--role dashboards`).
    #[arg(long, default_value_t = 0)]
    pub dashboard_offset: usize,
    /// Seed of the sample values and scenario events (same seed, same run).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Everything [`crate::run`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub hub: String,
    pub agents: usize,
    pub dashboards: usize,
    pub users: usize,
    pub watch: usize,
    pub interval: Duration,
    pub duration: Duration,
    pub ramp_per_sec: u32,
    pub transport: Transport,
    pub scenario: Scenario,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    pub hub_pid: Option<u32>,
    pub max_p99_ms: Option<f64>,
    pub max_loss: Option<f64>,
    pub churn_rate: f64,
    pub outage: Duration,
    pub slow_fraction: f64,
    pub role: Role,
    pub plan: Option<PathBuf>,
    pub write_plan: Option<PathBuf>,
    pub provision_only: bool,
    /// The target is the bare relay (see [`crate::relay`]).
    pub relay: bool,
    pub rules_per_machine: u16,
    pub agent_offset: usize,
    pub dashboard_offset: usize,
    pub seed: u64,
    /// Draw the progress bar (on stderr, only when it is a terminal).
    pub progress: bool,
    /// How long to wait after the measured time for acks and the last live frames.
    pub drain_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hub: "http://127.0.0.1:8080".into(),
            agents: 100,
            dashboards: 10,
            users: 1,
            watch: 10,
            interval: Duration::from_secs(1),
            duration: Duration::from_secs(60),
            ramp_per_sec: 1000,
            transport: Transport::Ws,
            scenario: Scenario::Steady,
            admin_email: None,
            admin_password: None,
            hub_pid: None,
            max_p99_ms: None,
            max_loss: None,
            churn_rate: 0.02,
            outage: Duration::from_secs(10),
            slow_fraction: 0.1,
            role: Role::Both,
            plan: None,
            write_plan: None,
            provision_only: false,
            relay: false,
            rules_per_machine: 0,
            agent_offset: 0,
            dashboard_offset: 0,
            seed: 1,
            progress: false,
            drain_timeout: Duration::from_secs(20),
        }
    }
}

impl Cli {
    /// The resolved configuration.
    pub fn into_config(self) -> Config {
        let users = self
            .users
            .unwrap_or_else(|| self.dashboards.div_ceil(10))
            .max(1);
        Config {
            hub: self.hub.trim_end_matches('/').to_owned(),
            agents: self.agents,
            dashboards: self.dashboards,
            users,
            watch: self.watch,
            interval: self.interval,
            duration: self.duration,
            ramp_per_sec: self.ramp_per_sec.max(1),
            transport: self.transport,
            scenario: self.scenario,
            admin_email: self.admin_email,
            admin_password: self.admin_password,
            hub_pid: self.hub_pid,
            max_p99_ms: self.max_p99_ms,
            max_loss: self.max_loss,
            churn_rate: self.churn_rate,
            outage: self.outage,
            slow_fraction: self.slow_fraction.clamp(0.0, 1.0),
            role: self.role,
            plan: self.plan,
            write_plan: self.write_plan,
            provision_only: self.provision_only,
            relay: self.relay,
            rules_per_machine: self.rules_per_machine,
            agent_offset: self.agent_offset,
            dashboard_offset: self.dashboard_offset,
            seed: self.seed,
            progress: !self.quiet,
            drain_timeout: Duration::from_secs(20),
        }
    }
}

/// Parses `250ms`, `1s`, `1.5s`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: write e.g. 500ms, 1s, 2m"))?;
    let secs = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?}; use ms, s, m or h"
            ));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{text:?} is not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Durations parse in every documented unit and refuse nonsense with a hint.
    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unit"));
        assert!(parse_duration("fast").is_err());
    }

    /// The flags named in the design parse, and users default to one per 10 dashboards.
    #[test]
    fn design_flags_parse() {
        let cli = Cli::try_parse_from([
            "lunasentri-loadgen",
            "--hub",
            "http://127.0.0.1:9000/",
            "--agents",
            "1000",
            "--dashboards",
            "100",
            "--interval",
            "1s",
            "--duration",
            "30s",
            "--admin-email",
            "a@example.com",
            "--admin-password",
            "pw",
            "--transport",
            "http",
            "--scenario",
            "slow-dashboard",
            "--json",
            "--max-p99-ms",
            "10",
            "--max-loss",
            "0",
        ])
        .unwrap();
        assert!(cli.json);
        let c = cli.into_config();
        assert_eq!(c.hub, "http://127.0.0.1:9000");
        assert_eq!(c.users, 10);
        assert_eq!(c.transport, Transport::Http);
        assert_eq!(c.scenario, Scenario::SlowDashboard);
        assert_eq!(c.max_loss, Some(0.0));
    }
}
