// FRR's side of route health injection as text: ldir's `network` statements read from `show running-config bgpd`,
// and the vtysh commands that turn one announced set into another. Pure.
import { canonicalPrefix } from './candidates';
import { sortPrefixes } from './decide-announce';

/**
 * The route-map ldir's `network` statements carry. It marks them as ldir's (the operator's own `network` statements
 * are never touched) and is the operator's hook for policy (communities, MED); frr.conf must define a permit entry
 * of it, else bgpd would deny the prefix (FRR treats a missing route-map as deny).
 */
export const FRR_ROUTE_MAP = 'LDIR-ANNOUNCE';

/** What ldir needs to know of bgpd's running configuration. */
export interface FrrBgpView {
  /** The AS number of the default BGP instance (`router bgp ASN` without `vrf`/`view`); undefined when none. */
  readonly asn?: string;
  /** True when {@link FRR_ROUTE_MAP} has a permit entry. */
  readonly routeMap: boolean;
  /** The prefixes of the default instance's `network P route-map LDIR-ANNOUNCE` statements, IPv4 first. */
  readonly announced: readonly string[];
}

/** Reads the output of `show running-config bgpd`. */
export function parseFrrRunningConfig(text: string): FrrBgpView {
  let asn: string | undefined;
  let routeMap = false;
  const announced: string[] = [];
  let inDefaultBgp = false;
  let family: 'ipv4' | 'ipv6' | undefined;
  const network = new RegExp(`^\\s+network (\\S+) route-map ${FRR_ROUTE_MAP}\\s*$`);
  for (const line of text.split('\n')) {
    if (!/^\s/.test(line)) {
      const bgp = /^router bgp (\S+)(.*)$/.exec(line.trimEnd());
      inDefaultBgp = bgp !== null && !/\b(vrf|view)\b/.test(bgp[2] ?? '');
      if (inDefaultBgp && asn === undefined) asn = bgp?.[1];
      if (new RegExp(`^route-map ${FRR_ROUTE_MAP} permit \\d+\\s*$`).test(line)) routeMap = true;
      family = undefined;
      continue;
    }
    if (!inDefaultBgp) continue;
    const af = /^\s+address-family (ipv4|ipv6) unicast\s*$/.exec(line);
    if (af) family = af[1] as 'ipv4' | 'ipv6';
    else if (/^\s+exit-address-family\s*$/.test(line)) family = undefined;
    else if (family) {
      const m = network.exec(line);
      if (m) announced.push(canonicalPrefix(m[1] as string));
    }
  }
  return { ...(asn !== undefined ? { asn } : {}), routeMap, announced: sortPrefixes(announced) };
}

/**
 * The vtysh commands (each one `-c` argument) that make the default instance `asn` announce exactly `want` where it
 * announces `have` now: `no network` for what goes, `network ... route-map LDIR-ANNOUNCE` for what comes, per
 * address family. Empty when nothing changes.
 */
export function frrCommands(asn: string, have: readonly string[], want: readonly string[]): string[] {
  const haveSet = new Set(have.map(canonicalPrefix));
  const wantSet = new Set(want.map(canonicalPrefix));
  const out: string[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const inFamily = (p: string): boolean => p.includes(':') === (family === 'ipv6');
    const lines = [
      ...sortPrefixes([...haveSet].filter((p) => inFamily(p) && !wantSet.has(p))).map(
        (p) => `no network ${p} route-map ${FRR_ROUTE_MAP}`,
      ),
      ...sortPrefixes([...wantSet].filter((p) => inFamily(p) && !haveSet.has(p))).map(
        (p) => `network ${p} route-map ${FRR_ROUTE_MAP}`,
      ),
    ];
    if (lines.length > 0) out.push(`address-family ${family} unicast`, ...lines, 'exit-address-family');
  }
  return out.length === 0 ? [] : ['configure terminal', `router bgp ${asn}`, ...out];
}
