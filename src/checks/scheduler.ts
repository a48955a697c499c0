// Runs every check target on its own timer, counts failures, and emits health transitions only when health changes.
import type { Logger } from '../log';
import type { SliceYielder } from '../system/slice-yielder';
import { reasonOf } from './guard';
import { checkDeadlineMs, type CheckTarget } from './jobs';
import type { Health } from '../model/health';
import type { OffloadedRound } from './native-rounds';
import { nextRoundDue } from './round-timing';
import { firstRoundSpreadMs } from './round-spread';
import { countResult } from './health-counting';
import { checkKindOf, memberPair, targetsByIdentity, type CheckEntry } from './scheduler-entry';
import { OffloadHandOff } from './scheduler-offload';
import { SchedulerListeners } from './scheduler-listeners';
import { OverdueWatch, type OverdueChecks } from './overdue-checks';
import { checkFreshnessOf, identityStatusOf, visitOverdue } from './scheduler-status';
import type { CheckKind, CheckFreshness, IdentityStatus, SchedulerOptions, SyncOptions } from './scheduler-types';
import type { CheckResult } from './types';

export { FIRST_ROUND_MAX_SPREAD_MS, firstRoundSpreadMs } from './round-spread';
export type {
  CheckFreshness,
  CheckKind,
  CheckRecord,
  CheckRunner,
  IdentityStatus,
  QuietRounds,
  SchedulerOptions,
  SyncOptions,
  WeightReport,
} from './scheduler-types';

export { QUIET_FLUSH_MS } from './scheduler-offload';

/**
 * Schedules checks by identity: each runs every `intervalMs` (measured from the start of the previous round, never
 * overlapping itself), is aborted at its timeout, and its results drive failure counting. A real is `down` after
 * `failureCount` consecutive failures when it was up, after one failure when its health was unknown; `up` after
 * `riseCount` consecutive successes when it was down, after one success when its health was unknown or when it was
 * down only for maintenance (ldirectord has no rise count: its `riseCount` is 1).
 */
export class CheckScheduler {
  private readonly entries = new Map<string, CheckEntry>();
  /** Identities whose first round has not finished, and who waits for that. */
  private readonly unchecked = new Set<string>();
  private firstRoundWaiters: Array<() => void> = [];
  private readonly random: () => number;
  private readonly log: Logger | undefined;
  private readonly listeners: SchedulerListeners;
  /** The checks whose rounds run on the offload. */
  private readonly offloaded: OffloadHandOff;
  /** The overdue checks, scanned only when one may be ({@link overdue}). */
  readonly overdueWatch = new OverdueWatch();

  constructor(private readonly options: SchedulerOptions) {
    this.random = options.random ?? Math.random;
    this.log = options.logger?.child({ module: 'checks' });
    this.listeners = new SchedulerListeners(options, this.log);
    this.offloaded = new OffloadHandOff(options, this.listeners, this.log);
  }

  /**
   * Applies a new set of targets: new identities start after a random offset within {@link firstRoundSpreadMs}, and
   * their later rounds are spread over the whole interval; kept identities keep
   * their state, timer and any round in flight (pairs that join one whose health is known get a transition from
   * `unknown` at once); identities no longer present stop, aborting their round in flight.
   */
  sync(targets: readonly CheckTarget[], options: SyncOptions = {}): void {
    const next = targetsByIdentity(targets);
    this.flushQuiet(); // first: the engine forgets the counts of a check stopped or moved below
    for (const [identity, entry] of this.entries) {
      if (!next.has(identity)) {
        this.stopEntry(entry);
        this.entries.delete(identity);
        this.unchecked.delete(identity);
      }
    }
    const fresh = [...next.keys()].filter((identity) => !this.entries.has(identity)).length;
    for (const [identity, target] of next) {
      const entry = this.entries.get(identity);
      if (!entry) {
        this.startEntry(target, options.initialHealth?.(target), firstRoundSpreadMs(fresh, target.intervalMs));
        continue;
      }
      const before = new Set(entry.target.members.map(memberPair));
      entry.target = target;
      this.overdueWatch.invalidate(); // its pairs, interval or timeout may have changed
      this.reoffloadIfNeeded(entry);
      if (entry.health === 'unknown') continue;
      const joined = target.members.filter((m) => !before.has(memberPair(m)));
      const at = this.options.clock.now();
      for (const m of joined) {
        this.listeners.transition({
          ...m,
          identity,
          from: 'unknown',
          to: entry.health,
          reason: entry.reason,
          at,
          checkStartedAt: entry.lastCheckAt ?? at,
          durationMs: entry.lastResult?.durationMs ?? 0,
          consecutiveFailures: entry.failures,
        });
        if (entry.reportedWeight !== undefined) this.listeners.weight(m, entry.reportedWeight, at);
      }
    }
    this.settleFirstRound();
  }

