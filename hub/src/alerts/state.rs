//! The state machine of one rule on one machine: `ok → pending → firing → ok`, with
//! for-duration, hysteresis, repeat, acknowledgement and quiet hours. Pure: time comes
//! in as an argument, effects go out as [`Action`]s.

use super::rule::Rule;

/// Where a rule stands on a machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    Ok,
    /// The condition holds since `since` but not yet for the rule's for-duration.
    Pending {
        since: i64,
    },
    /// An alert is open.
    Firing {
        since: i64,
        /// When the last notification went out; `None` while it waits for quiet hours.
        notified_at: Option<i64>,
        /// Acknowledged alerts are not repeated.
        acknowledged: bool,
    },
}

/// One observation of the rule's condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    /// The firing condition holds (with the value, `None` for `offline`).
    Breached(Option<f64>),
    /// The value is back past the clear threshold (or the machine is back online).
    Cleared(Option<f64>),
    /// Between the thresholds: an open alert stays open, a pending one starts over.
    Between(Option<f64>),
}

impl Observation {
    /// Classifies a value against a rule's thresholds.
    pub fn of(rule: &Rule, v: f64) -> Self {
        if rule.breached(v) {
            Self::Breached(Some(v))
        } else if rule.cleared(v) {
            Self::Cleared(Some(v))
        } else {
            Self::Between(Some(v))
        }
    }
}

/// What the engine asks the dispatcher to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Open an alert; notify unless quiet hours defer it.
    Fire { value: Option<f64>, notify: bool },
    /// Send the firing notification that quiet hours deferred.
    NotifyFiring,
    /// Repeat the notification of a still-firing alert.
    Repeat,
    /// Close the alert; notify if its firing was notified and it is not quiet.
    Resolve { value: Option<f64>, notify: bool },
}

impl Phase {
    /// Applies an observation at `now` and then the passage of time.
    pub fn observe(&mut self, rule: &Rule, obs: Observation, now: i64, out: &mut Vec<Action>) {
        match (*self, obs) {
            (Phase::Ok, Observation::Breached(_)) => *self = Phase::Pending { since: now },
            (Phase::Pending { .. }, Observation::Cleared(_) | Observation::Between(_)) => {
                *self = Phase::Ok
            }
            (Phase::Firing { notified_at, .. }, Observation::Cleared(value)) => {
                *self = Phase::Ok;
                let notify = notified_at.is_some() && !rule.is_quiet(now);
                out.push(Action::Resolve { value, notify });
                return;
            }
            _ => {}
        }
        let value = match obs {
            Observation::Breached(v) | Observation::Cleared(v) | Observation::Between(v) => v,
        };
        self.advance(rule, value, now, out);
    }

    /// Time-driven transitions: the for-duration elapsing, deferred and repeated
    /// notifications. `value` is the latest value, reported if the alert fires now.
    pub fn advance(&mut self, rule: &Rule, value: Option<f64>, now: i64, out: &mut Vec<Action>) {
        let quiet = rule.is_quiet(now);
        match *self {
            Phase::Pending { since } if now - since >= rule.for_ms => {
                *self = Phase::Firing {
                    since: now,
                    notified_at: (!quiet).then_some(now),
                    acknowledged: false,
                };
                out.push(Action::Fire {
                    value,
                    notify: !quiet,
                });
            }
            Phase::Firing {
                since,
                notified_at,
                acknowledged,
            } if !quiet && !acknowledged => {
                let due = match (notified_at, rule.repeat_ms) {
                    (None, _) => Some(Action::NotifyFiring),
                    (Some(t), Some(every)) if now - t >= every => Some(Action::Repeat),
                    _ => None,
                };
                if let Some(a) = due {
                    *self = Phase::Firing {
                        since,
                        notified_at: Some(now),
                        acknowledged,
                    };
                    out.push(a);
                }
            }
            _ => {}
        }
    }

