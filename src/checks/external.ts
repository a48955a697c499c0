// `checktype=external` (and `external-perl`): run `checkcommand VIP|FWMARK VPORT RIP RPORT` through the process runner
// (no shell, its own process group killed at the timeout); exit 0 = up, a `weight=N` line of its output the weight.
import { spawnProcessRunner, type ProcessRunner } from '../process-runner';
import { fail, guardCheck, pass, type CheckVerdict } from './guard';
import { weightFromOutput } from './reported-weight';
import type { Checker, CheckJob } from './types';

/** Most bytes of an external check's output read for a `weight=N` line; the rest is drained unread. */
const OUTPUT_LIMIT = 4096;

/** Program and arguments of an external check: the command split on whitespace, then ldirectord's four values. */
export function externalArgv(job: CheckJob): string[] {
  const words = job.command
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  return [...words, job.virtualHost, String(job.virtualPort), job.address, String(job.realPort)];
}

/** Runs the command and turns its end into a verdict; its process group is terminated when `signal` aborts. */
async function run(
  runner: ProcessRunner,
  argv: readonly string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<CheckVerdict> {
  const program = argv[0] ?? '';
  try {
    const r = await runner({ argv, timeoutMs, signal, stdoutLimit: OUTPUT_LIMIT });
    if (r.timedOut) return fail('timeout');
    if (r.exitCode === 0) return pass('exit 0', weightFromOutput(r.stdout));
    if (r.signal) return fail(`signal ${r.signal}`);
    return fail(`exit ${r.exitCode ?? '?'}`);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return fail(`command not found: ${program}`);
    if (err.code === 'EACCES') return fail(`command not executable: ${program}`);
    return fail(`cannot run ${program}: ${err.code ?? err.message}`);
  }
}

/** An external {@link Checker} over `runner`: up when `job.command VIP VPORT RIP RPORT` exits 0 within its timeout. */
export function externalChecker(runner: ProcessRunner): Checker {
  return (job, signal) =>
    guardCheck(signal, job.checkTimeoutMs, async (s) => {
      const argv = externalArgv(job);
      if (argv.length <= 4) return fail('no check command');
      return run(runner, argv, job.checkTimeoutMs, s);
    });
}

/** The external checker over the real process runner. */
export const externalCheck: Checker = externalChecker(spawnProcessRunner());
