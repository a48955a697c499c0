// `service=http|https|http_proxy`: one request with undici (fresh connection each time, like ldirectord's LWP),
// redirects followed up to 7 hops as `httpredirect` allows (redirect-target.ts), the status checked against `httpstatus` (2xx by default), then
// `receive` and `receivenot` matched over the body (http-judge.ts); plain http can run as one native exchange instead
// (same verdicts, a fraction of the CPU).
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Dispatcher } from 'undici';
import { fail, guardCheck, reasonOfErrno, type CheckVerdict } from './guard';
import { finalVerdict, isRedirect, needsBody } from './http-judge';
import { parseHttpResponse } from './http-response';
import { redirectStep } from './redirect-target';
import { weightFromHeader } from './reported-weight';
import { hostText, MAX_READ_BYTES } from './sockets';
import type { TcpProbeOutcome, TcpProber } from './tcp-prober';
import { tlsClientOptions, tlsRedirectOptions } from './tls-options';
import type { Checker, CheckJob, CheckResult } from './types';

/** Most redirects followed (LWP::UserAgent's default max_redirect). */
export const MAX_REDIRECTS = 7;

/** Makes the undici connection of one hop of one check, for an origin and its TLS options (see tls-options.ts). */
export type DispatcherFactory = (origin: string, tls: ConnectionOptions) => Dispatcher;

/** Options of {@link createHttpChecker}. */
export interface HttpCheckerOptions {
  /** Dispatcher of one check, destroyed when the check ends; default {@link checkAgent}. */
  readonly dispatcher?: DispatcherFactory;
  /**
   * Native TCP prober: plain `service=http` checks of a numeric address then run as one request/answer exchange off
   * the JS thread (see {@link fastHttpCheck}); everything else, and any redirect, goes through undici.
   */
  readonly prober?: TcpProber;
}

/** Bytes read for one fast-path answer: the body limit plus room for the status line and headers. */
export const FAST_READ_LIMIT = MAX_READ_BYTES + 64 * 1024;

/**
 * A keep-alive-free undici Client (one connection) for one hop of one check, with `tls` for an https origin (what is
 * verified, and the server name: undici would otherwise send the Host header's name, which `tlsservername` may
 * differ from). Destroyed when the check ends: undici reconnects eagerly after a request is cut short (a body read
 * only up to the limit, a timeout), and only destroying it guarantees no idle connection is left behind. A Client per
 * hop instead of an Agent per check: an Agent builds a pool per origin, which at 10,000 real servers a second costs a
 * third of the CPU.
 */
export function checkAgent(origin: string, tls: ConnectionOptions): Dispatcher {
  // undici loads with the first check that needs it (https, http_proxy, a redirect, or no native addon): loading it
  // at start-up cost about 90 ms on hardware (seconds in an emulated VM), and most checks never use it.
  const { Client, buildConnector } = require('undici') as typeof import('undici');
  const { servername, ...rest } = tls;
  // node:tls types its optional fields `?: T | undefined`, undici's BuildOptions `?: T`: the same options, and the
  // builders in tls-options.ts never set a field to undefined.
  const options = rest as import('undici').buildConnector.BuildOptions;
  if (servername === undefined) return new Client(origin, { pipelining: 0, connect: options });
  const connector = buildConnector(options);
  return new Client(origin, {
    pipelining: 0,
    connect: (opts, callback) => connector({ ...opts, servername }, callback),
  });
}

/**
 * The first URL of a check: `request` verbatim when it is an absolute http(s) URL (ldirectord's per-real URL, and
 * always for http_proxy), else `scheme://address:port/request`.
 */
