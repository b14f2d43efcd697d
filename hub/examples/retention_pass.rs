//! Runs one retention pass over the raw tier of a seeded database and reports how long
//! it took: `scripts/bench-pg-volume.sh` compares the two kinds of DELETE statement with
//! it on the same table.
//!
//! `cargo run --release -p lunasentri-hub --example retention_pass -- DATABASE_URL CUTOFF_MS per-machine|by-time`
//!
//! Deletes the raw rows older than CUTOFF_MS (epoch milliseconds), with the hub's own
//! statement sizing (about 50 ms each) but no minimum pause: each statement is still
//! followed by a pause as long as it took, so the statements used half the time printed.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use lunasentri_hub::db;
use lunasentri_hub::retention::{self, PassOptions, Retention, Slicing};
use lunasentri_hub::telemetry::HubMetrics;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: retention_pass DATABASE_URL CUTOFF_MS per-machine|by-time";
    let (Some(url), Some(cutoff), Some(kind)) = (args.get(1), args.get(2), args.get(3)) else {
        panic!("{usage}");
    };
    let cutoff: i64 = cutoff
        .parse()
        .unwrap_or_else(|_| panic!("CUTOFF_MS must be epoch milliseconds, not {cutoff:?}"));
    let slicing = match kind.as_str() {
        "per-machine" => Slicing::PerMachine,
        "by-time" => Slicing::ByTime,
        other => panic!("unknown statement kind {other:?}; {usage}"),
    };
    let (pool, _) = db::connect(url, 2).expect("open database");
    // Only the raw tier expires: the seeded databases hold no rollups.
    let hour = Duration::from_secs(3600);
    let keep = Retention {
        raw: hour,
        minute: hour * 24 * 365 * 100,
        hour: hour * 24 * 365 * 100,
    };
    let opts = PassOptions {
        pause: Duration::ZERO,
        slicing,
        ..PassOptions::default()
    };
    let began = Instant::now();
    let deleted = retention::pass(
        &pool,
        cutoff + 3_600_000,
        &keep,
        &opts,
        &AtomicBool::new(false),
        &HubMetrics::default(),
    )
    .expect("retention pass");
    println!(
        "{kind}: deleted {} raw rows in {:.1} s",
        deleted.raw,
        began.elapsed().as_secs_f64()
    );
}
