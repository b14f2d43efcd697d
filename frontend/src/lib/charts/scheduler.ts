//! Coalesces chart redraws into animation frames: many samples arriving within a frame
//! cost one draw per chart, and hidden tabs draw nothing until they are shown. Draws
//! share a time budget per frame; what does not fit waits for the next frame, so a burst
//! of updates never turns into one long frame. While the page is being scrolled, draws
//! wait until it stops: repainting canvases mid-scroll costs frames, and nobody reads a
//! sparkline that is moving past.

/** Milliseconds of drawing per frame before the rest is deferred. */
export const FRAME_BUDGET_MS = 6;

/** How long after the last scroll event the page counts as still scrolling. */
export const SCROLL_SETTLE_MS = 150;

const pending = new Set<() => void>();
let scheduled = false;
let lastScroll = -Infinity;
let settleTimer: ReturnType<typeof setTimeout> | null = null;

if (typeof addEventListener === 'function') {
  addEventListener('scroll', () => (lastScroll = performance.now()), { passive: true, capture: true });
}

function flush() {
  scheduled = false;
  const idle = performance.now() - lastScroll;
  if (idle < SCROLL_SETTLE_MS) {
    if (settleTimer === null) {
      settleTimer = setTimeout(() => {
        settleTimer = null;
        schedule();
      }, SCROLL_SETTLE_MS - idle);
    }
    return;
  }
  const start = performance.now();
  for (const job of pending) {
    pending.delete(job);
    job();
    if (performance.now() - start > FRAME_BUDGET_MS) break;
  }
  if (pending.size > 0) schedule();
}

function schedule() {
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(flush);
  }
}

/** Runs `draw` at a coming animation frame, once however often it is asked for. */
export function scheduleDraw(draw: () => void): void {
  pending.add(draw);
  schedule();
}

/** Forgets a queued draw (the chart is going away). */
export function cancelDraw(draw: () => void): void {
  pending.delete(draw);
}
