// Overview under load: N machines streaming at 1 Hz from real agent connections.
// Measures scroll smoothness (frames per second over a continuous scroll, counted with
// requestAnimationFrame) and main-thread CPU (Chrome DevTools Protocol
// Performance.getMetrics TaskDuration over a quiet interval) and, on Linux, the CPU time
// of every Chromium process of the run (renderer, GPU/compositor, browser), and writes
// artifacts/bench-overview.json.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test, expect, admin, apiAs, login, shot, hubUrl } from './fixtures';
import { TestAgent } from './test-agent';

const MACHINES = Number(process.env.BENCH_MACHINES ?? 100);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 20);
const SCROLL_SECONDS = Number(process.env.BENCH_SCROLL_SECONDS ?? 8);

test(`overview with ${MACHINES} live machines`, async ({ page }) => {
  const a = admin();
  const api = await apiAs(a.email, a.password);
  const agents: TestAgent[] = [];
  const ids: number[] = [];
  const existing = ((await (await api.get('/api/machines')).json()) as unknown[]).length;
  try {
    for (let i = 0; i < MACHINES; i++) {
      const res = await api.post('/api/machines', { data: { name: `bench-${String(i).padStart(3, '0')}` } });
      expect(res.status(), await res.text()).toBeLessThan(300);
      const { machine, api_key } = await res.json();
      ids.push(machine.id);
      const agent = new TestAgent(hubUrl(), api_key, `bench-${i}`);
      agents.push(agent);
    }
    // Spread the agents over the second, as real ones are.
    for (const agent of agents) {
      await new Promise((r) => setTimeout(r, 1000 / MACHINES));
      await agent.start(1000);
    }

    await login(page, a.email, a.password);
    await expect(page.getByTestId('machine-card')).toHaveCount(MACHINES + existing);
    await page.waitForTimeout(5000);

    // CPU while idle on the page with everything streaming.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const metric = async (name: string) =>
      ((await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === name)?.value ?? 0) as number;
    const t0 = await metric('Timestamp');
    const busy0 = await metric('TaskDuration');
    const procs0 = chromiumCpuSeconds();
    const wall0 = performance.now();
    const before = (await cdp.send('Performance.getMetrics')).metrics;
    await page.waitForTimeout(IDLE_SECONDS * 1000);
    const after = (await cdp.send('Performance.getMetrics')).metrics;
    const breakdown: Record<string, number> = {};
    for (const m of after) {
      const b = before.find((x) => x.name === m.name);
      if (b && /Duration|Count$/.test(m.name)) breakdown[m.name] = round(m.value - b.value);
    }
    const t1 = await metric('Timestamp');
    const busy1 = await metric('TaskDuration');
    const idleCpuPct = ((busy1 - busy0) / (t1 - t0)) * 100;
    const procs1 = chromiumCpuSeconds();
    const browserCpuPct =
      procs0 === null || procs1 === null ? null : ((procs1 - procs0) / ((performance.now() - wall0) / 1000)) * 100;

    // Scroll through the grid continuously, counting frames.
    const scroll = await page.evaluate(async (seconds) => {
      const max = document.documentElement.scrollHeight - innerHeight;
      const intervals: number[] = [];
      let last = performance.now();
      const start = last;
      let dir = 1;
      await new Promise<void>((done) => {
        const step = (now: number) => {
          intervals.push(now - last);
          last = now;
          const y = scrollY + dir * 12;
          if (y >= max || y <= 0) dir = -dir;
          scrollTo(0, Math.max(0, Math.min(max, y)));
          if (now - start < seconds * 1000) requestAnimationFrame(step);
          else done();
        };
        requestAnimationFrame(step);
      });
      const elapsed = intervals.reduce((s, v) => s + v, 0);
      const sorted = [...intervals].sort((x, y) => x - y);
      return {
        frames: intervals.length,
        fps: (intervals.length / elapsed) * 1000,
        p99FrameMs: sorted[Math.floor(sorted.length * 0.99)],
        longFrames: intervals.filter((v) => v > 33.4).length,
      };
    }, SCROLL_SECONDS);
    const t2 = await metric('Timestamp');
    const busy2 = await metric('TaskDuration');
    const scrollCpuPct = ((busy2 - busy1) / (t2 - t1)) * 100;
    await shot(page, 'bench-overview');

    const report = {
      machines: MACHINES,
      sample_interval_s: 1,
      idle_seconds: IDLE_SECONDS,
      idle_main_thread_cpu_pct: round(idleCpuPct),
      idle_all_chromium_processes_cpu_pct: browserCpuPct === null ? null : round(browserCpuPct),
      scroll_seconds: SCROLL_SECONDS,
      scroll_fps: round(scroll.fps),
      scroll_p99_frame_ms: round(scroll.p99FrameMs),
      scroll_long_frames: scroll.longFrames,
      scroll_main_thread_cpu_pct: round(scrollCpuPct),
      idle_breakdown: breakdown,
      chromium: (await page.context().browser()?.version()) ?? 'unknown',
    };
    console.log(JSON.stringify(report, null, 2));
    writeFileSync(resolve(import.meta.dirname, '../../artifacts/bench-overview.json'), JSON.stringify(report, null, 2));
    expect(report.scroll_fps).toBeGreaterThan(0);
  } finally {
    for (const agent of agents) agent.stop();
    for (const id of ids) await api.delete(`/api/machines/${id}`);
    await api.dispose();
  }
});

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/**
 * User + system CPU seconds of the Chromium processes started by this test worker (its
 * descendants in /proc), or null where /proc is not available.
 */
function chromiumCpuSeconds(): number | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  const parent = new Map<number, number>();
  const stat = new Map<number, { comm: string; ticks: number }>();
  for (const d of entries) {
    try {
      const text = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = text.lastIndexOf(')');
      const comm = text.slice(text.indexOf('(') + 1, close);
      const f = text.slice(close + 2).split(' ');
      parent.set(Number(d), Number(f[1]));
      stat.set(Number(d), { comm, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      /* the process ended meanwhile */
    }
  }
  const isOurs = (pid: number) => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) {
      if (p === process.pid) return true;
    }
    return false;
  };
  let ticks = 0;
  for (const [pid, s] of stat) if (/^chrom/i.test(s.comm) && isOurs(pid)) ticks += s.ticks;
  return ticks / 100; // USER_HZ
}
