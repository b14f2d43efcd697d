//! A rule's scope, timing and quiet hours in the few words a table cell holds.
import type { AlertRule } from '../api/types';
import { formatDuration } from '../format';

/** `All my machines`, `web-1`, `web-1, db-1`, `3 machines`. */
export function describeScope(r: Pick<AlertRule, 'machine_ids'>, nameOf: (id: number) => string | undefined): string {
  const ids = r.machine_ids;
  if (ids == null) return 'All my machines';
  if (ids.length === 0) return 'No machine';
  const names = ids.map((id) => nameOf(id) ?? `machine ${id}`);
  return names.length <= 2 ? names.join(', ') : `${names.length} machines`;
}

/** `at once`, `5m`. */
export function describeFor(forS: number): string {
  return forS <= 0 ? 'at once' : formatDuration(forS);
}

/** `once`, `every 1h`. */
export function describeRepeat(repeatS: number | null | undefined): string {
  return repeatS == null ? 'once' : `every ${formatDuration(repeatS)}`;
}

/** Whether a rule watches a machine. */
export function ruleCovers(r: Pick<AlertRule, 'machine_ids'>, machineId: number): boolean {
  return r.machine_ids == null || r.machine_ids.includes(machineId);
}
