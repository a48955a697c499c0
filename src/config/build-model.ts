// Second pass: resolves names, expands ranges, applies defaults and builds the immutable Config.
import type {
  AddressFamily, AlertSpec, CheckSpec, CheckWeightSettings, Config, FallbackServer, GlobalSettings, QuorumSettings, RealServer, SourcePos,
  VirtualService,
} from '../model';
import { DAEMON_STATES, quorumThresholds } from '../model';
import { DEFAULTS, serviceForPort } from './defaults';
import { alertExtras, buildAlertThrottle, checkAlertDrafts } from './directives-alerts';
import { buildAnnounce, virtualAnnounce } from './directives-announce';
import { checkTlsDrafts, httpCheckSettings } from './directives-http';
import { buildIpvsTimeouts } from './directives-ipvs-timeouts';
import { buildStateSync } from './directives-state-sync';
import { buildSysctlSettings } from './directives-sysctl';
import { realTunnel } from './directives-tunnel';
import type { DiagnosticSink } from './diagnostics';
import type { Drafts } from './read-directives';
import { servicePort, type Resolver } from './resolver';
import { checkGlobalsStrictly, checkVirtualStrictly } from './strict';
import { checkMixedFamiliesWithSync } from './strict-tunnels';
import type { FallbackEntry, GlobalDraft, RealEntry, VirtualDraft } from './settings';

/** Largest `first->last` range ldir expands (ldirectord has no limit and would try 16 million entries). */
export const MAX_RANGE_SIZE = 65536;

/** Most real servers one configuration may hold after range expansion (keepalived's largest tested table is 30,000). */
export const MAX_TOTAL_REALS = 200_000;

/** Inputs of {@link buildModel}. */
export interface BuildContext {
  readonly file: string;
  readonly format: 'cf' | 'yaml';
  readonly sink: DiagnosticSink;
  readonly resolver: Resolver;
  readonly hostname: string;
  /** Files read through `include` (absolute, in reading order). */
  readonly includedFiles?: readonly string[];
}

/** `line N` of a position in `file`, or `PATH:LINE` when it is in another file (an included one). */
function placeOf(pos: SourcePos, file: string): string {
  return pos.file === file ? `line ${pos.line}` : `${pos.file}:${pos.line}`;
}

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Resolves a fallback line; `defaultPort` is the virtual's port text (undefined for a global fallback). */
async function resolveFallback(
  entry: FallbackEntry, family: AddressFamily, protocol: 'tcp' | 'udp' | 'sctp' | 'fwm', defaultPort: number, ctx: BuildContext,
): Promise<FallbackServer | undefined> {
  const empty = entry.line.host === '';
  if (empty) {
    ctx.sink.warn('ignored-setting', entry.pos, `an empty fallback server means the local host (${family === 'inet' ? '127.0.0.1' : '::1'}), as getaddrinfo("") gives ldirectord`, 'fallback');
  }
  const address = empty ? (family === 'inet' ? '127.0.0.1' : '::1') : await ctx.resolver.resolveHost(entry.line.host, family);
  if (address === undefined) {
    ctx.sink.error('unresolvable', entry.pos, `invalid ${family === 'inet' ? 'IPv4' : 'IPv6'} address or could not resolve for fallback server: ${entry.line.host}`);
    return undefined;
  }
  let port = defaultPort;
  if (entry.line.port !== undefined && entry.line.port !== '0' && entry.line.port !== '') {
    // ldirectord looks service names up for the virtual's protocol, so an fwmark virtual accepts numbers only.
    const p = protocol === 'fwm' ? (/^\d+$/.test(entry.line.port) ? ctx.resolver.resolvePort(entry.line.port, '') : undefined) : servicePort(ctx.resolver, entry.line.port, protocol);
    if (p === undefined) {
      ctx.sink.error('unresolvable', entry.pos, `invalid port for fallback server: ${entry.line.port}`);
      return undefined;
    }
    port = p;
  } else if (entry.line.port !== undefined) {
    port = 0;
  }
  return { address, port, forward: entry.line.forward ?? 'gate', source: entry.pos };
}

