// HTTP answer rules and TLS of checks (ldir extensions): `httpstatus`, `receivenot`, `tlsservername` in a virtual
// section; `tlsverify`, `tlscafile`, `httpredirect` globally and per virtual.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import {
  DEFAULT_HTTP_REDIRECT,
  HTTP_REDIRECT_POLICIES,
  type CheckService,
  type CheckSpec,
  type HttpRedirectPolicy,
  type HttpStatusRange,
  type TlsCheckSettings,
} from '../model';
import { fail, ok, readOptionallyQuoted, readYesNo, valueText, type ValueResult } from './cf-values';
import type { DiagnosticSink } from './diagnostics';
import { accept, warnIfNotJsRegExp, type DirectiveHandler } from './directives-shared';
import type { Drafts } from './read-directives';
import type { GlobalDraft, SharedSettings, VirtualDraft } from './settings';

/** The statuses that pass when `httpstatus` is not given: 2xx, ldirectord's `is_success`. */
export const DEFAULT_HTTP_STATUS: readonly HttpStatusRange[] = Object.freeze([Object.freeze([200, 299] as const)]);

/** Lowest and highest status code `httpstatus` takes. */
const STATUS_MIN = 100;
const STATUS_MAX = 599;

/** One item of an `httpstatus` list: a code (`204`), a range (`200-399`) or a class (`2xx`). */
function statusItem(item: string): HttpStatusRange | undefined {
  const cls = /^([1-5])xx$/i.exec(item);
  if (cls) return [Number(cls[1]) * 100, Number(cls[1]) * 100 + 99];
  const m = /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(item);
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return from >= STATUS_MIN && to <= STATUS_MAX && from <= to ? [from, to] : undefined;
}

/**
 * Reads an `httpstatus` list: codes, ranges and classes separated by commas (`200-299,301,302`, `2xx,304`), into
 * sorted ranges with overlapping and adjacent ones merged (so `2xx` and `200,201-299` mean the same).
 */
export function parseHttpStatus(text: string): ValueResult<HttpStatusRange[]> {
  const items = text.split(',').map((s) => s.trim());
  const ranges: Array<[number, number]> = [];
  for (const item of items) {
    const range = statusItem(item);
    if (!range) {
      return fail(
        `httpstatus: "${item}" is not a status code (${STATUS_MIN}-${STATUS_MAX}), a range (200-299) or a class (2xx); write them separated by commas`,
      );
    }
    ranges.push([range[0], range[1]]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push(r);
  }
  return ok(merged);
}

/** True when `name` can be sent as a TLS server name: a DNS host name, never an IP address (RFC 6066). */
function isServerName(name: string): boolean {
  return (
    isIP(name) === 0 &&
    name.length <= 253 &&
    /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/.test(
      name,
    )
  );
}

/** The host name of a `virtualhost` (`www.example.com:8080` → `www.example.com`); undefined when it is an address. */
export function serverNameOfVirtualHost(virtualHost: string | undefined): string | undefined {
  const host = /^([^:[\]]+)(?::\d+)?$/.exec(virtualHost?.trim() ?? '')?.[1];
  return host !== undefined && isServerName(host) ? host : undefined;
}

/** Why a CA bundle cannot be used (no certificate, or one OpenSSL cannot read); undefined when it can. */
function caBundleProblem(pem: string): string | undefined {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return `certificate ${i + 1} cannot be read (${(err as Error).message})`;
    }
  }
  return undefined;
}

/** Handlers of `tlsverify` and `tlscafile`, shared by the global and the virtual tables. */
export const TLS_SHARED_DIRECTIVES: Readonly<Record<string, DirectiveHandler<SharedSettings>>> = {
  tlsverify: (d, s, ctx) => {
    const v = accept(d, readYesNo(d), ctx);
    if (v !== undefined) s.tlsverify = { value: v, pos: d.pos };
  },
  tlscafile: (d, s, ctx) => {
    const path = readOptionallyQuoted(d).trim();
    if (!path.startsWith('/')) {
      ctx.sink.error('invalid-value', d.pos, `tlscafile must be an absolute path, not "${valueText(d)}"`, d.key);
      return;
    }
    let pem: string;
    try {
      pem = ctx.readText(path);
    } catch (err) {
      ctx.sink.error('missing-path', d.pos, `tlscafile: cannot read ${path}: ${(err as Error).message}`, d.key);
      return;
    }
    const problem = caBundleProblem(pem);
    if (problem !== undefined) ctx.sink.error('invalid-value', d.pos, `tlscafile ${path} ${problem}`, d.key);
    else s.tlscafile = { value: { path, pem }, pos: d.pos };
  },
};

