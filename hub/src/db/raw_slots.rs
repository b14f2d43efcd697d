//! SQLite's raw rows, keyed by time first: `metrics_history` has no primary key but the
//! unique index `(ts / 10000, machine_id, ts)`, a 10-second slot ahead of the machine
//! (migration `2026-12-03-000001_raw_time_slots` says why: a flush then touches only the
//! index pages of the current slots, however many machines report and however long the
//! history). PostgreSQL keeps `(machine_id, ts)` and does not come here.
//!
//! What reads one machine walks the slots of its range: a recursive CTE yields the slot
//! numbers and drives the outer loop, each slot one index seek on `(slot, machine)`
//! (`CROSS JOIN` keeps SQLite from reordering the loops). Slot ranges are clipped to
//! the slots that hold rows, so an open range costs no more than the stored history.
//! Ordered reads go one window of [`WINDOW`] slots at a time: within a window SQLite
//! sorts only that window's rows.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use diesel::sqlite::SqliteConnection;

use super::metrics::MetricRow;

/// Width of one slot in milliseconds; the index expression is `ts / SLOT_MS`.
const SLOT_MS: i64 = 10_000;
/// Slots per window of an ordered read: one hour.
const WINDOW: i64 = 360;

/// The slot holding `ts`: SQLite's integer division, which truncates as Rust's does.
fn slot(ts: i64) -> i64 {
    ts / SLOT_MS
}

/// The `WITH` clause yielding the slots `lo..=hi` as `slot(s)`.
fn with_slots(lo: i64, hi: i64) -> String {
    format!(
        "WITH RECURSIVE slot(s) AS (SELECT {lo} UNION ALL SELECT s + 1 FROM slot WHERE s < {hi}) "
    )
}

/// `FROM … WHERE …` over the rows of `machines` (an SQL list of ids) in the slots of the
/// `WITH` clause; `extra` adds conditions on `h`.
fn rows_of(machines: &str, extra: &str) -> String {
    format!(
        "FROM slot CROSS JOIN metrics_history h WHERE h.ts / {SLOT_MS} = slot.s \
         AND h.machine_id IN ({machines}){extra}"
    )
}

#[derive(QueryableByName)]
struct Span {
    #[diesel(sql_type = Nullable<BigInt>)]
    lo: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    hi: Option<i64>,
}

/// The first and last slot holding rows (two index lookups), `None` when there are none.
fn span(c: &mut SqliteConnection) -> QueryResult<Option<(i64, i64)>> {
    // One aggregate per SELECT: SQLite answers a lone MIN or MAX from the index.
    let s: Span = diesel::sql_query(format!(
        "SELECT (SELECT MIN(ts / {SLOT_MS}) FROM metrics_history) AS lo, \
         (SELECT MAX(ts / {SLOT_MS}) FROM metrics_history) AS hi"
    ))
    .get_result(c)?;
    Ok(s.lo.zip(s.hi))
}

/// The stored slots that can hold `from <= ts < to`, `None` when none can.
fn clip(c: &mut SqliteConnection, from: i64, to: i64) -> QueryResult<Option<(i64, i64)>> {
    if from >= to {
        return Ok(None);
    }
    Ok(span(c)?
        .map(|(lo, hi)| (slot(from).max(lo), slot(to - 1).min(hi)))
        .filter(|(lo, hi)| lo <= hi))
}

/// The `WITH` clause and `FROM … WHERE …` of the rows of `machines` (an SQL list of
/// ids) with `from <= ts < to`, for an aggregate over them; `None` when no stored slot
/// can hold such rows.
pub fn aggregate_source(
    c: &mut SqliteConnection,
    machines: &str,
    from: i64,
    to: i64,
) -> QueryResult<Option<(String, String)>> {
    Ok(clip(c, from, to)?.map(|(lo, hi)| {
        (
            with_slots(lo, hi),
            rows_of(machines, &format!(" AND h.ts >= {from} AND h.ts < {to}")),
        )
    }))
}

/// At most `limit` (all when `None`) rows of one machine with `from <= ts < to`, oldest
/// first.
pub fn page(
    c: &mut SqliteConnection,
    machine_id: i64,
    from: i64,
    to: i64,
    limit: Option<i64>,
) -> QueryResult<Vec<MetricRow>> {
    let mut out: Vec<MetricRow> = Vec::new();
    let Some((lo, hi)) = clip(c, from, to)? else {
        return Ok(out);
    };
    let mut start = lo;
    while start <= hi {
        let end = start.saturating_add(WINDOW - 1).min(hi);
        let left = limit.map(|l| l - out.len() as i64);
        let sql = format!(
            "{}SELECT h.* {} ORDER BY h.ts{}",
            with_slots(start, end),
            rows_of(
                &machine_id.to_string(),
                &format!(" AND h.ts >= {from} AND h.ts < {to}")
            ),
            left.map(|l| format!(" LIMIT {l}")).unwrap_or_default()
        );
        out.extend(diesel::sql_query(sql).load::<MetricRow>(c)?);
        if limit.is_some_and(|l| out.len() as i64 >= l) {
            break;
        }
        start = end + 1;
    }
    Ok(out)
}

