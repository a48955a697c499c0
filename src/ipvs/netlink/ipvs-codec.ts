// IPVS generic netlink codec: IpvsService/IpvsDestination <-> attributes (include/uapi/linux/ip_vs.h).
import ipaddr from 'ipaddr.js';
import { ErrorCodes, LdirError } from '../../errors';
import type {
  ForwardingMethod,
  IpvsDestination,
  IpvsFamily,
  IpvsInfo,
  IpvsProtocol,
  IpvsService,
  IpvsStats,
  IpvsSyncDaemon,
  IpvsTimeouts,
  ObservedDestination,
  ObservedService,
  SchedulerFlag,
  ServiceKey,
  TunnelChecksum,
  TunnelType,
} from '../types';
import {
  cstring,
  getNested,
  getString,
  getU16,
  getU16be,
  getU32,
  getU64,
  getU8,
  u16,
  u16be,
  u32,
  u8,
  type Attr,
  type AttrMap,
} from './attributes';
import {
  AF,
  IP_VS_CONN_F,
  IP_VS_STATE,
  IP_VS_SVC_F,
  IP_VS_TUNNEL_ENCAP_FLAG,
  IP_VS_TUNNEL_TYPE,
  IPPROTO,
  IPVS_CMD_ATTR,
  IPVS_DAEMON_ATTR,
  IPVS_DEST_ATTR,
  IPVS_INFO_ATTR,
  IPVS_STATS_ATTR,
  IPVS_SVC_ATTR,
} from './constants';

const FAMILY_TO_AF: Record<IpvsFamily, number> = { inet: AF.INET, inet6: AF.INET6 };
const PROTO_TO_NUM: Record<IpvsProtocol, number> = { tcp: IPPROTO.TCP, udp: IPPROTO.UDP, sctp: IPPROTO.SCTP };
const FWD_TO_NUM: Record<ForwardingMethod, number> = {
  masq: IP_VS_CONN_F.MASQ,
  local: IP_VS_CONN_F.LOCALNODE,
  tunnel: IP_VS_CONN_F.TUNNEL,
  route: IP_VS_CONN_F.DROUTE,
};
const TUN_TO_NUM: Record<TunnelType, number> = {
  ipip: IP_VS_TUNNEL_TYPE.IPIP,
  gue: IP_VS_TUNNEL_TYPE.GUE,
  gre: IP_VS_TUNNEL_TYPE.GRE,
};
const CSUM_TO_NUM: Record<TunnelChecksum, number> = {
  nocsum: IP_VS_TUNNEL_ENCAP_FLAG.NOCSUM,
  csum: IP_VS_TUNNEL_ENCAP_FLAG.CSUM,
  remcsum: IP_VS_TUNNEL_ENCAP_FLAG.REMCSUM,
};
const FLAG_BITS: Record<SchedulerFlag, number> = {
  'flag-1': IP_VS_SVC_F.SCHED1,
  'flag-2': IP_VS_SVC_F.SCHED2,
  'flag-3': IP_VS_SVC_F.SCHED3,
};

function invert<K extends string>(m: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(m).map(([k, v]) => [v as number, k as K]));
}
const AF_TO_FAMILY = invert(FAMILY_TO_AF);
const NUM_TO_PROTO = invert(PROTO_TO_NUM);
const NUM_TO_FWD = invert(FWD_TO_NUM);
const NUM_TO_TUN = invert(TUN_TO_NUM);
const NUM_TO_CSUM = invert(CSUM_TO_NUM);

function protocolError(message: string): LdirError {
  return new LdirError(ErrorCodes.IPVS_PROTOCOL, `IPVS netlink: ${message}`);
}

/** `union nf_inet_addr`: 16 bytes, an IPv4 address in the first four (network order). */
export function encodeAddress(address: string): Buffer {
  const bytes = ipaddr.parse(address).toByteArray();
  const out = Buffer.alloc(16);
  Buffer.from(bytes).copy(out);
  return out;
}

