// Pure formatting of IPVS operations as ipvsadm 1.31 command lines (`ipvsadm -R` input and single-command argv).
import { isIPv4, isIPv6 } from 'node:net';
import { ErrorCodes, LdirError } from '../../errors';
import type {
  DestinationKey,
  IpvsDestination,
  IpvsFamily,
  IpvsOp,
  IpvsService,
  IpvsSyncDaemon,
  IpvsTimeouts,
  ServiceKey,
} from '../types';

/** ipvsadm's upper bound of a persistence or connection timeout: 31 days (`MAX_TIMEOUT` in ipvsadm.c). */
export const IPVSADM_MAX_TIMEOUT = 86400 * 31;
/** ipvsadm's upper bound of a weight and of both thresholds (`INT_MAX`). */
export const IPVSADM_MAX_WEIGHT = 0x7fffffff;

/** Names ipvsadm passes on unchanged: scheduler / persistence engine (kernel limit 15 characters + NUL). */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
/** Interface names: 1..15 characters, none that would split or escape an argument. */
const IFNAME_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** Throws the formatter's one error: the operation cannot be written for ipvsadm. */
function inexpressible(what: string, details: Record<string, unknown> = {}): never {
  throw new LdirError(ErrorCodes.IPVS_PROTOCOL, `ipvsadm cannot express ${what}`, { details });
}

function isInteger(n: unknown, min: number, max: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
}

function checkRange(n: unknown, min: number, max: number, what: string): number {
  if (!isInteger(n, min, max)) inexpressible(`${what} ${String(n)} (ipvsadm accepts integers ${min}..${max})`);
  return n;
}

/** True when `key` names a firewall-mark service. */
function isFwmark(key: ServiceKey): key is Extract<ServiceKey, { readonly fwmark: number }> {
  return 'fwmark' in key && typeof key.fwmark === 'number';
}

/** Validates a numeric address of `family` and returns it as ipvsadm reads it (`a.b.c.d` or `[v6]`). */
function hostText(address: string, family: IpvsFamily, what: string): string {
  if (family === 'inet') {
    if (!isIPv4(address)) inexpressible(`${what} address '${address}' (not a numeric IPv4 address)`);
    return address;
  }
  if (!isIPv6(address) || address.includes('%')) {
    inexpressible(`${what} address '${address}' (not a numeric IPv6 address without zone)`);
  }
  return `[${address}]`;
}

/** Family of a numeric address, or undefined when it is neither. */
function familyOf(address: string): IpvsFamily | undefined {
  if (isIPv4(address)) return 'inet';
  if (isIPv6(address)) return 'inet6';
  return undefined;
}

/** The virtual-service part of a command line: `-t A:P`, `-u A:P`, `--sctp-service A:P`, `-f M [-6]`. */
export function formatServiceKey(key: ServiceKey): string[] {
  if (key.family !== 'inet' && key.family !== 'inet6') inexpressible(`address family '${String(key.family)}'`);
  if (isFwmark(key)) {
    const mark = checkRange(key.fwmark, 1, 0xffffffff, 'firewall mark');
    return key.family === 'inet6' ? ['-f', String(mark), '-6'] : ['-f', String(mark)];
  }
  const port = checkRange(key.port, 0, 65535, 'service port');
  const target = `${hostText(key.address, key.family, 'service')}:${port}`;
  switch (key.protocol) {
    case 'tcp':
      return ['-t', target];
    case 'udp':
      return ['-u', target];
    case 'sctp':
      return ['--sctp-service', target];
    default:
      return inexpressible(`protocol '${String((key as { protocol: unknown }).protocol)}'`);
  }
}

