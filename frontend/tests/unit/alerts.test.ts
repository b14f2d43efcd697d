import { describe, expect, it } from 'vitest';
import type { AlertEvent, AlertRule } from '../../src/lib/api/types';
import { applyAlert, firingFrom, summarize } from '../../src/lib/alerts/firing';
import { matchesFilter, mergeEvent } from '../../src/lib/alerts/events';
import { describeClear, describeCondition, diskMount, metricInfo, METRICS } from '../../src/lib/alerts/metrics';
import { describeFor, describeRepeat, describeScope, ruleCovers } from '../../src/lib/alerts/describe';
import {
  DISK_MOUNT_CHOICE,
  fieldOfError,
  formFromRule,
  fromSeconds,
  inputFromRule,
  newRuleForm,
  ruleBody,
  toSeconds,
} from '../../src/lib/alerts/rule-form';
import { channelBody, channelFieldOfError, newChannelForm } from '../../src/lib/alerts/channel-form';

function event(id: number, patch: Partial<AlertEvent> = {}): AlertEvent {
  return {
    id,
    rule_id: 1,
    rule_name: 'cpu',
    user_id: 1,
    machine_id: 10,
    metric: 'cpu_pct',
    comparator: 'gt',
    threshold: 90,
    severity: 'warning',
    state: 'firing',
    value: 95,
    started_at: 1000 * id,
    resolved_at: null,
    acknowledged_at: null,
    acknowledged_by: null,
    deliveries: [],
    ...patch,
  };
}

function rule(patch: Partial<AlertRule> = {}): AlertRule {
  return {
    id: 7,
    user_id: 1,
    name: 'CPU hot',
    machine_ids: null,
    metric: 'cpu_pct',
    comparator: 'gt',
    threshold: 90,
    clear_threshold: 80,
    for_s: 300,
    repeat_s: 3600,
    severity: 'critical',
    enabled: true,
    quiet_hours: { start: '22:00', end: '06:30' },
    channel_ids: [3, 4],
    created_at: 0,
    updated_at: 0,
    ...patch,
  };
}

describe('the firing set', () => {
  it('adds fired alerts newest first, replaces acknowledged ones and drops resolved ones', () => {
    let f = applyAlert([], event(1));
    f = applyAlert(f, event(2));
    expect(f.map((e) => e.id)).toEqual([2, 1]);
    f = applyAlert(f, event(1, { acknowledged_at: 5000 }));
    expect(f.find((e) => e.id === 1)?.acknowledged_at).toBe(5000);
    expect(f.length).toBe(2);
    f = applyAlert(f, event(2, { state: 'resolved', resolved_at: 9000 }));
    expect(f.map((e) => e.id)).toEqual([1]);
  });

  it('ignores a resolve of an alert it never saw, returning the same array', () => {
    const f = applyAlert([], event(1));
    expect(applyAlert(f, event(5, { state: 'resolved' }))).toBe(f);
  });

  it('replays frames that arrived during the initial fetch on top of it', () => {
    // The list was read before alert 1 resolved and before alert 3 fired.
    const list = [event(1), event(2), event(4, { state: 'resolved' })];
    const during = [event(1, { state: 'resolved' }), event(3)];
    expect(firingFrom(list, during).map((e) => e.id)).toEqual([3, 2]);
  });

  it('summarises per machine: count, most urgent severity, unacknowledged', () => {
    const s = summarize([
      event(1, { severity: 'info' }),
      event(2, { severity: 'critical', acknowledged_at: 1 }),
      event(3, { severity: 'warning' }),
      event(4, { machine_id: 11, severity: 'info' }),
    ]);
    expect(s.get(10)).toEqual({ count: 3, severity: 'critical', unacknowledged: 2 });
    expect(s.get(11)).toEqual({ count: 1, severity: 'info', unacknowledged: 1 });
    expect(s.get(12)).toBeUndefined();
  });
});

