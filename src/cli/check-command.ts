// `ldir check [CONFIG] [--json]`: parse and validate a configuration, as `ldirectord CONFIG status` would first.
import { formatDiagnostic, type Diagnostic } from '../config/diagnostics';
import type { LoadOptions } from '../config/load';
import type { LocateOptions } from '../config/locate';
import { formatSysctlResult, previewSysctls, procSysStore, type SysctlStore } from '../system/sysctl';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';
import { loadForCli } from './load-for-cli';
import { redactSecrets } from './redact';

/** Options of {@link runCheck}. */
export interface CheckOptions {
  readonly config?: string;
  readonly json: boolean;
  readonly load?: LoadOptions;
  readonly locate?: LocateOptions;
  /** Where current sysctl values are read (never written); default /proc/sys. */
  readonly sysctlStore?: SysctlStore;
}

/** Writes diagnostics to stderr, one `PATH:LINE: message` per line. */
export function printDiagnostics(io: CliIo, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) io.stderr(`${formatDiagnostic(d)}\n`);
}

/**
 * Validates a configuration: exit 0 when valid (warnings on stderr), 2 with every error when not, 1 when not found.
 * For a valid one it also lists the files its includes read (`include: PATH` lines on stdout; `includedFiles` of
 * `--json`) and reports the sysctls the daemon would change (`sysctl: KEY OLD -> NEW` lines on stdout, or the
 * `sysctl` array of `--json`), reading their current values without writing anything.
 */
export async function runCheck(options: CheckOptions, io: CliIo): Promise<number> {
  const loaded = await loadForCli(options.config, io, options.load, options.locate);
  if ('exitCode' in loaded) return loaded.exitCode;
  const sysctl = previewSysctls(loaded.config, options.sysctlStore ?? procSysStore());
  if (options.json) {
    io.stdout(`${JSON.stringify({ ...(redactSecrets(loaded.config) as object), sysctl }, null, 2)}\n`);
  } else {
    for (const file of loaded.config.includedFiles ?? []) io.stdout(`include: ${file}\n`);
    for (const r of sysctl) if (r.status !== 'unchanged') io.stdout(`sysctl: ${formatSysctlResult(r)}\n`);
  }
  return ExitCode.OK;
}
