// Process exit codes, chosen to match ldirectord's where it has one.

/** Exit codes of the `ldir` binary. */
export const ExitCode = {
  OK: 0,
  /** Generic failure; also ldirectord's "config file not found" and "stale pid file" for status. */
  FAILURE: 1,
  /** Configuration error (every action, as ldirectord). */
  CONFIG_ERROR: 2,
  /** `status`: not running. */
  NOT_RUNNING: 3,
  /** Usage error (ldirectord's pod2usage exit). */
  USAGE: 255,
} as const;
