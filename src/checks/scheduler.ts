// Runs every check target on its own timer, counts failures, and emits health transitions only when health changes.
import type { Clock, TimerHandle } from '../clock';
import type { Logger } from '../log';
import { reasonOf } from './guard';
import { checkDeadlineMs, roundDeadlineMs, type CheckMember, type CheckTarget } from './jobs';
import { pairKey, type Health, type HealthTransition } from '../model/health';
import type { MaintenanceProbe } from './maintenance';
import type { OffloadedRound, QuietCounts, RoundOffload } from './native-rounds';
import { OverdueWatch, type OverdueChecks } from './overdue-checks';
import type { CHECK_DURATION_BUCKETS } from './duration-buckets';
import { nextRoundDue } from './round-timing';
import type { CheckJob, CheckResult } from './types';

/** Which check a round runs: `negotiate` uses `negotiatetimeout`; everything else (connect, ping, external) `checktimeout`. */
export type CheckKind = 'negotiate' | 'connect';

/**
 * Runs one check. Dispatches on `job.type`, except for `combined` where `kind` says which of negotiate or connect to
 * run. Should not reject (a rejection counts as a failure); must resolve promptly once `signal` aborts.
 */
export type CheckRunner = (job: CheckJob, kind: CheckKind, signal: AbortSignal) => Promise<CheckResult>;

/** A change of the weight a real server reports through its check (`weightheader`, an external `weight=N`). */
export interface WeightReport {
  readonly virtualId: string;
  readonly realKey: string;
  /** The weight reported; undefined when the last passing check reported none (the configured weight applies). */
  readonly weight: number | undefined;
  /** Epoch milliseconds. */
  readonly at: number;
}

/** One finished check round, for metrics and benchmarks. */
export interface CheckRecord {
  readonly identity: string;
  /** The (virtual, real) pairs the result applies to. */
  readonly members: readonly CheckMember[];
  readonly kind: CheckKind | 'maintenance';
  /** Monotonic milliseconds at which the round was due. */
  readonly scheduledAt: number;
  /** Monotonic milliseconds at which it started. */
  readonly startedAt: number;
  readonly result: CheckResult;
}

/**
 * The quiet rounds of one offloaded check since they were last taken, counted (passed after a pass, or the same
 * failure again once the real is down), with their durations counted per bucket of {@link CHECK_DURATION_BUCKETS}.
 */
export interface QuietRounds extends QuietCounts {
  readonly identity: string;
  readonly members: readonly CheckMember[];
  readonly kind: CheckKind;
}

/** State of one check identity, as {@link CheckScheduler.snapshot} reports it. */
export interface IdentityStatus {
  readonly identity: string;
  readonly members: readonly CheckMember[];
  readonly health: Health;
  /** Reason of the last change of health. */
  readonly reason: string;
  /** Epoch milliseconds of the last change of health (or of the start of the check). */
  readonly since: number;
  readonly consecutiveFailures: number;
  /**
   * Successes in a row of a `down` real, towards {@link riseCount} (0 when it is up or unknown, and after a failure):
   * above 0 the real is rising, and it is up again at the `riseCount`-th.
   */
  readonly riseSuccesses: number;
  /** Successes in a row a `down` real needs to be up again (`risecount`). */
  readonly riseCount: number;
  /** Rounds finished since the check started. */
  readonly checks: number;
  readonly lastResult?: CheckResult;
  /** Epoch milliseconds at which the last finished round started. */
  readonly lastCheckAt?: number;
  readonly running: boolean;
}

/**
 * How recent the results of one check identity are, as {@link CheckScheduler.freshness} reports it for the checker
 * watchdog (src/daemon/watchdog.ts). Times are the clock's monotonic milliseconds.
 */
export interface CheckFreshness {
  readonly identity: string;
  /** The (virtual, real) pairs its results apply to. */
  readonly members: readonly CheckMember[];
  readonly intervalMs: number;
  /** The longest one round may take before it is aborted (`checktimeout`, `negotiatetimeout`, ...). */
  readonly timeoutMs: number;
  /** When the check started: the daemon's start, or the reload (or failed hand-over) that brought it. */
  readonly startedAt: number;
  /** When its last finished round started (offloaded checks: as the engine says, quiet rounds included); absent before the first. */
  readonly lastResultAt?: number;
  /**
   * Why no result is expected of it: `no-check` for `checktype=on|off` (nothing runs), `maintenance` while a file in
   * `maintenancedir` forces the real down (its check does not run). Absent for a check that runs.
   */
  readonly exempt?: 'no-check' | 'maintenance';
}

