// Control socket server: serves the control protocol on a unix socket (mode 0600) to `ldir status|reload|drain|weight|...`.
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import type { Diagnostic } from '../config/diagnostics';
import { systemClock, type Clock, type TimerHandle } from '../clock';
import { ErrorCodes, errorMessage, isLdirError, LdirError, type ErrorCode } from '../errors';
import type { Logger } from '../log';
import { ConnectionSlots } from '../system/connection-slots';
import { ensureSocketDirectory } from './socket-directory';
import { LINGER_MS, serveConnection, type ConnectionContext, type ConnectionHandle } from './control-connection';
import {
  encodeMessage, errorResponse, MAX_SOCKET_PATH_BYTES, okResponse, parseRequest, toWireDiagnostic,
  type ControlRequest, type ControlResponse, type DrainResult, type PingResult, type ReloadPreviewResult, type RestartOptions,
  type RestartResult, type RoleResult, type StatusReport, type StatusStreamPart, type WeightResult, type WireDiagnostic,
  encodeStatusPart,
} from './protocol';
import { reportParts } from './status-report';
import type { ConnectionAnswer } from './control-connection';
import type { SyncRole } from '../model';

/** What a reload did: applied (with its warnings), or refused with the diagnostics (the old config stays in force). */
export type ReloadOutcome =
  | { readonly applied: true; readonly file: string; readonly diagnostics: readonly Diagnostic[] }
  | {
    readonly applied: false; readonly file: string; readonly message: string; readonly diagnostics: readonly Diagnostic[];
    /** Default {@link ErrorCodes.CONFIG_INVALID}. */
    readonly code?: ErrorCode;
  };

/**
 * What the daemon does for each request. A handler may throw: an `LdirError` becomes an error response with its code
 * and message (and `details.diagnostics` when it holds config diagnostics), anything else `LDIR_ERR_INTERNAL`.
 */
export interface ControlHandlers {
  status(): StatusReport | Promise<StatusReport>;
  /**
   * The status as the parts of a streamed answer (`status` with `stream: true`), each built when it is asked for;
   * without it, the server cuts the report of {@link status} into parts.
   */
  statusParts?(): AsyncIterable<StatusStreamPart>;
  reload(): Promise<ReloadOutcome>;
  /**
   * What `reload` would do now, changing nothing (`ldir reload --dry-run`); a configuration with errors → throw
   * `LdirError(CONFIG_INVALID)` with `details.diagnostics`.
   */
  reloadPreview(): Promise<ReloadPreviewResult>;
  /** Drains a real by hand; unknown target → throw `LdirError(UNKNOWN_TARGET)` (see `resolveDrainTarget`). */
  drain(virtual: string, real: string): DrainResult | Promise<DrainResult>;
  undrain(virtual: string, real: string): DrainResult | Promise<DrainResult>;
  /**
   * Sets a real's runtime weight (`ldir weight`), or `reset` to the configured one; unknown target → throw
   * `LdirError(UNKNOWN_TARGET)`.
   */
  weight(virtual: string, real: string, weight: number | 'reset'): WeightResult | Promise<WeightResult>;
  /** Shuts down (cleanup included); resolves when done. Must not await `ControlServer.close()` (use `afterStop`). */
  stop(): Promise<void>;
  ping(): PingResult | Promise<PingResult>;
  /** Sets the director's sync role (`ldir promote|demote`); resolves once the kernel's sync daemons were handled. */
  role(role: SyncRole): Promise<RoleResult>;
  /**
   * Hands the director to a successor daemon; resolves once the successor runs. Like `stop`, `afterStop` is called
   * once the answer is written (the daemon then exits, without cleanup).
   */
  restart(options: RestartOptions): Promise<RestartResult>;
}

