// What a check target's reals start with before the target's first round: the scheduler's `initialHealth`.
import type { CheckTarget } from './jobs';
import { pairKey, type Health } from '../model/health';

/**
 * The health a target starts with from the kernel weights of its pairs (by {@link pairKey}; null when absent):
 * `checktype=off` runs no check, so its reals keep what the kernel says (weight > 0 up, else down), as ldirectord.
 * Undefined for every other check type (it starts `unknown` and its first round decides).
 */
export function initialHealthFromKernel(
  target: CheckTarget,
  kernelWeight: ReadonlyMap<string, number | null>,
): Health | undefined {
  if (target.job.type !== 'off') return undefined;
  const weights = target.members.map((m) => kernelWeight.get(pairKey(m.virtualId, m.realKey)) ?? null);
  return weights.some((w) => w !== null && w > 0) ? 'up' : 'down';
}

/** Health of a check target from a health map by {@link pairKey} (its first member's; all share one check). */
export function healthOfTarget(target: CheckTarget, health: ReadonlyMap<string, Health>): Health | undefined {
  const first = target.members[0];
  const h = first ? health.get(pairKey(first.virtualId, first.realKey)) : undefined;
  return h === 'up' || h === 'down' ? h : undefined;
}
