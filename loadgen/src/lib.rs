//! LunaSentri loadgen: simulates N agents and M dashboards against a running hub and
//! measures what a user would ask: how fast a sample reaches the screen, whether any
//! is lost on the way or in storage, and what the hub spends doing it.
//!
//! # Layout
//! - [`config`]: the command line and the resolved [`Config`].
//! - [`provision`]: users, logins and machines through the public REST API; the
//!   [`provision::Plan`] file that lets several processes share one run.
//! - [`agent`]: a simulated agent (WebSocket or HTTP) with ack tracking and replay.
//! - [`dashboard`]: a simulated dashboard live socket (or a stalled one).
//! - [`sample`]: realistic synthetic samples.
//! - [`scenario`]: run phases, outages per agent, stalled dashboards.
//! - [`metrics`]: send log, seq sets, latency histograms and counters.
//! - [`proc_stats`], [`prom`]: the hub's CPU/RSS from `/proc` and its `/metrics`.
//! - [`report`]: the [`Report`], its table and the pass/fail thresholds.
//! - [`progress`]: the progress line.
//! - [`ws`]: lean WebSocket connections.
//! - [`relay`]: the bare reference relay (`lunasentri-relay`), a yardstick for the hub.
//!
//! [`run`] drives one run: provision (or load a plan), connect dashboards, then agents,
//! measure for `duration`, stop, wait for every ack and the last frames, verify
//! storage, and report.

pub mod agent;
pub mod config;
pub mod dashboard;
pub mod metrics;
pub mod proc_stats;
pub mod progress;
pub mod prom;
pub mod provision;
pub mod relay;
pub mod report;
pub mod sample;
pub mod scenario;
pub mod ws;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use tokio::sync::watch;

pub use crate::config::{Config, Role, Scenario, Transport};
pub use crate::report::Report;

use crate::agent::{AgentEnv, AgentSpec};
use crate::dashboard::{DashboardEnv, DashboardOutcome, DashboardSpec, Watched};
use crate::metrics::{Counters, LatencySummary, SeqSet, Shared};
use crate::progress::Progress;
use crate::provision::{Api, Plan};
use crate::report::{Connections, HubSide, Lagged, Loss, ProcUsage, RunInfo, Samples, Throughput};
use crate::scenario::Phase;

/// Why a run could not be carried out (a breached threshold is not an error: see
/// [`Report::breaches`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The hub could not be set up for the run; the message says what to fix.
    #[error("{0}")]
    Setup(String),
}

/// Extra time allowed for connections beyond what the ramp rate implies.
const CONNECT_GRACE: Duration = Duration::from_secs(60);
/// After the agents finished, dashboards stop once no frame arrived for this long.
const QUIET: Duration = Duration::from_millis(500);
/// ... or at the latest after this.
const QUIET_MAX: Duration = Duration::from_secs(5);
/// `GET …/latest` requests in flight at the end.
const VERIFY_CONCURRENCY: usize = 8;

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Raises the open-file soft limit to the hard limit; returns the limit in force.
pub fn raise_open_files() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(0)
        }
    }
}

