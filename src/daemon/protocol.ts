// The control socket protocol (version 1): newline-delimited JSON requests and responses between `ldir` and the daemon.
import { join } from 'node:path';
import type { Diagnostic } from '../config/diagnostics';
import { ErrorCodes, type ErrorCode } from '../errors';
import type { SyncRole } from '../model';
import type { RealStatus, StatusReport, VirtualStatus } from './protocol-status';
import type { ResultMap, WireDiagnostic } from './protocol-results';
import {
  requestSchemas,
  requestTypeSchema,
  resultSchemas,
  responseEnvelopeSchema,
  idSchema,
  wireErrorSchema,
} from './protocol-schema';
import { SchemaError } from './validate';

/** Version of this protocol; every message carries it as `v`. */
export const PROTOCOL_VERSION = 1;
/** Longest request line the daemon reads (bytes, newline excluded); longer lines get a `CONTROL_TOO_LARGE` error. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Longest response line the client reads (bytes); a status report of thousands of reals fits easily. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** Directory of control sockets (one per configuration name). */
export const CONTROL_DIRECTORY = '/run/ldir';
/** Longest unix socket path the kernel accepts (`sun_path` is 108 bytes with its terminating NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Path of the control socket of the daemon running configuration `configName` (as the pid file, one per name). */
export function controlSocketPath(configName: string, directory: string = CONTROL_DIRECTORY): string {
  return join(directory, `${configName}.sock`);
}

// The payloads: the status report and the other answers, in their own files.
export type * from './protocol-status';
export type * from './protocol-results';

// ---------------------------------------------------------------------------------------------------- status stream

/**
 * Reals per line of a streamed status answer: a line stays near 150 KB, and the daemon builds it in a few
 * milliseconds, so a status of any size never holds the daemon's event loop for long (issue 21).
 */
export const STATUS_STREAM_REALS = 500;

/**
 * One part of a streamed status answer (`status` with `stream: true`), in this order: `head` (the report with no
 * virtual services), then for each virtual service `virtual` (with its first reals) and as many `reals` as it needs
 * (more reals of the virtual before it), then `end` with the counts sent, which the client checks. Each is one line
 * `{"v":1,"id":...,"ok":true,"type":"status","part":...}`; an error line (`ok` false) ends the answer early.
 * Virtual services are each read in one piece; between them, time passes (`generatedAt` is the head's time).
 */
export type StatusStreamPart =
  | { readonly part: 'head'; readonly result: StatusReport }
  | { readonly part: 'virtual'; readonly virtual: VirtualStatus }
  | { readonly part: 'reals'; readonly reals: readonly RealStatus[] }
  | { readonly part: 'end'; readonly virtuals: number; readonly reals: number }
  /** The daemon is still making the next line (a big table): progress for the client's timeout, nothing to show. */
  | { readonly part: 'wait' };

/** A line of a streamed status answer as it travels. */
export type StatusStreamLine = StatusStreamPart & {
  readonly v: number;
  readonly id: RequestId;
  readonly ok: true;
  readonly type: 'status';
};

/** Serializes one part of a streamed status answer as one line. */
export function encodeStatusPart(id: RequestId, part: StatusStreamPart): string {
  return `${JSON.stringify({ v: PROTOCOL_VERSION, id, ok: true, type: 'status', ...part })}\n`;
}

// ---------------------------------------------------------------------------------------------------- messages

/** Every request type. */
export const REQUEST_TYPES = [
  'status',
  'reload',
  'reload-preview',
  'drain',
  'undrain',
  'weight',
  'stop',
  'ping',
  'role',
  'restart',
] as const;
/** One of {@link REQUEST_TYPES}. */
export type RequestType = (typeof REQUEST_TYPES)[number];

/** Request id chosen by the client and echoed in the response: 1..64 printable characters or an integer >= 0. */
export type RequestId = string | number;

/** What a request asks, without the envelope. */
export type RequestBody =
  /** `stream`: the answer comes as a sequence of lines ({@link StatusStreamLine}), for tables of any size. */
  | { readonly type: 'status'; readonly stream?: boolean }
  | { readonly type: 'reload' | 'reload-preview' | 'stop' | 'ping' }
  | { readonly type: 'drain' | 'undrain'; readonly virtual: string; readonly real: string }
  /** A runtime weight (0..2147483647), or `reset` to the configured weight. */
  | { readonly type: 'weight'; readonly virtual: string; readonly real: string; readonly weight: number | 'reset' }
  | { readonly type: 'role'; readonly role: SyncRole }
  | ({ readonly type: 'restart' } & RestartOptions);

/**
 * How `restart` starts the successor: the program that runs `ldir` (absolute paths: the node binary and the entry
 * script of the installation that asks, so that a restart after an upgrade runs the new version), the kernel backend
 * and debug logging it should use, and how long it may take to be ready.
 */
export interface RestartOptions {
  readonly program?: readonly string[];
  readonly ipvs?: 'auto' | 'netlink' | 'ipvsadm' | 'memory';
  readonly debug?: boolean;
  readonly timeoutMs?: number;
}

/** A request line: `{"v":1,"id":"c1","type":"drain","virtual":"tcp:192.0.2.1:80","real":"10.0.0.1:80"}`. */
export type ControlRequest = RequestBody & { readonly v: number; readonly id: RequestId };

