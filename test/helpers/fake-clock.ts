// A Clock for tests: time stands still until the test advances it; due timers then run in time order.
import type { Clock, TimerHandle } from '../../src/clock';

interface FakeTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** Lets every pending promise continuation (and anything they chain) run. */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A manual clock: `now()` starts at `startEpochMs`, `monotonic()` at 0, both move only in {@link FakeClock.advance}. */
export class FakeClock implements Clock {
  private elapsed = 0;
  private seq = 0;
  private timers: FakeTimer[] = [];

  constructor(private readonly startEpochMs = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.startEpochMs + this.elapsed;
  }

  monotonic(): number {
    return this.elapsed;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: ++this.seq, at: this.elapsed + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    const id = handle as unknown as number;
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  /**
   * Moves time forward by `ms` without running any timer, as for a process that was frozen (SIGSTOP, a paused VM):
   * the next {@link advance} runs every timer that fell due meanwhile, late, at the time it then is.
   */
  stall(ms: number): void {
    this.elapsed += ms;
  }

  /** Timers not yet run. */
  pending(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, running each timer that falls due in order of due time (then creation), with time
   * set to its due time and pending promises flushed after each one. Bounded: at most `maxTimers` timers run.
   */
  async advance(ms: number, maxTimers = 1_000_000): Promise<void> {
    const target = this.elapsed + ms;
    await flushPromises();
    for (let ran = 0; ran < maxTimers; ran++) {
      let next: FakeTimer | undefined;
      for (const t of this.timers) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      }
      if (!next) break;
      const due = next;
      this.timers = this.timers.filter((t) => t !== due);
      this.elapsed = Math.max(this.elapsed, due.at);
      due.fn();
      await flushPromises();
    }
    this.elapsed = target;
    await flushPromises();
  }
}
