//! Rollup tiers `metrics_1m` and `metrics_1h`: per machine and minute (hour) bucket, the
//! sample count `n` and, for every scalar in `SCALAR_NAMES`, its sum, min and max.
//!
//! They are maintained incrementally in the writer's transaction from the raw rows that
//! were actually new ([`insert_samples`]): a replayed sample is not counted twice, and a
//! late one merges into its bucket (`sum += , n += , min = min(), max = max()`), so a
//! bucket always equals the aggregate of the raw rows that were ever stored in it.
//! Storing the sum instead of the average keeps merging exact.
//!
//! The tables are 57 columns wide, past Diesel's column limit, so this module writes
//! their SQL from `SCALAR_NAMES` and reads rows by position.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, QueryableByName};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::row::{Field, NamedRow, Row};
use diesel::serialize::ToSql;
use diesel::sql_types::HasSqlType;
use diesel::sql_types::{BigInt, Double};
use lunasentri_schema::sample::SCALAR_NAMES;

use super::DbConn;
use super::metrics::{self, MetricRow};
use super::raw_slots;

/// Number of scalars rolled up.
pub const N: usize = SCALAR_NAMES.len();

/// Most groups per upsert statement (57 binds each: far under both backends' limits).
/// Smaller remainders go in power-of-two statements, so each connection caches at most
/// seven statement texts per tier.
const UPSERT_CHUNK: usize = 64;

/// A storage tier of history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Raw,
    Minute,
    Hour,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Raw, Tier::Minute, Tier::Hour];

    /// The name clients see in `MetricSeries::tier`.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Raw => "raw",
            Tier::Minute => "1m",
            Tier::Hour => "1h",
        }
    }

    /// Width of one stored bucket (raw rows are points: 1 ms).
    pub fn bucket_ms(self) -> i64 {
        match self {
            Tier::Raw => 1,
            Tier::Minute => 60_000,
            Tier::Hour => 3_600_000,
        }
    }

    pub fn table(self) -> &'static str {
        match self {
            Tier::Raw => "metrics_history",
            Tier::Minute => "metrics_1m",
            Tier::Hour => "metrics_1h",
        }
    }

    /// The time column of the tier's table.
    pub fn ts_column(self) -> &'static str {
        match self {
            Tier::Raw => "ts",
            _ => "bucket_ts",
        }
    }

    /// Start of the bucket holding `ts`.
    pub fn bucket_start(self, ts: i64) -> i64 {
        ts.div_euclid(self.bucket_ms()) * self.bucket_ms()
    }
}

/// Count, sum, min and max of every scalar over some samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Agg {
    pub n: i64,
    pub sum: [f64; N],
    pub min: [f64; N],
    pub max: [f64; N],
}

impl Agg {
    /// The aggregate of one sample.
    pub fn one(values: &[f64; N]) -> Self {
        Self {
            n: 1,
            sum: *values,
            min: *values,
            max: *values,
        }
    }

    /// Adds the samples of another aggregate.
    pub fn merge(&mut self, other: &Agg) {
        self.n += other.n;
        for k in 0..N {
            self.sum[k] += other.sum[k];
            self.min[k] = self.min[k].min(other.min[k]);
            self.max[k] = self.max[k].max(other.max[k]);
        }
    }

    /// Adds one sample.
    pub fn add(&mut self, values: &[f64; N]) {
        self.n += 1;
        for (k, v) in values.iter().enumerate() {
            self.sum[k] += v;
            self.min[k] = self.min[k].min(*v);
            self.max[k] = self.max[k].max(*v);
        }
    }
}

/// Stores raw rows idempotently and folds the new ones into both rollup tiers, all on
/// `conn` (the caller's transaction). Returns how many rows were new.
pub fn insert_samples<R: Borrow<MetricRow>>(conn: &mut DbConn, rows: &[R]) -> QueryResult<usize> {
    store(conn, rows).map(|new| new.len())
}

