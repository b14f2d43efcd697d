//! The result of a run: the [`Report`] (serialised for `--json`), its human table, and
//! the threshold checks behind the exit code.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::metrics::LatencySummary;

/// What was simulated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub hub: String,
    pub scenario: String,
    pub transport: String,
    pub role: String,
    pub agents: usize,
    pub dashboards: usize,
    pub slow_dashboards: usize,
    pub users: usize,
    pub watch: usize,
    pub interval_ms: u64,
    /// Alert rules per machine created for the run.
    #[serde(default)]
    pub rules_per_machine: u16,
    /// The target was the bare relay, not a hub (`--relay`).
    #[serde(default)]
    pub relay: bool,
    /// Time spent opening connections before the measured time.
    pub ramp_s: f64,
    /// The measured time as it actually lasted.
    pub measured_s: f64,
    pub interrupted: bool,
}

/// Sample counts over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    /// Samples the agents generated.
    pub generated: u64,
    /// Samples sent live (one `sample` frame or request each).
    pub sent_live: u64,
    /// Samples sent again in `batch` frames after a reconnect.
    pub replayed: u64,
    /// Samples the hub acknowledged as committed.
    pub acked: u64,
    /// New rows the hub reports persisted during the run (`/metrics`), if readable.
    pub persisted: Option<u64>,
    /// Live `sample` frames dashboards received (first copy of each).
    pub received: u64,
    /// Frames received again (after a reconnect the newest sample is shown again).
    pub duplicates: u64,
}

/// Loss, live and in storage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Loss {
    /// (dashboard, sample) pairs that had to arrive: samples the hub confirmed live,
    /// times the healthy dashboards watching their machine.
    pub live_expected: u64,
    /// Of those, never received.
    pub live_missing: u64,
    pub live_fraction: f64,
    /// Generated samples the hub did not report persisted (`None`: not checkable here).
    pub storage_missing: Option<u64>,
    pub storage_fraction: Option<f64>,
    /// Samples still unacknowledged when the run gave up waiting.
    pub unacked_at_end: u64,
    /// Machines whose latest stored sample was read back through the API.
    pub latest_checked: u64,
    /// Of those, machines whose stored latest sample is older than their last ack.
    pub latest_behind: u64,
}

/// Messages per second during the measured time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Samples into the hub.
    pub in_per_s: f64,
    /// Live sample frames out of the hub to dashboards.
    pub out_per_s: f64,
}

/// Connection events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Connections {
    pub agent_connects: u64,
    pub agent_connect_errors: u64,
    /// Agent connections the hub (or the network) ended.
    pub agent_disconnects: u64,
    /// Agent connections the scenario cut on purpose.
    pub outages: u64,
    /// Agents that never connected.
    pub agents_failed: u64,
    pub dashboard_connects: u64,
    pub dashboard_errors: u64,
    /// Dashboards that never got their subscription confirmed.
    pub dashboards_failed: u64,
    /// `error` frames from the hub on agent links.
    pub hub_errors: u64,
    pub http_errors: u64,
}

/// Slow-consumer handling.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lagged {
    /// `lagged` notices received (by stalled dashboards, when they read again).
    pub notices: u64,
    pub dropped: u64,
    /// Frames the hub dropped for slow browsers (`/metrics`).
    pub hub_frames_dropped: Option<u64>,
}

/// CPU and memory of a process during the measured time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcUsage {
    /// Percent of one core.
    pub cpu_pct: f64,
    /// CPU time per message in and out, in microseconds.
    pub cpu_us_per_msg: Option<f64>,
    /// Resident memory at the end of the measured time.
    pub rss_mb: f64,
    /// Highest resident memory seen.
    pub peak_rss_mb: f64,
}

/// Figures the hub reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HubSide {
    /// Hub-internal fan-out latency (arrival → hand-off to a browser session),
    /// bucket upper bounds.
    pub fanout_p50_ms: Option<f64>,
    pub fanout_p99_ms: Option<f64>,
    /// From a live frame's hand-off to a browser session until its socket write.
    #[serde(default)]
    pub outbox_wait_p50_ms: Option<f64>,
    #[serde(default)]
    pub outbox_wait_p99_ms: Option<f64>,
    /// Age of live samples (hub clock minus `ts`) once written to a browser socket: the
    /// hub's share of the agent→browser latency, loadgen's sending included.
    #[serde(default)]
    pub sample_age_p50_ms: Option<f64>,
    #[serde(default)]
    pub sample_age_p99_ms: Option<f64>,
    pub writer_flush_mean_ms: Option<f64>,
    pub writer_queue_depth_max: f64,
    pub samples_rejected: f64,
}