/** Options of {@link startControlServer}. */
export interface ControlServerOptions {
  /**
   * Socket path, normally `controlSocketPath(configName)`; its directory is created (mode 0700) when missing, and an
   * existing one that another user could write is refused (`ensureSocketDirectory`: `LDIR_ERR_CONTROL_UNSAFE`).
   */
  readonly path: string;
  readonly handlers: ControlHandlers;
  readonly logger: Logger;
  /**
   * Connections held at once. A new one beyond closes the longest-connected idle connection (no request in progress:
   * silent, or half a line) with `LDIR_ERR_CONTROL_BUSY`; when every connection is answering a request, the new one
   * is answered `LDIR_ERR_CONTROL_BUSY` and closed. Default 64.
   */
  readonly maxClients?: number;
  /** A connection that sends no complete request for this long is answered `LDIR_ERR_CONTROL_TIMEOUT` and closed. */
  readonly idleTimeoutMs?: number;
  /** How long `close()` lets requests in progress finish before it cuts their connections. Default 2000. */
  readonly closeGraceMs?: number;
  /** Called once the response to a `stop` (or successful `restart`) has been written (the daemon main exits there). */
  readonly afterStop?: () => void;
  /**
   * Take the path over from a daemon that listens there (a restart's successor): bind a fresh socket beside it and
   * rename it over the path, so that clients never find the path missing; the old daemon's connections stay its own.
   */
  readonly replace?: boolean;
  /** Applied to every answer line before it is written (the daemon hides its configuration's secrets there). */
  readonly redact?: (line: string) => string;
  /**
   * Runs the idle timeout, the close grace period and the eviction order of idle connections; default the system
   * clock. (The one-second linger before a closed connection is destroyed stays on Node's timers: it only frees a
   * socket whose peer did not close it, and never holds the process open.)
   */
  readonly clock?: Clock;
  /**
   * Told of each well-formed request when it has been read, before it runs (or waits its turn behind a mutating
   * request): for tracing, and for tests that order events by what the server has read rather than by time.
   */
  readonly onRequest?: (request: ControlRequest) => void;
}

/** A running control server. */
export interface ControlServer {
  readonly path: string;
  /** Connections open now (busy rejections not counted). */
  clientCount(): number;
  /** Stops accepting, lets requests in progress finish (bounded), closes every connection and removes the socket file. */
  close(): Promise<void>;
  /**
   * Makes the path ours again when another process took it (a successor that failed after it had renamed its own
   * socket over ours): a fresh socket is renamed over the path. No-op while the path is ours.
   */
  republish(): Promise<void>;
}

/** Defaults of {@link ControlServerOptions}. */
export const CONTROL_SERVER_DEFAULTS = { maxClients: 64, idleTimeoutMs: 10_000, closeGraceMs: 2_000 } as const;

/** Connections waiting to be accepted (the kernel refuses more with EAGAIN): room for bursts of CLI clients. */
const LISTEN_BACKLOG = 511;


function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function controlFailed(message: string, cause: unknown, path: string): LdirError {
  return new LdirError(ErrorCodes.CONTROL_FAILED, message, { cause, details: { path, ...(errnoOf(cause) ? { errno: errnoOf(cause) } : {}) } });
}

/** What is at the socket path: nothing, a socket nobody listens on, or a live daemon. Never removes anything. */
async function probeSocketPath(path: string): Promise<'absent' | 'stale' | 'live'> {
  try {
    if (!lstatSync(path).isSocket()) {
      throw new LdirError(ErrorCodes.CONTROL_FAILED, `${path} exists and is not a socket; not removing it`, { details: { path } });
    }
  } catch (err) {
    if (isLdirError(err)) throw err;
    if (errnoOf(err) === 'ENOENT') return 'absent';
    throw controlFailed(`cannot inspect control socket ${path}: ${(err as Error).message}`, err, path);
  }
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    const done = (state: 'absent' | 'stale' | 'live'): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(state);
    };
    // A daemon that accepts but is too slow to complete connect() is alive: never remove its socket.
    const timer = setTimeout(() => done('live'), 1_000);
    socket.once('connect', () => done('live'));
    socket.once('error', (err) => {
      const code = errnoOf(err);
      if (code === 'ECONNREFUSED') done('stale');
      else if (code === 'ENOENT') done('absent');
      else if (code === 'EAGAIN') done('live');
      else {
        clearTimeout(timer);
        reject(controlFailed(`cannot probe control socket ${path}: ${err.message}`, err, path));
      }
    });
  });
}

