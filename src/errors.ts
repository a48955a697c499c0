// Error type shared by every ldir module, with the catalogue of stable error codes.

/** Stable error codes. Callers match on these, never on message text. */
export const ErrorCodes = {
  /** A configuration file has one or more errors (details carry the diagnostics). */
  CONFIG_INVALID: 'LDIR_ERR_CONFIG_INVALID',
  /** The configuration file could not be found or read. */
  CONFIG_NOT_FOUND: 'LDIR_ERR_CONFIG_NOT_FOUND',
  /** The configuration file could not be read (permissions, I/O). */
  CONFIG_UNREADABLE: 'LDIR_ERR_CONFIG_UNREADABLE',
  /** The configuration cannot be written in the requested form. */
  CONFIG_UNCONVERTIBLE: 'LDIR_ERR_CONFIG_UNCONVERTIBLE',
  /** No usable IPVS access (no module, no CAP_NET_ADMIN, no ipvsadm, ...); the message names the cause. */
  IPVS_UNAVAILABLE: 'LDIR_ERR_IPVS_UNAVAILABLE',
  /** A reload whose kernel operations the kernel refused: the previous configuration was put back. */
  RELOAD_REFUSED_BY_KERNEL: 'LDIR_ERR_RELOAD_REFUSED_BY_KERNEL',
  /** The kernel refused an IPVS request (details.errno carries the errno name). */
  IPVS_REQUEST_FAILED: 'LDIR_ERR_IPVS_REQUEST_FAILED',
  /** A netlink or ipvsadm answer could not be decoded. */
  IPVS_PROTOCOL: 'LDIR_ERR_IPVS_PROTOCOL',
  /** The native addon is not built or cannot be loaded. */
  NATIVE_UNAVAILABLE: 'LDIR_ERR_NATIVE_UNAVAILABLE',
  /** An ICMP socket cannot be opened (details.errno: EACCES = ping_group_range, EPERM = no CAP_NET_RAW, ...). */
  ICMP_UNAVAILABLE: 'LDIR_ERR_ICMP_UNAVAILABLE',
  /** A sysctl under /proc/sys could not be read or written (details.key, details.errno when known). */
  SYSCTL_FAILED: 'LDIR_ERR_SYSCTL_FAILED',
  /** No daemon answers on the control socket (ENOENT or ECONNREFUSED): it is not running. */
  DAEMON_NOT_RUNNING: 'LDIR_ERR_DAEMON_NOT_RUNNING',
  /** A live daemon already answers on the control socket; a second one refuses to start. */
  CONTROL_IN_USE: 'LDIR_ERR_CONTROL_IN_USE',
  /** A control request is not valid JSON, has an unknown type or bad fields. */
  CONTROL_BAD_REQUEST: 'LDIR_ERR_CONTROL_BAD_REQUEST',
  /** A control request line exceeds the protocol's size limit. */
  CONTROL_TOO_LARGE: 'LDIR_ERR_CONTROL_TOO_LARGE',
  /** A control request speaks a protocol version the daemon does not. */
  CONTROL_VERSION: 'LDIR_ERR_CONTROL_VERSION',
  /** The control server has its maximum number of clients. */
  CONTROL_BUSY: 'LDIR_ERR_CONTROL_BUSY',
  /** A control request got no answer (or no complete request arrived) in time. */
  CONTROL_TIMEOUT: 'LDIR_ERR_CONTROL_TIMEOUT',
  /**
   * The control socket's directory, or one of its parents, can be written (or is owned) by a user other than root or
   * the daemon's: the daemon refuses to publish its socket there (details.path, details.mode, details.owner).
   */
  CONTROL_UNSAFE: 'LDIR_ERR_CONTROL_UNSAFE',
  /** The control socket failed otherwise (permissions, not a socket, invalid answer); details.errno when known. */
  CONTROL_FAILED: 'LDIR_ERR_CONTROL_FAILED',
  /** `drain`/`undrain` named a virtual or real server the running configuration does not have (or is ambiguous). */
  UNKNOWN_TARGET: 'LDIR_ERR_UNKNOWN_TARGET',
  /** Command-line usage error. */
  USAGE: 'LDIR_ERR_USAGE',
  /** Another ldir daemon already runs for this configuration (pid file held by a live process). */
  ALREADY_RUNNING: 'LDIR_ERR_ALREADY_RUNNING',
  /** A restart (hand-over to a successor daemon) is already under way; the new request is refused. */
  RESTART_IN_PROGRESS: 'LDIR_ERR_RESTART_IN_PROGRESS',
  /** This daemon cannot hand over to a successor (it runs in the foreground under a supervisor, or as PID 1). */
  RESTART_UNSUPPORTED: 'LDIR_ERR_RESTART_UNSUPPORTED',
  /** The daemon is stopping: the request cannot be served any more. */
  DAEMON_STOPPING: 'LDIR_ERR_DAEMON_STOPPING',
  /** The daemon did not start: it exited or reported an error before it was ready. */
  DAEMON_START_FAILED: 'LDIR_ERR_DAEMON_START_FAILED',
  /** The metrics endpoint could not listen on its address (details.errno, details.host, details.port). */
  METRICS_LISTEN_FAILED: 'LDIR_ERR_METRICS_LISTEN_FAILED',
  /** Reading the kernel table for a metrics scrape took longer than its bound (reported as ldir_kernel_scrape_error). */
  METRICS_KERNEL_TIMEOUT: 'LDIR_ERR_METRICS_KERNEL_TIMEOUT',
  /** A metrics scrape could not be rendered in time or failed (the endpoint answers 503). */
  METRICS_SCRAPE_FAILED: 'LDIR_ERR_METRICS_SCRAPE_FAILED',

  /** An alert mail could not be sent (details.transport, details.responseCode for SMTP replies; never credentials). */
  ALERT_SEND_FAILED: 'LDIR_ERR_ALERT_SEND_FAILED',
  /** An alert command could not be started, failed, or was killed at its timeout (details.exitCode, details.signal). */
  ALERT_COMMAND_FAILED: 'LDIR_ERR_ALERT_COMMAND_FAILED',

  /** The routing daemon did not take an announcement (route health injection): its socket, file or answer. */
  ANNOUNCE: 'LDIR_ERR_ANNOUNCE',

  /** An internal invariant was violated: a bug in ldir. */
  INTERNAL: 'LDIR_ERR_INTERNAL',
} as const;

/** One of the stable `LDIR_ERR_*` codes. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Options for {@link LdirError}. */
export interface LdirErrorOptions {
  /** The lower-level error that caused this one. */
  readonly cause?: unknown;
  /** Structured data for programs (diagnostics, errno, paths). Never contains secrets. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The one error class ldir throws: a stable `code`, a message for people, an optional cause and details. */
export class LdirError extends Error {
  /** Stable code, see {@link ErrorCodes}. */
  readonly code: ErrorCode;
  /** Structured data for programs. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: LdirErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LdirError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** True when `err` is an {@link LdirError}, optionally with the given code. */
export function isLdirError(err: unknown, code?: ErrorCode): err is LdirError {
  return err instanceof LdirError && (code === undefined || err.code === code);
}

/** The message of a thrown value: `err.message` for an Error, else the value as a string. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
