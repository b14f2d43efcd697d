//! The signed-in user's firing alerts for the grid badges and machine banners: read
//! once from `GET /api/alert-events?state=firing`, then kept current by the live
//! `alert` frames (read again after a reconnect, as frames may have been missed).
//! Pages that list alerts subscribe to the same frames through `onEvent`.
import { api, errorText } from '../api/client';
import type { AlertEvent } from '../api/types';
import { applyAlert, firingFrom, summarize, type FiringSummary } from '../alerts/firing';
import { live } from './live.svelte';

class Alerts {
  firing = $state.raw<readonly AlertEvent[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  readonly byMachine = $derived(summarize(this.firing));

  private readonly listeners = new Set<(ev: AlertEvent) => void>();
  /** Frames received while the list is being fetched, replayed on top of it. */
  private during: AlertEvent[] | null = null;
  private generation = 0;

  /** The badge of one machine, or null when nothing fires there. */
  summary(machineId: number): FiringSummary | null {
    return this.byMachine.get(machineId) ?? null;
  }

  /** The firing alerts of one machine, newest first. */
  forMachine(machineId: number): AlertEvent[] {
    return this.firing.filter((e) => e.machine_id === machineId);
  }

  async load(): Promise<void> {
    const gen = ++this.generation;
    this.during = [];
    try {
      const list = await api.alertEvents({ state: 'firing', limit: 1000 });
      if (gen !== this.generation) return;
      this.firing = firingFrom(list, this.during ?? []);
      this.error = null;
    } catch (e) {
      if (gen !== this.generation) return;
      this.error = errorText(e);
    } finally {
      if (gen === this.generation) {
        this.during = null;
        this.loaded = true;
      }
    }
  }

  /** An alert fired, was acknowledged or resolved (a live frame, or our own REST call). */
  apply(ev: AlertEvent): void {
    if (this.during) this.during.push(ev);
    this.firing = applyAlert(this.firing, ev);
    for (const fn of this.listeners) fn(ev);
  }

  /** A machine is gone: its alerts went with it (the hub deletes them without a frame). */
  forgetMachine(machineId: number): void {
    if (this.firing.some((e) => e.machine_id === machineId)) {
      this.firing = this.firing.filter((e) => e.machine_id !== machineId);
    }
  }

  /** Acknowledges an alert: it stays firing until it clears, but is not repeated. */
  async acknowledge(id: number): Promise<AlertEvent> {
    const ev = await api.acknowledgeAlertEvent(id);
    this.apply(ev);
    return ev;
  }

  /** Every alert change from now on; returns the unsubscribe. */
  onEvent(fn: (ev: AlertEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  clear(): void {
    this.generation++;
    this.during = null;
    this.firing = [];
    this.loaded = false;
    this.error = null;
  }
}

export const alerts = new Alerts();

live.onFrame((f) => {
  if (f.type === 'alert') alerts.apply(f.event);
});

// Frames sent while the socket was down are lost: read the firing set again.
let wasDown = false;
live.onState((s) => {
  if (s === 'reconnecting') wasDown = true;
  if (s === 'open' && wasDown) {
    wasDown = false;
    if (alerts.loaded) void alerts.load();
  }
});
