import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AlertEvent, LiveFrame } from '../../src/lib/api/types';

// The store talks to the REST client and the tab's live socket: both are stand-ins here.
const hub = vi.hoisted(() => ({
  pending: [] as { resolve: (list: unknown[]) => void }[],
  frame: null as ((f: unknown) => void) | null,
  state: null as ((s: string, attempt: number) => void) | null,
}));

vi.mock('../../src/lib/api/client', () => ({
  api: {
    alertEvents: () => new Promise((resolve) => hub.pending.push({ resolve })),
    acknowledgeAlertEvent: async () => {
      throw new Error('not used');
    },
  },
  errorText: (e: unknown) => String(e),
}));

vi.mock('../../src/lib/stores/live.svelte', () => ({
  live: {
    onFrame: (fn: (f: unknown) => void) => (hub.frame = fn),
    onState: (fn: (s: string, attempt: number) => void) => (hub.state = fn),
  },
}));

const { alerts } = await import('../../src/lib/stores/alerts.svelte');

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
    started_at: id * 1000,
    deliveries: [],
    ...patch,
  };
}

const frame = (ev: AlertEvent) => hub.frame!({ type: 'alert', event: ev } satisfies LiveFrame);

describe('the firing alerts store', () => {
  beforeEach(() => {
    alerts.clear();
    hub.pending = [];
  });

  it('replays frames that arrive while the firing list is fetched', async () => {
    const loading = alerts.load();
    frame(event(1, { state: 'resolved' })); // resolved after the hub read the list
    frame(event(3)); // fired after it
    hub.pending[0].resolve([event(1), event(2)]);
    await loading;
    expect(alerts.firing.map((e) => e.id)).toEqual([3, 2]);
    expect(alerts.summary(10)).toEqual({ count: 2, severity: 'warning', unacknowledged: 2 });
    expect(alerts.loaded).toBe(true);
  });

  it('follows frames after loading, tells listeners, and forgets deleted machines', async () => {
    const loading = alerts.load();
    hub.pending[0].resolve([]);
    await loading;
    const seen: number[] = [];
    const off = alerts.onEvent((ev) => seen.push(ev.id));
    frame(event(5, { machine_id: 11, severity: 'critical' }));
    frame(event(6));
    expect(alerts.summary(11)?.severity).toBe('critical');
    expect(alerts.forMachine(10).map((e) => e.id)).toEqual([6]);
    off();
    frame(event(6, { state: 'resolved' }));
    expect(seen).toEqual([5, 6]);
    expect(alerts.summary(10)).toBeNull();
    alerts.forgetMachine(11);
    expect(alerts.firing).toEqual([]);
  });

  it('reads the list again after the live socket reconnects', async () => {
    const loading = alerts.load();
    hub.pending[0].resolve([event(1)]);
    await loading;
    hub.state!('reconnecting', 1);
    expect(hub.pending.length).toBe(1);
    hub.state!('open', 0);
    expect(hub.pending.length).toBe(2);
    hub.pending[1].resolve([]);
    await vi.waitFor(() => expect(alerts.firing).toEqual([]));
  });

  it('drops an answer that arrives after sign-out', async () => {
    const loading = alerts.load();
    alerts.clear();
    hub.pending[0].resolve([event(1)]);
    await loading;
    expect(alerts.firing).toEqual([]);
    expect(alerts.loaded).toBe(false);
  });
});
