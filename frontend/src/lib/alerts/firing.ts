//! The set of alerts firing right now, reduced from `GET /api/alert-events?state=firing`
//! and the live `alert` frames that follow it, and summarised per machine for badges.
import type { AlertEvent, Severity } from '../api/types';

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** Whether `a` is more urgent than `b`. */
export function moreSevere(a: Severity, b: Severity): boolean {
  return RANK[a] > RANK[b];
}

/** Newest first, ties by id, the order the hub lists alerts in. */
export function byNewest(a: AlertEvent, b: AlertEvent): number {
  return b.started_at - a.started_at || b.id - a.id;
}

/**
 * The firing set after one event (fired, acknowledged or resolved): a firing event is
 * added or replaced, a resolved one removed. Returns the same array when nothing changed.
 */
export function applyAlert(firing: readonly AlertEvent[], ev: AlertEvent): readonly AlertEvent[] {
  const i = firing.findIndex((e) => e.id === ev.id);
  if (ev.state === 'resolved') {
    return i < 0 ? firing : firing.filter((e) => e.id !== ev.id);
  }
  if (i >= 0) {
    const next = [...firing];
    next[i] = ev;
    return next;
  }
  return [...firing, ev].sort(byNewest);
}

/**
 * The firing set from a fresh list plus the frames that arrived while it was being
 * fetched (replayed in order, so an alert resolved meanwhile does not linger).
 */
export function firingFrom(list: readonly AlertEvent[], during: readonly AlertEvent[]): readonly AlertEvent[] {
  let firing: readonly AlertEvent[] = list.filter((e) => e.state === 'firing').sort(byNewest);
  for (const ev of during) firing = applyAlert(firing, ev);
  return firing;
}

/** What a machine's badge shows. */
export interface FiringSummary {
  count: number;
  /** The most urgent severity among them. */
  severity: Severity;
  /** How many are not acknowledged yet. */
  unacknowledged: number;
}

/** Firing alerts per machine id. */
export function summarize(firing: readonly AlertEvent[]): Map<number, FiringSummary> {
  const out = new Map<number, FiringSummary>();
  for (const e of firing) {
    const s = out.get(e.machine_id);
    const unack = e.acknowledged_at == null ? 1 : 0;
    if (!s) out.set(e.machine_id, { count: 1, severity: e.severity, unacknowledged: unack });
    else {
      s.count++;
      s.unacknowledged += unack;
      if (moreSevere(e.severity, s.severity)) s.severity = e.severity;
    }
  }
  return out;
}
