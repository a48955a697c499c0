// The scheduler's hand-off of checks to the probe engine (SchedulerOptions.offload): which entries run there, and
// their quiet rounds handed to the listeners.
import type { TimerHandle } from '../clock';
import type { Logger } from '../log';
import { reasonOf } from './guard';
import type { SliceYielder } from '../system/slice-yielder';
import type { OffloadedRound, QuietCounts } from './native-rounds';
import { checkKindOf, type CheckEntry } from './scheduler-entry';
import type { SchedulerListeners } from './scheduler-listeners';
import type { SchedulerOptions } from './scheduler-types';

/** How often the quiet rounds of offloaded checks are handed to `onCheck` when nobody reads the state (without `onQuietRounds`). */
export const QUIET_FLUSH_MS = 5_000;

/**
 * The checks whose rounds run on {@link SchedulerOptions.offload}, by offload id: starts and stops them there and
 * hands their quiet rounds to `onCheck` (one by one, on a {@link QUIET_FLUSH_MS} timer while nobody reads them) or,
 * counted, to `onQuietRounds`.
 */
export class OffloadHandOff {
  /** Offloaded checks by their offload id. */
  private readonly byId = new Map<number, CheckEntry>();
  private quietTimer: TimerHandle | undefined;
  private flushing = false;

  constructor(
    private readonly options: SchedulerOptions,
    private readonly listeners: SchedulerListeners,
    private readonly log: Logger | undefined,
  ) {}

  /** How many checks run on the offload. */
  get size(): number {
    return this.byId.size;
  }

  /** The offloaded checks. */
  entries(): IterableIterator<CheckEntry> {
    return this.byId.values();
  }

  /**
   * Hands the rounds of `entry` (a `connect` or `negotiate` check) to the offload; true when it took them. Its rounds
   * that JS must count go to `onRound` with the offload id.
   */
  start(entry: CheckEntry, firstDelayMs: number, onRound: (id: number, round: OffloadedRound) => void): boolean {
    const offload = this.options.offload;
    if (!offload) return false;
    const { job, intervalMs } = entry.target;
    if (job.type !== 'connect' && job.type !== 'negotiate') return false;
    const everyRound = this.options.everyRound?.(entry.target) ?? false;
    // With onQuietRounds the quiet rounds are only counted: nothing to take in time, no timer.
    const keepQuiet = this.options.onQuietRounds === undefined;
    const id = offload.start(
      {
        job,
        intervalMs,
        firstDelayMs,
        respreadMs: entry.respreadMs,
        reportAll: everyRound,
        failureCount: entry.target.failureCount,
        riseCount: entry.target.riseCount,
        keepQuiet,
      },
      (round) => onRound(id as number, round),
    );
    if (id === undefined) return false;
    entry.offloadId = id;
    entry.everyRound = everyRound;
    // respreadMs stays until the first round is delivered (the engine adds it to the second): a check moved back to
    // JS before its first round still needs it.
    this.byId.set(id, entry);
    if (keepQuiet) this.quietTimer ??= this.options.clock.setTimeout(() => this.quietTick(), QUIET_FLUSH_MS);
    return true;
  }

  /** Stops the offloaded rounds of `entry` (whoever calls it has taken the quiet rounds first: the engine forgets them). */
  stop(entry: CheckEntry): void {
    if (entry.offloadId === undefined) return;
    this.options.offload?.stop(entry.offloadId);
    this.byId.delete(entry.offloadId);
    entry.offloadId = undefined;
    if (this.byId.size === 0 && this.quietTimer !== undefined) {
      this.options.clock.clearTimeout(this.quietTimer);
      this.quietTimer = undefined;
    }
  }

  /** Hands the offloaded checks' quiet rounds to `onCheck` (metrics, benchmarks). */
  flushQuiet(): void {
    const offload = this.options.offload;
    if (!offload || this.byId.size === 0 || this.flushing) return;
    this.flushing = true; // onCheck listeners may read the snapshot, which flushes
    const batched = this.options.onQuietRounds;
    try {
      if (!batched) {
        offload.takeQuiet((q) => {
          const entry = this.byId.get(q.id);
          if (entry) this.listeners.round(entry.target, checkKindOf(entry), q.scheduledAt, q.startedAt, q.result);
        });
        return;
      }
      offload.takeQuietCounts((id, counts) => {
        const entry = this.byId.get(id);
        if (entry) this.handCounts(entry, counts);
      });
    } finally {
      this.flushing = false;
    }
  }

  /**
   * {@link flushQuiet}, the counted quiet rounds (with `onQuietRounds`) handed over in slices of `yielder`: they are
   * taken from the offload at once, then given to the listener one check at a time, the event loop getting a turn
   * whenever a slice is used up (at 100,000 checks, handing them all over held it about a quarter of a second).
   * Without `onQuietRounds`, the same as flushQuiet.
   */
  async flushQuietSliced(yielder: Pick<SliceYielder, 'maybeYield'>): Promise<void> {
    const offload = this.options.offload;
    if (!this.options.onQuietRounds) {
      this.flushQuiet();
      return;
    }
    if (!offload || this.byId.size === 0 || this.flushing) return;
    const taken: Array<{ entry: CheckEntry; counts: QuietCounts }> = [];
    offload.takeQuietCounts((id, counts) => {
      const entry = this.byId.get(id);
      if (entry) taken.push({ entry, counts });
    });
    for (const { entry, counts } of taken) {
      this.handCounts(entry, counts);
      const turn = yielder.maybeYield();
      if (turn) await turn;
    }
  }

  /** Hands one check's counted quiet rounds to `onQuietRounds` (a listener's throw is logged, not passed on). */
  private handCounts(entry: CheckEntry, counts: QuietCounts): void {
    try {
      this.options.onQuietRounds?.({
        identity: entry.target.identity,
        members: entry.target.members,
        kind: checkKindOf(entry),
        ...counts,
      });
    } catch (err) {
      this.log?.error({ err: reasonOf(err) }, 'quiet rounds listener failed');
    }
  }

  private quietTick(): void {
    this.quietTimer = undefined;
    if (this.byId.size === 0) return;
    this.flushQuiet();
    this.quietTimer = this.options.clock.setTimeout(() => this.quietTick(), QUIET_FLUSH_MS);
  }
}
