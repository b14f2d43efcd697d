//! The signed-in user's machines: the list from `/api/machines`, kept current by the
//! live socket (status, last seen, latest sample) and short sparkline buffers per
//! machine. Charts read the buffers directly and are told when they grow, so a sample
//! never re-renders more than the few labels that show it.
import { api, errorText } from '../api/client';
import type { Machine, MachineStatus, Sample } from '../api/types';
import type { MachineEvent } from '../live/client';
import { netTotalRate } from '../metrics';
import { live } from './live.svelte';

/** How far back the overview sparklines reach. */
export const SPARK_WINDOW_MS = 5 * 60_000;
const SPARK_MAX_POINTS = 600;

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

/** Live state of one machine, reactive for the labels that show it. */
export class MachineLive {
  status = $state<MachineStatus>('pending');
  lastSeen = $state<number | null>(null);
  latest = $state.raw<Sample | null>(null);
  readonly spark = new Spark();

  constructor(m: Machine) {
    this.status = m.status;
    this.lastSeen = m.last_seen ?? null;
  }
}

class Fleet {
  machines = $state.raw<Machine[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  private readonly views = new Map<number, MachineLive>();
  private unwatch: (() => void) | null = null;

  /** Live state for a machine of the list (created on first use). */
  view(m: Machine): MachineLive {
    let v = this.views.get(m.id);
    if (!v) {
      v = new MachineLive(m);
      this.views.set(m.id, v);
    }
    return v;
  }

  byId(id: number): Machine | undefined {
    return this.machines.find((m) => m.id === id);
  }

  async load(): Promise<void> {
    try {
      const list = await api.machines();
      this.error = null;
      this.set(list);
      this.loaded = true;
    } catch (e) {
      this.error = errorText(e);
      this.loaded = true;
    }
  }

  /** Adds or replaces one machine (after create, rename, rotate). */
  upsert(m: Machine): void {
    const i = this.machines.findIndex((x) => x.id === m.id);
    this.set(i >= 0 ? this.machines.map((x) => (x.id === m.id ? m : x)) : [...this.machines, m]);
  }

  remove(id: number): void {
    this.set(this.machines.filter((m) => m.id !== id));
    this.views.delete(id);
  }

  clear(): void {
    this.unwatch?.();
    this.unwatch = null;
    this.machines = [];
    this.views.clear();
    this.loaded = false;
    this.error = null;
  }

  private set(list: Machine[]) {
    this.machines = list;
    for (const m of list) {
      const v = this.view(m);
      if (!v.latest) {
        v.status = m.status;
        v.lastSeen = m.last_seen ?? v.lastSeen;
      }
    }
    // Watch the new list before releasing the old one: ids in both stay subscribed.
    const before = this.unwatch;
    this.unwatch = live.watch(
      list.map((m) => m.id),
      (ev) => this.onEvent(ev),
    );
    before?.();
  }

  private onEvent(ev: MachineEvent) {
    const v = this.views.get(ev.machine_id);
    if (!v) return;
    switch (ev.kind) {
      case 'snapshot':
        v.status = ev.status;
        v.lastSeen = ev.last_seen;
        if (ev.sample) {
          v.latest = ev.sample;
          v.spark.push(ev.sample);
        }
        break;
      case 'sample':
        v.latest = ev.sample;
        v.lastSeen = Math.max(v.lastSeen ?? 0, ev.sample.ts);
        if (v.status !== 'online') v.status = 'online';
        v.spark.push(ev.sample);
        break;
      case 'status':
        v.status = ev.status;
        if (ev.last_seen !== null) v.lastSeen = ev.last_seen;
        break;
      case 'not_found':
        this.remove(ev.machine_id);
        break;
    }
  }
}

export const fleet = new Fleet();
