// The checker watchdog: from one clock reading, how recent every check's last result and the engine's last pass
// are, whether the director still watches its reals and keeps its table (a checker frozen for a day went unnoticed
// in keepalived, issue #2523). Pure: the daemon hands it what the scheduler and the engine say.
import type { CheckMember } from '../checks/jobs';
import { OverdueTally, type OverdueChecks } from '../checks/overdue-checks';
import type { CheckFreshness } from '../checks/scheduler';
import type { PassLiveness } from '../engine/sync-loop';

/**
 * A real's check is overdue when it has had no result for more than this many times (interval + timeout): a round
 * starts every interval and ends within its timeout, so a healthy check's last result is never older than one of
 * each; twice that leaves room for a re-spread first round, a check moved between the engine and JS, and a loaded host.
 */
export const CHECK_OVERDUE_FACTOR = 2;

/**
 * The engine is stalled when no sync pass has finished for more than this many resync intervals: a pass runs at
 * least every resync interval while the daemon runs (more often on health changes).
 */
export const ENGINE_STALL_FACTOR = 3;

/** Stable codes of the watchdog's reasons; both can hold at once. */
export type WatchdogCode = 'checks-overdue' | 'engine-stalled';

/** Every {@link WatchdogCode}, in the order a verdict lists them. */
export const WATCHDOG_CODES: readonly WatchdogCode[] = ['checks-overdue', 'engine-stalled'];

/** Reals whose checks have given no result for too long. */
export interface ChecksOverdue {
  readonly code: 'checks-overdue';
  /** How many (virtual, real) pairs are overdue. */
  readonly reals: number;
  /** The pair longest without a result. */
  readonly worst: CheckMember;
  /** Seconds (to 0.1 s) since its last result, or since its check started when it has had none. */
  readonly ageSeconds: number;
  /** Its limit, {@link CHECK_OVERDUE_FACTOR} × (interval + timeout), in seconds. */
  readonly limitSeconds: number;
  /** One line for people, starting with the code. */
  readonly message: string;
}

/** The engine has not finished a sync pass for too long. */
export interface EngineStalled {
  readonly code: 'engine-stalled';
  /** Seconds (to 0.1 s) since the last pass finished, or since passes became due when none has. */
  readonly ageSeconds: number;
  /** {@link ENGINE_STALL_FACTOR} × the resync interval, in seconds. */
  readonly limitSeconds: number;
  /** One line for people, starting with the code. */
  readonly message: string;
}

/** One reason the watchdog fails. */
export type WatchdogReason = ChecksOverdue | EngineStalled;

/** The watchdog's answer. */
export interface WatchdogVerdict {
  /** No reason holds. */
  readonly ok: boolean;
  /** What fails, at most one of each code, in {@link WATCHDOG_CODES} order; empty when ok. */
  readonly reasons: readonly WatchdogReason[];
  /** (virtual, real) pairs whose checks are overdue; 0 when none. */
  readonly checksOverdue: number;
}

/** What the watchdog looks at. Times are monotonic milliseconds of one clock. */
export interface WatchdogInput {
  readonly now: number;
  /** Every check identity (the scheduler's {@link CheckFreshness}); not read when `overdue` is given. */
  readonly checks: readonly CheckFreshness[];
  /**
   * The overdue checks already counted at `now` with {@link CHECK_OVERDUE_FACTOR} (the scheduler's `overdue()`, which
   * need not walk every identity on each read); when given, `checks` is not read.
   */
  readonly overdue?: OverdueChecks;
  /** The engine's passes; undefined while there is no engine. */
  readonly engine: PassLiveness | undefined;
}

/** Milliseconds as seconds to 0.1 s (never negative). */
const toSeconds = (ms: number): number => Math.round(Math.max(0, ms) / 100) / 10;