/** Takes `n` real servers from the configuration-wide budget; false (with an error at `pos`) when it is spent. */
function takeReals(n: number, pos: SourcePos, ctx: BuildContext, budget: { left: number }): boolean {
  if (n > budget.left) {
    if (budget.left >= 0) ctx.sink.error('invalid-value', pos, `more than ${MAX_TOTAL_REALS} real servers in one configuration (ranges included)`, 'real');
    budget.left = -1;
    return false;
  }
  budget.left -= n;
  return true;
}

/** Resolves one real line of virtual section `v` into one real server per address of its range. */
async function resolveReal(entry: RealEntry, v: VirtualDraft, ctx: BuildContext, budget: { left: number }): Promise<RealServer[]> {
  const { line, pos, family } = entry;
  const first = await ctx.resolver.resolveHost(line.host, family);
  if (first === undefined) {
    ctx.sink.error('unresolvable', pos, `invalid address (${line.host}) for real server (could not resolve host)`, 'real');
    return [];
  }
  let port = 0;
  if (line.port !== undefined) {
    const p = ctx.resolver.resolvePort(line.port, '');
    if (p === undefined) {
      ctx.sink.error('unresolvable', pos, `invalid port (${line.port}) for real server (could not resolve port)`, 'real');
      return [];
    }
    port = p;
  }
  const base = {
    port,
    forward: line.forward,
    weight: line.weight ?? 1,
    ...(line.request !== undefined ? { request: line.request, receive: line.receive ?? '' } : {}),
    lowerThreshold: line.lowerThreshold ?? 0,
    upperThreshold: line.upperThreshold ?? 0,
    ...realTunnel(line, v),
    source: pos,
  };
  if (line.rangeEnd === undefined) return takeReals(1, pos, ctx, budget) ? [{ address: first, ...base }] : [];
  const last = await ctx.resolver.resolveHost(line.rangeEnd, family);
  if (last === undefined) {
    ctx.sink.error('unresolvable', pos, `invalid address (${line.rangeEnd}) for real server (could not resolve end host)`, 'real');
    return [];
  }
  if (family === 'inet6') {
    ctx.sink.error('invalid-value', pos, 'address range for IPv6 is not supported', 'real');
    return [];
  }
  const from = ipv4ToInt(first);
  const to = ipv4ToInt(last);
  if (from > to) {
    ctx.sink.error('invalid-value', pos, `invalid range ${first}->${last}: the first address must not be greater than the last`, 'real');
    return [];
  }
  if (to - from + 1 > MAX_RANGE_SIZE) {
    ctx.sink.error('invalid-value', pos, `range ${first}->${last} holds ${to - from + 1} addresses; at most ${MAX_RANGE_SIZE} are allowed`, 'real');
    return [];
  }
  if (!takeReals(to - from + 1, pos, ctx, budget)) return [];
  const out: RealServer[] = [];
  for (let n = from; n <= to; n++) out.push({ address: intToIpv4(n), ...base });
  return out;
}

/** Identity of a virtual service as ldirectord builds it (`get_virtual_id_str`). */
export function virtualId(protocol: string, family: AddressFamily, address: string | undefined, port: number, mark: number | undefined): string {
  if (protocol === 'fwm') return `fwm${family === 'inet6' ? '6' : ''}:${mark}`;
  return `${protocol}:${family === 'inet6' ? `[${address}]` : address}:${port}`;
}

/** Mail settings of a virtual: its own values, else the global ones. */
function alertSpec(v: VirtualDraft, g: GlobalDraft): AlertSpec {
  const smtp = v.smtp ?? g.smtp;
  return {
    emailAlert: v.emailalert ?? g.emailalert ?? [],
    ...(g.emailalertfrom !== undefined ? { emailAlertFrom: g.emailalertfrom } : {}),
    emailAlertFreq: v.emailalertfreq ?? g.emailalertfreq ?? DEFAULTS.emailAlertFreq,
    emailAlertStatus: v.emailalertstatus ?? g.emailalertstatus ?? [...DAEMON_STATES],
    ...(smtp !== undefined ? { smtp } : {}),
    ...alertExtras(v, g),
  };
}

