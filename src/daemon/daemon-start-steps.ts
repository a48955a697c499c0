// Steps of the daemon's start that stand alone: the control socket's directory, the IPVS backend, the settings file.
import { dirname } from 'node:path';
import type { Clock } from '../clock';
import { isLdirError } from '../errors';
import type { IpvsBackend } from '../ipvs/types';
import type { Logger } from '../log';
import { startError } from './config-load';
import type { DaemonOptions } from './daemon-options';
import type { DaemonParts } from './daemon-parts';
import { controlSocketPath } from './protocol';
import { SettingsFile } from './settings-file';
import { ensureSocketDirectory } from './socket-directory';
import { stateFilePath } from './state-file';

/** Refuses the start (exit code 1) when the control socket's directory is one another user could write. */
export function checkSocketDirectory(options: DaemonOptions): void {
  try {
    ensureSocketDirectory(dirname(controlSocketPath(options.configName, options.socketDirectory)));
  } catch (err) {
    throw isLdirError(err) ? startError(err.message, 1) : err;
  }
}

/** Opens the IPVS backend of `parts` (a failure is a start error, exit code 1); logs the backends passed over. */
export async function openIpvsBackend(parts: DaemonParts, log: Logger): Promise<IpvsBackend> {
  let backend: IpvsBackend;
  try {
    const selection = await parts.openBackend();
    backend = selection.backend;
    for (const why of selection.passedOver) log.warn({ why }, 'IPVS backend passed over');
  } catch (err) {
    throw isLdirError(err) ? startError(err.message, 1) : err;
  }
  if (backend.kind === 'memory') {
    log.warn(
      'IPVS backend is "memory": the kernel table is NOT changed; checks and decisions run, nothing is load balanced',
    );
  }
  return backend;
}

/**
 * The file of runtime weights and hand drains kept across a stop and start. A trial on the memory backend (no
 * `stateDirectory`) keeps them in memory only: it must not change what the director of this configuration finds at
 * its next start.
 */
export function openSettingsFile(
  options: DaemonOptions,
  backend: IpvsBackend,
  clock: Clock,
  log: Logger,
): SettingsFile {
  const trial = backend.kind === 'memory' && options.stateDirectory === undefined;
  const settings = new SettingsFile({
    path: trial ? undefined : stateFilePath(options.configName, options.stateDirectory),
    configFile: options.configPath,
    clock,
    log,
  });
  if (trial)
    log.info(
      'memory backend: runtime weights and hand drains are kept in memory only (no state file unless LDIR_STATE_DIR names its directory)',
    );
  return settings;
}
