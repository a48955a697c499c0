// Canonical forms of IPVS services and destinations, so that an unchanged kernel table compares equal to the desired one.
import ipaddr from 'ipaddr.js';
import type {
  DesiredService,
  DestinationKey,
  IpvsDestination,
  IpvsFamily,
  IpvsService,
  ObservedDestination,
  ObservedService,
  SchedulerFlag,
  ServiceKey,
} from './types';
import { schedulerFlagWord } from './schedulers';

/** The kernel's default persistence netmask of an IPv4 service (host granularity). */
const V4_HOST_MASK = '255.255.255.255';
/** The kernel's default persistence prefix length of an IPv6 service. */
const V6_HOST_PREFIX = 128;

/** A dotted quad that is already canonical: four decimal octets 0..255 without leading zeros. */
const CANONICAL_V4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Canonical text of an address in a family: IPv4 dotted quad, IPv6 compressed lowercase (RFC 5952). In the inet
 * family an IPv4-mapped IPv6 form (`::ffff:a.b.c.d`) becomes `a.b.c.d`. Text that does not parse is returned trimmed
 * and lowercased (the backend refuses it).
 */
export function canonicalAddress(address: string, family: IpvsFamily): string {
  if (family === 'inet' && CANONICAL_V4.test(address)) return address; // the common case, without parsing
  const text = address
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  if (!ipaddr.isValid(text)) return text;
  const parsed = ipaddr.parse(text);
  if (family === 'inet' && parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address().toString() : v6.toString();
  }
  return parsed.toString();
}

/**
 * Canonical persistence netmask, undefined for the kernel default (host granularity). IPv4: a dotted quad (a bare
 * prefix length 0..32 is accepted and converted), `255.255.255.255` = default. IPv6: a prefix length, `128` = default.
 */
