// What every CLI command that reads a configuration does first: locate it, load it, print its diagnostics.
import { formatDiagnostic } from '../config/diagnostics';
import { loadConfigFile, type LoadOptions } from '../config/load';
import { locateConfig, type LocatedConfig, type LocateOptions } from '../config/locate';
import { isLdirError } from '../errors';
import type { Config } from '../model';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';

/**
 * A loaded configuration (with the values of its credential directives, for hiding them from what the command
 * prints), or the exit code the command ends with (1 not found or unreadable, 2 invalid).
 */
export type CliConfig =
  | { readonly config: Config; readonly located: LocatedConfig; readonly secrets: readonly string[] }
  | { readonly exitCode: number };

/**
 * Locates (`/etc/ha.d/NAME`, `/etc/ha.d/conf/NAME`, the path) and loads a configuration, writing every diagnostic to
 * stderr as `PATH:LINE: message`.
 */
export async function loadForCli(
  given: string | undefined,
  io: CliIo,
  load?: LoadOptions,
  locate?: LocateOptions,
): Promise<CliConfig> {
  const located = locateConfig(given, locate);
  if (!located.path) {
    io.stderr(`ldir: configuration file ${given ?? 'ldirectord.cf'} not found (tried ${located.tried.join(', ')})\n`);
    return { exitCode: ExitCode.FAILURE };
  }
  let result;
  try {
    result = await loadConfigFile(located.path, load);
  } catch (err) {
    if (!isLdirError(err)) throw err;
    io.stderr(`ldir: ${err.message}\n`);
    return { exitCode: ExitCode.FAILURE };
  }
  for (const d of result.diagnostics) io.stderr(`${formatDiagnostic(d)}\n`);
  return result.config
    ? { config: result.config, located, secrets: result.secrets }
    : { exitCode: ExitCode.CONFIG_ERROR };
}
