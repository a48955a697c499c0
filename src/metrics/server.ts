// The HTTP endpoint: GET /metrics (text exposition) and /healthz (liveness), bounded in time and connections.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { ErrorCodes, LdirError } from '../errors';
import type { Logger } from '../log';
import type { Metrics } from './types';

const gzipAsync = promisify(gzip);

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
  /** Most simultaneous connections. Default 32. */
  readonly maxConnections?: number;
}

/** A listening metrics endpoint. */
export interface MetricsServer {
  /** The address actually bound (the port is the real one when 0 was asked). */
  address(): { readonly host: string; readonly port: number };
  /** Stops listening and closes every connection; idempotent. */
  close(): Promise<void>;
}

/** Default bound of one scrape in milliseconds. */
export const DEFAULT_SCRAPE_TIMEOUT_MS = 10_000;

const TEXT = 'text/plain; charset=utf-8';

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}, head = false): void {
  res.writeHead(status, { 'Content-Type': TEXT, 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  res.end(head ? undefined : body);
}

/** Resolves with `p`, or rejects with a METRICS_SCRAPE_FAILED error after `ms`. */
async function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LdirError(ErrorCodes.METRICS_SCRAPE_FAILED, `scrape not rendered within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function serveMetrics(req: IncomingMessage, res: ServerResponse, o: MetricsServerOptions, log: Logger | undefined): Promise<void> {
  let scraped: { contentType: string; body: string };
  try {
    scraped = await bounded(o.metrics.scrape(), o.scrapeTimeoutMs ?? DEFAULT_SCRAPE_TIMEOUT_MS);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log?.warn({ err: message, code: ErrorCodes.METRICS_SCRAPE_FAILED }, 'metrics scrape failed');
    if (!res.headersSent) send(res, 503, `scrape failed: ${message.replace(/[\r\n]+/g, ' ')}\n`, {}, req.method === 'HEAD');
    return;
  }
  const head = req.method === 'HEAD';
  const accepts = String(req.headers['accept-encoding'] ?? '');
  if (/\bgzip\b/.test(accepts)) {
    const zipped = await gzipAsync(scraped.body);
    res.writeHead(200, { 'Content-Type': scraped.contentType, 'Content-Encoding': 'gzip', 'Content-Length': String(zipped.length), 'Cache-Control': 'no-store', Vary: 'Accept-Encoding' });
    res.end(head ? undefined : zipped);
    return;
  }
  send(res, 200, scraped.body, { 'Content-Type': scraped.contentType, Vary: 'Accept-Encoding' }, head);
}

function handle(req: IncomingMessage, res: ServerResponse, o: MetricsServerOptions, log: Logger | undefined): void {
  let path: string;
  try {
    path = new URL(req.url ?? '/', 'http://metrics.invalid').pathname;
  } catch {
    send(res, 400, 'bad request\n');
    return;
  }
  if (path !== '/metrics' && path !== '/healthz') {
    send(res, 404, 'not found: ldir serves /metrics and /healthz\n', {}, req.method === 'HEAD');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  if (path === '/healthz') {
    const h = o.metrics.health();
    send(res, h.ok ? 200 : 503, `${h.reason}\n`, {}, req.method === 'HEAD');
    return;
  }
  serveMetrics(req, res, o, log).catch((err: unknown) => {
    log?.error({ err: err instanceof Error ? err.message : String(err) }, 'metrics response failed');
    if (!res.headersSent) send(res, 500, 'internal error\n');
    else res.destroy();
  });
}

/**
 * Starts the endpoint on `host:port`. Rejects with METRICS_LISTEN_FAILED (details.errno) when the address cannot be
 * bound. A scrape longer than `scrapeTimeoutMs` answers 503; slow or idle clients are cut off by Node's header,
 * request and keep-alive timeouts.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const log = options.logger?.child({ module: 'metrics' });
  const bound = options.scrapeTimeoutMs ?? DEFAULT_SCRAPE_TIMEOUT_MS;
  const server = createServer({ requestTimeout: bound + 5_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 }, (req, res) => handle(req, res, options, log));
  server.maxConnections = options.maxConnections ?? 32;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const shown = isIP(options.host) === 6 ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
      reject(new LdirError(ErrorCodes.METRICS_LISTEN_FAILED, `metrics endpoint cannot listen on ${shown}: ${err.code ?? err.message}`, {
        cause: err, details: { errno: err.code, host: options.host, port: options.port },
      }));
    };
    server.once('error', onError);
    server.listen({ host: options.host, port: options.port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log?.error({ err: err.message }, 'metrics endpoint error'));
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : { host: options.host, port: options.port };
  const loopback = actual.host === '::1' || actual.host.startsWith('127.');
  log?.info({ host: actual.host, port: actual.port, offHost: !loopback }, 'metrics endpoint listening');
  let closing: Promise<void> | undefined;
  return {
    address: () => actual,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
