import { describe, expect, it } from 'vitest';
import type { Sample } from '../../src/lib/api/types';
import { chartSpecs, specsSignature } from '../../src/lib/charts/specs';
import { reconcileSpecs } from '../../src/lib/charts/reconcile';
import { SampleFeed } from '../../src/lib/live/feed';
import { rangeById, RANGES } from '../../src/lib/metrics';

const base: Sample = {
  seq: 1,
  ts: 1000,
  cpu_pct: 10,
  mem_used_pct: 20,
  disk_used_pct: 30,
  net_rx_bytes: 0,
  net_tx_bytes: 0,
};

describe('chartSpecs', () => {
  it('has the scalar charts before any sample', () => {
    const ids = chartSpecs(null).map((c) => c.id);
    expect(ids).toEqual(['cpu', 'load', 'memory', 'disk', 'diskio', 'net']);
  });

  it('adds per-device charts from what the sample reports', () => {
    const s: Sample = {
      ...base,
      cpu_iowait_pct: 1,
      cpus: [1, 2],
      disks: [{ mount: '/', fs: 'ext4', used_bytes: 1, total_bytes: 4 }],
      ifaces: [{ name: 'eth0', rx_bytes: 0, tx_bytes: 0, rx_bps: 5, tx_bps: 6 }],
      temps: [{ label: 'cpu', celsius: 50 }],
    };
    const specs = chartSpecs(s);
    expect(specs.map((c) => c.id)).toEqual(['cpu', 'cores', 'load', 'memory', 'disk', 'diskio', 'net', 'ifaces', 'temps']);
    const byId = Object.fromEntries(specs.map((c) => [c.id, c]));
    expect(byId.cpu.series.map((x) => x.key)).toEqual(['cpu_pct', 'cpu_iowait_pct']);
    expect(byId.cores.extract(s, null)).toEqual({ 'core.0': 1, 'core.1': 2 });
    expect(byId.disk.extract(s, null)).toEqual({ disk_used_pct: 30, 'disk./': 25 });
    expect(byId.ifaces.extract(s, null)).toEqual({ 'if.eth0.rx': 5, 'if.eth0.tx': 6 });
    expect(byId.temps.extract(s, null)).toEqual({ 'temp.cpu': 50 });
  });

  it('keeps unchanged chart objects so their charts are not rebuilt', () => {
    const a = chartSpecs(base);
    const b = reconcileSpecs(a, chartSpecs({ ...base, ts: 2000 }));
    expect(b).toBe(a);
    const c = reconcileSpecs(a, chartSpecs({ ...base, cpus: [1] }));
    expect(c).not.toBe(a);
    expect(c.find((x) => x.id === 'cpu')).toBe(a.find((x) => x.id === 'cpu'));
    expect(specsSignature(c)).toContain('cores:core.0');
  });
});

describe('SampleFeed', () => {
  it('keeps samples in order, bounded, and tells listeners', () => {
    const f = new SampleFeed(3);
    const seen: number[] = [];
    f.listen((s) => seen.push(s.ts));
    for (const ts of [1, 2, 2, 1, 3, 4]) f.push({ ...base, ts });
    expect(f.buffer.map((s) => s.ts)).toEqual([2, 3, 4]);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(f.latest?.ts).toBe(4);
  });
});

describe('ranges', () => {
  it('defaults to live 5 minutes', () => {
    expect(rangeById(null).id).toBe('5m');
    expect(rangeById('nonsense').id).toBe('5m');
    expect(rangeById('7d').ms).toBe(7 * 86400_000);
    expect(RANGES.map((r) => r.id)).toEqual(['5m', '1h', '6h', '24h', '7d', '30d']);
  });
});

import { Spark, SPARK_WINDOW_MS } from '../../src/lib/charts/spark';

describe('Spark', () => {
  it('slides a 5-minute window and derives network rate from counters', () => {
    const sp = new Spark();
    let told = 0;
    sp.listen(() => told++);
    sp.push({ ...base, ts: 0, net_rx_bytes: 0, net_tx_bytes: 0 });
    sp.push({ ...base, ts: 1000, net_rx_bytes: 1000, net_tx_bytes: 500 });
    expect(sp.net).toEqual([null, 1500]);
    expect(sp.push({ ...base, ts: 1000 })).toBe(false);
    sp.push({ ...base, ts: SPARK_WINDOW_MS + 500 });
    expect(sp.ts).toEqual([1000, SPARK_WINDOW_MS + 500]);
    expect(sp.cpu).toHaveLength(2);
    expect(told).toBe(3);
  });

  it('puts stored history in front of the live points, inside the window only', () => {
    const sp = new Spark();
    const now = 10 * SPARK_WINDOW_MS;
    sp.push({ ...base, ts: now, cpu_pct: 50 });
    const band = (avg: (number | null)[]) => ({ avg, min: avg, max: avg });
    sp.seed({
      machine_id: 1,
      from: now - 2 * SPARK_WINDOW_MS,
      to: now,
      step_ms: 1000,
      tier: 'raw',
      ts: [now - 2 * SPARK_WINDOW_MS, now - 2000, now - 1000, now],
      series: {
        cpu_pct: band([1, 2, null, 4]),
        mem_used_pct: band([5, 6, 7, 8]),
        disk_used_pct: band([9, 10, 11, 12]),
        net_rx_bps: band([100, 200, 300, 400]),
        net_tx_bps: band([null, 50, 60, 70]),
      },
    });
    expect(sp.ts).toEqual([now - 2000, now]);
    expect(sp.cpu).toEqual([2, 50]);
    expect(sp.mem[0]).toBe(6);
    expect(sp.net[0]).toBe(250);
  });
});
