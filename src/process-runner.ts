// The one way ldir runs a child process (external checks, alert commands, fallback/quorum/callback/execute commands,
// ipvsadm): no shell, the child leads its own process group, a timeout (or an abort) sends SIGTERM to the whole group
// and SIGKILL after a grace, output is kept up to a bound and the rest drained.
import { spawn } from 'node:child_process';

/** Milliseconds between SIGTERM and SIGKILL to the process group of a command that ran past its timeout. */
export const DEFAULT_KILL_GRACE_MS = 1000;
/**
 * Milliseconds after the command exits that its output may still arrive: a process it left behind that keeps a pipe
 * open is not waited for longer.
 */
export const DEFAULT_OUTPUT_GRACE_MS = 100;

/** One command to run. */
export interface ProcessRequest {
  /** Program and arguments (`argv[0]` is the program, found on PATH; never a shell). */
  readonly argv: readonly string[];
  /** After this many milliseconds the process group is terminated (SIGTERM, then SIGKILL after the grace). */
  readonly timeoutMs: number;
  /** Aborting it terminates the process group as the timeout does. */
  readonly signal?: AbortSignal;
  /** The whole environment of the command; default: the daemon's own. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Written to the command's standard input, which is then closed; without it stdin is /dev/null. */
  readonly stdin?: string;
  /** Bytes of standard output kept (the rest is read and dropped); 0 or absent: stdout goes to /dev/null. */
  readonly stdoutLimit?: number;
  /** Bytes of standard error kept (the rest is read and dropped); 0 or absent: stderr goes to /dev/null. */
  readonly stderrLimit?: number;
  /** See {@link DEFAULT_OUTPUT_GRACE_MS}. */
  readonly outputGraceMs?: number;
}

/** How a command ended. */
export interface ProcessOutcome {
  /** Exit status; null when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
  /** True when its process group was terminated at the timeout or on an abort. */
  readonly timedOut: boolean;
  /** The start of its standard output (up to `stdoutLimit` bytes, decoded as UTF-8). */
  readonly stdout: string;
  /** The start of its standard error (up to `stderrLimit` bytes, decoded as UTF-8). */
  readonly stderr: string;
  /** True when standard output or standard error had more than was kept. */
  readonly truncated: boolean;
}

/**
 * Runs a command and resolves once it has exited (and its output is in, or the output grace passed). Rejects only
 * when it cannot be started, with the spawn error (`code` ENOENT, EACCES...).
 */
export type ProcessRunner = (request: ProcessRequest) => Promise<ProcessOutcome>;

/** Settings of {@link spawnProcessRunner}. */
export interface ProcessRunnerOptions {
  /** See {@link DEFAULT_KILL_GRACE_MS}. */
  readonly killGraceMs?: number;
}

/** Sends `signal` to the process group `pgid`; false when the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Collects the first `limit` bytes of a stream and drains the rest. */
class BoundedSink {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.kept;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * The {@link ProcessRunner} over `child_process.spawn`. The child is started detached (its own session and process
 * group), so that at the timeout SIGTERM reaches everything it started; SIGKILL follows after the grace to whatever
 * of the group is left, also when the leader itself has already exited. A command that exits on its own before the
 * timeout is not signalled, nor is anything it left behind.
 */
export function spawnProcessRunner(options: ProcessRunnerOptions = {}): ProcessRunner {
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  return (request) =>
    new Promise<ProcessOutcome>((resolve, reject) => {
      const [program, ...args] = request.argv;
      if (program === undefined || program === '') {
        reject(Object.assign(new Error('empty command'), { code: 'ENOENT' }));
        return;
      }
      const stdoutLimit = request.stdoutLimit ?? 0;
      const stderrLimit = request.stderrLimit ?? 0;
      const child = spawn(program, args, {
        shell: false,
        detached: true,
        env: { ...(request.env ?? process.env) },
        stdio: [
          request.stdin === undefined ? 'ignore' : 'pipe',
          stdoutLimit > 0 ? 'pipe' : 'ignore',
          stderrLimit > 0 ? 'pipe' : 'ignore',
        ],
      });
      const out = new BoundedSink(stdoutLimit);
      const err = new BoundedSink(stderrLimit);
      const streams = [child.stdout, child.stderr].filter((s) => s !== null);
      let open = streams.length;
      let outputDone: (() => void) | undefined;
      child.stdout?.on('data', (b: Buffer) => out.push(b));
      child.stderr?.on('data', (b: Buffer) => err.push(b));
      for (const s of streams) {
        s.on('error', () => undefined);
        s.once('close', () => {
          open--;
          if (open === 0) outputDone?.();
        });
      }
      if (child.stdin) {
        // EPIPE when the command exits before reading all of stdin: its exit status tells what happened.
        child.stdin.on('error', () => undefined);
        child.stdin.end(request.stdin);
      }

      let timedOut = false;
      let settled = false;
      const terminate = (): void => {
        if (timedOut || settled) return;
        timedOut = true;
        const pgid = child.pid;
        if (pgid === undefined || !signalGroup(pgid, 'SIGTERM')) return;
        setTimeout(() => {
          if (signalGroup(pgid, 0)) signalGroup(pgid, 'SIGKILL');
        }, killGraceMs);
      };
      const timer = setTimeout(terminate, Math.max(1, request.timeoutMs));
      const onAbort = (): void => terminate();
      if (request.signal?.aborted) terminate();
      else request.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanUp = (): void => {
        settled = true;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
      };

      child.once('error', (e) => {
        if (settled) return;
        cleanUp();
        reject(e);
      });
      child.once('exit', (exitCode, signal) => {
        if (settled) return;
        cleanUp();
        const finish = (): void =>
          resolve({
            exitCode,
            signal,
            timedOut,
            stdout: out.text(),
            stderr: err.text(),
            truncated: out.truncated || err.truncated,
          });
        if (open === 0) {
          finish();
          return;
        }
        const grace = setTimeout(() => {
          outputDone = undefined;
          for (const s of streams) s.destroy();
          finish();
        }, request.outputGraceMs ?? DEFAULT_OUTPUT_GRACE_MS);
        outputDone = () => {
          clearTimeout(grace);
          finish();
        };
      });
    });
}
