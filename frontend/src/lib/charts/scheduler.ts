//! Coalesces chart redraws into one animation frame: many samples arriving within a
//! frame cost one draw per chart, and hidden tabs draw nothing until they are shown.

const pending = new Set<() => void>();
let scheduled = false;

function flush() {
  scheduled = false;
  const jobs = [...pending];
  pending.clear();
  for (const job of jobs) job();
}

/** Runs `draw` at the next animation frame, once however often it is asked for. */
export function scheduleDraw(draw: () => void): void {
  pending.add(draw);
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(flush);
  }
}

/** Forgets a queued draw (the chart is going away). */
export function cancelDraw(draw: () => void): void {
  pending.delete(draw);
}