/** The settings part of `-A`/`-E`: `-s SCHED [-p T] [-M MASK] [--pe NAME] [-o] [-b FLAGS]` (a full spec). */
export function formatServiceSettings(service: IpvsService): string[] {
  if (!NAME_RE.test(service.scheduler)) inexpressible(`scheduler name '${service.scheduler}'`);
  const args = ['-s', service.scheduler];
  if (service.persistent !== undefined) {
    args.push('-p', String(checkRange(service.persistent, 1, IPVSADM_MAX_TIMEOUT, 'persistence timeout')));
  } else if (!isFwmark(service) && service.port === 0) {
    inexpressible('a non-persistent service on port 0 (ipvsadm: "Zero port specified for non-persistent service")');
  }
  if (service.netmask !== undefined) {
    if (service.family === 'inet') {
      if (!isIPv4(service.netmask))
        inexpressible(`IPv4 persistence netmask '${service.netmask}' (a dotted quad is needed)`);
    } else if (!/^\d{1,3}$/.test(service.netmask) || !isInteger(Number(service.netmask), 1, 128)) {
      inexpressible(`IPv6 persistence prefix length '${service.netmask}' (1..128)`);
    }
    args.push('-M', service.netmask);
  }
  if (service.persistenceEngine !== undefined) {
    if (!NAME_RE.test(service.persistenceEngine))
      inexpressible(`persistence engine name '${service.persistenceEngine}'`);
    args.push('--pe', service.persistenceEngine);
  }
  if (service.onePacket) {
    if (!isFwmark(service) && service.protocol !== 'udp') {
      inexpressible(
        `one-packet scheduling on a ${service.protocol} service (ipvsadm allows it for UDP and fwmark only)`,
      );
    }
    args.push('-o');
  }
  const flags = [...new Set(service.schedulerFlags)].sort();
  for (const flag of flags) {
    if (flag !== 'flag-1' && flag !== 'flag-2' && flag !== 'flag-3') inexpressible(`scheduler flag '${String(flag)}'`);
  }
  if (flags.length > 0) args.push('-b', flags.join(','));
  return args;
}

/** `ADDR:PORT` of a destination, with the address family checked against the text. */
function formatDestinationTarget(dest: DestinationKey & { readonly family: IpvsFamily }): string {
  if (familyOf(dest.address) !== dest.family) {
    inexpressible(`destination address '${dest.address}' in family ${String(dest.family)}`);
  }
  const port = checkRange(dest.port, 0, 65535, 'destination port');
  return `${hostText(dest.address, dest.family, 'destination')}:${port}`;
}

/** Tunnel options of a tunnel destination, following ipvsadm's table of legal tunnel type/option pairs. */
function formatTunnel(dest: IpvsDestination): string[] {
  const port = dest.tunnelPort;
  const csum = dest.tunnelChecksum;
  const csumArg = csum === undefined ? [] : [`--tun-${csum}`];
  if (csum !== undefined && csum !== 'nocsum' && csum !== 'csum' && csum !== 'remcsum') {
    inexpressible(`tunnel checksum mode '${String(csum)}'`);
  }
  switch (dest.tunnelType) {
    case undefined:
    case 'ipip':
      if (port !== undefined && port !== 0) inexpressible('a tunnel port on an ipip tunnel');
      if (csum !== undefined && csum !== 'nocsum') inexpressible(`checksum mode '${csum}' on an ipip tunnel`);
      return dest.tunnelType === undefined ? [] : ['--tun-type', 'ipip'];
    case 'gue':
      return ['--tun-type', 'gue', '--tun-port', String(checkRange(port, 1, 65535, 'GUE tunnel port')), ...csumArg];
    case 'gre':
      if (port !== undefined && port !== 0) inexpressible('a tunnel port on a gre tunnel');
      if (csum === 'remcsum') inexpressible('remote checksum offload on a gre tunnel');
      return ['--tun-type', 'gre', ...csumArg];
    default:
      return inexpressible(`tunnel type '${String(dest.tunnelType)}'`);
  }
}

/**
 * The destination part of `-a`/`-e`: `-r ADDR:PORT -m|-g|-i -w W -x U -y L [tunnel options]` (a full spec).
 * ipvsadm forces the port of a route or tunnel destination of an address service to the service port, cannot set
 * the `local` method (the kernel picks it), and allows another family than the service's only for tunnels.
 */
export function formatDestinationSpec(service: ServiceKey, dest: IpvsDestination): string[] {
  const args = ['-r', formatDestinationTarget(dest)];
  switch (dest.forward) {
    case 'masq':
      args.push('-m');
      break;
    case 'route':
      args.push('-g');
      break;
    case 'tunnel':
      args.push('-i');
      break;
    case 'local':
      return inexpressible('the local forwarding method (ipvsadm has no option for it)');
    default:
      return inexpressible(`forwarding method '${String(dest.forward)}'`);
  }
  if (
    dest.forward !== 'tunnel' &&
    (dest.tunnelType !== undefined || (dest.tunnelPort ?? 0) !== 0 || dest.tunnelChecksum !== undefined)
  ) {
    inexpressible(`tunnel options on a ${dest.forward} destination`);
  }
  if (dest.family !== service.family && dest.forward !== 'tunnel') {
    inexpressible(
      `an ${dest.family} ${dest.forward} destination in an ${service.family} service (only tunnels may mix families)`,
    );
  }
  if (!isFwmark(service) && dest.forward !== 'masq' && dest.port !== service.port) {
    inexpressible(
      `port ${dest.port} on a ${dest.forward} destination of a service on port ${service.port} (ipvsadm forces the service port)`,
    );
  }
  args.push('-w', String(checkRange(dest.weight, 0, IPVSADM_MAX_WEIGHT, 'weight')));
  args.push('-x', String(checkRange(dest.upperThreshold, 0, IPVSADM_MAX_WEIGHT, 'upper threshold')));
  args.push('-y', String(checkRange(dest.lowerThreshold, 0, IPVSADM_MAX_WEIGHT, 'lower threshold')));
  if (dest.forward === 'tunnel') args.push(...formatTunnel(dest));
  return args;
}

