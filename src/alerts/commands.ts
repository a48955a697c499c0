// Alert commands (`alertcommand`): run without a shell on each health change, bounded in time and concurrency,
// in order per (virtual, real) pair; failures are logged and counted, never fatal.
import { errorMessage, ErrorCodes, LdirError } from '../errors';
import type { Logger } from '../log';
import { spawnProcessRunner, type ProcessRunner } from '../process-runner';
import type { AlertNote, HookOutcome, HookRunner } from './types';

/** Bytes of a command's stderr kept for the log. */
const STDERR_KEEP = 1024;

/**
 * The default {@link HookRunner} over the process runner: no shell, its own process group, stdin and stdout
 * ignored, the start of stderr kept; at the timeout the whole group gets SIGTERM, then SIGKILL after a grace.
 */
export function spawnHookRunner(runner: ProcessRunner = spawnProcessRunner()): HookRunner {
  return async (argv, { env, timeoutMs }) => {
    const program = argv[0];
    if (program === undefined || program === '')
      throw new LdirError(ErrorCodes.ALERT_COMMAND_FAILED, 'alert command is empty');
    try {
      const r = await runner({ argv, env, timeoutMs, stderrLimit: STDERR_KEEP });
      return { exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, stderr: r.stderr } satisfies HookOutcome;
    } catch (err) {
      throw new LdirError(ErrorCodes.ALERT_COMMAND_FAILED, `cannot run ${program}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  };
}

/** One command to run. */
export interface CommandJob {
  /** Commands of the same pair run one after the other, in order. */
  readonly pair: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** For logs: `{ vs, rs, event }`. */
  readonly context: Readonly<Record<string, string>>;
}

/** Counters of the command runner (mutable inside the alerts module only). */
export interface CommandTally {
  started: number;
  failed: number;
  timedOut: number;
  dropped: number;
}

/** Settings of {@link CommandHooks}. */
export interface CommandHooksOptions {
  readonly run: HookRunner;
  readonly log: Logger;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly maxQueue: number;
  readonly tally: CommandTally;
  /** Told how each command ended. */
  readonly onEnded?: (note: AlertNote) => void;
  /** Epoch milliseconds for the notes. */
  readonly now?: () => number;
}

/** Runs {@link CommandJob}s with a concurrency bound, a waiting-queue bound, and per-pair order. */
export class CommandHooks {
  private readonly waiting: CommandJob[] = [];
  private readonly busyPairs = new Set<string>();
  private running = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly o: CommandHooksOptions) {}

  /** Commands running now. */
  runningCount(): number {
    return this.running;
  }

  /** Commands waiting for a slot. */
  queuedCount(): number {
    return this.waiting.length;
  }

  /** Queues a command; when the queue is full, the oldest waiting command is dropped (counted and logged). */
  enqueue(job: CommandJob): void {
    if (this.closed) return;
    if (this.waiting.length >= this.o.maxQueue) {
      const dropped = this.waiting.shift();
      this.o.tally.dropped++;
      this.o.log.warn(
        { ...dropped?.context, queued: this.o.maxQueue },
        'alert command queue full: oldest command dropped',
      );
    }
    this.waiting.push(job);
    this.next();
  }

  /** Resolves once nothing runs or waits. */
  whenIdle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops starting commands; waiting ones are dropped (counted); running ones finish or meet their timeout. */
  close(): void {
    this.closed = true;
    this.o.tally.dropped += this.waiting.length;
    this.waiting.length = 0;
    this.settle();
  }

  private settle(): void {
    if (this.running > 0 || this.waiting.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private next(): void {
    while (this.running < this.o.concurrency) {
      const index = this.waiting.findIndex((j) => !this.busyPairs.has(j.pair));
      if (index < 0) break;
      const [job] = this.waiting.splice(index, 1);
      if (job) void this.execute(job);
    }
    this.settle();
  }

  private async execute(job: CommandJob): Promise<void> {
    this.running++;
    this.busyPairs.add(job.pair);
    this.o.tally.started++;
    this.o.log.info({ ...job.context, argv: job.argv }, 'running alert command');
    let ended: string;
    try {
      const r = await this.o.run(job.argv, { env: job.env, timeoutMs: this.o.timeoutMs });
      if (r.timedOut) {
        this.o.tally.timedOut++;
        this.o.tally.failed++;
        ended = `killed at its timeout of ${this.o.timeoutMs} ms`;
        this.o.log.warn(
          { ...job.context, timeoutMs: this.o.timeoutMs, stderr: r.stderr || undefined },
          'alert command killed at its timeout',
        );
      } else if (r.exitCode !== 0) {
        this.o.tally.failed++;
        const how = r.exitCode === null ? `killed by ${r.signal ?? 'a signal'}` : `exit status ${r.exitCode}`;
        ended = how;
        this.o.log.warn(
          { ...job.context, exitCode: r.exitCode, signal: r.signal, stderr: r.stderr || undefined },
          `alert command failed: ${how}`,
        );
      } else {
        ended = 'ok';
      }
    } catch (err) {
      this.o.tally.failed++;
      ended = `could not run: ${errorMessage(err)}`;
      this.o.log.warn(
        { ...job.context, code: (err as { code?: unknown }).code, err: errorMessage(err) },
        'alert command could not run',
      );
    } finally {
      this.running--;
      this.busyPairs.delete(job.pair);
    }
    this.note(job, ended);
    if (!this.closed) this.next();
    else this.settle();
  }

  private note(job: CommandJob, ended: string): void {
    if (!this.o.onEnded) return;
    const { vs, rs, event } = job.context;
    try {
      this.o.onEnded({
        at: this.o.now?.() ?? Date.now(),
        channel: 'command',
        ok: ended === 'ok',
        text: `alert command ${job.argv[0] ?? ''}${event !== undefined ? ` (${event})` : ''}: ${ended}`,
        ...(vs !== undefined ? { virtual: vs } : {}),
        ...(rs !== undefined ? { real: rs } : {}),
      });
    } catch (err) {
      this.o.log.debug({ err: String(err) }, 'alert note listener failed');
    }
  }
}