/** Reads `union nf_inet_addr` for a family (replies always carry 16 bytes, even for IPv4). */
export function decodeAddress(buf: Buffer, family: IpvsFamily): string {
  if (family === 'inet') {
    if (buf.length < 4) throw protocolError('short IPv4 address');
    return ipaddr.fromByteArray([...buf.subarray(0, 4)]).toString();
  }
  if (buf.length < 16) throw protocolError('short IPv6 address');
  return ipaddr.fromByteArray([...buf.subarray(0, 16)]).toString();
}

/** The identity attributes of a service (what DEL_SERVICE, *_DEST and GET_DEST need). */
export function serviceIdentityAttrs(key: ServiceKey): Attr[] {
  const attrs: Attr[] = [{ type: IPVS_SVC_ATTR.AF, value: u16(FAMILY_TO_AF[key.family]) }];
  if ('fwmark' in key) {
    attrs.push({ type: IPVS_SVC_ATTR.FWMARK, value: u32(key.fwmark) });
  } else {
    attrs.push(
      { type: IPVS_SVC_ATTR.PROTOCOL, value: u16(PROTO_TO_NUM[key.protocol]) },
      { type: IPVS_SVC_ATTR.ADDR, value: encodeAddress(key.address) },
      { type: IPVS_SVC_ATTR.PORT, value: u16be(key.port) },
    );
  }
  return attrs;
}

/** The persistence netmask attribute: IPv4 as a network-order mask, IPv6 as a host-order prefix length. */
function netmaskValue(service: IpvsService): Buffer {
  if (service.family === 'inet') return encodeAddress(service.netmask ?? '255.255.255.255').subarray(0, 4);
  return u32(service.netmask === undefined ? 128 : Number(service.netmask));
}

/** The full service specification (NEW_SERVICE / SET_SERVICE need all of it). */
export function serviceSpecAttrs(service: IpvsService): Attr[] {
  let flags = 0;
  if (service.persistent !== undefined) flags |= IP_VS_SVC_F.PERSISTENT;
  if (service.onePacket) flags |= IP_VS_SVC_F.ONEPACKET;
  for (const f of service.schedulerFlags) flags |= FLAG_BITS[f];
  const flagStruct = Buffer.alloc(8);
  flagStruct.writeUInt32LE(flags >>> 0, 0);
  flagStruct.writeUInt32LE(0xffffffff, 4);
  const attrs = [
    ...serviceIdentityAttrs(service),
    { type: IPVS_SVC_ATTR.SCHED_NAME, value: cstring(service.scheduler) },
    { type: IPVS_SVC_ATTR.FLAGS, value: flagStruct },
    { type: IPVS_SVC_ATTR.TIMEOUT, value: u32(service.persistent ?? 0) },
    { type: IPVS_SVC_ATTR.NETMASK, value: netmaskValue(service) },
  ];
  if (service.persistenceEngine !== undefined)
    attrs.push({ type: IPVS_SVC_ATTR.PE_NAME, value: cstring(service.persistenceEngine) });
  return attrs;
}

/** Destination identity attributes (DEL_DEST). */
export function destinationIdentityAttrs(d: { address: string; port: number; family: IpvsFamily }): Attr[] {
  return [
    { type: IPVS_DEST_ATTR.ADDR, value: encodeAddress(d.address) },
    { type: IPVS_DEST_ATTR.PORT, value: u16be(d.port) },
    { type: IPVS_DEST_ATTR.ADDR_FAMILY, value: u16(FAMILY_TO_AF[d.family]) },
  ];
}

/** The full destination specification (NEW_DEST / SET_DEST need all of it). */
export function destinationSpecAttrs(d: IpvsDestination): Attr[] {
  const attrs: Attr[] = [
    ...destinationIdentityAttrs(d),
    { type: IPVS_DEST_ATTR.FWD_METHOD, value: u32(FWD_TO_NUM[d.forward]) },
    { type: IPVS_DEST_ATTR.WEIGHT, value: u32(d.weight) },
    { type: IPVS_DEST_ATTR.U_THRESH, value: u32(d.upperThreshold) },
    { type: IPVS_DEST_ATTR.L_THRESH, value: u32(d.lowerThreshold) },
  ];
  if (d.forward === 'tunnel') {
    attrs.push({ type: IPVS_DEST_ATTR.TUN_TYPE, value: u8(TUN_TO_NUM[d.tunnelType ?? 'ipip']) });
    attrs.push({ type: IPVS_DEST_ATTR.TUN_PORT, value: u16be(d.tunnelPort ?? 0) });
    attrs.push({ type: IPVS_DEST_ATTR.TUN_FLAGS, value: u16(CSUM_TO_NUM[d.tunnelChecksum ?? 'nocsum']) });
  }
  return attrs;
}

