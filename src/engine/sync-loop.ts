// Scheduling of sync passes: never two at once, bursts coalesced, periodic resync and drain polling timers.
import type { Clock, TimerHandle } from '../clock';
import type { SyncReport } from './engine-types';

/** Settings and hooks of a {@link SyncLoop}. */
export interface SyncLoopOptions {
  readonly clock: Clock;
  /** Runs one pass; should not reject (a rejection becomes `onError`'s report). */
  readonly pass: (reason: string) => Promise<SyncReport>;
  readonly onError: (reason: string, err: unknown) => SyncReport;
  readonly coalesceMs: number;
  readonly resyncIntervalMs: number;
  readonly drainPollMs: number;
  /** True while something drains: the loop then polls every `drainPollMs`. */
  readonly draining: () => boolean;
  /** Milliseconds to the next slow-start step, while a ramp is in progress (else undefined): a `ramp` pass then. */
  readonly nextStepInMs?: () => number | undefined;
}

/**
 * How the loop's passes stand, for the checker watchdog (src/daemon/watchdog.ts). Times are the clock's monotonic
 * milliseconds.
 */
export interface PassLiveness {
  readonly resyncIntervalMs: number;
  /** Since when passes are due: the first pass asked for, or the end of the last pause; absent before either. */
  readonly dueSince?: number;
  /** When the last pass finished (whatever its outcome); absent before the first. */
  readonly lastPassAt?: number;
  /** No pass is expected: the loop is paused (a restart hands the table over) or stopped. */
  readonly held: boolean;
}

const unique = (items: readonly string[]): string[] => [...new Set(items)];

/** The report of a pass that did not run. */
export function skippedReport(reason: string, why: 'no-config' | 'stopped' | 'paused'): SyncReport {
  return { ok: false, skipped: why, reason, ops: [], failed: 0, drift: 0, durationMs: 0 };
}

/**
 * True when a pass was asked for by health changes and slow-start steps only (`health`, `ramp`, or several joined:
 * `health+ramp`): it changes weights of reals ldir itself wrote, so it may plan from the table as last listed.
 */
export function isHealthOnly(reason: string): boolean {
  return reason.split('+').every((r) => r === 'health' || r === 'ramp');
}

/**
 * Serializes passes: a request while a pass runs queues exactly one more pass (requests meanwhile share it, their
 * reasons joined with `+`). After each pass the resync timer restarts (except after a pass for health changes only,
 * which may plan from the table as last listed: the resync stays due at most an interval after the last listing, however
 * often reals flap), and while something drains a poll follows.
 */
export class SyncLoop {
  private inflight: Promise<SyncReport> | undefined;
  private queued: { reasons: string[]; promise: Promise<SyncReport> } | undefined;
  private coalesce: { timer: TimerHandle; reasons: string[] } | undefined;
  private resyncTimer: TimerHandle | undefined;
  private drainTimer: TimerHandle | undefined;
  private rampTimer: TimerHandle | undefined;
  private stopped = false;
  private paused = false;
  private dueSince: number | undefined;
  private lastPassAt: number | undefined;

  constructor(private readonly options: SyncLoopOptions) {}

  /** Runs a pass now, or once more after the running one. */
  run(reason: string): Promise<SyncReport> {
    if (this.stopped) return Promise.resolve(skippedReport(reason, 'stopped'));
    if (this.paused) return Promise.resolve(skippedReport(reason, 'paused'));
    this.dueSince ??= this.options.clock.monotonic();
    if (this.queued) {
      this.queued.reasons.push(reason);
      return this.queued.promise;
    }
    if (!this.inflight) return this.launch(reason);
    const reasons = [reason];
    const promise = this.inflight.then(() => {
      this.queued = undefined;
      const joined = unique(reasons).join('+');
      if (this.stopped) return skippedReport(joined, 'stopped');
      return this.paused ? skippedReport(joined, 'paused') : this.launch(joined);
    });
    this.queued = { reasons, promise };
    return promise;
  }

  /** Asks for a pass within `coalesceMs`; a burst of requests makes one pass. */
  request(reason: string): void {
    if (this.stopped || this.paused) return;
    if (this.coalesce) {
      this.coalesce.reasons.push(reason);
      return;
    }
    const reasons = [reason];
    const timer = this.options.clock.setTimeout(() => {
      this.coalesce = undefined;
      void this.run(unique(reasons).join('+'));
    }, this.options.coalesceMs);
    this.coalesce = { timer, reasons };
  }

  /** Stops every timer; later requests are skipped. Resolves when the running (and queued) pass has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.quiesce();
  }

  /**
   * Holds every pass (a restart hands the table to a successor): timers stop, requests are dropped, and the promise
   * resolves once the running (and queued) pass has finished, after which nothing writes the kernel until
   * {@link resume}.
   */
  async pause(): Promise<void> {
    this.paused = true;
    await this.quiesce();
  }

  /** Ends a {@link pause} with a pass (level-triggered: whatever was asked meanwhile is covered by it). */
  resume(): Promise<SyncReport> {
    this.paused = false;
    if (!this.stopped) this.dueSince = this.options.clock.monotonic();
    return this.run('resume');
  }

  /** How the passes stand (see {@link PassLiveness}): what the watchdog needs to tell a stalled loop. */
  liveness(): PassLiveness {
    return {
      resyncIntervalMs: this.options.resyncIntervalMs,
      held: this.stopped || this.paused,
      ...(this.dueSince !== undefined ? { dueSince: this.dueSince } : {}),
      ...(this.lastPassAt !== undefined ? { lastPassAt: this.lastPassAt } : {}),
    };
  }

  private async quiesce(): Promise<void> {
    const { clock } = this.options;
    for (const t of [this.resyncTimer, this.drainTimer, this.rampTimer, this.coalesce?.timer])
      if (t !== undefined) clock.clearTimeout(t);
    this.resyncTimer = undefined;
    this.drainTimer = undefined;
    this.rampTimer = undefined;
    this.coalesce = undefined;
    await this.queued?.promise;
    await this.inflight;
  }

  private launch(reason: string): Promise<SyncReport> {
    const pass = this.options.pass(reason).catch((err: unknown) => this.options.onError(reason, err));
    const tracked = pass.finally(() => {
      this.lastPassAt = this.options.clock.monotonic();
      if (this.inflight === tracked) this.inflight = undefined;
      this.armTimers(reason);
    });
    this.inflight = tracked;
    return tracked;
  }

  private armTimers(reason: string): void {
    if (this.stopped || this.paused) return;
    const { clock } = this.options;
    if (this.resyncTimer === undefined || !isHealthOnly(reason)) {
      if (this.resyncTimer !== undefined) clock.clearTimeout(this.resyncTimer);
      this.resyncTimer = clock.setTimeout(() => {
        this.resyncTimer = undefined;
        void this.run('resync');
      }, this.options.resyncIntervalMs);
    }
    const step = this.options.nextStepInMs?.();
    if (step !== undefined) {
      if (this.rampTimer !== undefined) clock.clearTimeout(this.rampTimer);
      this.rampTimer = clock.setTimeout(
        () => {
          this.rampTimer = undefined;
          void this.run('ramp');
        },
        Math.max(1, step),
      );
    }
    if (this.options.draining() && this.drainTimer === undefined) {
      this.drainTimer = clock.setTimeout(() => {
        this.drainTimer = undefined;
        void this.run('drain');
      }, this.options.drainPollMs);
    }
  }
}