export function canonicalNetmask(netmask: string | undefined, family: IpvsFamily): string | undefined {
  if (netmask === undefined) return undefined;
  const text = netmask.trim().replace(/^\//, '');
  if (family === 'inet') {
    let mask = text;
    if (/^\d{1,2}$/.test(text) && Number(text) <= 32)
      mask = ipaddr.IPv4.subnetMaskFromPrefixLength(Number(text)).toString();
    else if (ipaddr.IPv4.isValid(text)) mask = ipaddr.IPv4.parse(text).toString();
    return mask === V4_HOST_MASK ? undefined : mask;
  }
  if (!/^\d+$/.test(text)) return text;
  const prefix = Number(text);
  return prefix === V6_HOST_PREFIX ? undefined : String(prefix);
}

/** Canonical scheduler flags: aliases mapped to `flag-N`, sorted, without duplicates. */
export function canonicalFlags(flags: readonly string[]): SchedulerFlag[] {
  const set = new Set<SchedulerFlag>();
  for (const flag of flags) {
    const word = schedulerFlagWord(flag.trim().toLowerCase());
    if (word !== undefined) set.add(word.flag);
  }
  return [...set].sort();
}

/** True when a service key is a firewall-mark key. */
export function isFwmarkKey(key: ServiceKey): key is Extract<ServiceKey, { readonly fwmark: number }> {
  return 'fwmark' in key && typeof key.fwmark === 'number';
}

/** The identity of a service, as a fresh object with only the key fields (address canonical). */
export function serviceKeyOf(service: ServiceKey): ServiceKey {
  if (isFwmarkKey(service)) return { family: service.family, fwmark: service.fwmark };
  return {
    family: service.family,
    protocol: service.protocol,
    address: canonicalAddress(service.address, service.family),
    port: service.port,
  };
}

/** Host text of an address, bracketed when it is IPv6. */
function hostText(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** Stable string id of a service key: `tcp:10.0.0.1:80`, `tcp:[2001:db8::1]:80`, `fwm:7`, `fwm6:7`. */
export function serviceKeyString(key: ServiceKey): string {
  if (isFwmarkKey(key)) return `${key.family === 'inet' ? 'fwm' : 'fwm6'}:${key.fwmark}`;
  return `${key.protocol}:${hostText(canonicalAddress(key.address, key.family))}:${key.port}`;
}

/** Stable string id of a destination within its service: `10.0.0.2:80`, `[2001:db8::2]:80`. */
export function destinationKeyString(destination: DestinationKey & { readonly family?: IpvsFamily }): string {
  const family = destination.family ?? (destination.address.includes(':') ? 'inet6' : 'inet');
  return `${hostText(canonicalAddress(destination.address, family))}:${destination.port}`;
}

/**
 * Canonical form of a service (key fields included); kernel-only flag bits have no place in the model. Netmask and
 * persistence engine only mean something with persistence (the kernel ignores them otherwise and ipvsadm does not
 * list them), so they are dropped from non-persistent services.
 */
export function normalizeService(service: IpvsService): IpvsService {
  const persistent = service.persistent !== undefined;
  const netmask = persistent ? canonicalNetmask(service.netmask, service.family) : undefined;
  const pe = persistent ? service.persistenceEngine?.trim() : undefined;
  return {
    ...serviceKeyOf(service),
    scheduler: service.scheduler.trim(),
    ...(service.persistent !== undefined ? { persistent: service.persistent } : {}),
    ...(netmask !== undefined ? { netmask } : {}),
    onePacket: service.onePacket === true,
    schedulerFlags: canonicalFlags(service.schedulerFlags ?? []),
    ...(pe ? { persistenceEngine: pe } : {}),
  };
}

/**
 * Canonical form of a destination of a service of `serviceFamily`: the family defaults to the service's, the
 * address is canonical, tunnel fields appear only on tunnel destinations (type `ipip` and checksum `nocsum` made
 * explicit, a zero port dropped).
 */
export function normalizeDestination(destination: IpvsDestination, serviceFamily: IpvsFamily): IpvsDestination {
  const family: IpvsFamily = destination.family ?? serviceFamily;
  const base: IpvsDestination = {
    address: canonicalAddress(destination.address, family),
    family,
    port: destination.port,
    forward: destination.forward,
    weight: destination.weight,
    upperThreshold: destination.upperThreshold ?? 0,
    lowerThreshold: destination.lowerThreshold ?? 0,
  };
  if (destination.forward !== 'tunnel') return base;
  return {
    ...base,
    tunnelType: destination.tunnelType ?? 'ipip',
    ...(destination.tunnelPort ? { tunnelPort: destination.tunnelPort } : {}),
    tunnelChecksum: destination.tunnelChecksum ?? 'nocsum',
  };
}

/**
 * Canonical form of a destination of a kernel dump ({@link normalizeDestination}), with what the kernel counts:
 * connections, and the traffic counters when the dump has them.
 */
export function normalizeObservedDestination(d: ObservedDestination, serviceFamily: IpvsFamily): ObservedDestination {
  const spec = normalizeDestination(d, serviceFamily);
  if (spec.forward === 'tunnel' || d.stats !== undefined)
    return {
      ...spec,
      activeConns: d.activeConns,
      inactiveConns: d.inactiveConns,
      persistentConns: d.persistentConns,
      ...(d.stats !== undefined ? { stats: d.stats } : {}),
    };
  // The common case as one literal of one shape: the spread form makes a dictionary-mode object, which cost a table
  // pass most of its time (30 times this at 300 destinations) and every later read of it a slow property lookup.
  return {
    address: spec.address,
    family: spec.family,
    port: spec.port,
    forward: spec.forward,
    weight: spec.weight,
    upperThreshold: spec.upperThreshold,
    lowerThreshold: spec.lowerThreshold,
    activeConns: d.activeConns,
    inactiveConns: d.inactiveConns,
    persistentConns: d.persistentConns,
  };
}

/** Address bytes for ordering; unparseable text sorts after every address. */
function addressBytes(address: string): number[] {
  if (CANONICAL_V4.test(address)) return address.split('.').map(Number);
  return ipaddr.isValid(address)
    ? ipaddr.parse(address).toByteArray()
    : [256, ...[...address].map((c) => c.charCodeAt(0))];
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts by a key computed once per item (comparators that parse addresses are too slow for 10,000 entries). */
function sortByKey<T>(items: readonly T[], key: (item: T) => string): T[] {
  return items
    .map((item) => ({ item, k: key(item) }))
    .sort((a, b) => byText(a.k, b.k))
    .map((x) => x.item);
}

/** Each byte value (and 256, which puts unparseable text last) as three hex digits. */
const HEX3: readonly string[] = Array.from({ length: 257 }, (_, b) => b.toString(16).padStart(3, '0'));

/** Fixed-width text of address bytes so that string order is byte order (unparseable text last). */
function addressSortText(address: string): string {
  if (CANONICAL_V4.test(address)) {
    // The common case without arrays: every pass sorts its desired table by it.
    const a = address.indexOf('.');
    const b = address.indexOf('.', a + 1);
    const c = address.indexOf('.', b + 1);
    return (
      (HEX3[Number(address.slice(0, a))] as string) +
      HEX3[Number(address.slice(a + 1, b))] +
      HEX3[Number(address.slice(b + 1, c))] +
      HEX3[Number(address.slice(c + 1))]
    );
  }
  return addressBytes(address)
    .map((b) => HEX3[b] ?? b.toString(16).padStart(3, '0'))
    .join('');
}

/** Sort key of a destination: the one definition of {@link compareDestinations}' order. */
function destinationSortKey(d: DestinationKey & { readonly family: IpvsFamily }): string {
  return `${d.family === 'inet' ? 0 : 1}|${addressSortText(d.address)}|${String(d.port).padStart(5, '0')}`;
}

/** Sort key of a service: the one definition of {@link compareServiceKeys}' order. */
function serviceSortKey(k: ServiceKey): string {
  const fam = k.family === 'inet' ? 0 : 1;
  if (isFwmarkKey(k)) return `${fam}|1|${String(k.fwmark).padStart(10, '0')}`;
  return `${fam}|0|${k.protocol}|${addressSortText(k.address)}|${String(k.port).padStart(5, '0')}`;
}

/** Orders service keys: inet before inet6, address services (by protocol, address, port) before fwmark services. */
export function compareServiceKeys(a: ServiceKey, b: ServiceKey): number {
  return byText(serviceSortKey(a), serviceSortKey(b));
}

/** Orders destinations: inet before inet6, then by address bytes, then port. */
export function compareDestinations(
  a: DestinationKey & { readonly family: IpvsFamily },
  b: DestinationKey & { readonly family: IpvsFamily },
): number {
  return byText(destinationSortKey(a), destinationSortKey(b));
}

/** Keeps the first entry of each id (a dump that raced with changes may repeat an entry). */
function uniqueBy<T>(items: readonly T[], id: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = id(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Canonical form of a desired table: services and destinations normalized and sorted (services by key,
 * destinations by family, address, port). Duplicate keys are kept: {@link plan} refuses them.
 */
export function normalizeDesired(desired: readonly DesiredService[]): DesiredService[] {
  return sortDesiredServices(desired.map(normalizeDesiredService));
}

/** One service of {@link normalizeDesired}: normalized, its destinations normalized and sorted. */
export function normalizeDesiredService(d: DesiredService): DesiredService {
  const service = normalizeService(d.service);
  const destinations = sortByKey(
    d.destinations.map((dest) => normalizeDestination(dest, service.family)),
    destinationSortKey,
  );
  return { service, destinations };
}

/** Services normalized by {@link normalizeDesiredService}, in {@link normalizeDesired}'s order. */
export function sortDesiredServices(services: readonly DesiredService[]): DesiredService[] {
  return sortByKey(services, (x) => serviceSortKey(x.service));
}

/**
 * Canonical form of an observed table (a kernel dump): services and destinations normalized and sorted like
 * {@link normalizeDesired} (the kernel lists destinations newest first), repeated entries dropped; connection
 * counters and stats are kept.
 */
export function normalizeObserved(observed: readonly ObservedService[]): ObservedService[] {
  const services = observed.map((o): ObservedService => {
    const service = normalizeService(o.service);
    const destinations = uniqueBy(
      o.destinations.map((dest) => normalizeObservedDestination(dest, service.family)),
      destinationKeyString,
    );
    return {
      service,
      destinations: sortByKey(destinations, destinationSortKey),
      ...(o.stats !== undefined ? { stats: o.stats } : {}),
    };
  });
  return sortByKey(
    uniqueBy(services, (s) => serviceKeyString(s.service)),
    (x) => serviceSortKey(x.service),
  );
}

/** True when two normalized services have the same settings (scheduler, persistence, netmask, flags, engine). */
export function sameServiceSettings(a: IpvsService, b: IpvsService): boolean {
  return (
    a.scheduler === b.scheduler &&
    a.persistent === b.persistent &&
    a.netmask === b.netmask &&
    a.onePacket === b.onePacket &&
    a.persistenceEngine === b.persistenceEngine &&
    a.schedulerFlags.length === b.schedulerFlags.length &&
    a.schedulerFlags.every((f, i) => b.schedulerFlags[i] === f)
  );
}

/** True when two normalized destinations with the same key have the same settings (SET_DEST can change them all). */
export function sameDestinationSettings(a: IpvsDestination, b: IpvsDestination): boolean {
  return (
    a.forward === b.forward &&
    a.weight === b.weight &&
    a.upperThreshold === b.upperThreshold &&
    a.lowerThreshold === b.lowerThreshold &&
    a.tunnelType === b.tunnelType &&
    a.tunnelPort === b.tunnelPort &&
    a.tunnelChecksum === b.tunnelChecksum
  );
}

/** Only the fields of a destination that the kernel is told (drops counters and stats of an observed one). */
export function destinationSpec(d: IpvsDestination): IpvsDestination {
  const {
    address,
    family,
    port,
    forward,
    weight,
    upperThreshold,
    lowerThreshold,
    tunnelType,
    tunnelPort,
    tunnelChecksum,
  } = d;
  return {
    address,
    family,
    port,
    forward,
    weight,
    upperThreshold,
    lowerThreshold,
    ...(tunnelType !== undefined ? { tunnelType } : {}),
    ...(tunnelPort !== undefined ? { tunnelPort } : {}),
    ...(tunnelChecksum !== undefined ? { tunnelChecksum } : {}),
  };
}