/** Top-level attributes for a service command. */
export const withService = (svc: Attr[]): Attr[] => [{ type: IPVS_CMD_ATTR.SERVICE, value: svc }];
/** Top-level attributes for a destination command. */
export const withDestination = (svc: Attr[], dest: Attr[]): Attr[] => [
  { type: IPVS_CMD_ATTR.SERVICE, value: svc },
  { type: IPVS_CMD_ATTR.DEST, value: dest },
];

/** Decodes STATS64 (all u64) or legacy STATS (u32 counters, u64 bytes); PAD attributes are ignored. */
export function decodeStats(m: AttrMap | undefined): IpvsStats | undefined {
  if (!m) return undefined;
  const g = (t: number): bigint => getU64(m, t) ?? 0n;
  return {
    conns: g(IPVS_STATS_ATTR.CONNS),
    inPackets: g(IPVS_STATS_ATTR.INPKTS),
    outPackets: g(IPVS_STATS_ATTR.OUTPKTS),
    inBytes: g(IPVS_STATS_ATTR.INBYTES),
    outBytes: g(IPVS_STATS_ATTR.OUTBYTES),
    cps: g(IPVS_STATS_ATTR.CPS),
    inPps: g(IPVS_STATS_ATTR.INPPS),
    outPps: g(IPVS_STATS_ATTR.OUTPPS),
    inBps: g(IPVS_STATS_ATTR.INBPS),
    outBps: g(IPVS_STATS_ATTR.OUTBPS),
  };
}

/** Decodes the nested SERVICE attribute of a NEW_SERVICE reply (its traffic counters unless `withStats` is false). */
export function decodeService(top: AttrMap, withStats = true): { service: IpvsService; stats?: IpvsStats } {
  const m = getNested(top, IPVS_CMD_ATTR.SERVICE);
  if (!m) throw protocolError('reply without a service');
  const family = AF_TO_FAMILY.get(getU16(m, IPVS_SVC_ATTR.AF) ?? -1);
  if (!family) throw protocolError(`service with unknown address family ${getU16(m, IPVS_SVC_ATTR.AF)}`);
  const fwmark = getU32(m, IPVS_SVC_ATTR.FWMARK) ?? 0;
  let key: ServiceKey;
  if (fwmark !== 0) {
    key = { family, fwmark };
  } else {
    const protocol = NUM_TO_PROTO.get(getU16(m, IPVS_SVC_ATTR.PROTOCOL) ?? -1);
    const addr = m.get(IPVS_SVC_ATTR.ADDR);
    const port = getU16be(m, IPVS_SVC_ATTR.PORT);
    if (!protocol || !addr || port === undefined) throw protocolError('service without protocol, address or port');
    key = { family, protocol, address: decodeAddress(addr, family), port };
  }
  const flagsBuf = m.get(IPVS_SVC_ATTR.FLAGS);
  const flags = flagsBuf && flagsBuf.length >= 4 ? flagsBuf.readUInt32LE(0) : 0;
  const schedulerFlags = (Object.keys(FLAG_BITS) as SchedulerFlag[]).filter((f) => flags & FLAG_BITS[f]);
  const persistent = flags & IP_VS_SVC_F.PERSISTENT ? (getU32(m, IPVS_SVC_ATTR.TIMEOUT) ?? 0) : undefined;
  const maskBuf = m.get(IPVS_SVC_ATTR.NETMASK);
  let netmask: string | undefined;
  if (maskBuf && maskBuf.length >= 4) {
    netmask =
      family === 'inet'
        ? ipaddr.fromByteArray([...maskBuf.subarray(0, 4)]).toString()
        : String(maskBuf.readUInt32LE(0));
  }
  const pe = getString(m, IPVS_SVC_ATTR.PE_NAME);
  const stats = withStats
    ? decodeStats(getNested(m, IPVS_SVC_ATTR.STATS64) ?? getNested(m, IPVS_SVC_ATTR.STATS))
    : undefined;
  const service: IpvsService = {
    ...key,
    scheduler: getString(m, IPVS_SVC_ATTR.SCHED_NAME) ?? '',
    ...(persistent !== undefined ? { persistent } : {}),
    ...(netmask !== undefined ? { netmask } : {}),
    onePacket: (flags & IP_VS_SVC_F.ONEPACKET) !== 0,
    schedulerFlags,
    ...(pe ? { persistenceEngine: pe } : {}),
  };
  return stats ? { service, stats } : { service };
}

