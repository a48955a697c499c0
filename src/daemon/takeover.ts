// The successor's side of a restart: its wait for its turn, and the helpers of both sides (kernel weights by pair,
// the bound of a first check round).
import { checkDeadlineMs, type CheckTarget } from '../checks/jobs';
import { pairKey, realKey } from '../model/health';
import type { CheckScheduler } from '../checks/scheduler';
import type { Clock, TimerHandle } from '../clock';
import { ErrorCodes, LdirError } from '../errors';
import type { Logger } from '../log';
import type { HandoverState, PredecessorLink } from './handover';
import { indexObserved } from '../engine/observed';
import { realDestination, serviceOf } from '../engine/translate';
import { destinationKeyString, serviceKeyString } from '../ipvs/normalize';
import type { ObservedService } from '../ipvs/types';
import type { Config } from '../model';

/** Weight of every configured (virtual, real) pair in a kernel dump (null when absent), by {@link pairKey}. */
export function kernelWeightsOf(config: Config, observed: readonly ObservedService[]): Map<string, number | null> {
  const index = indexObserved(observed);
  const weights = new Map<string, number | null>();
  for (const v of config.virtualServices) {
    const service = index.get(serviceKeyString(serviceOf(v)));
    for (const r of v.reals) {
      const d = service?.destinations.get(destinationKeyString(realDestination(v, r, r.weight)));
      weights.set(pairKey(v.id, realKey(r.address, r.port)), d?.weight ?? null);
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

/** What a successor needs to wait for its turn: its checks, the channel to the old daemon, a clock, its log. */
export interface AwaitTurnOptions {
  readonly scheduler: Pick<CheckScheduler, 'whenFirstRoundDone'>;
  readonly jobs: readonly CheckTarget[];
  readonly link: PredecessorLink;
  readonly clock: Clock;
  readonly log: Logger;
  /** SIGTERM before the take-over: give up, the old daemon goes on. */
  readonly abort?: AbortSignal;
}

/**
 * The successor's wait for its turn: its first check round (bounded by {@link firstRoundBoundMs}; what is not checked
 * by then keeps its kernel weight), then `prepared` to the old daemon and its state back. Undefined when the old
 * daemon went away without one (this daemon then takes the table as it is, as after kill -9). Throws
 * LDIR_ERR_DAEMON_START_FAILED when aborted.
 */
export async function awaitTurn(o: AwaitTurnOptions): Promise<HandoverState | undefined> {
  const bound = firstRoundBoundMs(o.jobs);
  const t0 = o.clock.monotonic();
  let timer: TimerHandle | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    if (o.abort?.aborted) resolve('aborted');
    o.abort?.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  const abortError = (): LdirError =>
    new LdirError(ErrorCodes.DAEMON_START_FAILED, 'stopped before it took over (the running daemon goes on)', {
      details: { exitCode: 1 },
    });
  const complete = await Promise.race([
    o.scheduler.whenFirstRoundDone().then(() => true),
    new Promise<false>((resolve) => {
      timer = o.clock.setTimeout(() => resolve(false), bound);
    }),
    aborted,
  ]);
  if (timer !== undefined) o.clock.clearTimeout(timer);
  if (complete === 'aborted') throw abortError();
  o.log.info(
    { ms: Math.round(o.clock.monotonic() - t0), complete, boundMs: bound },
    'first check round done: taking over from the running daemon',
  );
  const state = await Promise.race([o.link.prepared(), aborted]);
  if (state === 'aborted') throw abortError();
  if (!state) o.log.warn('the previous daemon went away without handing over: taking the table as it is');
  else o.log.info({ from: state.pid }, 'the previous daemon stopped writing the kernel: taking over');
  return state;
}
