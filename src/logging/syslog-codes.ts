// syslog(3) facility names and numbers, and the mapping of pino levels to syslog severities.

/**
 * Facility codes of `<syslog.h>` (the number is the code before the `<< 3` shift). `kern` is absent: user processes
 * cannot log as the kernel (glibc turns facility 0 into `user`). `security` is the old name of `auth`.
 */
export const SYSLOG_FACILITIES: Readonly<Record<string, number>> = {
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  security: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/** syslog severities of `<syslog.h>` (RFC 5424 section 6.2.1). */
export const SyslogSeverity = {
  emerg: 0,
  alert: 1,
  crit: 2,
  err: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
} as const;

/** One syslog severity number (0 emerg .. 7 debug). */
export type SyslogSeverityNumber = (typeof SyslogSeverity)[keyof typeof SyslogSeverity];

/**
 * The facility code of a name as Perl's Sys::Syslog (and so ldirectord) accepts it: case-insensitive, with or without
 * a `LOG_` prefix (`local0`, `LOCAL0`, `LOG_LOCAL0`). Undefined for an unknown name.
 */
export function parseSyslogFacility(name: string): number | undefined {
  const key = name.trim().toLowerCase().replace(/^log_/, '');
  return Object.hasOwn(SYSLOG_FACILITIES, key) ? SYSLOG_FACILITIES[key] : undefined;
}

/** The facility names accepted by {@link parseSyslogFacility}, for error messages and documentation. */
export function syslogFacilityNames(): string[] {
  return Object.keys(SYSLOG_FACILITIES);
}

/**
 * The syslog severity of a pino level number: trace and debug → debug, info → info, warn → warning, error → err,
 * fatal → crit. Custom levels fall into the nearest band below them.
 */
export function syslogSeverityOf(pinoLevel: number): SyslogSeverityNumber {
  if (pinoLevel >= 60) return SyslogSeverity.crit;
  if (pinoLevel >= 50) return SyslogSeverity.err;
  if (pinoLevel >= 40) return SyslogSeverity.warning;
  if (pinoLevel >= 30) return SyslogSeverity.info;
  return SyslogSeverity.debug;
}

/** The `<PRI>` value of a syslog message: facility × 8 + severity. */
export function syslogPriority(facility: number, severity: number): number {
  return facility * 8 + severity;
}