/** Reads `httpredirect=no|samehost|any`. */
function readHttpRedirect(text: string): ValueResult<HttpRedirectPolicy> {
  const policy = HTTP_REDIRECT_POLICIES.find((p) => p === text);
  return policy !== undefined
    ? ok(policy)
    : fail(`httpredirect must be one of ${HTTP_REDIRECT_POLICIES.join(', ')}, not "${text}"`);
}

/** Handler of `httpredirect`, shared by the global and the virtual tables. */
export const HTTP_SHARED_DIRECTIVES: Readonly<Record<string, DirectiveHandler<SharedSettings>>> = {
  httpredirect: (d, s, ctx) => {
    const policy = accept(d, readHttpRedirect(valueText(d).trim()), ctx);
    if (policy !== undefined) s.httpredirect = { value: policy, pos: d.pos };
  },
};

/** Handlers of `httpstatus`, `receivenot` and `tlsservername`, valid in a virtual section. */
export const HTTP_VIRTUAL_DIRECTIVES: Readonly<Record<string, DirectiveHandler<VirtualDraft>>> = {
  httpstatus: (d, v, ctx) => {
    const ranges = accept(d, parseHttpStatus(valueText(d)), ctx);
    if (ranges !== undefined) v.httpstatus = ranges;
  },
  receivenot: (d, v, ctx) => {
    const pattern = readOptionallyQuoted(d);
    if (pattern === '') {
      ctx.sink.error('invalid-value', d.pos, 'invalid receivenot string: empty', d.key);
      return;
    }
    v.receivenot = pattern;
    warnIfNotJsRegExp(d, 'receivenot', pattern, ctx);
  },
  tlsservername: (d, v, ctx) => {
    const name = valueText(d).trim();
    if (!isServerName(name)) {
      ctx.sink.error(
        'invalid-value',
        d.pos,
        `tlsservername must be a host name (TLS sends no IP address as server name), not "${valueText(d)}"`,
        d.key,
      );
      return;
    }
    v.tlsservername = name;
  },
};

/** `tlsverify` in force for a virtual: its own, else the global one, else no (as ldirectord). */
function verifies(v: SharedSettings, g: SharedSettings): boolean {
  return v.tlsverify?.value ?? g.tlsverify?.value ?? false;
}

/**
 * A `tlscafile` that no check would use is an error (the operator meant the certificates to be verified): one in a
 * virtual section whose `tlsverify` is not yes, or a global one that neither the global `tlsverify` nor any virtual
 * without its own `tlscafile` turns on.
 */
export function checkTlsDrafts(drafts: Drafts, sink: DiagnosticSink): void {
  const g = drafts.global;
  const why = 'without tlsverify=yes no certificate is verified, and the CA file is not used';
  for (const v of drafts.virtuals) {
    if (v.tlscafile && !verifies(v, g)) sink.error('invalid-value', v.tlscafile.pos, `tlscafile: ${why}`, 'tlscafile');
  }
  if (g.tlscafile && g.tlsverify?.value !== true && !drafts.virtuals.some((v) => !v.tlscafile && verifies(v, g))) {
    sink.error(
      'invalid-value',
      g.tlscafile.pos,
      `tlscafile: ${why} (no virtual service sets tlsverify=yes)`,
      'tlscafile',
    );
  }
}

/**
 * The HTTP answer rules and TLS settings of a virtual's check, with defaults applied. The server name defaults to the
 * `virtualhost` for the http services only, the ones that read it.
 */
export function httpCheckSettings(
  v: VirtualDraft,
  g: GlobalDraft,
  service: CheckService,
): Pick<CheckSpec, 'httpStatus' | 'receiveNot' | 'httpRedirect' | 'tls'> {
  const verify = verifies(v, g);
  const caFile = verify ? (v.tlscafile ?? g.tlscafile)?.value : undefined;
  const http = service === 'http' || service === 'https' || service === 'http_proxy';
  const serverName = v.tlsservername ?? (http ? serverNameOfVirtualHost(v.virtualhost) : undefined);
  const tls: TlsCheckSettings = {
    verify,
    ...(caFile ? { caFile: caFile.path, ca: caFile.pem } : {}),
    ...(serverName !== undefined ? { serverName } : {}),
  };
  const httpRedirect = v.httpredirect?.value ?? g.httpredirect?.value ?? DEFAULT_HTTP_REDIRECT;
  return { httpStatus: v.httpstatus ?? DEFAULT_HTTP_STATUS, receiveNot: v.receivenot ?? '', httpRedirect, tls };
}
