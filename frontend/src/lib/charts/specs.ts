//! What each chart of the machine page plots: series keys (stored scalar names where
//! history has them, detail keys such as `core.3` that only the live stream carries),
//! their labels, unit and how to read them from a sample.
import type { Sample } from '../api/types';
import type { Unit } from '../format';
import type { Extract } from '../merge';
import { netRxRate, netTxRate } from '../metrics';

export interface SeriesSpec {
  key: string;
  label: string;
}

export interface ChartSpec {
  id: string;
  title: string;
  unit: Unit;
  series: SeriesSpec[];
  extract: Extract;
  /** Fixed y range, e.g. 0–100 for percentages. */
  yRange?: [number, number];
  /** Shown under the title when the chart is live-only. */
  note?: string;
}

const LIVE_ONLY = 'Per-device detail is live only; history keeps the totals.';

function pct(used: number, total: number): number | null {
  return total > 0 ? (used / total) * 100 : null;
}

/** The chart set for a machine, shaped by what its latest sample reports. */
export function chartSpecs(latest: Sample | null): ChartSpec[] {
  const specs: ChartSpec[] = [];
  const cpuSeries: SeriesSpec[] = [{ key: 'cpu_pct', label: 'busy' }];
  if (latest?.cpu_iowait_pct != null) cpuSeries.push({ key: 'cpu_iowait_pct', label: 'I/O wait' });
  if (latest?.cpu_steal_pct != null) cpuSeries.push({ key: 'cpu_steal_pct', label: 'steal' });
  specs.push({
    id: 'cpu',
    title: 'CPU',
    unit: 'percent',
    series: cpuSeries,
    yRange: [0, 100],
    extract: (s) => ({ cpu_pct: s.cpu_pct, cpu_iowait_pct: s.cpu_iowait_pct ?? null, cpu_steal_pct: s.cpu_steal_pct ?? null }),
  });

  const cores = latest?.cpus?.length ?? 0;
  if (cores > 0) {
    specs.push({
      id: 'cores',
      title: `CPU per core (${cores})`,
      unit: 'percent',
      yRange: [0, 100],
      note: LIVE_ONLY,
      series: Array.from({ length: cores }, (_, i) => ({ key: `core.${i}`, label: `cpu${i}` })),
      extract: (s) => {
        const row: Record<string, number | null> = {};
        (s.cpus ?? []).forEach((v, i) => (row[`core.${i}`] = v));
        return row;
      },
    });
  }

  specs.push({
    id: 'load',
    title: 'Load average',
    unit: 'number',
    series: [
      { key: 'load1', label: '1 min' },
      { key: 'load5', label: '5 min' },
      { key: 'load15', label: '15 min' },
    ],
    extract: (s) => ({ load1: s.load1 ?? null, load5: s.load5 ?? null, load15: s.load15 ?? null }),
  });

  specs.push({
    id: 'memory',
    title: 'Memory and swap',
    unit: 'bytes',
    series: [
      { key: 'mem_used_bytes', label: 'memory used' },
      { key: 'swap_used_bytes', label: 'swap used' },
    ],
    extract: (s) => ({ mem_used_bytes: s.mem_used_bytes ?? null, swap_used_bytes: s.swap_used_bytes ?? null }),
  });

  const mounts = latest?.disks?.map((d) => d.mount) ?? [];
  specs.push({
    id: 'disk',
    title: 'Disk usage',
    unit: 'percent',
    yRange: [0, 100],
    note: mounts.length > 0 ? 'Per-mount lines are live only; "fullest" has history.' : undefined,
    series: [
      { key: 'disk_used_pct', label: 'fullest' },
      ...mounts.map((m) => ({ key: `disk.${m}`, label: m })),
    ],
    extract: (s) => {
      const row: Record<string, number | null> = { disk_used_pct: s.disk_used_pct };
      for (const d of s.disks ?? []) row[`disk.${d.mount}`] = pct(d.used_bytes, d.total_bytes);
      return row;
    },
  });

  specs.push({
    id: 'diskio',
    title: 'Disk I/O',
    unit: 'rate',
    series: [
      { key: 'disk_read_bps', label: 'read' },
      { key: 'disk_write_bps', label: 'write' },
    ],
    extract: (s) => ({ disk_read_bps: s.disk_read_bps ?? null, disk_write_bps: s.disk_write_bps ?? null }),
  });

  specs.push({
    id: 'net',
    title: 'Network',
    unit: 'rate',
    series: [
      { key: 'net_rx_bps', label: 'received' },
      { key: 'net_tx_bps', label: 'sent' },
    ],
    extract: (s, prev) => ({ net_rx_bps: netRxRate(s, prev), net_tx_bps: netTxRate(s, prev) }),
  });

  const ifaces = latest?.ifaces?.map((i) => i.name) ?? [];
  if (ifaces.length > 0) {
    specs.push({
      id: 'ifaces',
      title: 'Network per interface',
      unit: 'rate',
      note: LIVE_ONLY,
      series: ifaces.flatMap((n) => [
        { key: `if.${n}.rx`, label: `${n} in` },
        { key: `if.${n}.tx`, label: `${n} out` },
      ]),
      extract: (s) => {
        const row: Record<string, number | null> = {};
        for (const i of s.ifaces ?? []) {
          row[`if.${i.name}.rx`] = i.rx_bps ?? null;
          row[`if.${i.name}.tx`] = i.tx_bps ?? null;
        }
        return row;
      },
    });
  }

  const temps = latest?.temps?.map((t) => t.label) ?? [];
  if (temps.length > 0) {
    specs.push({
      id: 'temps',
      title: 'Temperatures',
      unit: 'temp',
      note: LIVE_ONLY,
      series: temps.map((l) => ({ key: `temp.${l}`, label: l })),
      extract: (s) => {
        const row: Record<string, number | null> = {};
        for (const t of s.temps ?? []) row[`temp.${t.label}`] = t.celsius;
        return row;
      },
    });
  }
  return specs;
}

/** A string that changes only when the chart set or any chart's series change. */
export function specsSignature(specs: ChartSpec[]): string {
  return specs.map((c) => c.id + ':' + c.series.map((s) => s.key).join(',')).join('|');
}
