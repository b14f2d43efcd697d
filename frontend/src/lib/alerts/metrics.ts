//! What an alert rule can watch, in words: the sample's scalars (names checked against
//! the generated `Sample` type), the hub's derived metrics, one filesystem by mount
//! point, and `offline`; plus the sentence a rule's condition reads as.
import type { AlertEvent, AlertRule, Comparator, Sample } from '../api/types';
import { formatBytes, formatCount, formatDuration, formatNumber, formatRate, formatTemp } from '../format';

/** How a metric's values read. */
export type MetricUnit = 'percent' | 'bytes' | 'rate' | 'temp' | 'seconds' | 'count' | 'number';

export interface MetricInfo {
  /** The name the API uses. */
  id: string;
  label: string;
  unit: MetricUnit;
  group: 'Usage' | 'Load and processes' | 'Throughput' | 'Capacity and counters' | 'Reachability';
}

type ScalarName = Extract<keyof Sample, string>;
const scalar = (id: ScalarName, label: string, unit: MetricUnit, group: MetricInfo['group']): MetricInfo => ({
  id,
  label,
  unit,
  group,
});

/**
 * Every metric of the picker except per-mount disks, in picker order. The scalars are
 * the hub's `SCALAR_NAMES`; the derived ones its `DERIVED_METRICS` (schema/src/alert.rs).
 */
export const METRICS: readonly MetricInfo[] = [
  scalar('cpu_pct', 'CPU busy', 'percent', 'Usage'),
  { id: 'cpu_iowait_pct', label: 'CPU I/O wait', unit: 'percent', group: 'Usage' },
  { id: 'cpu_steal_pct', label: 'CPU steal', unit: 'percent', group: 'Usage' },
  scalar('mem_used_pct', 'Memory used', 'percent', 'Usage'),
  { id: 'swap_used_pct', label: 'Swap used', unit: 'percent', group: 'Usage' },
  scalar('disk_used_pct', 'Disk used (fullest filesystem)', 'percent', 'Usage'),
  { id: 'temp_max_c', label: 'Hottest temperature sensor', unit: 'temp', group: 'Usage' },
  scalar('load1', 'Load average, 1 min', 'number', 'Load and processes'),
  scalar('load5', 'Load average, 5 min', 'number', 'Load and processes'),
  scalar('load15', 'Load average, 15 min', 'number', 'Load and processes'),
  scalar('procs', 'Processes', 'count', 'Load and processes'),
  scalar('net_rx_bps', 'Network received', 'rate', 'Throughput'),
  scalar('net_tx_bps', 'Network sent', 'rate', 'Throughput'),
  scalar('disk_read_bps', 'Disk read', 'rate', 'Throughput'),
  scalar('disk_write_bps', 'Disk written', 'rate', 'Throughput'),
  scalar('mem_used_bytes', 'Memory used (bytes)', 'bytes', 'Capacity and counters'),
  scalar('mem_total_bytes', 'Memory total', 'bytes', 'Capacity and counters'),
  scalar('swap_used_bytes', 'Swap used (bytes)', 'bytes', 'Capacity and counters'),
  scalar('swap_total_bytes', 'Swap total', 'bytes', 'Capacity and counters'),
  scalar('net_rx_bytes', 'Bytes received since boot', 'bytes', 'Capacity and counters'),
  scalar('net_tx_bytes', 'Bytes sent since boot', 'bytes', 'Capacity and counters'),
  scalar('uptime_s', 'Uptime', 'seconds', 'Capacity and counters'),
  { id: 'offline', label: 'Machine offline', unit: 'number', group: 'Reachability' },
];

export const OFFLINE = 'offline';
/** `disk_used_pct:<mount>` watches one filesystem. */
export const DISK_MOUNT_PREFIX = 'disk_used_pct:';

/** What a metric name means, including per-mount disks and names this build does not know. */
export function metricInfo(id: string): MetricInfo {
  const known = METRICS.find((m) => m.id === id);
  if (known) return known;
  if (id.startsWith(DISK_MOUNT_PREFIX)) {
    return { id, label: `Disk used on ${id.slice(DISK_MOUNT_PREFIX.length)}`, unit: 'percent', group: 'Usage' };
  }
  return { id, label: id, unit: 'number', group: 'Usage' };
}

/** The mount of a per-filesystem metric, or null. */
export function diskMount(id: string): string | null {
  return id.startsWith(DISK_MOUNT_PREFIX) ? id.slice(DISK_MOUNT_PREFIX.length) : null;
}

/** A value of a metric in its unit: `91.5%`, `1.5 GiB`, `2 KiB/s`, `54 °C`. */
export function formatMetricValue(unit: MetricUnit, v: number | null | undefined): string {
  switch (unit) {
    case 'percent':
      // Thresholds are typed by hand: show them as typed, not rounded to a tenth.
      return typeof v === 'number' && Number.isFinite(v) ? `${+v.toFixed(2)}%` : '—';
    case 'bytes':
      return formatBytes(v);
    case 'rate':
      return formatRate(v);
    case 'temp':
      return formatTemp(v);
    case 'seconds':
      return formatDuration(v);
    case 'count':
      return formatCount(v);
    default:
      return formatNumber(v);
  }
}

export const COMPARATORS: readonly { id: Comparator; symbol: string; words: string }[] = [
  { id: 'gt', symbol: '>', words: 'above' },
  { id: 'ge', symbol: '≥', words: 'at or above' },
  { id: 'lt', symbol: '<', words: 'below' },
  { id: 'le', symbol: '≤', words: 'at or below' },
];

export function comparatorSymbol(c: Comparator): string {
  return COMPARATORS.find((x) => x.id === c)?.symbol ?? c;
}

/** Whether the comparator fires on high values. */
export function isUpper(c: Comparator): boolean {
  return c === 'gt' || c === 'ge';
}

/** A rule's or alert's condition in one line: `CPU busy > 90%`, `Machine offline`. */
export function describeCondition(r: Pick<AlertRule | AlertEvent, 'metric' | 'comparator' | 'threshold'>): string {
  const info = metricInfo(r.metric);
  if (r.metric === OFFLINE) return info.label;
  return `${info.label} ${comparatorSymbol(r.comparator)} ${formatMetricValue(info.unit, r.threshold)}`;
}

/** A rule's hysteresis in words (the value must come back strictly past the clear threshold). */
export function describeClear(r: Pick<AlertRule, 'metric' | 'comparator' | 'threshold' | 'clear_threshold'>): string | null {
  if (r.metric === OFFLINE) return null;
  const info = metricInfo(r.metric);
  return `clears ${isUpper(r.comparator) ? 'below' : 'above'} ${formatMetricValue(info.unit, r.clear_threshold)}`;
}
