// Shared plumbing for checkers: timing, timeout through an AbortSignal, and errors turned into short reasons.
import { errorMessage } from '../errors';
import type { CheckResult } from './types';

/** What a checker body reports; {@link guardCheck} adds the duration. */
export interface CheckVerdict {
  readonly up: boolean;
  readonly reason: string;
  /** The weight the real server reported (see {@link CheckResult.weight}). */
  readonly weight?: number;
}

/** Up, with a reason (e.g. `status 200`) and the weight the real reported, if any. */
export const pass = (reason = 'ok', weight?: number): CheckVerdict =>
  weight === undefined ? { up: true, reason } : { up: true, reason: `${reason}, weight ${weight}`, weight };
/** Down, with a reason (e.g. `body did not match /ok/`). */
export const fail = (reason: string): CheckVerdict => ({ up: false, reason });

const ERRNO_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timeout',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  EPIPE: 'connection closed',
  ENOTFOUND: 'name not found',
  EAI_AGAIN: 'name not found',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EPROTONOSUPPORT: 'protocol not supported by this kernel (for SCTP: load the sctp module)',
  ABORT_ERR: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  UND_ERR_SOCKET: 'connection closed',
};

/** A short reason for an errno name (`ECONNREFUSED` → `refused`); unknown names are returned as they are. */
export function reasonOfErrno(code: string): string {
  return ERRNO_REASONS[code] ?? code;
}

/** A short reason for an error: errno names become words (`refused`, `timeout`...), else the message. */
export function reasonOf(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && ERRNO_REASONS[code]) return ERRNO_REASONS[code] as string;
    if ((e as { name?: unknown }).name === 'AbortError' || (e as { name?: unknown }).name === 'TimeoutError')
      return 'timeout';
    const cause = (e as { cause?: unknown }).cause;
    if (!cause) break;
    e = cause;
  }
  const message = errorMessage(err);
  return message.split('\n')[0]?.slice(0, 200) || 'error';
}

/** Abort reasons made once: `abort()` without a reason builds a DOMException (with a stack) every time. */
const TIMED_OUT = Object.freeze({ name: 'TimeoutError', message: 'check timed out' });
const FINISHED = Object.freeze({ name: 'AbortError', message: 'check finished' });

/**
 * Runs a checker body under a timeout: the body gets a signal that aborts at `timeoutMs` or when `outer` aborts;
 * whatever happens (throw, reject, abort, hang past the deadline) the result is a CheckResult, never an exception.
 * An abort ends the check at once (down, `timeout`), also when the body does not notice it (a client library still
 * waiting for its TCP connect): the body is left to end on its own signal.
 */
export async function guardCheck(
  outer: AbortSignal,
  timeoutMs: number,
  body: (signal: AbortSignal) => Promise<CheckVerdict>,
): Promise<CheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // Settles at the deadline or at an outer abort, whichever comes first, whether or not the body notices.
  const ended = new Promise<CheckVerdict>((resolve) => {
    controller.signal.addEventListener('abort', () => resolve(fail('timeout')), { once: true });
    timer = setTimeout(() => controller.abort(TIMED_OUT), Math.max(1, timeoutMs));
  });
  const abort = (): void => controller.abort(TIMED_OUT);
  if (outer.aborted) abort();
  else outer.addEventListener('abort', abort, { once: true });
  try {
    const verdict = await Promise.race([
      body(controller.signal).catch((err: unknown) => fail(controller.signal.aborted ? 'timeout' : reasonOf(err))),
      ended,
    ]);
    return { ...verdict, durationMs: Math.round((performance.now() - started) * 10) / 10 };
  } finally {
    if (timer) clearTimeout(timer);
    outer.removeEventListener('abort', abort);
    controller.abort(FINISHED);
  }
}

/**
 * Compiles ldirectord's `receive` (a Perl regular expression) for JavaScript. Perl's common syntax is the same;
 * `undefined` when the pattern is empty (no content check).
 */
export function receivePattern(receive: string): RegExp | undefined {
  if (receive === '') return undefined;
  try {
    return new RegExp(receive);
  } catch {
    return new RegExp(receive.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  }
}