/** Check settings of a virtual, with ldirectord's timeout cross-fallback rule. */
function checkSpec(v: VirtualDraft, g: GlobalDraft, port: number, hostname: string): CheckSpec {
  const service = v.service ?? serviceForPort(port);
  const login = v.login ?? (service === 'ftp' ? 'anonymous' : service === 'sip' ? `ldirectord@${hostname}` : '');
  const passwd = v.passwd ?? (service === 'ftp' ? `ldirectord@${hostname}` : '');
  return {
    // An SCTP service cannot run a negotiate check (strict-sctp.ts): its check is a connect, unless written otherwise.
    type: v.protocol === 'sctp' && !v.written.has('checktype') ? 'connect' : v.checktype,
    connectsBetweenNegotiates: v.connects,
    service,
    command: v.checkcommand,
    ...(v.checkport !== undefined ? { port: v.checkport } : {}),
    request: v.request,
    receive: v.receive,
    httpMethod: v.httpmethod,
    ...(v.virtualhost !== undefined && v.virtualhost !== '' ? { virtualHost: v.virtualhost } : {}),
    login,
    passwd,
    database: v.database ?? '',
    secret: v.secret ?? '',
    checkTimeout: v.checktimeout ?? v.negotiatetimeout ?? g.checktimeout ?? g.negotiatetimeout ?? DEFAULTS.checkTimeout,
    negotiateTimeout: v.negotiatetimeout ?? v.checktimeout ?? g.negotiatetimeout ?? g.checktimeout ?? DEFAULTS.negotiateTimeout,
    interval: (g.fork === true ? v.checkinterval : undefined) ?? g.checkinterval ?? DEFAULTS.checkInterval,
    checkCount: v.checkcount ?? g.checkcount ?? DEFAULTS.checkCount,
    failureCount: v.failurecount ?? g.failurecount ?? DEFAULTS.failureCount,
    riseCount: v.risecount ?? g.risecount ?? DEFAULTS.riseCount,
    ...httpCheckSettings(v, g, service),
  };
}

/** Keeps the last of several real servers with the same address and port (as ldirectord's edits would), warning. */
function dedupeReals(reals: RealServer[], ctx: BuildContext): RealServer[] {
  const byKey = new Map<string, RealServer>();
  for (const r of reals) {
    const key = `${r.address}|${r.port}`;
    const earlier = byKey.get(key);
    if (earlier) {
      ctx.sink.warn('ignored-setting', r.source, `real server ${r.address}:${r.port} is listed again (first at line ${earlier.source.line}); this later entry is used`, 'real');
      byKey.delete(key);
    }
    byKey.set(key, r);
  }
  return [...byKey.values()];
}

/**
 * The quorum settings of a virtual (its own directives, else the global ones); undefined when none is set; null after
 * an error: a hysteresis not below the quorum, or a quorum the virtual's reals can never reach.
 */
function quorumSettings(v: VirtualDraft, g: GlobalDraft, realCount: number, ctx: BuildContext): QuorumSettings | undefined | null {
  const needed = v.quorum ?? g.quorum;
  const hysteresis = v.hysteresis ?? g.hysteresis;
  const upCommand = v.quorumupcommand ?? g.quorumupcommand;
  const downCommand = v.quorumdowncommand ?? g.quorumdowncommand;
  if (needed === undefined && hysteresis === undefined && upCommand === undefined && downCommand === undefined) return undefined;
  const settings: QuorumSettings = {
    needed: needed?.value ?? { kind: 'count', value: 1 }, hysteresis: hysteresis?.value ?? 0,
    ...(upCommand !== undefined ? { upCommand } : {}), ...(downCommand !== undefined ? { downCommand } : {}),
    source: needed?.pos ?? hysteresis?.pos ?? v.pos,
  };
  const t = quorumThresholds(settings, realCount);
  const where = `virtual service at line ${v.pos.line}`;
  if (hysteresis !== undefined && t.hysteresis >= t.quorum) {
    ctx.sink.error('invalid-value', hysteresis.pos, `hysteresis=${t.hysteresis} must be less than the quorum (${t.quorum} real server${t.quorum === 1 ? '' : 's'}) of the ${where}`, 'hysteresis');
    return null;
  }
  if (needed !== undefined && t.gainAt > realCount) {
    const text = needed.value.kind === 'percent' ? `quorum=${needed.value.value}% (${t.quorum} of ${realCount})` : `quorum=${t.quorum}`;
    ctx.sink.error('invalid-value', needed.pos, `${text}${t.hysteresis > 0 ? ` with hysteresis=${t.hysteresis}` : ''} needs ${t.gainAt} serving real servers but the ${where} has ${realCount}: it could never be gained`, 'quorum');
    return null;
  }
  return settings;
}

