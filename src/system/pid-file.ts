// The daemon's pid file: one per configuration name, as ldirectord's /var/run/ldirectord.<cfgname>.pid.
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCodes, LdirError } from '../errors';

/** Directory of pid files. */
export const RUN_DIRECTORY = '/var/run';

/** Path of the pid file for a configuration name. */
export function pidFilePath(configName: string, runDirectory: string = RUN_DIRECTORY): string {
  return join(runDirectory, `ldirectord.${configName}.pid`);
}

/** What the pid file says about a daemon. */
export type PidState = { state: 'running'; pid: number } | { state: 'stale'; pid: number | undefined } | { state: 'absent' };

/** This installation's entry point (dist/src/main.js), which a daemon started by path runs. */
const OWN_MAIN = join(__dirname, '..', 'main.js');

/**
 * True when a /proc/PID/cmdline (NUL-separated) is an ldir process: it names ldir or ldirectord (the detached daemon
 * runs with argv[0] `ldir`; installed binaries live under .../ldir/), or it runs this installation's entry point.
 * A pid reused by an unrelated process, or a zombie (empty cmdline), is not.
 */
export function isLdirCommandLine(cmdline: string): boolean {
  return /ldir/.test(cmdline) || cmdline.split('\0').includes(OWN_MAIN);
}

/** True while process `pid` is a live ldir process ({@link isLdirCommandLine}); false for a gone pid. */
export function isLdirProcess(pid: number, procRoot = '/proc'): boolean {
  try {
    return isLdirCommandLine(readFileSync(join(procRoot, String(pid), 'cmdline'), 'utf8'));
  } catch {
    return false; // no such process
  }
}

/** Reads a pid file; the daemon is running when the pid's command line is an ldir process ({@link isLdirCommandLine}). */
export function readPidState(path: string, procRoot = '/proc'): PidState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { state: 'absent' };
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return { state: 'stale', pid: undefined };
  return isLdirProcess(pid, procRoot) ? { state: 'running', pid } : { state: 'stale', pid };
}

/**
 * Claims the pid file for `pid`: refuses (LDIR_ERR_ALREADY_RUNNING) while another live ldir holds it, replaces a
 * stale one, and writes atomically (temporary file + rename) so a reader never sees a half-written pid.
 */
export function claimPidFile(path: string, pid: number, procRoot = '/proc'): void {
  const state = readPidState(path, procRoot);
  if (state.state === 'running' && state.pid !== pid) {
    throw new LdirError(ErrorCodes.ALREADY_RUNNING, `ldir is already running with pid ${state.pid} (${path})`, { details: { path, pid: state.pid } });
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${pid}.tmp`;
  writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Removes the pid file if it still names `pid` (never another daemon's). Returns true when it removed it. */
export function releasePidFile(path: string, pid: number): boolean {
  try {
    if (Number.parseInt(readFileSync(path, 'utf8').trim(), 10) !== pid) return false;
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}
