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
  /** The kernel refused an IPVS request (details.errno carries the errno name). */
  IPVS_REQUEST_FAILED: 'LDIR_ERR_IPVS_REQUEST_FAILED',
  /** A netlink or ipvsadm answer could not be decoded. */
  IPVS_PROTOCOL: 'LDIR_ERR_IPVS_PROTOCOL',
  /** The native addon is not built or cannot be loaded. */
  NATIVE_UNAVAILABLE: 'LDIR_ERR_NATIVE_UNAVAILABLE',
  /** An ICMP socket cannot be opened (details.errno: EACCES = ping_group_range, EPERM = no CAP_NET_RAW, ...). */
  ICMP_UNAVAILABLE: 'LDIR_ERR_ICMP_UNAVAILABLE',
  /** Command-line usage error. */
  USAGE: 'LDIR_ERR_USAGE',
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
