// Socket plumbing shared by the TCP/UDP checkers: abortable connect, bounded reading, one UDP exchange.
import * as dgram from 'node:dgram';
import * as net from 'node:net';

/** Most bytes a checker reads from one server before it stops listening. */
export const MAX_READ_BYTES = 1024 * 1024;

/** The error a socket operation rejects with when its signal aborts (guardCheck reports it as `timeout`). */
function abortError(): Error {
  const err = new Error('aborted');
  err.name = 'AbortError';
  return err;
}

/** Opens a TCP connection to `host:port`; rejects on a socket error or when `signal` aborts. */
export function tcpConnect(host: string, port: number, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError());
      return;
    }
    const socket = net.connect({ host, port });
    const cleanup = (): void => {
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('connect', onConnect);
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(abortError());
    };
    const onError = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onConnect = (): void => {
      cleanup();
      resolve(socket);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', onConnect);
  });
}

/**
 * Connects, runs `use` on the socket and always destroys it afterwards (also when `signal` aborts, which makes
 * pending reads reject).
 */
export async function withTcp<T>(
  host: string,
  port: number,
  signal: AbortSignal,
  use: (socket: net.Socket) => Promise<T>,
): Promise<T> {
  const socket = await tcpConnect(host, port, signal);
  socket.on('error', () => undefined); // errors reach the pending read; none may go unhandled after it settled
  const onAbort = (): void => {
    socket.destroy(); // a pending readUntil rejects through its own abort listener
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await use(socket);
  } finally {
    signal.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}

/**
 * Reads from a connected socket until `decide(data, ended)` returns a value (called after every chunk and once at
 * the end of the stream or after {@link MAX_READ_BYTES}). Rejects on socket errors, on abort, and with
 * `connection closed` when the stream ends while `decide` still returns undefined.
 */
export function readUntil<T>(
  socket: net.Socket,
  signal: AbortSignal,
  decide: (data: Buffer, ended: boolean) => T | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const settleWith = (ended: boolean): void => {
      const data = Buffer.concat(chunks, size);
      let verdict: T | undefined;
      try {
        verdict = decide(data, ended);
      } catch (err) {
        finish(() => reject(err));
        return;
      }
      if (verdict !== undefined) finish(() => resolve(verdict as T));
      else if (ended) finish(() => reject(new Error('connection closed')));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      settleWith(size >= MAX_READ_BYTES);
    };
    const onEnd = (): void => settleWith(true);
    const onClose = (): void => settleWith(true);
    const onError = (err: Error): void => finish(() => reject(err));
    const onAbort = (): void => finish(() => reject(abortError()));
    if (signal.aborted) {
      onAbort();
      return;
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The local address of a socket, as a host text usable in protocol headers (IPv6 in brackets). */
export function hostText(address: string): string {
  return net.isIPv6(address) ? `[${address}]` : address;
}

/**
 * One UDP exchange: a socket connected to `host:port`, `payload(local)` sent once, then datagrams handed to `decide`
 * until it returns a value. Rejects on socket errors (ICMP port unreachable surfaces as ECONNREFUSED) and on abort.
 */
export function udpExchange<T>(
  host: string,
  port: number,
  signal: AbortSignal,
  payload: (local: { address: string; port: number }) => Buffer,
  decide: (message: Buffer) => T | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError());
      return;
    }
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('message');
      socket.on('error', () => undefined); // late ICMP errors after the verdict
      try {
        socket.close();
      } catch {
        // already closed
      }
      fn();
    };
    const onAbort = (): void => finish(() => reject(abortError()));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => finish(() => reject(err)));
    socket.on('message', (msg) => {
      let verdict: T | undefined;
      try {
        verdict = decide(msg);
      } catch (err) {
        finish(() => reject(err));
        return;
      }
      if (verdict !== undefined) finish(() => resolve(verdict as T));
    });
    socket.connect(port, host, () => {
      if (settled) return;
      const local = socket.address();
      socket.send(payload({ address: local.address, port: local.port }), (err) => {
        if (err) finish(() => reject(err));
      });
    });
  });
}

/** Splits text into lines the way Perl's `<$sock>` does, without the newline; a trailing partial line counts. */
export function splitLines(text: string, ended: boolean): string[] {
  const parts = text.split('\n');
  const last = parts.pop() as string;
  if (ended && last !== '') parts.push(last);
  return parts;
}