/** Dependencies of {@link CheckScheduler}. */
export interface SchedulerOptions {
  readonly clock: Clock;
  readonly run: CheckRunner;
  /**
   * Uniform in [0, 1): each check's place in its interval (its first round runs at that place scaled into the first
   * spread). Default `Math.random`.
   */
  readonly random?: () => number;
  /** Forces a real down (reason `maintenance`) without running its check. */
  readonly maintenance?: MaintenanceProbe;
  /** Host names of an address for the maintenance probe (cached, never blocking). Default: none. */
  readonly hostnames?: (address: string) => readonly string[];
  /** Receives every change of health, once per (virtual, real) pair. Must not throw (errors are logged). */
  readonly onTransition?: (transition: HealthTransition) => void;
  /** Receives every change of the weight a passing check reports, once per (virtual, real) pair. Must not throw. */
  readonly onWeight?: (report: WeightReport) => void;
  /** Receives every finished round (offloaded checks' quiet rounds too, unless `onQuietRounds` takes them). */
  readonly onCheck?: (record: CheckRecord) => void;
  /**
   * Receives offloaded checks' quiet rounds counted, one call per check (instead of one `onCheck` each), whenever the
   * state is read ({@link CheckScheduler.snapshot}: `ldir status`, a metrics scrape) and at stop: for listeners that
   * only count them, such as metrics. The engine then keeps no round for JS and JS runs nothing for them in between.
   * Must not throw (errors are logged).
   */
  readonly onQuietRounds?: (rounds: QuietRounds) => void;
  readonly logger?: Logger;
  /**
   * Runs the rounds of the checks it can (connect, plain http) off the JS thread, with the same verdicts and counting;
   * their quiet rounds reach `onQuietRounds` when the state is next read ({@link CheckScheduler.snapshot}), or without
   * it `onCheck`, then and at least every {@link QUIET_FLUSH_MS}. Needs the system clock. Not used with a maintenance
   * directory (it is looked at every round).
   */
  readonly offload?: RoundOffload;
  /**
   * True while the maintenance probe can say yes (a `maintenancedir` is configured): offloaded checks then move back to
   * JS, which looks at it every round. Default: true when `maintenance` is given. Call
   * {@link CheckScheduler.maintenanceChanged} when it changes.
   */
  readonly maintenanceInUse?: () => boolean;
  /** True when every round of `target` must reach `onCheck` at once (a `monitorfile` logs each one). Default: none. */
  readonly everyRound?: (target: CheckTarget) => boolean;
}

/** How often the quiet rounds of offloaded checks are handed to `onCheck` when nobody reads the state (without `onQuietRounds`). */
export const QUIET_FLUSH_MS = 5_000;

/** Longest spread of the first round of a batch of new checks, whatever their number and interval: checks at once. */
export const FIRST_ROUND_MAX_SPREAD_MS = 1_000;

/**
 * How long the first round of a batch of new checks is spread over: 100 ms plus 0.1 ms per check, at most
 * {@link FIRST_ROUND_MAX_SPREAD_MS} and at most one interval. Short, because the first round decides what a starting
 * director puts in its table (start-up time is failover time), and ldirectord checks at once: a new real is never
 * left unchecked for a share of a long `checkinterval`. Each check gets a random place in the interval; its first
 * round runs at that place scaled into the spread and its later rounds at the place itself, so they are spread over
 * the whole interval as before.
 */
export function firstRoundSpreadMs(newChecks: number, intervalMs: number): number {
  return Math.min(intervalMs, FIRST_ROUND_MAX_SPREAD_MS, 100 + newChecks * 0.1);
}

/** Options of {@link CheckScheduler.sync}. */
export interface SyncOptions {
  /** Health a new identity starts from (e.g. adopted from the kernel table); undefined = `unknown`. */
  readonly initialHealth?: (target: CheckTarget) => Health | undefined;
}

