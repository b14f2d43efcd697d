//! The alert engine: evaluates every rule of a machine on each sample its MachineActor
//! publishes (once per machine, however many browsers watch), reacts to status changes
//! for `offline` rules, and advances time-driven transitions on a tick. State lives in
//! memory; open alerts are rebuilt from `alert_events` at start.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use diesel::QueryResult;
use lunasentri_schema::{MachineStatus, Sample};
use tokio::sync::mpsc;

use super::index::RuleIndex;
use super::rule::{Metric, Rule};
use super::state::{Action, Observation, Phase};
use crate::clock::Clock;
use crate::db::{DbConn, Pool};
use crate::telemetry::HubMetrics;

/// One thing the dispatcher must record and announce.
#[derive(Debug, Clone)]
pub struct Transition {
    pub rule: Arc<Rule>,
    pub machine_id: i64,
    pub action: Action,
    /// Epoch milliseconds.
    pub at: i64,
}

/// A rule's phase on a machine and the last value seen.
#[derive(Debug, Clone, Copy)]
struct Tracked {
    phase: Phase,
    last: Option<f64>,
}

impl Default for Tracked {
    fn default() -> Self {
        Self {
            phase: Phase::Ok,
            last: None,
        }
    }
}

#[derive(Debug, Default)]
struct MachineState {
    rules: HashMap<i64, Tracked>,
    /// Last status reported since the hub started; `None`: not heard from yet.
    online: Option<bool>,
}

/// Shared by every MachineActor of a hub.
pub struct AlertEngine {
    index: RwLock<Arc<RuleIndex>>,
    machines: Mutex<HashMap<i64, MachineState>>,
    tx: mpsc::Sender<Transition>,
    clock: Clock,
    started_at: i64,
    offline_after_min_ms: i64,
    metrics: Arc<HubMetrics>,
    /// Reloads asked for, and the request count the last finished reload had seen:
    /// concurrent requests share one reload (see [`AlertEngine::reload`]).
    reloads_requested: AtomicU64,
    reload_lock: tokio::sync::Mutex<u64>,
    pool: Pool,
}

impl std::fmt::Debug for AlertEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertEngine")
    }
}

impl AlertEngine {
    /// Loads rules and open alerts. Transitions go to `tx` (the dispatcher).
    pub fn new(
        conn: &mut DbConn,
        pool: Pool,
        tx: mpsc::Sender<Transition>,
        clock: Clock,
        offline_after_min_ms: i64,
        metrics: Arc<HubMetrics>,
    ) -> QueryResult<Self> {
        let index = RuleIndex::load(conn)?;
        let engine = Self {
            index: RwLock::new(Arc::new(index)),
            machines: Mutex::new(HashMap::new()),
            tx,
            started_at: clock.now_ms(),
            clock,
            offline_after_min_ms,
            metrics,
            reloads_requested: AtomicU64::new(0),
            reload_lock: tokio::sync::Mutex::new(0),
            pool,
        };
        engine.restore_open(conn, None)?;
        Ok(engine)
    }

    fn index(&self) -> Arc<RuleIndex> {
        self.index.read().map(|i| i.clone()).unwrap_or_default()
    }

    fn emit(&self, rule: &Arc<Rule>, machine_id: i64, actions: &mut Vec<Action>, at: i64) {
        for action in actions.drain(..) {
            if matches!(action, Action::Fire { .. }) {
                self.metrics.alerts_fired.inc();
            }
            let t = Transition {
                rule: rule.clone(),
                machine_id,
                action,
                at,
            };
            if self.tx.try_send(t).is_err() {
                self.metrics.alert_transitions_dropped.inc();
                tracing::warn!(
                    rule_id = rule.id,
                    machine_id,
                    "alert dispatcher queue full: transition dropped"
                );
            }
        }
    }

    /// Marks open alerts as firing (at start, and when a machine arrives from another
    /// hub), so a still-breaching value does not fire them again.
    pub fn restore_open(&self, conn: &mut DbConn, machine_id: Option<i64>) -> QueryResult<()> {
        let open = crate::db::alert_events::open(conn, machine_id)?;
        let mut machines = self.machines.lock().unwrap_or_else(|e| e.into_inner());
        for e in open {
            let Some(rule_id) = e.rule_id else { continue };
            let t = machines
                .entry(e.machine_id)
                .or_default()
                .rules
                .entry(rule_id)
                .or_default();
            if !matches!(t.phase, Phase::Firing { .. }) {
                t.phase = Phase::Firing {
                    since: e.started_at,
                    notified_at: e.last_notified_at,
                    acknowledged: e.acknowledged_at.is_some(),
                };
            }
        }
        Ok(())
    }

    /// Evaluates a machine's value rules on a new sample.
    pub fn on_sample(&self, machine_id: i64, sample: &Sample) {
        let index = self.index();
        let rules = index.rules(machine_id);
        if rules.is_empty() {
            return;
        }
        let now = self.clock.now_ms();
        let mut out = Vec::new();
        let mut machines = self.machines.lock().unwrap_or_else(|e| e.into_inner());
        let state = machines.entry(machine_id).or_default();
        for rule in rules {
            let Some(v) = rule.metric.value(sample) else {
                continue;
            };
            self.metrics.alert_evaluations.inc();
            let t = state.rules.entry(rule.id).or_default();
            t.last = Some(v);
            t.phase
                .observe(rule, Observation::of(rule, v), now, &mut out);
            self.emit(rule, machine_id, &mut out, now);
        }
    }

