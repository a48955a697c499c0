// What the scheduler reports of one check: its status (`ldir status`, metrics) and how fresh its results are (watchdog).
import { roundDeadlineMs } from './jobs';
import type { OffloadStatus, RoundOffload } from './native-rounds';
import type { OverdueVisit } from './overdue-checks';
import type { CheckEntry } from './scheduler-entry';
import type { CheckFreshness, IdentityStatus } from './scheduler-types';

/** The probe engine's statistics of the offloaded checks, by offload id (undefined when none is offloaded). */
export type OffloadStatuses = ReadonlyMap<number, OffloadStatus> | undefined;

/** The status of one check identity: JS's record, with the probe engine's quiet rounds when it runs there. */
export function identityStatusOf(e: CheckEntry, offloaded: OffloadStatuses): IdentityStatus {
  const off = e.offloadId !== undefined ? offloaded?.get(e.offloadId) : undefined;
  const lastResult = off?.quietLast?.result ?? e.lastResult;
  const lastCheckAt = off?.quietLast?.startedWall ?? e.lastCheckAt;
  return {
    identity: e.target.identity,
    members: e.target.members,
    health: e.health,
    reason: e.reason,
    since: e.since,
    consecutiveFailures: e.failures + (off?.quietFailures ?? 0),
    // (quiet rounds never move it: quiet failures follow failures JS saw, quiet successes an up real)
    riseSuccesses: e.health === 'down' ? e.successes : 0,
    riseCount: e.target.riseCount,
    checks: off ? Math.max(e.checks, off.rounds) : e.checks,
    ...(lastResult ? { lastResult } : {}),
    ...(lastCheckAt !== undefined ? { lastCheckAt } : {}),
    running: off ? off.running : e.running,
  };
}

/** The start of a check's last finished round: JS's record, or the probe engine's (`engineLast`) when later. */
function lastRoundOf(e: CheckEntry, engineLast: number | undefined): number | undefined {
  return engineLast === undefined ? e.lastCheckMono : Math.max(engineLast, e.lastCheckMono ?? engineLast);
}

/** Why no result is expected of a check: none runs (`checktype=on|off`), or maintenance holds its real down. */
function exemptionOf(e: CheckEntry): CheckFreshness['exempt'] {
  const type = e.target.job.type;
  return type === 'on' || type === 'off' ? 'no-check' : e.lastMaintenance ? 'maintenance' : undefined;
}

/** How recent one check identity's results are (an offloaded check's last round read from the probe engine's statistics). */
export function checkFreshnessOf(e: CheckEntry, offloaded: OffloadStatuses): CheckFreshness {
  const { identity, members, intervalMs, job } = e.target;
  const last = lastRoundOf(e, e.offloadId !== undefined ? offloaded?.get(e.offloadId)?.lastStartedAt : undefined);
  const exempt = exemptionOf(e);
  return {
    identity,
    members,
    intervalMs,
    timeoutMs: roundDeadlineMs(job),
    startedAt: e.startedMono,
    ...(last !== undefined ? { lastResultAt: last } : {}),
    ...(exempt ? { exempt } : {}),
  };
}

/**
 * Hands every entry to the overdue scan of {@link OverdueWatch}: its pairs, its last round (an offloaded check's as
 * the probe engine says, through its cheap `lastStarts` when it has one), its interval, its round deadline and whether
 * no result is expected of it (`checktype=on|off`, maintenance).
 */
export function visitOverdue(
  entries: Iterable<CheckEntry>,
  offload: RoundOffload | undefined,
  visit: OverdueVisit,
): void {
  const starts = offload?.lastStarts ? offload.lastStarts() : undefined;
  const statuses = offload && !starts ? offload.statuses() : undefined;
  for (const e of entries) {
    const engineLast =
      e.offloadId === undefined
        ? undefined
        : starts
          ? starts.get(e.offloadId)
          : statuses?.get(e.offloadId)?.lastStartedAt;
    visit(
      e.target.members,
      lastRoundOf(e, engineLast) ?? e.startedMono,
      e.target.intervalMs,
      roundDeadlineMs(e.target.job),
      exemptionOf(e) !== undefined,
    );
  }
}
