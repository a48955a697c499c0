// The failure and rise counting of one check: when a result changes a real's health, and when it only counts.
import type { Health } from '../model/health';

/** The state of one check that {@link countResult} reads and moves (the scheduler's record of it). */
export interface CountedCheck {
  readonly health: Health;
  /** Failures in a row. */
  failures: number;
  /** Successes in a row since the last failure. */
  successes: number;
  /** Down because of a forced result (maintenance), not of its checks: its next success decides alone. */
  forcedDown: boolean;
  readonly target: { readonly failureCount: number; readonly riseCount: number };
}

/**
 * What one result does: changes the health to `up` or `down`, counts towards a change (`soft-success`,
 * `soft-failure`), or confirms the health there is (`same`).
 */
export type CountOutcome = 'up' | 'down' | 'soft-success' | 'soft-failure' | 'same';

/**
 * Counts one result into `check` (its counters move; its health is the caller's to change). Down: forced
 * (maintenance) at once, from unknown at the first failure, from up at the `failureCount`-th in a row. Up: from
 * unknown, or from down for maintenance only, at the first success; from down at the `riseCount`-th in a row (the ones
 * before are soft successes). A failure of the check itself ends a forced down: the rise count applies again.
 */
export function countResult(check: CountedCheck, up: boolean, forced: boolean): CountOutcome {
  if (up) {
    check.failures = 0;
    check.successes++;
    if (check.health === 'up') return 'same';
    return check.health === 'unknown' || check.forcedDown || check.successes >= check.target.riseCount
      ? 'up'
      : 'soft-success';
  }
  check.failures++;
  check.successes = 0;
  if (!forced) check.forcedDown = false; // down after a check of its own: the rise count applies again
  if (check.health === 'down') return 'same';
  if (forced || check.health === 'unknown' || check.failures >= check.target.failureCount) {
    check.forcedDown = forced;
    return 'down';
  }
  return 'soft-failure';
}
