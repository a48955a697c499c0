// What the engine tells: its counters, the last pass, and a log line and an event for everything a pass does.
import type { Clock } from '../clock';
import { errorMessage } from '../errors';
import { serviceKeyString } from '../ipvs/normalize';
import type { IpvsOp } from '../ipvs/types';
import type { Logger } from '../log';
import type { DrainEnd } from './drain';
import type { EngineCounters, EngineEvent, LastSync, OpKind, SyncReport } from './engine-types';
import type { EdgeCommandRun, FallbackAction } from './fallback-command';
import { refusedOps, refusedServices, type OpRecord } from './op-report';
import type { DecidedQuorum } from './quorum';
import type { QuorumChange } from './quorum-edges';

const OP_KINDS: readonly OpKind[] = [
  'add-service',
  'edit-service',
  'delete-service',
  'add-destination',
  'edit-destination',
  'delete-destination',
];

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type RunningCounters = Mutable<Omit<EngineCounters, 'opsApplied'>> & { opsApplied: Record<OpKind, number> };

/** The facts of a table pass that wrote the kernel table (see {@link EngineReporter.passDone}). */
export interface PassOutcome {
  readonly reason: string;
  /** Epoch milliseconds the pass started at, and its start in the clock's monotonic milliseconds. */
  readonly at: number;
  readonly t0: number;
  readonly ops: readonly IpvsOp[];
  /** The operations the kernel refused, with their errno names. */
  readonly failures: ReadonlyMap<IpvsOp, string>;
  /** How many of the operations repaired a table changed outside ldir. */
  readonly drift: number;
  /** Configured virtual services. */
  readonly virtuals: number;
  /** Refusals the pass before did not have (`add-service ...: EINVAL`). */
  readonly newlyRefused: readonly string[];
}

/**
 * The engine's reporting: counters and the last pass (for `ldir status` and the metrics), log lines, and events to
 * `onEvent` (a listener that throws is logged). It decides nothing; the engine tells it what happened.
 */