/// Runs the simulation described by `cfg` and reports what it measured.
pub async fn run(cfg: Config) -> Result<Report, Error> {
    let progress = Progress::new(cfg.progress);
    let limit = raise_open_files();
    let runs_agents = cfg.role != Role::Dashboards;
    let runs_dashboards = cfg.role != Role::Agents;
    let sockets = runs_agents as usize * cfg.agents + runs_dashboards as usize * cfg.dashboards;
    if limit > 0 && (sockets as u64 + 64) > limit {
        return Err(Error::Setup(format!(
            "{sockets} sockets need more than the open-file limit of {limit}: raise `ulimit -n` or split the run with --role/--plan/--agent-offset (see --help)"
        )));
    }
    let api = Api::new(&cfg.hub)?;
    let addr = ws::resolve(&cfg.hub).await.map_err(Error::Setup)?;

    let plan = match &cfg.plan {
        Some(path) => Plan::load(path)?,
        None if cfg.relay => Plan::synthetic(&cfg.hub, cfg.users, cfg.agents),
        None => {
            let (Some(email), Some(password)) = (&cfg.admin_email, &cfg.admin_password) else {
                return Err(Error::Setup(
                    "--admin-email and --admin-password (or LUNASENTRI_ADMIN_EMAIL / _PASSWORD) are needed to create the simulated users and machines, or pass --plan FILE".into(),
                ));
            };
            let plan = provision::provision(&api, email, password, cfg.users, cfg.agents, |m| {
                progress.step(m)
            })
            .await?;
            if cfg.rules_per_machine > 0 {
                progress.step(&format!(
                    "creating {} alert rules per machine",
                    cfg.rules_per_machine
                ));
                provision::create_rules(&api, &plan, cfg.rules_per_machine).await?;
            }
            plan
        }
    };
    if let Some(path) = &cfg.write_plan {
        plan.save(path)?;
    }
    if cfg.provision_only {
        progress.finish();
        return Ok(Report {
            run: run_info(&cfg, &plan, 0, 0.0, 0.0, false),
            ..Report::default()
        });
    }

    // Which machines this process simulates, and which track each one has.
    let agent_range = if runs_agents {
        let lo = cfg.agent_offset.min(plan.machines.len());
        lo..(lo + cfg.agents).min(plan.machines.len())
    } else {
        0..0
    };
    let n_agents = agent_range.len();
    let shared = Arc::new(Shared::new(n_agents));
    let track_of: HashMap<i64, usize> = plan.machines[agent_range.clone()]
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id, i))
        .collect();

    // Storage is checked against the hub's counters from before the first sample.
    let prom_base = scrape(&api, cfg.relay).await;
    let (phase_tx, phase_rx) = watch::channel(Phase::Ramp);
    let (finish_tx, finish_rx) = watch::channel(false);
    let ramp_gap = Duration::from_secs_f64(1.0 / f64::from(cfg.ramp_per_sec));
    let ramp_started = Instant::now();

    // Dashboards first, so every sample the agents send has its watchers in place.
    let by_user = plan.machines_by_user();
    let dash_ready = Arc::new(AtomicUsize::new(0));
    let dash_failed = Arc::new(AtomicUsize::new(0));
    let mut dash_tasks = Vec::new();
    let mut slow_count = 0;
    if runs_dashboards {
        let env = DashboardEnv {
            shared: shared.clone(),
            hub: cfg.hub.clone(),
            addr,
            ts_latency: cfg.role == Role::Dashboards,
            ready: dash_ready.clone(),
            failed: dash_failed.clone(),
            finish: finish_rx.clone(),
        };
        let total = cfg.dashboard_offset + cfg.dashboards;
        for (n, d) in (cfg.dashboard_offset..total).enumerate() {
            let slow = scenario::is_slow(&cfg, d, total);
            slow_count += usize::from(slow);
            // A stalled tab watches everything of its user, so it falls behind quickly.
            let watch = if slow { 0 } else { cfg.watch };
            let (user, machines) =
                provision::dashboard_assignment(d, plan.users.len(), &by_user, watch);
            let Some(u) = plan.users.get(user) else {
                continue;
            };
            let spec = DashboardSpec {
                index: d,
                session: u.session.clone(),
                watch: machines
                    .iter()
                    .map(|&i| Watched {
                        machine_id: plan.machines[i].id,
                        track: track_of.get(&plan.machines[i].id).copied(),
                    })
                    .collect(),
                subscribe_all: watch == 0,
                slow,
            };
            let env = env.clone();
            let delay = ramp_gap * n as u32;
            dash_tasks.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                dashboard::run(spec, env).await
            }));
        }
        let want = dash_tasks.len();
        wait_for(
            &progress,
            "dashboards subscribed",
            want,
            &dash_ready,
            &dash_failed,
            ramp_gap * want as u32 + CONNECT_GRACE,
        )
        .await;
    }

    let agents_up = Arc::new(AtomicUsize::new(0));
    let agents_failed = Arc::new(AtomicUsize::new(0));
    let mut agent_tasks = Vec::new();
    if runs_agents {
        let http = match cfg.transport {
            Transport::Ws => None,
            Transport::Http => Some(
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .tcp_nodelay(true)
                    .build()
                    .map_err(|e| Error::Setup(format!("HTTP client: {e}")))?,
            ),
        };
        let env = AgentEnv {
            shared: shared.clone(),
            hub: cfg.hub.clone(),
            addr,
            interval: cfg.interval,
            seed: cfg.seed,
            phase: phase_rx.clone(),
            drain_timeout: cfg.drain_timeout,
            up: agents_up.clone(),
            failed: agents_failed.clone(),
            http,
        };
        for (i, m) in plan.machines[agent_range.clone()].iter().enumerate() {
            // Spread first samples over the interval (golden-ratio sequence).
            let frac = (i as f64 * 0.618_033_988_75).fract();
            let spec = AgentSpec {
                index: i,
                machine_id: m.id,
                api_key: m.api_key.clone(),
                outages: scenario::outages(&cfg, cfg.agent_offset + i),
                first_tick: cfg.interval.mul_f64(frac),
            };
            let env = env.clone();
            let delay = ramp_gap * i as u32;
            agent_tasks.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                agent::run(spec, env).await
            }));
        }
        wait_for(
            &progress,
            "agents connected",
            n_agents,
            &agents_up,
            &agents_failed,
            ramp_gap * n_agents as u32 + CONNECT_GRACE + cfg.interval,
        )
        .await;
    }
    let ramp_s = ramp_started.elapsed().as_secs_f64();

    // ---- measured time ------------------------------------------------------------
    let prom_before = scrape(&api, cfg.relay).await;
    let hub_before = cfg.hub_pid.and_then(|p| proc_stats::read(Some(p)));
    let self_before = proc_stats::read(None);
    let machine_before = proc_stats::read_machine();
    let c = &shared.counters;
    let (sent0, recv0, replay0) = (
        Counters::get(&c.samples_sent),
        Counters::get(&c.samples_received),
        Counters::get(&c.samples_replayed),
    );
    let measure_start = Instant::now();
    if let Ok(mut h) = shared.recent.lock() {
        h.reset();
    }
    shared.measuring.store(true, Ordering::Relaxed);
    let _ = phase_tx.send(Phase::Measure(measure_start));
    progress.start_measure(cfg.duration.as_secs());
    let mut queue_max = prom_before.as_ref().map_or(0.0, |p| p.writer_queue_depth);
    let mut hub_peak_rss = hub_before.map_or(0, |h| h.rss_bytes);
    let mut interrupted = false;
    let mut last = (Instant::now(), sent0, recv0);
    let mut second = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while measure_start.elapsed() < cfg.duration {
        let left = cfg.duration.saturating_sub(measure_start.elapsed());
        tokio::select! {
            _ = second.tick() => {}
            _ = tokio::time::sleep(left) => {}
            _ = &mut ctrl_c => {
                interrupted = true;
                break;
            }
        }
        let now = Instant::now();
        let (sent, recv) = (
            Counters::get(&c.samples_sent),
            Counters::get(&c.samples_received),
        );
        let dt = now.duration_since(last.0).as_secs_f64().max(1e-3);
        let p99 = shared.recent.lock().map_or(0.0, |mut h| {
            let p = h.value_at_quantile(0.99) as f64 / 1000.0;
            h.reset();
            p
        });
        let errors = Counters::get(&c.agent_disconnects)
            + Counters::get(&c.agent_connect_errors)
            + Counters::get(&c.dashboard_errors)
            + Counters::get(&c.hub_errors)
            + Counters::get(&c.http_errors);
        progress.tick(
            measure_start.elapsed().as_secs(),
            (sent - last.1) as f64 / dt,
            (recv - last.2) as f64 / dt,
            p99,
            errors,
        );
        last = (now, sent, recv);
        if let Some(h) = cfg.hub_pid.and_then(|p| proc_stats::read(Some(p))) {
            hub_peak_rss = hub_peak_rss.max(h.rss_bytes);
        }
        if let Some(p) = scrape(&api, cfg.relay).await {
            queue_max = f64::max(queue_max, p.writer_queue_depth);
        }
    }
    let measured_s = measure_start.elapsed().as_secs_f64();
    let hub_after = cfg.hub_pid.and_then(|p| proc_stats::read(Some(p)));
    let self_after = proc_stats::read(None);
    let machine_after = proc_stats::read_machine();
    let sent_in =
        Counters::get(&c.samples_sent) - sent0 + Counters::get(&c.samples_replayed) - replay0;
    let recv_out = Counters::get(&c.samples_received) - recv0;

    // ---- stop: flush every agent, let the last frames arrive ---------------------
    progress.step("stopping: waiting for the last acks");
    let _ = phase_tx.send(Phase::Stop);
    for t in agent_tasks {
        let _ = t.await;
    }
    progress.step("stopping: waiting for the last live frames");
    let quiet_start = Instant::now();
    let mut seen = Counters::get(&c.frames_received);
    let mut quiet_since = Instant::now();
    while quiet_start.elapsed() < QUIET_MAX && !dash_tasks.is_empty() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = Counters::get(&c.frames_received);
        if now != seen {
            seen = now;
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= QUIET {
            break;
        }
    }
    shared.measuring.store(false, Ordering::Relaxed);
    let _ = finish_tx.send(true);
    let mut outcomes = Vec::new();
    for t in dash_tasks {
        if let Ok(o) = t.await {
            outcomes.push(o);
        }
    }
    let prom_after = scrape(&api, cfg.relay).await;

    // ---- verification ------------------------------------------------------------
    progress.step("verifying storage");
    let generated: u64 = shared
        .tracks
        .iter()
        .map(|t| t.last_seq.load(Ordering::Relaxed))
        .sum();
    let acked: u64 = shared
        .tracks
        .iter()
        .map(|t| t.acked.load(Ordering::Relaxed))
        .sum();
    let (latest_checked, latest_behind) = if runs_agents && !cfg.relay {
        verify_latest(&api, &plan, agent_range.clone(), &shared).await
    } else {
        (0, 0)
    };
    let persisted = match (&prom_base, &prom_after) {
        (Some(b), Some(a)) => Some((a.samples_persisted - b.samples_persisted).max(0.0) as u64),
        _ => None,
    };
    // The hub's counter is global: it proves this process's samples only when this
    // process is the hub's only source.
    let storage_missing = match (cfg.role, persisted) {
        (Role::Both, Some(p)) if runs_agents => Some(generated.saturating_sub(p)),
        _ => None,
    };
    let (live_expected, live_missing) = live_loss(&outcomes, &shared);
    progress.finish();

    let latency = shared
        .latency
        .lock()
        .map(|h| LatencySummary::of(&h))
        .unwrap_or_default();
    let msgs = (sent_in + recv_out) as f64;
    let usage = |before: Option<proc_stats::ProcSnapshot>,
                 after: Option<proc_stats::ProcSnapshot>,
                 peak: u64| {
        let (b, a) = (before?, after?);
        let cpu_s = (a.cpu_s - b.cpu_s).max(0.0);
        Some(ProcUsage {
            cpu_pct: proc_stats::cpu_pct(&b, &a),
            cpu_us_per_msg: (msgs > 0.0).then(|| 1e6 * cpu_s / msgs),
            rss_mb: mb(a.rss_bytes),
            peak_rss_mb: mb(peak.max(a.rss_bytes)),
        })
    };
    let hub_metrics = match (&prom_before, &prom_after) {
        (Some(b), Some(a)) => Some(HubSide {
            fanout_p50_ms: hub_ms(b, a, |s| &s.fanout_buckets, 0.5),
            fanout_p99_ms: hub_ms(b, a, |s| &s.fanout_buckets, 0.99),
            outbox_wait_p50_ms: hub_ms(b, a, |s| &s.outbox_buckets, 0.5),
            outbox_wait_p99_ms: hub_ms(b, a, |s| &s.outbox_buckets, 0.99),
            sample_age_p50_ms: hub_ms(b, a, |s| &s.sample_age_buckets, 0.5),
            sample_age_p99_ms: hub_ms(b, a, |s| &s.sample_age_buckets, 0.99),
            writer_flush_mean_ms: {
                let n = a.writer_flush_count - b.writer_flush_count;
                (n > 0.0).then(|| 1000.0 * (a.writer_flush_sum_s - b.writer_flush_sum_s) / n)
            },
            writer_queue_depth_max: f64::max(queue_max, a.writer_queue_depth),
            samples_rejected: a.samples_rejected - b.samples_rejected,
        }),
        _ => None,
    };
    let frac = |m: u64, of: u64| if of == 0 { 0.0 } else { m as f64 / of as f64 };
    let mut report = Report {
        run: run_info(&cfg, &plan, slow_count, ramp_s, measured_s, interrupted),
        samples: Samples {
            generated,
            sent_live: Counters::get(&c.samples_sent),
            replayed: Counters::get(&c.samples_replayed),
            acked,
            persisted,
            received: Counters::get(&c.samples_received),
            duplicates: Counters::get(&c.duplicates),
        },
        loss: Loss {
            live_expected,
            live_missing,
            live_fraction: frac(live_missing, live_expected),
            storage_missing,
            storage_fraction: storage_missing.map(|m| frac(m, generated)),
            unacked_at_end: generated.saturating_sub(acked),
            latest_checked,
            latest_behind,
        },
        latency,
        throughput: Throughput {
            in_per_s: sent_in as f64 / measured_s.max(1e-3),
            out_per_s: recv_out as f64 / measured_s.max(1e-3),
        },
        connections: Connections {
            agent_connects: Counters::get(&c.agent_connects),
            agent_connect_errors: Counters::get(&c.agent_connect_errors),
            agent_disconnects: Counters::get(&c.agent_disconnects),
            outages: Counters::get(&c.outages),
            agents_failed: (n_agents - agents_up.load(Ordering::Relaxed).min(n_agents)) as u64,
            dashboard_connects: Counters::get(&c.dashboard_connects),
            dashboard_errors: Counters::get(&c.dashboard_errors),
            dashboards_failed: outcomes.iter().filter(|o| !o.subscribed).count() as u64,
            hub_errors: Counters::get(&c.hub_errors),
            http_errors: Counters::get(&c.http_errors),
        },
        lagged: Lagged {
            notices: Counters::get(&c.lagged_notices),
            dropped: Counters::get(&c.lagged_dropped),
            hub_frames_dropped: match (&prom_base, &prom_after) {
                (Some(b), Some(a)) => Some((a.frames_dropped - b.frames_dropped).max(0.0) as u64),
                _ => None,
            },
        },
        hub_process: usage(hub_before, hub_after, hub_peak_rss),
        loadgen_process: usage(
            self_before,
            self_after,
            self_after.map_or(0, |s| s.peak_rss_bytes),
        ),
        hub_metrics,
        other_cpu_pct: None,
        cores: machine_after.map(|m| m.cores),
        breaches: Vec::new(),
    };
    if let (Some(b), Some(a)) = (machine_before, machine_after) {
        let ours = report.hub_process.as_ref().map_or(0.0, |p| p.cpu_pct)
            + report.loadgen_process.as_ref().map_or(0.0, |p| p.cpu_pct);
        report.other_cpu_pct = Some((proc_stats::machine_busy_pct(&b, &a) - ours).max(0.0));
    }
    report.check(cfg.max_p99_ms, cfg.max_loss);
    Ok(report)
}

