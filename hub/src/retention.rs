//! Retention: how long each history tier is kept, and the background task that deletes
//! what has expired.
//!
//! The task runs on its own thread with pooled connections and deletes in short
//! statements (SQLite's rollup tiers per machine, everything else per time slice: see
//! [`Slicing`]),
//! each sized to take about [`PassOptions::step`] (at most [`PassOptions::batch`] rows)
//! and each followed by a pause at least as long as it took:
//! the writer never waits long for the database, and retention holds SQLite's write lock
//! (and uses a core) at most half the time, however much has expired. On SQLite it then
//! returns free pages to the file system with `PRAGMA incremental_vacuum` (new databases
//! are created with `auto_vacuum = INCREMENTAL`) in steps of the same length, for at most
//! [`PassOptions::vacuum_budget`] per pass: after a large deletion the file shrinks over
//! several passes, and new rows reuse the free pages meanwhile. On PostgreSQL the batched
//! deletes leave dead rows to autovacuum, which reuses their space for new rows. Progress
//! is exported at `/metrics` (`lunasentri_retention_*`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diesel::QueryResult;
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use lunasentri_schema::api::RetentionSettings;

use crate::clock::Clock;
use crate::db::rollups::Tier;
use crate::db::{DbConn, Pool, machines, raw_slots, settings};
use crate::telemetry::{HubMetrics, TierLabel};

/// Longest retention accepted for any tier (100 years).
const MAX_KEEP: Duration = Duration::from_secs(100 * 365 * 86_400);
/// Shortest retention accepted for any tier.
const MIN_KEEP: Duration = Duration::from_secs(3600);
/// Rows of the first DELETE statement of each tier in a pass; later ones are sized from
/// how long the previous one took.
const DELETE_FIRST_ROWS: i64 = 500;
/// Most pages returned to the file system per `incremental_vacuum` statement.
const VACUUM_PAGES: i64 = 2000;
/// Pages of the first `incremental_vacuum` statement of a pass; later ones are sized
/// from how long it took.
const VACUUM_FIRST_PAGES: i64 = 100;

/// How long each tier is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw: Duration,
    pub minute: Duration,
    pub hour: Duration,
}

impl Default for Retention {
    /// Raw 48 h, 1-minute rollups 30 days, 1-hour rollups 400 days.
    fn default() -> Self {
        Self {
            raw: Duration::from_secs(48 * 3600),
            minute: Duration::from_secs(30 * 86_400),
            hour: Duration::from_secs(400 * 86_400),
        }
    }
}

impl Retention {
    /// How long `tier` is kept, in milliseconds.
    pub fn keep_ms(&self, tier: Tier) -> i64 {
        let d = match tier {
            Tier::Raw => self.raw,
            Tier::Minute => self.minute,
            Tier::Hour => self.hour,
        };
        i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
    }

    /// Checks bounds and order; on error returns the field at fault (`raw`, `minute`
    /// or `hour`) and why. Coarser tiers must be kept at least as long as finer ones,
    /// since queries fall back to them for old ranges.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (name, d) in [
            ("raw", self.raw),
            ("minute", self.minute),
            ("hour", self.hour),
        ] {
            if d < MIN_KEEP || d > MAX_KEEP {
                return Err((name, "must be between 1 hour and 100 years".into()));
            }
        }
        if self.minute < self.raw {
            return Err((
                "minute",
                "must be at least as long as the raw retention".into(),
            ));
        }
        if self.hour < self.minute {
            return Err((
                "hour",
                "must be at least as long as the minute retention".into(),
            ));
        }
        Ok(())
    }

    pub fn to_api(self) -> RetentionSettings {
        RetentionSettings {
            raw_s: self.raw.as_secs(),
            minute_s: self.minute.as_secs(),
            hour_s: self.hour.as_secs(),
        }
    }

    pub fn from_api(s: &RetentionSettings) -> Self {
        Self {
            raw: Duration::from_secs(s.raw_s),
            minute: Duration::from_secs(s.minute_s),
            hour: Duration::from_secs(s.hour_s),
        }
    }
}

/// Key of the retention row in `settings`.
const KEY: &str = "retention";

/// The retention in force: the one set through the admin API, else `defaults` (the
/// configuration file's).
pub fn current(conn: &mut DbConn, defaults: Retention) -> QueryResult<Retention> {
    Ok(settings::get(conn, KEY)?
        .and_then(|v| serde_json::from_str::<RetentionSettings>(&v).ok())
        .map(|s| Retention::from_api(&s))
        .filter(|r| r.validate().is_ok())
        .unwrap_or(defaults))
}