    /// Marks an open alert acknowledged (no more repeats).
    pub fn acknowledge(&mut self) {
        if let Phase::Firing { acknowledged, .. } = self {
            *acknowledged = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rule::{Metric, parse_hhmm};
    use lunasentri_schema::alert::{Comparator, Severity};

    const S: i64 = 1000;

    fn rule(for_s: i64, repeat_s: Option<i64>) -> Rule {
        Rule {
            id: 1,
            user_id: 1,
            name: "cpu".into(),
            metric_name: "cpu_pct".into(),
            metric: Metric::Scalar(0),
            comparator: Comparator::Gt,
            threshold: 90.0,
            clear_threshold: 80.0,
            for_ms: for_s * S,
            repeat_ms: repeat_s.map(|r| r * S),
            severity: Severity::Critical,
            quiet: None,
            channel_ids: vec![],
        }
    }

    /// Feeds `(second, value)` observations and collects every action with its time.
    fn run(rule: &Rule, phase: &mut Phase, feed: &[(i64, f64)]) -> Vec<(i64, Action)> {
        let mut all = Vec::new();
        for &(t, v) in feed {
            let mut out = Vec::new();
            phase.observe(rule, Observation::of(rule, v), t * S, &mut out);
            all.extend(out.into_iter().map(|a| (t, a)));
        }
        all
    }

    /// The condition must hold for the whole for-duration; a dip starts it over.
    #[test]
    fn for_duration() {
        let r = rule(30, None);
        let mut p = Phase::Ok;
        let acts = run(
            &r,
            &mut p,
            &[(0, 95.0), (20, 95.0), (25, 85.0), (26, 95.0), (50, 95.0)],
        );
        assert!(acts.is_empty(), "{acts:?}");
        assert_eq!(p, Phase::Pending { since: 26 * S });
        let acts = run(&r, &mut p, &[(56, 96.0)]);
        assert_eq!(
            acts,
            vec![(
                56,
                Action::Fire {
                    value: Some(96.0),
                    notify: true
                }
            )]
        );
    }

    /// Zero for-duration fires on the first breaching sample.
    #[test]
    fn immediate() {
        let r = rule(0, None);
        let mut p = Phase::Ok;
        let acts = run(&r, &mut p, &[(1, 91.0)]);
        assert!(matches!(acts[..], [(1, Action::Fire { .. })]));
    }

    /// Values oscillating around the threshold but above the clear threshold do not
    /// flap; only dropping below the clear threshold resolves.
    #[test]
    fn hysteresis() {
        let r = rule(0, None);
        let mut p = Phase::Ok;
        let feed: Vec<(i64, f64)> = (0..40)
            .map(|t| (t, if t % 2 == 0 { 91.0 } else { 85.0 }))
            .collect();
        let acts = run(&r, &mut p, &feed);
        assert_eq!(acts.len(), 1, "{acts:?}");
        let acts = run(&r, &mut p, &[(41, 79.0)]);
        assert_eq!(
            acts,
            vec![(
                41,
                Action::Resolve {
                    value: Some(79.0),
                    notify: true
                }
            )]
        );
        assert_eq!(p, Phase::Ok);
    }

    /// Repeats every repeat interval while firing, and stop once acknowledged.
    #[test]
    fn repeat_and_acknowledge() {
        let r = rule(0, Some(60));
        let mut p = Phase::Ok;
        let feed: Vec<(i64, f64)> = (0..=150).map(|t| (t, 95.0)).collect();
        let acts = run(&r, &mut p, &feed);
        let kinds: Vec<_> = acts.iter().map(|(t, a)| (*t, *a)).collect();
        assert_eq!(
            kinds,
            vec![
                (
                    0,
                    Action::Fire {
                        value: Some(95.0),
                        notify: true
                    }
                ),
                (60, Action::Repeat),
                (120, Action::Repeat),
            ]
        );
        p.acknowledge();
        let feed: Vec<(i64, f64)> = (151..=400).map(|t| (t, 95.0)).collect();
        assert!(run(&r, &mut p, &feed).is_empty());
    }

    /// Quiet hours defer the firing notification to the end of the window and keep
    /// a resolve inside the window silent.
    #[test]
    fn quiet_hours_defer() {
        let mut r = rule(0, None);
        r.quiet = Some((parse_hhmm("00:00").unwrap(), parse_hhmm("00:10").unwrap()));
        let mut p = Phase::Ok;
        // 00:01 UTC on day 0: quiet.
        let acts = run(&r, &mut p, &[(60, 95.0)]);
        assert_eq!(
            acts,
            vec![(
                60,
                Action::Fire {
                    value: Some(95.0),
                    notify: false
                }
            )]
        );
        assert!(run(&r, &mut p, &[(300, 95.0)]).is_empty());
        // 00:10: the window ends, the deferred notification goes out once.
        assert_eq!(
            run(&r, &mut p, &[(600, 95.0), (601, 95.0)]),
            vec![(600, Action::NotifyFiring)]
        );

        // Fired and resolved inside the window: nothing is sent.
        let mut p = Phase::Ok;
        let acts = run(&r, &mut p, &[(86_400 + 10, 95.0), (86_400 + 20, 70.0)]);
        assert_eq!(
            acts.iter().map(|(_, a)| *a).collect::<Vec<_>>(),
            vec![
                Action::Fire {
                    value: Some(95.0),
                    notify: false
                },
                Action::Resolve {
                    value: Some(70.0),
                    notify: false
                }
            ]
        );
    }

    /// An offline rule: breached while offline, cleared when back, fires after the
    /// for-duration through `advance` without any sample.
    #[test]
    fn offline_by_time() {
        let r = rule(120, None);
        let mut p = Phase::Ok;
        let mut out = Vec::new();
        p.observe(&r, Observation::Breached(None), 0, &mut out);
        p.advance(&r, None, 119 * S, &mut out);
        assert!(out.is_empty());
        p.advance(&r, None, 120 * S, &mut out);
        assert_eq!(
            out,
            vec![Action::Fire {
                value: None,
                notify: true
            }]
        );
        out.clear();
        p.observe(&r, Observation::Cleared(None), 130 * S, &mut out);
        assert_eq!(
            out,
            vec![Action::Resolve {
                value: None,
                notify: true
            }]
        );
    }

    /// A hub restart rebuilds firing alerts as `Firing`: a still-breaching value does
    /// not fire again, a cleared one resolves.
    #[test]
    fn restart_does_not_refire() {
        let r = rule(0, None);
        let mut p = Phase::Firing {
            since: 0,
            notified_at: Some(0),
            acknowledged: false,
        };
        assert!(run(&r, &mut p, &[(100, 99.0), (101, 95.0)]).is_empty());
        assert!(matches!(
            run(&r, &mut p, &[(102, 10.0)])[..],
            [(102, Action::Resolve { notify: true, .. })]
        ));
    }
}