/**
 * The bounds of the weights a virtual's checks report: http/https negotiate checks with a `weightheader`, and external
 * checks (a `weight=N` line). Undefined when the check reports none; null after an error: a `weightheader`,
 * `minweight` or `maxweight` written in the virtual section that its check would ignore, or a minimum above the
 * maximum. (Global values are defaults: a virtual whose check reports no weight simply does not use them.)
 */
function checkWeightSettings(v: VirtualDraft, g: GlobalDraft, check: CheckSpec, ctx: BuildContext): CheckWeightSettings | undefined | null {
  const http = (check.type === 'negotiate' || check.type === 'combined') && ['http', 'https', 'http_proxy'].includes(check.service);
  const external = check.type === 'external' || check.type === 'external-perl';
  const header = v.weightheader ?? g.weightheader;
  const min = v.minweight ?? g.minweight;
  const max = v.maxweight ?? g.maxweight;
  const what = `checktype=${check.type}${check.type === 'negotiate' || check.type === 'combined' ? ` service=${check.service}` : ''}`;
  if (v.weightheader && !http) {
    ctx.sink.error('invalid-value', v.weightheader.pos, `weightheader needs an http or https negotiate check; with ${what} it would be ignored`, 'weightheader');
    return null;
  }
  const reports = external || (http && header !== undefined);
  for (const [name, placed] of [['minweight', v.minweight], ['maxweight', v.maxweight]] as const) {
    if (placed && !reports) {
      ctx.sink.error('invalid-value', placed.pos, `${name} bounds the weight a check reports; ${what}${http ? ' without weightheader' : ''} reports none: it would be ignored`, name);
      return null;
    }
  }
  if (!reports) return undefined;
  if (min && max && min.value > max.value) {
    ctx.sink.error('invalid-value', max.pos, `maxweight=${max.value} is below minweight=${min.value}`, 'maxweight');
    return null;
  }
  return { ...(http && header ? { header: header.value.toLowerCase() } : {}), min: min?.value ?? 0, ...(max ? { max: max.value } : {}) };
}

