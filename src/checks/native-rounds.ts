// Checks whose steady state runs without JavaScript: the native probe engine keeps their schedule, runs their rounds
// and judges them; JS hears only of the rounds that can change what it knows (see RoundOffload).
import * as os from 'node:os';
import type { Clock } from '../clock';
import type { NativeProbeProtocol, NativeTcpProbeEngine } from '../native/addon';
import { connectVerdict } from './connect';
import { FAST_READ_LIMIT, fastHttpRequest, fastHttpVerdict, fastPathFits } from './http';
import { passReason } from './http-judge';
import type { TcpProbeOutcome } from './tcp-prober';
import { checkDeadlineMs } from './jobs';
import { MAX_READ_BYTES } from './sockets';
import type { CheckJob, CheckResult } from './types';
import { CHECK_DURATION_BUCKETS } from './duration-buckets';
import { EngineRowTable } from './engine-row-table';

/** A check to hand to the engine: the job and where its rounds fall. */
export interface OffloadSpec {
  readonly job: CheckJob;
  readonly intervalMs: number;
  /** From now to the first round. */
  readonly firstDelayMs: number;
  /** Added once, to the second round (the scheduler's re-spread after a short first spread). */
  readonly respreadMs: number;
  /** Every round goes to JS (someone records each one, e.g. a `monitorfile`); none is quiet. */
  readonly reportAll: boolean;
  /**
   * Failures in a row after which the real is down for the scheduler: further failures of the same kind are quiet
   * (counted, not delivered). 0: every failure is delivered.
   */
  readonly failureCount: number;
  /**
   * Successes in a row the scheduler needs to have a down real up again (`risecount`): an up round is quiet only
   * after at least that many up rounds in a row, so every success that can count comes to JS. 1: after one up round.
   */
  readonly riseCount: number;
  /**
   * Keep quiet rounds one by one for {@link RoundOffload.takeQuiet} (someone wants each); otherwise they are only
   * counted, for {@link RoundOffload.takeQuietCounts}, and nothing needs taking them in time.
   */
  readonly keepQuiet: boolean;
}

/** Quiet rounds of one check since they were last taken, counted: what metrics need of them. */
export interface QuietCounts {
  readonly passed: number;
  readonly failed: number;
  /** Sum of their durations (ms, each rounded to 0.1 ms as results report them). */
  readonly durationSumMs: number;
  /** How many fell in each bucket of {@link CHECK_DURATION_BUCKETS} (not cumulative), one more for longer ones. */
  readonly durationBuckets: Float64Array; // a view into the engine's answer: read it, do not keep it
}

/** A round JS must take into account, judged with the same code as the JS path. */
export interface OffloadedRound {
  /** `redirect`: the answer was a redirect, which only the JS path follows: the check must move there. */
  readonly result: CheckResult | 'redirect';
  /** Monotonic milliseconds (the clock's) at which the round was due and started; epoch ms at which it started. */
  readonly scheduledAt: number;
  readonly startedAt: number;
  readonly startedWall: number;
  /** Quiet failures between the previous delivered round and this one: the scheduler counts them as failures. */
  readonly quietFailuresBefore: number;
}

/**
 * A quiet round, one that changes nothing the scheduler decides; kept for metrics until taken: certainly up after
 * risecount up rounds in a row, or the same failure again once the real is down (failurecount failures in a row).
 */
export interface QuietRound {
  readonly id: number;
  readonly scheduledAt: number;
  readonly startedAt: number;
  readonly result: CheckResult;
}

/** What the engine says of one offloaded check. */
export interface OffloadStatus {
  /** Rounds finished, quiet or not. */
  readonly rounds: number;
  /** Monotonic milliseconds (the clock's) at which the last finished round started, quiet or not; absent before the first. */
  readonly lastStartedAt?: number | undefined;
  readonly running: boolean;
  /** The last finished round when it was quiet (JS has not seen it), with its start (epoch ms). */
  readonly quietLast?: { readonly result: CheckResult; readonly startedWall: number } | undefined;
  /** Quiet failures since the last round delivered: consecutive failures the scheduler has not counted yet. */
  readonly quietFailures: number;
  /** Quiet rounds not kept because nobody took them in time (their metrics are lost, their verdicts were up). */
  readonly dropped: number;
  /**
   * Rounds whose connection was made (or refused) inside connect(), as with a real in a namespace or container of this
   * host: they went on at once and waited for one event instead of two.
   */
  readonly early: number;
}

