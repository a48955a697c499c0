// In-memory IPVS table that answers like the kernel (same errno names, same listing forms): for tests and dry runs.
import ipaddr from 'ipaddr.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { opResult } from './op-result';
import { ErrorCodes, LdirError } from '../errors';
import {
  canonicalAddress,
  canonicalNetmask,
  destinationKeyString,
  isFwmarkKey,
  normalizeDestination,
  normalizeService,
  serviceKeyString,
} from './normalize';
import { KERNEL_PERSISTENCE_ENGINES, MAX_PERSISTENCE_ENGINE_NAME } from './persistence-engines';
import { KERNEL_SCHEDULERS } from './schedulers';
import type {
  DesiredService,
  ForwardingMethod,
  IpvsBackend,
  IpvsDestination,
  IpvsFamily,
  IpvsInfo,
  IpvsOp,
  IpvsOpResult,
  IpvsService,
  IpvsStats,
  ListOptions,
  IpvsSyncDaemon,
  IpvsTimeouts,
  ObservedDestination,
  ObservedService,
  ServiceKey,
} from './types';

/** Schedulers of a Debian 6.1 kernel (`ip_vs_<name>` modules); `none` is accepted as well. */
export { KERNEL_SCHEDULERS };
/** Persistence engines of the kernel (`ip_vs_pe_<name>` modules). */
export { KERNEL_PERSISTENCE_ENGINES };

const INT_MAX = 2147483647;
const U32_MAX = 4294967295;
/** Timer ticks per second of a Debian kernel: SET_CONFIG refuses timeouts above INT_MAX / HZ seconds. */
const HZ = 250;
const FORWARDS: readonly ForwardingMethod[] = ['masq', 'local', 'tunnel', 'route'];

/** A kernel refusal inside the model: caught by `apply` and turned into a result. */
class Refusal extends Error {
  constructor(
    readonly errno: string,
    message: string,
  ) {
    super(message);
  }
}

function refuse(errno: string, message: string): never {
  throw new Refusal(errno, message);
}

const isInt = (n: unknown, min: number, max: number): boolean =>
  typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;

/** Canonical address of `family`, or EINVAL when the text is not an address of that family. */
function checkedAddress(address: string, family: IpvsFamily, what: string): string {
  const canonical = canonicalAddress(address, family);
  const ok =
    family === 'inet'
      ? ipaddr.IPv4.isValidFourPartDecimal(canonical)
      : canonical.includes(':') && ipaddr.IPv6.isValid(canonical);
  if (!ok) refuse('EINVAL', `${what} ${address} is not an ${family} address`);
  return canonical;
}

function checkFamily(family: string): void {
  if (family !== 'inet' && family !== 'inet6') refuse('EAFNOSUPPORT', `address family ${family} not supported`);
}

/** Attribute-level checks of a service identity (what the kernel's policy and parser refuse). */
function checkKey(key: ServiceKey): void {
  checkFamily(key.family);
  if (isFwmarkKey(key)) {
    if (!isInt(key.fwmark, 1, U32_MAX)) refuse('EINVAL', `bad firewall mark ${key.fwmark}`);
    return;
  }
  if (!['tcp', 'udp', 'sctp'].includes(key.protocol)) refuse('EINVAL', `bad protocol ${key.protocol}`);
  checkedAddress(key.address, key.family, 'service address');
  if (!isInt(key.port, 0, 65535)) refuse('EINVAL', `bad port ${key.port}`);
}

/** A stored service; destinations newest first, as the kernel lists them. */
interface Entry {
  service: IpvsService;
  destinations: IpvsDestination[];
}

interface FailureRule {
  readonly predicate: (op: IpvsOp) => boolean;
  readonly errno: string;
  remaining: number;
}

/** Destinations {@link MemoryBackend.list} lists between two turns of the event loop. */
export const LIST_DESTINATIONS_PER_TURN = 500;

/** Operations {@link MemoryBackend.apply} does in one turn of the event loop (a destination's lookup is a scan of its service). */
export const APPLY_OPS_PER_TURN = 200;

const ZERO_STATS: IpvsStats = {
  conns: 0n,
  inPackets: 0n,
  outPackets: 0n,
  inBytes: 0n,
  outBytes: 0n,
  cps: 0n,
  inPps: 0n,
  outPps: 0n,
  inBps: 0n,
  outBps: 0n,
};

/**
 * A faithful in-memory IPVS table. Refusals come back as the kernel's errno names with the same `converged` /
 * `failed` classification as the netlink backend; `list()` returns what the netlink decoder yields (explicit default
 * netmask, explicit tunnel port, destinations newest first, zero counters), so compare through `normalizeObserved`.
 */
