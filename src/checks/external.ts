// `checktype=external` (and `external-perl`): run `checkcommand VIP|FWMARK VPORT RIP RPORT` without a shell, in its
// own process group; exit 0 = up; at the timeout the whole group gets SIGTERM, then SIGKILL after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import { fail, guardCheck, pass, type CheckVerdict } from './guard';
import { weightFromOutput } from './reported-weight';
import type { Checker, CheckJob } from './types';

/** Milliseconds between SIGTERM and SIGKILL to the process group of a check that ran past its timeout. */
export const KILL_GRACE_MS = 1000;

/** Program and arguments of an external check: the command split on whitespace, then ldirectord's four values. */
export function externalArgv(job: CheckJob): string[] {
  const words = job.command.trim().split(/\s+/).filter((w) => w !== '');
  return [...words, job.virtualHost, String(job.virtualPort), job.address, String(job.realPort)];
}

/** Signals a whole process group; false when it no longer exists. */
function signalGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Terminates the group of a child that outlived its check: SIGTERM now, SIGKILL after {@link KILL_GRACE_MS}. */
function terminateGroup(child: ChildProcess): void {
  const pgid = child.pid;
  if (pgid === undefined) return;
  if (!signalGroup(pgid, 'SIGTERM')) return;
  setTimeout(() => {
    if (signalGroup(pgid, 0)) signalGroup(pgid, 'SIGKILL');
  }, KILL_GRACE_MS);
}

/** Most bytes of an external check's output read for a `weight=N` line; the rest is drained unread. */
const OUTPUT_LIMIT = 4096;
/** How long after the command exits its output may still arrive (a child that keeps the pipe open is not waited for). */
const OUTPUT_GRACE_MS = 100;

/** Runs the command and resolves with its verdict; kills its process group when `signal` aborts. */
function run(argv: readonly string[], signal: AbortSignal): Promise<CheckVerdict> {
  const [program, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    let exited = false;
    const child = spawn(program, args, { detached: true, stdio: ['ignore', 'pipe', 'ignore'], shell: false });
    // Standard output is read for a `weight=N` line (check-driven weight), up to a limit; the rest is drained.
    let output = '';
    let outputEnded = false;
    const outputDone: Array<() => void> = [];
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (output.length < OUTPUT_LIMIT) output += chunk.slice(0, OUTPUT_LIMIT - output.length);
    });
    child.stdout?.once('close', () => {
      outputEnded = true;
      for (const done of outputDone.splice(0)) done();
    });
    child.stdout?.on('error', () => undefined);
    const afterOutput = (then: () => void): void => {
      if (outputEnded || !child.stdout) {
        then();
        return;
      }
      const timer = setTimeout(() => {
        child.stdout?.destroy();
        then();
      }, OUTPUT_GRACE_MS);
      outputDone.push(() => {
        clearTimeout(timer);
        then();
      });
    };
    const onAbort = (): void => {
      if (!exited) terminateGroup(child);
      resolve(fail('timeout'));
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      exited = true;
      signal.removeEventListener('abort', onAbort);
      if (err.code === 'ENOENT') resolve(fail(`command not found: ${program}`));
      else if (err.code === 'EACCES') resolve(fail(`command not executable: ${program}`));
      else resolve(fail(`cannot run ${program}: ${err.code ?? err.message}`));
    });
    child.once('exit', (code, sig) => {
      exited = true;
      signal.removeEventListener('abort', onAbort);
      if (code === 0) afterOutput(() => resolve(pass('exit 0', weightFromOutput(output))));
      else if (sig) resolve(fail(`signal ${sig}`));
      else resolve(fail(`exit ${code ?? '?'}`));
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Up when `job.command VIP VPORT RIP RPORT` exits 0 within `checkTimeoutMs`. */
export const externalCheck: Checker = (job, signal) =>
  guardCheck(signal, job.checkTimeoutMs, async (s) => {
    const argv = externalArgv(job);
    if (argv.length <= 4) return fail('no check command');
    return run(argv, s);
  });