interface Entry {
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

const memberPair = (m: CheckMember): string => pairKey(m.virtualId, m.realKey);

/**
 * Schedules checks by identity: each runs every `intervalMs` (measured from the start of the previous round, never
 * overlapping itself), is aborted at its timeout, and its results drive failure counting. A real is `down` after
 * `failureCount` consecutive failures when it was up, after one failure when its health was unknown; `up` after
 * `riseCount` consecutive successes when it was down, after one success when its health was unknown or when it was
 * down only for maintenance (ldirectord has no rise count: its `riseCount` is 1).
 */
export class CheckScheduler {
  private readonly entries = new Map<string, Entry>();
  /** Identities whose first round has not finished, and who waits for that. */
  private readonly unchecked = new Set<string>();
  private firstRoundWaiters: Array<() => void> = [];
  private readonly random: () => number;
  private readonly log: Logger | undefined;
  /** Offloaded checks by their offload id. */
  private readonly offloaded = new Map<number, Entry>();
  private quietTimer: TimerHandle | undefined;
  private flushing = false;
  /** The overdue checks, scanned only when one may be ({@link overdue}). */
  readonly overdueWatch = new OverdueWatch();

  constructor(private readonly options: SchedulerOptions) {
    this.random = options.random ?? Math.random;
    this.log = options.logger?.child({ module: 'checks' });
  }

  /**
   * Applies a new set of targets: new identities start after a random offset within {@link firstRoundSpreadMs}, and
   * their later rounds are spread over the whole interval; kept identities keep
   * their state, timer and any round in flight (pairs that join one whose health is known get a transition from
   * `unknown` at once); identities no longer present stop, aborting their round in flight.
   */
  sync(targets: readonly CheckTarget[], options: SyncOptions = {}): void {
    const next = new Map<string, CheckTarget>();
    for (const t of targets) {
      const seen = next.get(t.identity);
      if (!seen) next.set(t.identity, t);
      else {
        const keys = new Set(seen.members.map(memberPair));
        next.set(t.identity, { ...seen, members: [...seen.members, ...t.members.filter((m) => !keys.has(memberPair(m)))] });
      }
    }
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
        this.emit({
          ...m, identity, from: 'unknown', to: entry.health, reason: entry.reason, at,
          checkStartedAt: entry.lastCheckAt ?? at, durationMs: entry.lastResult?.durationMs ?? 0,
          consecutiveFailures: entry.failures,
        });
        if (entry.reportedWeight !== undefined) this.notifyWeight(m, entry.reportedWeight, at);
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
    for (const e of [...this.entries.values()]) yield this.statusOf(e, offloaded);
  }