fn run_info(
    cfg: &Config,
    plan: &Plan,
    slow: usize,
    ramp_s: f64,
    measured_s: f64,
    interrupted: bool,
) -> RunInfo {
    RunInfo {
        hub: cfg.hub.clone(),
        scenario: name(&cfg.scenario),
        transport: name(&cfg.transport),
        role: name(&cfg.role),
        agents: if cfg.role == Role::Dashboards {
            0
        } else {
            cfg.agents
                .min(plan.machines.len().saturating_sub(cfg.agent_offset))
        },
        dashboards: if cfg.role == Role::Agents {
            0
        } else {
            cfg.dashboards
        },
        slow_dashboards: slow,
        users: plan.users.len(),
        watch: cfg.watch,
        interval_ms: cfg.interval.as_millis() as u64,
        rules_per_machine: cfg.rules_per_machine,
        relay: cfg.relay,
        ramp_s,
        measured_s,
        interrupted,
    }
}

/// The kebab-case name a value enum has on the command line.
fn name<T: clap::ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_owned())
        .unwrap_or_default()
}

/// Live loss over the healthy dashboards: expected are the samples the hub confirmed
/// live for each watched machine; without the agents in this process, gaps in each
/// machine's received seqs.
fn live_loss(outcomes: &[DashboardOutcome], shared: &Shared) -> (u64, u64) {
    let published: Vec<SeqSet> = shared
        .tracks
        .iter()
        .map(|t| t.published.lock().map(|s| s.clone()).unwrap_or_default())
        .collect();
    let mut expected = 0;
    let mut missing = 0;
    for o in outcomes.iter().filter(|o| o.subscribed && !o.slow) {
        for (watched, got) in &o.received {
            match watched.track.and_then(|t| published.get(t)) {
                Some(p) => {
                    expected += p.len();
                    missing += p.missing_from(got);
                }
                None => {
                    expected += got.len() + got.gaps();
                    missing += got.gaps();
                }
            }
        }
    }
    (expected, missing)
}

