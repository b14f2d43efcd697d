//! Rollup additions the writer holds in memory for a while before writing them.
//!
//! Writing both rollup tiers with every flush costs two wide upserts per sample, more
//! than the raw row itself. Instead, the writer folds each flush's new raw rows into
//! per-bucket aggregates here and merges an aggregate into its tier only once it has
//! waited `delay` (staggered per machine, so buckets that open together are not all
//! written together): a machine at 1 Hz then costs one upsert per tier per `delay`.
//!
//! Crash safety: the transaction that stores the raw rows starting a pending aggregate
//! also inserts its `(machine, tier, bucket)` into `rollup_pending`, and the one that
//! merges the aggregate deletes that row. Rows left by a crash name exactly the buckets
//! whose rollups lack committed raw rows; [`recover`] recomputes them at start-up (1-minute
//! buckets from raw rows, then 1-hour buckets from 1-minute ones) before any new sample
//! is written. State changes are staged and applied only after the caller's transaction
//! commits ([`PendingRollups::apply`]), so a rolled-back flush leaves memory as it was.
//!
//! Every hub of a cluster recovers its own crash at start-up from rows any hub may have
//! written, so cluster mode writes rollups with every flush (`delay` zero: nothing is
//! held and no marker row is ever written).

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::prelude::*;
use lunasentri_schema::sample::SCALAR_NAMES;

use super::DbConn;
use super::metrics::MetricRow;
use super::rollups::{self, Agg, Tier};
use super::schema::{machines, rollup_pending as rp};

type Key = (i64, Tier, i64);

/// One bucket's additions not yet in its tier, and when they are due.
#[derive(Debug, Clone)]
struct Pending {
    agg: Agg,
    due: i64,
}

/// What one flush changes in memory, applied after its transaction commits.
#[derive(Debug, Default)]
#[must_use = "apply it once the transaction has committed"]
pub struct Staged {
    set: Vec<(Key, Pending)>,
    written: Vec<Key>,
}

/// The writer's pending rollup additions.
#[derive(Debug)]
pub struct PendingRollups {
    delay_ms: i64,
    pending: HashMap<Key, Pending>,
}

fn tier_code(t: Tier) -> i32 {
    match t {
        Tier::Raw => 0,
        Tier::Minute => 1,
        Tier::Hour => 2,
    }
}

fn tier_of(code: i32) -> Option<Tier> {
    match code {
        1 => Some(Tier::Minute),
        2 => Some(Tier::Hour),
        _ => None,
    }
}

impl PendingRollups {
    /// `delay_ms` zero writes every addition in the flush that stored its raw rows.
    pub fn new(delay_ms: u64) -> Self {
        Self {
            delay_ms: i64::try_from(delay_ms).unwrap_or(i64::MAX),
            pending: HashMap::new(),
        }
    }

    /// Buckets holding additions not yet written.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Whether any held addition is due at `now`.
    pub fn any_due(&self, now: i64) -> bool {
        self.pending.values().any(|p| p.due <= now)
    }

    /// When an aggregate opened at `now` is due: between `delay / 2` and `delay` later,
    /// spread by machine so that buckets opening together are written apart.
    fn due(&self, machine_id: i64, now: i64) -> i64 {
        let half = self.delay_ms / 2;
        let spread = if half > 0 {
            machine_id.wrapping_mul(7919).rem_euclid(half)
        } else {
            0
        };
        now.saturating_add(half + spread)
    }

    /// Folds `rows` (raw rows this flush stored as new) into the pending aggregates and
    /// writes, on `conn` (the caller's transaction), every aggregate that is due at `now`,
    /// or all of them when `all` is set (shutdown). Returns the change to apply to
    /// memory once the transaction commits.
    pub fn write(
        &self,
        conn: &mut DbConn,
        rows: &[&MetricRow],
        now: i64,
        all: bool,
    ) -> QueryResult<Staged> {
        let mut touched: HashMap<Key, Pending> = HashMap::new();
        let mut opened: Vec<Key> = Vec::new();
        for r in rows {
            let v = r.to_sample_scalars();
            for tier in [Tier::Minute, Tier::Hour] {
                let key = (r.machine_id, tier, tier.bucket_start(r.ts));
                match touched.get_mut(&key) {
                    Some(p) => p.agg.add(&v),
                    None => {
                        let p = match self.pending.get(&key) {
                            Some(p) => {
                                let mut p = p.clone();
                                p.agg.add(&v);
                                p
                            }
                            None => {
                                opened.push(key);
                                Pending {
                                    agg: Agg::one(&v),
                                    due: self.due(r.machine_id, now),
                                }
                            }
                        };
                        touched.insert(key, p);
                    }
                }
            }
        }
        let is_due = |p: &Pending| all || self.delay_ms == 0 || p.due <= now;
        // Additions held from earlier flushes whose machine may have been deleted since
        // (their rows went with it): those are dropped, not written.
        let mut earlier: Vec<Key> = self
            .pending
            .iter()
            .filter(|(k, p)| !touched.contains_key(*k) && is_due(p))
            .map(|(k, _)| *k)
            .collect();
        let mut gone = Vec::new();
        if !earlier.is_empty() {
            let alive = existing_machines(conn, &earlier)?;
            (earlier, gone) = earlier.into_iter().partition(|k| alive.contains(&k.0));
        }
        let mut staged = self.write_due(conn, touched, earlier, &opened, &is_due)?;
        staged.written.extend(gone);
        Ok(staged)
    }

