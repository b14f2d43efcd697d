//! The signed-in user's machines: the list from `/api/machines`, kept current by the
//! live socket (status, last seen, latest sample) and short sparkline buffers per
//! machine. Charts read the buffers directly and are told when they grow, so a sample
//! never re-renders more than the few labels that show it.
import { api, errorText } from '../api/client';
import type { Machine, MachineStatus, Sample } from '../api/types';
import type { MachineEvent } from '../live/client';
import { Spark, SPARK_METRICS, SPARK_WINDOW_MS } from '../charts/spark';
import { live } from './live.svelte';
import { alerts } from './alerts.svelte';

export { Spark, SPARK_WINDOW_MS } from '../charts/spark';

/**
 * Live events are applied to the page in batches this far apart. With a hundred
 * machines reporting at 1 Hz, applying each sample as it arrives means ~100 layouts
 * and repaints a second; batching makes it a few, at no visible cost in freshness.
 */
export const FLUSH_MS = 250;

/** Machines per history request when the overview opens (the hub takes up to 500). */
const PRELOAD_BATCH = 500;
/** Buckets per sparkline history (2 s each over the 5-minute window). */
const PRELOAD_POINTS = 150;

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
  private pending: MachineEvent[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;

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
      void this.preload(list);
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
    alerts.forgetMachine(id);
  }

  clear(): void {
    this.unwatch?.();
    this.unwatch = null;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.pending = [];
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
      (ev) => this.queue(ev),
    );
    before?.();
  }

  /**
   * Fills the sparklines with the last few minutes of stored history, one request per
   * 500 machines, so the overview does not start empty. Best effort: live samples keep
   * coming either way.
   */
  private async preload(list: Machine[]) {
    const now = Date.now();
    const ids = list.filter((m) => m.last_seen != null && m.last_seen > now - SPARK_WINDOW_MS).map((m) => m.id);
    for (let i = 0; i < ids.length; i += PRELOAD_BATCH) {
      const batch = ids.slice(i, i + PRELOAD_BATCH);
      try {
        const series = await api.overviewMetrics(batch, now - SPARK_WINDOW_MS, now, PRELOAD_POINTS, SPARK_METRICS);
        for (const s of series) this.views.get(s.machine_id)?.spark.seed(s);
      } catch {
        return;
      }
    }
  }

  /** Marks a machine online; one that was not is read again (its agent reported new facts). */
  private cameOnline(v: MachineLive, id: number) {
    if (v.status === 'online') return;
    v.status = 'online';
    this.refreshSoon(id);
  }

  /** Reads one machine again shortly after its agent connected. */
  private refreshSoon(id: number) {
    setTimeout(() => {
      api
        .machine(id)
        .then((m) => {
          if (this.byId(id)) this.upsert(m);
        })
        .catch(() => {});
    }, 1000);
  }

  private queue(ev: MachineEvent) {
    this.pending.push(ev);
    if (this.flushTimer === null) this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush() {
    this.flushTimer = null;
    const events = this.pending;
    this.pending = [];
    for (const ev of events) this.apply(ev);
  }

  private apply(ev: MachineEvent) {
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
        // A sample is proof the machine is online, whatever the last status said.
        this.cameOnline(v, ev.machine_id);
        v.spark.push(ev.sample);
        break;
      case 'status':
        if (ev.status === 'online') this.cameOnline(v, ev.machine_id);
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
