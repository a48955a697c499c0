// Where the daemon logs, decided as ldirectord does from `logfile`, `-d` and `supervised`.
import { ErrorCodes, LdirError } from '../errors';
import { parseSyslogFacility, syslogFacilityNames } from './syslog-codes';

/**
 * The destination of the daemon's log: `-d` → stderr, `supervised=yes` → stdout (what daemontools' and runit's log
 * services read), else `logfile`: a path starting with `/` → that file, anything else → a syslog facility.
 */
export type LogDestination =
  | { readonly kind: 'stderr' }
  | { readonly kind: 'stdout' }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'syslog'; readonly facility: number; readonly facilityName: string };

/** The inputs of {@link resolveLogDestination}: the config's `globals.logfile` and `globals.supervised`, and `-d`. */
export interface LogDestinationInput {
  /** `globals.logfile`: `/abs/path` or a syslog facility name (`local0`, `daemon`, ...). */
  readonly logfile: string;
  /** `-d`/`--debug`: ldirectord then logs to stderr and ignores `logfile`. */
  readonly debug?: boolean;
  /** `supervised=yes`: ldirectord then logs to stdout and ignores `logfile`. */
  readonly supervised?: boolean;
}

/**
 * Decides the log destination in ldirectord's order (`-d` first, then `supervised`, then `logfile`). An unknown
 * facility name throws {@link LdirError} `LDIR_ERR_CONFIG_INVALID` (details: directive, value, facilities), also
 * when `-d` or `supervised` would make `logfile` unused, so a typo is found before it matters.
 */
export function resolveLogDestination(input: LogDestinationInput): LogDestination {
  const logfile = input.logfile;
  const file = logfile.startsWith('/');
  const facility = file ? undefined : parseSyslogFacility(logfile);
  if (!file && facility === undefined) {
    throw new LdirError(
      ErrorCodes.CONFIG_INVALID,
      `logfile: "${logfile}" is neither an absolute path nor a syslog facility (one of ${syslogFacilityNames().join(', ')})`,
      { details: { directive: 'logfile', value: logfile, facilities: syslogFacilityNames() } },
    );
  }
  if (input.debug) return { kind: 'stderr' };
  if (input.supervised) return { kind: 'stdout' };
  if (file) return { kind: 'file', path: logfile };
  return {
    kind: 'syslog',
    facility: facility as number,
    facilityName: logfile.trim().toLowerCase().replace(/^log_/, ''),
  };
}

/** A short description for the start-up log line: `file /var/log/ldirectord.log`, `syslog local0`, `stderr`. */
export function describeLogDestination(d: LogDestination): string {
  switch (d.kind) {
    case 'file':
      return `file ${d.path}`;
    case 'syslog':
      return `syslog ${d.facilityName}`;
    default:
      return d.kind;
  }
}

/** True when both describe the same destination. */
export function sameLogDestination(a: LogDestination, b: LogDestination): boolean {
  return describeLogDestination(a) === describeLogDestination(b);
}
