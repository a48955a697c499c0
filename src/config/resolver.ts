// Name resolution for configuration: host names via getaddrinfo, service names via /etc/services, as ldirectord.
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { AddressFamily } from '../model';

/** Resolves names found in a configuration. Injected so tests need no DNS. */
export interface Resolver {
  /** Numeric address of `host` in `family` (first getaddrinfo answer), or undefined when it does not resolve. */
  resolveHost(host: string, family: AddressFamily): Promise<string | undefined>;
  /**
   * Port of a service name for `protocol` (`''` = any protocol, as ldirectord's real servers), or the number
   * itself when numeric and below 65536; undefined when unknown.
   */
  resolvePort(nameOrNumber: string, protocol: 'tcp' | 'udp' | 'sctp' | ''): number | undefined;
}

/**
 * The port of a virtual service (or its fallback) of `protocol`. An SCTP service name is looked up for sctp, then for
 * tcp: /etc/services lists few SCTP entries, and IANA gives a service the same port on both.
 */
export function servicePort(
  resolver: Resolver,
  nameOrNumber: string,
  protocol: 'tcp' | 'udp' | 'sctp',
): number | undefined {
  const port = resolver.resolvePort(nameOrNumber, protocol);
  return port === undefined && protocol === 'sctp' ? resolver.resolvePort(nameOrNumber, 'tcp') : port;
}

/** Canonical text of a numeric address: dotted quad, or compressed lower-case IPv6. */
export function canonicalAddress(address: string): string {
  return ipaddr.parse(address).toString();
}

/** Reads `/etc/services`-format text into name → protocol → port, aliases included. */
export function parseServices(text: string): Map<string, Map<string, number>> {
  const table = new Map<string, Map<string, number>>();
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [name, portProto, ...aliases] = line.split(/\s+/);
    const m = /^(\d+)\/(\w+)$/.exec(portProto ?? '');
    if (!name || !m) continue;
    for (const n of [name, ...aliases]) {
      let byProto = table.get(n);
      if (!byProto) table.set(n, (byProto = new Map()));
      if (!byProto.has(m[2] as string)) byProto.set(m[2] as string, Number(m[1]));
    }
  }
  return table;
}

/** Port lookup over a parsed services table, with ldirectord's numeric rule. */
export function portFromTable(
  table: Map<string, Map<string, number>>,
  nameOrNumber: string,
  protocol: 'tcp' | 'udp' | 'sctp' | '',
): number | undefined {
  if (/^[0-9]+$/.test(nameOrNumber)) {
    const n = Number(nameOrNumber);
    return n >= 0 && n < 65536 ? n : undefined;
  }
  const byProto = table.get(nameOrNumber);
  if (!byProto) return undefined;
  if (protocol === '') return byProto.values().next().value;
  return byProto.get(protocol);
}

/** Options of {@link systemResolver}. */
export interface SystemResolverOptions {
  /** Path of the services database; default `/etc/services`. */
  readonly servicesFile?: string;
}

/** The resolver ldir runs with: getaddrinfo (through `dns.lookup`) and the services file. Results are cached. */
export function systemResolver(options: SystemResolverOptions = {}): Resolver {
  let services: Map<string, Map<string, number>> | undefined;
  const hosts = new Map<string, Promise<string | undefined>>();
  const loadServices = (): Map<string, Map<string, number>> => {
    if (!services) {
      try {
        services = parseServices(readFileSync(options.servicesFile ?? '/etc/services', 'utf8'));
      } catch {
        services = new Map();
      }
    }
    return services;
  };
  return {
    resolveHost(host, family) {
      const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
      const want = family === 'inet' ? 4 : 6;
      if (bare === '') return Promise.resolve(undefined);
      const numeric = isIP(bare);
      if (numeric !== 0) return Promise.resolve(numeric === want ? canonicalAddress(bare) : undefined);
      const key = `${want}/${bare}`;
      let pending = hosts.get(key);
      if (!pending) {
        pending = lookup(bare, { family: want }).then(
          (r) => canonicalAddress(r.address),
          () => undefined,
        );
        hosts.set(key, pending);
      }
      return pending;
    },
    resolvePort(nameOrNumber, protocol) {
      return portFromTable(loadServices(), nameOrNumber, protocol);
    },
  };
}