/** Resolves a virtual draft into a VirtualService, or undefined when it has errors. */
async function buildVirtual(
  v: VirtualDraft, g: GlobalDraft, globalFallbacks: Map<string, FallbackServer | undefined>, ctx: BuildContext, budget: { left: number },
): Promise<VirtualService | undefined> {
  const a = v.address;
  if (a === undefined) return undefined;
  let address: string | undefined;
  let port = 0;
  let bad = false;
  if (a.kind === 'address') {
    address = await ctx.resolver.resolveHost(a.host, v.family);
    const p = servicePort(ctx.resolver, a.port, v.protocol === 'fwm' ? 'tcp' : v.protocol);
    if (address === undefined) {
      ctx.sink.error('unresolvable', v.pos, `invalid address for virtual service: could not resolve ${a.host} as ${v.family === 'inet' ? 'IPv4' : 'IPv6'}`, v.family === 'inet' ? 'virtual' : 'virtual6');
      bad = true;
    } else if (p === undefined) {
      ctx.sink.error('unresolvable', v.pos, `invalid address for virtual service: unknown port or service "${a.port}" for ${v.protocol}`, v.family === 'inet' ? 'virtual' : 'virtual6');
      bad = true;
    } else {
      port = p;
    }
  }
  const fallbackPromise = v.fallback ? resolveFallback(v.fallback, v.family, v.protocol, port, ctx) : Promise.resolve(undefined);
  const realLists = await Promise.all(v.reals.map((r) => resolveReal(r, v, ctx, budget)));
  const ownFallback = await fallbackPromise;
  if (bad || (v.fallback && !ownFallback)) return undefined;
  let fallback = ownFallback;
  if (!fallback && v.protocol !== 'fwm') {
    const global = globalFallbacks.get(`${v.family}/${v.protocol}`);
    if (global) fallback = global.port === 0 ? { ...global, port } : global;
  }
  const fallbackCommand = v.fallbackcommand ?? g.fallbackcommand;
  const quiescent = v.quiescent ?? g.quiescent ?? DEFAULTS.quiescent;
  const cleanstop = v.cleanstop ?? g.cleanstop ?? DEFAULTS.cleanstop;
  const reals = dedupeReals(realLists.flat(), ctx);
  const quorum = quorumSettings(v, g, reals.length, ctx);
  if (quorum === null) return undefined;
  const check = checkSpec(v, g, port, ctx.hostname);
  const checkWeight = checkWeightSettings(v, g, check, ctx);
  if (checkWeight === null) return undefined;
  const announce = virtualAnnounce(v, g, address !== undefined && a.kind !== 'fwmark', ctx.sink);
  if (announce === null) return undefined;
  const vs: VirtualService = {
    id: virtualId(v.protocol, v.family, address, port, a.kind === 'fwmark' ? a.mark : undefined),
    family: v.family,
    protocol: v.protocol,
    ...(address !== undefined ? { address } : {}),
    port,
    ...(a.kind === 'fwmark' ? { fwmark: a.mark } : {}),
    scheduler: v.scheduler,
    ...(v.schedflags !== undefined ? { schedFlags: v.schedflags } : {}),
    ...(v.persistent !== undefined ? { persistent: v.persistent } : {}),
    ...(v.netmask !== undefined ? { netmask: v.netmask } : {}),
    ...(v.persistenceengine !== undefined ? { persistenceEngine: v.persistenceengine } : {}),
    ops: v.ops,
    reals,
    ...(fallback ? { fallback } : {}),
    ...(fallbackCommand !== undefined ? { fallbackCommand } : {}),
    ...(quorum !== undefined ? { quorum } : {}),
    ...(checkWeight !== undefined ? { checkWeight } : {}),
    ...((v.slowstart ?? g.slowstart ?? 0) > 0 ? { slowStart: v.slowstart ?? g.slowstart } : {}),
    ...(announce !== undefined ? { announce } : {}),
    check,
    quiescent,
    cleanstop,
    alerts: alertSpec(v, g),
    ...(v.monitorfile !== undefined ? { monitorFile: v.monitorfile } : {}),
    ...(v.servicename !== undefined ? { serviceName: v.servicename } : {}),
    ...(v.comment !== undefined ? { comment: v.comment } : {}),
    source: v.pos,
  };
  checkVirtualStrictly({ draft: v, virtual: vs }, ctx.sink);
  return vs;
}

/**
 * Resolves the global fallbacks. ldirectord keeps one per protocol (tcp and udp) and resolves the port for both,
 * so a service name known only for tcp is an error there too.
 */
async function globalFallbackTable(g: GlobalDraft, ctx: BuildContext): Promise<Map<string, FallbackServer | undefined>> {
  const table = new Map<string, FallbackServer | undefined>();
  for (const [entry, family] of [[g.fallback, 'inet'], [g.fallback6, 'inet6']] as const) {
    if (!entry) continue;
    const tcp = await resolveFallback(entry, family, 'tcp', 0, ctx);
    if (!tcp) continue;
    const port = entry.line.port;
    const noPort = port === undefined || port === '0' || port === '';
    const udpPort = noPort ? 0 : ctx.resolver.resolvePort(port, 'udp');
    if (udpPort === undefined) {
      ctx.sink.error('unresolvable', entry.pos, `invalid port for fallback server: ${port} is not a udp service (ldirectord resolves a global fallback for tcp and udp)`);
      continue;
    }
    table.set(`${family}/tcp`, tcp);
    table.set(`${family}/udp`, { ...tcp, port: udpPort });
    // SCTP virtual services (an ldir extension) take it too; a name is looked up for sctp, then tcp (servicePort).
    table.set(`${family}/sctp`, { ...tcp, port: noPort ? 0 : servicePort(ctx.resolver, port, 'sctp') ?? tcp.port });
  }
  return table;
}

