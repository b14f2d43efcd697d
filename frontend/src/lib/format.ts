//! Every unit the dashboard shows, formatted in one place so a number reads the same
//! on every page: bytes (IEC, 1024-based), byte rates, percentages, durations, times.

/** What an absent value reads as. */
export const NONE = '—';

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

function finite(n: number | null | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

/** Three significant digits at most, no trailing zeros beyond one decimal. */
function sig(n: number): string {
  const a = Math.abs(n);
  if (a >= 100 || Number.isInteger(n)) return Math.round(n).toString();
  const fixed = a >= 10 ? n.toFixed(1) : n.toFixed(2);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** `1536` → `1.5 KiB`. */
export function formatBytes(n: number | null | undefined): string {
  if (!finite(n)) return NONE;
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i > 0 && Number(sig(v)) >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${sign}${i === 0 ? Math.round(v) : sig(v)} ${BYTE_UNITS[i]}`;
}

/** Bytes per second: `2048` → `2 KiB/s`. */
export function formatRate(bytesPerSecond: number | null | undefined): string {
  if (!finite(bytesPerSecond)) return NONE;
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** A 0–100 value: `12.345` → `12.3%`; below 10 keeps one decimal too. */
export function formatPercent(pct: number | null | undefined): string {
  if (!finite(pct)) return NONE;
  if (pct !== 0 && Math.abs(pct) < 0.1) return pct > 0 ? '<0.1%' : '>-0.1%';
  const v = Math.abs(pct) >= 100 ? Math.round(pct).toString() : pct.toFixed(1);
  return `${v}%`;
}

/** Load averages and other plain quantities: two decimals below 10. */
export function formatNumber(n: number | null | undefined): string {
  if (!finite(n)) return NONE;
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** An integer count: `12345` → `12,345`. */
export function formatCount(n: number | null | undefined): string {
  if (!finite(n)) return NONE;
  return Math.round(n).toLocaleString('en-US');
}

/** Degrees Celsius. */
export function formatTemp(celsius: number | null | undefined): string {
  if (!finite(celsius)) return NONE;
  return `${celsius.toFixed(Math.abs(celsius) >= 100 ? 0 : 1)} °C`;
}

/**
 * A span of seconds, two largest units: `93784` → `1d 2h`, `75` → `1m 15s`, `0.4` → `0s`.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (!finite(seconds)) return NONE;
  const sign = seconds < 0 ? '-' : '';
  let s = Math.floor(Math.abs(seconds));
  const parts: [number, string][] = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'm'],
    [1, 's'],
  ];
  const out: string[] = [];
  for (const [size, unit] of parts) {
    if (s >= size || (unit === 's' && out.length === 0)) {
      const q = Math.floor(s / size);
      s -= q * size;
      out.push(`${q}${unit}`);
    } else if (out.length > 0) {
      out.push(`0${unit}`);
    }
    if (out.length === 2) break;
  }
  if (out.length === 2 && out[1].startsWith('0')) out.pop();
  return sign + out.join(' ');
}

/** Milliseconds as a duration (`1500` → `1.5s`, `250` → `250 ms`). */
export function formatMillis(ms: number | null | undefined): string {
  if (!finite(ms)) return NONE;
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.abs(ms) < 60_000) return `${sig(ms / 1000)}s`;
  return formatDuration(ms / 1000);
}

/** How long ago an epoch-ms instant was, relative to `now`: `just now`, `12s ago`, `3h ago`. */
export function formatAgo(ts: number | null | undefined, now: number = Date.now()): string {
  if (!finite(ts)) return 'never';
  const d = (now - ts) / 1000;
  if (d < 2) return 'just now';
  if (d < 60) return `${Math.floor(d)}s ago`;
  if (d < 3600) return `${Math.floor(d / 60)}m ago`;
  if (d < 86400) return `${Math.floor(d / 3600)}h ago`;
  return `${Math.floor(d / 86400)}d ago`;
}

function pad(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** An epoch-ms instant in local time, `2025-01-31 14:05:09`. */
export function formatDateTime(ts: number | null | undefined): string {
  if (!finite(ts)) return NONE;
  const d = new Date(ts);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** Formatter for a chart axis or legend by unit kind. */
export type Unit = 'percent' | 'bytes' | 'rate' | 'number' | 'temp' | 'count';

export function formatUnit(unit: Unit, v: number | null | undefined): string {
  switch (unit) {
    case 'percent':
      return formatPercent(v);
    case 'bytes':
      return formatBytes(v);
    case 'rate':
      return formatRate(v);
    case 'temp':
      return formatTemp(v);
    case 'count':
      return formatCount(v);
    default:
      return formatNumber(v);
  }
}
