//! `metrics_history`: raw samples, one row per `(machine_id, ts)`, inserted idempotently.
//! On SQLite the table is keyed by time slot first, and reads of one machine go through
//! [`super::raw_slots`]; PostgreSQL keeps the `(machine_id, ts)` primary key.

use std::borrow::{Borrow, Cow};
use std::collections::HashSet;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::schema::metrics_history as mh;
use super::{DbConn, raw_slots};
use lunasentri_schema::Sample;
use lunasentri_schema::sample::{DiskSample, IfaceSample, ProcSample, TempSample};

/// Most rows in one multi-row INSERT (22 binds each keeps under every backend's limit).
const INSERT_CHUNK: usize = 500;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = mh)]
pub struct MetricRow {
    pub machine_id: i64,
    pub ts: i64,
    pub seq: i64,
    pub cpu_pct: f64,
    pub mem_used_pct: f64,
    pub disk_used_pct: f64,
    pub net_rx_bytes: i64,
    pub net_tx_bytes: i64,
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
    pub mem_used_bytes: i64,
    pub mem_total_bytes: i64,
    pub swap_used_bytes: i64,
    pub swap_total_bytes: i64,
    pub disk_read_bps: f64,
    pub disk_write_bps: f64,
    pub net_rx_bps: f64,
    pub net_tx_bps: f64,
    pub uptime_s: i64,
    pub procs: i64,
    pub detail: String,
}

/// The per-device part of a sample, kept as JSON in the `detail` column. Borrowed from
/// the sample when a row is built, owned when one is read back.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Detail<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cpu_iowait_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cpu_steal_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "is_empty")]
    cpus: Cow<'a, [f64]>,
    #[serde(default, skip_serializing_if = "is_empty")]
    disks: Cow<'a, [DiskSample]>,
    #[serde(default, skip_serializing_if = "is_empty")]
    ifaces: Cow<'a, [IfaceSample]>,
    #[serde(default, skip_serializing_if = "is_empty")]
    temps: Cow<'a, [TempSample]>,
    #[serde(default, skip_serializing_if = "is_empty")]
    top: Cow<'a, [ProcSample]>,
}