/** Global settings with defaults applied. */
function globalSettings(
  g: GlobalDraft, sysctl: GlobalSettings['sysctl'], stateSync: GlobalSettings['stateSync'], ipvsTimeouts: GlobalSettings['ipvsTimeouts'],
): GlobalSettings {
  return {
    autoreload: g.autoreload ?? DEFAULTS.autoreload,
    ...(g.callback !== undefined ? { callback: g.callback } : {}),
    logfile: g.logfile ?? DEFAULTS.logfile,
    execute: [...g.execute],
    fork: g.fork ?? DEFAULTS.fork,
    supervised: g.supervised ?? DEFAULTS.supervised,
    readdQuiescent: g.readdquiescent ?? DEFAULTS.readdQuiescent,
    ...(g.maintenancedir !== undefined ? { maintenanceDir: g.maintenancedir } : {}),
    sysctl,
    alerting: buildAlertThrottle(g),
    metrics: g.metrics === undefined ? { ...DEFAULTS.metrics } : g.metrics,
    drain: { enabled: g.drain ?? DEFAULTS.drain, timeout: g.draintimeout ?? DEFAULTS.drainTimeout },
    stateSync,
    ...(ipvsTimeouts !== undefined ? { ipvsTimeouts } : {}),
  };
}

/** Freezes an object graph so the model is immutable at run time too (also a model rebuilt by a structured clone). */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** Builds the Config from drafts; returns undefined when any error was recorded. */
export async function buildModel(drafts: Drafts, ctx: BuildContext): Promise<Config | undefined> {
  const g = drafts.global;
  if (g.fork !== true) {
    for (const v of drafts.virtuals) {
      if (v.checkinterval !== undefined) {
        ctx.sink.warn('ignored-setting', v.pos, 'checkinterval in a virtual service is ignored when fork=no (as ldirectord): set it globally, or set fork=yes', 'checkinterval');
      }
    }
  }
  checkAlertDrafts(drafts, ctx.sink);
  checkTlsDrafts(drafts, ctx.sink);
  const fallbacks = await globalFallbackTable(g, ctx);
  const budget = { left: MAX_TOTAL_REALS };
  const built = await Promise.all(drafts.virtuals.map((v) => buildVirtual(v, g, fallbacks, ctx, budget)));
  checkGlobalsStrictly([fallbacks.get('inet/tcp'), fallbacks.get('inet6/tcp')], built.filter((vs): vs is VirtualService => vs !== undefined), ctx.sink);
  checkMixedFamiliesWithSync(drafts.virtuals, g.sync, ctx.sink);
  const seen = new Map<string, SourcePos>();
  const services: VirtualService[] = [];
  for (const vs of built) {
    if (!vs) continue;
    const first = seen.get(vs.id);
    if (first) {
      // Reported where ldirectord reports it: the line that ended the duplicate section (cf), the virtual (YAML).
      const draft = drafts.virtuals[built.indexOf(vs)] as VirtualDraft;
      ctx.sink.error('duplicate-virtual', { ...vs.source, line: draft.endLine },
        `duplicate virtual server ${vs.id}: the section at line ${vs.source.line} repeats the one at ${placeOf(first, vs.source.file)}`);
      continue;
    }
    seen.set(vs.id, vs.source);
    services.push(vs);
  }
  const sysctl = buildSysctlSettings(g, ctx.sink);
  const stateSync = buildStateSync(g, ctx.sink);
  const ipvsTimeouts = buildIpvsTimeouts(g, ctx.sink);
  const announce = buildAnnounce(g, services.flatMap((vs) => (vs.announce ? [vs.announce] : [])), ctx.sink);
  if (ctx.sink.hasErrors()) return undefined;
  const included = ctx.includedFiles !== undefined && ctx.includedFiles.length > 0 ? { includedFiles: [...ctx.includedFiles] } : {};
  return deepFreeze({
    file: ctx.file, ...included, format: ctx.format, globals: { ...globalSettings(g, sysctl, stateSync, ipvsTimeouts), ...(announce ? { announce } : {}) }, virtualServices: services,
  });
}
