//! Cost of alert rule evaluation on the ingest path: one machine actor's call to
//! `AlertEngine::on_sample` with 5 rules on the machine, none of them crossing (the
//! steady state), measured over many samples. Prints nanoseconds per sample and what
//! that is at 10,000 agents × 1 Hz as a share of one core.
//!
//! `cargo bench -p lunasentri-hub --bench alert_eval` (release profile).

use std::sync::Arc;
use std::time::Instant;

use lunasentri_hub::alerts::AlertEngine;
use lunasentri_hub::clock::Clock;
use lunasentri_hub::db::alert_rules::{self, RuleValues};
use lunasentri_hub::telemetry::HubMetrics;
use lunasentri_hub::testing::{TestDb, seed_machines};
use lunasentri_schema::Sample;
use lunasentri_schema::alert::{AlertRuleInput, Comparator, Severity};

const MACHINES: usize = 1000;
const RULES: [(&str, f64); 5] = [
    ("cpu_pct", 99.9),
    ("mem_used_pct", 99.9),
    ("disk_used_pct", 99.9),
    ("load1", 1000.0),
    ("swap_used_pct", 99.9),
];
const ROUNDS: i64 = 200;

fn main() {
    let db = TestDb::sqlite();
    let (pool, _) = lunasentri_hub::db::connect(&db.url, 2).expect("database");
    let mut conn = pool.get().expect("connection");
    let (owner, ids) = seed_machines(&mut conn, "bench@example.com", MACHINES);
    for (metric, threshold) in RULES {
        let input = AlertRuleInput {
            name: metric.into(),
            machine_ids: None,
            metric: metric.into(),
            comparator: Some(Comparator::Gt),
            threshold: Some(threshold),
            clear_threshold: None,
            for_s: 60,
            repeat_s: None,
            severity: Severity::Warning,
            enabled: true,
            quiet_hours: None,
            channel_ids: vec![],
        };
        alert_rules::insert(&mut conn, owner, &RuleValues::from_input(&input, 0)).expect("rule");
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let metrics = Arc::new(HubMetrics::default());
    let engine = AlertEngine::new(
        &mut conn,
        pool.clone(),
        tx,
        Clock::system(),
        15_000,
        metrics,
    )
    .expect("engine");
    let mut sample = Sample {
        cpu_pct: 40.0,
        mem_used_pct: 50.0,
        disk_used_pct: 60.0,
        load1: 1.5,
        swap_used_bytes: 10,
        swap_total_bytes: 100,
        ..Sample::default()
    };
    // Warm-up: creates every machine's state.
    for id in &ids {
        engine.on_sample(*id, &sample);
    }
    let start = Instant::now();
    for round in 0..ROUNDS {
        sample.cpu_pct = 40.0 + (round % 20) as f64;
        for id in &ids {
            engine.on_sample(*id, &sample);
        }
    }
    let elapsed = start.elapsed();
    assert!(rx.try_recv().is_err(), "no rule may fire in this benchmark");
    let samples = ROUNDS * ids.len() as i64;
    let ns = elapsed.as_nanos() as f64 / samples as f64;
    let core_pct = ns * 10_000.0 / 1e9 * 100.0;
    println!(
        "alert evaluation: {samples} samples × {} rules over {MACHINES} machines in {:.1} ms",
        RULES.len(),
        elapsed.as_secs_f64() * 1000.0
    );
    println!("alert evaluation: {ns:.0} ns per sample (5 rules)");
    println!("alert evaluation: at 10,000 agents × 1 Hz that is {core_pct:.2} % of one core");
}
