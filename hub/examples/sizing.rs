//! Measures the storage cost of history: simulates one day of 1 Hz samples for a few
//! machines through the hub's own write path (`rollups::insert_samples`, as the writer
//! calls it), then reports bytes per machine per day for each tier and what default
//! retention costs for 10, 100 and 1,000 machines.
//!
//! `cargo run --release -p lunasentri-hub --example sizing -- DATABASE_URL [MACHINES] [HOURS]`
//! (`scripts/sizing.sh` runs it on SQLite and PostgreSQL). The database must be new.

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use lunasentri_hub::db::metrics::MetricRow;
use lunasentri_hub::db::rollups::{Tier, insert_samples};
use lunasentri_hub::db::{self, DbConn};
use lunasentri_hub::retention::Retention;
use shared::{owner_with_machines, server_sample as sample};

mod shared;

/// Samples per transaction (an agent's replay, or a busy writer's flush).
const BATCH: i64 = 300;

#[derive(diesel::QueryableByName)]
struct Size {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
}

/// Bytes each tier occupies: PostgreSQL asks the catalogue (after VACUUM FULL, the
/// steady state autovacuum keeps); SQLite measures the file after VACUUM while the
/// tiers are dropped one by one.
fn tier_bytes(conn: &mut DbConn, path: Option<&str>) -> [i64; 3] {
    match path {
        None => {
            conn.batch_execute("VACUUM FULL").unwrap();
            Tier::ALL.map(|t| {
                diesel::sql_query(format!(
                    "SELECT pg_total_relation_size('{}') AS bytes",
                    t.table()
                ))
                .get_result::<Size>(conn)
                .unwrap()
                .bytes
            })
        }
        Some(file) => {
            let size = |c: &mut DbConn| {
                c.batch_execute(
                    "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
                )
                .unwrap();
                std::fs::metadata(file).unwrap().len() as i64
            };
            let all = size(conn);
            conn.batch_execute("DELETE FROM metrics_1h").unwrap();
            let no_hour = size(conn);
            conn.batch_execute("DELETE FROM metrics_1m").unwrap();
            let no_minute = size(conn);
            conn.batch_execute("DELETE FROM metrics_history").unwrap();
            let none = size(conn);
            [no_minute - none, no_hour - no_minute, all - no_hour]
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .expect("usage: sizing DATABASE_URL [MACHINES] [HOURS]");
    let machines: i64 = args.get(2).map_or(4, |s| s.parse().expect("MACHINES"));
    let hours: i64 = args.get(3).map_or(24, |s| s.parse().expect("HOURS"));
    let (pool, _) = db::connect(url, 1).expect("open database");
    let mut conn = pool.get().unwrap();
    let ids = owner_with_machines(&mut conn, "sizing@example.com", "m", machines, "online")
        .expect("the database must be new");
    let start = 1_800_000_000_000i64;
    let seconds = hours * 3600;
    let began = std::time::Instant::now();
    for &id in &ids {
        let mut s = 0;
        while s < seconds {
            let rows: Vec<MetricRow> = (s..(s + BATCH).min(seconds))
                .map(|k| MetricRow::from_sample(id, &sample(k, start + k * 1000)))
                .collect();
            conn.transaction(|c| insert_samples(c, &rows)).unwrap();
            s += BATCH;
        }
    }
    let rows = machines * seconds;
    eprintln!(
        "stored {rows} samples in {:.1} s ({:.0} samples/s)",
        began.elapsed().as_secs_f64(),
        rows as f64 / began.elapsed().as_secs_f64()
    );
    let sqlite_file = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"));
    let bytes = tier_bytes(&mut conn, sqlite_file);
    let per_day = |b: i64| b as f64 / machines as f64 * 24.0 / hours as f64;
    let keep = Retention::default();
    let days = |t: Tier| keep.keep_ms(t) as f64 / 86_400_000.0;
    println!(
        "| tier | bytes per machine per day | kept (default) | per machine at default retention |"
    );
    println!("|---|---:|---:|---:|");
    let mut total = 0.0;
    for (t, b) in Tier::ALL.iter().zip(bytes) {
        let steady = per_day(b) * days(*t);
        total += steady;
        println!(
            "| {} | {:.0} | {:.0} d | {:.1} MB |",
            t.name(),
            per_day(b),
            days(*t),
            steady / 1e6
        );
    }
    println!();
    println!("| machines | history at default retention |");
    println!("|---:|---:|");
    for n in [10.0, 100.0, 1000.0] {
        println!("| {n:.0} | {:.1} GB |", total * n / 1e9);
    }
}
