// Pure parsing of ipvsadm 1.31 list output (`-Ln --exact` with the table formats, `--timeout`, `--daemon`).
import { ErrorCodes, LdirError } from '../../errors';
import type {
  ForwardingMethod,
  IpvsDestination,
  IpvsFamily,
  IpvsInfo,
  IpvsService,
  IpvsStats,
  IpvsSyncDaemon,
  IpvsTimeouts,
  ObservedDestination,
  ObservedService,
  SchedulerFlag,
  ServiceKey,
  TunnelChecksum,
} from '../types';

export { classifyRestoreStderr, errnoOfMessage, restoreMarker, type RestoreAttribution } from './restore';

/**
 * The table formats of `ipvsadm -L` (`print_title` in ipvsadm.c): `plain` (no format option), `tun-info`
 * (`--tun-info`), `thresholds`, `persistent-conn`, `stats`, `rate`. ipvsadm prints only one per listing.
 */
export type ListingKind = 'plain' | 'tun-info' | 'thresholds' | 'persistent-conn' | 'stats' | 'rate';

/** One service line of a listing with its destination lines, split into words. */
export interface ListingEntry {
  readonly key: ServiceKey;
  /** Words after the service identity (scheduler and options, or counters). */
  readonly fields: readonly string[];
  readonly destinations: readonly {
    readonly address: string;
    readonly family: IpvsFamily;
    readonly port: number;
    readonly fields: readonly string[];
  }[];
}

/** One listing (from its title lines to the next title or header). */
export interface ListingSection {
  readonly kind: ListingKind;
  readonly entries: readonly ListingEntry[];
}

function protocolError(message: string, line?: string): never {
  throw new LdirError(ErrorCodes.IPVS_PROTOCOL, `unexpected ipvsadm output: ${message}`, {
    details: line === undefined ? {} : { line },
  });
}

const HEADER_RE = /^IP Virtual Server version (\d+)\.(\d+)\.(\d+) \(size=(\d+)\)\s*$/;

/** Parses `ADDR:PORT` / `[ADDR6]:PORT` as printed by `addrport_to_anyname` with `-n`. */
export function parseAddressPort(text: string): { address: string; family: IpvsFamily; port: number } {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (!m || m[1] === undefined || m[2] === undefined) return protocolError(`address '${text}' (was -n given?)`);
  const port = Number(m[2]);
  if (port > 65535) protocolError(`port in '${text}'`);
  return { address: m[1].toLowerCase(), family: text.startsWith('[') ? 'inet6' : 'inet', port };
}

/** Splits the identity words off a service line: `TCP  10.0.0.1:80`, `SCTP [fd00::1]:80`, `FWM  7`, `FWM  7 IPv6`. */
function parseServiceHead(words: readonly string[], line: string): { key: ServiceKey; rest: readonly string[] } {
  const [proto, target] = words;
  if (proto === 'FWM') {
    if (target === undefined || !/^\d+$/.test(target)) return protocolError('firewall mark', line);
    const v6 = words[2] === 'IPv6';
    return { key: { family: v6 ? 'inet6' : 'inet', fwmark: Number(target) }, rest: words.slice(v6 ? 3 : 2) };
  }
  const protocol = proto === 'TCP' ? 'tcp' : proto === 'UDP' ? 'udp' : proto === 'SCTP' ? 'sctp' : undefined;
  if (protocol === undefined || target === undefined) return protocolError(`service protocol '${String(proto)}'`, line);
  const { address, family, port } = parseAddressPort(target);
  return { key: { family, protocol, address, port }, rest: words.slice(2) };
}

/** Kind of a listing from its first title line and the line after it. */
function titleKind(first: string, second: string | undefined): ListingKind | undefined {
  if (!first.startsWith('Prot LocalAddress:Port')) return undefined;
  if (/\bConns\b/.test(first)) return 'stats';
  if (/\bCPS\b/.test(first)) return 'rate';
  if (/\bUthreshold\b/.test(first)) return 'thresholds';
  if (/\bPersistConn\b/.test(first)) return 'persistent-conn';
  if (/Scheduler Flags/.test(first))
    return second !== undefined && /\bTunnelInfo\b/.test(second) ? 'tun-info' : 'plain';
  return undefined;
}

