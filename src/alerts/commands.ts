// Alert commands (`alertcommand`): run without a shell on each health change, bounded in time and concurrency,
// in order per (virtual, real) pair; failures are logged and counted, never fatal.
import { spawn } from 'node:child_process';
import { ErrorCodes, LdirError } from '../errors';
import type { Logger } from '../log';
import type { AlertNote, HookOutcome, HookRunner } from './types';

/** Bytes of a command's stderr kept for the log. */
const STDERR_KEEP = 1024;
/** Milliseconds between SIGTERM and SIGKILL of a command's process group at its timeout. */
const KILL_GRACE_MS = 1000;

/** Sends `signal` to the process group led by `pid` (falls back to the process alone). */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * The default {@link HookRunner}: `spawn` without a shell, in a new process group, stdin and stdout ignored, the
 * start of stderr kept. At the timeout the whole group gets SIGTERM, then SIGKILL after a second.
 */
export function spawnHookRunner(): HookRunner {
  return (argv, { env, timeoutMs }) => new Promise<HookOutcome>((resolve, reject) => {
    const [program, ...args] = argv;
    if (program === undefined || program === '') {
      reject(new LdirError(ErrorCodes.ALERT_COMMAND_FAILED, 'alert command is empty'));
      return;
    }
    const child = spawn(program, args, { shell: false, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...env } });
    let stderr = '';
    let timedOut = false;
    let kill: NodeJS.Timeout | undefined;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < STDERR_KEEP) stderr = (stderr + chunk).slice(0, STDERR_KEEP);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGTERM');
      kill = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      if (kill) clearTimeout(kill);
      reject(new LdirError(ErrorCodes.ALERT_COMMAND_FAILED, `cannot run ${program}: ${err.message}`, { cause: err }));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (kill) clearTimeout(kill);
      // Processes it left behind keep stderr open: stop reading rather than wait for them.
      child.stderr?.destroy();
      resolve({ exitCode: code, signal, timedOut, stderr });
    });
  });
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
      this.o.log.warn({ ...dropped?.context, queued: this.o.maxQueue }, 'alert command queue full: oldest command dropped');
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
        this.o.log.warn({ ...job.context, timeoutMs: this.o.timeoutMs, stderr: r.stderr || undefined }, 'alert command killed at its timeout');
      } else if (r.exitCode !== 0) {
        this.o.tally.failed++;
        const how = r.exitCode === null ? `killed by ${r.signal ?? 'a signal'}` : `exit status ${r.exitCode}`;
        ended = how;
        this.o.log.warn({ ...job.context, exitCode: r.exitCode, signal: r.signal, stderr: r.stderr || undefined }, `alert command failed: ${how}`);
      } else {
        ended = 'ok';
      }
    } catch (err) {
      this.o.tally.failed++;
      ended = `could not run: ${err instanceof Error ? err.message : String(err)}`;
      this.o.log.warn({ ...job.context, code: (err as { code?: unknown }).code, err: err instanceof Error ? err.message : String(err) }, 'alert command could not run');
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
        at: this.o.now?.() ?? Date.now(), channel: 'command', ok: ended === 'ok',
        text: `alert command ${job.argv[0] ?? ''}${event !== undefined ? ` (${event})` : ''}: ${ended}`,
        ...(vs !== undefined ? { virtual: vs } : {}), ...(rs !== undefined ? { real: rs } : {}),
      });
    } catch (err) {
      this.o.log.debug({ err: String(err) }, 'alert note listener failed');
    }
  }
}
