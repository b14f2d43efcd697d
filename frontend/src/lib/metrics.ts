//! Reading chart values out of samples: rates derived from counters when the agent
//! sends no rate, and the time ranges the detail page offers.
import type { Sample } from './api/types';

/** A counter's rate per second between two samples, or null when it cannot be known. */
export function counterRate(cur: number | undefined, prev: number | undefined, dtMs: number): number | null {
  if (cur === undefined || prev === undefined || dtMs <= 0 || cur < prev) return null;
  return ((cur - prev) * 1000) / dtMs;
}

/** Received bytes per second: the agent's own rate, else the counter delta. */
export function netRxRate(s: Sample, prev: Sample | null): number | null {
  if (s.net_rx_bps !== undefined && s.net_rx_bps > 0) return s.net_rx_bps;
  const r = prev ? counterRate(s.net_rx_bytes, prev.net_rx_bytes, s.ts - prev.ts) : null;
  return r ?? s.net_rx_bps ?? null;
}

/** Sent bytes per second: the agent's own rate, else the counter delta. */
export function netTxRate(s: Sample, prev: Sample | null): number | null {
  if (s.net_tx_bps !== undefined && s.net_tx_bps > 0) return s.net_tx_bps;
  const r = prev ? counterRate(s.net_tx_bytes, prev.net_tx_bytes, s.ts - prev.ts) : null;
  return r ?? s.net_tx_bps ?? null;
}

/** Network throughput in both directions together, bytes per second. */
export function netTotalRate(s: Sample, prev: Sample | null): number | null {
  const rx = netRxRate(s, prev);
  const tx = netTxRate(s, prev);
  if (rx === null && tx === null) return null;
  return (rx ?? 0) + (tx ?? 0);
}

/** A scalar of a sample by its stored name (the names `/metrics` uses). */
export function scalar(s: Sample, name: string): number | null {
  const v = (s as unknown as Record<string, unknown>)[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The time ranges of the detail page. `live` ranges keep every live sample. */
export interface TimeRange {
  id: string;
  label: string;
  ms: number;
  /** Points asked of `/metrics` for this range. */
  points: number;
}

export const RANGES: readonly TimeRange[] = [
  { id: '5m', label: 'Live 5 min', ms: 5 * 60_000, points: 300 },
  { id: '1h', label: '1 hour', ms: 3600_000, points: 720 },
  { id: '6h', label: '6 hours', ms: 6 * 3600_000, points: 720 },
  { id: '24h', label: '24 hours', ms: 24 * 3600_000, points: 720 },
  { id: '7d', label: '7 days', ms: 7 * 86400_000, points: 672 },
  { id: '30d', label: '30 days', ms: 30 * 86400_000, points: 720 },
];

export function rangeById(id: string | null | undefined): TimeRange {
  return RANGES.find((r) => r.id === id) ?? RANGES[0];
}