/// Like [`insert_samples`], returning the indices of the rows that were new. Rows of many
/// machines go in together: each tier then takes one upsert per 64 buckets touched.
pub fn store<R: Borrow<MetricRow>>(conn: &mut DbConn, rows: &[R]) -> QueryResult<Vec<usize>> {
    let new = metrics::insert_new(conn, rows)?;
    for tier in [Tier::Minute, Tier::Hour] {
        let mut groups: BTreeMap<(i64, i64), Agg> = BTreeMap::new();
        for &i in &new {
            let r: &MetricRow = rows[i].borrow();
            let v = r.to_sample_scalars();
            groups
                .entry((r.machine_id, tier.bucket_start(r.ts)))
                .and_modify(|a| a.add(&v))
                .or_insert_with(|| Agg::one(&v));
        }
        let groups: Vec<_> = groups.into_iter().collect();
        merge(conn, tier, &groups)?;
    }
    Ok(new)
}

/// Merges aggregates into a rollup tier: `sum += , n += , min = min(), max = max()` per
/// `(machine_id, bucket_ts)`, in statements of at most [`UPSERT_CHUNK`] groups.
pub fn merge(conn: &mut DbConn, tier: Tier, groups: &[((i64, i64), Agg)]) -> QueryResult<()> {
    let mut rest = groups;
    while !rest.is_empty() {
        let size = UPSERT_CHUNK.min(1 << rest.len().ilog2());
        let (now, later) = rest.split_at(size);
        upsert(conn, tier, now)?;
        rest = later;
    }
    Ok(())
}

/// The multi-row upsert merging groups into a rollup tier, as a Diesel query fragment
/// so its prepared statement is cached (one text per group count); `sql_query` text is
/// never cached, and preparing this wide statement costs more than running it.
struct Upsert<'a> {
    tier: Tier,
    pg: bool,
    groups: &'a [((i64, i64), Agg)],
}

impl Upsert<'_> {
    fn head(&self) -> String {
        let mut cols = vec!["machine_id".to_owned(), "bucket_ts".into(), "n".into()];
        for name in SCALAR_NAMES {
            for part in ["sum", "min", "max"] {
                cols.push(format!("{name}_{part}"));
            }
        }
        format!(
            "INSERT INTO {} ({}) VALUES ",
            self.tier.table(),
            cols.join(", ")
        )
    }

    fn tail(&self) -> String {
        let t = self.tier.table();
        let (least, greatest) = if self.pg {
            ("LEAST", "GREATEST")
        } else {
            ("MIN", "MAX")
        };
        let mut sets = vec![format!("n = {t}.n + excluded.n")];
        for name in SCALAR_NAMES {
            sets.push(format!("{name}_sum = {t}.{name}_sum + excluded.{name}_sum"));
            sets.push(format!(
                "{name}_min = {least}({t}.{name}_min, excluded.{name}_min)"
            ));
            sets.push(format!(
                "{name}_max = {greatest}({t}.{name}_max, excluded.{name}_max)"
            ));
        }
        format!(
            " ON CONFLICT (machine_id, bucket_ts) DO UPDATE SET {}",
            sets.join(", ")
        )
    }
}

impl QueryId for Upsert<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for Upsert<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Double>,
    i64: ToSql<BigInt, DB>,
    f64: ToSql<Double, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(&self.head());
        for (i, ((machine_id, bucket_ts), a)) in self.groups.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<BigInt, _>(machine_id)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(bucket_ts)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&a.n)?;
            for k in 0..N {
                for v in [&a.sum[k], &a.min[k], &a.max[k]] {
                    out.push_sql(", ");
                    out.push_bind_param::<Double, _>(v)?;
                }
            }
            out.push_sql(")");
        }
        out.push_sql(&self.tail());
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for Upsert<'_> {}

fn upsert(conn: &mut DbConn, tier: Tier, groups: &[((i64, i64), Agg)]) -> QueryResult<usize> {
    let pg = matches!(conn, DbConn::Pg(_));
    let q = Upsert { tier, pg, groups };
    crate::on_backend!(conn, c => q.execute(c))
}

/// One output bucket of [`aggregate`]: bucket index `idx` of `machine_id`, with the
/// count and, per requested metric, (sum, min, max).
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub machine_id: i64,
    pub idx: i64,
    pub n: i64,
    pub values: Vec<(f64, f64, f64)>,
}