async fn wait_for(
    progress: &Progress,
    what: &str,
    want: usize,
    ok: &AtomicUsize,
    failed: &AtomicUsize,
    timeout: Duration,
) {
    let started = Instant::now();
    loop {
        let (o, f) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
        progress.step(&format!(
            "{what}: {o}/{want}{}",
            if f > 0 {
                format!(" ({f} failed)")
            } else {
                String::new()
            }
        ));
        if o + f >= want {
            return;
        }
        if started.elapsed() > timeout {
            tracing::warn!(
                what,
                ok = o,
                failed = f,
                want,
                "gave up waiting for connections"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The hub's `/metrics`; `None` when it cannot be read (and always for the relay).
async fn scrape(api: &Api, relay: bool) -> Option<prom::HubSnapshot> {
    if relay {
        return None;
    }
    api.prometheus().await.ok().map(|t| prom::parse(&t))
}

/// A quantile of one of the hub's histograms over the run, in milliseconds.
fn hub_ms(
    before: &prom::HubSnapshot,
    after: &prom::HubSnapshot,
    buckets: fn(&prom::HubSnapshot) -> &[(f64, f64)],
    q: f64,
) -> Option<f64> {
    prom::quantile(before, after, buckets, q).map(|s| s * 1000.0)
}

/// Reads every simulated machine's latest stored sample as its owner: it must be at
/// least as new as the agent's last acknowledged seq.
async fn verify_latest(
    api: &Api,
    plan: &Plan,
    range: std::ops::Range<usize>,
    shared: &Shared,
) -> (u64, u64) {
    let checks: Vec<(bool, bool)> = stream::iter(range.enumerate())
        .map(|(i, p)| {
            let m = &plan.machines[p];
            let session = plan.users.get(m.user).map(|u| u.session.clone()).unwrap_or_default();
            let acked = shared.tracks[i].acked.load(Ordering::Relaxed);
            async move {
                match api.latest(&session, m.id).await {
                    Ok(l) => {
                        let seq = l.sample.map_or(0, |s| s.seq);
                        (true, seq < acked)
                    }
                    Err(e) => {
                        tracing::warn!(machine_id = m.id, error = %e, "could not read the latest sample");
                        (false, false)
                    }
                }
            }
        })
        .buffer_unordered(VERIFY_CONCURRENCY)
        .collect()
        .await;
    (
        checks.iter().filter(|c| c.0).count() as u64,
        checks.iter().filter(|c| c.1).count() as u64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(slow: bool, track: Option<usize>, seqs: &[u64]) -> DashboardOutcome {
        let mut got = SeqSet::default();
        for s in seqs {
            got.insert(*s);
        }
        DashboardOutcome {
            slow,
            subscribed: true,
            received: vec![(
                Watched {
                    machine_id: 1,
                    track,
                },
                got,
            )],
            ..DashboardOutcome::default()
        }
    }

    /// Live loss counts confirmed samples a healthy dashboard missed, ignores stalled
    /// dashboards, and falls back to sequence gaps without a local agent.
    #[test]
    fn live_loss_by_seq() {
        let shared = Shared::new(1);
        {
            let mut p = shared.tracks[0].published.lock().unwrap();
            for s in 1..=10 {
                p.insert(s);
            }
        }
        let all: Vec<u64> = (1..=10).collect();
        let outcomes = vec![
            outcome(false, Some(0), &all),
            outcome(false, Some(0), &[1, 2, 4, 5, 6, 7, 8, 9, 10, 11]),
            outcome(true, Some(0), &[1]),
        ];
        assert_eq!(live_loss(&outcomes, &shared), (20, 1));
        let remote = vec![outcome(false, None, &[5, 6, 8, 9])];
        assert_eq!(live_loss(&remote, &shared), (5, 1));
    }
}