// serde's `skip_serializing_if` hands over a reference to the field itself.
#[allow(clippy::ptr_arg)]
fn is_empty<T: Clone>(list: &Cow<'_, [T]>) -> bool {
    list.is_empty()
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl MetricRow {
    pub fn from_sample(machine_id: i64, s: &Sample) -> Self {
        let detail = Detail {
            cpu_iowait_pct: s.cpu_iowait_pct,
            cpu_steal_pct: s.cpu_steal_pct,
            cpus: Cow::Borrowed(&s.cpus),
            disks: Cow::Borrowed(&s.disks),
            ifaces: Cow::Borrowed(&s.ifaces),
            temps: Cow::Borrowed(&s.temps),
            top: Cow::Borrowed(&s.top),
        };
        Self {
            machine_id,
            ts: s.ts,
            seq: i(s.seq),
            cpu_pct: s.cpu_pct,
            mem_used_pct: s.mem_used_pct,
            disk_used_pct: s.disk_used_pct,
            net_rx_bytes: i(s.net_rx_bytes),
            net_tx_bytes: i(s.net_tx_bytes),
            load1: s.load1,
            load5: s.load5,
            load15: s.load15,
            mem_used_bytes: i(s.mem_used_bytes),
            mem_total_bytes: i(s.mem_total_bytes),
            swap_used_bytes: i(s.swap_used_bytes),
            swap_total_bytes: i(s.swap_total_bytes),
            disk_read_bps: s.disk_read_bps,
            disk_write_bps: s.disk_write_bps,
            net_rx_bps: s.net_rx_bps,
            net_tx_bps: s.net_tx_bps,
            uptime_s: i(s.uptime_s),
            procs: i(s.procs),
            detail: serde_json::to_string(&detail).unwrap_or_else(|_| "{}".into()),
        }
    }

    pub fn to_sample(&self) -> Sample {
        let d: Detail = serde_json::from_str(&self.detail).unwrap_or_default();
        Sample {
            seq: u(self.seq),
            ts: self.ts,
            cpu_pct: self.cpu_pct,
            mem_used_pct: self.mem_used_pct,
            disk_used_pct: self.disk_used_pct,
            net_rx_bytes: u(self.net_rx_bytes),
            net_tx_bytes: u(self.net_tx_bytes),
            load1: self.load1,
            load5: self.load5,
            load15: self.load15,
            mem_used_bytes: u(self.mem_used_bytes),
            mem_total_bytes: u(self.mem_total_bytes),
            swap_used_bytes: u(self.swap_used_bytes),
            swap_total_bytes: u(self.swap_total_bytes),
            disk_read_bps: self.disk_read_bps,
            disk_write_bps: self.disk_write_bps,
            net_rx_bps: self.net_rx_bps,
            net_tx_bps: self.net_tx_bps,
            uptime_s: u(self.uptime_s),
            procs: u(self.procs),
            cpu_iowait_pct: d.cpu_iowait_pct,
            cpu_steal_pct: d.cpu_steal_pct,
            cpus: d.cpus.into_owned(),
            disks: d.disks.into_owned(),
            ifaces: d.ifaces.into_owned(),
            temps: d.temps.into_owned(),
            top: d.top.into_owned(),
        }
    }
}

/// Inserts rows, skipping any `(machine_id, ts)` already stored (or repeated earlier in
/// `rows`); returns the indices of the rows that were new, so rollups count each stored
/// sample exactly once. Callers wrap it in the writer's one transaction per flush.
///
/// PostgreSQL takes multi-row statements and reports the new keys with `RETURNING`;
/// SQLite cannot combine a multi-row VALUES list with a conflict clause in Diesel, and
/// inside one transaction its cached single-row statement is as fast, its affected-row
/// count saying whether the row was new.
pub fn insert_new<R: Borrow<MetricRow>>(conn: &mut DbConn, rows: &[R]) -> QueryResult<Vec<usize>> {
    let rows: Vec<&MetricRow> = rows.iter().map(Borrow::borrow).collect();
    let mut new = Vec::new();
    match conn {
        DbConn::Sqlite(c) => {
            for (i, row) in rows.iter().enumerate() {
                if sqlite_insert(c, row)? > 0 {
                    new.push(i);
                }
            }
        }
        DbConn::Pg(c) => {
            // Repeats inside one statement would make "which copy was stored" unclear.
            let mut seen = HashSet::new();
            let unique: Vec<usize> = (0..rows.len())
                .filter(|&i| seen.insert((rows[i].machine_id, rows[i].ts)))
                .collect();
            for chunk in unique.chunks(INSERT_CHUNK) {
                let values: Vec<&MetricRow> = chunk.iter().map(|&i| rows[i]).collect();
                let stored: HashSet<(i64, i64)> = diesel::insert_into(mh::table)
                    .values(values)
                    .on_conflict_do_nothing()
                    .returning((mh::machine_id, mh::ts))
                    .get_results(c)?
                    .into_iter()
                    .collect();
                new.extend(
                    chunk
                        .iter()
                        .filter(|&&i| stored.contains(&(rows[i].machine_id, rows[i].ts))),
                );
            }
        }
    }
    Ok(new)
}

/// One raw row on SQLite, skipped when its `(machine_id, ts)` is stored (the table's
/// only uniqueness constraint; every column is NOT NULL and always given, so `OR
/// IGNORE` skips nothing else, and the trigger refusing rows of a deleted machine still
/// aborts). Written so that Diesel keys its statement cache by the query's type: an
/// insert with an `ON CONFLICT` clause, or of a derived `Insertable` (whose columns may
/// each stand for DEFAULT), has no static query id, so Diesel built the statement's SQL
/// again for every row to look it up in the cache: 25,000 of the 71,000 instructions a
/// row took (`docs/benchmarks.md`, *CPU per stored row*). Naming each column keeps a
/// mix-up visible; `stored_rows_keep_every_column` reads every one back.
fn sqlite_insert(c: &mut diesel::SqliteConnection, r: &MetricRow) -> QueryResult<usize> {
    diesel::insert_or_ignore_into(mh::table)
        .values((
            mh::machine_id.eq(r.machine_id),
            mh::ts.eq(r.ts),
            mh::seq.eq(r.seq),
            mh::cpu_pct.eq(r.cpu_pct),
            mh::mem_used_pct.eq(r.mem_used_pct),
            mh::disk_used_pct.eq(r.disk_used_pct),
            mh::net_rx_bytes.eq(r.net_rx_bytes),
            mh::net_tx_bytes.eq(r.net_tx_bytes),
            mh::load1.eq(r.load1),
            mh::load5.eq(r.load5),
            mh::load15.eq(r.load15),
            mh::mem_used_bytes.eq(r.mem_used_bytes),
            mh::mem_total_bytes.eq(r.mem_total_bytes),
            mh::swap_used_bytes.eq(r.swap_used_bytes),
            mh::swap_total_bytes.eq(r.swap_total_bytes),
            mh::disk_read_bps.eq(r.disk_read_bps),
            mh::disk_write_bps.eq(r.disk_write_bps),
            mh::net_rx_bps.eq(r.net_rx_bps),
            mh::net_tx_bps.eq(r.net_tx_bps),
            mh::uptime_s.eq(r.uptime_s),
            mh::procs.eq(r.procs),
            mh::detail.eq(&r.detail),
        ))
        .execute(c)
}

/// Like [`insert_new`], returning only how many rows were new.
pub fn insert_ignore<R: Borrow<MetricRow>>(conn: &mut DbConn, rows: &[R]) -> QueryResult<usize> {
    insert_new(conn, rows).map(|v| v.len())
}

/// Raw rows of one machine with `from <= ts < to`, oldest first.
pub fn range(
    conn: &mut DbConn,
    machine_id: i64,
    from: i64,
    to: i64,
) -> QueryResult<Vec<MetricRow>> {
    rows(conn, machine_id, from, to, None)
}

/// At most `limit` raw rows of one machine with `from <= ts < to`, oldest first: one
/// page of a streamed export (the next page starts at the last `ts + 1`).
pub fn page(
    conn: &mut DbConn,
    machine_id: i64,
    from: i64,
    to: i64,
    limit: i64,
) -> QueryResult<Vec<MetricRow>> {
    rows(conn, machine_id, from, to, Some(limit))
}

fn rows(
    conn: &mut DbConn,
    machine_id: i64,
    from: i64,
    to: i64,
    limit: Option<i64>,
) -> QueryResult<Vec<MetricRow>> {
    match conn {
        DbConn::Sqlite(c) => raw_slots::page(c, machine_id, from, to, limit),
        DbConn::Pg(_) => {
            let mut q = mh::table
                .filter(mh::machine_id.eq(machine_id))
                .filter(mh::ts.ge(from))
                .filter(mh::ts.lt(to))
                .order(mh::ts)
                .select(MetricRow::as_select())
                .into_boxed();
            if let Some(limit) = limit {
                q = q.limit(limit);
            }
            q.load(conn)
        }
    }
}

/// The newest stored row of a machine.
pub fn latest(conn: &mut DbConn, machine_id: i64) -> QueryResult<Option<MetricRow>> {
    match conn {
        DbConn::Sqlite(c) => raw_slots::latest(c, machine_id),
        DbConn::Pg(_) => mh::table
            .filter(mh::machine_id.eq(machine_id))
            .order(mh::ts.desc())
            .select(MetricRow::as_select())
            .first(conn)
            .optional(),
    }
}

/// Rows stored for a machine (tests and export).
pub fn count(conn: &mut DbConn, machine_id: i64) -> QueryResult<i64> {
    match conn {
        DbConn::Sqlite(c) => raw_slots::count(c, machine_id),
        DbConn::Pg(_) => mh::table
            .filter(mh::machine_id.eq(machine_id))
            .count()
            .get_result(conn),
    }
}

/// Deletes the raw rows of machines that are being deleted, ahead of their machine
/// rows; returns how many. PostgreSQL's foreign key does it by ON DELETE CASCADE.
pub fn delete_machines(conn: &mut DbConn, machines: &[i64]) -> QueryResult<usize> {
    match conn {
        DbConn::Sqlite(c) => raw_slots::delete_machines(c, machines),
        DbConn::Pg(_) => Ok(0),
    }
}

impl MetricRow {
    /// The scalar columns in `SCALAR_NAMES` order.
    pub fn to_sample_scalars(&self) -> [f64; 18] {
        [
            self.cpu_pct,
            self.mem_used_pct,
            self.disk_used_pct,
            self.net_rx_bytes as f64,
            self.net_tx_bytes as f64,
            self.load1,
            self.load5,
            self.load15,
            self.mem_used_bytes as f64,
            self.mem_total_bytes as f64,
            self.swap_used_bytes as f64,
            self.swap_total_bytes as f64,
            self.disk_read_bps,
            self.disk_write_bps,
            self.net_rx_bps,
            self.net_tx_bps,
            self.uptime_s as f64,
            self.procs as f64,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    /// A sample whose scalars are all different, with every per-device list filled.
    fn distinct_sample() -> Sample {
        Sample {
            seq: 1,
            ts: 2,
            cpu_pct: 1.0,
            mem_used_pct: 2.0,
            disk_used_pct: 3.0,
            net_rx_bytes: 4,
            net_tx_bytes: 5,
            load1: 6.0,
            load5: 7.0,
            load15: 8.0,
            mem_used_bytes: 9,
            mem_total_bytes: 10,
            swap_used_bytes: 11,
            swap_total_bytes: 12,
            disk_read_bps: 13.0,
            disk_write_bps: 14.0,
            net_rx_bps: 15.0,
            net_tx_bps: 16.0,
            uptime_s: 17,
            procs: 18,
            cpu_iowait_pct: Some(1.5),
            cpu_steal_pct: None,
            cpus: vec![10.0, 20.5],
            disks: vec![DiskSample {
                mount: "/".into(),
                fs: "ext4".into(),
                used_bytes: 5,
                total_bytes: 10,
                read_bps: 1.0,
                write_bps: 2.0,
            }],
            ifaces: vec![IfaceSample {
                name: "eth0".into(),
                rx_bytes: 7,
                ..IfaceSample::default()
            }],
            temps: vec![TempSample {
                label: "cpu".into(),
                celsius: 41.0,
            }],
            top: vec![ProcSample {
                pid: 9,
                name: "postgres".into(),
                cpu_pct: 3.0,
                mem_bytes: 8,
            }],
        }
    }

    /// The stored scalars come back in `SCALAR_NAMES` order with the sample's values.
    #[test]
    fn scalars_keep_their_order() {
        let s = distinct_sample();
        let expected: Vec<f64> = s.scalars().iter().map(|(_, v)| *v).collect();
        assert_eq!(
            MetricRow::from_sample(1, &s).to_sample_scalars().to_vec(),
            expected
        );
    }

    /// The per-device lists and optional CPU shares survive the `detail` column; a
    /// sample without them stores an empty object.
    #[test]
    fn detail_round_trips() {
        let s = distinct_sample();
        assert_eq!(MetricRow::from_sample(1, &s).to_sample(), s);
        let bare = Sample::default();
        let row = MetricRow::from_sample(1, &bare);
        assert_eq!(row.detail, "{}");
        assert_eq!(row.to_sample(), bare);
    }

    /// Every column of a raw row comes back from the database as it was stored, and a
    /// repeated `(machine_id, ts)`, in the same call or a later one, is skipped.
    fn stored_rows_keep_every_column(db: &TestDb) {
        let (pool, _) = crate::db::connect(&db.url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        let (_, ids) = crate::testing::seed_machines(&mut conn, "a@x.io", 1);
        let id = ids[0];
        let s = Sample {
            ts: 1_700_000_000_000,
            ..distinct_sample()
        };
        let row = MetricRow::from_sample(id, &s);
        assert_eq!(insert_new(&mut conn, &[&row, &row]).unwrap(), [0]);
        assert!(insert_new(&mut conn, &[&row]).unwrap().is_empty());
        let stored = range(&mut conn, id, i64::MIN, i64::MAX).unwrap();
        let got: Vec<(i64, Sample)> = stored
            .iter()
            .map(|r| (r.machine_id, r.to_sample()))
            .collect();
        assert_eq!(got, [(id, s)]);
    }

    #[test]
    fn stored_rows_keep_every_column_sqlite() {
        stored_rows_keep_every_column(&TestDb::sqlite());
    }

    #[test]
    fn stored_rows_keep_every_column_postgres() {
        if let Some(db) = TestDb::postgres() {
            stored_rows_keep_every_column(&db);
        }
    }
}