impl<DB> QueryableByName<DB> for Bucket
where
    DB: Backend,
    i64: FromSql<BigInt, DB>,
    f64: FromSql<Double, DB>,
{
    fn build<'a>(row: &impl NamedRow<'a, DB>) -> deserialize::Result<Self> {
        let machine_id = NamedRow::get::<BigInt, i64>(row, "machine_id")?;
        let idx = NamedRow::get::<BigInt, i64>(row, "idx")?;
        let n = NamedRow::get::<BigInt, i64>(row, "n")?;
        let k = (Row::field_count(row).saturating_sub(3)) / 3;
        let mut values = Vec::with_capacity(k);
        for i in 0..k {
            let mut triple = [0.0; 3];
            for (j, slot) in triple.iter_mut().enumerate() {
                let field = Row::get(row, 3 + i * 3 + j).ok_or("missing aggregate column")?;
                *slot = <f64 as FromSql<Double, DB>>::from_nullable_sql(field.value())?;
            }
            values.push((triple[0], triple[1], triple[2]));
        }
        Ok(Self {
            machine_id,
            idx,
            n,
            values,
        })
    }
}

impl Bucket {
    /// The bucket as an aggregate; `values` must hold every scalar in `SCALAR_NAMES` order.
    pub fn to_agg(&self) -> Agg {
        let mut a = Agg::one(&[0.0; N]);
        a.n = self.n;
        for (k, &(s, lo, hi)) in self.values.iter().enumerate().take(N) {
            a.sum[k] = s;
            a.min[k] = lo;
            a.max[k] = hi;
        }
        a
    }
}

/// Aggregates `tier` rows of `machine_ids` with `from <= ts < to` into buckets of
/// `step_ms` (bucket `idx` starts at `from + idx * step_ms`) for the scalars `metrics`.
/// Only non-empty buckets are returned, ordered by machine and index.
///
/// PostgreSQL groups in the database (a hash aggregate, and fewer rows on the wire), as
/// does SQLite for raw rows. SQLite's rollup rows are read in key order and merged here
/// instead: they arrive already sorted, which spares SQLite a temporary B-tree that
/// costs more than the scan itself.
pub fn aggregate(
    conn: &mut DbConn,
    tier: Tier,
    machine_ids: &[i64],
    from: i64,
    to: i64,
    step_ms: i64,
    metrics: &[&str],
) -> QueryResult<Vec<Bucket>> {
    if machine_ids.is_empty() {
        return Ok(Vec::new());
    }
    if tier == Tier::Raw && machine_ids.len() > 1 && matches!(conn, DbConn::Sqlite(_)) {
        // SQLite's raw rows come slot by slot, every machine mixed: grouped together
        // they would all go through one temporary index. One machine at a time, each
        // group is small.
        let mut ids = machine_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::new();
        for id in ids {
            out.extend(aggregate(conn, tier, &[id], from, to, step_ms, metrics)?);
        }
        return Ok(out);
    }
    let t = tier.ts_column();
    let in_db = tier == Tier::Raw || matches!(conn, DbConn::Pg(_));
    let mut cols = Vec::new();
    for m in metrics {
        // Only names from SCALAR_NAMES ever reach the SQL text.
        let m = SCALAR_NAMES
            .iter()
            .find(|n| *n == m)
            .ok_or(diesel::result::Error::NotFound)?;
        cols.push(match (tier, in_db) {
            (Tier::Raw, _) => {
                let v = format!("CAST({m} AS DOUBLE PRECISION)");
                format!("SUM({v}), MIN({v}), MAX({v})")
            }
            (_, true) => format!("SUM({m}_sum), MIN({m}_min), MAX({m}_max)"),
            (_, false) => format!("{m}_sum, {m}_min, {m}_max"),
        });
    }
    let ids = machine_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let (with, filter) = match (tier, &mut *conn) {
        // SQLite's raw rows are keyed by time slot first (see `raw_slots`).
        (Tier::Raw, DbConn::Sqlite(c)) => match raw_slots::aggregate_source(c, &ids, from, to)? {
            Some(source) => source,
            None => return Ok(Vec::new()),
        },
        _ => (
            String::new(),
            format!(
                "FROM {} WHERE machine_id IN ({ids}) AND {t} >= {from} AND {t} < {to}",
                tier.table()
            ),
        ),
    };
    let tail = if cols.is_empty() {
        String::new()
    } else {
        format!(", {}", cols.join(", "))
    };
    let count = if tier == Tier::Raw {
        "COUNT(*)"
    } else {
        "CAST(SUM(n) AS BIGINT)"
    };
    let sql = if in_db {
        format!(
            "{with}SELECT machine_id, ({t} - ({from})) / {step_ms} AS idx, {count} AS n{tail} \
             {filter} GROUP BY machine_id, idx ORDER BY machine_id, idx"
        )
    } else {
        format!("SELECT machine_id, {t} AS idx, n{tail} {filter} ORDER BY machine_id, {t}")
    };
    let rows = crate::on_backend!(conn, c => diesel::sql_query(sql.as_str()).load::<Bucket>(c))?;
    if in_db {
        return Ok(rows);
    }
    let mut out: Vec<Bucket> = Vec::new();
    for mut b in rows {
        let idx = (b.idx - from).div_euclid(step_ms);
        match out.last_mut() {
            Some(last) if last.machine_id == b.machine_id && last.idx == idx => {
                last.n += b.n;
                for (acc, (s, lo, hi)) in last.values.iter_mut().zip(b.values) {
                    acc.0 += s;
                    acc.1 = acc.1.min(lo);
                    acc.2 = acc.2.max(hi);
                }
            }
            _ => {
                b.idx = idx;
                out.push(b);
            }
        }
    }
    Ok(out)
}

