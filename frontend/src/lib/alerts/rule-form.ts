//! The rule editor's form: defaults, a rule read back into the form, the form turned
//! into the `AlertRuleInput` the hub expects, and the hub's 400 messages routed to the
//! field they name. Ranges are the hub's to judge; only what the body cannot express
//! (a filesystem without a mount, a scope without machines) is checked here.
import type { AlertRule, AlertRuleInput, Comparator, Severity } from '../api/types';
import { DISK_MOUNT_PREFIX, OFFLINE, describeCondition, diskMount } from './metrics';

/** The picker's choice for "one filesystem"; the mount is typed beside it. */
export const DISK_MOUNT_CHOICE = 'disk_used_pct:*';

export type DurationUnit = 's' | 'm' | 'h' | 'd';
export const DURATION_UNITS: readonly { id: DurationUnit; label: string; seconds: number }[] = [
  { id: 's', label: 'seconds', seconds: 1 },
  { id: 'm', label: 'minutes', seconds: 60 },
  { id: 'h', label: 'hours', seconds: 3600 },
  { id: 'd', label: 'days', seconds: 86400 },
];

export interface Duration {
  value: number | null;
  unit: DurationUnit;
}

export interface RuleForm {
  name: string;
  /** `all`: every machine of mine, including later ones (`machine_ids: null`). */
  scope: 'all' | 'some';
  machineIds: number[];
  /** A metric id, or `DISK_MOUNT_CHOICE` with `mount`. */
  metric: string;
  mount: string;
  comparator: Comparator;
  threshold: number | null;
  /** `null`: clears at the threshold. */
  clearThreshold: number | null;
  forDuration: Duration;
  repeat: boolean;
  repeatEvery: Duration;
  severity: Severity;
  enabled: boolean;
  quiet: boolean;
  quietStart: string;
  quietEnd: string;
  channelIds: number[];
}

/** The fields the hub names in its messages (`threshold: out of range …`). */
export type RuleField =
  | 'name'
  | 'machine_ids'
  | 'metric'
  | 'comparator'
  | 'threshold'
  | 'clear_threshold'
  | 'for_s'
  | 'repeat_s'
  | 'severity'
  | 'quiet_hours'
  | 'channel_ids';

const FIELDS: readonly RuleField[] = [
  'name',
  'machine_ids',
  'metric',
  'comparator',
  'threshold',
  'clear_threshold',
  'for_s',
  'repeat_s',
  'severity',
  'quiet_hours',
  'channel_ids',
];

export function toSeconds(d: Duration): number | null {
  if (d.value === null || !Number.isFinite(d.value)) return null;
  const unit = DURATION_UNITS.find((u) => u.id === d.unit) ?? DURATION_UNITS[0];
  return Math.round(d.value * unit.seconds);
}

/** Seconds in the largest unit that divides them: `300` → 5 minutes. */
export function fromSeconds(s: number): Duration {
  for (const u of [...DURATION_UNITS].reverse()) {
    if (s > 0 && s % u.seconds === 0) return { value: s / u.seconds, unit: u.id };
  }
  return { value: s, unit: 's' };
}

/** A new rule: CPU above 90 % for 5 minutes, a warning, on every channel I have. */
export function newRuleForm(opts: { machineId?: number | null; channelIds?: number[] } = {}): RuleForm {
  return {
    name: '',
    scope: opts.machineId ? 'some' : 'all',
    machineIds: opts.machineId ? [opts.machineId] : [],
    metric: 'cpu_pct',
    mount: '',
    comparator: 'gt',
    threshold: 90,
    clearThreshold: null,
    forDuration: { value: 5, unit: 'm' },
    repeat: false,
    repeatEvery: { value: 1, unit: 'h' },
    severity: 'warning',
    enabled: true,
    quiet: false,
    quietStart: '22:00',
    quietEnd: '07:00',
    channelIds: [...(opts.channelIds ?? [])],
  };
}

