// Whether the daemon of a configuration runs, found by what it holds (its control socket, its pid file's lock),
// never by its command line: a daemon started as `node dist/src/main.js`, by any path or name, is found.
import { readFileSync } from 'node:fs';
import { isLdirError } from '../errors';
import { readPidState } from '../system/pid-file';
import { pingDaemon } from './control-client';

/**
 * A daemon that runs (`answers`: it answered `ping` on its control socket; otherwise it holds the pid file's lock
 * but does not answer: busy, wedged, or still starting), a stale pid file (the daemon died), or nothing.
 */
export type Presence =
  | { readonly state: 'running'; readonly pid: number | undefined; readonly answers: boolean }
  | { readonly state: 'stale'; readonly pid: number | undefined }
  | { readonly state: 'absent' };

/** Where to look: the configuration's pid file and control socket. */
export interface PresenceOptions {
  readonly pidFile: string;
  readonly socketPath: string;
  /** How long `ping` may take (default 2 s). */
  readonly pingTimeoutMs?: number;
}

/**
 * Finds the daemon: the one that answers `ping` on the control socket, else the holder of the pid file's lock (its
 * pid from the file). The socket comes first because it answers from every launch and from a successor that took
 * over a moment ago (before it holds the lock); the lock covers a daemon that does not answer.
 */
export async function findDaemon(options: PresenceOptions): Promise<Presence> {
  try {
    const response = await pingDaemon(options.socketPath, { timeoutMs: options.pingTimeoutMs ?? 2_000 });
    if (response.ok) return { state: 'running', pid: response.result.pid, answers: true };
  } catch (err) {
    if (!isLdirError(err)) throw err;
  }
  const file = readPidState(options.pidFile);
  if (file.state === 'running') return { state: 'running', pid: file.pid, answers: false };
  return file;
}

/** True once process `pid` is gone (no /proc entry, or a zombie waiting to be reaped). */
export function processGone(pid: number, procRoot = '/proc'): boolean {
  try {
    const stat = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
    return /^\d+ \(.*\) Z/s.test(stat);
  } catch {
    return true;
  }
}