  /** State of every identity, in start order (offloaded checks' quiet rounds are handed to `onCheck` first). */
  snapshot(): IdentityStatus[] {
    return [...this.statuses()];
  }

  /**
   * {@link snapshot} one identity at a time, each made when it is asked for (a caller may give the event loop a turn
   * between them: a big table, issue 21); the quiet rounds are handed over and the probe engine read at the start.
   */
  *statuses(): Generator<IdentityStatus> {
    this.flushQuiet();
    const offloaded = this.offloaded.size > 0 ? this.options.offload?.statuses() : undefined;
    for (const e of [...this.entries.values()]) yield identityStatusOf(e, offloaded);
  }

  /**
   * How recent every identity's results are, in start order, for the checker watchdog. Cheap and without side
   * effects: quiet rounds are not taken (offloaded checks' last rounds are read from the engine's statistics).
   */
  freshness(): CheckFreshness[] {
    const offloaded = this.offloaded.size > 0 ? this.options.offload?.statuses() : undefined;
    return [...this.entries.values()].map((e) => checkFreshnessOf(e, offloaded));
  }

  /**
   * The checks with no result for more than `factor` × (interval + timeout) at `now` (monotonic), as the checker
   * watchdog judges {@link freshness}, without a list per identity and, while none can be overdue yet, without a
   * walk ({@link OverdueWatch}): `ping` and `/healthz` ask it every time, at any table size.
   */
  overdue(now: number, factor: number): OverdueChecks {
    const offload = this.offloaded.size > 0 ? this.options.offload : undefined;
    return this.overdueWatch.read(now, factor, (visit) => visitOverdue(this.entries.values(), offload, visit));
  }

  /** Hands the offloaded checks' quiet rounds to `onCheck` (metrics, benchmarks). */
  flushQuiet(): void {
    this.offloaded.flushQuiet();
  }

  /** {@link flushQuiet} in slices of `yielder` (a scrape or a status before it reads {@link statuses}). */
  flushQuietSliced(yielder: Pick<SliceYielder, 'maybeYield'>): Promise<void> {
    return this.offloaded.flushQuietSliced(yielder);
  }

  /** Stops every check and aborts rounds in flight. */
  stop(): void {
    this.flushQuiet();
    for (const entry of this.entries.values()) this.stopEntry(entry);
    this.entries.clear();
    this.unchecked.clear();
    this.settleFirstRound();
  }

  /**
   * Resolves once every identity started so far has finished its first round (at once when none is pending;
   * `checktype=on|off` run no round and never hold it up). A successor daemon waits for this before it takes over.
   */
  whenFirstRoundDone(): Promise<void> {
    if (this.unchecked.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.firstRoundWaiters.push(resolve));
  }

  private settleFirstRound(): void {
    if (this.unchecked.size > 0) return;
    const waiters = this.firstRoundWaiters;
    this.firstRoundWaiters = [];
    for (const w of waiters) w();
  }

  private startEntry(target: CheckTarget, initial: Health | undefined, spreadMs: number): void {
    const clock = this.options.clock;
    const entry: CheckEntry = {
      target,
      health: initial ?? 'unknown',
      reason: initial ? 'adopted' : 'not checked yet',
      since: clock.now(),
      startedMono: clock.monotonic(),
      lastMaintenance: false,
      failures: 0,
      successes: 0,
      forcedDown: false,
      checks: 0,
      due: 0,
      connects: Number.POSITIVE_INFINITY,
      stopped: false,
      roundNo: 0,
      running: false,
      respreadMs: 0,
    };
    this.entries.set(target.identity, entry);
    this.overdueWatch.invalidate();
    const type = target.job.type;
    if (type === 'on' && entry.health !== 'up') {
      this.change(entry, 'up', { up: true, reason: 'checktype on', durationMs: 0 }, clock.now());
    }
    // `on` and `off` run no check; with a maintenance directory they still take rounds to look for its files.
    if ((type === 'on' || type === 'off') && !this.options.maintenance) return;
    if (type !== 'on' && type !== 'off') this.unchecked.add(target.identity);
    // A place in the interval for the rounds to come; the first round takes the same place scaled into the spread.
    const spread = Math.max(1, Math.min(spreadMs, target.intervalMs));
    const place = Math.min(target.intervalMs - 1, Math.floor(this.random() * target.intervalMs));
    const offset = Math.floor((place * spread) / target.intervalMs);
    entry.respreadMs = place - offset;
    this.planRound(entry, Math.max(0, offset));
  }

  /** The next round of `entry` in `delayMs`: on the offload when it takes the check, else on a timer here. */
  private planRound(entry: CheckEntry, delayMs: number): void {
    const clock = this.options.clock;
    entry.due = clock.monotonic() + delayMs;
    if (this.offloadEntry(entry, delayMs)) return;
    entry.timer = clock.setTimeout(() => this.round(entry), delayMs);
  }

