//! The live socket `/api/live`: one WebSocket per tab, shared by every page.
//!
//! Pages `watch` a machine id (or `'all'` of the user's machines) and get that
//! machine's snapshot, samples, status changes and `not_found`. The client keeps the
//! hub's subscription equal to the union of what is watched, re-subscribes after a
//! reconnect, and reconnects by itself with capped exponential backoff and jitter.
import type { LiveClientFrame, LiveFrame, MachineStatus, Sample } from '../api/types';

export type LiveState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What a watcher of one machine is told. */
export type MachineEvent =
  | { kind: 'snapshot'; machine_id: number; status: MachineStatus; last_seen: number | null; sample: Sample | null }
  | { kind: 'sample'; machine_id: number; sample: Sample }
  | { kind: 'status'; machine_id: number; status: MachineStatus; last_seen: number | null }
  | { kind: 'not_found'; machine_id: number; message: string };

export type MachineHandler = (ev: MachineEvent) => void;

/** The part of the WebSocket API the client uses (a test can pass a fake). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface Backoff {
  /** First retry delay. */
  initialMs: number;
  /** Cap of the delay. */
  maxMs: number;
  factor: number;
}

export interface LiveClientOptions {
  url: string;
  socket?: SocketFactory;
  backoff?: Partial<Backoff>;
  /** 0..1; injected by tests for deterministic jitter. */
  random?: () => number;
}

const OPEN = 1;

/** Delay before reconnect attempt `attempt` (1-based): exponential, capped, jittered to 50–100 %. */
export function backoffDelay(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const base = Math.min(b.maxMs, b.initialMs * Math.pow(b.factor, Math.max(0, attempt - 1)));
  return Math.round(base * (0.5 + 0.5 * random()));
}

export class LiveClient {
  private readonly url: string;
  private readonly factory: SocketFactory;
  private readonly backoff: Backoff;
  private readonly random: () => number;

  private ws: SocketLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private attempt = 0;

  private _state: LiveState = 'idle';
  private readonly stateListeners = new Set<(s: LiveState, attempt: number) => void>();
  private readonly frameListeners = new Set<(f: LiveFrame) => void>();

  /** Watchers per machine id; key `'all'` holds watchers of every machine. */
  private readonly watchers = new Map<number | 'all', Set<MachineHandler>>();
  /** What the hub has been asked for on the current socket. */
  private sentAll = false;
  private readonly sentIds = new Set<number>();

  constructor(opts: LiveClientOptions) {
    this.url = opts.url;
    this.factory = opts.socket ?? ((u) => new WebSocket(u) as unknown as SocketLike);
    this.backoff = { initialMs: 500, maxMs: 30_000, factor: 2, ...opts.backoff };
    this.random = opts.random ?? Math.random;
  }

  get state(): LiveState {
    return this._state;
  }

  /** Calls `fn` now and on every state change; returns the unsubscribe. */
  onState(fn: (s: LiveState, attempt: number) => void): () => void {
    this.stateListeners.add(fn);
    fn(this._state, this.attempt);
    return () => this.stateListeners.delete(fn);
  }

  /** Every frame from the hub, raw (for `lagged` and diagnostics). */
  onFrame(fn: (f: LiveFrame) => void): () => void {
    this.frameListeners.add(fn);
    return () => this.frameListeners.delete(fn);
  }

