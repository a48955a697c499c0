// The scheduler's record of one check identity (its state, counters, timers and offload), its check kind, and targets merged by identity.
import type { TimerHandle } from '../clock';
import { pairKey, type Health } from '../model/health';
import type { CheckMember, CheckTarget } from './jobs';
import type { CheckScheduler } from './scheduler';
import type { CheckKind, SchedulerOptions } from './scheduler-types';
import type { CheckResult } from './types';

/** The scheduler's state of one check identity: its health and counting, its rounds' timers, its place in the offload. */
export interface CheckEntry {
  target: CheckTarget;
  health: Health;
  /** The weight the last passing check reported (undefined: none). */
  reportedWeight?: number | undefined;
  reason: string;
  since: number;
  failures: number;
  /** Successes in a row since the last failure. */
  successes: number;
  /**
   * The real is down because of a forced result (maintenance), not of its checks: its next result decides alone, as
   * for a real never checked (the rise count is for reals that failed their checks).
   */
  forcedDown: boolean;
  checks: number;
  lastResult?: CheckResult;
  lastCheckAt?: number;
  /** Monotonic time the entry started, and the start of its last finished round (for {@link CheckScheduler.freshness}). */
  startedMono: number;
  lastCheckMono?: number;
  /** The last finished round was a maintenance round (a `maintenancedir` file forced the real down). */
  lastMaintenance: boolean;
  /** Monotonic time the next round is due. */
  due: number;
  timer?: TimerHandle | undefined;
  deadline?: TimerHandle | undefined;
  /** Signal source of the rounds: reused from round to round until one is aborted (one less object per check). */
  controller?: AbortController;
  /** Number of the latest round; a settle from an older round is ignored. */
  roundNo: number;
  running: boolean;
  /** ldirectord's `num_connects`: connect rounds since the last successful negotiate (combined checks). */
  connects: number;
  stopped: boolean;
  /** Delay added once, to the second round: spreads rounds over the whole interval after a short first spread. */
  respreadMs: number;
  /** Id of the check in {@link SchedulerOptions.offload} while its rounds run there. */
  offloadId?: number | undefined;
  /** The check answered a redirect: only the JS path follows those, so it stays there. */
  jsOnly?: boolean;
  /** While offloaded: every round comes to JS ({@link SchedulerOptions.everyRound} when it was offloaded). */
  everyRound?: boolean;
}

/** The pair key of a member of a check (see {@link pairKey}). */
export const memberPair = (m: CheckMember): string => pairKey(m.virtualId, m.realKey);

/** ldirectord's `num_connects`: combined checks negotiate first, after N good connects, and after a failed connect. */
export function checkKindOf(entry: CheckEntry): CheckKind {
  const { job, connectsBetweenNegotiates } = entry.target;
  if (job.type === 'negotiate') return 'negotiate';
  if (job.type === 'combined') return entry.connects >= connectsBetweenNegotiates ? 'negotiate' : 'connect';
  return 'connect';
}

/** `targets` by identity, in order; targets of one identity become one with the members of all (each pair once). */
export function targetsByIdentity(targets: readonly CheckTarget[]): Map<string, CheckTarget> {
  const next = new Map<string, CheckTarget>();
  for (const t of targets) {
    const seen = next.get(t.identity);
    if (!seen) next.set(t.identity, t);
    else {
      const keys = new Set(seen.members.map(memberPair));
      next.set(t.identity, {
        ...seen,
        members: [...seen.members, ...t.members.filter((m) => !keys.has(memberPair(m)))],
      });
    }
  }
  return next;
}