  /**
   * After `maintenancedir` appeared or went away: offloaded checks come back to JS (their next round within one
   * interval); JS checks that can be offloaded move at their next round.
   */
  maintenanceChanged(): void {
    if (!this.maintenanceInUse()) return;
    this.flushQuiet();
    for (const entry of [...this.offloaded.entries()]) {
      this.unoffload(entry);
      this.planRound(entry, this.replanDelayMs(entry)); // here: the offload is refused now
    }
  }

  /** A kept offloaded check whose need for every round changed (a `monitorfile` came or went) starts over there. */
  private reoffloadIfNeeded(entry: CheckEntry): void {
    if (entry.offloadId === undefined || (this.options.everyRound?.(entry.target) ?? false) === entry.everyRound)
      return;
    this.unoffload(entry);
    this.planRound(entry, this.replanDelayMs(entry));
  }

  /**
   * When the next round of a check moved between the offload and JS comes: a first round not finished yet keeps its
   * place in the first spread (at once when that has passed: a round in flight there was dropped), so a reload never
   * puts off a new real's first check; a check already checked takes a random place in its interval.
   */
  private replanDelayMs(entry: CheckEntry): number {
    if (this.unchecked.has(entry.target.identity)) return Math.max(0, entry.due - this.options.clock.monotonic());
    return Math.floor(this.random() * entry.target.intervalMs);
  }

  private maintenanceInUse(): boolean {
    return this.options.maintenanceInUse?.() ?? this.options.maintenance !== undefined;
  }

  /** Hands the rounds of `entry` to the offload when there is one that can run them; true when it took them. */
  private offloadEntry(entry: CheckEntry, firstDelayMs: number): boolean {
    const offload = this.options.offload;
    if (!offload || entry.jsOnly || entry.stopped || this.maintenanceInUse()) return false;
    return this.offloaded.start(entry, firstDelayMs, (id, round) => this.offloadedRound(entry, id, round));
  }

  /** A round of an offloaded check that JS must count; a redirect moves the check to the JS path (which follows it). */
  private offloadedRound(entry: CheckEntry, id: number, round: OffloadedRound): void {
    if (entry.stopped || entry.offloadId !== id) return;
    if (round.result === 'redirect') {
      this.flushQuiet();
      this.unoffload(entry);
      entry.jsOnly = true;
      entry.due = round.scheduledAt;
      this.round(entry);
      return;
    }
    // Rounds one by one: earlier quiet rounds first, so onCheck sees them in order (batches are only counted: no need,
    // and taking them walks every check's statistics).
    if (!this.options.onQuietRounds) this.flushQuiet();
    entry.respreadMs = 0; // the engine has planned the round after the first one with it
    entry.failures += round.quietFailuresBefore; // the real was down: they only counted
    this.finish(entry, checkKindOf(entry), round.scheduledAt, round.startedAt, round.startedWall, round.result);
  }

  /** Stops the offloaded rounds of `entry` (whoever calls it has taken the quiet rounds first: the engine forgets them). */
  private unoffload(entry: CheckEntry): void {
    if (entry.offloadId === undefined) return;
    this.offloaded.stop(entry);
    this.overdueWatch.invalidate(); // the engine's record of its last round goes with it
  }

  private stopEntry(entry: CheckEntry): void {
    entry.stopped = true;
    this.unoffload(entry);
    if (entry.timer !== undefined) this.options.clock.clearTimeout(entry.timer);
    if (entry.deadline !== undefined) this.options.clock.clearTimeout(entry.deadline);
    entry.timer = undefined;
    entry.deadline = undefined;
    if (entry.running) entry.controller?.abort();
    entry.running = false;
  }