/// Stores the retention set through the admin API (it outlives restarts).
pub fn store(conn: &mut DbConn, r: Retention) -> QueryResult<()> {
    let json = serde_json::to_string(&r.to_api()).unwrap_or_default();
    settings::put(conn, KEY, &json)
}

/// Statement sizes and pauses of a retention pass.
#[derive(Debug, Clone)]
pub struct PassOptions {
    /// Most rows one DELETE statement removes (for time slices: the rows a slice is
    /// sized to hold at the rate seen so far).
    pub batch: i64,
    /// How long one statement should hold the database: DELETE batches and vacuum steps
    /// are resized towards it from how long the previous one took.
    pub step: Duration,
    /// Shortest pause after each statement; the pause is never shorter than the
    /// statement took, leaving the database to ingestion and queries at least half the
    /// time.
    pub pause: Duration,
    /// Longest time one pass spends returning free pages to the file system.
    pub vacuum_budget: Duration,
    /// How expired rows are grouped into statements.
    pub slicing: Slicing,
}

/// How a pass groups expired rows into DELETE statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Slicing {
    /// By time, except SQLite's rollup tiers, which go by machine.
    #[default]
    Auto,
    /// One machine's oldest expired rows per statement. In SQLite's rollup tiers a
    /// machine's rows are neighbours in the primary-key order, so a statement touches few
    /// pages. SQLite's raw rows are keyed by time slot first (`db::raw_slots`) and always
    /// go by time slices: a slice is one contiguous range of that key.
    PerMachine,
    /// One time slice of every machine per statement. PostgreSQL stores rows in arrival
    /// order, so a slice sits in a few neighbouring pages found through the BRIN index
    /// on the time column; statements per machine would visit every page of the expired
    /// range once per machine (measured: `make bench-pg-volume`, docs/operations.md).
    ByTime,
}

impl Default for PassOptions {
    fn default() -> Self {
        Self {
            batch: 5000,
            step: Duration::from_millis(50),
            pause: Duration::from_millis(20),
            vacuum_budget: Duration::from_secs(60),
            slicing: Slicing::Auto,
        }
    }
}

impl PassOptions {
    /// Sleeps after a statement that took `took`.
    fn rest(&self, took: Duration) {
        let pause = self.pause.max(took);
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
}

/// Size of the next statement: `size` scaled by how far `took` was from `step`, at least
/// 1 and at most `max`, and at most twice `size` (one fast statement is no proof).
fn next_size(size: i64, took: Duration, step: Duration, max: i64) -> i64 {
    let took = took.as_secs_f64().max(1e-6);
    let scaled = (size as f64 * step.as_secs_f64() / took) as i64;
    scaled.clamp(1, size.saturating_mul(2).clamp(1, max.max(1)))
}

/// Rows deleted by one pass, per tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    pub raw: u64,
    pub minute: u64,
    pub hour: u64,
}

impl Deleted {
    fn tier_mut(&mut self, tier: Tier) -> &mut u64 {
        match tier {
            Tier::Raw => &mut self.raw,
            Tier::Minute => &mut self.minute,
            Tier::Hour => &mut self.hour,
        }
    }

    pub fn total(&self) -> u64 {
        self.raw + self.minute + self.hour
    }
}

/// Sets `lunasentri_retention_running` for as long as it lives.
struct Running<'a>(&'a HubMetrics);

impl<'a> Running<'a> {
    fn new(metrics: &'a HubMetrics) -> Self {
        metrics.retention_running.set(1);
        Self(metrics)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.retention_running.set(0);
    }
}