/** Binds with umask 0177 so the socket is 0600 from its first instant (chmod follows for workers without umask). */
function listen(server: net.Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    let previous: number | undefined;
    try {
      previous = process.umask(0o177);
    } catch {
      previous = undefined; // worker threads cannot change the umask; the chmod below still applies
    }
    try {
      // Node binds the pipe synchronously inside listen(), so the umask is restored before anything else runs.
      server.listen({ path, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      if (previous !== undefined) process.umask(previous);
    }
  });
}

/** Turns whatever a handler threw into an error response. */
function responseForError(id: ControlRequest['id'], err: unknown): ControlResponse {
  if (isLdirError(err)) {
    const raw = err.details['diagnostics'];
    const wire = err.details['wireDiagnostics']; // already in wire form (a restart's successor reported them)
    const diagnostics = Array.isArray(raw) && raw.every((d) => d && typeof d === 'object' && 'pos' in d)
      ? (raw as Diagnostic[]).map(toWireDiagnostic) : Array.isArray(wire) ? (wire as WireDiagnostic[]) : undefined;
    return errorResponse(id, err.code, err.message, diagnostics);
  }
  return errorResponse(id, ErrorCodes.INTERNAL, `internal error: ${errorMessage(err)}`);
}

/**
 * Starts the control server on `options.path`. A socket file left by a dead daemon (connect gives ECONNREFUSED) is
 * removed; when a live daemon answers there, throws `LDIR_ERR_CONTROL_IN_USE`; a path that exists and is not a socket
 * is never removed (`LDIR_ERR_CONTROL_FAILED`). Mutating requests (reload, drain, undrain, weight, role, stop) and reload
 * previews run one at a time in arrival order; status and ping run at once.
 */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const { path, handlers } = options;
  const maxClients = options.maxClients ?? CONTROL_SERVER_DEFAULTS.maxClients;
  const idleTimeoutMs = options.idleTimeoutMs ?? CONTROL_SERVER_DEFAULTS.idleTimeoutMs;
  const closeGraceMs = options.closeGraceMs ?? CONTROL_SERVER_DEFAULTS.closeGraceMs;
  const clock = options.clock ?? systemClock();
  const log = options.logger.child({ module: 'control' });

  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new LdirError(ErrorCodes.CONTROL_FAILED, `control socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes: ${path}`, { details: { path } });
  }
  ensureSocketDirectory(dirname(path));
  const existing = options.replace ? 'absent' : await probeSocketPath(path);
  if (existing === 'live') {
    throw new LdirError(ErrorCodes.CONTROL_IN_USE, `a running daemon already answers on ${path}`, { details: { path } });
  }
  if (existing === 'stale') {
    try {
      unlinkSync(path);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw controlFailed(`cannot remove stale control socket ${path}: ${(err as Error).message}`, err, path);
    }
    log.warn({ path }, 'removed stale control socket of a daemon that is gone');
  }

  const connections = new Map<net.Socket, ConnectionHandle>();
  const rejected = new Set<net.Socket>();
  let shuttingDown = false;
  let closing: Promise<void> | undefined;
  let onEmpty: (() => void) | undefined;
  let exclusive: Promise<unknown> = Promise.resolve();

  /** Runs `fn` once every mutating request that arrived before it has settled. */
  function serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = exclusive.then(fn, fn);
    exclusive = run.catch(() => undefined);
    return run;
  }

  async function dispatch(request: ControlRequest): Promise<ControlResponse> {
    const { id } = request;
    switch (request.type) {
      case 'status': return okResponse(id, 'status', await handlers.status());
      case 'ping': return okResponse(id, 'ping', await handlers.ping());
      case 'reload': return serialized(async () => {
        const outcome = await handlers.reload();
        if (outcome.applied) return okResponse(id, 'reload', { file: outcome.file, diagnostics: outcome.diagnostics.map(toWireDiagnostic) });
        return errorResponse(id, outcome.code ?? ErrorCodes.CONFIG_INVALID, outcome.message, outcome.diagnostics.map(toWireDiagnostic));
      });
      // After the requests that change the director before it, so that it never sees a reload half done.
      case 'reload-preview': return serialized(async () => okResponse(id, 'reload-preview', await handlers.reloadPreview()));
      case 'drain': return serialized(async () => okResponse(id, 'drain', await handlers.drain(request.virtual, request.real)));
      case 'undrain': return serialized(async () => okResponse(id, 'undrain', await handlers.undrain(request.virtual, request.real)));
      case 'weight': return serialized(async () => okResponse(id, 'weight', await handlers.weight(request.virtual, request.real, request.weight)));
      case 'role': return serialized(async () => okResponse(id, 'role', await handlers.role(request.role)));
      case 'stop': return serialized(async () => {
        await handlers.stop();
        return okResponse(id, 'stop', { stopped: true });
      });
      case 'restart': return serialized(async () => {
        const { v: _v, id: _id, type: _type, ...restart } = request;
        return okResponse(id, 'restart', await handlers.restart(restart));
      });
    }
  }

  /**
   * The lines of a streamed status answer, redacted one by one; a failure becomes an error line that ends it. Never
   * throws.
   */
  async function* statusLines(id: ControlRequest['id']): AsyncGenerator<string> {
    const started = performance.now();
    const redact = (text: string): string => (options.redact ? options.redact(text) : text);
    let lines = 0;
    try {
      const parts = handlers.statusParts ? handlers.statusParts() : reportParts(await handlers.status());
      for await (const part of parts) {
        lines++;
        yield redact(encodeStatusPart(id, part));
      }
    } catch (err) {
      if (isLdirError(err)) log.info({ code: err.code, msg: err.message, type: 'status', id }, 'control request refused');
      else log.error({ err, type: 'status', id }, 'streamed status failed');
      yield redact(encodeMessage(responseForError(id, err)));
    }
    log.debug({ type: 'status', id, stream: true, lines, ms: Math.round(performance.now() - started) }, 'control request');
  }

  /** The answer to one request line; never rejects. */
  async function answer(line: string): Promise<ConnectionAnswer> {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      log.debug({ code: parsed.response.error.code }, 'refused control request');
      return { text: encodeMessage(parsed.response), stop: false };
    }
    const { request } = parsed;
    options.onRequest?.(request);
    if (request.type === 'status' && request.stream === true) return { lines: statusLines(request.id), stop: false };
    const started = performance.now();
    let response: ControlResponse;
    try {
      response = await dispatch(request);
    } catch (err) {
      if (isLdirError(err)) log.info({ code: err.code, msg: err.message, type: request.type, id: request.id }, 'control request refused');
      else log.error({ err, type: request.type, id: request.id }, 'control request failed');
      response = responseForError(request.id, err);
    }
    let text: string;
    try {
      text = encodeMessage(response);
      if (options.redact) text = options.redact(text);
    } catch (err) {
      log.error({ err, type: request.type }, 'control response cannot be serialized');
      text = encodeMessage(responseForError(request.id, err));
    }
    log.debug({ type: request.type, id: request.id, ok: response.ok, ms: Math.round(performance.now() - started) }, 'control request');
    return { text, stop: (request.type === 'stop' || request.type === 'restart') && response.ok };
  }

  const context = (socket: net.Socket): ConnectionContext => ({
    answer, idleTimeoutMs, clock, log, isShuttingDown: () => shuttingDown, ...(options.afterStop ? { afterStop: options.afterStop } : {}),
    onBusy: (busy) => slots.setBusy(socket, busy),
  });
  // One "address" for a unix socket: the bound is on connections, the longest-connected idle one goes for a newcomer.
  const slots = new ConnectionSlots<net.Socket>({ maxConnections: maxClients, maxPerAddress: maxClients, graceMs: 0 }, clock, (socket) => {
    log.debug({ limit: maxClients }, 'idle control connection closed to make room');
    connections.get(socket)?.evict(errorResponse(null, ErrorCodes.CONTROL_BUSY, `closed to make room for another control client (limit ${maxClients}): no request in progress`));
  });
  const accept = (socket: net.Socket): void => {
    if (shuttingDown || !slots.admit(socket, 'local')) {
      rejected.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => rejected.delete(socket));
      socket.resume();
      const why = shuttingDown ? 'the daemon is shutting down' : `too many control clients, all with a request in progress (limit ${maxClients})`;
      socket.end(encodeMessage(errorResponse(null, ErrorCodes.CONTROL_BUSY, why)));
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
      return;
    }
    connections.set(socket, serveConnection(socket, context(socket)));
    socket.on('close', () => {
      slots.release(socket);
      connections.delete(socket);
      if (connections.size === 0) onEmpty?.();
    });
  };
  /**
   * Binds a socket beside `path` and renames it over `path`, with mode 0600; its inode identifies it. Never bound at
   * `path` itself: libuv unlinks a pipe's bound name when it closes, which would remove a successor's socket that
   * replaced ours (ours is removed by {@link close}, by inode). A path too long for a name beside it is bound directly.
   */
  async function bind(): Promise<{ server: net.Server; bound: Stats }> {
    const server = net.createServer({ allowHalfOpen: true }, accept);
    const beside = join(dirname(path), `.l${process.pid}-${randomBytes(3).toString('hex')}`);
    const byRename = Buffer.byteLength(beside) <= MAX_SOCKET_PATH_BYTES;
    const at = byRename ? beside : path;
    if (byRename) {
      try { unlinkSync(at); } catch { /* none left over */ }
    }
    try {
      await listen(server, at);
    } catch (err) {
      if (errnoOf(err) === 'EADDRINUSE') {
        throw new LdirError(ErrorCodes.CONTROL_IN_USE, `another process bound ${path} first`, { cause: err, details: { path } });
      }
      throw controlFailed(`cannot listen on control socket ${path}: ${(err as Error).message}`, err, path);
    }
    try {
      chmodSync(at, 0o600);
      if (byRename) renameSync(at, path);
      const bound = statSync(path);
      server.on('error', (err) => log.error({ err, path }, 'control socket error'));
      return { server, bound };
    } catch (err) {
      server.close();
      try { if (byRename) unlinkSync(at); } catch { /* gone */ }
      throw controlFailed(`cannot publish control socket ${path}: ${(err as Error).message}`, err, path);
    }
  }
  let { server, bound } = await bind();
  log.info({ path, replaced: options.replace === true }, 'control socket listening');

  async function republish(): Promise<void> {
    if (shuttingDown) return;
    try {
      const now = lstatSync(path);
      if (now.ino === bound.ino && now.dev === bound.dev) return;
    } catch {
      // missing: publish again
    }
    const fresh = await bind();
    server.close();
    ({ server, bound } = fresh);
    log.info({ path }, 'control socket published again');
  }

  async function close(): Promise<void> {
    shuttingDown = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of connections.values()) c.end();
    if (connections.size > 0) {
      let timer: TimerHandle | undefined;
      await new Promise<void>((resolve) => {
        onEmpty = resolve;
        timer = clock.setTimeout(resolve, closeGraceMs);
      });
      if (timer !== undefined) clock.clearTimeout(timer);
    }
    for (const s of [...connections.keys(), ...rejected]) s.destroy();
    await closed;
    try {
      const now = lstatSync(path);
      if (now.ino === bound.ino && now.dev === bound.dev) unlinkSync(path); // never remove a successor's socket
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') log.warn({ err, path }, 'cannot remove control socket');
    }
    log.info({ path }, 'control socket closed');
  }

  return {
    path,
    clientCount: () => connections.size,
    close: () => (closing ??= close()),
    republish,
  };
}
