import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

let frames: FrameRequestCallback[] = [];
let now = 0;

beforeEach(() => {
  frames = [];
  now = 0;
  vi.resetModules();
  vi.stubGlobal('requestAnimationFrame', (cb: FrameRequestCallback) => frames.push(cb));
  vi.stubGlobal('performance', { now: () => now });
});
afterEach(() => vi.unstubAllGlobals());

function runFrame() {
  const f = frames;
  frames = [];
  for (const cb of f) cb(now);
}

describe('scheduleDraw', () => {
  it('runs each draw once per frame however often it is asked for', async () => {
    const { scheduleDraw } = await import('../../src/lib/charts/scheduler');
    let n = 0;
    const draw = () => n++;
    scheduleDraw(draw);
    scheduleDraw(draw);
    expect(frames).toHaveLength(1);
    runFrame();
    expect(n).toBe(1);
    expect(frames).toHaveLength(0);
  });

  it('defers what does not fit in the frame budget to the next frame', async () => {
    const { scheduleDraw, cancelDraw, FRAME_BUDGET_MS } = await import('../../src/lib/charts/scheduler');
    const done: number[] = [];
    const jobs = [0, 1, 2, 3].map((i) => () => {
      done.push(i);
      now += FRAME_BUDGET_MS / 2 + 1; // two jobs exceed the budget
    });
    for (const j of jobs) scheduleDraw(j);
    cancelDraw(jobs[3]);
    runFrame();
    expect(done).toEqual([0, 1]);
    runFrame();
    expect(done).toEqual([0, 1, 2]);
    expect(frames).toHaveLength(0);
  });
});