/// Deletes, in every tier, the rows older than `now_ms` minus that tier's retention,
/// in statements sized to take about `opts.step` (see [`Slicing`]), each on a connection
/// taken from the pool for that statement only, counting them in `metrics` as it goes;
/// then returns free pages to the file system (SQLite). Stops early when `stop` is set.
pub fn pass(
    pool: &Pool,
    now_ms: i64,
    keep: &Retention,
    opts: &PassOptions,
    stop: &AtomicBool,
    metrics: &HubMetrics,
) -> QueryResult<Deleted> {
    let _running = Running::new(metrics);
    let get = || {
        pool.get()
            .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))
    };
    let sqlite = matches!(&*get()?, DbConn::Sqlite(_));
    let by_time = match opts.slicing {
        Slicing::Auto => !sqlite,
        Slicing::PerMachine => false,
        Slicing::ByTime => true,
    };
    let ids = if by_time {
        Vec::new()
    } else {
        machines::ids(&mut *get()?, None)?
    };
    let mut deleted = Deleted::default();
    for tier in Tier::ALL {
        let cutoff = now_ms.saturating_sub(keep.keep_ms(tier));
        let counter = metrics
            .retention_deleted_rows
            .get_or_create(&TierLabel { tier: tier.name() });
        let mut delete = |sql: String| -> QueryResult<(i64, Duration)> {
            let mut conn = get()?;
            let began = Instant::now();
            let n = diesel::sql_query(sql).execute(&mut *conn)? as u64;
            let took = began.elapsed();
            counter.inc_by(n);
            *deleted.tier_mut(tier) += n;
            Ok((n as i64, took))
        };
        // SQLite's raw rows are keyed by time slot first (`db::raw_slots`): only time
        // slices find them without a scan.
        let slotted = sqlite && tier == Tier::Raw;
        let finished = if by_time || slotted {
            let oldest = oldest(&mut *get()?, tier)?;
            by_time_slices(&mut delete, tier, slotted, oldest, cutoff, opts, stop)?
        } else {
            per_machine(&mut delete, &ids, tier, cutoff, opts, stop)?
        };
        if !finished {
            return Ok(deleted);
        }
    }
    reclaim(pool, opts, stop, metrics)?;
    Ok(deleted)
}

/// Runs one DELETE statement: rows removed and how long it took.
type Delete<'a> = dyn FnMut(String) -> QueryResult<(i64, Duration)> + 'a;

/// Expires one tier machine by machine, each statement removing at most `b` rows of one
/// machine (its `b` oldest expired ones), `b` resized after every full statement and
/// carried from machine to machine. Returns false when stopped.
fn per_machine(
    delete: &mut Delete,
    ids: &[i64],
    tier: Tier,
    cutoff: i64,
    opts: &PassOptions,
    stop: &AtomicBool,
) -> QueryResult<bool> {
    let (t, c) = (tier.table(), tier.ts_column());
    let max = opts.batch.max(1);
    let mut b = DELETE_FIRST_ROWS.min(max);
    for &id in ids {
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            // At most `b` rows: those up to the b-th oldest expired timestamp
            // (timestamps are unique per machine), else all expired ones.
            let sql = format!(
                "DELETE FROM {t} WHERE machine_id = {id} AND {c} < {cutoff} AND {c} <= \
                 COALESCE((SELECT {c} FROM {t} WHERE machine_id = {id} AND {c} < {cutoff} \
                 ORDER BY {c} LIMIT 1 OFFSET {}), {cutoff})",
                b - 1
            );
            let (n, took) = delete(sql)?;
            if n < b {
                if n > 0 {
                    opts.rest(took);
                }
                break;
            }
            opts.rest(took);
            b = next_size(b, took, opts.step, max);
        }
    }
    Ok(true)
}

/// Expires one tier by time slices across all machines, from the oldest stored
/// timestamp up to `cutoff`: `[lo, hi)` per statement, the width resized after every
/// statement towards `opts.step` and so that a slice holds about `opts.batch` rows at
/// the rate seen so far. `slotted`: the table is SQLite's raw one, keyed by time slot.
/// Returns false when stopped.
fn by_time_slices(
    delete: &mut Delete,
    tier: Tier,
    slotted: bool,
    oldest: Option<i64>,
    cutoff: i64,
    opts: &PassOptions,
    stop: &AtomicBool,
) -> QueryResult<bool> {
    let (t, c) = (tier.table(), tier.ts_column());
    let Some(mut lo) = oldest else {
        return Ok(true);
    };
    // One second of raw rows, one bucket of a rollup tier.
    let mut width = tier.bucket_ms().max(1000);
    while lo < cutoff {
        if stop.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let hi = lo.saturating_add(width).min(cutoff);
        let range = if slotted {
            raw_slots::time_range(lo, hi)
        } else {
            format!("{c} >= {lo} AND {c} < {hi}")
        };
        let (n, took) = delete(format!("DELETE FROM {t} WHERE {range}"))?;
        if n > 0 {
            opts.rest(took);
        }
        let by_time = next_size(width, took, opts.step, i64::MAX);
        let by_rows = if n > 0 {
            (opts.batch.max(1) as f64 * (hi - lo) as f64 / n as f64) as i64
        } else {
            i64::MAX
        };
        width = by_time.min(by_rows).max(1);
        lo = hi;
    }
    Ok(true)
}

