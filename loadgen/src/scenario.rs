//! Scenarios: the phases of a run and, per scenario, which agents lose their connection
//! when ([`outages`]) and which dashboards stop reading ([`is_slow`]). Everything is
//! drawn up front from the seed, so a run can be repeated exactly.

use std::time::{Duration, Instant};

use crate::config::{Config, Scenario};
use crate::sample::Rng;

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connections are being opened.
    Ramp,
    /// Every connection is up; the measured time started at this instant.
    Measure(Instant),
    /// The measured time is over: agents stop sampling and flush what is unacknowledged.
    Stop,
}

/// An agent loses the hub `at` after the measured time starts, for `down`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    pub at: Duration,
    pub down: Duration,
}

/// Shortest and longest time a churning agent stays away.
const CHURN_DOWN: (f64, f64) = (1.0, 5.0);

/// The outages of agent `index` in this run, in order.
pub fn outages(cfg: &Config, index: usize) -> Vec<Outage> {
    let d = cfg.duration.as_secs_f64();
    match cfg.scenario {
        Scenario::Steady | Scenario::SlowDashboard => Vec::new(),
        Scenario::Burst => vec![Outage {
            at: Duration::from_secs_f64(d / 3.0),
            down: cfg.outage,
        }],
        Scenario::Churn => {
            let rate = cfg.churn_rate.max(0.0);
            if rate == 0.0 {
                return Vec::new();
            }
            let mut rng = Rng::new(cfg.seed ^ 0xC4_u64.wrapping_mul(index as u64 + 1));
            let mut out = Vec::new();
            let mut t = 0.0;
            loop {
                // Exponential gaps: each agent drops as a Poisson process of `rate`/s.
                t += -(1.0 - rng.unit()).ln() / rate;
                if t >= d - 1.0 {
                    break;
                }
                let down = rng.range(CHURN_DOWN.0, CHURN_DOWN.1);
                out.push(Outage {
                    at: Duration::from_secs_f64(t),
                    down: Duration::from_secs_f64(down),
                });
                t += down;
            }
            out
        }
    }
}

/// Whether dashboard `index` of `total` stops reading (slow-dashboard scenario): every
/// n-th one, so slow sessions are spread over users.
pub fn is_slow(cfg: &Config, index: usize, total: usize) -> bool {
    if cfg.scenario != Scenario::SlowDashboard || total == 0 || cfg.slow_fraction <= 0.0 {
        return false;
    }
    let before = (index as f64 * cfg.slow_fraction).floor();
    let after = ((index + 1) as f64 * cfg.slow_fraction).floor();
    after > before
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(scenario: Scenario) -> Config {
        Config {
            scenario,
            duration: Duration::from_secs(60),
            churn_rate: 0.05,
            ..Config::default()
        }
    }

    /// Steady runs have no outages; burst has one shared outage a third of the way in.
    #[test]
    fn steady_and_burst() {
        assert!(outages(&cfg(Scenario::Steady), 3).is_empty());
        let b = outages(&cfg(Scenario::Burst), 3);
        assert_eq!(b, outages(&cfg(Scenario::Burst), 99));
        assert_eq!(b[0].at, Duration::from_secs(20));
    }

    /// Churn draws about `rate × duration` outages per agent, inside the measured time,
    /// never overlapping, the same for the same seed.
    #[test]
    fn churn_is_poisson_and_repeatable() {
        let c = cfg(Scenario::Churn);
        let total: usize = (0..1000).map(|i| outages(&c, i).len()).sum();
        // 0.05/s × ~(60 s − time spent down) ≈ 2.5 per agent.
        assert!((1500..3500).contains(&total), "{total}");
        for i in 0..50 {
            let o = outages(&c, i);
            assert_eq!(o, outages(&c, i));
            for w in o.windows(2) {
                assert!(w[0].at + w[0].down <= w[1].at);
            }
            assert!(o.iter().all(|x| x.at < Duration::from_secs(59)));
        }
    }

    /// The slow fraction picks that share of dashboards, spread out.
    #[test]
    fn slow_dashboards_are_spread() {
        let c = Config {
            slow_fraction: 0.1,
            ..cfg(Scenario::SlowDashboard)
        };
        let slow: Vec<_> = (0..100).filter(|i| is_slow(&c, *i, 100)).collect();
        assert_eq!(slow.len(), 10);
        assert_eq!(slow[0], 9);
        assert!(!is_slow(&cfg(Scenario::Steady), 9, 100));
    }
}