    /// Feeds a status change to the machine's `offline` rules.
    pub fn on_status(&self, machine_id: i64, status: MachineStatus) {
        let online = match status {
            MachineStatus::Online => true,
            MachineStatus::Offline => false,
            MachineStatus::Pending => return,
        };
        let index = self.index();
        let now = self.clock.now_ms();
        let mut machines = self.machines.lock().unwrap_or_else(|e| e.into_inner());
        let state = machines.entry(machine_id).or_default();
        state.online = Some(online);
        self.observe_offline(&index, machine_id, state, online, now);
    }

    fn observe_offline(
        &self,
        index: &RuleIndex,
        machine_id: i64,
        state: &mut MachineState,
        online: bool,
        now: i64,
    ) {
        let obs = if online {
            Observation::Cleared(None)
        } else {
            Observation::Breached(None)
        };
        let mut out = Vec::new();
        for rule in index.rules(machine_id) {
            if rule.metric != Metric::Offline {
                continue;
            }
            let t = state.rules.entry(rule.id).or_default();
            t.phase.observe(rule, obs, now, &mut out);
            self.emit(rule, machine_id, &mut out, now);
        }
    }

    /// Time-driven transitions: for-durations elapsing without new samples, deferred
    /// and repeated notifications, and machines that never came back after a hub start.
    pub fn tick(&self) {
        let index = self.index();
        let now = self.clock.now_ms();
        let mut out = Vec::new();
        let mut machines = self.machines.lock().unwrap_or_else(|e| e.into_inner());
        for (&machine_id, facts) in &index.machines {
            let grace = (3 * facts.interval_ms).max(self.offline_after_min_ms);
            if facts.seen && now - self.started_at > grace && index.watches_offline(machine_id) {
                let state = machines.entry(machine_id).or_default();
                if state.online.is_none() {
                    state.online = Some(false);
                    self.observe_offline(&index, machine_id, state, false, now);
                }
            }
        }
        for (&machine_id, state) in machines.iter_mut() {
            for rule in index.rules(machine_id) {
                if let Some(t) = state.rules.get_mut(&rule.id)
                    && t.phase != Phase::Ok
                {
                    t.phase.advance(rule, t.last, now, &mut out);
                    self.emit(rule, machine_id, &mut out, now);
                }
            }
        }
    }

    /// Stops repeating an acknowledged alert.
    pub fn acknowledge(&self, rule_id: i64, machine_id: i64) {
        let mut machines = self.machines.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = machines
            .get_mut(&machine_id)
            .and_then(|m| m.rules.get_mut(&rule_id))
        {
            t.phase.acknowledge();
        }
    }

    /// Forgets a rule's state everywhere (it was changed or deleted; its open alerts
    /// were closed in the database).
    pub fn forget_rule(&self, rule_id: i64) {
        let mut machines = self.machines.lock().unwrap_or_else(|e| e.into_inner());
        for m in machines.values_mut() {
            m.rules.remove(&rule_id);
        }
    }

    /// Another hub holds the machine (cluster mode) and evaluates its alerts. When an
    /// agent attached there (`replaced`), this hub's state for it is dropped so nothing
    /// repeats here; otherwise (another hub reported its status) only a machine this
    /// hub has not heard from itself is marked, so the start-up offline check leaves it
    /// alone.
    pub fn held_elsewhere(&self, machine_id: i64, replaced: bool) {
        let mut machines = self.machines.lock().unwrap_or_else(|e| e.into_inner());
        let state = machines.entry(machine_id).or_default();
        if replaced {
            state.rules.clear();
        }
        if replaced || state.online.is_none() {
            state.online = Some(true);
        }
    }

    /// Forgets a deleted machine.
    pub fn forget_machine(&self, machine_id: i64) {
        let mut machines = self.machines.lock().unwrap_or_else(|e| e.into_inner());
        machines.remove(&machine_id);
    }

    /// Rebuilds the rule index from the database (after rules or machines changed).
    /// Returns once a reload that started after this call has finished. Calls arriving
    /// while a reload runs share the next one, so creating many machines at once costs a
    /// few reloads, not one each.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let mine = self.reloads_requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut covered = self.reload_lock.lock().await;
        if *covered >= mine {
            return Ok(());
        }
        let seen = self.reloads_requested.load(Ordering::SeqCst);
        let pool = self.pool.clone();
        let index = actix_web::web::block(move || -> anyhow::Result<RuleIndex> {
            let mut conn = pool.get()?;
            Ok(RuleIndex::load(&mut conn)?)
        })
        .await??;
        if let Ok(mut slot) = self.index.write() {
            *slot = Arc::new(index);
        }
        *covered = seen;
        Ok(())
    }
}