#[derive(diesel::QueryableByName)]
struct Oldest {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    oldest: Option<i64>,
}

/// The oldest timestamp stored in `tier` (for SQLite's raw rows, the start of their
/// oldest slot): the smallest of the machines' oldest ones, each found through the
/// primary key on `(machine_id, time)` rather than by a scan.
fn oldest(conn: &mut DbConn, tier: Tier) -> QueryResult<Option<i64>> {
    if let (Tier::Raw, DbConn::Sqlite(c)) = (tier, &mut *conn) {
        return raw_slots::oldest(c);
    }
    let (t, c) = (tier.table(), tier.ts_column());
    Ok(diesel::sql_query(format!(
        "SELECT MIN(m) AS oldest FROM (SELECT (SELECT MIN({c}) FROM {t} \
         WHERE {t}.machine_id = machines.id) AS m FROM machines) per_machine"
    ))
    .get_result::<Oldest>(conn)?
    .oldest)
}

/// SQLite: hands free pages back to the file system a slice at a time, for at most
/// `opts.vacuum_budget`. Each page costs more the longer the free list is, so after a
/// large deletion this takes several passes.
fn reclaim(
    pool: &Pool,
    opts: &PassOptions,
    stop: &AtomicBool,
    metrics: &HubMetrics,
) -> QueryResult<()> {
    let Ok(mut conn) = pool.get() else {
        return Ok(());
    };
    if !matches!(&*conn, DbConn::Sqlite(_)) {
        return Ok(());
    }
    let started = Instant::now();
    let mut free = free_pages(&mut conn)?;
    let mut pages = VACUUM_FIRST_PAGES.min(VACUUM_PAGES);
    while free > 0 && !stop.load(Ordering::Relaxed) && started.elapsed() < opts.vacuum_budget {
        let began = Instant::now();
        conn.batch_execute(&format!("PRAGMA incremental_vacuum({pages})"))?;
        let took = began.elapsed();
        let now = free_pages(&mut conn)?;
        if now >= free {
            // auto_vacuum is off (a file from before it was enabled): nothing to do.
            break;
        }
        metrics.retention_vacuumed_pages.inc_by((free - now) as u64);
        free = now;
        opts.rest(took);
        pages = next_size(pages, took, opts.step, VACUUM_PAGES);
    }
    metrics.retention_free_pages.set(free);
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct FreeList {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    freelist_count: i64,
}

fn free_pages(conn: &mut DbConn) -> QueryResult<i64> {
    let DbConn::Sqlite(c) = conn else {
        return Ok(0);
    };
    Ok(diesel::sql_query("PRAGMA freelist_count")
        .get_result::<FreeList>(c)?
        .freelist_count)
}

/// The background retention task.
pub struct RetentionTask {
    stop: Arc<AtomicBool>,
    wake: std::sync::mpsc::Sender<()>,
    handle: JoinHandle<()>,
}

impl RetentionTask {
    /// Starts the thread: a first pass after `first`, then one every `every`.
    pub fn start(
        pool: Pool,
        defaults: Retention,
        clock: Clock,
        first: Duration,
        every: Duration,
        metrics: Arc<HubMetrics>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (wake, rx) = std::sync::mpsc::channel::<()>();
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("lunasentri-retention".into())
            .spawn(move || {
                let mut wait = first;
                // Any message (or a dropped sender) means stop; a timeout means work.
                while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(wait) {
                    wait = every;
                    let keep = match pool.get() {
                        Ok(mut c) => current(&mut c, defaults).unwrap_or(defaults),
                        Err(_) => continue,
                    };
                    let started = Instant::now();
                    let opts = PassOptions::default();
                    match pass(&pool, clock.now_ms(), &keep, &opts, &flag, &metrics) {
                        Ok(d) if d.total() > 0 => tracing::info!(
                            raw = d.raw,
                            minute = d.minute,
                            hour = d.hour,
                            seconds = started.elapsed().as_secs_f64(),
                            "retention: expired history deleted"
                        ),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "retention pass failed; retrying later")
                        }
                    }
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                }
            })
            .expect("spawn retention thread");
        Self { stop, wake, handle }
    }

    /// Stops the task (mid-pass if need be) and waits for it.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.wake.send(());
        let _ = self.handle.join();
    }
}

#[cfg(test)]
mod tests {
    use diesel::Connection;
    use lunasentri_schema::Sample;

    use super::*;
    use crate::db::metrics::MetricRow;
    use crate::db::rollups::{self, insert_samples};
    use crate::testing::TestDb;

