// Since when each real's decision (its reason and desired weight) has held, for `ldir status`.
import { pairKey } from '../model/health';
import type { SliceYielder } from '../system/slice-yielder';
import type { Decision, RealDecision } from './decide';

/** The time each pair's decision last changed, by {@link pairKey}. */
export class DecisionAges {
  private readonly decided = new Map<string, { reason: string; weight: number | undefined; since: number }>();

  /** Notes the decisions of a pass at `now` (epoch ms): a pair whose reason or weight changed starts a new age. */
  track(decision: Decision, now: number): void {
    for (const v of decision.virtuals) for (const r of v.reals) this.note(v.virtualId, r, now);
  }

  /** {@link track}, giving the event loop a turn when `yielder`'s slice is used up (a big table). */
  async trackSliced(decision: Decision, now: number, yielder: Pick<SliceYielder, 'maybeYield'>): Promise<void> {
    for (const v of decision.virtuals) {
      for (const r of v.reals) {
        this.note(v.virtualId, r, now);
        const turn = yielder.maybeYield();
        if (turn) await turn;
      }
    }
  }

  private note(virtualId: string, r: RealDecision, now: number): void {
    const pk = pairKey(virtualId, r.realKey);
    const was = this.decided.get(pk);
    if (was?.reason !== r.reason || was.weight !== r.desiredWeight)
      this.decided.set(pk, { reason: r.reason, weight: r.desiredWeight, since: now });
  }

  /** Since when the pair's decision has held (epoch ms); undefined before its first. */
  since(pair: string): number | undefined {
    return this.decided.get(pair)?.since;
  }

  /** Forgets the pairs not in `pairs`. */
  keepOnly(pairs: ReadonlySet<string>): void {
    for (const k of this.decided.keys()) if (!pairs.has(k)) this.decided.delete(k);
  }
}
