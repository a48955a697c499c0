// Control socket server: serves the control protocol on a unix socket (mode 0600) to `ldir status|reload|drain|weight|...`.
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../clock';
import { ErrorCodes, isLdirError, LdirError } from '../errors';
import type { Logger } from '../log';
import { ConnectionSlots } from '../system/connection-slots';
import { ensureSocketDirectory } from './socket-directory';
import { LINGER_MS, serveConnection, type ConnectionContext, type ConnectionHandle } from './control-connection';
import {
  encodeMessage,
  errorResponse,
  MAX_SOCKET_PATH_BYTES,
  parseRequest,
  type ControlRequest,
  type ControlResponse,
  encodeStatusPart,
} from './protocol';
import { reportParts } from './status-report';
import { createDispatcher, responseForError, type ControlHandlers } from './control-dispatch';
import { controlFailed, errnoOf, listen, probeSocketPath } from './control-socket-file';
import type { ConnectionAnswer } from './control-connection';

export type { ControlHandlers, ReloadOutcome } from './control-dispatch';

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
    throw new LdirError(
      ErrorCodes.CONTROL_FAILED,
      `control socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes: ${path}`,
      { details: { path } },
    );
  }
  ensureSocketDirectory(dirname(path));
  const existing = options.replace ? 'absent' : await probeSocketPath(path);
  if (existing === 'live') {
    throw new LdirError(ErrorCodes.CONTROL_IN_USE, `a running daemon already answers on ${path}`, {
      details: { path },
    });
  }
  if (existing === 'stale') {
    try {
      unlinkSync(path);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT')
        throw controlFailed(`cannot remove stale control socket ${path}: ${(err as Error).message}`, err, path);
    }
    log.warn({ path }, 'removed stale control socket of a daemon that is gone');
  }

  const connections = new Map<net.Socket, ConnectionHandle>();
  const rejected = new Set<net.Socket>();
  let shuttingDown = false;
  let closing: Promise<void> | undefined;
  let onEmpty: (() => void) | undefined;
  const dispatch = createDispatcher(handlers);

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
      if (isLdirError(err))
        log.info({ code: err.code, msg: err.message, type: 'status', id }, 'control request refused');
      else log.error({ err, type: 'status', id }, 'streamed status failed');
      yield redact(encodeMessage(responseForError(id, err)));
    }
    log.debug(
      { type: 'status', id, stream: true, lines, ms: Math.round(performance.now() - started) },
      'control request',
    );
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
      if (isLdirError(err))
        log.info({ code: err.code, msg: err.message, type: request.type, id: request.id }, 'control request refused');
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
    log.debug(
      { type: request.type, id: request.id, ok: response.ok, ms: Math.round(performance.now() - started) },
      'control request',
    );
    return { text, stop: (request.type === 'stop' || request.type === 'restart') && response.ok };
  }

  const context = (socket: net.Socket): ConnectionContext => ({
    answer,
    idleTimeoutMs,
    clock,
    log,
    isShuttingDown: () => shuttingDown,
    ...(options.afterStop ? { afterStop: options.afterStop } : {}),
    onBusy: (busy) => slots.setBusy(socket, busy),
  });
  // One "address" for a unix socket: the bound is on connections, the longest-connected idle one goes for a newcomer.
  const slots = new ConnectionSlots<net.Socket>(
    { maxConnections: maxClients, maxPerAddress: maxClients, graceMs: 0 },
    clock,
    (socket) => {
      log.debug({ limit: maxClients }, 'idle control connection closed to make room');
      connections
        .get(socket)
        ?.evict(
          errorResponse(
            null,
            ErrorCodes.CONTROL_BUSY,
            `closed to make room for another control client (limit ${maxClients}): no request in progress`,
          ),
        );
    },
  );
  const accept = (socket: net.Socket): void => {
    if (shuttingDown || !slots.admit(socket, 'local')) {
      rejected.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => rejected.delete(socket));
      socket.resume();
      const why = shuttingDown
        ? 'the daemon is shutting down'
        : `too many control clients, all with a request in progress (limit ${maxClients})`;
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
      try {
        unlinkSync(at);
      } catch {
        /* none left over */
      }
    }
    try {
      await listen(server, at);
    } catch (err) {
      if (errnoOf(err) === 'EADDRINUSE') {
        throw new LdirError(ErrorCodes.CONTROL_IN_USE, `another process bound ${path} first`, {
          cause: err,
          details: { path },
        });
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
      try {
        if (byRename) unlinkSync(at);
      } catch {
        /* gone */
      }
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