/**
 * Splits the output of one or more `ipvsadm -L -n` runs (concatenated, each with or without the version header)
 * into its listings, each a list of service lines with their destination lines in words.
 */
export function parseListingSections(text: string): ListingSection[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const sections: {
    kind: ListingKind;
    entries: { key: ServiceKey; fields: readonly string[]; destinations: ListingEntry['destinations'][number][] }[];
  }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '' || HEADER_RE.test(line)) continue;
    const kind = titleKind(line, lines[i + 1]);
    if (kind !== undefined) {
      sections.push({ kind, entries: [] });
      if ((lines[i + 1] ?? '').startsWith('  -> RemoteAddress:Port')) i++;
      continue;
    }
    const section = sections[sections.length - 1];
    if (section === undefined) protocolError('a table line before any title line', line);
    const words = line.trim().split(/\s+/);
    if (words[0] === '->') {
      const entry = section.entries[section.entries.length - 1];
      if (entry === undefined || words[1] === undefined)
        return protocolError('a destination line outside a service', line);
      entry.destinations.push({ ...parseAddressPort(words[1]), fields: words.slice(2) });
      continue;
    }
    const { key, rest } = parseServiceHead(words, line);
    section.entries.push({ key, fields: rest, destinations: [] });
  }
  return sections;
}

/** Stable identity of a parsed service key. */
function keyString(key: ServiceKey): string {
  return 'fwmark' in key ? `fwm/${key.family}/${key.fwmark}` : `${key.protocol}/${key.address}/${key.port}`;
}

function uint(text: string | undefined, what: string): number {
  if (text === undefined || !/^\d+$/.test(text)) return protocolError(`${what} '${String(text)}'`);
  return Number(text);
}

function counter(text: string | undefined, what: string): bigint {
  if (text === undefined || !/^\d+$/.test(text)) return protocolError(`${what} '${String(text)}' (was --exact given?)`);
  return BigInt(text);
}

const FLAG_NAMES: Readonly<Record<string, SchedulerFlag>> = {
  'flag-1': 'flag-1',
  'sh-fallback': 'flag-1',
  'mh-fallback': 'flag-1',
  'flag-2': 'flag-2',
  'sh-port': 'flag-2',
  'mh-port': 'flag-2',
  'flag-3': 'flag-3',
};

/** Parses the words after the identity on a service line of the plain-style listings (`print_service_entry`). */
export function parseServiceSettings(key: ServiceKey, fields: readonly string[]): IpvsService {
  const [scheduler, ...rest] = fields;
  if (scheduler === undefined) return protocolError('service line without scheduler');
  let persistent: number | undefined;
  let netmask: string | undefined;
  let pe: string | undefined;
  let onePacket = false;
  const flags = new Set<SchedulerFlag>();
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i] ?? '';
    if (word.startsWith('(') && word.endsWith(')')) {
      for (const name of word.slice(1, -1).split(',')) {
        const flag = FLAG_NAMES[name];
        if (flag === undefined) protocolError(`scheduler flag '${name}'`);
        flags.add(flag);
      }
    } else if (word === 'persistent') persistent = uint(rest[++i], 'persistence timeout');
    else if (word === 'mask') netmask = rest[++i] ?? protocolError('mask without value');
    else if (word === 'pe') pe = rest[++i] ?? protocolError('pe without value');
    else if (word === 'ops') onePacket = true;
    else protocolError(`service option '${word}'`);
  }
  return {
    ...key,
    scheduler,
    ...(persistent !== undefined ? { persistent } : {}),
    ...(netmask !== undefined ? { netmask } : {}),
    onePacket,
    schedulerFlags: [...flags].sort(),
    ...(pe !== undefined ? { persistenceEngine: pe } : {}),
  };
}

const FORWARD_NAMES: Readonly<Record<string, ForwardingMethod>> = {
  Masq: 'masq',
  Local: 'local',
  Tunnel: 'tunnel',
  Route: 'route',
};
const CSUM_NAMES: Readonly<Record<string, TunnelChecksum>> = { '-c': 'nocsum', '+c': 'csum', 'r+c': 'remcsum' };

