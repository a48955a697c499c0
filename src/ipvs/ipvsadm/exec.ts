// Runs the ipvsadm binary without a shell: argv array, optional stdin, C locale, bounded time.
import { spawnProcessRunner, type ProcessRunner } from '../../process-runner';

/** What one ipvsadm run produced. `code` is null when the process was ended by a signal. */
export interface IpvsadmExecResult {
  readonly code: number | null;
  readonly signal?: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `file` with `args` (never through a shell), writes `stdin` (if any) and collects its output. */
export type IpvsadmExec = (file: string, args: readonly string[], stdin?: string) => Promise<IpvsadmExecResult>;

/** Bytes of a listing kept: far above what a table of 100,000 destinations prints. */
const OUTPUT_LIMIT = 256 * 1024 * 1024;
/** ipvsadm never leaves a process behind: its output is all read however slow the event loop is. */
const OUTPUT_GRACE_MS = 60_000;

/**
 * The real {@link IpvsadmExec} over the process runner: an argv array, `LC_ALL=C` (ipvsadm prints `strerror` and popt
 * texts), its process group terminated after `timeoutMs`. Rejects only when the process cannot be started (ENOENT).
 */
export function spawnExec(timeoutMs = 120_000, runner: ProcessRunner = spawnProcessRunner()): IpvsadmExec {
  return async (file, args, stdin) => {
    const r = await runner({
      argv: [file, ...args],
      timeoutMs,
      stdin: stdin ?? '',
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      stdoutLimit: OUTPUT_LIMIT,
      stderrLimit: OUTPUT_LIMIT,
      outputGraceMs: OUTPUT_GRACE_MS,
    });
    return { code: r.exitCode, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  };
}
