//! Fills a database with expired raw history, for measuring retention under live
//! load: MACHINES machines (one owner, never connected) with HOURS of 1 Hz samples whose
//! newest is AGE_MINUTES old, through the hub's own migrations and insert path.
//!
//! `cargo run --release -p lunasentri-hub --example seed_history -- DATABASE_URL [MACHINES] [HOURS] [AGE_MINUTES]`
//! (defaults 1000, 24, 120; `scripts/bench-retention.sh` runs it).
//!
//! Rows are stored in arrival order, one second of every machine after the other, as the
//! writer stores live samples: one machine's rows are spread over the whole table, as
//! they are in production, so retention deletes them from pages shared with other
//! machines. Only the raw tier is written: it is the one a day of history expires from
//! (rollups are kept 30 and 400 days by default), and it is over 90 % of the bytes.

use std::time::Instant;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use lunasentri_hub::db::metrics::{MetricRow, insert_ignore};
use lunasentri_hub::db::{self, DbConn};
use shared::{owner_with_machines, server_sample};

mod shared;

/// Seconds of history (of every machine) per transaction.
const SECONDS_PER_TX: i64 = 30;

fn arg<T: std::str::FromStr>(args: &[String], i: usize, name: &str, default: T) -> T {
    args.get(i).map_or(default, |s| {
        s.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {s:?}"))
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .expect("usage: seed_history DATABASE_URL [MACHINES] [HOURS] [AGE_MINUTES]");
    let n: i64 = arg(&args, 2, "MACHINES", 1000);
    let hours: i64 = arg(&args, 3, "HOURS", 24);
    let age_min: i64 = arg(&args, 4, "AGE_MINUTES", 120);
    let (pool, _) = db::connect(url, 1).expect("open database");
    let mut conn = pool.get().unwrap();
    if let DbConn::Sqlite(_) = &*conn {
        // A crash while seeding means seeding again: no need to sync every commit.
        conn.batch_execute("PRAGMA synchronous = OFF").unwrap();
    }
    let ids = owner_with_machines(&mut conn, "history@example.com", "history-", n, "offline")
        .expect("the database must not have been seeded before");

    let seconds = hours * 3600;
    let end = (db::now_ms() - age_min * 60_000) / 1000 * 1000;
    let start = end - seconds * 1000;
    // One detail document for every row: its size is what matters to storage.
    let template = MetricRow::from_sample(0, &server_sample(0, 0));
    let row = |id: i64, k: i64| {
        let f = ((k + id) % 997) as f64;
        MetricRow {
            machine_id: id,
            ts: start + k * 1000,
            seq: k + 1,
            cpu_pct: 12.5 + f / 50.0,
            mem_used_pct: 43.2 + f / 100.0,
            load1: 0.42 + f / 1000.0,
            net_rx_bytes: 9_000_000_000 + k * 12_345,
            net_tx_bytes: 4_000_000_000 + k * 6_789,
            uptime_s: 1_000_000 + k,
            ..template.clone()
        }
    };

    let began = Instant::now();
    let mut reported = 0;
    let mut k = 0;
    while k < seconds {
        let upto = (k + SECONDS_PER_TX).min(seconds);
        let rows: Vec<MetricRow> = (k..upto)
            .flat_map(|s| ids.iter().map(move |&id| (id, s)))
            .map(|(id, s)| row(id, s))
            .collect();
        let stored = conn.transaction(|c| insert_ignore(c, &rows)).unwrap();
        assert_eq!(
            stored,
            rows.len(),
            "rows already stored: seed a new database"
        );
        k = upto;
        let pct = k * 100 / seconds;
        if pct >= reported + 5 || k == seconds {
            reported = pct;
            let secs = began.elapsed().as_secs_f64();
            eprintln!(
                "seed: {pct:3} % ({} rows, {:.0} rows/s, {:.0} s)",
                k * n,
                (k * n) as f64 / secs,
                secs
            );
        }
    }
    if let DbConn::Sqlite(_) = &*conn {
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    }
    let secs = began.elapsed().as_secs_f64();
    println!(
        "seeded {n} machines x {hours} h: {} raw rows, ts {start}..{end}, in {secs:.0} s ({:.0} rows/s)",
        n * seconds,
        (n * seconds) as f64 / secs
    );
}