/// Everything a run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub run: RunInfo,
    pub samples: Samples,
    pub loss: Loss,
    /// Agent send → dashboard receive, healthy dashboards, measured time.
    pub latency: LatencySummary,
    pub throughput: Throughput,
    pub connections: Connections,
    pub lagged: Lagged,
    /// The hub process (`--hub-pid`), if it was measured.
    pub hub_process: Option<ProcUsage>,
    pub loadgen_process: Option<ProcUsage>,
    pub hub_metrics: Option<HubSide>,
    /// CPU used on this machine by everything else (neither the hub nor this loadgen)
    /// during the measured time, in percent of one core: other load skews the figures.
    pub other_cpu_pct: Option<f64>,
    /// Cores of this machine.
    pub cores: Option<usize>,
    /// Thresholds the run broke; empty when it passed.
    pub breaches: Vec<String>,
}

impl Report {
    /// Fills [`Report::breaches`] from the thresholds; true when the run passed.
    pub fn check(&mut self, max_p99_ms: Option<f64>, max_loss: Option<f64>) -> bool {
        self.breaches.clear();
        if let Some(limit) = max_p99_ms {
            if self.latency.count == 0 && self.run.dashboards > 0 {
                self.breaches
                    .push("latency: no sample reached a dashboard".into());
            } else if self.latency.p99_ms > limit {
                self.breaches.push(format!(
                    "latency: p99 {:.2} ms > {limit} ms",
                    self.latency.p99_ms
                ));
            }
        }
        if let Some(limit) = max_loss {
            if self.loss.live_fraction > limit {
                self.breaches.push(format!(
                    "live loss: {} of {} ({:.4} %) > {:.4} %",
                    self.loss.live_missing,
                    self.loss.live_expected,
                    100.0 * self.loss.live_fraction,
                    100.0 * limit
                ));
            }
            if let Some(f) = self.loss.storage_fraction
                && f > limit
            {
                self.breaches.push(format!(
                    "storage loss: {} of {} generated samples not persisted ({:.4} %) > {:.4} %",
                    self.loss.storage_missing.unwrap_or(0),
                    self.samples.generated,
                    100.0 * f,
                    100.0 * limit
                ));
            }
            if self.loss.latest_behind > 0 {
                self.breaches.push(format!(
                    "storage: {} machines' latest stored sample is older than their last ack",
                    self.loss.latest_behind
                ));
            }
            let failed = self.connections.agents_failed + self.connections.dashboards_failed;
            if failed > 0 {
                self.breaches.push(format!(
                    "connections: {failed} agents or dashboards never connected"
                ));
            }
        }
        self.breaches.is_empty()
    }

