import { describe, expect, it } from 'vitest';
import type { MetricSeries, Sample } from '../../src/lib/api/types';
import { appendLive, mergeHistoryAndLive, trimBefore, type MergeOptions } from '../../src/lib/merge';
import { netRxRate } from '../../src/lib/metrics';

function sample(ts: number, cpu: number, seq = ts): Sample {
  return {
    seq,
    ts,
    cpu_pct: cpu,
    mem_used_pct: 0,
    disk_used_pct: 0,
    net_rx_bytes: 0,
    net_tx_bytes: 0,
  };
}

function history(tier: string, step: number, rows: [number, number | null][], from?: number): MetricSeries {
  return {
    machine_id: 1,
    from: from ?? (rows[0]?.[0] ?? 0),
    to: (rows.at(-1)?.[0] ?? 0) + step,
    step_ms: step,
    tier,
    ts: rows.map((r) => r[0]),
    series: {
      cpu_pct: { avg: rows.map((r) => r[1]), min: rows.map((r) => r[1]), max: rows.map((r) => r[1]) },
    },
  };
}

const opts: MergeOptions = {
  keys: ['cpu_pct'],
  extract: (s) => ({ cpu_pct: s.cpu_pct }),
};

function strictlyIncreasing(ts: number[]): boolean {
  return ts.every((t, i) => i === 0 || t > ts[i - 1]);
}

describe('mergeHistoryAndLive, raw tier', () => {
  it('appends live samples after the last stored one without a duplicate', () => {
    const h = history('raw', 1000, [
      [1000, 1],
      [2000, 2],
      [3000, 3],
    ]);
    // 2000 and 3000 are already stored; 3000 twice (snapshot + sample); 4000, 5000 are new.
    const live = [sample(3000, 3), sample(2000, 2), sample(5000, 5), sample(3000, 3), sample(4000, 4)];
    const m = mergeHistoryAndLive(h, live, opts);
    expect(m.ts).toEqual([1000, 2000, 3000, 4000, 5000]);
    expect(m.cols.cpu_pct).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps a live sample that arrived before history had stored it (no gap)', () => {
    // History was read at 3500 but the writer had not flushed 3000 yet.
    const h = history('raw', 1000, [
      [1000, 1],
      [2000, 2],
    ]);
    const m = mergeHistoryAndLive(h, [sample(3000, 3), sample(4000, 4)], opts);
    expect(m.ts).toEqual([1000, 2000, 3000, 4000]);
  });

  it('does not change its inputs', () => {
    const h = history('raw', 1000, [[1000, 1]]);
    const live = [sample(3000, 3), sample(2000, 2)];
    const copy = JSON.stringify([h, live]);
    mergeHistoryAndLive(h, live, opts);
    expect(JSON.stringify([h, live])).toBe(copy);
  });

  it('works with no history at all', () => {
    const m = mergeHistoryAndLive(null, [sample(2000, 2), sample(1000, 1)], opts);
    expect(m.ts).toEqual([1000, 2000]);
    expect(m.cols.cpu_pct).toEqual([1, 2]);
  });

  it('fills keys history does not have with nulls', () => {
    const o: MergeOptions = { keys: ['cpu_pct', 'core0'], extract: (s) => ({ cpu_pct: s.cpu_pct, core0: s.cpu_pct * 2 }) };
    const m = mergeHistoryAndLive(history('raw', 1000, [[1000, 1]]), [sample(2000, 2)], o);
    expect(m.cols.core0).toEqual([null, 4]);
  });
});

describe('mergeHistoryAndLive, bucketed tiers', () => {
  const minute = 60_000;
  const h = history('1m', minute, [
    [0, 10],
    [minute, 20],
    [2 * minute, null],
  ]);

  it('drops live samples inside the last bucket with data and folds later ones into buckets', () => {
    const live = [
      sample(minute + 30_000, 99), // inside bucket [1m, 2m): already counted
      sample(2 * minute + 1000, 30),
      sample(2 * minute + 2000, 40),
      sample(3 * minute + 500, 50),
    ];
    const m = mergeHistoryAndLive(h, live, opts);
    expect(m.ts).toEqual([0, minute, 2 * minute, 3 * minute]);
    expect(m.cols.cpu_pct).toEqual([10, 20, 35, 50]);
  });

  it('does not draw empty buckets as points', () => {
    const m = mergeHistoryAndLive(h, [], opts);
    expect(m.ts).toEqual([0, minute]);
    expect(m.cols.cpu_pct).toEqual([10, 20]);
  });

  it('keeps a running mean as samples arrive one by one', () => {
    const m = mergeHistoryAndLive(h, [], opts);
    for (const [t, v] of [
      [2 * minute + 1, 10],
      [2 * minute + 2, 20],
      [2 * minute + 3, 60],
    ] as const) {
      appendLive(m, sample(t, v), opts);
    }
    expect(m.cols.cpu_pct.at(-1)).toBe(30);
    expect(m.ts.at(-1)).toBe(2 * minute);
  });
});