/// At most `limit` stored buckets of one machine in a rollup tier with
/// `bucket_ts >= from`, oldest first, as (bucket start, aggregate): one page of an
/// export or of a test's full read.
pub fn page(
    conn: &mut DbConn,
    tier: Tier,
    machine_id: i64,
    from: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, Agg)>> {
    let mut cols = vec!["machine_id, bucket_ts AS idx, n".to_owned()];
    for name in SCALAR_NAMES {
        cols.push(format!("{name}_sum, {name}_min, {name}_max"));
    }
    let sql = format!(
        "SELECT {} FROM {} WHERE machine_id = {machine_id} AND bucket_ts >= {from} \
         ORDER BY bucket_ts LIMIT {limit}",
        cols.join(", "),
        tier.table()
    );
    let rows = crate::on_backend!(conn, c => diesel::sql_query(sql.as_str()).load::<Bucket>(c))?;
    Ok(rows.into_iter().map(|b| (b.idx, b.to_agg())).collect())
}

/// Sets one bucket of a rollup tier to `bucket`'s aggregate (over every scalar, in
/// `SCALAR_NAMES` order), or removes it when there is none.
pub fn replace(
    conn: &mut DbConn,
    tier: Tier,
    machine_id: i64,
    bucket_ts: i64,
    bucket: Option<&Bucket>,
) -> QueryResult<()> {
    let sql = format!(
        "DELETE FROM {} WHERE machine_id = {machine_id} AND bucket_ts = {bucket_ts}",
        tier.table()
    );
    crate::on_backend!(conn, c => diesel::sql_query(sql.as_str()).execute(c))?;
    match bucket {
        Some(b) if b.n > 0 => merge(conn, tier, &[((machine_id, bucket_ts), b.to_agg())]),
        _ => Ok(()),
    }
}

/// Every stored bucket of one machine in a rollup tier (tests and tools).
pub fn load(conn: &mut DbConn, tier: Tier, machine_id: i64) -> QueryResult<Vec<(i64, Agg)>> {
    page(conn, tier, machine_id, -(1 << 62), i64::MAX)
}

