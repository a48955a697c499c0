// Translation of the configuration model (VirtualService, RealServer, FallbackServer) into IPVS words.
import { canonicalFlags, destinationKeyString, serviceKeyString } from '../ipvs/normalize';
import type { ForwardingMethod, IpvsDestination, IpvsFamily, IpvsService } from '../ipvs/types';
import type { FallbackServer, ForwardMethod, RealServer, VirtualService } from '../model';

/** ldirectord's forwarding method names in kernel words: gate = direct routing, masq = NAT, ipip/gue/gre = tunnel. */
export const FORWARDING: Readonly<Record<ForwardMethod, ForwardingMethod>> = {
  gate: 'route',
  masq: 'masq',
  ipip: 'tunnel',
  gue: 'tunnel',
  gre: 'tunnel',
};

/**
 * The encapsulation of a gue or gre real in kernel words (type, GUE port, checksums); undefined for every other real.
 * An ipip real gets none: the kernel's default type is IP-in-IP, and an ipvsadm older than 1.30 knows no `--tun-type`.
 */
function tunnelOf(r: RealServer): Pick<IpvsDestination, 'tunnelType' | 'tunnelPort' | 'tunnelChecksum'> | undefined {
  if (r.forward === 'gue')
    return {
      tunnelType: 'gue',
      ...(r.tunnelPort !== undefined ? { tunnelPort: r.tunnelPort } : {}),
      tunnelChecksum: r.tunnelFlags ?? 'nocsum',
    };
  if (r.forward === 'gre') return { tunnelType: 'gre', tunnelChecksum: r.tunnelFlags ?? 'nocsum' };
  return undefined;
}

/** Address family of a numeric address (IPv6 contains a colon). */
export function familyOfAddress(address: string): IpvsFamily {
  return address.includes(':') ? 'inet6' : 'inet';
}

/**
 * The IPVS service of a virtual service: its key, scheduler, scheduler flags (`schedflags`, ipvsadm `-b` names),
 * persistence with its netmask and engine, and one-packet scheduling (ldirectord passes `-o` for UDP virtuals only).
 */
export function serviceOf(v: VirtualService): IpvsService {
  const settings = {
    scheduler: v.scheduler,
    ...(v.persistent !== undefined ? { persistent: v.persistent } : {}),
    ...(v.persistent !== undefined && v.netmask !== undefined ? { netmask: v.netmask } : {}),
    ...(v.persistent !== undefined && v.persistenceEngine !== undefined
      ? { persistenceEngine: v.persistenceEngine }
      : {}),
    onePacket: v.ops && v.protocol === 'udp',
    schedulerFlags: canonicalFlags((v.schedFlags ?? '').split(',').filter((f) => f.trim() !== '')),
  };
  if (v.fwmark !== undefined || v.protocol === 'fwm') {
    return { family: v.family, fwmark: v.fwmark ?? 0, ...settings };
  }
  return { family: v.family, protocol: v.protocol, address: v.address ?? '', port: v.port, ...settings };
}

/**
 * The port a destination has in the kernel table. ipvsadm (and so ldirectord) forces the port of a route or tunnel
 * destination of an address service to the service's port; ldir does the same through every backend, so the table
 * looks the same whichever backend wrote it. Masq destinations keep their port (0 = the kernel uses the virtual port).
 */
export function destinationPort(v: VirtualService, forward: ForwardMethod, port: number): number {
  const addressService = v.fwmark === undefined && v.protocol !== 'fwm';
  return addressService && forward !== 'masq' ? v.port : port;
}

/** The destination of a real server of `v`, with `weight`. */
export function realDestination(v: VirtualService, r: RealServer, weight: number): IpvsDestination {
  const d: IpvsDestination = {
    address: r.address,
    family: familyOfAddress(r.address),
    port: destinationPort(v, r.forward, r.port),
    forward: FORWARDING[r.forward],
    weight,
    upperThreshold: r.upperThreshold,
    lowerThreshold: r.lowerThreshold,
  };
  // Without a tunnel, one literal of one shape: a spread makes a dictionary-mode object, and every pass builds one
  // per real and reads it many times (decide, plan, the fingerprint).
  const tunnel = tunnelOf(r);
  return tunnel ? { ...d, ...tunnel } : d;
}

/** The destination of the fallback server of `v`: weight 1, no thresholds, as ldirectord. */
export function fallbackDestination(v: VirtualService, f: FallbackServer): IpvsDestination {
  return {
    address: f.address,
    family: familyOfAddress(f.address),
    port: destinationPort(v, f.forward, f.port),
    forward: FORWARDING[f.forward],
    weight: 1,
    upperThreshold: 0,
    lowerThreshold: 0,
  };
}

/** Stable id of the kernel service of `v` (`tcp:10.0.0.1:80`, `fwm:7`, ...; equal to `v.id` for canonical addresses). */
export function serviceIdOf(v: VirtualService): string {
  return serviceKeyString(serviceOf(v));
}

/** Stable id of a destination within its service (`10.0.0.2:80`, `[2001:db8::2]:80`). */
export function destinationIdOf(d: IpvsDestination): string {
  return destinationKeyString(d);
}
