// `ldir check [CONFIG] [--json]`: parse and validate a configuration, as `ldirectord CONFIG status` would first.
import { hostPrefix } from '../announce/candidates';
import { formatDiagnostic, type Diagnostic } from '../config/diagnostics';
import type { LoadOptions } from '../config/load';
import type { LocateOptions } from '../config/locate';
import { ErrorCodes, LdirError } from '../errors';
import type { BackendChoice } from '../ipvs/backend-choice';
import type { IpvsTimeouts } from '../ipvs/types';
import { silentLogger } from '../log';
import type { Config } from '../model';
import { formatTimeoutResult, IpvsTimeoutKeeper, type IpvsTimeoutResult } from '../system/ipvs-timeouts';
import { formatSysctlResult, previewSysctls, procSysStore, type SysctlStore } from '../system/sysctl';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';
import { loadForCli } from './load-for-cli';
import { redactSecretFields } from '../secrets';

/** Options of {@link runCheck}. */
export interface CheckOptions {
  readonly config?: string;
  readonly json: boolean;
  readonly load?: LoadOptions;
  readonly locate?: LocateOptions;
  /** Where current sysctl values are read (never written); default /proc/sys. */
  readonly sysctlStore?: SysctlStore;
  /** Which IPVS backend reads the current timeouts (`--ipvs=`, `LDIR_IPVS`); default auto. */
  readonly ipvs?: BackendChoice;
  /** Reads the kernel's IPVS timeouts (tests); default: through the backend of {@link ipvs}, closed right after. */
  readonly readTimeouts?: () => Promise<IpvsTimeouts>;
}

/** Writes diagnostics to stderr, one `PATH:LINE: message` per line. */
export function printDiagnostics(io: CliIo, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) io.stderr(`${formatDiagnostic(d)}\n`);
}

/** Reads the kernel's timeouts through a backend opened for this one read. */
async function readKernelTimeouts(choice: BackendChoice): Promise<IpvsTimeouts> {
  const { selectBackend } = await import('../ipvs/select');
  const { backend } = await selectBackend(choice);
  try {
    return await backend.getTimeouts();
  } finally {
    await backend.close().catch(() => undefined);
  }
}

/**
 * What the daemon would do with the IPVS connection timeouts of `config` (`ipvstimeouts=`), reading their current
 * values and writing nothing; no kernel access at all when the configuration sets none.
 */
async function previewTimeouts(config: Config, options: CheckOptions): Promise<IpvsTimeoutResult[]> {
  const wanted = config.globals.ipvsTimeouts;
  if (wanted === undefined) return [];
  const read = options.readTimeouts ?? (() => readKernelTimeouts(options.ipvs ?? 'auto'));
  const keeper = new IpvsTimeoutKeeper(
    {
      getTimeouts: read,
      setTimeouts: () => Promise.reject(new LdirError(ErrorCodes.INTERNAL, 'ldir check writes nothing')),
    },
    silentLogger(),
  );
  return keeper.preview(wanted);
}

/**
 * What route health injection announces, for `ldir check`: the driver and its target, then each announced virtual's
 * prefix with its hold-downs.
 */
export function announcePlanLines(config: Config): string[] {
  const a = config.globals.announce;
  if (!a) return [];
  return [
    `announce: ${a.driver} socket=${a.socket}${a.file !== undefined ? ` file=${a.file}` : ''}`,
    ...config.virtualServices.flatMap((v) => {
      const prefix = hostPrefix(v);
      if (!v.announce || prefix === undefined) return [];
      return [
        `announce: ${prefix} while ${v.id} can serve (announcedelay ${v.announce.delay}s, withdrawdelay ${v.announce.withdrawDelay}s)`,
      ];
    }),
  ];
}

/**
 * Validates a configuration: exit 0 when valid (warnings on stderr), 2 with every error when not, 1 when not found.
 * For a valid one it also lists the files its includes read (`include: PATH` lines on stdout; `includedFiles` of
 * `--json`) and reports the sysctls and IPVS timeouts the daemon would change (`sysctl: KEY OLD -> NEW` and
 * `ipvs timeout: tcp OLD -> NEW` lines on stdout, or the `sysctl` and `ipvstimeouts` arrays of `--json`), reading
 * their current values without writing anything.
 */
export async function runCheck(options: CheckOptions, io: CliIo): Promise<number> {
  const loaded = await loadForCli(options.config, io, options.load, options.locate);
  if ('exitCode' in loaded) return loaded.exitCode;
  const sysctl = previewSysctls(loaded.config, options.sysctlStore ?? procSysStore());
  const ipvstimeouts = await previewTimeouts(loaded.config, options);
  if (options.json) {
    io.stdout(
      `${JSON.stringify({ ...(redactSecretFields(loaded.config) as object), sysctl, ipvstimeouts }, null, 2)}\n`,
    );
  } else {
    for (const file of loaded.config.includedFiles ?? []) io.stdout(`include: ${file}\n`);
    for (const r of sysctl) if (r.status !== 'unchanged') io.stdout(`sysctl: ${formatSysctlResult(r)}\n`);
    for (const r of ipvstimeouts) if (r.status !== 'unchanged') io.stdout(`ipvs timeout: ${formatTimeoutResult(r)}\n`);
    for (const line of announcePlanLines(loaded.config)) io.stdout(`${line}\n`);
  }
  return ExitCode.OK;
}
