//! The recent values of one machine behind its overview sparklines: plain columnar
//! arrays that charts read directly, slid to a 5-minute window as samples arrive.
import type { Sample } from '../api/types';
import { netTotalRate } from '../metrics';

/** How far back the overview sparklines reach. */
export const SPARK_WINDOW_MS = 5 * 60_000;
export const SPARK_MAX_POINTS = 600;

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

  /** Called after every new point; returns the unsubscribe. */
  listen(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