export class MemoryBackend implements IpvsBackend {
  readonly kind = 'memory' as const;
  private readonly services = new Map<string, Entry>();
  private readonly daemons = new Map<'master' | 'backup', IpvsSyncDaemon>();
  private timeouts: IpvsTimeouts = { tcp: 900, tcpFin: 120, udp: 300 };
  private readonly failures: FailureRule[] = [];
  private readonly applied: IpvsOp[] = [];
  private closed = false;

  /**
   * Starts with `initial` (e.g. an earlier `list()`); each service's destinations are listed in the order given.
   * Throws IPVS_REQUEST_FAILED when the kernel would refuse the table.
   */
  constructor(initial: readonly DesiredService[] = []) {
    for (const { service, destinations } of initial) {
      const ops: IpvsOp[] = [{ op: 'add-service', service }];
      for (const destination of [...destinations].reverse()) ops.push({ op: 'add-destination', service, destination });
      for (const op of ops) {
        const result = this.applyOne(op);
        if (result.status !== 'done') {
          throw new LdirError(
            ErrorCodes.IPVS_REQUEST_FAILED,
            `initial table refused: ${op.op} ${serviceKeyString(op.service)}: ${result.errno}`,
            { details: { errno: result.errno } },
          );
        }
      }
    }
  }

  /** Makes the next `times` operations matching `predicate` fail with `errno` (classified like a real answer). */
  failNext(predicate: (op: IpvsOp) => boolean, errno: string, times = 1): void {
    this.failures.push({ predicate, errno, remaining: times });
  }

  /** Every operation passed to `apply` so far, in order (injected failures included). */
  history(): readonly IpvsOp[] {
    return [...this.applied];
  }

  /**
   * Every service with its destinations, in kernel forms. A big table is listed in parts, with a turn of the event
   * loop after every {@link LIST_DESTINATIONS_PER_TURN} destinations (as the netlink backend receives a dump in
   * messages), so that a listing of 100,000 destinations does not hold the loop in one piece (issue 21).
   */
  async list(options: ListOptions = {}): Promise<readonly ObservedService[]> {
    this.ensureOpen();
    const stats = options.stats ?? true;
    const out: ObservedService[] = [];
    let listed = 0;
    for (const { service, destinations } of [...this.services.values()]) {
      const listedDestinations: ObservedDestination[] = [];
      for (const d of destinations) {
        listedDestinations.push({
          ...d,
          ...(d.forward === 'tunnel' ? { tunnelPort: d.tunnelPort ?? 0 } : {}),
          activeConns: 0,
          inactiveConns: 0,
          persistentConns: 0,
          ...(stats ? { stats: ZERO_STATS } : {}),
        });
        if (++listed % LIST_DESTINATIONS_PER_TURN === 0) await nextTurn();
      }
      out.push({
        service: {
          ...service,
          netmask: service.netmask ?? (service.family === 'inet' ? '255.255.255.255' : '128'),
          schedulerFlags: [...service.schedulerFlags],
        },
        destinations: listedDestinations,
        ...(stats ? { stats: ZERO_STATS } : {}),
      });
    }
    return out;
  }

  /** Applies operations in order; one result per operation; never throws for a refusal. */
  async apply(ops: readonly IpvsOp[]): Promise<readonly IpvsOpResult[]> {
    this.ensureOpen();
    // A big batch in parts, a turn of the event loop after every APPLY_OPS_PER_TURN operations (as the netlink
    // backend waits for the kernel's answers); a batch smaller than that is applied in one turn, as always.
    const results: IpvsOpResult[] = [];
    for (const op of ops) {
      results.push(this.applyWithFailures(op));
      if (results.length % APPLY_OPS_PER_TURN === 0) await nextTurn();
    }
    return results;
  }

  private applyWithFailures(op: IpvsOp): IpvsOpResult {
    this.applied.push(op);
    const rule = this.failures.find((r) => r.remaining > 0 && r.predicate(op));
    if (rule) {
      rule.remaining--;
      if (rule.remaining === 0) this.failures.splice(this.failures.indexOf(rule), 1);
      return opResult(op, rule.errno, 'injected failure');
    }
    return this.applyOne(op);
  }

  /** IPVS 1.2.1 with a 4096-entry connection table, like a default kernel. */
  async info(): Promise<IpvsInfo> {
    this.ensureOpen();
    return { version: '1.2.1', connTableSize: 4096 };
  }

  /** The connection timeouts (900/120/300 until changed). */
  async getTimeouts(): Promise<IpvsTimeouts> {
    this.ensureOpen();
    return { ...this.timeouts };
  }