/** The argv words (without the program name) of one operation, e.g. `['-a', '-t', '10.0.0.1:80', '-r', ...]`. */
export function formatOpArgs(op: IpvsOp): string[] {
  switch (op.op) {
    case 'add-service':
      return ['-A', ...formatServiceKey(op.service), ...formatServiceSettings(op.service)];
    case 'edit-service':
      return ['-E', ...formatServiceKey(op.service), ...formatServiceSettings(op.service)];
    case 'delete-service':
      return ['-D', ...formatServiceKey(op.service)];
    case 'add-destination':
      return ['-a', ...formatServiceKey(op.service), ...formatDestinationSpec(op.service, op.destination)];
    case 'edit-destination':
      return ['-e', ...formatServiceKey(op.service), ...formatDestinationSpec(op.service, op.destination)];
    case 'delete-destination':
      return ['-d', ...formatServiceKey(op.service), '-r', formatDestinationTarget(op.destination)];
    default:
      return inexpressible(`operation '${String((op as { op: unknown }).op)}'`);
  }
}

/** One `ipvsadm -R` input line (no newline) for one operation; throws IPVS_PROTOCOL when ipvsadm cannot express it. */
export function formatOp(op: IpvsOp): string {
  return formatOpArgs(op).join(' ');
}

/** `ipvsadm -R` input for a list of operations, one line each, newline-terminated. */
export function formatRestore(ops: readonly IpvsOp[]): string {
  return ops.map((op) => `${formatOp(op)}\n`).join('');
}

/** Argv of `ipvsadm --set tcp tcpfin udp` (0 = leave unchanged). */
export function formatSetTimeouts(t: IpvsTimeouts): string[] {
  return [
    '--set',
    String(checkRange(t.tcp, 0, IPVSADM_MAX_TIMEOUT, 'tcp timeout')),
    String(checkRange(t.tcpFin, 0, IPVSADM_MAX_TIMEOUT, 'tcpfin timeout')),
    String(checkRange(t.udp, 0, IPVSADM_MAX_TIMEOUT, 'udp timeout')),
  ];
}

/** Argv of `ipvsadm -Z [service]`. */
export function formatZero(service?: ServiceKey): string[] {
  return service === undefined ? ['-Z'] : ['-Z', ...formatServiceKey(service)];
}

/** Argv of `ipvsadm --start-daemon STATE --mcast-interface IF --syncid N [...]`. */
export function formatStartDaemon(d: IpvsSyncDaemon): string[] {
  if (d.state !== 'master' && d.state !== 'backup') inexpressible(`sync daemon state '${String(d.state)}'`);
  if (!IFNAME_RE.test(d.interface)) inexpressible(`interface name '${d.interface}'`);
  const args = [
    '--start-daemon',
    d.state,
    '--mcast-interface',
    d.interface,
    '--syncid',
    String(checkRange(d.syncId, 0, 255, 'sync id')),
  ];
  if (d.maxLength !== undefined)
    args.push('--sync-maxlen', String(checkRange(d.maxLength, 1, 65535 - 20 - 8, 'sync message length')));
  if (d.group !== undefined) {
    if (familyOf(d.group) === undefined) inexpressible(`multicast group '${d.group}'`);
    args.push('--mcast-group', d.group);
  }
  if (d.port !== undefined) args.push('--mcast-port', String(checkRange(d.port, 1, 65535, 'multicast port')));
  if (d.ttl !== undefined) args.push('--mcast-ttl', String(checkRange(d.ttl, 1, 255, 'multicast TTL')));
  return args;
}

/** Argv of `ipvsadm --stop-daemon STATE`. */
export function formatStopDaemon(state: 'master' | 'backup'): string[] {
  if (state !== 'master' && state !== 'backup') inexpressible(`sync daemon state '${String(state)}'`);
  return ['--stop-daemon', state];
}
