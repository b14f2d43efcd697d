//! Keeps chart spec objects stable across sample-driven recomputation, so a chart is
//! rebuilt only when its own series change (e.g. a new interface appears).
import type { ChartSpec } from './specs';

function sig(c: ChartSpec): string {
  return c.id + '|' + c.title + '|' + c.series.map((s) => s.key).join(',');
}

/** `next`, with every spec that is unchanged replaced by its previous object. */
export function reconcileSpecs(prev: ChartSpec[], next: ChartSpec[]): ChartSpec[] {
  const old = new Map(prev.map((c) => [sig(c), c]));
  const out = next.map((c) => old.get(sig(c)) ?? c);
  const same = out.length === prev.length && out.every((c, i) => c === prev[i]);
  return same ? prev : out;
}