  private statusOf(e: Entry, offloaded: ReturnType<NonNullable<SchedulerOptions['offload']>['statuses']> | undefined): IdentityStatus {
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

  /**
   * How recent every identity's results are, in start order, for the checker watchdog. Cheap and without side
   * effects: quiet rounds are not taken (offloaded checks' last rounds are read from the engine's statistics).
   */
  freshness(): CheckFreshness[] {
    const offloaded = this.offloaded.size > 0 ? this.options.offload?.statuses() : undefined;
    return [...this.entries.values()].map((e) => {
      const { identity, members, intervalMs, job } = e.target;
      const engineLast = e.offloadId !== undefined ? offloaded?.get(e.offloadId)?.lastStartedAt : undefined;
      const last = engineLast === undefined ? e.lastCheckMono : Math.max(engineLast, e.lastCheckMono ?? engineLast);
      const exempt = job.type === 'on' || job.type === 'off' ? 'no-check' : e.lastMaintenance ? 'maintenance' : undefined;
      return {
        identity, members, intervalMs, timeoutMs: roundDeadlineMs(job), startedAt: e.startedMono,
        ...(last !== undefined ? { lastResultAt: last } : {}), ...(exempt ? { exempt } : {}),
      };
    });
  }

  /**
   * The checks with no result for more than `factor` × (interval + timeout) at `now` (monotonic), as the checker
   * watchdog judges {@link freshness}, without a list per identity and, while none can be overdue yet, without a
   * walk ({@link OverdueWatch}): `ping` and `/healthz` ask it every time, at any table size.
   */
  overdue(now: number, factor: number): OverdueChecks {
    return this.overdueWatch.read(now, factor, (visit) => {
      const offload = this.offloaded.size > 0 ? this.options.offload : undefined;
      const starts = offload?.lastStarts ? offload.lastStarts() : undefined;
      const statuses = offload && !starts ? offload.statuses() : undefined;
      for (const e of this.entries.values()) {
        const engineLast = e.offloadId === undefined ? undefined : starts ? starts.get(e.offloadId) : statuses?.get(e.offloadId)?.lastStartedAt;
        const last = engineLast === undefined ? e.lastCheckMono : Math.max(engineLast, e.lastCheckMono ?? engineLast);
        const type = e.target.job.type;
        visit(e.target.members, last ?? e.startedMono, e.target.intervalMs, roundDeadlineMs(e.target.job), type === 'on' || type === 'off' || e.lastMaintenance);
      }
    });
  }

  /** Hands the offloaded checks' quiet rounds to `onCheck` (metrics, benchmarks). */
  flushQuiet(): void {
    const offload = this.options.offload;
    if (!offload || this.offloaded.size === 0 || this.flushing) return;
    this.flushing = true; // onCheck listeners may read the snapshot, which flushes
    const batched = this.options.onQuietRounds;
    try {
      if (!batched) {
        offload.takeQuiet((q) => {
          const entry = this.offloaded.get(q.id);
          if (entry) this.record(entry, this.kindOf(entry), q.scheduledAt, q.startedAt, q.result);
        });
        return;
      }
      offload.takeQuietCounts((id, counts) => {
        const entry = this.offloaded.get(id);
        if (!entry) return;
        try {
          batched({ identity: entry.target.identity, members: entry.target.members, kind: this.kindOf(entry), ...counts });
        } catch (err) {
          this.log?.error({ err: reasonOf(err) }, 'quiet rounds listener failed');
        }
      });
    } finally {
      this.flushing = false;
    }
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
    const entry: Entry = {
      target, health: initial ?? 'unknown', reason: initial ? 'adopted' : 'not checked yet', since: clock.now(),
      startedMono: clock.monotonic(), lastMaintenance: false, failures: 0, successes: 0, forcedDown: false, checks: 0, due: 0,
      connects: Number.POSITIVE_INFINITY, stopped: false, roundNo: 0, running: false, respreadMs: 0,
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
  private planRound(entry: Entry, delayMs: number): void {
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
    for (const entry of [...this.offloaded.values()]) {
      this.unoffload(entry);
      this.planRound(entry, this.replanDelayMs(entry)); // here: the offload is refused now
    }
  }

  /** A kept offloaded check whose need for every round changed (a `monitorfile` came or went) starts over there. */
  private reoffloadIfNeeded(entry: Entry): void {
    if (entry.offloadId === undefined || (this.options.everyRound?.(entry.target) ?? false) === entry.everyRound) return;
    this.unoffload(entry);
    this.planRound(entry, this.replanDelayMs(entry));
  }

  /**
   * When the next round of a check moved between the offload and JS comes: a first round not finished yet keeps its
   * place in the first spread (at once when that has passed: a round in flight there was dropped), so a reload never
   * puts off a new real's first check; a check already checked takes a random place in its interval.
   */
  private replanDelayMs(entry: Entry): number {
    if (this.unchecked.has(entry.target.identity)) return Math.max(0, entry.due - this.options.clock.monotonic());
    return Math.floor(this.random() * entry.target.intervalMs);
  }

  private maintenanceInUse(): boolean {
    return this.options.maintenanceInUse?.() ?? this.options.maintenance !== undefined;
  }

  /** Hands the rounds of `entry` to the offload when there is one that can run them; true when it took them. */
  private offloadEntry(entry: Entry, firstDelayMs: number): boolean {
    const offload = this.options.offload;
    if (!offload || entry.jsOnly || entry.stopped || this.maintenanceInUse()) return false;
    const { job, intervalMs } = entry.target;
    if (job.type !== 'connect' && job.type !== 'negotiate') return false;
    const everyRound = this.options.everyRound?.(entry.target) ?? false;
    // With onQuietRounds the quiet rounds are only counted: nothing to take in time, no timer.
    const keepQuiet = this.options.onQuietRounds === undefined;
    const id = offload.start(
      {
        job, intervalMs, firstDelayMs, respreadMs: entry.respreadMs, reportAll: everyRound, failureCount: entry.target.failureCount,
        riseCount: entry.target.riseCount, keepQuiet,
      },
      (round) => this.offloadedRound(entry, id as number, round),
    );
    if (id === undefined) return false;
    entry.offloadId = id;
    entry.everyRound = everyRound;
    // respreadMs stays until the first round is delivered (the engine adds it to the second): a check moved back to
    // JS before its first round still needs it.
    this.offloaded.set(id, entry);
    if (keepQuiet) this.quietTimer ??= this.options.clock.setTimeout(() => this.quietTick(), QUIET_FLUSH_MS);
    return true;
  }

  private quietTick(): void {
    this.quietTimer = undefined;
    if (this.offloaded.size === 0) return;
    this.flushQuiet();
    this.quietTimer = this.options.clock.setTimeout(() => this.quietTick(), QUIET_FLUSH_MS);
  }

  /** A round of an offloaded check that JS must count; a redirect moves the check to the JS path (which follows it). */
  private offloadedRound(entry: Entry, id: number, round: OffloadedRound): void {
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
    this.finish(entry, this.kindOf(entry), round.scheduledAt, round.startedAt, round.startedWall, round.result);
  }

  /** Stops the offloaded rounds of `entry` (whoever calls it has taken the quiet rounds first: the engine forgets them). */
  private unoffload(entry: Entry): void {
    if (entry.offloadId === undefined) return;
    this.options.offload?.stop(entry.offloadId);
    this.offloaded.delete(entry.offloadId);
    entry.offloadId = undefined;
    this.overdueWatch.invalidate(); // the engine's record of its last round goes with it
    if (this.offloaded.size === 0 && this.quietTimer !== undefined) {
      this.options.clock.clearTimeout(this.quietTimer);
      this.quietTimer = undefined;
    }
  }

  private stopEntry(entry: Entry): void {
    entry.stopped = true;
    this.unoffload(entry);
    if (entry.timer !== undefined) this.options.clock.clearTimeout(entry.timer);
    if (entry.deadline !== undefined) this.options.clock.clearTimeout(entry.deadline);
    entry.timer = undefined;
    entry.deadline = undefined;
    if (entry.running) entry.controller?.abort();
    entry.running = false;
  }

  private round(entry: Entry): void {
    entry.timer = undefined;
    if (entry.stopped) return;
    const clock = this.options.clock;
    const { job } = entry.target;
    const scheduledAt = entry.due;
    const startedAt = clock.monotonic();
    const startedWall = clock.now();
    const maintenance = this.options.maintenance;
    if (maintenance?.(job.address, job.realPort, this.options.hostnames?.(job.address) ?? [])) {
      this.finish(entry, 'maintenance', scheduledAt, startedAt, startedWall, { up: false, reason: 'maintenance', durationMs: 0 });
      return;
    }
    if (job.type === 'on' || job.type === 'off') {
      // Out of maintenance: `on` is up again; `off` keeps whatever it had.
      if (job.type === 'on' && entry.health !== 'up') this.change(entry, 'up', { up: true, reason: 'checktype on', durationMs: 0 }, startedWall);
      this.scheduleNext(entry, scheduledAt, startedAt);
      return;
    }
    const kind = this.kindOf(entry);
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
    entry.deadline = clock.setTimeout(() => {
      entry.deadline = undefined;
      controller.abort();
      settle({ up: false, reason: 'timeout', durationMs: Math.round(clock.monotonic() - startedAt) });
    }, Math.max(1, checkDeadlineMs(job, kind)));
    let pending: Promise<CheckResult>;
    try {
      pending = Promise.resolve(this.options.run(job, kind, controller.signal));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(settle, (err: unknown) => settle({
      up: false, reason: controller.signal.aborted ? 'timeout' : reasonOf(err), durationMs: Math.round(clock.monotonic() - startedAt),
    }));
  }

  /** ldirectord's `num_connects`: combined checks negotiate first, after N good connects, and after a failed connect. */
  private kindOf(entry: Entry): CheckKind {
    const { job, connectsBetweenNegotiates } = entry.target;
    if (job.type === 'negotiate') return 'negotiate';
    if (job.type === 'combined') return entry.connects >= connectsBetweenNegotiates ? 'negotiate' : 'connect';
    return 'connect';
  }

  private finish(
    entry: Entry, kind: CheckKind | 'maintenance', scheduledAt: number, startedAt: number, startedWall: number, result: CheckResult,
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
    this.record(entry, kind, scheduledAt, startedAt, result);
    if (!entry.stopped && entry.offloadId === undefined) this.scheduleNext(entry, scheduledAt, startedAt);
  }

  /** Logs a finished round and hands it to `onCheck`. */
  private record(entry: Entry, kind: CheckKind | 'maintenance', scheduledAt: number, startedAt: number, result: CheckResult): void {
    this.log?.debug({ identity: entry.target.identity, kind, up: result.up, reason: result.reason, ms: result.durationMs }, 'check');
    if (!this.options.onCheck) return;
    try {
      this.options.onCheck({ identity: entry.target.identity, members: entry.target.members, kind, scheduledAt, startedAt, result });
    } catch (err) {
      this.log?.error({ err: reasonOf(err) }, 'check listener failed');
    }
  }

  /**
   * Counts one result. Down: forced (maintenance) at once, from unknown at the first failure, from up at the
   * `failureCount`-th in a row. Up: from unknown, or from down for maintenance only, at the first success; from down
   * at the `riseCount`-th in a row (the ones before are soft successes).
   */
  private count(entry: Entry, result: CheckResult, forced: boolean, startedWall: number): void {
    if (result.up) {
      entry.failures = 0;
      entry.successes++;
      if (entry.health === 'up') return;
      if (entry.health === 'unknown' || entry.forcedDown || entry.successes >= entry.target.riseCount) {
        this.change(entry, 'up', result, startedWall);
        return;
      }
      this.log?.info({
        identity: entry.target.identity, reason: result.reason, successes: entry.successes, riseCount: entry.target.riseCount,
      }, 'soft success');
      return;
    }
    entry.failures++;
    entry.successes = 0;
    if (!forced) entry.forcedDown = false; // down after a check of its own: the rise count applies again
    if (entry.health === 'down') return;
    if (forced || entry.health === 'unknown' || entry.failures >= entry.target.failureCount) {
      entry.forcedDown = forced;
      this.change(entry, 'down', result, startedWall);
      return;
    }
    this.log?.info({
      identity: entry.target.identity, reason: result.reason, failures: entry.failures, failureCount: entry.target.failureCount,
    }, 'soft failure');
  }

  private change(entry: Entry, to: Health, result: CheckResult, checkStartedAt: number): void {
    const from = entry.health;
    const at = this.options.clock.now();
    entry.health = to;
    if (to === 'up') entry.forcedDown = false;
    entry.reason = result.reason;
    entry.since = at;
    for (const m of entry.target.members) {
      this.emit({
        ...m, identity: entry.target.identity, from, to, reason: result.reason, at, checkStartedAt,
        durationMs: result.durationMs, consecutiveFailures: entry.failures,
      });
    }
  }

  /** A new reported weight: remembered, logged, handed to `onWeight` for each pair the check serves. */
  private reportWeight(entry: Entry, weight: number | undefined): void {
    entry.reportedWeight = weight;
    const at = this.options.clock.now();
    this.log?.info({ identity: entry.target.identity, weight: weight ?? null }, weight === undefined ? 'reported weight gone' : 'reported weight');
    for (const m of entry.target.members) this.notifyWeight(m, weight, at);
  }

  /** Hands one pair's reported weight to `onWeight` (a listener that throws is logged). */
  private notifyWeight(m: CheckMember, weight: number | undefined, at: number): void {
    if (!this.options.onWeight) return;
    try {
      this.options.onWeight({ virtualId: m.virtualId, realKey: m.realKey, weight, at });
    } catch (err) {
      this.log?.error({ err: reasonOf(err) }, 'weight listener failed');
    }
  }

  private emit(t: HealthTransition): void {
    this.log?.info({ vs: t.virtualId, rs: t.realKey, from: t.from, to: t.to, reason: t.reason }, 'health transition');
    if (!this.options.onTransition) return;
    try {
      this.options.onTransition(t);
    } catch (err) {
      this.log?.error({ err: reasonOf(err) }, 'transition listener failed');
    }
  }

  /** Next round: {@link nextRoundDue} (back to its place in the interval after a stall), never before now. */
  private scheduleNext(entry: Entry, scheduledAt: number, startedAt: number): void {
    const clock = this.options.clock;
    const now = clock.monotonic();
    const due = Math.max(nextRoundDue(scheduledAt + entry.respreadMs, startedAt, entry.target.intervalMs), now);
    entry.respreadMs = 0;
    this.planRound(entry, due - now);
  }
}