export class EngineReporter {
  private readonly counters: RunningCounters = {
    syncs: 0,
    syncErrors: 0,
    opsApplied: Object.fromEntries(OP_KINDS.map((k) => [k, 0])) as Record<OpKind, number>,
    opsFailed: 0,
    driftRepairs: 0,
    retries: 0,
    fallbackCommands: 0,
    fallbackCommandFailures: 0,
    quorumCommands: 0,
    quorumCommandFailures: 0,
    lastSyncDurationMs: 0,
  };
  private last: LastSync | null = null;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly onEvent?: (event: EngineEvent) => void,
  ) {}

  /** A copy of the counters. */
  countersNow(): EngineCounters {
    return { ...this.counters, opsApplied: { ...this.counters.opsApplied } };
  }

  /** The last pass, or null before the first. */
  lastSync(): LastSync | null {
    return this.last;
  }

  /** Hands `event` to `onEvent`. */
  emit(event: EngineEvent): void {
    if (!this.onEvent) return;
    try {
      this.onEvent(event);
    } catch (err) {
      this.log.warn({ err: errorMessage(err), event: event.type }, 'engine event listener threw');
    }
  }

  /** A table pass starts. */
  passStarted(): void {
    this.counters.syncs++;
  }

  /** A pass that could not list or write the kernel at all (started at `at`, `t0` monotonic). */
  passFailed(reason: string, at: number, t0: number, error: string): SyncReport {
    const durationMs = this.clock.monotonic() - t0;
    this.counters.syncErrors++;
    this.counters.lastSyncDurationMs = durationMs;
    this.last = { at, reason, ok: false, durationMs, ops: 0, failed: 0, error };
    this.log.error({ reason }, error);
    this.emit({ type: 'sync', at, reason, ok: false, durationMs, ops: 0, failed: 0, drift: 0, error });
    return { ok: false, reason, ops: [], failed: 0, drift: 0, durationMs, error };
  }

  /** A pass that threw (a bug): logged; its report says so. */
  passCrashed(reason: string, err: unknown): SyncReport {
    this.log.error({ err: errorMessage(err) }, 'sync pass failed unexpectedly');
    return { ok: false, reason, ops: [], failed: 0, drift: 0, durationMs: 0, error: errorMessage(err) };
  }

  /** A pass that wrote the kernel table: the last pass, its log line and `sync` event, and its report. */
  passDone(p: PassOutcome): SyncReport {
    const { reason, at, ops, failures, drift, newlyRefused } = p;
    const durationMs = this.clock.monotonic() - p.t0;
    this.counters.lastSyncDurationMs = durationMs;
    const ok = failures.size === 0;
    this.last = {
      at,
      reason,
      ok,
      durationMs,
      ops: ops.length,
      failed: failures.size,
      virtuals: p.virtuals,
      ...(failures.size > 0 ? { refused: refusedOps(failures), virtualsRefused: refusedServices(failures) } : {}),
    };
    const level = ops.length > 0 ? 'info' : 'debug';
    this.log[level]({ reason, ops: ops.length, failed: failures.size, drift, durationMs }, 'sync done');
    this.emit({ type: 'sync', at, reason, ok, durationMs, ops: ops.length, failed: failures.size, drift });
    return {
      ok,
      reason,
      ops,
      failed: failures.size,
      drift,
      durationMs,
      ...(newlyRefused.length > 0 ? { newlyRefused } : {}),
    };
  }

  /** Logs, counts and emits each operation of a pass ({@link describeOps} records); returns how many repaired drift. */
  ops(records: readonly OpRecord[]): number {
    const at = this.clock.now();
    let drift = 0;
    for (const r of records) {
      const fields = {
        vs: r.virtualId,
        ...(r.destination !== undefined ? { rs: r.destination } : {}),
        ...(r.role ? { role: r.role } : {}),
        ...(r.reason ? { decision: r.reason } : {}),
      };
      if (r.failed) {
        this.counters.opsFailed++;
        this.log.warn(
          { ...fields, errno: r.errno },
          `${r.text} refused by the kernel (${r.errno ?? '?'}); retried on the next sync`,
        );
      } else {
        this.counters.opsApplied[r.op.op]++;
        if (r.retry) this.counters.retries++;
        if (r.drift) {
          drift++;
          this.counters.driftRepairs++;
          this.log.warn(fields, `kernel table changed outside ldir; repaired: ${r.text}`);
        } else this.log.info(fields, r.text);
      }
      const op = r.op;
      this.emit({
        type: 'op',
        at,
        op: op.op,
        virtualId: r.virtualId,
        ...(r.destination !== undefined ? { destination: r.destination } : {}),
        ...(r.role ? { role: r.role } : {}),
        ...(r.realKey !== undefined ? { realKey: r.realKey } : {}),
        ...(r.reason ? { reason: r.reason } : {}),
        ...(op.op === 'add-destination' || op.op === 'edit-destination' ? { weight: op.destination.weight } : {}),
        ok: !r.failed,
        drift: r.drift,
        ...(r.errno !== undefined ? { errno: r.errno } : {}),
      });
    }
    return drift;
  }

  /** A service deleted at a clean stop: counted and emitted. */
  purged(op: IpvsOp): void {
    this.counters.opsApplied[op.op]++;
    this.emit({
      type: 'op',
      at: this.clock.now(),
      op: op.op,
      virtualId: serviceKeyString(op.service),
      ok: true,
      drift: false,
    });
  }

  /** A `fallbackcommand` that ran: counted and emitted. */
  fallbackCommandRan(run: EdgeCommandRun<FallbackAction>): void {
    this.counters.fallbackCommands++;
    if (run.error !== undefined) this.counters.fallbackCommandFailures++;
    this.emit({
      type: 'fallback-command',
      at: this.clock.now(),
      virtualId: run.virtualId,
      action: run.action,
      exitCode: run.exitCode,
      ...(run.error !== undefined ? { error: run.error } : {}),
    });
  }

  /** A quorum command that ran: counted and emitted. */
  quorumCommandRan(run: EdgeCommandRun<DecidedQuorum>): void {
    this.counters.quorumCommands++;
    if (run.error !== undefined) this.counters.quorumCommandFailures++;
    this.emit({
      type: 'quorum-command',
      at: this.clock.now(),
      virtualId: run.virtualId,
      action: run.action,
      exitCode: run.exitCode,
      ...(run.error !== undefined ? { error: run.error } : {}),
    });
  }

  /** A drain begun (by a reload, or of a leftover found in the kernel at a fresh start). */
  drainBegun(id: string, timeoutMs: number, leftover: boolean): void {
    const what = leftover ? `draining ${id} (in the kernel, not in the configuration)` : `draining ${id}`;
    this.log.info({ drain: id }, `${what}: weight 0 until idle or ${timeoutMs} ms`);
    this.emit({ type: 'drain', at: this.clock.now(), id, phase: 'begin' });
  }

  /** A drain cancelled: its target is back in the configuration. */
  drainCancelled(id: string): void {
    this.emit({ type: 'drain', at: this.clock.now(), id, phase: 'cancel' });
  }

  /** A drain ended (idle, timed out, gone). */
  drainEnded(id: string, why: DrainEnd): void {
    this.log.info({ drain: id, why }, `drain of ${id} ended (${why})`);
    this.emit({ type: 'drain', at: this.clock.now(), id, phase: 'end', why });
  }

  /** One virtual's quorum as a pass decided it: its change and its fallback edge, logged and emitted. */
  quorum(change: QuorumChange, at: number): void {
    const { virtual: v, active, quorum: q } = change;
    if (change.changed) {
      if (v.quorum !== undefined) {
        const counts = `${q.serving} serving, quorum ${q.quorum}${q.hysteresis > 0 ? ` ± ${q.hysteresis}` : ''}`;
        this.log.info(
          { vs: v.id, serving: q.serving, quorum: q.quorum },
          active ? `quorum lost (${counts})` : `quorum gained (${counts})`,
        );
      }
      this.emit({
        type: 'quorum',
        at,
        virtualId: v.id,
        state: q.state,
        ...(change.previous !== undefined ? { previous: change.previous } : {}),
        serving: q.serving,
        quorum: q.quorum,
        hysteresis: q.hysteresis,
      });
    }
    if (change.edge) {
      const what =
        v.quorum === undefined
          ? active
            ? 'no real server up'
            : 'a real server is up'
          : active
            ? 'below quorum'
            : 'quorum met';
      this.log.info({ vs: v.id }, `${what}: fallback ${active ? 'in' : 'out'}`);
      this.emit({ type: 'fallback', at, virtualId: v.id, active });
    }
  }
}