/** Parses a `TunnelInfo` column (`fwd_tun_info`): `n/a`, `ipip`, `gue:PORT:FLAGS`, `gre:FLAGS`. */
export function parseTunnelInfo(text: string): Pick<IpvsDestination, 'tunnelType' | 'tunnelPort' | 'tunnelChecksum'> {
  if (text === 'n/a') return {};
  if (text === 'ipip') return { tunnelType: 'ipip' };
  const gue = /^gue:(\d+):(.+)$/.exec(text);
  const gre = /^gre:(.+)$/.exec(text);
  const csum = CSUM_NAMES[gue?.[2] ?? gre?.[1] ?? ''];
  if (gue && csum) return { tunnelType: 'gue', tunnelPort: uint(gue[1], 'tunnel port'), tunnelChecksum: csum };
  if (gre && csum) return { tunnelType: 'gre', tunnelChecksum: csum };
  return protocolError(`tunnel info '${text}'`);
}

interface DestAcc {
  base?: Omit<ObservedDestination, 'persistentConns' | 'upperThreshold' | 'lowerThreshold' | 'stats'>;
  upper?: number;
  lower?: number;
  persist?: number;
  counters?: readonly bigint[];
  rates?: readonly bigint[];
}

interface ServiceAcc {
  service?: IpvsService;
  tunInfo: boolean;
  counters?: readonly bigint[];
  rates?: readonly bigint[];
  dests: Map<string, DestAcc>;
}

function toStats(counters: readonly bigint[] | undefined, rates: readonly bigint[] | undefined): IpvsStats | undefined {
  if (counters === undefined && rates === undefined) return undefined;
  const c = counters ?? [];
  const r = rates ?? [];
  return {
    conns: c[0] ?? 0n,
    inPackets: c[1] ?? 0n,
    outPackets: c[2] ?? 0n,
    inBytes: c[3] ?? 0n,
    outBytes: c[4] ?? 0n,
    cps: r[0] ?? 0n,
    inPps: r[1] ?? 0n,
    outPps: r[2] ?? 0n,
    inBps: r[3] ?? 0n,
    outBps: r[4] ?? 0n,
  };
}

function fiveCounters(fields: readonly string[], what: string): bigint[] {
  if (fields.length !== 5) protocolError(`${what}: ${fields.length} columns instead of 5`);
  return fields.map((f) => counter(f, what));
}

/** Folds one destination line of a listing into its accumulator. */
function addDestination(kind: ListingKind, acc: DestAcc, d: ListingEntry['destinations'][number]): void {
  const f = d.fields;
  const id = { address: d.address, family: d.family, port: d.port };
  switch (kind) {
    case 'plain':
    case 'tun-info': {
      const tun = kind === 'tun-info';
      if (f.length !== (tun ? 5 : 4)) protocolError(`destination ${d.address}: ${f.length} columns`);
      const forward = FORWARD_NAMES[f[0] ?? ''] ?? protocolError(`forwarding method '${String(f[0])}'`);
      const n = tun ? 2 : 1;
      if (acc.base !== undefined && !tun) return;
      acc.base = {
        ...id,
        forward,
        weight: uint(f[n], 'weight'),
        activeConns: uint(f[n + 1], 'ActiveConn'),
        inactiveConns: uint(f[n + 2], 'InActConn'),
        ...(tun ? parseTunnelInfo(f[1] ?? '') : {}),
      };
      return;
    }
    case 'thresholds':
      acc.upper = uint(f[0], 'Uthreshold');
      acc.lower = uint(f[1], 'Lthreshold');
      return;
    case 'persistent-conn':
      acc.persist = uint(f[1], 'PersistConn');
      return;
    case 'stats':
      acc.counters = fiveCounters(f, `stats of ${d.address}`);
      return;
    case 'rate':
      acc.rates = fiveCounters(f, `rates of ${d.address}`);
      return;
  }
}

/**
 * Merges the listings of one or more `ipvsadm -L -n --exact [--tun-info|--thresholds|--persistent-conn|--stats|--rate]`
 * runs into the observed table. Services and destinations come from the plain or `--tun-info` listing (tunnel
 * details only from `--tun-info`); thresholds, persistent connections, counters and rates are joined by identity and
 * default to 0 (stats stay undefined without a `--stats` or `--rate` listing). Entries missing from the plain/tun-info
 * listing (added between two listings) are left out. Limits of ipvsadm's output: the netmask and the persistence
 * engine are shown only on persistent services, and `flag-3` is not shown on `sh` and `mh` services.
 */
