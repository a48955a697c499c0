// The announce guard's process: its socket beside the control socket, and its start as a detached `ldir announce-guard`.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { controlSocketPath } from '../daemon/protocol';
import type { Logger } from '../log';

/** The announce guard's socket of configuration `configName`, beside its control socket. */
export function guardSocketPath(configName: string, socketDirectory?: string): string {
  return join(dirname(controlSocketPath(configName, socketDirectory)), `${configName}.announce.sock`);
}

/** Starts `ldir announce-guard PATH` detached (it outlives the daemon by design); its log goes to `PATH.log`. */
export function spawnAnnounceGuard(selfCommand: readonly string[], path: string, log: Logger): void {
  const [command, ...args] = selfCommand;
  let logFd: number | 'ignore' = 'ignore';
  try {
    logFd = openSync(`${path}.log`, 'a', 0o600);
  } catch {
    // no log then
  }
  const child = spawn(command as string, [...args, 'announce-guard', path], {
    detached: true,
    stdio: ['ignore', 'ignore', logFd],
  });
  child.unref();
  if (typeof logFd === 'number') closeSync(logFd);
  log.info({ pid: child.pid, path }, 'announce guard started');
}
