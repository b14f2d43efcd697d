// A minimal agent for e2e tests: speaks protocol v1 on /agent/stream and sends one
// sample a second with plausible, slowly moving values.
import WebSocket from 'ws';

export class TestAgent {
  private ws: WebSocket | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private seq = 0;
  private rx = 1_000_000;
  private tx = 500_000;
  sent = 0;
  acked = 0;
  /** Values that replace the generated ones in every following sample (to cross alert thresholds). */
  overrides: Record<string, number> = {};

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly hostname = 'e2e-host',
    /** Shifts the generated curves so several agents do not look alike. */
    private readonly seed = 0,
  ) {}

  /**
   * Connects, says hello and starts sampling; resolves once the socket is open.
   * With `backfillMinutes`, first replays that much past history as one `batch`
   * (as a real agent does after an outage), one sample per `backfillStepMs`.
   */
  start(intervalMs = 1000, opts: { backfillMinutes?: number; backfillStepMs?: number } = {}): Promise<void> {
    const url = this.baseUrl.replace(/^http/, 'ws') + '/agent/stream';
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${this.apiKey}`, 'X-LunaSentri-Protocol': '1' },
    });
    this.ws = ws;
    ws.on('message', (data) => {
      try {
        const f = JSON.parse(String(data));
        if (f.type === 'ack') this.acked = Math.max(this.acked, f.seq);
      } catch {
        /* ignore */
      }
    });
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => reject(new Error(`agent link refused: HTTP ${res.statusCode}`)));
      ws.once('error', reject);
      ws.once('open', () => {
        ws.send(
          JSON.stringify({
            type: 'hello',
            agent_version: '0.0.0-e2e',
            hostname: this.hostname,
            os: 'E2E Linux',
            kernel: '6.1.0-e2e',
            arch: 'x86_64',
            cpu_model: 'Test CPU',
            cores: 2,
            mem_total_bytes: 4 * 1024 ** 3,
            boot_time_s: Math.floor(Date.now() / 1000) - 3600,
            interval_ms: intervalMs,
          }),
        );
        if (opts.backfillMinutes) this.backfill(opts.backfillMinutes, opts.backfillStepMs ?? 5000);
        this.send();
        this.timer = setInterval(() => this.send(), intervalMs);
        resolve();
      });
    });
  }

  private backfill(minutes: number, stepMs: number) {
    const now = Date.now();
    const samples = [];
    for (let ts = now - minutes * 60_000; ts < now - stepMs; ts += stepMs) {
      const { type: _type, ...s } = this.sample(ts, false);
      samples.push(s);
    }
    this.ws?.send(JSON.stringify({ type: 'batch', samples }));
    this.sent += samples.length;
  }

  private send() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify({ ...this.sample(Date.now(), true), ...this.overrides }));
    this.sent++;
  }

  /** The next sample at `ts`: smooth curves with a little noise. */
  private sample(ts: number, detail: boolean) {
    this.seq++;
    const t = ts / 1000 + this.seed * 97;
    const wave = (period: number, lo: number, hi: number) =>
      Math.max(0, lo + ((hi - lo) * (1 + Math.sin((2 * Math.PI * t) / period))) / 2 + (Math.random() - 0.5) * (hi - lo) * 0.08);
    const rxBps = Math.round(wave(180, 15_000, 90_000));
    const txBps = Math.round(wave(240, 5_000, 30_000));
    this.rx += rxBps;
    this.tx += txBps;
    const cpu = Math.round(wave(120, 8 + this.seed * 6, 45 + this.seed * 8) * 10) / 10;
    const memPct = Math.round(wave(900, 38 + this.seed * 5, 46 + this.seed * 5) * 10) / 10;
    return {
        type: 'sample',
        seq: this.seq,
        ts: Math.round(ts),
        cpu_pct: cpu,
        mem_used_pct: memPct,
        disk_used_pct: 63.2 + this.seed * 4,
        net_rx_bytes: this.rx,
        net_tx_bytes: this.tx,
        load1: Math.round((cpu / 25) * 100) / 100,
        load5: Math.round((cpu / 30) * 100) / 100,
        load15: Math.round((cpu / 35) * 100) / 100,
        mem_used_bytes: Math.round((memPct / 100) * 4 * 1024 ** 3),
        mem_total_bytes: 4 * 1024 ** 3,
        swap_used_bytes: 64 * 1024 ** 2,
        swap_total_bytes: 1024 ** 3,
        disk_read_bps: Math.round(wave(60, 0, 400_000)),
        disk_write_bps: Math.round(wave(45, 50_000, 900_000)),
        net_rx_bps: rxBps,
        net_tx_bps: txBps,
        uptime_s: 3600 + this.seq,
        procs: 123,
        ...(detail
          ? {
              cpus: [Math.min(100, cpu * 1.3), cpu * 0.7],
              disks: [
                { mount: '/', fs: 'ext4', used_bytes: 30 * 1024 ** 3, total_bytes: 47 * 1024 ** 3, read_bps: 0, write_bps: 0 },
                { mount: '/var/lib/data', fs: 'xfs', used_bytes: 410 * 1024 ** 3, total_bytes: 500 * 1024 ** 3 },
              ],
              ifaces: [{ name: 'eth0', rx_bytes: this.rx, tx_bytes: this.tx, rx_bps: rxBps, tx_bps: txBps }],
              temps: [{ label: 'Package id 0', celsius: Math.round((40 + cpu / 3) * 10) / 10 }],
              top: [
                { pid: 1, name: 'init', cpu_pct: 0.1, mem_bytes: 8_000_000 },
                { pid: 4242, name: 'e2e-worker', cpu_pct: Math.round(cpu * 5) / 10, mem_bytes: 300_000_000 },
                { pid: 777, name: 'postgres', cpu_pct: 2.5, mem_bytes: 850_000_000 },
              ],
            }
          : {}),
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.ws?.close();
    this.ws = null;
  }
}
