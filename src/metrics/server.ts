// The HTTP endpoint: GET /metrics (text exposition), /healthz (liveness), and with a status source / (the live status
// page) and /status.json (issue 18), bounded in time and connections so that
// slow, idle or flooding clients cannot starve scrapes (issue 19).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { systemClock, type Clock } from '../clock';
import { ErrorCodes, errorMessage, LdirError } from '../errors';
import type { Logger } from '../log';
import { ConnectionSlots, DEFAULT_SLOT_LIMITS } from '../system/connection-slots';
import { sharedScrape, type RenderedScrape } from './shared-scrape';
import { STATUS_PATHS, StatusRoutes, type StatusSource } from './status-routes';
import type { Metrics } from './types';

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** Numeric address to listen on (`127.0.0.1`, `::1`; `0.0.0.0`/`::` expose it off-host). */
  readonly host: string;
  /** TCP port; 0 picks a free one (tests). */
  readonly port: number;
  readonly metrics: Metrics;
  readonly logger?: Logger;
  /** Milliseconds a scrape may take before the endpoint answers 503. Default 10 000 (Prometheus' default timeout). */
  readonly scrapeTimeoutMs?: number;
  /** Most connections held at once (see `SlotLimits.maxConnections`). Default 1,024. */
  readonly maxConnections?: number;
  /** Most connections one client address keeps once they are idle past the grace. Default 16. */
  readonly maxConnectionsPerAddress?: number;
  /** Time a connection has to send its request before the per-address bound may close it. Default 1 000. */
  readonly admissionGraceMs?: number;
  /** A request's headers must be complete this long after the connection (or the request) began. Default 3 000. */
  readonly headersTimeoutMs?: number;
  /** Timers of the connection slots. Default: the system clock. */
  readonly clock?: Clock;
  /**
   * The daemon's status report: when given, `GET /` serves the live status page and `GET /status.json` the report
   * (src/metrics/status-routes.ts); without it those paths are 404.
   */
  readonly status?: StatusSource;
}

/** A listening metrics endpoint. */
export interface MetricsServer {
  /** The address actually bound (the port is the real one when 0 was asked). */
  address(): { readonly host: string; readonly port: number };
  /** Connections held now, and how many were refused or closed to make room since the start. */
  connections(): { readonly open: number; readonly refused: number; readonly evicted: number };
  /** Stops listening and closes every connection; idempotent. */
  close(): Promise<void>;
}

/** Default bound of one scrape in milliseconds. */
export const DEFAULT_SCRAPE_TIMEOUT_MS = 10_000;

/**
 * Default deadline of a request's headers. Node checks it on a sweep of its connections; the sweep runs every
 * {@link HEADERS_CHECK_INTERVAL_MS} (Node's default is 30 s, which let 32 idle connections blind every scrape for 30 s).
 */
export const DEFAULT_HEADERS_TIMEOUT_MS = 3_000;
/** How often Node looks for connections past their header deadline. */
export const HEADERS_CHECK_INTERVAL_MS = 500;
/** Time after a response for the client's next request on the same connection (keep-alive). */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** A response not handed to the kernel within the scrape bound plus this long is cut (a client that does not read). */
const RESPONSE_SLACK_MS = 20_000;
/**
 * Requests one connection answers; the last answer says `Connection: close`, and requests pipelined beyond it are
 * answered 503 (Node's maxRequestsPerSocket). A scraper reconnects; a client that pipelines scrapes and never reads
 * makes the daemon push at most this many expositions into the kernel for it.
 */
export const MAX_REQUESTS_PER_CONNECTION = 8;

const TEXT = 'text/plain; charset=utf-8';