/// The newest row of one machine: windows from the newest stored slot back, the first a
/// minute wide (a reporting machine's newest row is there), each next one six times
/// wider up to [`WINDOW`].
pub fn latest(c: &mut SqliteConnection, machine_id: i64) -> QueryResult<Option<MetricRow>> {
    let Some((lo, hi)) = span(c)? else {
        return Ok(None);
    };
    let (mut end, mut width) = (hi, 6);
    while end >= lo {
        let start = end.saturating_sub(width - 1).max(lo);
        width = (width * 6).min(WINDOW);
        let sql = format!(
            "{}SELECT h.* {} ORDER BY h.ts DESC LIMIT 1",
            with_slots(start, end),
            rows_of(&machine_id.to_string(), "")
        );
        if let Some(row) = diesel::sql_query(sql)
            .get_result::<MetricRow>(c)
            .optional()?
        {
            return Ok(Some(row));
        }
        end = start - 1;
    }
    Ok(None)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Rows stored for one machine.
pub fn count(c: &mut SqliteConnection, machine_id: i64) -> QueryResult<i64> {
    let Some((lo, hi)) = span(c)? else {
        return Ok(0);
    };
    let sql = format!(
        "{}SELECT COUNT(*) AS n {}",
        with_slots(lo, hi),
        rows_of(&machine_id.to_string(), "")
    );
    Ok(diesel::sql_query(sql).get_result::<Count>(c)?.n)
}

/// Deletes every row of `machines` (their machine rows are going); returns how many.
pub fn delete_machines(c: &mut SqliteConnection, machines: &[i64]) -> QueryResult<usize> {
    let Some((lo, hi)) = span(c)?.filter(|_| !machines.is_empty()) else {
        return Ok(0);
    };
    let ids: Vec<String> = machines.iter().map(i64::to_string).collect();
    let sql = format!(
        "{}DELETE FROM metrics_history WHERE rowid IN (SELECT h.rowid {})",
        with_slots(lo, hi),
        rows_of(&ids.join(", "), "")
    );
    diesel::sql_query(sql).execute(c)
}

/// The `WHERE` condition of a retention statement over `lo <= ts < hi`: a range of the
/// index's leading slot, so the rows are found without a scan.
pub fn time_range(lo: i64, hi: i64) -> String {
    format!(
        "ts / {SLOT_MS} >= {} AND ts / {SLOT_MS} <= {} AND ts >= {lo} AND ts < {hi}",
        slot(lo),
        slot(hi - 1)
    )
}

/// The start of the oldest stored slot (at or before the oldest row).
pub fn oldest(c: &mut SqliteConnection) -> QueryResult<Option<i64>> {
    Ok(span(c)?.map(|(lo, _)| lo.saturating_mul(SLOT_MS)))
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::db::backend::PooledConn;
    use crate::testing::TestDb;

    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }

    fn plan(c: &mut SqliteConnection, sql: &str) -> String {
        diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load::<Plan>(c)
            .unwrap()
            .into_iter()
            .map(|p| p.detail)
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// A new, migrated SQLite database (removed when the first value drops).
    fn open() -> (TestDb, PooledConn) {
        let db = TestDb::sqlite();
        let (pool, _) = crate::db::connect(&db.url, 1).unwrap();
        let conn = pool.get().unwrap();
        (db, conn)
    }

    /// Every statement on raw rows finds them through the slot index, never by a scan of
    /// the table (which would take minutes on a large history).
    #[test]
    fn every_statement_seeks_the_slot_index() {
        let (_db, mut conn) = open();
        let crate::db::DbConn::Sqlite(c) = &mut *conn else {
            unreachable!()
        };
        let (with, from) = (with_slots(10, 20), rows_of("1, 2", " AND h.ts >= 5"));
        // `SEARCH h USING [COVERING] INDEX …`: one seek per slot and machine.
        let seeks = "INDEX metrics_history_slot (<expr>=? AND machine_id=?";
        for sql in [
            format!("{with}SELECT h.* {from} ORDER BY h.ts LIMIT 5"),
            format!("{with}SELECT COUNT(*) {from}"),
            format!("{with}DELETE FROM metrics_history WHERE rowid IN (SELECT h.rowid {from})"),
        ] {
            let p = plan(c, &sql);
            assert!(
                p.contains("SEARCH h USING") && p.contains(seeks),
                "{sql}: {p}"
            );
            assert!(!p.contains("SCAN h"), "{sql}: {p}");
        }
        let p = plan(
            c,
            &format!(
                "DELETE FROM metrics_history WHERE {}",
                time_range(0, 60_000)
            ),
        );
        assert!(
            p.contains(
                "SEARCH metrics_history USING INDEX metrics_history_slot (<expr>>? AND <expr><?)"
            ),
            "{p}"
        );
        let p = plan(
            c,
            &format!("SELECT (SELECT MIN(ts / {SLOT_MS}) FROM metrics_history) AS lo"),
        );
        assert!(
            p.contains("SEARCH metrics_history USING COVERING INDEX"),
            "{p}"
        );
    }

    /// Reads that cross windows, the newest row of a machine several windows before the
    /// newest slot, paging and deleting give what a plain filter over the rows gives; a
    /// row of an unknown machine is refused.
    #[test]
    fn reads_match_a_plain_filter() {
        use crate::db::DbConn;
        use crate::db::metrics::{self, MetricRow};
        use lunasentri_schema::Sample;

        let (_db, mut conn) = open();
        conn.batch_execute(
            "INSERT INTO users (id, email, password_hash, role, created_at) VALUES (1, 'a@x.io', 'x', 'user', 0);
             INSERT INTO machines (id, owner_id, name, created_at) VALUES (1, 1, 'a', 0), (2, 1, 'b', 0);",
        )
        .unwrap();
        let hour = 3_600_000;
        // Machine 1: every 7 s for three hours; machine 2: every 13 s from 2 h to 6 h.
        let mut rows: Vec<MetricRow> = Vec::new();
        for (id, from, to, every) in [(1, 0, 3 * hour, 7_000), (2, 2 * hour, 6 * hour, 13_000)] {
            for (seq, ts) in (from..to).step_by(every).enumerate() {
                let s = Sample {
                    seq: seq as u64,
                    ts: 1_700_000_000_000 + ts,
                    ..Sample::default()
                };
                rows.push(MetricRow::from_sample(id, &s));
            }
        }
        let new = metrics::insert_new(&mut conn, &rows).unwrap();
        assert_eq!(new.len(), rows.len());
        assert!(
            metrics::insert_new(&mut conn, &rows[..10])
                .unwrap()
                .is_empty(),
            "stored once"
        );
        let ts_of = |id: i64, from: i64, to: i64| -> Vec<i64> {
            rows.iter()
                .filter(|r| r.machine_id == id && r.ts >= from && r.ts < to)
                .map(|r| r.ts)
                .collect()
        };
        let t0 = 1_700_000_000_000;
        let got = |r: Vec<MetricRow>| r.into_iter().map(|r| r.ts).collect::<Vec<_>>();
        for (from, to) in [
            (i64::MIN, i64::MAX),
            (t0 + 1_234, t0 + 2 * hour + 5_555),
            (t0 + 5 * hour, t0 + 9 * hour),
        ] {
            for id in [1, 2] {
                assert_eq!(
                    got(metrics::range(&mut conn, id, from, to).unwrap()),
                    ts_of(id, from, to)
                );
            }
        }
        let page = got(metrics::page(&mut conn, 1, t0 + 1_000, i64::MAX, 700).unwrap());
        assert_eq!(
            page,
            ts_of(1, t0 + 1_000, i64::MAX)[..700].to_vec(),
            "a page spans windows"
        );
        let latest = |c: &mut DbConn, id| metrics::latest(c, id).unwrap().map(|r| r.ts);
        assert_eq!(
            latest(&mut conn, 1),
            ts_of(1, i64::MIN, i64::MAX).last().copied()
        );
        assert_eq!(
            latest(&mut conn, 2),
            ts_of(2, i64::MIN, i64::MAX).last().copied()
        );
        assert_eq!(latest(&mut conn, 3), None);
        assert_eq!(
            metrics::count(&mut conn, 1).unwrap(),
            ts_of(1, i64::MIN, i64::MAX).len() as i64
        );
        let n2 = ts_of(2, i64::MIN, i64::MAX).len();
        assert_eq!(metrics::delete_machines(&mut conn, &[2]).unwrap(), n2);
        assert_eq!(metrics::count(&mut conn, 2).unwrap(), 0);
        assert_eq!(
            latest(&mut conn, 1),
            ts_of(1, i64::MIN, i64::MAX).last().copied()
        );
        // As the foreign key did: no row of a machine that does not exist.
        let stray = MetricRow::from_sample(
            99,
            &Sample {
                ts: t0,
                ..Sample::default()
            },
        );
        let err = metrics::insert_new(&mut conn, &[stray]).unwrap_err();
        assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
    }

    #[test]
    fn slots_truncate_like_sqlite() {
        assert_eq!(slot(19_999), 1);
        assert_eq!(slot(20_000), 2);
        assert_eq!(
            time_range(5_000, 20_000),
            "ts / 10000 >= 0 AND ts / 10000 <= 1 AND ts >= 5000 AND ts < 20000"
        );
    }
}