    fn write_due(
        &self,
        conn: &mut DbConn,
        touched: HashMap<Key, Pending>,
        earlier: Vec<Key>,
        opened: &[Key],
        is_due: &dyn Fn(&Pending) -> bool,
    ) -> QueryResult<Staged> {
        let mut staged = Staged::default();
        let mut groups: [BTreeMap<(i64, i64), Agg>; 2] = Default::default();
        let mut put = |key: Key, agg: Agg| {
            let slot = usize::from(key.1 == Tier::Hour);
            groups[slot].insert((key.0, key.2), agg);
        };
        for (key, p) in touched {
            if is_due(&p) {
                put(key, p.agg);
                staged.written.push(key);
            } else {
                staged.set.push((key, p));
            }
        }
        for key in earlier {
            if let Some(p) = self.pending.get(&key) {
                put(key, p.agg.clone());
                staged.written.push(key);
            }
        }
        for (tier, g) in [Tier::Minute, Tier::Hour].into_iter().zip(groups) {
            let g: Vec<_> = g.into_iter().collect();
            rollups::merge(conn, tier, &g)?;
        }
        // Markers: one per aggregate that outlives this transaction.
        let written: HashSet<Key> = staged.written.iter().copied().collect();
        let new_markers: Vec<Key> = opened
            .iter()
            .filter(|k| !written.contains(k))
            .copied()
            .collect();
        let opened: HashSet<Key> = opened.iter().copied().collect();
        let old_markers: Vec<Key> = staged
            .written
            .iter()
            .filter(|k| !opened.contains(k))
            .copied()
            .collect();
        insert_markers(conn, &new_markers)?;
        delete_markers(conn, &old_markers)?;
        Ok(staged)
    }

    /// Makes a committed flush's change part of memory.
    pub fn apply(&mut self, staged: Staged) {
        for k in staged.written {
            self.pending.remove(&k);
        }
        self.pending.extend(staged.set);
    }
}

/// Which of the keys' machines still exist.
fn existing_machines(conn: &mut DbConn, keys: &[Key]) -> QueryResult<HashSet<i64>> {
    let ids: Vec<i64> = keys
        .iter()
        .map(|k| k.0)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut alive = HashSet::new();
    for chunk in ids.chunks(500) {
        let found: Vec<i64> = crate::on_backend!(conn, c => machines::table
            .select(machines::id)
            .filter(machines::id.eq_any(chunk))
            .load(c))?;
        alive.extend(found);
    }
    Ok(alive)
}

