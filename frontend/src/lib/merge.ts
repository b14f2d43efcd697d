//! Joining history from `/api/machines/{id}/metrics` with samples from the live socket
//! into one columnar series for a chart, with no gap and no duplicate.
//!
//! History arrives as buckets (`ts[i]` starts a bucket of `step_ms`, every tier; empty
//! buckets are null). Everything up to the end of the last bucket that holds data is
//! "covered": a live sample inside it is already counted and is dropped.
//! Later live samples are appended, folded into buckets of the history's step when the
//! range is coarse, so the tail of a 30-day chart does not turn into 1 Hz noise. Live
//! samples arriving before history (the socket is faster than the query) are buffered
//! by the caller and passed in; `appendLive` then keeps the series going sample by
//! sample without redoing the merge.
import type { MetricSeries, Sample } from './api/types';

/** What one chart wants from a sample: a value per series key. */
export type Extract = (s: Sample, prev: Sample | null) => Record<string, number | null>;

export interface MergeOptions {
  /** Series keys, in chart order. History supplies `series[key].avg` where it has the key. */
  keys: readonly string[];
  /** Values of a live sample per key. */
  extract: Extract;
  /** Fold live samples into buckets when history's step is at least this (ms). */
  bucketFromMs?: number;
  /** Insert a break (null row) when consecutive points are further apart than this. */
  gapMs?: number;
}

/** Columnar chart data plus what `appendLive` needs to continue it. */
export interface MergedSeries {
  ts: number[];
  cols: Record<string, (number | null)[]>;
  /** A live sample with `ts` below this is already in history. */
  coveredUntil: number;
  /** Live bucket size in ms; 0 keeps every sample as its own point. */
  bucketMs: number;
  /** Bucket alignment: bucket starts are `origin + k * bucketMs`. */
  origin: number;
  /** How many live samples the last point averages (0 when it came from history). */
  lastCount: number;
  /** The previous live sample, for rates derived from counters. */
  prev: Sample | null;
}

const DEFAULT_BUCKET_FROM_MS = 10_000;

function hasData(h: MetricSeries, i: number): boolean {
  for (const band of Object.values(h.series)) {
    const v = band.avg[i];
    if (v !== null && v !== undefined) return true;
  }
  return false;
}

/** An empty series for `keys`. */
export function emptySeries(keys: readonly string[]): MergedSeries {
  const cols: Record<string, (number | null)[]> = {};
  for (const k of keys) cols[k] = [];
  return { ts: [], cols, coveredUntil: -Infinity, bucketMs: 0, origin: 0, lastCount: 0, prev: null };
}

function pushRow(m: MergedSeries, keys: readonly string[], ts: number, row: Record<string, number | null> | null) {
  m.ts.push(ts);
  for (const k of keys) m.cols[k].push(row ? (row[k] ?? null) : null);
}

/**
 * The history and the live samples as one series. Pure: the inputs are not changed.
 * `live` may be in any order and contain duplicates or samples history already holds.
 */
export function mergeHistoryAndLive(
  history: MetricSeries | null,
  live: readonly Sample[],
  opts: MergeOptions,
): MergedSeries {
  const { keys } = opts;
  const m = emptySeries(keys);
  const bucketFrom = opts.bucketFromMs ?? DEFAULT_BUCKET_FROM_MS;
  if (history) {
    const step = Math.max(1, history.step_ms);
    const bands = keys.map((k) => history.series[k]);
    let lastData = -1;
    for (let i = 0; i < history.ts.length; i++) {
      // Empty buckets are not drawn as points: a sparse cadence (an agent sampling every
      // 5 s read in 1 s buckets) would otherwise break the line at every bucket. Real
      // silences become breaks by the same `gapMs` rule as live data.
      if (!hasData(history, i)) continue;
      lastData = i;
      let any = false;
      const row: Record<string, number | null> = {};
      keys.forEach((k, j) => {
        const v = bands[j]?.avg[i] ?? null;
        row[k] = v;
        if (v !== null) any = true;
      });
      if (!any) continue; // this chart's series are not in history (live-only detail)
      const ts = history.ts[i];
      maybeBreak(m, keys, ts, m.ts.length > 0 ? m.ts[m.ts.length - 1] : -Infinity, opts.gapMs);
      pushRow(m, keys, ts, row);
    }
    // Everything up to the end of the last bucket holding data is counted in history,
    // unless history keeps none of this chart's series: then every live sample counts.
    const kept = keys.some((k) => history.series[k] !== undefined);
    if (lastData >= 0 && kept) m.coveredUntil = history.ts[lastData] + step;
    if (step >= bucketFrom) {
      m.bucketMs = step;
      m.origin = history.ts.length > 0 ? history.ts[0] : history.from;
    }
  }
  const sorted = [...live].sort((a, b) => a.ts - b.ts);
  for (const s of sorted) appendLive(m, s, opts);
  return m;
}

