// `checktype=external` (and `external-perl`): run `checkcommand VIP|FWMARK VPORT RIP RPORT` without a shell, in its
// own process group; exit 0 = up; at the timeout the whole group gets SIGTERM, then SIGKILL after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import { fail, guardCheck, pass, type CheckVerdict } from './guard';
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

/** Runs the command and resolves with its verdict; kills its process group when `signal` aborts. */
function run(argv: readonly string[], signal: AbortSignal): Promise<CheckVerdict> {
  const [program, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    let exited = false;
    const child = spawn(program, args, { detached: true, stdio: 'ignore', shell: false });
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
      if (code === 0) resolve(pass('exit 0'));
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