  /**
   * Watch one machine, several, or `'all'` the user's machines. Returns the unwatch.
   * Several ids are asked of the hub in one frame.
   */
  watch(target: number | readonly number[] | 'all', handler: MachineHandler): () => void {
    const targets: (number | 'all')[] = typeof target === 'object' ? [...target] : [target];
    for (const t of targets) {
      let set = this.watchers.get(t);
      if (!set) {
        set = new Set();
        this.watchers.set(t, set);
      }
      set.add(handler);
    }
    this.sync();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const t of targets) {
        const s = this.watchers.get(t);
        if (!s) continue;
        s.delete(handler);
        if (s.size === 0) this.watchers.delete(t);
      }
      this.sync();
    };
  }

  /** Opens the socket (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** Closes the socket and stops reconnecting. */
  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.onerror = null;
      ws.onopen = null;
      try {
        ws.close(1000, 'bye');
      } catch {
        /* already closed */
      }
    }
    this.setState('closed');
  }

  /** Reconnects now instead of waiting for the backoff timer (e.g. the tab came back online). */
  reconnectNow(): void {
    if (!this.running || this._state === 'open' || this._state === 'connecting') return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }

  private setState(s: LiveState) {
    this._state = s;
    for (const fn of this.stateListeners) fn(s, this.attempt);
  }

  private connect() {
    this.timer = null;
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws: SocketLike;
    try {
      ws = this.factory(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.sentAll = false;
    this.sentIds.clear();
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.setState('open');
      this.sync();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.attempt = 0; // the hub talks to us: the next drop starts the backoff afresh
      this.handle(ev.data);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect() {
    if (!this.running) return;
    this.attempt++;
    this.setState('reconnecting');
    const delay = backoffDelay(this.attempt, this.backoff, this.random);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private send(frame: LiveClientFrame) {
    if (this.ws && this.ws.readyState === OPEN) this.ws.send(JSON.stringify(frame));
  }

  /** Brings the hub's subscription in line with the watchers. */
  private sync() {
    if (!this.ws || this.ws.readyState !== OPEN) return;
    const wantAll = this.watchers.has('all');
    const wantIds = new Set<number>();
    for (const k of this.watchers.keys()) if (k !== 'all') wantIds.add(k);

    if (wantAll && !this.sentAll) {
      this.send({ type: 'subscribe' });
      this.sentAll = true;
    }
    if (!wantAll && this.sentAll) {
      // Leaving "all" drops everything; explicit ids are asked for again below.
      this.send({ type: 'unsubscribe' });
      this.sentAll = false;
      this.sentIds.clear();
    }
    const add = [...wantIds].filter((id) => !this.sentIds.has(id));
    if (add.length > 0) {
      this.send({ type: 'subscribe', machine_ids: add });
      for (const id of add) this.sentIds.add(id);
    }
    const remove = [...this.sentIds].filter((id) => !wantIds.has(id));
    if (remove.length > 0) {
      for (const id of remove) this.sentIds.delete(id);
      // While "all" is on, an unsubscribe by id would also silence it for the grid.
      if (!this.sentAll) this.send({ type: 'unsubscribe', machine_ids: remove });
    }
  }

  private handle(data: unknown) {
    if (typeof data !== 'string') return;
    let frame: LiveFrame;
    try {
      frame = JSON.parse(data) as LiveFrame;
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') return;
    for (const fn of this.frameListeners) fn(frame);
    switch (frame.type) {
      case 'snapshot':
        for (const m of frame.machines ?? []) {
          this.dispatch({
            kind: 'snapshot',
            machine_id: m.machine_id,
            status: m.status,
            last_seen: m.last_seen ?? null,
            sample: m.sample ?? null,
          });
        }
        break;
      case 'sample':
        this.dispatch({ kind: 'sample', machine_id: frame.machine_id, sample: frame.sample });
        break;
      case 'status':
        this.dispatch({
          kind: 'status',
          machine_id: frame.machine_id,
          status: frame.status,
          last_seen: frame.last_seen ?? null,
        });
        break;
      case 'error':
        if (frame.code === 'not_found' && typeof frame.machine_id === 'number') {
          this.dispatch({ kind: 'not_found', machine_id: frame.machine_id, message: frame.message ?? '' });
        }
        break;
      default:
        break;
    }
  }

  private dispatch(ev: MachineEvent) {
    const one = this.watchers.get(ev.machine_id);
    if (one) for (const h of [...one]) h(ev);
    const all = this.watchers.get('all');
    if (all) for (const h of [...all]) h(ev);
  }
}

/** The socket URL on the page's own origin. */
export function liveUrl(loc: { protocol: string; host: string } = location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/api/live`;
}