describe('the live events list', () => {
  it('matches the hub’s filters', () => {
    expect(matchesFilter(event(1), { machine_id: 10, state: 'firing' })).toBe(true);
    expect(matchesFilter(event(1), { machine_id: 11 })).toBe(false);
    expect(matchesFilter(event(1), { state: 'resolved' })).toBe(false);
    // Open at or after `from`: a firing alert always is; a resolved one if it ended after.
    expect(matchesFilter(event(1, { started_at: 0 }), { from: 5000 })).toBe(true);
    expect(matchesFilter(event(1, { state: 'resolved', resolved_at: 4000 }), { from: 5000 })).toBe(false);
    expect(matchesFilter(event(1, { started_at: 6000 }), { to: 5000 })).toBe(false);
  });

  it('inserts new alerts in order, updates listed ones, and removes ones that stop matching', () => {
    let list = mergeEvent([], event(1), {});
    list = mergeEvent(list, event(3), {});
    list = mergeEvent(list, event(2), {});
    expect(list.map((e) => e.id)).toEqual([3, 2, 1]);
    list = mergeEvent(list, event(2, { acknowledged_at: 7 }), {});
    expect(list[1].acknowledged_at).toBe(7);
    const firingOnly = mergeEvent(list, event(3, { state: 'resolved' }), { state: 'firing' });
    expect(firingOnly.map((e) => e.id)).toEqual([2, 1]);
    const other = mergeEvent(list, event(9, { machine_id: 99 }), { machine_id: 10 });
    expect(other).toBe(list);
  });

  it('keeps at most `limit` events, dropping the oldest', () => {
    const list = mergeEvent([event(2), event(1)], event(3), {}, 2);
    expect(list.map((e) => e.id)).toEqual([3, 2]);
  });
});

describe('metrics and descriptions', () => {
  it('names every metric kind, including per-mount disks and unknown names', () => {
    expect(metricInfo('cpu_pct').label).toBe('CPU busy');
    expect(metricInfo('disk_used_pct:/var').label).toBe('Disk used on /var');
    expect(metricInfo('disk_used_pct:/var').unit).toBe('percent');
    expect(metricInfo('something_new').label).toBe('something_new');
    expect(diskMount('disk_used_pct:/srv/data')).toBe('/srv/data');
    expect(diskMount('disk_used_pct')).toBeNull();
    // The hub's scalar and derived names are all offered, plus offline.
    for (const m of ['cpu_pct', 'load15', 'net_rx_bps', 'swap_used_pct', 'temp_max_c', 'cpu_iowait_pct', 'cpu_steal_pct', 'offline']) {
      expect(METRICS.some((x) => x.id === m)).toBe(true);
    }
  });

  it('describes conditions in their units', () => {
    expect(describeCondition(rule())).toBe('CPU busy > 90%');
    expect(describeCondition(rule({ metric: 'net_rx_bps', comparator: 'ge', threshold: 1048576 }))).toBe(
      'Network received ≥ 1 MiB/s',
    );
    expect(describeCondition(rule({ metric: 'offline' }))).toBe('Machine offline');
    expect(describeClear(rule())).toBe('clears below 80%');
    expect(describeClear(rule({ comparator: 'lt', threshold: 10, clear_threshold: 15 }))).toBe('clears above 15%');
  });

  it('describes scope and timing', () => {
    const names: Record<number, string> = { 1: 'web-1', 2: 'db-1' };
    const nameOf = (id: number) => names[id];
    expect(describeScope({ machine_ids: null }, nameOf)).toBe('All my machines');
    expect(describeScope({ machine_ids: [1, 2] }, nameOf)).toBe('web-1, db-1');
    expect(describeScope({ machine_ids: [1, 2, 3] }, nameOf)).toBe('3 machines');
    expect(describeScope({ machine_ids: [3] }, nameOf)).toBe('machine 3');
    expect(describeFor(0)).toBe('at once');
    expect(describeFor(300)).toBe('5m');
    expect(describeRepeat(null)).toBe('once');
    expect(describeRepeat(3600)).toBe('every 1h');
    expect(ruleCovers({ machine_ids: null }, 5)).toBe(true);
    expect(ruleCovers({ machine_ids: [4] }, 5)).toBe(false);
  });
});

