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

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly hostname = 'e2e-host',
  ) {}

  /** Connects, says hello and starts sampling; resolves once the socket is open. */
  start(intervalMs = 1000): Promise<void> {
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
        this.send();
        this.timer = setInterval(() => this.send(), intervalMs);
        resolve();
      });
    });
  }

  private send() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.seq++;
    const t = this.seq;
    this.rx += 20_000 + (t % 7) * 1000;
    this.tx += 8_000;
    const cpu = 20 + 15 * Math.sin(t / 5);
    this.ws.send(
      JSON.stringify({
        type: 'sample',
        seq: this.seq,
        ts: Date.now(),
        cpu_pct: Math.round(cpu * 10) / 10,
        mem_used_pct: 41.5 + (t % 3),
        disk_used_pct: 63.2,
        net_rx_bytes: this.rx,
        net_tx_bytes: this.tx,
        load1: 0.42,
        load5: 0.35,
        load15: 0.3,
        mem_used_bytes: 1.7 * 1024 ** 3,
        mem_total_bytes: 4 * 1024 ** 3,
        uptime_s: 3600 + t,
        procs: 123,
        cpus: [cpu, cpu / 2],
        disks: [{ mount: '/', fs: 'ext4', used_bytes: 30 * 1024 ** 3, total_bytes: 47 * 1024 ** 3 }],
        ifaces: [{ name: 'eth0', rx_bytes: this.rx, tx_bytes: this.tx, rx_bps: 20_000, tx_bps: 8_000 }],
        top: [
          { pid: 1, name: 'init', cpu_pct: 0.1, mem_bytes: 8e6 },
          { pid: 4242, name: 'e2e-worker', cpu_pct: cpu / 2, mem_bytes: 300e6 },
        ],
      }),
    );
    this.sent++;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.ws?.close();
    this.ws = null;
  }
}