export function parseListing(text: string): ObservedService[] {
  const services = new Map<string, ServiceAcc>();
  for (const section of parseListingSections(text)) {
    for (const entry of section.entries) {
      const k = keyString(entry.key);
      let acc = services.get(k);
      if (acc === undefined) {
        acc = { tunInfo: false, dests: new Map() };
        services.set(k, acc);
      }
      if (section.kind === 'plain' || section.kind === 'tun-info') {
        if (acc.service === undefined || section.kind === 'tun-info')
          acc.service = parseServiceSettings(entry.key, entry.fields);
        if (section.kind === 'tun-info') acc.tunInfo = true;
      } else if (section.kind === 'stats') {
        acc.counters = fiveCounters(entry.fields, `stats of ${k}`);
      } else if (section.kind === 'rate') {
        acc.rates = fiveCounters(entry.fields, `rates of ${k}`);
      }
      for (const d of entry.destinations) {
        const dk = `${d.address}/${d.port}`;
        let dacc = acc.dests.get(dk);
        if (dacc === undefined) {
          dacc = {};
          acc.dests.set(dk, dacc);
        }
        addDestination(section.kind, dacc, d);
      }
    }
  }
  const result: ObservedService[] = [];
  for (const acc of services.values()) {
    if (acc.service === undefined) continue;
    const destinations: ObservedDestination[] = [];
    for (const d of acc.dests.values()) {
      if (d.base === undefined) continue;
      const stats = toStats(d.counters, d.rates);
      destinations.push({
        ...d.base,
        upperThreshold: d.upper ?? 0,
        lowerThreshold: d.lower ?? 0,
        persistentConns: d.persist ?? 0,
        ...(stats !== undefined ? { stats } : {}),
      });
    }
    const stats = toStats(acc.counters, acc.rates);
    result.push({ service: acc.service, destinations, ...(stats !== undefined ? { stats } : {}) });
  }
  return result;
}

/** Parses the version header of `ipvsadm -L`: `IP Virtual Server version 1.2.1 (size=4096)`. */
export function parseInfo(text: string): IpvsInfo {
  for (const line of text.split('\n')) {
    const m = HEADER_RE.exec(line.replace(/\r$/, ''));
    if (m) return { version: `${m[1]}.${m[2]}.${m[3]}`, connTableSize: Number(m[4]) };
  }
  return protocolError('no "IP Virtual Server version" header');
}

/** Parses `ipvsadm -L --timeout`: `Timeout (tcp tcpfin udp): 900 120 300`. */
export function parseTimeouts(text: string): IpvsTimeouts {
  const m = /^Timeout \(tcp tcpfin udp\): (\d+) (\d+) (\d+)\s*$/m.exec(text);
  if (!m) return protocolError('no "Timeout (tcp tcpfin udp)" line');
  return { tcp: Number(m[1]), tcpFin: Number(m[2]), udp: Number(m[3]) };
}

/**
 * Parses `ipvsadm -L --daemon` (`list_daemon`): one line per running daemon,
 * `master sync daemon (mcast=eth0, syncid=1[, maxlen=1472][, group=224.0.0.81][, port=8848][, ttl=1])`.
 */
export function parseDaemons(text: string): IpvsSyncDaemon[] {
  const daemons: IpvsSyncDaemon[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^(master|backup) sync daemon \((.*)\)$/.exec(line);
    if (!m || m[2] === undefined) return protocolError('sync daemon line', line);
    const fields = new Map<string, string>();
    for (const part of m[2].split(', ')) {
      const eq = part.indexOf('=');
      if (eq <= 0) protocolError('sync daemon field', line);
      fields.set(part.slice(0, eq), part.slice(eq + 1));
    }
    const num = (name: string): number | undefined => (fields.has(name) ? uint(fields.get(name), name) : undefined);
    const maxLength = num('maxlen');
    const port = num('port');
    const ttl = num('ttl');
    const group = fields.get('group');
    daemons.push({
      state: m[1] === 'master' ? 'master' : 'backup',
      interface: fields.get('mcast') ?? protocolError('sync daemon without mcast', line),
      syncId: num('syncid') ?? protocolError('sync daemon without syncid', line),
      ...(maxLength !== undefined ? { maxLength } : {}),
      ...(group !== undefined ? { group } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(ttl !== undefined ? { ttl } : {}),
    });
  }
  return daemons;
}
