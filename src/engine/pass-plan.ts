// Pure: what one table pass writes, from the drain state, the kernel dump and the rest of decide's input.
import { normalizeDesired, serviceKeyString } from '../ipvs/normalize';
import type { DesiredService, IpvsOp } from '../ipvs/types';
import { decide, type DecideInput, type Decision } from './decide';
import { stepDrain, type DrainState, type FinishedDrain } from './drain';
import type { ObservedEntry } from './observed';
import { planFrom } from './plan';

/** Inputs of {@link planPass}. */
export interface PassPlanInput {
  /** decide's input without the drains and the kernel table (configuration, health, hand drains...), as the engine holds it. */
  readonly decide: Omit<DecideInput, 'draining' | 'observed' | 'observedIndex'>;
  /** Everything draining before the pass. */
  readonly drainState: DrainState;
  /**
   * The kernel table the pass starts from, as {@link indexObserved} makes it of the pass's dump (or the table as last
   * listed and written): the one index of the pass, read by the drain step, decide and the plan alike.
   */
  readonly index: ReadonlyMap<string, ObservedEntry>;
  /** Now, in the drain state's time base (monotonic milliseconds). */
  readonly now: number;
  readonly drainTimeoutMs: number;
  /** True for the id of a service ldir manages (declared by a configuration it applied); draining ones are added. */
  readonly managed: (serviceId: string) => boolean;
}

/** What a table pass would write, and the facts behind it. */
export interface PassPlan {
  /** The drain state after the drains that end now. */
  readonly drainState: DrainState;
  /** Drains that end at this pass (idle, timed out, gone): the plan deletes what they protected. */
  readonly finished: readonly FinishedDrain[];
  readonly decision: Decision;
  /** The desired table, normalized (its JSON is the pass's fingerprint). */
  readonly want: readonly DesiredService[];
  /** The kernel operations, in the order they are applied. */
  readonly ops: readonly IpvsOp[];
}

/**
 * One table pass's plan: a drain step against the dump ({@link stepDrain}), {@link decide}, then {@link planFrom}
 * over the services ldir owns (managed or draining). Pure: the engine's passes and a reload preview both compute it
 * here, so that what a preview shows is what the pass writes from the same inputs.
 */
export function planPass(input: PassPlanInput): PassPlan {
  const step = stepDrain(input.drainState, input.index, input.now, { timeoutMs: input.drainTimeoutMs });
  const decision = decide({ ...input.decide, draining: step.state.entries.values(), observedIndex: input.index });
  const draining = new Set([...step.state.entries.values()].filter((e) => e.kind === 'service').map((e) => e.id));
  // Each side normalized once per pass: the dump (index) for the drain step, decide and plan, the desired table for plan
  // and the fingerprint.
  const want = normalizeDesired(decision.desired);
  const ops = planFrom(want, input.index, (key) => {
    const id = serviceKeyString(key);
    return input.managed(id) || draining.has(id);
  });
  return { drainState: step.state, finished: step.finished, decision, want, ops };
}
