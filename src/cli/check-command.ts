// `ldir check [CONFIG] [--json]`: parse and validate a configuration, as `ldirectord CONFIG status` would first.
import { formatDiagnostic, type Diagnostic } from '../config/diagnostics';
import { loadConfigFile, type LoadOptions } from '../config/load';
import { locateConfig, type LocateOptions } from '../config/locate';
import { isLdirError } from '../errors';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';
import { redactSecrets } from './redact';

/** Options of {@link runCheck}. */
export interface CheckOptions {
  readonly config?: string;
  readonly json: boolean;
  readonly load?: LoadOptions;
  readonly locate?: LocateOptions;
}

/** Writes diagnostics to stderr, one `PATH:LINE: message` per line. */
export function printDiagnostics(io: CliIo, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) io.stderr(`${formatDiagnostic(d)}\n`);
}

/** Validates a configuration: exit 0 when valid (warnings on stderr), 2 with every error when not, 1 when not found. */
export async function runCheck(options: CheckOptions, io: CliIo): Promise<number> {
  const located = locateConfig(options.config, options.locate);
  if (!located.path) {
    io.stderr(`ldir: configuration file ${options.config ?? 'ldirectord.cf'} not found (tried ${located.tried.join(', ')})\n`);
    return ExitCode.FAILURE;
  }
  let result;
  try {
    result = await loadConfigFile(located.path, options.load);
  } catch (err) {
    if (!isLdirError(err)) throw err;
    io.stderr(`ldir: ${err.message}\n`);
    return ExitCode.FAILURE;
  }
  printDiagnostics(io, result.diagnostics);
  if (!result.config) return ExitCode.CONFIG_ERROR;
  if (options.json) io.stdout(`${JSON.stringify(redactSecrets(result.config), null, 2)}\n`);
  return ExitCode.OK;
}
