// Client side of the control socket: one request, one response, with a timeout and clear errors.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import {
  encodeMessage,
  MAX_RESPONSE_BYTES,
  parseResponse,
  PROTOCOL_VERSION,
  type ControlRequest,
  type ControlResponse,
  type RequestBody,
  type RequestType,
} from '../daemon/protocol';
import { ErrorCodes, LdirError } from '../errors';

/** Default time to wait for an answer, by request type (ms): reload and stop include a config load or the cleanup. */
export const DEFAULT_REQUEST_TIMEOUTS: { readonly [T in RequestType]: number } = {
  ping: 2_000,
  status: 10_000,
  drain: 10_000,
  undrain: 10_000,
  weight: 10_000,
  reload: 60_000,
  'reload-preview': 60_000,
  stop: 120_000,
  role: 30_000,
  restart: 70_000,
};

/** Options of {@link sendControlRequest}. */
export interface ControlClientOptions {
  /** Milliseconds to wait for the whole answer (connect included); default from {@link DEFAULT_REQUEST_TIMEOUTS}. */
  readonly timeoutMs?: number;
  /** Request id; default a random UUID. */
  readonly id?: string;
}

/** A request body of type `T`. */
export type RequestOf<T extends RequestType> = RequestBody & { readonly type: T };

function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The error for a control socket that failed before an answer arrived (`ENOENT`/`ECONNREFUSED`: not running). */
export function transportError(path: string, err: Error): LdirError {
  const errno = errnoOf(err);
  const details = { path, ...(errno !== undefined ? { errno } : {}) };
  if (errno === 'ENOENT' || errno === 'ECONNREFUSED') {
    return new LdirError(
      ErrorCodes.DAEMON_NOT_RUNNING,
      `the ldir daemon is not running (no answer on ${path}: ${errno})`,
      { cause: err, details },
    );
  }
  if (errno === 'EACCES' || errno === 'EPERM') {
    return new LdirError(
      ErrorCodes.CONTROL_FAILED,
      `permission denied on control socket ${path} (it is for root only)`,
      { cause: err, details },
    );
  }
  return new LdirError(ErrorCodes.CONTROL_FAILED, `control socket ${path}: ${err.message}`, { cause: err, details });
}

/**
 * Connects to the daemon's control socket at `path`, sends one request and resolves with the daemon's response
 * (an error response is a normal result: look at `ok`). Rejects with an `LdirError`: `LDIR_ERR_DAEMON_NOT_RUNNING`
 * when nothing listens (ENOENT, ECONNREFUSED), `LDIR_ERR_CONTROL_TIMEOUT` when no complete answer arrives in time,
 * `LDIR_ERR_CONTROL_FAILED` for anything else (permissions, connection closed early, invalid answer).
 */
export function sendControlRequest<T extends RequestType>(
  path: string,
  body: RequestOf<T>,
  options: ControlClientOptions = {},
): Promise<ControlResponse<T>> {
  const type: T = body.type;
  const id = options.id ?? randomUUID();
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUTS[type];
  const request = { ...body, v: PROTOCOL_VERSION, id } as ControlRequest;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const socket = net.createConnection({ path, allowHalfOpen: true });
    const finish = (error: LdirError | undefined, response?: ControlResponse<T>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(response as ControlResponse<T>);
    };
    const timer = setTimeout(
      () =>
        finish(
          new LdirError(
            ErrorCodes.CONTROL_TIMEOUT,
            `no answer to "${type}" from the ldir daemon within ${timeoutMs} ms (${path})`,
            { details: { path, timeoutMs } },
          ),
        ),
      timeoutMs,
    );
    const complete = (line: string): void => {
      let response: ControlResponse<T>;
      try {
        response = parseResponse(line, type);
      } catch (err) {
        finish(
          new LdirError(ErrorCodes.CONTROL_FAILED, `invalid answer from the ldir daemon: ${(err as Error).message}`, {
            cause: err,
            details: { path },
          }),
        );
        return;
      }
      if (response.id !== id && !(response.ok === false && response.id === null)) {
        finish(
          new LdirError(
            ErrorCodes.CONTROL_FAILED,
            `answer for request ${JSON.stringify(response.id)}, expected ${JSON.stringify(id)}`,
            { details: { path } },
          ),
        );
        return;
      }
      finish(undefined, response);
    };
    socket.once('connect', () => socket.write(encodeMessage(request)));
    socket.on('data', (chunk: Buffer) => {
      const nl = chunk.indexOf(0x0a);
      size += nl < 0 ? chunk.length : nl;
      if (size > MAX_RESPONSE_BYTES) {
        finish(
          new LdirError(ErrorCodes.CONTROL_FAILED, `answer longer than ${MAX_RESPONSE_BYTES} bytes`, {
            details: { path },
          }),
        );
        return;
      }
      chunks.push(nl < 0 ? chunk : chunk.subarray(0, nl));
      if (nl >= 0) complete(Buffer.concat(chunks).toString('utf8'));
    });
    socket.on('end', () =>
      finish(
        new LdirError(ErrorCodes.CONTROL_FAILED, `the ldir daemon closed the connection without answering "${type}"`, {
          details: { path },
        }),
      ),
    );
    socket.on('error', (err) => {
      // A daemon may close right after its error line; a reset after a complete answer is already settled.
      finish(transportError(path, err));
    });
  });
}

/** Sends `ping`: cheap liveness (pid, config file, uptime, last kernel sync), for monitors. */
export async function pingDaemon(path: string, options: ControlClientOptions = {}): Promise<ControlResponse<'ping'>> {
  return sendControlRequest(path, { type: 'ping' }, options);
}