function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
  head = false,
): void {
  res.writeHead(status, {
    'Content-Type': TEXT,
    'Cache-Control': 'no-store',
    'Content-Length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(head ? undefined : body);
}

/** The server's shared parts: the scrape shared by concurrent requests and the log. */
interface Context {
  readonly options: MetricsServerOptions;
  readonly scrape: () => Promise<RenderedScrape>;
  readonly log: Logger | undefined;
  readonly statusRoutes: StatusRoutes | undefined;
}

async function serveMetrics(req: IncomingMessage, res: ServerResponse, c: Context): Promise<void> {
  let scraped: RenderedScrape;
  try {
    scraped = await c.scrape();
  } catch (err) {
    const message = errorMessage(err);
    c.log?.warn({ err: message, code: ErrorCodes.METRICS_SCRAPE_FAILED }, 'metrics scrape failed');
    if (!res.headersSent)
      send(res, 503, `scrape failed: ${message.replace(/[\r\n]+/g, ' ')}\n`, {}, req.method === 'HEAD');
    return;
  }
  if (res.destroyed) return; // the client went while the exposition was rendered
  const head = req.method === 'HEAD';
  const accepts = String(req.headers['accept-encoding'] ?? '');
  if (/\bgzip\b/.test(accepts)) {
    const zipped = await scraped.gzipped();
    if (res.destroyed) return;
    res.writeHead(200, {
      'Content-Type': scraped.contentType,
      'Content-Encoding': 'gzip',
      'Content-Length': String(zipped.length),
      'Cache-Control': 'no-store',
      Vary: 'Accept-Encoding',
    });
    res.end(head ? undefined : zipped);
    return;
  }
  res.writeHead(200, {
    'Content-Type': scraped.contentType,
    'Content-Length': String(scraped.length),
    'Cache-Control': 'no-store',
    Vary: 'Accept-Encoding',
  });
  if (!head) for (const chunk of scraped.chunks) res.write(chunk);
  res.end();
}

function handle(req: IncomingMessage, res: ServerResponse, c: Context): void {
  let path: string;
  try {
    path = new URL(req.url ?? '/', 'http://metrics.invalid').pathname;
  } catch {
    send(res, 400, 'bad request\n');
    return;
  }
  const status = c.statusRoutes && STATUS_PATHS.has(path) ? c.statusRoutes : undefined;
  if (path !== '/metrics' && path !== '/healthz' && !status) {
    const served = c.statusRoutes ? '/metrics, /healthz, / (status page) and /status.json' : '/metrics and /healthz';
    send(res, 404, `not found: ldir serves ${served}\n`, {}, req.method === 'HEAD');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  if (status) {
    status.serve(path, req, res);
    return;
  }
  if (path === '/healthz') {
    const h = c.options.metrics.health();
    send(res, h.ok ? 200 : 503, `${h.reason}\n`, {}, req.method === 'HEAD');
    return;
  }
  serveMetrics(req, res, c).catch((err: unknown) => {
    c.log?.error({ err: errorMessage(err) }, 'metrics response failed');
    if (!res.headersSent) send(res, 500, 'internal error\n');
    else res.destroy();
  });
}

/**
 * Starts the endpoint on `host:port`. Rejects with METRICS_LISTEN_FAILED (details.errno) when the address cannot be
 * bound. A scrape longer than `scrapeTimeoutMs` answers 503, and scrapes that arrive meanwhile share it. Every
 * connection must complete its request's headers within `headersTimeoutMs` (checked every
 * {@link HEADERS_CHECK_INTERVAL_MS}); connections are held in slots bounded in number and per client address (see
 * {@link ConnectionSlots}); a response the client does not read within the scrape bound plus 20 s is cut.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const log = options.logger?.child({ module: 'metrics' });
  const bound = options.scrapeTimeoutMs ?? DEFAULT_SCRAPE_TIMEOUT_MS;
  const statusRoutes = options.status ? new StatusRoutes(options.status, bound, log) : undefined;
  const context: Context = { options, scrape: sharedScrape(options.metrics, bound), log, statusRoutes };
  const server = createServer(
    {
      requestTimeout: bound + 5_000,
      headersTimeout: options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: HEADERS_CHECK_INTERVAL_MS,
    },
    (req, res) => {
      const socket = req.socket;
      slots.setBusy(socket, true);
      const cut = setTimeout(() => socket.destroy(), bound + RESPONSE_SLACK_MS);
      res.once('close', () => {
        clearTimeout(cut);
        slots.setBusy(socket, false);
      });
      handle(req, res, context);
    },
  );
  server.maxRequestsPerSocket = MAX_REQUESTS_PER_CONNECTION;
  const slots = new ConnectionSlots<Socket>(
    {
      maxConnections: options.maxConnections ?? DEFAULT_SLOT_LIMITS.maxConnections,
      maxPerAddress: options.maxConnectionsPerAddress ?? DEFAULT_SLOT_LIMITS.maxPerAddress,
      graceMs: options.admissionGraceMs ?? DEFAULT_SLOT_LIMITS.graceMs,
    },
    options.clock ?? systemClock(),
    (socket) => socket.destroy(),
  );
  let noted = 0;
  server.on('connection', (socket: Socket) => {
    if (!slots.admit(socket, socket.remoteAddress ?? '')) {
      socket.destroy();
      // Once per burst, not per connection: a flood must not flood the log too.
      const now = Date.now();
      if (now - noted > 60_000) {
        noted = now;
        log?.warn(
          { open: slots.size(), ...slots.stats() },
          'metrics endpoint full: every connection is busy, new ones are refused',
        );
      }
      return;
    }
    socket.once('close', () => slots.release(socket));
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const shown = isIP(options.host) === 6 ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
      reject(
        new LdirError(
          ErrorCodes.METRICS_LISTEN_FAILED,
          `metrics endpoint cannot listen on ${shown}: ${err.code ?? err.message}`,
          {
            cause: err,
            details: { errno: err.code, host: options.host, port: options.port },
          },
        ),
      );
    };
    server.once('error', onError);
    server.listen({ host: options.host, port: options.port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log?.error({ err: err.message }, 'metrics endpoint error'));
  const addr = server.address();
  const actual =
    typeof addr === 'object' && addr
      ? { host: addr.address, port: addr.port }
      : { host: options.host, port: options.port };
  const loopback = actual.host === '::1' || actual.host.startsWith('127.');
  log?.info({ host: actual.host, port: actual.port, offHost: !loopback }, 'metrics endpoint listening');
  let closing: Promise<void> | undefined;
  return {
    address: () => actual,
    connections: () => {
      const stats = slots.stats();
      return { open: slots.size(), refused: stats.refused, evicted: stats.capacity + stats.perAddress };
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        slots.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
