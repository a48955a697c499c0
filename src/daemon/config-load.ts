// Loading a configuration for the daemon: its start, reloads and previews; errors carry the exit code of `ldir start`.
import type { ConfigSources } from '../config/config-sources';
import type { Diagnostic } from '../config/diagnostics';
import { loadConfigFile } from '../config/load';
import type { ConfigLoadWorker } from '../config/load-off-thread';
import { ErrorCodes, isLdirError, LdirError } from '../errors';
import type { Config } from '../model';
import type { SecretRedactor } from '../secrets';
import type { DaemonOptions } from './daemon-options';

/** A failed start: the error code, and the exit code `ldir start` reports (2 for a configuration error). */
export function startError(
  message: string,
  exitCode: number,
  diagnostics: readonly Diagnostic[] = [],
  sources?: ConfigSources,
): LdirError {
  return new LdirError(exitCode === 2 ? ErrorCodes.CONFIG_INVALID : ErrorCodes.DAEMON_START_FAILED, message, {
    details: { exitCode, diagnostics, ...(sources ? { sources } : {}) },
  });
}

/**
 * Loads a configuration (in `loader`'s worker thread when given, else on this thread); throws a config error (exit 2) carrying the diagnostics (and the files it read, `sources`)
 * when it has errors. The values of its credential directives go to `redactor` either way (the log and the control
 * answers hide them from then on).
 */
export async function loadOrThrow(
  path: string,
  options: DaemonOptions,
  redactor: SecretRedactor,
  loader?: Pick<ConfigLoadWorker, 'load'>,
): Promise<{ config: Config; diagnostics: readonly Diagnostic[]; sources: ConfigSources }> {
  let result;
  const loadOptions = { ...options.load, debug: options.debug ?? false };
  try {
    result = loader ? await loader.load(path, loadOptions) : await loadConfigFile(path, loadOptions);
  } catch (err) {
    throw isLdirError(err) ? startError(err.message, 1) : err;
  }
  redactor.add(result.secrets);
  if (!result.config) {
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    throw startError(`${path}: ${errors.length} configuration error(s)`, 2, result.diagnostics, result.sources);
  }
  return { config: result.config, diagnostics: result.diagnostics, sources: result.sources };
}