    /// The human table.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let r = &self.run;
        let _ = writeln!(
            o,
            "lunasentri-loadgen: {} agents ({} over {}{}), {} dashboards ({} slow) of {} users watching {} each, every {} ms",
            r.agents,
            r.transport,
            if r.relay { "the bare relay at " } else { "" },
            r.hub,
            r.dashboards,
            r.slow_dashboards,
            r.users,
            if r.watch == 0 {
                "all".to_owned()
            } else {
                r.watch.to_string()
            },
            r.interval_ms
        );
        let _ = writeln!(
            o,
            "scenario {}, role {}, ramp {:.1} s, measured {:.1} s{}",
            r.scenario,
            r.role,
            r.ramp_s,
            r.measured_s,
            if r.interrupted { " (interrupted)" } else { "" }
        );
        let row = |o: &mut String, k: &str, v: String| {
            let _ = writeln!(o, "  {k:<22} {v}");
        };
        let _ = writeln!(o);
        let l = &self.latency;
        row(
            &mut o,
            "latency (ms)",
            format!(
                "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  ({} samples)",
                l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, l.count
            ),
        );
        row(
            &mut o,
            "throughput (msg/s)",
            format!(
                "in {:.0}  out {:.0}",
                self.throughput.in_per_s, self.throughput.out_per_s
            ),
        );
        let s = &self.samples;
        row(
            &mut o,
            "samples",
            format!(
                "generated {}  sent live {}  replayed {}  acked {}  persisted {}  received {}  duplicates {}",
                s.generated,
                s.sent_live,
                s.replayed,
                s.acked,
                opt(s.persisted),
                s.received,
                s.duplicates
            ),
        );
        let x = &self.loss;
        row(
            &mut o,
            "live loss",
            format!(
                "{} of {} ({:.4} %)",
                x.live_missing,
                x.live_expected,
                100.0 * x.live_fraction
            ),
        );
        row(
            &mut o,
            "storage loss",
            match (x.storage_missing, x.storage_fraction) {
                (Some(m), Some(f)) => format!(
                    "{m} of {} generated ({:.4} %); unacked at end {}; latest behind ack {} of {}",
                    s.generated,
                    100.0 * f,
                    x.unacked_at_end,
                    x.latest_behind,
                    x.latest_checked
                ),
                _ if r.relay => format!(
                    "none stored (bare relay); unacked at end {}",
                    x.unacked_at_end
                ),
                _ => format!(
                    "not checked globally; unacked at end {}; latest behind ack {} of {}",
                    x.unacked_at_end, x.latest_behind, x.latest_checked
                ),
            },
        );
        let c = &self.connections;
        row(
            &mut o,
            "agent connections",
            format!(
                "{} opened, {} errors, {} ended by hub, {} cut by scenario, {} never up",
                c.agent_connects,
                c.agent_connect_errors,
                c.agent_disconnects,
                c.outages,
                c.agents_failed
            ),
        );
        row(
            &mut o,
            "dashboard connections",
            format!(
                "{} opened, {} errors, {} never subscribed; hub errors {}, HTTP errors {}",
                c.dashboard_connects,
                c.dashboard_errors,
                c.dashboards_failed,
                c.hub_errors,
                c.http_errors
            ),
        );
        row(
            &mut o,
            "lagged",
            format!(
                "{} notices, {} frames dropped (hub counted {})",
                self.lagged.notices,
                self.lagged.dropped,
                opt(self.lagged.hub_frames_dropped)
            ),
        );
        for (name, p) in [
            (
                if r.relay {
                    "relay process"
                } else {
                    "hub process"
                },
                &self.hub_process,
            ),
            ("loadgen process", &self.loadgen_process),
        ] {
            match p {
                Some(p) => row(
                    &mut o,
                    name,
                    format!(
                        "CPU {:.1} % of one core{}, RSS {:.0} MB (peak {:.0} MB)",
                        p.cpu_pct,
                        p.cpu_us_per_msg
                            .map(|u| format!(" ({u:.1} µs per message)"))
                            .unwrap_or_default(),
                        p.rss_mb,
                        p.peak_rss_mb
                    ),
                ),
                None => row(&mut o, name, "not measured (pass --hub-pid)".into()),
            }
        }
        if let (Some(other), Some(cores)) = (self.other_cpu_pct, self.cores) {
            row(
                &mut o,
                "other load",
                format!("{other:.1} % of one core used by other processes ({cores} cores)"),
            );
        }
        if let Some(h) = &self.hub_metrics {
            row(
                &mut o,
                "hub metrics",
                format!(
                    "fan-out p50 ≤ {} ms, p99 ≤ {} ms; outbox wait p50 ≤ {} ms, p99 ≤ {} ms; sample age at write p50 ≤ {} ms, p99 ≤ {} ms; writer flush mean {} ms; queue max {:.0}; rejected {:.0}",
                    optf(h.fanout_p50_ms),
                    optf(h.fanout_p99_ms),
                    optf(h.outbox_wait_p50_ms),
                    optf(h.outbox_wait_p99_ms),
                    optf(h.sample_age_p50_ms),
                    optf(h.sample_age_p99_ms),
                    optf(h.writer_flush_mean_ms),
                    h.writer_queue_depth_max,
                    h.samples_rejected
                ),
            );
            if let Some(note) = self.after_hub_note(h) {
                row(&mut o, "where it went", note);
            }
        }
        let _ = writeln!(o);
        if self.breaches.is_empty() {
            let _ = writeln!(o, "result: PASS");
        } else {
            let _ = writeln!(o, "result: FAIL");
            for b in &self.breaches {
                let _ = writeln!(o, "  - {b}");
            }
        }
        o
    }
}

fn opt(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "n/a".into())
}

