//! The recent values of one machine behind its overview sparklines: plain columnar
//! arrays that charts read directly, seeded from history when the page opens and slid
//! to a 5-minute window as samples arrive.
import type { MetricSeries, Sample } from '../api/types';
import { netTotalRate } from '../metrics';

/** How far back the overview sparklines reach. */
export const SPARK_WINDOW_MS = 5 * 60_000;
export const SPARK_MAX_POINTS = 600;

/** The scalars a sparkline history request asks for. */
export const SPARK_METRICS = ['cpu_pct', 'mem_used_pct', 'disk_used_pct', 'net_rx_bps', 'net_tx_bps'];

/** Columnar recent values of one machine for its sparklines (plain arrays, mutated in place). */
export class Spark {
  ts: number[] = [];
  cpu: (number | null)[] = [];
  mem: (number | null)[] = [];
  disk: (number | null)[] = [];
  net: (number | null)[] = [];
  private prev: Sample | null = null;
  private readonly listeners = new Set<() => void>();

  push(s: Sample): boolean {
    if (this.prev && s.ts <= this.prev.ts) return false;
    const n = this.ts.length;
    this.ts.push(s.ts);
    this.cpu.push(s.cpu_pct);
    this.mem.push(s.mem_used_pct);
    this.disk.push(s.disk_used_pct);
    this.net.push(netTotalRate(s, this.prev));
    this.prev = s;
    // Slide the window; at most a handful of points leave per sample.
    const from = s.ts - SPARK_WINDOW_MS;
    let drop = 0;
    while (drop < n && (this.ts[drop] < from || n + 1 - drop > SPARK_MAX_POINTS)) drop++;
    if (drop > 0) {
      this.ts.splice(0, drop);
      this.cpu.splice(0, drop);
      this.mem.splice(0, drop);
      this.disk.splice(0, drop);
      this.net.splice(0, drop);
    }
    for (const fn of this.listeners) fn();
    return true;
  }

  /**
   * Puts stored history (bucket averages of `SPARK_METRICS`) in front of the live
   * points: only buckets older than the first live point and inside the window.
   */
  seed(h: MetricSeries): void {
    const first = this.ts.length > 0 ? this.ts[0] : Infinity;
    const newest = Math.max(h.to, this.ts.length > 0 ? this.ts[this.ts.length - 1] : -Infinity);
    const from = newest - SPARK_WINDOW_MS;
    const col = (name: string) => h.series[name]?.avg ?? [];
    const [cpu, mem, disk, rx, tx] = SPARK_METRICS.map(col);
    const keep: number[] = [];
    h.ts.forEach((t, i) => {
      if (t >= from && t < first && cpu[i] != null) keep.push(i);
    });
    const room = Math.max(0, SPARK_MAX_POINTS - this.ts.length);
    const take = keep.slice(Math.max(0, keep.length - room));
    if (take.length === 0) return;
    const pick = (c: (number | null | undefined)[]) => take.map((i) => c[i] ?? null);
    const net = take.map((i) => (rx[i] == null && tx[i] == null ? null : (rx[i] ?? 0) + (tx[i] ?? 0)));
    this.ts = [...take.map((i) => h.ts[i]), ...this.ts];
    this.cpu = [...pick(cpu), ...this.cpu];
    this.mem = [...pick(mem), ...this.mem];
    this.disk = [...pick(disk), ...this.disk];
    this.net = [...net, ...this.net];
    for (const fn of this.listeners) fn();
  }

  /** Called after every new point; returns the unsubscribe. */
  listen(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