/** Error part of a failed response: a stable `LDIR_ERR_*` code, a message, and for `reload` the diagnostics. */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly diagnostics?: readonly WireDiagnostic[];
}

/** A successful response line: `{"v":1,"id":"c1","ok":true,"type":"status","result":{...}}`. */
export interface OkResponse<T extends RequestType = RequestType> {
  readonly v: number;
  readonly id: RequestId;
  readonly ok: true;
  readonly type: T;
  readonly result: ResultMap[T];
}

/** A failed response line; `id` is null when the request's id could not be read. */
export interface ErrorResponse {
  readonly v: number;
  readonly id: RequestId | null;
  readonly ok: false;
  readonly error: WireError;
}

/** A response line for a request of type `T`. */
export type ControlResponse<T extends RequestType = RequestType> = OkResponse<T> | ErrorResponse;

/** A diagnostic of the configuration loader in its wire form. */
export function toWireDiagnostic(d: Diagnostic): WireDiagnostic {
  return {
    file: d.pos.file,
    line: d.pos.line,
    ...(d.pos.column !== undefined ? { column: d.pos.column } : {}),
    severity: d.severity,
    code: d.code,
    message: d.message,
  };
}

/** Formats a wire diagnostic as `PATH:LINE: message` (`PATH:LINE:COL:`; `warning: ` before warnings), as `ldir check`. */
export function formatWireDiagnostic(d: WireDiagnostic): string {
  const where = d.column === undefined ? `${d.file}:${d.line}` : `${d.file}:${d.line}:${d.column}`;
  return `${where}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;
}

/** Builds a successful response. */
export function okResponse<T extends RequestType>(id: RequestId, type: T, result: ResultMap[T]): OkResponse<T> {
  return { v: PROTOCOL_VERSION, id, ok: true, type, result };
}

/** Builds a failed response. */
export function errorResponse(
  id: RequestId | null,
  code: ErrorCode | string,
  message: string,
  diagnostics?: readonly WireDiagnostic[],
): ErrorResponse {
  return {
    v: PROTOCOL_VERSION,
    id,
    ok: false,
    error: { code, message, ...(diagnostics !== undefined ? { diagnostics } : {}) },
  };
}

/** Serializes a request or response as one line (JSON escapes every newline inside strings). */
export function encodeMessage(message: ControlRequest | ControlResponse): string {
  return `${JSON.stringify(message)}\n`;
}

/** Outcome of {@link parseRequest}: the request, or the error response to send back. */
export type ParsedRequest =
  | { readonly ok: true; readonly request: ControlRequest }
  | { readonly ok: false; readonly response: ErrorResponse };

/**
 * Parses and strictly validates one request line (newline removed). Never throws: a line that is too long, not JSON,
 * of another protocol version, of an unknown type or with missing, extra or ill-typed members gives the error
 * response to send, echoing the request id when it could be read.
 */
export function parseRequest(line: string): ParsedRequest {
  const fail = (id: RequestId | null, code: ErrorCode, message: string): ParsedRequest => ({
    ok: false,
    response: errorResponse(id, code, message),
  });
  if (Buffer.byteLength(line, 'utf8') > MAX_REQUEST_BYTES)
    return fail(null, ErrorCodes.CONTROL_TOO_LARGE, `request longer than ${MAX_REQUEST_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return fail(null, ErrorCodes.CONTROL_BAD_REQUEST, `request is not JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return fail(null, ErrorCodes.CONTROL_BAD_REQUEST, 'request is not a JSON object');
  const record = value as Record<string, unknown>;
  let id: RequestId | null = null;
  try {
    id = idSchema(record['id'], '$.id');
  } catch (err) {
    return fail(null, ErrorCodes.CONTROL_BAD_REQUEST, `bad request: ${(err as Error).message}`);
  }
  const v = record['v'];
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    return fail(id, ErrorCodes.CONTROL_BAD_REQUEST, 'bad request: $.v: missing or not an integer');
  if (v !== PROTOCOL_VERSION) {
    return fail(
      id,
      ErrorCodes.CONTROL_VERSION,
      `protocol version ${v} is not supported (this daemon speaks ${PROTOCOL_VERSION})`,
    );
  }
  try {
    const type = requestTypeSchema(record['type'], '$.type');
    return { ok: true, request: requestSchemas[type](value, '$') };
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    return fail(id, ErrorCodes.CONTROL_BAD_REQUEST, `bad request: ${err.message}`);
  }
}

/**
 * Parses and validates one response line for a request of type `type`. Unknown members (from a newer daemon) are
 * dropped. Throws a {@link SchemaError} when the line is not a valid response.
 */
export function parseResponse<T extends RequestType>(line: string, type: T): ControlResponse<T> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new SchemaError('$', `response is not JSON: ${(err as Error).message}`);
  }
  const envelope = responseEnvelopeSchema(value, '$');
  const record = value as Record<string, unknown>;
  if (envelope.ok === false) {
    return { v: envelope.v, id: envelope.id, ok: false, error: wireErrorSchema(record['error'], '$.error') };
  }
  if (envelope.id === null) throw new SchemaError('$.id', 'a successful response needs the request id');
  if (record['type'] !== type)
    throw new SchemaError('$.type', `expected a "${type}" response, got ${JSON.stringify(record['type'])}`);
  const result = resultSchemas[type](record['result'], '$.result') as ResultMap[T];
  return { v: envelope.v, id: envelope.id, ok: true, type, result };
}