export function checkUrl(job: CheckJob): URL {
  const uri = job.request.replace(/^\/+/, '');
  if (/^https?:\/\//i.test(uri)) return new URL(uri);
  if (job.service === 'http_proxy')
    throw new Error(`http_proxy needs an absolute http:// URL as request, not "${job.request}"`);
  const scheme = job.service === 'https' ? 'https' : 'http';
  return new URL(`${scheme}://${hostText(job.address)}:${job.port}/${uri}`);
}

/** One hop's request: where to connect, the request target and the headers. */
interface Hop {
  readonly origin: string;
  readonly path: string;
  readonly headers: Record<string, string>;
}

/**
 * The request for `url`: direct, or through the real server as an HTTP proxy (absolute-form target). A later hop
 * `toReal` (a same-host redirect naming the `virtualhost`) connects to the real's address at the URL's port and sends
 * the URL's host as Host.
 */
function hopFor(job: CheckJob, url: URL, first: boolean, toReal: boolean): Hop {
  const headers: Record<string, string> = { 'user-agent': 'ldir-health-check', accept: '*/*' };
  if (job.service === 'http_proxy' && url.protocol === 'http:') {
    headers['host'] = url.host;
    return { origin: `http://${hostText(job.address)}:${job.port}`, path: url.href, headers };
  }
  const path = `${url.pathname}${url.search}`;
  // LWP drops the Host header on redirects, so only the first hop carries the virtual host.
  if (first && job.service !== 'http_proxy') headers['host'] = job.httpHost ?? hostText(job.address);
  if (first || !toReal) return { origin: url.origin, path, headers };
  headers['host'] = url.host;
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  return { origin: `${url.protocol}//${hostText(job.address)}:${port}`, path, headers };
}

/**
 * TLS of a same-host hop to the real's address under another port or scheme: the job's settings, with the name the
 * URL gives (the `virtualhost`) as server name unless `tlsservername` set one.
 */
function tlsToRealByName(job: CheckJob, url: URL): ConnectionOptions {
  const named = job.tlsServerName === undefined && isIP(url.hostname) === 0 && !url.hostname.startsWith('[');
  return tlsClientOptions(named ? { ...job, tlsServerName: url.hostname } : job);
}

/** Reads at most {@link MAX_READ_BYTES} of a body, then drops the rest. */
async function readBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_READ_BYTES) break;
  }
  body.destroy();
  return Buffer.concat(chunks, size).subarray(0, MAX_READ_BYTES).toString('utf8');
}

/**
 * Runs the request chain of one check and judges the final answer. Connections to the first hop's origin (the real
 * server) use the job's TLS settings, those to another host it redirects to that host's name.
 */
async function httpVerdict(
  job: CheckJob,
  connect: (origin: string, tls: ConnectionOptions) => Dispatcher,
  signal: AbortSignal,
): Promise<CheckVerdict> {
  let url = checkUrl(job);
  let realOrigin = '';
  let toReal = true;
  for (let hop = 0; ; hop++) {
    const { origin, path, headers } = hopFor(job, url, hop === 0, toReal);
    if (hop === 0) realOrigin = origin;
    const tls =
      origin === realOrigin ? tlsClientOptions(job) : toReal ? tlsToRealByName(job, url) : tlsRedirectOptions(job);
    const res = await connect(origin, tls).request({
      origin,
      path,
      method: job.httpMethod,
      headers,
      signal,
      reset: true,
    });
    // Destroying an unread body (or the abort at the end of the check) makes it emit an error nobody needs.
    res.body.on('error', () => undefined);
    const location = res.headers['location'];
    if (isRedirect(job, res.statusCode, typeof location === 'string') && typeof location === 'string') {
      res.body.destroy();
      if (hop >= MAX_REDIRECTS) return fail(`too many redirects (status ${res.statusCode})`);
      const step = redirectStep(job, url, location, res.statusCode);
      if (!step.follow) return fail(step.reason);
      url = step.url;
      toReal = step.toReal;
      continue;
    }
    // A value that is not a whole number is no weight.
    const weight = job.weightHeader !== undefined ? weightFromHeader(res.headers[job.weightHeader]) : undefined;
    if (!needsBody(job, res.statusCode)) {
      res.body.destroy();
      return finalVerdict(job, res.statusCode, '', weight);
    }
    return finalVerdict(job, res.statusCode, await readBody(res.body), weight);
  }
}

