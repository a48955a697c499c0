// Runs the ipvsadm binary without a shell: argv array, optional stdin, C locale, bounded time.
import { spawn } from 'node:child_process';

/** What one ipvsadm run produced. `code` is null when the process was ended by a signal. */
export interface IpvsadmExecResult {
  readonly code: number | null;
  readonly signal?: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `file` with `args` (never through a shell), writes `stdin` (if any) and collects its output. */
export type IpvsadmExec = (file: string, args: readonly string[], stdin?: string) => Promise<IpvsadmExecResult>;

/**
 * The real {@link IpvsadmExec}: `spawn` with an argv array, `LC_ALL=C` (ipvsadm prints `strerror` and popt texts),
 * killed with SIGKILL after `timeoutMs`. Rejects only when the process cannot be started (e.g. ENOENT).
 */
export function spawnExec(timeoutMs = 120_000): IpvsadmExec {
  return (file, args, stdin) =>
    new Promise((resolve, reject) => {
      const child = spawn(file, [...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
        shell: false,
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let settled = false;
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
      // EPIPE when ipvsadm exits before reading all of stdin (a fatal line): its output tells what happened.
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin ?? '');
    });
}
