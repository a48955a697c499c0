// Pure: slow start (`slowstart=`), a real's weight raised in steps of whole seconds from what the kernel has to its target.

/** A weight ramp in progress for one (virtual, real) pair. Times are the caller's clock (monotonic milliseconds). */
export interface Ramp {
  /** When the ramp began. */
  readonly since: number;
  /** The kernel weight it began from (0: the real was not in the table or had weight 0). */
  readonly from: number;
  /** The weight it ends at: the real's target weight when the ramp began. */
  readonly to: number;
}

/**
 * The weight of a ramp `elapsedMs` after it began, over `seconds`: it changes once per whole second, linearly from
 * `from` to `to` (never below 1: a real that serves gets at least one share), and is `to` once the time is up.
 */
export function rampWeight(r: Ramp, elapsedMs: number, seconds: number): number {
  const k = Math.floor(Math.max(0, elapsedMs) / 1000);
  if (k >= seconds) return r.to;
  return Math.min(r.to, Math.max(1, r.from + Math.ceil(((r.to - r.from) * k) / seconds)));
}

/** Milliseconds from `now` to the next step of ramp `r` (the next whole second since it began). */
export function nextStepIn(r: Ramp, now: number): number {
  const elapsed = Math.max(0, now - r.since);
  return (Math.floor(elapsed / 1000) + 1) * 1000 - elapsed;
}

/**
 * The ramp a real serving with `target` weight follows at `now`, or undefined when it takes `target` at once: a
 * ramp in progress towards the same target goes on until its time is up; otherwise a ramp begins when the target is
 * above what the kernel has (`kernelWeight`, 0 when absent) — a new or recovered real, an undrained one, a raised
 * weight, a ramp cut by a restart (it goes on from where the kernel stands). A lowered weight applies at once.
 */
export function rampFor(
  previous: Ramp | undefined,
  target: number,
  kernelWeight: number,
  seconds: number,
  now: number,
): Ramp | undefined {
  if (seconds <= 0) return undefined;
  if (previous && previous.to === target) return now - previous.since >= seconds * 1000 ? undefined : previous;
  if (target <= kernelWeight) return undefined;
  return { since: now, from: kernelWeight, to: target };
}

/** How late after a slow-start step its pass is timed: Node's timers may fire up to a millisecond early. */
const RAMP_TIMER_LATE_MS = 2;

/**
 * Milliseconds from `now` to the pass of the next step of any of `ramps` (undefined: none in progress), counted from
 * `decidedAt`, the time the last pass decided its steps at (a pass just before a second's boundary must not skip the
 * next step), a few ms late rather than early.
 */
export function nextRampPassInMs(ramps: ReadonlyMap<string, Ramp>, decidedAt: number, now: number): number | undefined {
  if (ramps.size === 0) return undefined;
  const next = Math.min(...[...ramps.values()].map((r) => nextStepIn(r, decidedAt)));
  return Math.max(1, next - (now - decidedAt) + RAMP_TIMER_LATE_MS);
}