  /** Sets the timeouts; 0 leaves one unchanged; above INT_MAX / HZ is EINVAL. */
  async setTimeouts(timeouts: IpvsTimeouts): Promise<void> {
    this.ensureOpen();
    for (const value of [timeouts.tcp, timeouts.tcpFin, timeouts.udp]) {
      if (!isInt(value, 0, Math.floor(INT_MAX / HZ))) throw requestFailed('EINVAL', `timeout ${value} out of range`);
    }
    this.timeouts = {
      tcp: timeouts.tcp || this.timeouts.tcp,
      tcpFin: timeouts.tcpFin || this.timeouts.tcpFin,
      udp: timeouts.udp || this.timeouts.udp,
    };
  }

  /** Zeroes counters (they are always zero here); ESRCH for a missing service. */
  async zero(service?: ServiceKey): Promise<void> {
    this.ensureOpen();
    if (service !== undefined && !this.services.has(serviceKeyString(service)))
      throw requestFailed('ESRCH', `no service ${serviceKeyString(service)}`);
  }

  /** Removes every service and destination. */
  async flush(): Promise<void> {
    this.ensureOpen();
    this.services.clear();
  }

  /** The running sync daemons. */
  async listSyncDaemons(): Promise<readonly IpvsSyncDaemon[]> {
    this.ensureOpen();
    return [...this.daemons.values()].map((d) => ({ ...d }));
  }

  /** Starts a sync daemon: EEXIST when one of that state runs, EINVAL while mixed-family destinations exist. */
  async startSyncDaemon(daemon: IpvsSyncDaemon): Promise<void> {
    this.ensureOpen();
    if (this.daemons.has(daemon.state)) throw requestFailed('EEXIST', `${daemon.state} sync daemon already running`);
    if (this.hasMixedFamily()) throw requestFailed('EINVAL', 'mixed-family destinations exist');
    this.daemons.set(daemon.state, { ...daemon });
  }

  /** Stops a sync daemon: ESRCH when none of that state runs. */
  async stopSyncDaemon(state: 'master' | 'backup'): Promise<void> {
    this.ensureOpen();
    if (!this.daemons.delete(state)) throw requestFailed('ESRCH', `no ${state} sync daemon`);
  }

  /** Closes the backend; later calls throw IPVS_UNAVAILABLE. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private ensureOpen(): void {
    if (this.closed) throw new LdirError(ErrorCodes.IPVS_UNAVAILABLE, 'memory IPVS backend is closed');
  }

  private hasMixedFamily(): boolean {
    return [...this.services.values()].some((e) => e.destinations.some((d) => d.family !== e.service.family));
  }

  /** One operation against the table, with the kernel's checks in the kernel's order. */
  private applyOne(op: IpvsOp): IpvsOpResult {
    try {
      switch (op.op) {
        case 'add-service':
        case 'edit-service':
          this.putService(op.service, op.op === 'add-service');
          break;
        case 'delete-service':
          this.deleteService(op.service);
          break;
        case 'add-destination':
        case 'edit-destination':
          this.putDestination(op.service, op.destination, op.op === 'add-destination');
          break;
        case 'delete-destination':
          this.deleteDestination(op.service, op.destination);
          break;
      }
      return { status: 'done' };
    } catch (err) {
      if (err instanceof Refusal) return opResult(op, err.errno, err.message);
      throw err;
    }
  }

  /** The stored entry of a service, or ESRCH. */
  private entry(key: ServiceKey): Entry {
    checkKey(key);
    const entry = this.services.get(serviceKeyString(key));
    return entry ?? refuse('ESRCH', `no service ${serviceKeyString(key)}`);
  }

  /** NEW_SERVICE / SET_SERVICE: attribute checks, lookup (EEXIST / ESRCH), scheduler and engine (ENOENT), netmask. */
  private putService(service: IpvsService, add: boolean): void {
    checkKey(service);
    if (service.scheduler.length > 15) refuse('EINVAL', `scheduler name ${service.scheduler} too long`);
    if ((service.persistenceEngine ?? '').length > MAX_PERSISTENCE_ENGINE_NAME)
      refuse('EINVAL', 'persistence engine name too long');
    if (service.persistent !== undefined && !isInt(service.persistent, 0, U32_MAX))
      refuse('EINVAL', `bad persistence timeout ${service.persistent}`);
    const netmask = canonicalNetmask(service.netmask, service.family);
    if (service.family === 'inet' && netmask !== undefined && !ipaddr.IPv4.isValidFourPartDecimal(netmask))
      refuse('EINVAL', `bad netmask ${service.netmask}`);
    const id = serviceKeyString(service);
    const existing = this.services.get(id);
    if (add && existing) refuse('EEXIST', `service ${id} exists`);
    if (!add && !existing) refuse('ESRCH', `no service ${id}`);
    if (service.scheduler !== 'none' && !KERNEL_SCHEDULERS.includes(service.scheduler))
      refuse('ENOENT', `scheduler ${service.scheduler} not found`);
    const pe = service.persistenceEngine;
    if (pe && !KERNEL_PERSISTENCE_ENGINES.includes(pe)) refuse('ENOENT', `persistence engine ${pe} not found`);
    if (
      service.family === 'inet6' &&
      netmask !== undefined &&
      !(/^\d+$/.test(netmask) && isInt(Number(netmask), 1, 128))
    ) {
      refuse('EINVAL', `bad IPv6 prefix length ${service.netmask}`);
    }
    const normalized = normalizeService(service);
    if (existing) existing.service = normalized;
    else this.services.set(id, { service: normalized, destinations: [] });
  }

