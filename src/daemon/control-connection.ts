// One control connection: reads request lines, answers them in order, enforces the size, pipelining and idle limits.
import type net from 'node:net';
import type { Clock, TimerHandle } from '../clock';
import { ErrorCodes } from '../errors';
import type { Logger } from '../log';
import { encodeMessage, errorResponse, MAX_REQUEST_BYTES, type ControlResponse } from './protocol';

/** Requests pipelined on one connection beyond this are refused (the connection is closed). */
export const MAX_QUEUED_LINES = 32;
/** After its last response, the peer has this long to close before the connection is cut. */
export const LINGER_MS = 1_000;

/**
 * The answer to one request: one line (`text`), or a sequence of lines (`lines`, a streamed `status`) written one
 * after the other as the peer reads them; the sequence must never throw (its last line says what went wrong).
 */
export type ConnectionAnswer =
  | { readonly text: string; readonly stop: boolean }
  | { readonly lines: AsyncIterable<string>; readonly stop: false };

/** What a connection needs from its server. */
export interface ConnectionContext {
  /** The answer to one request line, and whether it acknowledged a `stop`; must never reject. */
  answer(line: string): Promise<ConnectionAnswer>;
  /** A connection without a complete request for this long gets `LDIR_ERR_CONTROL_TIMEOUT` and is closed. */
  readonly idleTimeoutMs: number;
  /** Runs the idle timeout. */
  readonly clock: Clock;
  /** True once the server is closing: connections end after their current response. */
  isShuttingDown(): boolean;
  /** Called once a `stop` acknowledgement has been written (or could not be, the peer having gone). */
  readonly afterStop?: () => void;
  /** Told when a request starts being answered (true) and when its answer is written (false): busy is never evicted. */
  readonly onBusy?: (busy: boolean) => void;
  readonly log: Logger;
}

/** A served connection, as its server sees it. */
export interface ConnectionHandle {
  /** Ends the connection now when it is idle; a busy one ends after its current response. */
  end(): void;
  /** Answers `response` (an error line, id null) after the request in progress, if any, and closes the connection. */
  evict(response: ControlResponse): void;
}

/**
 * Serves one accepted socket: one request per line (64 KiB at most), answered in order, one at a time (the socket is
 * paused while a request is in progress, and until its answer has left the daemon's buffer, so a client that sends
 * requests without reading the answers cannot make the daemon buffer without bound). A fatal problem
 * (oversize line, too many pipelined requests, idle timeout) is answered with an error line (id null) and the
 * connection is closed after the peer has had time to read it.
 */
export function serveConnection(socket: net.Socket, context: ConnectionContext): ConnectionHandle {
  type Item = { line: string } | { fatal: ControlResponse };
  const queue: Item[] = [];
  let parts: Buffer[] = [];
  let pendingBytes = 0;
  let busy = false;
  let finished = false; // a fatal response was queued or the connection is ending: read no more requests
  let peerEnded = false;
  let idle: TimerHandle | undefined;

  const disarm = (): void => {
    if (idle !== undefined) context.clock.clearTimeout(idle);
    idle = undefined;
  };
  const arm = (): void => {
    disarm();
    if (finished) return;
    idle = context.clock.setTimeout(
      () =>
        fatal(
          errorResponse(null, ErrorCodes.CONTROL_TIMEOUT, `no complete request within ${context.idleTimeoutMs} ms`),
        ),
      context.idleTimeoutMs,
    );
  };
  const fatal = (response: ControlResponse): void => {
    if (finished) return;
    finished = true;
    disarm();
    parts = [];
    queue.push({ fatal: response });
    pump();
  };
  const endGracefully = (): void => {
    finished = true;
    disarm();
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };

  const pump = (): void => {
    if (busy || socket.destroyed) return;
    const item = queue.shift();
    if (item === undefined) {
      if (peerEnded || context.isShuttingDown()) endGracefully();
      else arm();
      return;
    }
    disarm();
    if ('fatal' in item) {
      busy = true;
      socket.resume(); // keep draining what the peer sends so closing never resets the connection before it reads
      socket.write(encodeMessage(item.fatal));
      endGracefully();
      return;
    }
    busy = true;
    context.onBusy?.(true);
    socket.pause();
    const goOn = (): void => {
      busy = false;
      context.onBusy?.(false);
      if (!finished) socket.resume();
      pump();
    };
    void context.answer(item.line).then(async (answer) => {
      if ('lines' in answer) {
        await writeLines(answer.lines);
        if (socket.destroyed) {
          busy = false;
          context.onBusy?.(false);
        } else goOn();
        return;
      }
      const { text, stop } = answer;
      const after = stop ? () => context.afterStop?.() : undefined;
      if (socket.destroyed) {
        busy = false;
        context.onBusy?.(false);
        after?.();
        return;
      }
      // The next request is read once this answer has left our buffer: a peer that does not read stops being read.
      const flushed = socket.write(text, after);
      if (flushed) goOn();
      else socket.once('drain', goOn);
    });
  };

  /**
   * Writes a streamed answer line by line, each once the one before has left our buffer (a peer that reads slowly
   * holds at most one line of it in the daemon); stops when the socket goes.
   */
  const writeLines = async (lines: AsyncIterable<string>): Promise<void> => {
    const iterator = lines[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done || socket.destroyed) return;
        if (!socket.write(next.value)) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              socket.off('drain', done);
              socket.off('close', done);
              resolve();
            };
            socket.on('drain', done);
            socket.on('close', done);
          });
        }
      }
    } finally {
      if (socket.destroyed) await iterator.return?.();
    }
  };

  const takeLine = (): void => {
    let line = Buffer.concat(parts).toString('utf8');
    parts = [];
    pendingBytes = 0;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') return;
    if (queue.length >= MAX_QUEUED_LINES)
      fatal(errorResponse(null, ErrorCodes.CONTROL_BAD_REQUEST, `more than ${MAX_QUEUED_LINES} pipelined requests`));
    else queue.push({ line });
  };

  socket.on('data', (chunk: Buffer) => {
    if (finished) return;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const part = chunk.subarray(start, nl < 0 ? chunk.length : nl);
      pendingBytes += part.length;
      if (pendingBytes > MAX_REQUEST_BYTES) {
        fatal(errorResponse(null, ErrorCodes.CONTROL_TOO_LARGE, `request line longer than ${MAX_REQUEST_BYTES} bytes`));
        return;
      }
      parts.push(part);
      if (nl < 0) break;
      takeLine();
      if (finished) return;
      start = nl + 1;
    }
    pump();
  });
  socket.on('end', () => {
    peerEnded = true;
    if (!finished && pendingBytes > 0) takeLine(); // a last request without its newline
    pump();
  });
  socket.on('error', (err) => context.log.debug({ err }, 'control connection error'));
  socket.on('close', disarm);
  arm();
  return {
    end: () => {
      if (!busy && queue.length === 0) endGracefully();
    },
    evict: (response) => fatal(response),
  };
}