    const H: i64 = 3_600_000;

    fn machine(conn: &mut DbConn, name: &str) -> i64 {
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
        machines::insert(
            conn,
            &machines::NewMachine {
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

    /// With time under the test's control, each pass deletes exactly the rows older than
    /// each tier's retention (in small batches), and nothing else; `/metrics` counts them.
    fn deletes_exactly_what_expired(url: &str, slicing: Slicing) {
        let (pool, _) = crate::db::connect(url, 2).unwrap();
        let mut c = pool.get().unwrap();
        let ids = [machine(&mut c, "r1"), machine(&mut c, "r2")];
        // One sample every 5 minutes over 10 hours, for both machines.
        let start = 1_000 * H;
        for &id in &ids {
            let rows: Vec<MetricRow> = (0..120)
                .map(|i| {
                    let s = Sample {
                        ts: start + i * 300_000,
                        ..Sample::default()
                    };
                    MetricRow::from_sample(id, &s)
                })
                .collect();
            c.transaction(|c| insert_samples(c, &rows)).unwrap();
        }
        drop(c);
        let keep = Retention {
            raw: Duration::from_secs(2 * 3600),
            minute: Duration::from_secs(4 * 3600),
            hour: Duration::from_secs(6 * 3600),
        };
        let opts = PassOptions {
            batch: 7,
            pause: Duration::ZERO,
            slicing,
            ..PassOptions::default()
        };
        let now = start + 10 * H;
        let stop = AtomicBool::new(false);
        let metrics = HubMetrics::default();
        let expected = |tier: Tier| -> u64 {
            let cutoff = now - keep.keep_ms(tier);
            let per_machine = (0..120)
                .map(|i| tier.bucket_start(start + i * 300_000))
                .filter(|ts| *ts < cutoff)
                .collect::<std::collections::BTreeSet<_>>()
                .len() as u64;
            per_machine * ids.len() as u64
        };
        let want = Deleted {
            raw: expected(Tier::Raw),
            minute: expected(Tier::Minute),
            hour: expected(Tier::Hour),
        };
        assert!(want.raw > 7 && want.minute > 0 && want.hour > 0);
        assert_eq!(
            pass(&pool, now, &keep, &opts, &stop, &metrics).unwrap(),
            want
        );
        // `/metrics` counts the same rows, and no pass is running any more.
        for tier in Tier::ALL {
            let counted = metrics
                .retention_deleted_rows
                .get_or_create(&TierLabel { tier: tier.name() })
                .get();
            assert_eq!(counted, want_for(tier, &want), "{tier:?} counter");
        }
        assert_eq!(metrics.retention_running.get(), 0);
        let mut c = pool.get().unwrap();
        for &id in &ids {
            for tier in Tier::ALL {
                let cutoff = now - keep.keep_ms(tier);
                let left: Vec<i64> = match tier {
                    Tier::Raw => crate::db::metrics::range(&mut c, id, i64::MIN, i64::MAX)
                        .unwrap()
                        .iter()
                        .map(|r| r.ts)
                        .collect(),
                    _ => rollups::load(&mut c, tier, id)
                        .unwrap()
                        .iter()
                        .map(|(ts, _)| *ts)
                        .collect(),
                };
                assert!(
                    left.iter().all(|ts| *ts >= cutoff),
                    "{tier:?} kept expired rows"
                );
                let total = (0..120)
                    .map(|i| tier.bucket_start(start + i * 300_000))
                    .collect::<std::collections::BTreeSet<_>>()
                    .len();
                let kept = total as u64 - want_for(tier, &want) / ids.len() as u64;
                assert_eq!(left.len() as u64, kept, "{tier:?} deleted unexpired rows");
            }
        }
        drop(c);
        // A second pass at the same instant finds nothing more.
        assert_eq!(
            pass(&pool, now, &keep, &opts, &stop, &metrics).unwrap(),
            Deleted::default()
        );
    }

    fn want_for(tier: Tier, d: &Deleted) -> u64 {
        match tier {
            Tier::Raw => d.raw,
            Tier::Minute => d.minute,
            Tier::Hour => d.hour,
        }
    }

    /// Retention deletes exactly what expired, on SQLite, with either kind of statement
    /// (per machine is its default).
    #[test]
    fn retention_pass_sqlite() {
        for slicing in [Slicing::Auto, Slicing::ByTime] {
            deletes_exactly_what_expired(&TestDb::sqlite().url, slicing);
        }
    }

    /// Retention deletes exactly what expired, on PostgreSQL, with either kind of
    /// statement (by time slices is its default).
    #[test]
    fn retention_pass_postgres() {
        for slicing in [Slicing::Auto, Slicing::PerMachine] {
            if let Some(db) = TestDb::postgres() {
                deletes_exactly_what_expired(&db.url, slicing);
            }
        }
    }

    /// On PostgreSQL every history table has a BRIN index on its time column, through
    /// which time slices are found (whether the planner uses it depends on the table's
    /// size: `make bench-pg-volume` shows it at volume).
    #[test]
    fn postgres_history_tables_have_brin_indexes_on_time() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let (pool, _) = crate::db::connect(&db.url, 1).unwrap();
        #[derive(diesel::QueryableByName)]
        struct IndexDef {
            #[diesel(sql_type = diesel::sql_types::Text)]
            indexdef: String,
        }
        for tier in Tier::ALL {
            let (t, col) = (tier.table(), tier.ts_column());
            let defs: Vec<IndexDef> = diesel::sql_query(format!(
                "SELECT indexdef FROM pg_indexes WHERE tablename = '{t}'"
            ))
            .load(&mut *pool.get().unwrap())
            .unwrap();
            assert!(
                defs.iter()
                    .any(|d| d.indexdef.contains(&format!("USING brin ({col})"))),
                "{t}: no BRIN index on {col}"
            );
        }
    }

    /// A new SQLite file uses incremental auto-vacuum, so a pass returns freed pages (and
    /// counts them); what one pass's vacuum budget leaves, a later pass returns even when
    /// it deletes nothing.
    #[test]
    fn sqlite_reclaims_space() {
        let db = TestDb::sqlite();
        let (pool, _) = crate::db::connect(&db.url, 1).unwrap();
        let mut c = pool.get().unwrap();
        #[derive(diesel::QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            auto_vacuum: i64,
        }
        let mode = diesel::sql_query("PRAGMA auto_vacuum")
            .get_result::<Mode>(&mut *c)
            .unwrap();
        assert_eq!(mode.auto_vacuum, 2, "INCREMENTAL");
        let id = machine(&mut c, "v");
        let rows: Vec<MetricRow> = (0..5000)
            .map(|i| {
                MetricRow::from_sample(
                    id,
                    &Sample {
                        ts: i * 1000,
                        ..Sample::default()
                    },
                )
            })
            .collect();
        c.transaction(|c| insert_samples(c, &rows)).unwrap();
        drop(c);
        let metrics = HubMetrics::default();
        let keep = Retention {
            raw: Duration::from_secs(3600),
            minute: Duration::from_secs(3600),
            hour: Duration::from_secs(3600),
        };
        let stop = AtomicBool::new(false);
        let no_vacuum = PassOptions {
            vacuum_budget: Duration::ZERO,
            ..PassOptions::default()
        };
        let d = pass(&pool, 100 * H, &keep, &no_vacuum, &stop, &metrics).unwrap();
        assert_eq!(d.raw, 5000);
        let left = free_pages(&mut pool.get().unwrap()).unwrap();
        assert!(left > 0);
        assert_eq!(metrics.retention_free_pages.get(), left);
        assert_eq!(metrics.retention_vacuumed_pages.get(), 0);

        let d = pass(
            &pool,
            100 * H,
            &keep,
            &PassOptions::default(),
            &stop,
            &metrics,
        )
        .unwrap();
        assert_eq!(d, Deleted::default());
        assert_eq!(free_pages(&mut pool.get().unwrap()).unwrap(), 0);
        assert_eq!(metrics.retention_free_pages.get(), 0);
        assert_eq!(metrics.retention_vacuumed_pages.get(), left as u64);
    }

    /// Statements shrink at once when they take longer than the step, grow at most
    /// twofold when faster, and stay between 1 and the maximum.
    #[test]
    fn statement_size_follows_the_step() {
        let ms = Duration::from_millis;
        let step = ms(50);
        assert_eq!(next_size(1000, ms(200), step, 5000), 250);
        assert_eq!(next_size(1000, ms(50), step, 5000), 1000);
        assert_eq!(next_size(1000, ms(1), step, 5000), 2000);
        assert_eq!(next_size(4000, ms(1), step, 5000), 5000);
        assert_eq!(next_size(10, Duration::from_secs(100), step, 5000), 1);
        assert_eq!(next_size(1, Duration::ZERO, step, 0), 1);
    }
}
