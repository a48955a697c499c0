// Bounded slices of synchronous work: a long loop calls `maybeYield()` at each step and gives the event loop a turn
// (setImmediate) once it has run for its slice, so that checks, the control socket and timers wait at most one slice.
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Default length of one slice of work, in milliseconds (the bound of issue 21 is 50 ms per request). */
export const DEFAULT_SLICE_MS = 10;

/** How many steps run between two looks at the clock (a look costs about as much as a small step). */
const STEPS_PER_LOOK = 64;

/**
 * Cuts a loop into slices of about `sliceMs` of the event loop's time. `maybeYield()` is cheap (a counter) on most
 * steps; every {@link STEPS_PER_LOOK} steps it reads the monotonic clock and, past the slice, waits for the next turn
 * of the event loop. `now` is injectable for tests (monotonic milliseconds).
 */
export class SliceYielder {
  private started: number;
  private steps = 0;
  /** Slices handed back to the event loop so far. */
  yields = 0;

  constructor(
    private readonly sliceMs: number = DEFAULT_SLICE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** Resolves at once within the slice (no await needed: returns undefined), else after one turn of the event loop. */
  maybeYield(): Promise<void> | undefined {
    if (++this.steps < STEPS_PER_LOOK) return undefined;
    this.steps = 0;
    if (this.now() - this.started < this.sliceMs) return undefined;
    return this.yieldNow();
  }

  /**
   * {@link maybeYield} for steps of uneven or large cost (a virtual service of a table pass: one to thousands of
   * reals): looks at the clock at every call.
   */
  yieldIfDue(): Promise<void> | undefined {
    this.steps = 0;
    if (this.now() - this.started < this.sliceMs) return undefined;
    return this.yieldNow();
  }

  /** Gives the event loop a turn now, and starts a new slice. */
  async yieldNow(): Promise<void> {
    await nextTurn();
    this.yields++;
    this.steps = 0;
    this.started = this.now();
  }
}