/**
 * Runs checks' rounds off the JS thread. A round is delivered (to `deliver`) unless it is quiet: certainly up after
 * `riseCount` up rounds in a row (the counting then leaves nothing to change: health up, no failures), or a failure
 * without an answer, with the same errno as the one before, once `failureCount` failures in a row have put the real
 * down (only the failure count moves). Quiet rounds only move counters, read with {@link statuses} and
 * {@link takeQuiet}. First rounds, soft failures, soft successes, changes, recoveries and anything the engine cannot
 * judge for certain (receive patterns, unusual framings, answers) come to JS, which judges them with the same code as
 * when JS runs the check.
 */
export interface RoundOffload {
  /** Takes over the rounds of `spec.job` when the engine can run it (else undefined); returns the check's id. */
  start(spec: OffloadSpec, deliver: (round: OffloadedRound) => void): number | undefined;
  /** Stops a check; a round in flight is dropped. */
  stop(id: number): void;
  /** Every running check's status, by id. */
  statuses(): ReadonlyMap<number, OffloadStatus>;
  /**
   * When each running check's last round started (monotonic milliseconds), by id; absent before its first round. Only
   * that number of {@link statuses}, without an object per check (the checker watchdog reads it). Optional: without
   * it the scheduler reads {@link statuses}.
   */
  lastStarts?(): ReadonlyMap<number, number>;
  /**
   * Hands the quiet rounds kept since the last call to `visit`, oldest first per check, and forgets them. One at a
   * time, never as a list: thousands a second must die young in the garbage collector, not be promoted.
   */
  takeQuiet(visit: (round: QuietRound) => void): void;
  /**
   * The quiet rounds counted since the last call, for listeners that only count them: one call per check that had
   * any, kept one by one or not. Counting costs the engine no memory, so nothing needs to take them in time.
   */
  takeQuietCounts(visit: (id: number, counts: QuietCounts) => void): void;
  close(): void;
}

/** Longest time quiet rounds kept one by one wait for {@link RoundOffload.takeQuiet} before they are dropped (the scheduler takes them every few seconds). */
export const QUIET_KEEP_MS = 30_000;

/**
 * `receive` (or `receivenot`) as bytes the engine can look for, when the pattern is a plain ASCII string; '' for
 * none; undefined when it is a real pattern.
 */
export function receiveLiteral(receive: string): Buffer | undefined {
  if (receive === '') return Buffer.alloc(0);
  return /^[\x20-\x7e]+$/.test(receive) && !/[\\^$.*+?()[\]{}|]/.test(receive)
    ? Buffer.from(receive, 'latin1')
    : undefined;
}

/** The passing statuses as the engine takes them: `[from, to]` pairs; null for the default 200–299. */
export function engineStatuses(job: CheckJob): Int32Array | null {
  const ranges = job.httpStatus;
  if (ranges === undefined || (ranges.length === 1 && ranges[0]?.[0] === 200 && ranges[0][1] === 299)) return null;
  return Int32Array.from(ranges.flat());
}

interface Running {
  readonly job: CheckJob;
  readonly http: boolean;
  readonly deliver: (round: OffloadedRound) => void;
}

const FRAMING = { GET: 1, HEAD: 2 } as const;

/** Numbers per check in the engine's `roundStats()`. */
const STATS_STRIDE = 10;

/** Errno names by number (the engine reports a quiet failure's errno as a number). */
const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/** Milliseconds, to 0.1 ms, of engine microseconds (as the one-shot prober reports them). */
const ms = (us: number): number => Math.round(us / 100) / 10;

/** What the JS path makes of a probe's outcome (the one-shot checkers' own verdicts); `redirect` for a redirect. */
function judged(run: Running, outcome: TcpProbeOutcome): CheckResult | 'redirect' {
  if (!run.http) return connectVerdict(outcome);
  const verdict = fastHttpVerdict(run.job, outcome);
  return verdict === 'redirect' ? verdict : { ...verdict, durationMs: outcome.elapsedMs };
}