/**
 * The bytes of a fast-path request: HTTP/1.1 with `Connection: close` and the same headers as the undici path sends
 * on its first hop. The engine stops reading once the answer is complete (or the server closes).
 */
export function fastHttpRequest(job: CheckJob): Buffer {
  const url = checkUrl(job);
  const host = job.httpHost ?? hostText(job.address);
  return Buffer.from(
    `${job.httpMethod} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${host}\r\n` +
      'User-Agent: ldir-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n',
    'latin1',
  );
}

/** True when a job can take the fast path: plain http to a numeric address, request not an absolute URL. */
export function fastPathFits(job: CheckJob, prober: Pick<TcpProber, 'accepts'>): boolean {
  return job.service === 'http' && prober.accepts(job.address) && !/^\/*https?:\/\//i.test(job.request);
}

/**
 * Judges a fast-path exchange: the verdict, or `redirect` when the answer is a redirect to follow (the undici path
 * then runs the whole check, following it). A complete answer counts even if the connection failed afterwards.
 */
export function fastHttpVerdict(job: CheckJob, outcome: TcpProbeOutcome): CheckVerdict | 'redirect' {
  if (outcome.error === 'ABORT_ERR') return fail('timeout');
  const parsed =
    outcome.data && outcome.data.length > 0
      ? parseHttpResponse(outcome.data, job.httpMethod)
      : { error: 'empty' as const };
  if ('error' in parsed) {
    if (outcome.error !== undefined) return fail(reasonOfErrno(outcome.error));
    return fail(parsed.error === 'not an HTTP response' ? 'not an HTTP response' : 'connection closed');
  }
  const truncated = (outcome.data?.length ?? 0) >= FAST_READ_LIMIT;
  if (!parsed.complete && !truncated)
    return fail(outcome.error !== undefined ? reasonOfErrno(outcome.error) : 'connection closed');
  if (isRedirect(job, parsed.status, parsed.headers.has('location'))) return 'redirect';
  const weight = job.weightHeader !== undefined ? weightFromHeader(parsed.headers.get(job.weightHeader)) : undefined;
  return finalVerdict(job, parsed.status, parsed.body.subarray(0, MAX_READ_BYTES).toString('utf8'), weight);
}

/** An http/https/http_proxy checker (see {@link HttpCheckerOptions}). */
export function createHttpChecker(options: HttpCheckerOptions = {}): Checker {
  const makeDispatcher = options.dispatcher ?? checkAgent;
  const undiciCheck: Checker = (job, signal) =>
    guardCheck(signal, job.negotiateTimeoutMs, async (s) => {
      const opened: Dispatcher[] = [];
      const connect = (origin: string, tls: ConnectionOptions): Dispatcher => {
        const d = makeDispatcher(origin, tls);
        opened.push(d);
        return d;
      };
      try {
        return await httpVerdict(job, connect, s);
      } finally {
        for (const d of opened) d.destroy().catch(() => undefined);
      }
    });
  const prober = options.prober;
  if (!prober) return undiciCheck;
  const requests = new WeakMap<CheckJob, Buffer>();
  return (job, signal) => {
    if (!fastPathFits(job, prober)) return undiciCheck(job, signal);
    let request = requests.get(job);
    if (!request) {
      request = fastHttpRequest(job);
      requests.set(job, request);
    }
    const framing = job.httpMethod === 'HEAD' ? 'http-head' : 'http';
    return prober
      .probe(job.address, job.port, job.negotiateTimeoutMs, signal, { request, readLimit: FAST_READ_LIMIT, framing })
      .then((outcome): CheckResult | Promise<CheckResult> => {
        const verdict = fastHttpVerdict(job, outcome);
        return verdict === 'redirect' ? undiciCheck(job, signal) : { ...verdict, durationMs: outcome.elapsedMs };
      });
  };
}

/** The default http checker (fresh connections per check: none outlives its check). */
export const httpCheck: Checker = createHttpChecker();