/// Rows stored for a machine in a rollup tier.
pub fn count(conn: &mut DbConn, tier: Tier, machine_id: i64) -> QueryResult<i64> {
    use super::schema::{metrics_1h, metrics_1m};
    match tier {
        Tier::Raw => metrics::count(conn, machine_id),
        Tier::Minute => metrics_1m::table
            .filter(metrics_1m::machine_id.eq(machine_id))
            .count()
            .get_result(conn),
        Tier::Hour => metrics_1h::table
            .filter(metrics_1h::machine_id.eq(machine_id))
            .count()
            .get_result(conn),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use diesel::Connection;
    use lunasentri_schema::Sample;
    use rand::{RngExt, SeedableRng, rngs::StdRng};

    use super::*;
    use crate::testing::TestDb;

    pub(crate) fn machine(conn: &mut DbConn, name: &str) -> i64 {
        let owner = crate::db::users::insert(
            conn,
            &crate::db::users::NewUser {
                email: &format!("{name}@x.io"),
                password_hash: "x",
                role: "user",
                created_at: 0,
            },
        )
        .unwrap()
        .id;
        crate::db::machines::insert(
            conn,
            &crate::db::machines::NewMachine {
                owner_id: owner,
                name,
                api_key_hash: name,
                key_prefix: "k",
                status: "pending",
                hostname: None,
                created_at: 0,
            },
        )
        .unwrap()
        .id
    }

    pub(crate) fn random_sample(rng: &mut StdRng, ts: i64) -> Sample {
        Sample {
            seq: rng.random_range(0..1_000_000),
            ts,
            cpu_pct: rng.random_range(0.0..100.0),
            mem_used_pct: rng.random_range(0.0..100.0),
            disk_used_pct: rng.random_range(0.0..100.0),
            net_rx_bytes: rng.random_range(0..1u64 << 40),
            net_tx_bytes: rng.random_range(0..1u64 << 40),
            load1: rng.random_range(0.0..64.0),
            load5: rng.random_range(0.0..64.0),
            load15: rng.random_range(0.0..64.0),
            mem_used_bytes: rng.random_range(0..1u64 << 36),
            mem_total_bytes: 1 << 36,
            swap_used_bytes: rng.random_range(0..1u64 << 30),
            swap_total_bytes: 1 << 30,
            disk_read_bps: rng.random_range(0.0..1e9),
            disk_write_bps: rng.random_range(0.0..1e9),
            net_rx_bps: rng.random_range(0.0..1e9),
            net_tx_bps: rng.random_range(0.0..1e9),
            uptime_s: rng.random_range(0..1_000_000),
            procs: rng.random_range(0..5000),
            ..Sample::default()
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    /// Brute force: the rollup of every stored raw row, per bucket of `tier`.
    fn brute_force(conn: &mut DbConn, tier: Tier, machine_id: i64) -> BTreeMap<i64, Agg> {
        let mut out: BTreeMap<i64, Agg> = BTreeMap::new();
        for r in metrics::range(conn, machine_id, i64::MIN, i64::MAX).unwrap() {
            let v = r.to_sample_scalars();
            out.entry(tier.bucket_start(r.ts))
                .and_modify(|a| a.add(&v))
                .or_insert_with(|| Agg::one(&v));
        }
        out
    }

    /// Random batches with replays (same ts, other values), late and out-of-order
    /// samples, over two machines: both rollup tiers always equal the brute-force
    /// aggregate of the raw rows that are stored.
    fn rollups_match_brute_force(url: &str) {
        let (pool, _) = crate::db::connect(url, 1).unwrap();
        let mut c = pool.get().unwrap();
        rollups_match_brute_force_with(
            &mut c,
            |c, rows| {
                c.transaction(|c| insert_samples(c, rows)).unwrap();
            },
            |_| {},
        );
    }

    /// The body of [`rollups_match_brute_force`] with the write path as `store` (called
    /// once per batch) and `finish` (called before the tiers are compared).
    pub(crate) fn rollups_match_brute_force_with(
        c: &mut DbConn,
        mut store: impl FnMut(&mut DbConn, &[MetricRow]),
        finish: impl FnOnce(&mut DbConn),
    ) {
        let c = &mut *c;
        let ids = [machine(c, "a"), machine(c, "b")];
        let mut rng = StdRng::seed_from_u64(0x5eed_2026);
        let base = 1_800_000_000_000i64;
        let mut sent: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut duplicates = 0;
        for round in 0..60 {
            let id = ids[rng.random_range(0..ids.len())];
            let len = rng.random_range(1..40);
            let mut rows = Vec::new();
            for _ in 0..len {
                let earlier = sent.get(&id).filter(|v| !v.is_empty());
                let ts = match (rng.random_range(0..10), earlier) {
                    // A replay of a stored timestamp, possibly with other values.
                    (0..=2, Some(v)) => {
                        duplicates += 1;
                        v[rng.random_range(0..v.len())]
                    }
                    // Anywhere in a three-hour window: late and out of order.
                    _ => base + rng.random_range(0..3 * 3_600_000i64) / 250 * 250,
                };
                sent.entry(id).or_default().push(ts);
                rows.push(MetricRow::from_sample(id, &random_sample(&mut rng, ts)));
            }
            if round % 7 == 0 {
                // A batch replayed whole, as an agent does after a lost ack.
                let again = rows.clone();
                rows.extend(again);
            }
            store(c, &rows);
        }
        finish(c);
        assert!(duplicates > 0, "the test replays samples");
        for id in ids {
            for tier in [Tier::Minute, Tier::Hour] {
                let want = brute_force(c, tier, id);
                let got: BTreeMap<i64, Agg> = load(c, tier, id).unwrap().into_iter().collect();
                assert_eq!(
                    got.keys().collect::<Vec<_>>(),
                    want.keys().collect::<Vec<_>>(),
                    "{tier:?} buckets of machine {id}"
                );
                for (ts, w) in &want {
                    let g = &got[ts];
                    assert_eq!(g.n, w.n, "{tier:?} count at {ts}");
                    for (k, name) in SCALAR_NAMES.iter().enumerate() {
                        assert!(close(g.sum[k], w.sum[k]), "{tier:?} {name} sum at {ts}");
                        assert_eq!(g.min[k], w.min[k], "{tier:?} {name} min at {ts}");
                        assert_eq!(g.max[k], w.max[k], "{tier:?} {name} max at {ts}");
                    }
                }
            }
            let raw = count(c, Tier::Raw, id).unwrap();
            let in_hours: i64 = load(c, Tier::Hour, id)
                .unwrap()
                .iter()
                .map(|(_, a)| a.n)
                .sum();
            assert_eq!(raw, in_hours, "every stored sample is counted exactly once");
        }
    }

    /// Rollups equal the brute-force aggregate of raw rows on SQLite.
    #[test]
    fn rollups_match_brute_force_sqlite() {
        rollups_match_brute_force(&TestDb::sqlite().url);
    }

    /// Rollups equal the brute-force aggregate of raw rows on PostgreSQL.
    #[test]
    fn rollups_match_brute_force_postgres() {
        if let Some(db) = TestDb::postgres() {
            rollups_match_brute_force(&db.url);
        }
    }

    /// The aggregate query buckets raw rows and rollups alike, and a bucket that is
    /// re-sent is counted once.
    #[test]
    fn aggregate_buckets_all_tiers() {
        let db = TestDb::sqlite();
        let (pool, _) = crate::db::connect(&db.url, 1).unwrap();
        let mut c = pool.get().unwrap();
        let id = machine(&mut c, "q");
        let rows: Vec<MetricRow> = (0..180)
            .map(|i| {
                let s = Sample {
                    ts: i * 1000,
                    cpu_pct: i as f64,
                    ..Sample::default()
                };
                MetricRow::from_sample(id, &s)
            })
            .collect();
        assert_eq!(insert_samples(&mut c, &rows).unwrap(), 180);
        assert_eq!(insert_samples(&mut c, &rows).unwrap(), 0);
        for tier in [Tier::Raw, Tier::Minute] {
            let b = aggregate(&mut c, tier, &[id], 0, 180_000, 120_000, &["cpu_pct"]).unwrap();
            assert_eq!(b.len(), 2, "{tier:?}");
            assert_eq!((b[0].n, b[1].n), (120, 60), "{tier:?}");
            assert_eq!(b[0].values[0], ((0..120).sum::<i64>() as f64, 0.0, 119.0));
            assert_eq!(b[1].values[0].2, 179.0);
        }
        assert_eq!(count(&mut c, Tier::Hour, id).unwrap(), 1);
    }
}
