import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveClient, backoffDelay, liveUrl, type MachineEvent, type SocketLike } from '../../src/lib/live/client';

/** A WebSocket stand-in the test drives by hand. */
class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1];

function client() {
  return new LiveClient({
    url: 'ws://hub/api/live',
    socket: (u) => new FakeSocket(u),
    backoff: { initialMs: 100, maxMs: 1000, factor: 2 },
    random: () => 1,
  });
}

const sample = (ts: number) => ({
  seq: ts,
  ts,
  cpu_pct: 1,
  mem_used_pct: 2,
  disk_used_pct: 3,
  net_rx_bytes: 4,
  net_tx_bytes: 5,
});

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('LiveClient subscriptions', () => {
  it('subscribes to all and to single machines once the socket opens', () => {
    const c = client();
    c.watch('all', () => {});
    c.watch(7, () => {});
    c.start();
    expect(last().sent).toEqual([]);
    last().open();
    expect(last().sent).toEqual([{ type: 'subscribe' }, { type: 'subscribe', machine_ids: [7] }]);
  });

  it('keeps the hub subscription equal to the union of watchers', () => {
    const c = client();
    c.start();
    last().open();
    const un7a = c.watch(7, () => {});
    const un7b = c.watch(7, () => {});
    const un8 = c.watch(8, () => {});
    expect(last().sent).toEqual([
      { type: 'subscribe', machine_ids: [7] },
      { type: 'subscribe', machine_ids: [8] },
    ]);
    un7a();
    expect(last().sent).toHaveLength(2); // 7 still watched once
    un7b();
    un8();
    expect(last().sent.slice(2)).toEqual([
      { type: 'unsubscribe', machine_ids: [7] },
      { type: 'unsubscribe', machine_ids: [8] },
    ]);
  });

  it('does not unsubscribe single ids while watching all, and leaves all cleanly', () => {
    const c = client();
    c.start();
    last().open();
    const unAll = c.watch('all', () => {});
    const un3 = c.watch(3, () => {});
    un3();
    expect(last().sent).toEqual([{ type: 'subscribe' }, { type: 'subscribe', machine_ids: [3] }]);
    c.watch(4, () => {});
    unAll();
    expect(last().sent.slice(3)).toEqual([{ type: 'unsubscribe' }, { type: 'subscribe', machine_ids: [4] }]);
  });
});

describe('LiveClient several ids', () => {
  it('asks for several machines in one frame and releases them together', () => {
    const c = client();
    c.start();
    last().open();
    const un = c.watch([1, 2, 3], () => {});
    const un2 = c.watch(2, () => {});
    expect(last().sent).toEqual([{ type: 'subscribe', machine_ids: [1, 2, 3] }]);
    un();
    un(); // idempotent
    expect(last().sent.slice(1)).toEqual([{ type: 'unsubscribe', machine_ids: [1, 3] }]);
    un2();
    expect(last().sent.slice(2)).toEqual([{ type: 'unsubscribe', machine_ids: [2] }]);
  });
});

describe('LiveClient frames', () => {
  it('routes snapshot, sample, status and not_found to the right watchers', () => {
    const c = client();
    const seven: MachineEvent[] = [];
    const every: MachineEvent[] = [];
    c.watch(7, (e) => seven.push(e));
    c.watch('all', (e) => every.push(e));
    c.start();
    const ws = last();
    ws.open();
    ws.receive({
      type: 'snapshot',
      machines: [
        { machine_id: 7, status: 'online', last_seen: 10, sample: sample(10) },
        { machine_id: 8, status: 'pending', last_seen: null, sample: null },
      ],
    });
    ws.receive({ type: 'sample', machine_id: 7, sample: sample(11) });
    ws.receive({ type: 'status', machine_id: 8, status: 'offline', last_seen: 5 });
    ws.receive({ type: 'error', code: 'not_found', machine_id: 9 });
    expect(seven.map((e) => e.kind)).toEqual(['snapshot', 'sample']);
    expect(every.map((e) => `${e.kind}:${e.machine_id}`)).toEqual([
      'snapshot:7',
      'snapshot:8',
      'sample:7',
      'status:8',
      'not_found:9',
    ]);
  });

  it('tells a watcher of a foreign machine it was not found', () => {
    const c = client();
    const got: MachineEvent[] = [];
    c.watch(42, (e) => got.push(e));
    c.start();
    last().open();
    last().receive({ type: 'error', code: 'not_found', machine_id: 42, message: 'no such machine' });
    expect(got).toEqual([{ kind: 'not_found', machine_id: 42, message: 'no such machine' }]);
  });

  it('passes raw frames such as lagged to frame listeners and ignores garbage', () => {
    const c = client();
    const frames: string[] = [];
    c.onFrame((f) => frames.push(f.type));
    c.start();
    last().open();
    last().onmessage?.({ data: 'not json' });
    last().onmessage?.({ data: '{"no":"type"}' });
    last().receive({ type: 'lagged', dropped: 12 });
    expect(frames).toEqual(['lagged']);
  });
});

describe('LiveClient reconnect', () => {
  it('reconnects with growing, capped delays and re-subscribes', () => {
    const c = client();
    const states: string[] = [];
    c.onState((s) => states.push(s));
    c.watch(5, () => {});
    c.start();
    last().open();
    expect(FakeSocket.all).toHaveLength(1);

    last().drop();
    expect(c.state).toBe('reconnecting');
    vi.advanceTimersByTime(99);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);

    last().drop(); // failed attempt: next wait doubles
    vi.advanceTimersByTime(199);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(3);

    for (let i = 0; i < 6; i++) {
      last().drop();
      vi.advanceTimersByTime(1000); // capped at maxMs
    }
    expect(FakeSocket.all).toHaveLength(9);

    last().open();
    expect(c.state).toBe('open');
    expect(last().sent).toEqual([{ type: 'subscribe', machine_ids: [5] }]);
    expect(states[0]).toBe('idle');
    expect(states).toContain('reconnecting');
  });

  it('starts the backoff afresh once the hub has talked', () => {
    const c = client();
    c.start();
    last().open();
    last().drop();
    vi.advanceTimersByTime(100);
    last().drop();
    vi.advanceTimersByTime(200);
    last().open();
    last().receive({ type: 'snapshot', machines: [] });
    last().drop();
    vi.advanceTimersByTime(100);
    expect(FakeSocket.all).toHaveLength(4);
  });

  it('stops for good on stop()', () => {
    const c = client();
    c.start();
    last().open();
    const ws = last();
    c.stop();
    expect(ws.closed).toBe(true);
    expect(c.state).toBe('closed');
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('jitters delays between half and all of the base', () => {
    const b = { initialMs: 1000, maxMs: 30_000, factor: 2 };
    expect(backoffDelay(1, b, () => 0)).toBe(500);
    expect(backoffDelay(1, b, () => 1)).toBe(1000);
    expect(backoffDelay(3, b, () => 1)).toBe(4000);
    expect(backoffDelay(20, b, () => 1)).toBe(30_000);
  });

  it('builds the socket URL from the page origin', () => {
    expect(liveUrl({ protocol: 'https:', host: 'hub.example:8443' })).toBe('wss://hub.example:8443/api/live');
    expect(liveUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/api/live');
  });
});
