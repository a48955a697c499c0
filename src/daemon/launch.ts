// Starting the daemon in the background: a detached child reports "ready" (or why it failed) over a pipe, so
// `ldir start` exits only once the daemon runs, and with the daemon's error when it could not start.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

/** Environment variable naming the fd on which a launched daemon reports its start. */
export const READY_FD_ENV = 'LDIR_READY_FD';

/** What a launched daemon reports once: ready with its pid, or the error that stopped it (and the exit code). */
export type StartReport =
  | { readonly ready: true; readonly pid: number }
  | { readonly ready: false; readonly code: string; readonly message: string; readonly exitCode: number };

/** Options of {@link launchDaemon}. */
export interface LaunchOptions {
  /** Program and arguments of the daemon process (e.g. node, main.js, the daemon arguments). */
  readonly command: string;
  readonly args: readonly string[];
  /** How long to wait for the report; default 60 s (check and kernel set-up of a big table included). */
  readonly readyTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * The child's argv[0] (what /proc/PID/cmdline starts with). The daemon is started as `ldir` so that its pid file
   * check recognises it whatever the installation path is called.
   */
  readonly argv0?: string;
}

/**
 * Starts the daemon detached (own session, no terminal, stdio closed) and waits for its {@link StartReport}. A child
 * that exits or closes the pipe without a report is a failure with its exit status; a timeout too (the child is
 * left running: it may still come up, and killing a half-started director could leave a half-written table).
 */
export function launchDaemon(options: LaunchOptions): Promise<StartReport> {
  return new Promise((resolve) => {
    const child = spawn(options.command, [...options.args], {
      detached: true,
      ...(options.argv0 !== undefined ? { argv0: options.argv0 } : {}),
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
      env: { ...(options.env ?? process.env), [READY_FD_ENV]: '3' },
    });
    let text = '';
    let settled = false;
    const finish = (report: StartReport): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdio[3]?.destroy();
      child.unref();
      resolve(report);
    };
    // The OCF agent (conf/ocf/ldir) reads "the daemon (pid N) did not report ready" to wait on for that daemon.
    const timer = setTimeout(
      () =>
        finish({
          ready: false,
          code: 'LDIR_ERR_DAEMON_START_FAILED',
          exitCode: 1,
          message: `the daemon (pid ${child.pid ?? '?'}) did not report ready within ${options.readyTimeoutMs ?? 60_000} ms`,
        }),
      options.readyTimeoutMs ?? 60_000,
    );
    child.once('error', (err) =>
      finish({
        ready: false,
        code: 'LDIR_ERR_DAEMON_START_FAILED',
        exitCode: 1,
        message: `cannot start the daemon: ${err.message}`,
      }),
    );
    const pipe = child.stdio[3];
    pipe?.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const newline = text.indexOf('\n');
      if (newline === -1) return;
      finish(parseReport(text.slice(0, newline)));
    });
    pipe?.on('error', () => undefined);
    child.once('exit', (code, signal) => {
      if (text.includes('\n')) return;
      finish({
        ready: false,
        code: 'LDIR_ERR_DAEMON_START_FAILED',
        exitCode: code === 2 ? 2 : 1,
        message: `the daemon exited before it was ready (${signal ? `signal ${signal}` : `status ${code}`})`,
      });
    });
  });
}

/** Reads one report line; anything malformed is a start failure. */
function parseReport(line: string): StartReport {
  try {
    const value = JSON.parse(line) as Partial<Record<string, unknown>>;
    if (value['ready'] === true && typeof value['pid'] === 'number') return { ready: true, pid: value['pid'] };
    if (value['ready'] === false && typeof value['message'] === 'string') {
      return {
        ready: false,
        message: value['message'],
        code: typeof value['code'] === 'string' ? value['code'] : 'LDIR_ERR_DAEMON_START_FAILED',
        exitCode: typeof value['exitCode'] === 'number' ? value['exitCode'] : 1,
      };
    }
  } catch {
    // fall through
  }
  return {
    ready: false,
    code: 'LDIR_ERR_DAEMON_START_FAILED',
    exitCode: 1,
    message: `unreadable start report: ${line.slice(0, 200)}`,
  };
}

/**
 * In the daemon: sends the {@link StartReport} to the launching `ldir start` (when there is one) and closes the
 * pipe. Safe to call when not launched that way (no-op) and more than once (only the first report is sent).
 */
export function reportStart(report: StartReport, env: NodeJS.ProcessEnv = process.env): void {
  const fdText = env[READY_FD_ENV];
  if (fdText === undefined) return;
  delete env[READY_FD_ENV];
  const fd = Number(fdText);
  if (!Number.isInteger(fd) || fd < 0) return;
  try {
    fs.writeSync(fd, `${JSON.stringify(report)}\n`);
  } catch {
    // the launcher went away: nothing to tell
  }
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}
