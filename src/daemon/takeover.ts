// Pure helpers of a restart's two sides: kernel weights by pair, the bound of a first check round, health by target.
import { checkDeadlineMs, realKey, type CheckTarget } from '../checks/jobs';
import type { Health } from '../checks/scheduler';
import { indexObserved } from '../engine/observed';
import { realDestination, serviceOf } from '../engine/translate';
import { destinationKeyString, serviceKeyString } from '../ipvs/normalize';
import type { ObservedService } from '../ipvs/types';
import type { Config } from '../model';

/** Key of a (virtual, real) pair in the daemon's weight and health maps. */
export const memberKey = (virtualId: string, real: string): string => `${virtualId}\u0000${real}`;

/** Weight of every configured (virtual, real) pair in a kernel dump (null when absent), by {@link memberKey}. */
export function kernelWeightsOf(config: Config, observed: readonly ObservedService[]): Map<string, number | null> {
  const index = indexObserved(observed);
  const weights = new Map<string, number | null>();
  for (const v of config.virtualServices) {
    const service = index.get(serviceKeyString(serviceOf(v)));
    for (const r of v.reals) {
      const d = service?.destinations.get(destinationKeyString(realDestination(v, r, r.weight)));
      weights.set(memberKey(v.id, realKey(r.address, r.port)), d?.weight ?? null);
    }
  }
  return weights;
}

/** Longest wait for a first check round: the slowest target's interval (the spread) plus its timeout, plus 1 s. */
export function firstRoundBoundMs(targets: readonly CheckTarget[], capMs = 120_000): number {
  let longest = 0;
  for (const t of targets) {
    const kind = t.job.type === 'negotiate' || t.job.type === 'combined' ? 'negotiate' : 'connect';
    longest = Math.max(longest, t.intervalMs + checkDeadlineMs(t.job, kind));
  }
  return Math.min(capMs, longest + 1_000);
}

/** Health of a check target from a health map by {@link memberKey} (its first member's; all share one check). */
export function healthOfTarget(target: CheckTarget, health: ReadonlyMap<string, Health>): Health | undefined {
  const first = target.members[0];
  const h = first ? health.get(memberKey(first.virtualId, first.realKey)) : undefined;
  return h === 'up' || h === 'down' ? h : undefined;
}