/**
 * Decodes the nested DEST attribute of a NEW_DEST reply; `serviceFamily` is used when ADDR_FAMILY is absent; the
 * traffic counters unless `withStats` is false.
 */
export function decodeDestination(top: AttrMap, serviceFamily: IpvsFamily, withStats = true): ObservedDestination {
  const m = getNested(top, IPVS_CMD_ATTR.DEST);
  if (!m) throw protocolError('reply without a destination');
  const family = AF_TO_FAMILY.get(getU16(m, IPVS_DEST_ATTR.ADDR_FAMILY) ?? -1) ?? serviceFamily;
  const addr = m.get(IPVS_DEST_ATTR.ADDR);
  if (!addr) throw protocolError('destination without address');
  const forward = NUM_TO_FWD.get((getU32(m, IPVS_DEST_ATTR.FWD_METHOD) ?? 0) & IP_VS_CONN_F.FWD_MASK);
  if (!forward) throw protocolError('destination with unknown forwarding method');
  const stats = withStats
    ? decodeStats(getNested(m, IPVS_DEST_ATTR.STATS64) ?? getNested(m, IPVS_DEST_ATTR.STATS))
    : undefined;
  const tunnel =
    forward === 'tunnel'
      ? {
          tunnelType: NUM_TO_TUN.get(getU8(m, IPVS_DEST_ATTR.TUN_TYPE) ?? 0) ?? 'ipip',
          tunnelPort: getU16be(m, IPVS_DEST_ATTR.TUN_PORT) ?? 0,
          tunnelChecksum: NUM_TO_CSUM.get(getU16(m, IPVS_DEST_ATTR.TUN_FLAGS) ?? 0) ?? 'nocsum',
        }
      : {};
  return {
    address: decodeAddress(addr, family),
    family,
    port: getU16be(m, IPVS_DEST_ATTR.PORT) ?? 0,
    forward,
    weight: (getU32(m, IPVS_DEST_ATTR.WEIGHT) ?? 0) | 0,
    upperThreshold: getU32(m, IPVS_DEST_ATTR.U_THRESH) ?? 0,
    lowerThreshold: getU32(m, IPVS_DEST_ATTR.L_THRESH) ?? 0,
    ...tunnel,
    activeConns: getU32(m, IPVS_DEST_ATTR.ACTIVE_CONNS) ?? 0,
    inactiveConns: getU32(m, IPVS_DEST_ATTR.INACT_CONNS) ?? 0,
    persistentConns: getU32(m, IPVS_DEST_ATTR.PERSIST_CONNS) ?? 0,
    ...(stats ? { stats } : {}),
  };
}

/** Assembles an observed service from its decoded parts. */
export function observedService(
  svc: { service: IpvsService; stats?: IpvsStats },
  destinations: ObservedDestination[],
): ObservedService {
  return svc.stats ? { service: svc.service, destinations, stats: svc.stats } : { service: svc.service, destinations };
}

/** Decodes a GET_INFO reply. */
export function decodeInfo(m: AttrMap): IpvsInfo {
  const v = getU32(m, IPVS_INFO_ATTR.VERSION) ?? 0;
  return {
    version: `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`,
    connTableSize: getU32(m, IPVS_INFO_ATTR.CONN_TAB_SIZE) ?? 0,
  };
}

/** Attributes of SET_CONFIG; decodes GET_CONFIG with {@link decodeTimeouts}. */
export function timeoutAttrs(t: IpvsTimeouts): Attr[] {
  return [
    { type: IPVS_CMD_ATTR.TIMEOUT_TCP, value: u32(t.tcp) },
    { type: IPVS_CMD_ATTR.TIMEOUT_TCP_FIN, value: u32(t.tcpFin) },
    { type: IPVS_CMD_ATTR.TIMEOUT_UDP, value: u32(t.udp) },
  ];
}