/**
 * Continues a merged series with one live sample, in place (charts reuse the arrays).
 * Returns whether the series changed.
 */
export function appendLive(m: MergedSeries, s: Sample, opts: MergeOptions): boolean {
  const { keys } = opts;
  const prev = m.prev;
  if (prev && s.ts <= prev.ts) return false; // replay or duplicate of a sample we hold
  m.prev = s;
  if (s.ts < m.coveredUntil) return false; // history already counts it
  const row = opts.extract(s, prev);
  const n = m.ts.length;
  const lastTs = n > 0 ? m.ts[n - 1] : -Infinity;
  if (m.bucketMs > 0) {
    const start = m.origin + Math.floor((s.ts - m.origin) / m.bucketMs) * m.bucketMs;
    if (start < lastTs) return false;
    if (start === lastTs && m.lastCount > 0) {
      const c = m.lastCount;
      for (const k of keys) {
        const col = m.cols[k];
        const old = col[n - 1];
        const v = row[k] ?? null;
        col[n - 1] = v === null ? old : old === null ? v : (old * c + v) / (c + 1);
      }
      m.lastCount = c + 1;
      return true;
    }
    if (start === lastTs) {
      // An empty (null) history bucket at the same start: live fills it.
      for (const k of keys) m.cols[k][n - 1] = row[k] ?? null;
      m.lastCount = 1;
      return true;
    }
    maybeBreak(m, keys, start, lastTs, opts.gapMs);
    pushRow(m, keys, start, row);
    m.lastCount = 1;
    return true;
  }
  let tail = lastTs;
  if (s.ts <= tail) {
    // Only a trailing break row may sit after an uncovered sample: drop the break.
    if (!isBreak(m, keys, n - 1)) return false;
    popRow(m, keys);
    tail = m.ts.length > 0 ? m.ts[m.ts.length - 1] : -Infinity;
    if (s.ts <= tail) return false;
  }
  maybeBreak(m, keys, s.ts, tail, opts.gapMs);
  pushRow(m, keys, s.ts, row);
  m.lastCount = 1;
  return true;
}

function isBreak(m: MergedSeries, keys: readonly string[], i: number): boolean {
  return i >= 0 && keys.every((k) => m.cols[k][i] === null);
}

function popRow(m: MergedSeries, keys: readonly string[]) {
  m.ts.pop();
  for (const k of keys) m.cols[k].pop();
}

function maybeBreak(m: MergedSeries, keys: readonly string[], ts: number, lastTs: number, gapMs?: number) {
  if (!gapMs || !Number.isFinite(lastTs) || ts - lastTs <= gapMs) return;
  if (isBreak(m, keys, m.ts.length - 1)) return; // already broken
  pushRow(m, keys, lastTs + 1, null);
}

/** Drops points before `from` (the sliding window of a live range), in place. */
export function trimBefore(m: MergedSeries, from: number): number {
  let i = 0;
  while (i < m.ts.length && m.ts[i] < from) i++;
  if (i > 0) {
    m.ts.splice(0, i);
    for (const col of Object.values(m.cols)) col.splice(0, i);
  }
  return i;
}