  private deleteService(key: ServiceKey): void {
    this.entry(key);
    this.services.delete(serviceKeyString(key));
  }

  /** NEW_DEST / SET_DEST with the checks of ip_vs_genl_set_cmd, ip_vs_add_dest and ip_vs_edit_dest, in order. */
  private putDestination(key: ServiceKey, dest: IpvsDestination, add: boolean): void {
    const entry = this.entry(key);
    const family = dest.family ?? entry.service.family;
    checkFamily(family);
    const address = checkedAddress(dest.address, family, 'destination address');
    if (!isInt(dest.port, 0, 65535)) refuse('EINVAL', `bad port ${dest.port}`);
    if (!FORWARDS.includes(dest.forward)) refuse('EINVAL', `bad forwarding method ${dest.forward}`);
    if (!isInt(dest.weight, -INT_MAX - 1, U32_MAX)) refuse('EINVAL', `bad weight ${dest.weight}`);
    if (!isInt(dest.upperThreshold, 0, U32_MAX) || !isInt(dest.lowerThreshold, 0, U32_MAX))
      refuse('EINVAL', 'bad threshold');
    if (dest.forward === 'tunnel' && dest.tunnelPort !== undefined && !isInt(dest.tunnelPort, 0, 65535))
      refuse('EINVAL', `bad tunnel port ${dest.tunnelPort}`);
    if (family !== entry.service.family) {
      if (this.daemons.size > 0) refuse('EINVAL', 'mixed-family destination while a sync daemon runs');
      if (dest.forward !== 'tunnel')
        refuse('EINVAL', `${family} destination in an ${entry.service.family} service needs tunnel forwarding`);
    }
    if (dest.upperThreshold > INT_MAX) refuse('EINVAL', `upper threshold ${dest.upperThreshold} above INT_MAX`);
    if (dest.weight < 0 || dest.weight > INT_MAX) refuse('ERANGE', `weight ${dest.weight} out of range`);
    if (dest.lowerThreshold > dest.upperThreshold)
      refuse('ERANGE', `lower threshold ${dest.lowerThreshold} above upper threshold ${dest.upperThreshold}`);
    if (dest.forward === 'tunnel' && dest.tunnelType === 'gue' && !dest.tunnelPort)
      refuse('EINVAL', 'GUE tunnel without a port');
    const id = destinationKeyString({ address, port: dest.port });
    const index = entry.destinations.findIndex((d) => d.family === family && destinationKeyString(d) === id);
    const normalized = normalizeDestination({ ...dest, family }, entry.service.family);
    if (add) {
      if (index >= 0) refuse('EEXIST', `destination ${id} exists`);
      const range = ipaddr.parse(address).range();
      if (['unspecified', 'broadcast', 'multicast'].includes(range) || (family === 'inet6' && range === 'linkLocal')) {
        refuse('EINVAL', `destination address ${address} is not unicast`);
      }
      entry.destinations.unshift(normalized);
    } else {
      if (index < 0) refuse('ENOENT', `no destination ${id}`);
      entry.destinations[index] = normalized;
    }
  }

  /** DEL_DEST: ESRCH for a missing service, ENOENT for a missing destination. */
  private deleteDestination(key: ServiceKey, dest: { address: string; port: number; family: IpvsFamily }): void {
    const entry = this.entry(key);
    const family = dest.family ?? entry.service.family;
    checkFamily(family);
    const id = destinationKeyString({
      address: checkedAddress(dest.address, family, 'destination address'),
      port: dest.port,
    });
    const index = entry.destinations.findIndex((d) => d.family === family && destinationKeyString(d) === id);
    if (index < 0) refuse('ENOENT', `no destination ${id}`);
    entry.destinations.splice(index, 1);
  }
}

function requestFailed(errno: string, message: string): LdirError {
  return new LdirError(ErrorCodes.IPVS_REQUEST_FAILED, `${errno}: ${message}`, { details: { errno } });
}
