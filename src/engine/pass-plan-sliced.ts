// A table pass's plan in slices (issue 21, big tables): planPass's drain step, decide and plan, run one virtual
// service (one desired service) at a time, giving the event loop a turn between them once a slice is used up.
import { normalizeDesiredService, serviceKeyString, sortDesiredServices } from '../ipvs/normalize';
import type { DesiredService } from '../ipvs/types';
import type { SliceYielder } from '../system/slice-yielder';
import { decideBegin, decideEnd, decideVirtualInto } from './decide';
import { stepDrain, type DrainState, type FinishedDrain } from './drain';
import type { PassPlan, PassPlanInput } from './pass-plan';
import { planBegin, planEnd, planServiceInto } from './plan';
import { serviceFingerprint, type TableFingerprint } from './table-fingerprint';

/** What gives the event loop its turns: a {@link SliceYielder}, or a test's fake. */
export type PassYielder = Pick<SliceYielder, 'yieldIfDue'>;

/** {@link PassPlan} with the fingerprint of its desired table, built along. */
export interface SlicedPassPlan extends PassPlan {
  readonly fingerprint: TableFingerprint;
}

/** Waits for the event loop's turn when the slice is used up (no await at all otherwise). */
async function pause(yielder: PassYielder): Promise<void> {
  const turn = yielder.yieldIfDue();
  if (turn) await turn;
}

/**
 * {@link planPass} in slices: the same drain step, decision, desired table and operations from the same input (the
 * functions are planPass's own, run one virtual service at a time: decideBegin / decideVirtualInto / decideEnd, then
 * planBegin / planServiceInto / planEnd), and the table's fingerprint ({@link serviceFingerprint} per service).
 * `stepped` gets the drain step at once, before the first turn given away: the caller records it before anything else
 * can change the drains. The input must not change while it runs (the caller takes copies of what others write).
 */
export async function planPassSliced(
  input: PassPlanInput,
  yielder: PassYielder,
  stepped?: (state: DrainState, finished: readonly FinishedDrain[]) => void,
): Promise<SlicedPassPlan> {
  const step = stepDrain(input.drainState, input.index, input.now, { timeoutMs: input.drainTimeoutMs });
  stepped?.(step.state, step.finished);
  const drainEntries = [...step.state.entries.values()];
  const decided = decideBegin({ ...input.decide, draining: drainEntries, observedIndex: input.index });
  for (const v of input.decide.config.virtualServices) {
    decideVirtualInto(decided, v);
    await pause(yielder);
  }
  const decision = decideEnd(decided);
  const draining = new Set(drainEntries.filter((e) => e.kind === 'service').map((e) => e.id));
  const normalized: DesiredService[] = [];
  for (const d of decision.desired) {
    normalized.push(normalizeDesiredService(d));
    await pause(yielder);
  }
  const want = sortDesiredServices(normalized);
  const progress = planBegin();
  const fingerprint: string[] = [];
  for (const wanted of want) {
    planServiceInto(progress, wanted, input.index);
    fingerprint.push(serviceFingerprint(wanted));
    await pause(yielder);
  }
  const ops = planEnd(progress, input.index, (key) => {
    const id = serviceKeyString(key);
    return input.managed(id) || draining.has(id);
  });
  return { drainState: step.state, finished: step.finished, decision, want, ops, fingerprint };
}