describe('the rule form', () => {
  it('has sensible defaults and pre-fills the scope for one machine', () => {
    const f = newRuleForm({ machineId: 5, channelIds: [1, 2] });
    const r = ruleBody(f);
    expect(r).toEqual({
      ok: true,
      body: {
        name: 'CPU busy > 90%',
        machine_ids: [5],
        metric: 'cpu_pct',
        comparator: 'gt',
        threshold: 90,
        clear_threshold: null,
        for_s: 300,
        repeat_s: null,
        severity: 'warning',
        enabled: true,
        quiet_hours: null,
        channel_ids: [1, 2],
      },
    });
    expect(newRuleForm().scope).toBe('all');
    expect((ruleBody(newRuleForm()) as { ok: true; body: { machine_ids: unknown } }).body.machine_ids).toBeNull();
  });

  it('round-trips a stored rule through the form', () => {
    const r = rule({ machine_ids: [1, 2] });
    const f = formFromRule(r);
    expect(f.forDuration).toEqual({ value: 5, unit: 'm' });
    expect(f.repeatEvery).toEqual({ value: 1, unit: 'h' });
    const body = ruleBody(f);
    expect(body.ok && body.body).toEqual(inputFromRule(r));
  });

  it('sends per-mount disks, offline without a condition, and quiet hours', () => {
    const f = newRuleForm();
    f.metric = DISK_MOUNT_CHOICE;
    f.mount = ' /var ';
    const disk = ruleBody(f);
    expect(disk.ok && disk.body.metric).toBe('disk_used_pct:/var');

    const off = newRuleForm();
    off.metric = 'offline';
    off.threshold = null;
    off.quiet = true;
    const b = ruleBody(off);
    expect(b.ok).toBe(true);
    if (b.ok) {
      expect(b.body).not.toHaveProperty('threshold');
      expect(b.body).not.toHaveProperty('comparator');
      expect(b.body.name).toBe('Machine offline');
      expect(b.body.quiet_hours).toEqual({ start: '22:00', end: '07:00' });
    }
    const rOff = formFromRule(rule({ metric: 'offline', threshold: 0, clear_threshold: 0 }));
    expect(rOff.clearThreshold).toBeNull();
  });

  it('leaves ranges to the hub but reports what the body cannot express', () => {
    const f = newRuleForm();
    f.threshold = 150; // the hub answers "threshold: out of range …"
    expect(ruleBody(f).ok).toBe(true);
    f.metric = DISK_MOUNT_CHOICE;
    f.scope = 'some';
    f.threshold = null;
    const r = ruleBody(f);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(Object.keys(r.errors).sort()).toEqual(['machine_ids', 'metric', 'threshold']);
  });

  it('converts durations', () => {
    expect(toSeconds({ value: 5, unit: 'm' })).toBe(300);
    expect(toSeconds({ value: 1.5, unit: 'h' })).toBe(5400);
    expect(toSeconds({ value: null, unit: 's' })).toBeNull();
    expect(fromSeconds(0)).toEqual({ value: 0, unit: 's' });
    expect(fromSeconds(90)).toEqual({ value: 90, unit: 's' });
    expect(fromSeconds(86400)).toEqual({ value: 1, unit: 'd' });
  });

  it('routes the hub’s messages to the field they name', () => {
    expect(fieldOfError('threshold: out of range (0 to 100 for a percentage)')).toBe('threshold');
    expect(fieldOfError('clear_threshold: must be at or below threshold for gt/ge rules')).toBe('clear_threshold');
    expect(fieldOfError('machine_ids: machine 9 not found')).toBe('machine_ids');
    expect(fieldOfError('The hub could not be reached.')).toBeNull();
    expect(fieldOfError('body: unknown field')).toBeNull();
  });
});

describe('the channel form', () => {
  it('builds each kind, leaving empty optional fields out', () => {
    const w = { ...newChannelForm('webhook'), name: ' ops ', url: ' http://127.0.0.1:9/hook ' };
    expect(channelBody(w)).toEqual({ name: 'ops', config: { kind: 'webhook', url: 'http://127.0.0.1:9/hook', secret: null } });
    const n = { ...newChannelForm('ntfy'), topic: 'servers', token: 'tk' };
    expect(channelBody(n)).toEqual({
      name: 'ntfy channel',
      config: { kind: 'ntfy', server: null, topic: 'servers', token: 'tk' },
    });
    const e = {
      ...newChannelForm('email'),
      host: 'smtp.example.com',
      port: 465,
      tls: 'tls' as const,
      from: 'a@example.com',
      to: 'b@example.com, c@example.com\nd@example.com;',
    };
    expect(channelBody(e).config).toEqual({
      kind: 'email',
      host: 'smtp.example.com',
      port: 465,
      tls: 'tls',
      username: null,
      password: null,
      from: 'a@example.com',
      to: ['b@example.com', 'c@example.com', 'd@example.com'],
    });
    expect(channelBody({ ...newChannelForm('slack'), url: 'https://hooks.slack.com/x' }).config).toEqual({
      kind: 'slack',
      url: 'https://hooks.slack.com/x',
    });
  });

  it('routes the hub’s messages to the input they name', () => {
    expect(channelFieldOfError('config.url: must be an http:// or https:// URL')).toBe('url');
    expect(channelFieldOfError('config.topic: must be 1 to 64 letters')).toBe('topic');
    expect(channelFieldOfError('name: must not be empty')).toBe('name');
    expect(channelFieldOfError('Something else')).toBeNull();
  });
});