/** An existing rule in the form. */
export function formFromRule(r: AlertRule): RuleForm {
  const mount = diskMount(r.metric);
  return {
    name: r.name,
    scope: r.machine_ids == null ? 'all' : 'some',
    machineIds: [...(r.machine_ids ?? [])],
    metric: mount !== null ? DISK_MOUNT_CHOICE : r.metric,
    mount: mount ?? '',
    comparator: r.comparator,
    threshold: r.metric === OFFLINE ? 90 : r.threshold,
    clearThreshold: r.metric === OFFLINE || r.clear_threshold === r.threshold ? null : r.clear_threshold,
    forDuration: fromSeconds(r.for_s),
    repeat: r.repeat_s != null,
    repeatEvery: r.repeat_s != null ? fromSeconds(r.repeat_s) : { value: 1, unit: 'h' },
    severity: r.severity,
    enabled: r.enabled,
    quiet: r.quiet_hours != null,
    quietStart: r.quiet_hours?.start ?? '22:00',
    quietEnd: r.quiet_hours?.end ?? '07:00',
    channelIds: [...r.channel_ids],
  };
}

/** The metric name the form stands for. */
export function formMetric(f: RuleForm): string {
  return f.metric === DISK_MOUNT_CHOICE ? DISK_MOUNT_PREFIX + f.mount.trim() : f.metric;
}

/** The name a rule gets when none is typed: its condition. */
export function defaultRuleName(f: RuleForm): string {
  const metric = formMetric(f);
  return describeCondition({ metric, comparator: f.comparator, threshold: f.threshold ?? NaN }).slice(0, 100);
}

export type RuleBodyResult = { ok: true; body: AlertRuleInput } | { ok: false; errors: Partial<Record<RuleField, string>> };

/** The request body for the form, or what must be fixed before it can be sent. */
export function ruleBody(f: RuleForm): RuleBodyResult {
  const errors: Partial<Record<RuleField, string>> = {};
  const metric = formMetric(f);
  const offline = metric === OFFLINE;
  if (f.metric === DISK_MOUNT_CHOICE && f.mount.trim() === '') errors.metric = 'metric: name the mount point, for example /var';
  if (f.scope === 'some' && f.machineIds.length === 0) errors.machine_ids = 'machine_ids: choose at least one machine, or all machines';
  if (!offline && (f.threshold === null || !Number.isFinite(f.threshold))) errors.threshold = 'threshold: is required';
  const forS = toSeconds(f.forDuration);
  if (forS === null) errors.for_s = 'for_s: is required (0 fires on the first breaching sample)';
  const repeatS = f.repeat ? toSeconds(f.repeatEvery) : null;
  if (f.repeat && repeatS === null) errors.repeat_s = 'repeat_s: is required when repeating';
  if (Object.keys(errors).length > 0) return { ok: false, errors };

  const body: AlertRuleInput = {
    name: f.name.trim() || defaultRuleName(f),
    machine_ids: f.scope === 'all' ? null : [...f.machineIds],
    metric,
    for_s: forS ?? 0,
    repeat_s: repeatS,
    severity: f.severity,
    enabled: f.enabled,
    quiet_hours: f.quiet ? { start: f.quietStart, end: f.quietEnd } : null,
    channel_ids: [...f.channelIds],
  };
  if (!offline) {
    body.comparator = f.comparator;
    body.threshold = f.threshold;
    body.clear_threshold = f.clearThreshold !== null && Number.isFinite(f.clearThreshold) ? f.clearThreshold : null;
  }
  return { ok: true, body };
}

/** The form field a hub message is about (`"threshold: out of range …"` → `threshold`). */
export function fieldOfError(message: string): RuleField | null {
  const m = /^([a-z_]+)(?:\.[a-z_]+)?:/.exec(message);
  if (!m) return null;
  return (FIELDS as readonly string[]).includes(m[1]) ? (m[1] as RuleField) : null;
}

/** A stored rule as a request body (to change one setting, such as `enabled`, in place). */
export function inputFromRule(r: AlertRule): AlertRuleInput {
  const offline = r.metric === OFFLINE;
  return {
    name: r.name,
    machine_ids: r.machine_ids ?? null,
    metric: r.metric,
    ...(offline ? {} : { comparator: r.comparator, threshold: r.threshold, clear_threshold: r.clear_threshold }),
    for_s: r.for_s,
    repeat_s: r.repeat_s ?? null,
    severity: r.severity,
    enabled: r.enabled,
    quiet_hours: r.quiet_hours ?? null,
    channel_ids: [...r.channel_ids],
  };
}