impl Report {
    /// When most of the median latency passed after the hub's socket write (the sample
    /// age the hub reports is a bucket bound, so "most" means under half), says so:
    /// the limit was then the network or this process, not the hub.
    fn after_hub_note(&self, h: &HubSide) -> Option<String> {
        let at_write = h.sample_age_p50_ms?;
        let total = self.latency.p50_ms;
        (self.latency.count > 0 && at_write < total / 2.0).then(|| {
            let own = self
                .loadgen_process
                .as_ref()
                .map(|p| format!(" (loadgen used {:.1} % of one core)", p.cpu_pct))
                .unwrap_or_default();
            format!(
                "at the median a sample was ≤ {at_write:.0} ms old when the hub wrote it, of {total:.2} ms end to end: the rest passed in the network and in loadgen{own}; run loadgen on another machine to measure the hub alone"
            )
        })
    }
}

fn optf(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "n/a".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_report() -> Report {
        Report {
            run: RunInfo {
                hub: "http://127.0.0.1:8080".into(),
                scenario: "steady".into(),
                transport: "ws".into(),
                role: "both".into(),
                agents: 100,
                dashboards: 10,
                users: 1,
                watch: 10,
                interval_ms: 1000,
                measured_s: 30.0,
                ..RunInfo::default()
            },
            samples: Samples {
                generated: 3000,
                sent_live: 3000,
                acked: 3000,
                persisted: Some(3000),
                received: 3000,
                ..Samples::default()
            },
            loss: Loss {
                live_expected: 3000,
                storage_missing: Some(0),
                storage_fraction: Some(0.0),
                latest_checked: 100,
                ..Loss::default()
            },
            latency: LatencySummary {
                count: 3000,
                p50_ms: 0.8,
                p90_ms: 1.2,
                p99_ms: 4.5,
                p999_ms: 9.0,
                max_ms: 12.0,
                mean_ms: 0.9,
            },
            hub_process: Some(ProcUsage {
                cpu_pct: 12.5,
                cpu_us_per_msg: Some(20.8),
                rss_mb: 40.0,
                peak_rss_mb: 42.0,
            }),
            ..Report::default()
        }
    }

    /// A clean run passes the thresholds and its table shows the key figures.
    #[test]
    fn passing_report_renders() {
        let mut r = sample_report();
        assert!(r.check(Some(10.0), Some(0.0)));
        let t = r.render();
        assert!(t.contains("p99 4.50"), "{t}");
        assert!(t.contains("0 of 3000"), "{t}");
        assert!(
            t.contains("CPU 12.5 % of one core (20.8 µs per message)"),
            "{t}"
        );
        assert!(t.contains("loadgen process        not measured"), "{t}");
        assert!(t.ends_with("result: PASS\n"), "{t}");
    }

    /// The report says when most of the median latency passed after the hub's write.
    #[test]
    fn latency_after_the_hub_is_pointed_out() {
        let mut r = sample_report();
        r.latency.p50_ms = 15.5;
        r.hub_metrics = Some(HubSide {
            sample_age_p50_ms: Some(4.0),
            ..HubSide::default()
        });
        let t = r.render();
        assert!(
            t.contains("≤ 4 ms old when the hub wrote it, of 15.50 ms end to end"),
            "{t}"
        );
        // Mostly the hub's own time: nothing to point out.
        r.latency.p50_ms = 5.0;
        assert!(!r.render().contains("where it went"));
    }

    /// Latency and loss beyond the limits fail the run, each breach named.
    #[test]
    fn breaches_are_named() {
        let mut r = sample_report();
        r.loss.live_missing = 3;
        r.loss.live_fraction = 0.001;
        r.loss.storage_missing = Some(1);
        r.loss.storage_fraction = Some(1.0 / 3000.0);
        assert!(!r.check(Some(2.0), Some(0.0)));
        assert_eq!(r.breaches.len(), 3, "{:?}", r.breaches);
        assert!(r.breaches[0].starts_with("latency: p99 4.50 ms > 2 ms"));
        assert!(r.render().contains("result: FAIL"));
        // No thresholds, no breaches.
        assert!(r.check(None, None));
    }

    /// The JSON report round-trips and names its sections.
    #[test]
    fn json_round_trips() {
        let r = sample_report();
        let text = serde_json::to_string(&r).unwrap();
        for key in [
            "\"latency\"",
            "\"p99_ms\"",
            "\"loss\"",
            "\"hub_process\"",
            "\"breaches\"",
        ] {
            assert!(text.contains(key), "{key} in {text}");
        }
        assert_eq!(serde_json::from_str::<Report>(&text).unwrap(), r);
    }
}