/** {@link RoundOffload} over the native TCP probe engine. */
export class NativeRoundOffload implements RoundOffload {
  private readonly running = new Map<number, Running>();
  private nextId = 1;
  /** clock.monotonic() − engine µs / 1000: places the engine's times on the clock's. */
  private readonly offsetMs: number;
  private closed = false;
  /** The engine judges `httpstatus` and `receivenot` itself (see {@link NativeTcpProbeEngine.schedule}). */
  private readonly judgesRules: boolean;

  /**
   * `hold(+1/-1)` tells the owner a check started or stopped (running checks keep the process alive). `prober`
   * says which addresses the engine can reach, `protocols` over which transports (SCTP connect checks need `sctp`).
   */
  constructor(
    private readonly engine: NativeTcpProbeEngine,
    private readonly clock: Clock,
    private readonly prober: { accepts(address: string): boolean },
    private readonly protocols: readonly NativeProbeProtocol[],
    private readonly hold: (delta: number) => void,
  ) {
    this.offsetMs = clock.monotonic() - engine.now() / 1000;
    this.judgesRules = (engine.constructor as { httpRules?: unknown }).httpRules === true;
    engine.setDurationBuckets(Float64Array.from(CHECK_DURATION_BUCKETS, (s) => s * 1000));
  }

  start(spec: OffloadSpec, deliver: (round: OffloadedRound) => void): number | undefined {
    const { job } = spec;
    if (this.closed || !this.prober.accepts(job.address)) return undefined;
    // A connect check (an SCTP association on an SCTP service; a UDP service's is a ping, which stays in JS).
    const connect =
      job.type === 'connect' && job.protocol !== 'udp' && (job.protocol !== 'sctp' || this.protocols.includes('sctp'));
    // A check that reads a weight header must show JS every answer: its rounds stay there.
    const statuses = engineStatuses(job);
    const receiveNot = job.receiveNot ?? '';
    // An addon built before the engine judged `httpstatus` and `receivenot` would call up what JS calls down.
    const rules = this.judgesRules || (statuses === null && receiveNot === '');
    const http =
      job.type === 'negotiate' &&
      job.weightHeader === undefined &&
      fastPathFits(job, this.prober) &&
      (job.httpMethod === 'GET' || job.httpMethod === 'HEAD') &&
      rules;
    if (!connect && !http) return undefined;
    const id = this.nextId++;
    const literal = http ? receiveLiteral(job.receive) : undefined;
    const notLiteral = http ? receiveLiteral(receiveNot) : undefined;
    const cap = Math.ceil(QUIET_KEEP_MS / Math.max(1, spec.intervalMs)) + 8;
    this.engine.schedule(
      id,
      job.address,
      job.port,
      Math.max(1, checkDeadlineMs(job, connect ? 'connect' : 'negotiate')),
      http ? fastHttpRequest(job) : null,
      http ? FAST_READ_LIMIT : 0,
      http ? FRAMING[job.httpMethod as 'GET' | 'HEAD'] : 0,
      spec.intervalMs,
      spec.firstDelayMs,
      spec.respreadMs,
      literal ?? null,
      MAX_READ_BYTES,
      // Real patterns (not plain strings) are judged by JS only: every round goes there.
      spec.reportAll || (http && (literal === undefined || notLiteral === undefined)),
      spec.keepQuiet ? cap : 0,
      spec.failureCount,
      Math.max(1, spec.riseCount),
      http ? statuses : null,
      notLiteral !== undefined && notLiteral.length > 0 ? notLiteral : null,
      connect && job.protocol === 'sctp' ? 'sctp' : 'tcp',
    );
    this.running.set(id, { job, http, deliver });
    this.hold(1);
    return id;
  }

  stop(id: number): void {
    if (!this.running.delete(id)) return;
    this.engine.unschedule(id);
    this.hold(-1);
  }

  statuses(): ReadonlyMap<number, OffloadStatus> {
    if (this.closed) return new Map();
    const a = this.engine.roundStats();
    return new EngineRowTable(
      a,
      STATS_STRIDE,
      (id) => this.running.has(id),
      (i) => this.statusAt(a, i),
    );
  }

  lastStarts(): ReadonlyMap<number, number> {
    if (this.closed) return new Map();
    const a = this.engine.roundStats();
    return new EngineRowTable(
      a,
      STATS_STRIDE,
      (id, i) => (a[i + 1] as number) > 0 && this.running.has(id),
      (i) => this.monotonicOf(a[i + 6] as number),
    );
  }

