// What the kernel (and ipvsadm, ldirectord's only way to it) accepts for the values a configuration gives IPVS.
import ipaddr from 'ipaddr.js';

/** Largest real server weight: the kernel reads the u32 attribute as an int and refuses a negative one (ERANGE). */
export const MAX_WEIGHT = 2147483647;

/**
 * Largest connection threshold (`u:`/`l:`): the kernel refuses an upper threshold above INT_MAX (EINVAL) and
 * ipvsadm accepts no more for either.
 */
export const MAX_THRESHOLD = 2147483647;

/**
 * Longest persistence timeout, in seconds: 31 days, ipvsadm's `MAX_TIMEOUT` (so the most ldirectord could ever set).
 * The kernel keeps the timeout in jiffies in an unsigned int and silently wraps above 4294967295 / HZ seconds
 * (49 days at HZ=1000), so it cannot be trusted to refuse a larger one.
 */
export const MAX_PERSISTENT = 86400 * 31;

/** Shortest persistence timeout: ipvsadm refuses 0 (`-p 0`), and the kernel would expire every template at once. */
export const MIN_PERSISTENT = 1;

/** Why an address can be neither a virtual service nor a destination, or undefined when it can. */
export type UnusableAddress = 'unspecified' | 'multicast' | 'broadcast';

/**
 * Whether a numeric address can carry IPVS traffic: the kernel refuses a destination in 0.0.0.0/8, the limited
 * broadcast or a multicast group (and `::` or multicast for IPv6), and a virtual service there never sees a packet
 * (IPVS only takes packets addressed to this host).
 */
export function unusableAddress(address: string): UnusableAddress | undefined {
  const text = address.replace(/^\[(.*)\]$/, '$1');
  if (!ipaddr.isValid(text)) return undefined;
  const range = ipaddr.parse(text).range();
  return range === 'unspecified' || range === 'multicast' || range === 'broadcast' ? range : undefined;
}

/** `224.0.0.1 is a multicast address`, `0.0.0.0 is an unspecified address`, `... is the broadcast address`. */
export function describeUnusable(address: string, why: UnusableAddress): string {
  return `${address} is ${why === 'broadcast' ? 'the broadcast address' : why === 'unspecified' ? 'an unspecified address' : 'a multicast address'}`;
}

/** What an IPv4 persistence netmask means to the kernel: its dotted quad and prefix length (null: not contiguous). */
export interface Ipv4Netmask {
  /** The mask as the kernel gets it (inet_aton's reading: a leading 0 makes an octet octal). */
  readonly mask: string;
  readonly prefix: number | null;
}

/** Reads an IPv4 netmask as every backend does (ipvsadm's inet_aton, ldir's codec); undefined when it is no address. */
export function readIpv4Netmask(text: string): Ipv4Netmask | undefined {
  if (!ipaddr.IPv4.isValid(text)) return undefined;
  const parsed = ipaddr.IPv4.parse(text);
  return { mask: parsed.toString(), prefix: parsed.prefixLengthFromSubnetMask() };
}