/** Decodes a GET_CONFIG reply. */
export function decodeTimeouts(m: AttrMap): IpvsTimeouts {
  return {
    tcp: getU32(m, IPVS_CMD_ATTR.TIMEOUT_TCP) ?? 0,
    tcpFin: getU32(m, IPVS_CMD_ATTR.TIMEOUT_TCP_FIN) ?? 0,
    udp: getU32(m, IPVS_CMD_ATTR.TIMEOUT_UDP) ?? 0,
  };
}

/** Attributes of NEW_DAEMON. */
export function daemonAttrs(d: IpvsSyncDaemon): Attr[] {
  const inner: Attr[] = [
    { type: IPVS_DAEMON_ATTR.STATE, value: u32(d.state === 'master' ? IP_VS_STATE.MASTER : IP_VS_STATE.BACKUP) },
    { type: IPVS_DAEMON_ATTR.MCAST_IFN, value: cstring(d.interface) },
    { type: IPVS_DAEMON_ATTR.SYNC_ID, value: u32(d.syncId) },
  ];
  if (d.maxLength !== undefined) inner.push({ type: IPVS_DAEMON_ATTR.SYNC_MAXLEN, value: u16(d.maxLength) });
  if (d.group !== undefined) {
    const v6 = ipaddr.parse(d.group).kind() === 'ipv6';
    inner.push(
      v6
        ? { type: IPVS_DAEMON_ATTR.MCAST_GROUP6, value: encodeAddress(d.group) }
        : { type: IPVS_DAEMON_ATTR.MCAST_GROUP, value: encodeAddress(d.group).subarray(0, 4) },
    );
  }
  if (d.port !== undefined) inner.push({ type: IPVS_DAEMON_ATTR.MCAST_PORT, value: u16(d.port) });
  if (d.ttl !== undefined) inner.push({ type: IPVS_DAEMON_ATTR.MCAST_TTL, value: u8(d.ttl) });
  return [{ type: IPVS_CMD_ATTR.DAEMON, value: inner }];
}

/** Attributes of DEL_DAEMON. */
export function daemonStateAttrs(state: 'master' | 'backup'): Attr[] {
  return [
    {
      type: IPVS_CMD_ATTR.DAEMON,
      value: [
        { type: IPVS_DAEMON_ATTR.STATE, value: u32(state === 'master' ? IP_VS_STATE.MASTER : IP_VS_STATE.BACKUP) },
      ],
    },
  ];
}

/** Decodes a NEW_DAEMON reply of GET_DAEMON. */
export function decodeDaemon(top: AttrMap): IpvsSyncDaemon {
  const m = getNested(top, IPVS_CMD_ATTR.DAEMON);
  if (!m) throw protocolError('reply without a daemon');
  const g4 = m.get(IPVS_DAEMON_ATTR.MCAST_GROUP);
  const g6 = m.get(IPVS_DAEMON_ATTR.MCAST_GROUP6);
  const group =
    g6 && !g6.every((b) => b === 0)
      ? decodeAddress(g6, 'inet6')
      : g4 && !g4.every((b) => b === 0)
        ? decodeAddress(g4, 'inet')
        : undefined;
  const maxLength = getU16(m, IPVS_DAEMON_ATTR.SYNC_MAXLEN);
  const port = getU16(m, IPVS_DAEMON_ATTR.MCAST_PORT);
  const ttl = getU8(m, IPVS_DAEMON_ATTR.MCAST_TTL);
  return {
    state: getU32(m, IPVS_DAEMON_ATTR.STATE) === IP_VS_STATE.MASTER ? 'master' : 'backup',
    interface: getString(m, IPVS_DAEMON_ATTR.MCAST_IFN) ?? '',
    syncId: getU32(m, IPVS_DAEMON_ATTR.SYNC_ID) ?? 0,
    ...(maxLength !== undefined ? { maxLength } : {}),
    ...(group !== undefined ? { group } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(ttl !== undefined ? { ttl } : {}),
  };
}