  /** One check's status from its row of `roundStats()` at `i`: one object literal (a spread makes a dictionary). */
  private statusAt(a: Float64Array, i: number): OffloadStatus {
    const rounds = a[i + 1] as number;
    const run = this.running.get(a[i] as number);
    return {
      rounds,
      running: a[i + 2] === 1,
      dropped: a[i + 7] as number,
      quietFailures: a[i + 8] as number,
      early: a[i + 9] as number,
      lastStartedAt: rounds > 0 ? this.monotonicOf(a[i + 6] as number) : undefined,
      quietLast:
        a[i + 3] === 1 && run !== undefined
          ? {
              result: this.quietResult(run, a[i + 4] as number, a[i + 5] as number),
              startedWall: this.wallOf(a[i + 6] as number),
            }
          : undefined,
    };
  }

  takeQuiet(visit: (round: QuietRound) => void): void {
    if (this.closed) return;
    const a = this.engine.takeQuiet();
    for (let i = 0; i + 5 <= a.length; i += 5) {
      const id = a[i] as number;
      const run = this.running.get(id);
      if (!run) continue;
      visit({
        id,
        scheduledAt: this.monotonicOf(a[i + 1] as number),
        startedAt: this.monotonicOf(a[i + 2] as number),
        result: this.quietResult(run, a[i + 4] as number, a[i + 3] as number),
      });
    }
  }

  takeQuietCounts(visit: (id: number, counts: QuietCounts) => void): void {
    if (this.closed) return;
    const a = this.engine.takeQuietCounts();
    const stride = 4 + CHECK_DURATION_BUCKETS.length + 1;
    for (let i = 0; i + stride <= a.length; i += stride) {
      const id = a[i] as number;
      if (!this.running.has(id)) continue;
      visit(id, {
        passed: a[i + 1] as number,
        failed: a[i + 2] as number,
        durationSumMs: (a[i + 3] as number) / 1000,
        durationBuckets: a.subarray(i + 4, i + stride), // a view: no ArrayBuffer per check
      });
    }
  }

  close(): void {
    if (this.closed) return;
    for (const id of [...this.running.keys()]) this.stop(id);
    this.closed = true;
  }

  /** The engine's callback for a round JS must judge. */
  onRound(
    id: number,
    error: string,
    phase: 'connect' | 'write' | 'read',
    elapsedUs: number,
    data: Buffer | undefined,
    scheduledUs: number,
    startedUs: number,
    certainUp: boolean,
    status: number,
    quietFailuresBefore: number,
  ): void {
    const run = this.running.get(id);
    if (!run) return; // stopped meanwhile
    const outcome = { phase, elapsedMs: ms(elapsedUs), ...(error !== '' ? { error } : {}), ...(data ? { data } : {}) };
    const result = certainUp ? this.upResult(run, status, elapsedUs) : judged(run, outcome);
    run.deliver({
      result,
      scheduledAt: this.monotonicOf(scheduledUs),
      startedAt: this.monotonicOf(startedUs),
      startedWall: this.wallOf(startedUs),
      quietFailuresBefore,
    });
  }

  /** The result of a quiet round: `status` ≥ 0 passed (HTTP status, 0 for a connect), else failed with errno -status. */
  private quietResult(run: Running, status: number, elapsedUs: number): CheckResult {
    if (status >= 0) return this.upResult(run, status, elapsedUs);
    const error = ERRNO_NAMES.get(-status) ?? `errno ${-status}`;
    const result = judged(run, { error, phase: 'connect', elapsedMs: ms(elapsedUs) });
    return result === 'redirect' ? { up: false, reason: error, durationMs: ms(elapsedUs) } : result; // no answer: never a redirect
  }

  /** The result the JS path gives a passing round: `connected`, or the status (and the match) of the answer. */
  private upResult(run: Running, status: number, elapsedUs: number): CheckResult {
    if (!run.http) return { up: true, reason: 'connected', durationMs: ms(elapsedUs) };
    return { up: true, reason: passReason(run.job, status), durationMs: ms(elapsedUs) };
  }

  private monotonicOf(engineUs: number): number {
    return engineUs / 1000 + this.offsetMs;
  }

  private wallOf(engineUs: number): number {
    return Math.round(this.clock.now() - (this.clock.monotonic() - this.monotonicOf(engineUs)));
  }
}
