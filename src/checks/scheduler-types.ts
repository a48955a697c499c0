// The scheduler's vocabulary: what it runs, what it reports, what it is given.
import type { Clock } from '../clock';
import type { Logger } from '../log';
import type { Health, HealthTransition } from '../model/health';
import type { CHECK_DURATION_BUCKETS } from './duration-buckets';
import type { CheckMember, CheckTarget } from './jobs';
import type { MaintenanceProbe } from './maintenance';
import type { QuietCounts, RoundOffload } from './native-rounds';
import type { CheckScheduler, QUIET_FLUSH_MS } from './scheduler';
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

/** Options of {@link CheckScheduler.sync}. */
export interface SyncOptions {
  /** Health a new identity starts from (e.g. adopted from the kernel table); undefined = `unknown`. */
  readonly initialHealth?: (target: CheckTarget) => Health | undefined;
}