describe('sparse history', () => {
  it('joins points of an agent sampling slower than the bucket size, and breaks real silences', () => {
    // 1 s buckets, samples every 5 s, then a 60 s outage.
    const rows: [number, number | null][] = [];
    for (let t = 0; t < 20_000; t += 1000) rows.push([t, t % 5000 === 0 ? t / 1000 : null]);
    for (let t = 20_000; t < 80_000; t += 1000) rows.push([t, null]);
    rows.push([80_000, 80]);
    const o = { ...opts, gapMs: 15_000 };
    const m = mergeHistoryAndLive(history('raw', 1000, rows), [], o);
    expect(m.ts).toEqual([0, 5000, 10_000, 15_000, 15_001, 80_000]);
    expect(m.cols.cpu_pct).toEqual([0, 5, 10, 15, null, 80]);
  });

  it('keeps every live sample of a chart whose series history does not keep', () => {
    const o: MergeOptions = { keys: ['core.0'], extract: (s) => ({ 'core.0': s.cpu_pct }) };
    const m = mergeHistoryAndLive(history('raw', 1000, [[1000, 1], [2000, 2]]), [sample(2500, 9), sample(3000, 3)], o);
    expect(m.ts).toEqual([2500, 3000]);
    expect(m.cols['core.0']).toEqual([9, 3]);
  });

  it('drops a live sample inside the last stored bucket', () => {
    const m = mergeHistoryAndLive(history('raw', 1000, [[1000, 1], [2000, 2]]), [sample(2500, 9), sample(3000, 3)], opts);
    expect(m.ts).toEqual([1000, 2000, 3000]);
    expect(m.cols.cpu_pct).toEqual([1, 2, 3]);
  });
});

describe('appendLive', () => {
  it('gives the same series fed one by one as merged at once', () => {
    const h = history('raw', 1000, [
      [1000, 1],
      [2000, 2],
    ]);
    const live: Sample[] = [];
    for (let t = 1500; t < 30_000; t += 700) live.push(sample(t, t % 97));
    const batch = mergeHistoryAndLive(h, live, opts);
    const inc = mergeHistoryAndLive(h, live.slice(0, 3), opts);
    for (const s of live.slice(3)) appendLive(inc, s, opts);
    expect(inc.ts).toEqual(batch.ts);
    expect(inc.cols).toEqual(batch.cols);
    expect(strictlyIncreasing(batch.ts)).toBe(true);
  });

  it('ignores replays older than what it holds', () => {
    const m = mergeHistoryAndLive(null, [sample(5000, 5)], opts);
    expect(appendLive(m, sample(4000, 4), opts)).toBe(false);
    expect(appendLive(m, sample(5000, 5), opts)).toBe(false);
    expect(appendLive(m, sample(6000, 6), opts)).toBe(true);
    expect(m.ts).toEqual([5000, 6000]);
  });

  it('breaks the line across a long silence', () => {
    const o = { ...opts, gapMs: 15_000 };
    const m = mergeHistoryAndLive(null, [sample(1000, 1)], o);
    appendLive(m, sample(60_000, 2), o);
    expect(m.ts).toEqual([1000, 1001, 60_000]);
    expect(m.cols.cpu_pct).toEqual([1, null, 2]);
  });

  it('derives counter rates from the previous sample', () => {
    const o: MergeOptions = { keys: ['rx'], extract: (s, prev) => ({ rx: netRxRate(s, prev) }) };
    const a = { ...sample(1000, 0), net_rx_bytes: 1000 };
    const b = { ...sample(3000, 0), net_rx_bytes: 5000 };
    const m = mergeHistoryAndLive(null, [a, b], o);
    expect(m.cols.rx).toEqual([null, 2000]);
  });
});

describe('trimBefore', () => {
  it('slides the window', () => {
    const m = mergeHistoryAndLive(null, [sample(1000, 1), sample(2000, 2), sample(3000, 3)], opts);
    expect(trimBefore(m, 2000)).toBe(1);
    expect(m.ts).toEqual([2000, 3000]);
    expect(m.cols.cpu_pct).toEqual([2, 3]);
  });
});
