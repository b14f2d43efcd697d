//! The events list kept current by live `alert` frames: which events a filter shows,
//! and one frame merged into the list the page holds.
import type { AlertEvent, AlertState } from '../api/types';
import { byNewest } from './firing';

/** The filters of the events page (the same as `GET /api/alert-events`). */
export interface EventFilter {
  machine_id?: number;
  state?: AlertState;
  /** Alerts open at or after this instant. */
  from?: number;
  /** Alerts that started at or before this instant. */
  to?: number;
}

/** Whether the hub would list `ev` for `f`. */
export function matchesFilter(ev: AlertEvent, f: EventFilter): boolean {
  if (f.machine_id !== undefined && ev.machine_id !== f.machine_id) return false;
  if (f.state !== undefined && ev.state !== f.state) return false;
  if (f.from !== undefined && ev.resolved_at != null && ev.resolved_at < f.from) return false;
  if (f.to !== undefined && ev.started_at > f.to) return false;
  return true;
}

/**
 * The list after a frame: replaced in place when listed, added (newest first) when it
 * now matches, removed when it no longer does (a resolved alert under "firing").
 * At most `limit` events are kept. Returns the same array when nothing changed.
 */
export function mergeEvent(
  list: readonly AlertEvent[],
  ev: AlertEvent,
  f: EventFilter,
  limit = Infinity,
): readonly AlertEvent[] {
  const i = list.findIndex((e) => e.id === ev.id);
  if (!matchesFilter(ev, f)) return i < 0 ? list : list.filter((e) => e.id !== ev.id);
  if (i >= 0) {
    const next = [...list];
    next[i] = ev;
    return next;
  }
  const next = [...list, ev].sort(byNewest);
  return next.length > limit ? next.slice(0, limit) : next;
}

