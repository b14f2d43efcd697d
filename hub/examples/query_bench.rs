//! Measures history queries and the write path with rollups, through the hub's own
//! functions (no HTTP): the live write pattern (one sample per machine per transaction,
//! as the writer flushes at 1 Hz), a 30-day range of one machine, a 24-hour overview
//! of every machine, and the same for the last hour from raw rows.
//!
//! `cargo run --release -p lunasentri-hub --example query_bench -- DATABASE_URL [MACHINES]`
//! The database must be new. Rollup tiers hold one row per machine and minute (hour)
//! whatever the sample rate, so history is filled at one sample a minute: the rows the
//! queries read are exactly those of 1 Hz history. The last hour is also stored at 1 Hz,
//! for the raw-tier queries.

use std::time::{Duration, Instant};

use diesel::Connection;
use lunasentri_hub::db;
use lunasentri_hub::db::metrics::{MetricRow, insert_ignore};
use lunasentri_hub::db::rollups::insert_samples;
use lunasentri_hub::query::{self, RangeParams};
use lunasentri_hub::retention::Retention;
use lunasentri_schema::Sample;
use shared::owner_with_machines;

mod shared;

fn sample(seq: i64, ts: i64) -> Sample {
    let f = (seq % 997) as f64;
    Sample {
        seq: seq as u64,
        ts,
        cpu_pct: f / 10.0,
        mem_used_pct: 40.0 + f / 100.0,
        load1: f / 500.0,
        net_rx_bytes: seq as u64 * 1000,
        ..Sample::default()
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .expect("usage: query_bench DATABASE_URL [MACHINES]");
    let n: usize = args.get(2).map_or(100, |s| s.parse().expect("MACHINES"));
    let (pool, _) = db::connect(url, 2).expect("open database");
    let mut conn = pool.get().unwrap();
    let ids = owner_with_machines(&mut conn, "bench@example.com", "m", n as i64, "online")
        .expect("the database must be new");
    let day = 86_400_000i64;
    let end = 1_800_000_000_000i64 - 1_800_000_000_000 % day;

    // The live write pattern: every flush carries one new sample of each machine.
    let flushes = 60;
    let started = Instant::now();
    for t in 0..flushes {
        let rows: Vec<MetricRow> = ids
            .iter()
            .map(|&id| MetricRow::from_sample(id, &sample(t, end - 3 * day + t * 1000)))
            .collect();
        conn.transaction(|c| insert_samples(c, &rows)).unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "| live writes, {n} machines, one sample each per transaction | {:.0} samples/s ({:.1} ms a flush) |",
        (flushes as usize * n) as f64 / secs,
        secs * 1000.0 / flushes as f64
    );

    // The same without rollups, for comparison.
    let started = Instant::now();
    for t in 0..flushes {
        let rows: Vec<MetricRow> = ids
            .iter()
            .map(|&id| MetricRow::from_sample(id, &sample(t, end - 4 * day + t * 1000)))
            .collect();
        conn.transaction(|c| insert_ignore(c, &rows)).unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "| the same, raw rows only (no rollups) | {:.0} samples/s ({:.1} ms a flush) |",
        (flushes as usize * n) as f64 / secs,
        secs * 1000.0 / flushes as f64
    );

    // History: 24 h of every machine, 30 days of the first, one sample a minute.
    for (k, &id) in ids.iter().enumerate() {
        let days = if k == 0 { 30 } else { 1 };
        let rows: Vec<MetricRow> = (0..days * 1440)
            .map(|i| MetricRow::from_sample(id, &sample(i, end - days * day + i * 60_000)))
            .collect();
        conn.transaction(|c| insert_samples(c, &rows)).unwrap();
    }
    // The last hour of every machine at 1 Hz as well (offset by half a second from the
    // minute rows): what a raw-tier query reads.
    for &id in &ids {
        let rows: Vec<MetricRow> = (0..3600)
            .map(|i| MetricRow::from_sample(id, &sample(i, end - 3_600_000 + i * 1000 + 500)))
            .collect();
        conn.transaction(|c| insert_samples(c, &rows)).unwrap();
    }
    let keep = Retention::default();
    let now = end;
    let mut time =
        |label: &str, machines: &[i64], from: i64, points: i64, metrics: Option<&str>| {
            let range = RangeParams {
                from: Some(from),
                to: Some(end),
                points: Some(points),
                metrics: metrics.map(str::to_owned),
            }
            .resolve(now)
            .unwrap();
            let plan = query::plan(&range, &keep, now);
            let runs: Vec<Duration> = (0..7)
                .map(|_| {
                    let t = Instant::now();
                    let s = query::series(&mut conn, machines, &range, &plan).unwrap();
                    assert_eq!(s.len(), machines.len());
                    t.elapsed()
                })
                .collect();
            println!(
                "| {label} (tier {}, {} buckets) | {:.1} ms |",
                plan.tier.name(),
                plan.buckets,
                median(runs).as_secs_f64() * 1000.0
            );
        };
    let m0 = &ids[..1];
    time(
        "1 h, 1 machine, 300 points, all metrics",
        m0,
        end - 3_600_000,
        300,
        None,
    );
    time(
        &format!("1 h overview, {n} machines, 300 points, cpu+mem"),
        &ids,
        end - 3_600_000,
        300,
        Some("cpu_pct,mem_used_pct"),
    );
    time(
        "30 days, 1 machine, 300 points, all metrics",
        m0,
        end - 30 * day,
        300,
        None,
    );
    time(
        "30 days, 1 machine, 5000 points, all metrics",
        m0,
        end - 30 * day,
        5000,
        None,
    );
    time(
        &format!("24 h overview, {n} machines, 300 points, cpu+mem"),
        &ids,
        end - day,
        300,
        Some("cpu_pct,mem_used_pct"),
    );
    time(
        &format!("24 h overview, {n} machines, 300 points, all metrics"),
        &ids,
        end - day,
        300,
        None,
    );
}
