// The daemon's pid file: one per configuration name, as ldirectord's /var/run/ldirectord.<cfgname>.pid.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Directory of pid files. */
export const RUN_DIRECTORY = '/var/run';

/** Path of the pid file for a configuration name. */
export function pidFilePath(configName: string, runDirectory: string = RUN_DIRECTORY): string {
  return join(runDirectory, `ldirectord.${configName}.pid`);
}

/** What the pid file says about a daemon. */
export type PidState = { state: 'running'; pid: number } | { state: 'stale'; pid: number | undefined } | { state: 'absent' };

/** Reads a pid file; the daemon is running when the pid's command line names ldir or ldirectord. */
export function readPidState(path: string, procRoot = '/proc'): PidState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { state: 'absent' };
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return { state: 'stale', pid: undefined };
  try {
    const cmdline = readFileSync(join(procRoot, String(pid), 'cmdline'), 'utf8');
    if (/ldir/.test(cmdline)) return { state: 'running', pid };
  } catch {
    // no such process
  }
  return { state: 'stale', pid };
}