fn insert_markers(conn: &mut DbConn, keys: &[Key]) -> QueryResult<()> {
    for chunk in keys.chunks(300) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(m, t, b)| {
                (
                    rp::machine_id.eq(*m),
                    rp::tier.eq(tier_code(*t)),
                    rp::bucket_ts.eq(*b),
                )
            })
            .collect();
        crate::on_backend!(conn, c => diesel::insert_into(rp::table)
            .values(&values)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

fn delete_markers(conn: &mut DbConn, keys: &[Key]) -> QueryResult<()> {
    for (m, t, b) in keys {
        crate::on_backend!(conn, c => diesel::delete(
            rp::table
                .filter(rp::machine_id.eq(*m))
                .filter(rp::tier.eq(tier_code(*t)))
                .filter(rp::bucket_ts.eq(*b)),
        )
        .execute(c))?;
    }
    Ok(())
}

/// Recomputes every bucket named in `rollup_pending` (left by a hub that stopped without
/// writing its pending additions) from the finer tier, and clears the table. Runs in
/// one transaction before the writer takes work; returns how many buckets it rebuilt.
pub fn recover(conn: &mut DbConn) -> QueryResult<usize> {
    conn.write_transaction(|c| {
        let mut marks: Vec<(i64, i32, i64)> = crate::on_backend!(c, c => rp::table
            .select((rp::machine_id, rp::tier, rp::bucket_ts))
            .load(c))?;
        // Minutes first: the hours are rebuilt from them.
        marks.sort_by_key(|&(m, t, b)| (t, m, b));
        for &(machine_id, code, bucket) in &marks {
            let Some(tier) = tier_of(code) else { continue };
            let finer = if tier == Tier::Hour {
                Tier::Minute
            } else {
                Tier::Raw
            };
            let width = tier.bucket_ms();
            let found = rollups::aggregate(
                c,
                finer,
                &[machine_id],
                bucket,
                bucket + width,
                width,
                &SCALAR_NAMES,
            )?;
            rollups::replace(c, tier, machine_id, bucket, found.first())?;
        }
        crate::on_backend!(c, c => diesel::delete(rp::table).execute(c))?;
        Ok(marks.len())
    })
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use diesel::Connection;
    use rand::{RngExt, SeedableRng, rngs::StdRng};

    use super::*;
    use crate::db::metrics;
    use crate::db::rollups::tests::{machine, random_sample, rollups_match_brute_force_with};
    use crate::testing::TestDb;

    /// One flush as the writer does it: store raw rows, fold the new ones, commit, apply.
    fn flush(c: &mut DbConn, p: &mut PendingRollups, rows: &[MetricRow], now: i64, all: bool) {
        let staged = c
            .transaction(|c| {
                let new = metrics::insert_new(c, rows)?;
                let new: Vec<&MetricRow> = new.iter().map(|&i| &rows[i]).collect();
                p.write(c, &new, now, all)
            })
            .unwrap();
        p.apply(staged);
    }

    fn markers(c: &mut DbConn) -> i64 {
        crate::on_backend!(c, c => rp::table.count().get_result(c)).unwrap()
    }

    /// The brute-force comparison with the writer's flushes 7 s apart and additions held
    /// for 30 s; `finish` ends the run (a clean stop or a crash) before the comparison.
    fn held_run(url: &str, finish: impl FnOnce(&mut DbConn, &mut PendingRollups, i64)) {
        let (pool, _) = crate::db::connect(url, 1).unwrap();
        let mut c = pool.get().unwrap();
        let p = RefCell::new(PendingRollups::new(30_000));
        let now = Cell::new(1_800_000_000_000i64);
        rollups_match_brute_force_with(
            &mut c,
            |c, rows| {
                now.set(now.get() + 7_000);
                flush(c, &mut p.borrow_mut(), rows, now.get(), false);
            },
            |c| finish(c, &mut p.borrow_mut(), now.get()),
        );
    }

    /// Held additions, written when due and at shutdown, give the same tiers as writing
    /// every flush (random, replayed, late and out-of-order samples), and leave no
    /// marker behind.
    fn matches_brute_force_after_clean_stop(url: &str) {
        held_run(url, |c, p, now| {
            assert!(markers(c) > 0, "additions were held between flushes");
            flush(c, p, &[], now, true);
            assert!(p.is_empty());
            assert_eq!(markers(c), 0, "a clean stop leaves no marker");
        });
    }

    /// After a crash (held additions lost), recovery rebuilds exactly the buckets they
    /// belonged to.
    fn matches_brute_force_after_crash(url: &str) {
        held_run(url, |c, p, _| {
            assert!(!p.is_empty(), "the crash loses held additions");
            assert!(recover(c).unwrap() > 0);
            assert_eq!(markers(c), 0);
        });
    }

    #[test]
    fn held_rollups_match_brute_force_sqlite() {
        let db = TestDb::sqlite();
        matches_brute_force_after_clean_stop(&db.url);
        let db = TestDb::sqlite();
        matches_brute_force_after_crash(&db.url);
    }

    #[test]
    fn held_rollups_match_brute_force_postgres() {
        if let Some(db) = TestDb::postgres() {
            matches_brute_force_after_clean_stop(&db.url);
        }
        if let Some(db) = TestDb::postgres() {
            matches_brute_force_after_crash(&db.url);
        }
    }

    /// Additions held for a machine deleted meanwhile are dropped, and the flush that
    /// finds them still commits the other machines' rows.
    #[test]
    fn deleted_machine_is_dropped() {
        let db = TestDb::sqlite();
        let (pool, _) = crate::db::connect(&db.url, 1).unwrap();
        let mut c = pool.get().unwrap();
        let (a, b) = (machine(&mut c, "a"), machine(&mut c, "b"));
        let mut rng = StdRng::seed_from_u64(7);
        let mut p = PendingRollups::new(10_000);
        let t0 = 1_800_000_000_000i64;
        let row = |id, ts, rng: &mut StdRng| MetricRow::from_sample(id, &random_sample(rng, ts));
        let rows = [row(a, t0, &mut rng), row(b, t0, &mut rng)];
        flush(&mut c, &mut p, &rows, t0, false);
        assert_eq!(p.len(), 4, "two machines, two tiers");
        crate::db::machines::delete(&mut c, a).unwrap();
        let later = [row(b, t0 + 1000, &mut rng)];
        flush(
            &mut c,
            &mut p,
            &later,
            t0 + rng.random_range(20_000..30_000),
            false,
        );
        assert!(
            p.is_empty(),
            "b's additions were due and written, a's dropped"
        );
        let got = rollups::load(&mut c, Tier::Minute, b).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1.n, 2);
        assert_eq!(markers(&mut c), 0);
    }
}
