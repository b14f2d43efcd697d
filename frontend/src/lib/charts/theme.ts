//! Chart colours and axis formatting taken from the CSS theme variables, so charts
//! follow the dark/light switch.
import type uPlot from 'uplot';
import { formatUnit, type Unit } from '../format';

/** A CSS custom property of <html>. */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** The n-th series colour of the theme (cycles through 8). */
export function seriesColor(i: number): string {
  return cssVar(`--series-${(i % 8) + 1}`) || '#7cc4ff';
}

/** A colour with alpha, for area fills. */
export function withAlpha(color: string, alpha: number): string {
  if (color.startsWith('#') && color.length === 7) {
    const a = Math.round(alpha * 255)
      .toString(16)
      .padStart(2, '0');
    return color + a;
  }
  return color;
}

function pad(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Time tick labels: clock time for short spans, day and month (plus time) for long ones. */
export function timeTicks(splits: number[], spanMs: number): string[] {
  return splits.map((ts) => {
    const d = new Date(ts);
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    if (spanMs <= 10 * 60_000) return `${hm}:${pad(d.getSeconds())}`;
    if (spanMs <= 36 * 3600_000) return hm;
    const day = `${d.getDate()} ${MONTHS[d.getMonth()]}`;
    return spanMs <= 8 * 86400_000 && (d.getHours() !== 0 || d.getMinutes() !== 0) ? `${day} ${hm}` : day;
  });
}

/** Axes for a time chart whose y values are in `unit`. */
export function timeAxes(unit: Unit): uPlot.Axis[] {
  const text = cssVar('--text-dim');
  const grid = cssVar('--grid');
  const common = {
    stroke: text,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
    font: '11px system-ui, sans-serif',
  };
  return [
    {
      ...common,
      values: (u: uPlot, splits: number[]) => {
        const x = u.scales.x;
        return timeTicks(splits, (x.max ?? 0) - (x.min ?? 0));
      },
    },
    {
      ...common,
      // Wide enough for the longest label ("1023 KiB/s"), measured roughly.
      size: (_u: uPlot, values: string[] | null) =>
        values && values.length > 0 ? Math.max(44, 22 + 7 * Math.max(...values.map((v) => v.length))) : 40,
      values: (_u: uPlot, splits: number[]) => splits.map((v) => formatUnit(unit, v)),
    },
  ];
}
