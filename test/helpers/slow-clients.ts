// Hostile HTTP clients for tests (loopback only): many connections that send a request line and then drip header
// bytes without ever finishing the request, reconnecting when the server cuts them. Bounded in count and time.
import * as net from 'node:net';

/** Options of {@link startSlowClients}. */
export interface SlowClientOptions {
  readonly host: string;
  readonly port: number;
  /** How many clients, each holding at most one connection at a time. */
  readonly count: number;
  /** Source addresses (127.0.0.0/8), used in turn: client i connects from `localAddresses[i % length]`. */
  readonly localAddresses: readonly string[];
  /** A header byte every this many ms (the request is never finished). Default 500. */
  readonly dripMs?: number;
  /** Reconnect when the server closes the connection (bounded by `maxConnectsPerClient`). Default true. */
  readonly reconnect?: boolean;
  /** Most connections one client opens over its life. Default 200. */
  readonly maxConnectsPerClient?: number;
  /** What each connection sends first. Default a GET request line of /metrics and a Host header. */
  readonly opening?: string;
}

/** Running slow clients. */
export interface SlowClients {
  /** Connections opened so far, open now, and cut by the server (closed or reset while the client still held them). */
  stats(): { readonly opened: number; readonly open: number; readonly cut: number; readonly errors: number };
  /** Resolves once `n` connections are open at the same time, or rejects after `ms`. */
  whenOpen(n: number, ms: number): Promise<void>;
  /** Stops reconnecting and closes every connection. */
  stop(): void;
}

/** Starts `count` slow clients against `host:port` (loopback only: the caller's addresses must be on 127.0.0.0/8 or ::1). */
export function startSlowClients(options: SlowClientOptions): SlowClients {
  if (!/^127\./.test(options.host) && options.host !== '::1')
    throw new Error(`slow clients only against loopback, not ${options.host}`);
  const dripMs = options.dripMs ?? 500;
  const maxConnects = options.maxConnectsPerClient ?? 200;
  const opening = options.opening ?? 'GET /metrics HTTP/1.1\r\nHost: ldir\r\n';
  const sockets = new Set<net.Socket>();
  let stopped = false;
  let opened = 0;
  let cut = 0;
  let errors = 0;
  const drip = setInterval(() => {
    for (const s of sockets) if (s.writable && !s.connecting) s.write('X');
  }, dripMs);
  drip.unref();

  const connect = (client: number, connects: number): void => {
    if (stopped || connects >= maxConnects) return;
    const socket = net.connect({
      host: options.host,
      port: options.port,
      localAddress: options.localAddresses[client % options.localAddresses.length] as string,
    });
    opened++;
    sockets.add(socket);
    socket.on('connect', () => {
      socket.write(`${opening}X-Slow: `);
    });
    socket.on('data', () => undefined); // a 408 or anything else: read and dropped
    socket.on('error', () => {
      errors++;
    });
    socket.on('close', () => {
      sockets.delete(socket);
      if (stopped) return;
      cut++;
      if (options.reconnect ?? true) setImmediate(() => connect(client, connects + 1));
    });
  };
  for (let i = 0; i < options.count; i++) connect(i, 0);

  return {
    stats: () => ({ opened, open: [...sockets].filter((s) => !s.connecting && !s.destroyed).length, cut, errors }),
    whenOpen: async (n, ms) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if ([...sockets].filter((s) => !s.connecting && !s.destroyed).length >= n) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(
        `fewer than ${n} slow clients connected after ${ms} ms (opened ${opened}, cut ${cut}, errors ${errors})`,
      );
    },
    stop: () => {
      stopped = true;
      clearInterval(drip);
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
  };
}