  private round(entry: CheckEntry): void {
    entry.timer = undefined;
    if (entry.stopped) return;
    const clock = this.options.clock;
    const { job } = entry.target;
    const scheduledAt = entry.due;
    const startedAt = clock.monotonic();
    const startedWall = clock.now();
    const maintenance = this.options.maintenance;
    if (maintenance?.(job.address, job.realPort, this.options.hostnames?.(job.address) ?? [])) {
      this.finish(entry, 'maintenance', scheduledAt, startedAt, startedWall, {
        up: false,
        reason: 'maintenance',
        durationMs: 0,
      });
      return;
    }
    if (job.type === 'on' || job.type === 'off') {
      // Out of maintenance: `on` is up again; `off` keeps whatever it had.
      if (job.type === 'on' && entry.health !== 'up')
        this.change(entry, 'up', { up: true, reason: 'checktype on', durationMs: 0 }, startedWall);
      this.scheduleNext(entry, scheduledAt, startedAt);
      return;
    }
    const kind = checkKindOf(entry);
    let controller = entry.controller;
    if (!controller || controller.signal.aborted) {
      controller = new AbortController();
      entry.controller = controller;
    }
    const roundNo = ++entry.roundNo;
    entry.running = true;
    let settled = false;
    const settle = (result: CheckResult): void => {
      if (settled) return;
      settled = true;
      if (entry.roundNo !== roundNo || !entry.running || entry.stopped) return;
      entry.running = false;
      if (entry.deadline !== undefined) clock.clearTimeout(entry.deadline);
      entry.deadline = undefined;
      this.finish(entry, kind, scheduledAt, startedAt, startedWall, result);
    };
    entry.deadline = clock.setTimeout(
      () => {
        entry.deadline = undefined;
        controller.abort();
        settle({ up: false, reason: 'timeout', durationMs: Math.round(clock.monotonic() - startedAt) });
      },
      Math.max(1, checkDeadlineMs(job, kind)),
    );
    let pending: Promise<CheckResult>;
    try {
      pending = Promise.resolve(this.options.run(job, kind, controller.signal));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(settle, (err: unknown) =>
      settle({
        up: false,
        reason: controller.signal.aborted ? 'timeout' : reasonOf(err),
        durationMs: Math.round(clock.monotonic() - startedAt),
      }),
    );
  }

  private finish(
    entry: CheckEntry,
    kind: CheckKind | 'maintenance',
    scheduledAt: number,
    startedAt: number,
    startedWall: number,
    result: CheckResult,
  ): void {
    if (entry.target.job.type === 'combined' && kind !== 'maintenance') {
      if (kind === 'negotiate') {
        if (result.up) entry.connects = 0;
      } else {
        entry.connects = result.up ? entry.connects + 1 : Number.POSITIVE_INFINITY;
      }
    }
    entry.checks++;
    if (this.unchecked.delete(entry.target.identity)) this.settleFirstRound();
    entry.lastResult = result;
    entry.lastCheckAt = startedWall;
    entry.lastCheckMono = startedAt;
    if (entry.lastMaintenance !== (kind === 'maintenance')) this.overdueWatch.invalidate();
    entry.lastMaintenance = kind === 'maintenance';
    this.count(entry, result, kind === 'maintenance', startedWall);
    if (result.up && result.weight !== entry.reportedWeight) this.reportWeight(entry, result.weight);
    this.listeners.round(entry.target, kind, scheduledAt, startedAt, result);
    if (!entry.stopped && entry.offloadId === undefined) this.scheduleNext(entry, scheduledAt, startedAt);
  }

  /** Counts one result ({@link countResult}): changes the health, or logs the soft success or failure. */
  private count(entry: CheckEntry, result: CheckResult, forced: boolean, startedWall: number): void {
    const outcome = countResult(entry, result.up, forced);
    if (outcome === 'up' || outcome === 'down') this.change(entry, outcome, result, startedWall);
    else if (outcome !== 'same') {
      const { identity, failureCount, riseCount } = entry.target;
      const soft = outcome === 'soft-success';
      const counts = soft ? { successes: entry.successes, riseCount } : { failures: entry.failures, failureCount };
      this.log?.info({ identity, reason: result.reason, ...counts }, soft ? 'soft success' : 'soft failure');
    }
  }

  private change(entry: CheckEntry, to: Health, result: CheckResult, checkStartedAt: number): void {
    const from = entry.health;
    const at = this.options.clock.now();
    entry.health = to;
    if (to === 'up') entry.forcedDown = false;
    entry.reason = result.reason;
    entry.since = at;
    for (const m of entry.target.members) {
      this.listeners.transition({
        ...m,
        identity: entry.target.identity,
        from,
        to,
        reason: result.reason,
        at,
        checkStartedAt,
        durationMs: result.durationMs,
        consecutiveFailures: entry.failures,
      });
    }
  }

  /** A new reported weight: remembered, logged, handed to `onWeight` for each pair the check serves. */
  private reportWeight(entry: CheckEntry, weight: number | undefined): void {
    entry.reportedWeight = weight;
    const at = this.options.clock.now();
    this.log?.info(
      { identity: entry.target.identity, weight: weight ?? null },
      weight === undefined ? 'reported weight gone' : 'reported weight',
    );
    for (const m of entry.target.members) this.listeners.weight(m, weight, at);
  }

  /** Next round: {@link nextRoundDue} (back to its place in the interval after a stall), never before now. */
  private scheduleNext(entry: CheckEntry, scheduledAt: number, startedAt: number): void {
    const clock = this.options.clock;
    const now = clock.monotonic();
    const due = Math.max(nextRoundDue(scheduledAt + entry.respreadMs, startedAt, entry.target.intervalMs), now);
    entry.respreadMs = 0;
    this.planRound(entry, due - now);
  }
}
