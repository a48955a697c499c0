// Process exit codes, chosen to match ldirectord's where it has one.
import type { StatusReport } from '../daemon/protocol';

/** Exit codes of the `ldir` binary. */
export const ExitCode = {
  OK: 0,
  /** Generic failure; also ldirectord's "config file not found" and "stale pid file" for status. */
  FAILURE: 1,
  /** Configuration error (every action, as ldirectord). */
  CONFIG_ERROR: 2,
  /** `status`: not running. */
  NOT_RUNNING: 3,
  /**
   * `status` (and `ping`): running, but its health verdict is failing (LSB's "program or service status is
   * unknown": the program runs, the service is not known to work). A degraded director is 0 (running).
   */
  FAILING: 4,
  /** Usage error (ldirectord's pod2usage exit). */
  USAGE: 255,
} as const;

/**
 * The exit code of a `status` the daemon answered: {@link ExitCode.FAILING} when its health verdict is failing,
 * else OK (ok, degraded, or a daemon before the verdict).
 */
export function statusExitCode(report: Pick<StatusReport, 'daemon'>): number {
  return report.daemon.health?.level === 'failing' ? ExitCode.FAILING : ExitCode.OK;
}
