//! The live samples of one machine while its page is open: a bounded buffer (for
//! merging with history when the range changes) and listeners (for charts).
import type { Sample } from '../api/types';

export class SampleFeed {
  readonly buffer: Sample[] = [];
  private readonly listeners = new Set<(s: Sample) => void>();

  constructor(private readonly max = 7200) {}

  /** Adds a sample unless it is older than or equal to the newest one held. */
  push(s: Sample): boolean {
    const last = this.buffer[this.buffer.length - 1];
    if (last && s.ts <= last.ts) return false;
    this.buffer.push(s);
    if (this.buffer.length > this.max) this.buffer.splice(0, this.buffer.length - this.max);
    for (const fn of this.listeners) fn(s);
    return true;
  }

  get latest(): Sample | null {
    return this.buffer[this.buffer.length - 1] ?? null;
  }

  listen(fn: (s: Sample) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
