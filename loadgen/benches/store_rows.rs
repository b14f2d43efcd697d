//! CPU the hub's writer spends storing raw rows on SQLite: one transaction of 2,500
//! rows (a flush at 10,000 agents) through `metrics::insert_new`, as the writer calls
//! it, into a fresh temporary database with the hub's own settings. Rows come from
//! loadgen's host model. Prints microseconds per row for each round.
//!
//! `cargo bench -p lunasentri-loadgen --bench store_rows` (release profile). To compare
//! two builds, count instructions: run the bench binary under `valgrind
//! --tool=callgrind` and read `step_store`'s inclusive count (`callgrind_annotate
//! --inclusive=yes`); it is the same on every run.

use std::time::Instant;

use lunasentri_hub::db::DbConn;
use lunasentri_hub::db::metrics::{self, MetricRow};
use lunasentri_hub::testing::{TestDb, seed_machines};
use lunasentri_loadgen::sample::HostModel;

const MACHINES: usize = 2_500;
const ROUNDS: u64 = 4;

#[inline(never)]
fn step_store(conn: &mut DbConn, rows: &[MetricRow]) {
    conn.write_transaction(|c| metrics::insert_new(c, rows))
        .expect("rows stored");
}

fn main() {
    let db = TestDb::sqlite();
    let (pool, _) = lunasentri_hub::db::connect(&db.url, 1).expect("database");
    let mut conn = pool.get().expect("connection");
    let (_, ids) = seed_machines(&mut conn, "bench@example.com", MACHINES);
    let mut hosts: Vec<HostModel> = (0..MACHINES).map(|i| HostModel::new(7, i)).collect();
    for round in 0..ROUNDS {
        let ts = 1_750_000_000_000 + round as i64 * 1_000;
        let rows: Vec<MetricRow> = hosts
            .iter_mut()
            .zip(&ids)
            .map(|(host, &id)| MetricRow::from_sample(id, &host.next(round + 1, ts, 1.0)))
            .collect();
        let t = Instant::now();
        step_store(&mut conn, &rows);
        let per_row = t.elapsed().as_secs_f64() * 1e6 / MACHINES as f64;
        println!("round {round}: {per_row:.1} µs per row");
    }
}