/** The overdue checks among `checks` at `now`: the same count the scheduler's `overdue()` makes. */
export function overdueOf(now: number, checks: readonly CheckFreshness[]): OverdueChecks {
  const tally = new OverdueTally(now, CHECK_OVERDUE_FACTOR);
  for (const c of checks)
    tally.visit(c.members, c.lastResultAt ?? c.startedAt, c.intervalMs, c.timeoutMs, c.exempt !== undefined);
  return tally.result();
}

/** The pairs longest without a result, or undefined when none is overdue. */
function overdueChecks({ reals, worst }: OverdueChecks): ChecksOverdue | undefined {
  if (!worst) return undefined;
  const ageSeconds = toSeconds(worst.ageMs);
  const limitSeconds = toSeconds(worst.limitMs);
  const name = `${worst.member.virtualId} ${worst.member.realKey}`;
  return {
    code: 'checks-overdue',
    reals,
    worst: worst.member,
    ageSeconds,
    limitSeconds,
    message:
      `checks-overdue: ${reals} real${reals === 1 ? '' : 's'} without a check result for more than ` +
      `${CHECK_OVERDUE_FACTOR} x (interval + timeout); worst ${name}: ${ageSeconds} s (limit ${limitSeconds} s)`,
  };
}

/** The stall of the engine's passes, or undefined when they keep coming (or none is expected). */
function stalledEngine(now: number, engine: PassLiveness | undefined): EngineStalled | undefined {
  if (!engine || engine.held || engine.dueSince === undefined) return undefined;
  const since = Math.max(engine.dueSince, engine.lastPassAt ?? engine.dueSince);
  const ageMs = now - since;
  const limitMs = ENGINE_STALL_FACTOR * engine.resyncIntervalMs;
  if (!(ageMs > limitMs)) return undefined;
  const ageSeconds = toSeconds(ageMs);
  const limitSeconds = toSeconds(limitMs);
  const what =
    engine.lastPassAt === undefined
      ? `no kernel sync pass has finished in the ${ageSeconds} s since one was due`
      : `no kernel sync pass has finished for ${ageSeconds} s`;
  return {
    code: 'engine-stalled',
    ageSeconds,
    limitSeconds,
    message: `engine-stalled: ${what} (limit ${limitSeconds} s: ${ENGINE_STALL_FACTOR} x the ${toSeconds(engine.resyncIntervalMs)} s resync interval)`,
  };
}

/**
 * The watchdog's verdict at `input.now`:
 *
 * - `checks-overdue` when a real has had no check result for more than {@link CHECK_OVERDUE_FACTOR} × (interval +
 *   timeout) of its check. A check with no result yet is measured from when it started, so a daemon just started
 *   or a reload that adds reals is not failed. Checks that run nothing (`checktype=on|off`) and reals forced down by
 *   `maintenancedir` are never overdue. The count is of (virtual, real) pairs; the worst is the one longest without
 *   a result.
 * - `engine-stalled` when no sync pass has finished for more than {@link ENGINE_STALL_FACTOR} × the resync interval,
 *   measured from the later of the last pass and the moment passes became due (the first pass, or the end of a
 *   pause). While the loop is paused (a restart hands the table over) or stopped, it is not stalled.
 *
 * Both limits are strict: an age equal to the limit is still ok.
 */
export function watchdogVerdict(input: WatchdogInput): WatchdogVerdict {
  const checks = overdueChecks(input.overdue ?? overdueOf(input.now, input.checks));
  const engine = stalledEngine(input.now, input.engine);
  const reasons: WatchdogReason[] = [...(checks ? [checks] : []), ...(engine ? [engine] : [])];
  return { ok: reasons.length === 0, reasons, checksOverdue: checks?.reals ?? 0 };
}

/** The verdict in one line: `ok`, or `watchdog: ` and every reason's message joined by `; `. */
export function describeVerdict(verdict: Pick<WatchdogVerdict, 'ok' | 'reasons'>): string {
  return verdict.ok ? 'ok' : `watchdog: ${verdict.reasons.map((r) => r.message).join('; ')}`;
}
