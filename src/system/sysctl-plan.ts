// Pure planner: the sysctl values a configuration needs (NAT forwarding, no ICMP redirects, IPVS tunables).
import type { AddressFamily, Config, VirtualService } from '../model';
import { keyComponent } from './sysctl-store';

/** One sysctl value ldir wants, and why. */
export interface SysctlSetting {
  /** sysctl(8) name, e.g. `net.ipv4.conf.eth0.send_redirects`. */
  readonly key: string;
  readonly value: string;
  /** Why ldir wants it, for logs and `ldir check` (`IPv4 masq forwarding (tcp:192.0.2.1:80)`, `ipvssysctl at FILE:LINE`). */
  readonly why: string;
}

/** Entries of `net.ipv4.conf` that are not interfaces of the director, or that need no redirect setting. */
const NOT_DIRECTOR_INTERFACES = new Set(['all', 'default', 'lo']);

/** True for loopback addresses: a masq destination there is local delivery (IPVS uses LOCALNODE), not forwarding. */
function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./i.test(address);
}

/** The first virtual service of `family` that forwards with masq, to a real server or a non-loopback fallback. */
export function firstMasqVirtual(config: Config, family: AddressFamily): VirtualService | undefined {
  return config.virtualServices.find(
    (vs) =>
      vs.family === family &&
      (vs.reals.some((r) => r.forward === 'masq') ||
        (vs.fallback !== undefined && vs.fallback.forward === 'masq' && !isLoopback(vs.fallback.address))),
  );
}

/**
 * The sysctl values `config` needs, in the order they should be written. Nothing when `sysctl=no`. With IPv4 masq
 * (NAT) forwarding: `send_redirects=0` for `all`, `default` and every interface `listInterfaces` names except `lo`
 * (the kernel sends redirects when `all` OR the interface says so), then `net.ipv4.ip_forward=1`, so no redirect can
 * go out between the two. With IPv6 masq: `net.ipv6.conf.all.forwarding=1` (IPv6 has no send_redirects switch).
 * Then the configured IPVS tunables under `net.ipv4.vs`, by name. `listInterfaces` is called only when needed; it
 * returns the entry names of `net.ipv4.conf` (see {@link SysctlStore.list}).
 */
export function planSysctls(config: Config, listInterfaces: () => readonly string[]): SysctlSetting[] {
  const settings = config.globals.sysctl;
  if (!settings.enabled) return [];
  const out: SysctlSetting[] = [];
  const v4 = firstMasqVirtual(config, 'inet');
  if (v4) {
    const why = `IPv4 masq forwarding (${v4.id})`;
    const interfaces = listInterfaces()
      .filter((n) => !NOT_DIRECTOR_INTERFACES.has(n))
      .sort();
    for (const name of ['all', 'default', ...interfaces]) {
      out.push({ key: `net.ipv4.conf.${keyComponent(name)}.send_redirects`, value: '0', why });
    }
    out.push({ key: 'net.ipv4.ip_forward', value: '1', why });
  }
  const v6 = firstMasqVirtual(config, 'inet6');
  if (v6) out.push({ key: 'net.ipv6.conf.all.forwarding', value: '1', why: `IPv6 masq forwarding (${v6.id})` });
  for (const t of settings.ipvs) {
    out.push({ key: `net.ipv4.vs.${t.name}`, value: t.value, why: `ipvssysctl at ${t.source.file}:${t.source.line}` });
  }
  return out;
}
