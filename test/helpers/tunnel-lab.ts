// An LVS-TUN lab for kernel-tier tests inside the VM: a client namespace and real-server namespaces behind a router
// namespace, the director being the VM's own namespace. The director tunnels each new connection to a real (IP-in-IP,
// GUE or GRE, over IPv4 or IPv6); the real decapsulates it (fou/GUE port, tunnel device), holds the VIPs on its
// loopback and answers the client straight through the router: replies never pass the director. Nothing leaves the
// VM; every address is in 10.NET.0.0/16 or fdNET::/16.
import { execFileSync } from 'node:child_process';
import { startLabServer, type LabServer } from './netns-lab';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}

/** How a real server decapsulates what the director sends it; `outer` is the family of the tunnel packets. */
export type Decapsulation =
  | { readonly kind: 'gue'; readonly outer: 'inet' | 'inet6'; readonly port: number }
  | { readonly kind: 'gre'; readonly outer: 'inet' | 'inet6'; readonly csum: boolean };

/** One real server of the lab. */
export interface TunnelReal {
  /** Namespace, and the name in its answers (`hello from NAME`). */
  readonly name: string;
  /** Its IPv4 and IPv6 addresses (both always configured; the tunnel uses the one of `decap.outer`). */
  readonly address4: string;
  readonly address6: string;
  readonly decap: Decapsulation;
}

/** The lab. */
export interface TunnelLab {
  readonly clientNetns: string;
  readonly vip4: string;
  readonly vip6: string;
  readonly reals: readonly TunnelReal[];
  /** Resolves once every real's HTTP server listens. */
  ready(timeoutMs?: number): Promise<void>;
  /** Removes every namespace, the director's links and its VIP device. Never throws. */
  teardown(): void;
}

/** The kernel modules the lab needs (decapsulation on the reals; the director's encapsulation is in ip_vs). */
const MODULES = ['dummy', 'veth', 'fou', 'fou6', 'ipip', 'sit', 'ip_gre', 'ip6_gre', 'ip6_tunnel'];

/** Writes sysctls inside namespace `ns`. */
function sysctls(ns: string, settings: readonly string[]): void {
  sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...settings]);
}

/**
 * Sets up decapsulation in the real's namespace. GUE: a fou port (`ip fou add port P gue`) hands the inner packet to
 * IP-in-IP; over IPv4 the fallback devices tunl0 (inner IPv4) and sit0 (inner IPv6) take it, over IPv6 an ip6tnl
 * device of any mode bound to the real's address (the fallback ip6tnl0 takes IPv6-in-IPv6 only). GRE: a device bound
 * to the real's address; the kernel drops a GRE packet whose checksum flag differs from the device's `icsum`, so
 * its checksum setting must match the director's.
 */
function decapsulate(r: TunnelReal, short: string): string[] {
  const ns = r.name;
  const devices: string[] = [];
  if (r.decap.kind === 'gue') {
    sh('ip', [
      'netns',
      'exec',
      ns,
      'ip',
      ...(r.decap.outer === 'inet6' ? ['-6'] : []),
      'fou',
      'add',
      'port',
      String(r.decap.port),
      'gue',
    ]);
    if (r.decap.outer === 'inet') {
      devices.push('tunl0', 'sit0');
    } else {
      sh('ip', [
        '-n',
        ns,
        'link',
        'add',
        `${short}t6`,
        'type',
        'ip6tnl',
        'mode',
        'any',
        'local',
        r.address6,
        'remote',
        '::',
      ]);
      devices.push(`${short}t6`);
    }
  } else {
    const [type, local, remote] =
      r.decap.outer === 'inet' ? ['gre', r.address4, '0.0.0.0'] : ['ip6gre', r.address6, '::'];
    sh('ip', [
      '-n',
      ns,
      'link',
      'add',
      `${short}gr`,
      'type',
      type as string,
      'local',
      local as string,
      'remote',
      remote as string,
      ...(r.decap.csum ? ['icsum'] : []),
    ]);
    devices.push(`${short}gr`);
  }
  for (const dev of devices) sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  return devices;
}

/**
 * Builds the lab: router `<prefix>R`, client `<prefix>C` (10.NET.1.2, fdNET:1::2), the director's link (10.NET.2.2,
 * fdNET:2::2) with the VIPs 10.NET.9.1 and fdNET:9::1 on a dummy device `<prefix>vip`, and one namespace per entry
 * of `reals` (real k: 10.NET.(2+k).2, fdNET:(2+k)::2, both VIPs on its loopback, an HTTP server on port 80 of every
 * address answering `hello from NAME`). `net` is 10..99 (it is also the IPv6 prefix's digits).
 */
export function buildTunnelLab(
  prefix: string,
  net: number,
  reals: ReadonlyArray<{ readonly name: string; readonly decap: Decapsulation }>,
): TunnelLab {
  const router = `${prefix}R`;
  const client = `${prefix}C`;
  const vipDevice = `${prefix}vip`;
  const directorLink = `${prefix}d`;
  const made: string[] = [];
  const servers: LabServer[] = [];
  const built: TunnelReal[] = [];
  const vip4 = `10.${net}.9.1`;
  const vip6 = `fd${net}:9::1`;
  const teardown = (): void => {
    for (const s of servers) s.stop();
    for (const ns of made) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
    for (const dev of [vipDevice, directorLink]) {
      try {
        sh('ip', ['link', 'del', dev]);
      } catch {
        /* already gone */
      }
    }
  };
  /** A veth pair between the router (`10.NET.n.1`) and `ns` (`10.NET.n.2`, named `ifname` there), with a default route. */
  const link = (ns: string | undefined, ifname: string, n: number): void => {
    const peer = `${prefix}r${n}`;
    sh('ip', ['link', 'add', ifname, 'type', 'veth', 'peer', 'name', peer, 'netns', router]);
    sh('ip', ['-n', router, 'addr', 'add', `10.${net}.${n}.1/24`, 'dev', peer]);
    sh('ip', ['-n', router, 'addr', 'add', `fd${net}:${n}::1/64`, 'dev', peer, 'nodad']);
    sh('ip', ['-n', router, 'link', 'set', peer, 'up']);
    const at = ns === undefined ? [] : ['-n', ns];
    if (ns !== undefined) sh('ip', ['link', 'set', ifname, 'netns', ns]);
    sh('ip', [...at, 'addr', 'add', `10.${net}.${n}.2/24`, 'dev', ifname]);
    sh('ip', [...at, 'addr', 'add', `fd${net}:${n}::2/64`, 'dev', ifname, 'nodad']);
    sh('ip', [...at, 'link', 'set', ifname, 'up']);
    if (ns === undefined) {
      sh('ip', ['route', 'add', `10.${net}.0.0/16`, 'via', `10.${net}.${n}.1`]);
      sh('ip', ['-6', 'route', 'add', `fd${net}::/16`, 'via', `fd${net}:${n}::1`]);
    } else {
      sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', `10.${net}.${n}.1`]);
      sh('ip', ['-n', ns, '-6', 'route', 'add', 'default', 'via', `fd${net}:${n}::1`]);
    }
  };
  const namespace = (ns: string): void => {
    sh('ip', ['netns', 'add', ns]);
    made.push(ns);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // Tunnelled packets come in on a tunnel device and replies leave by the veth: no reverse-path filter.
    sysctls(ns, ['net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
  };
  try {
    sh('modprobe', ['-a', ...MODULES]);
    namespace(router);
    sysctls(router, ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    namespace(client);
    link(client, `${prefix}c`, 1);
    link(undefined, directorLink, 2);
    sh('ip', ['link', 'add', vipDevice, 'type', 'dummy']);
    sh('ip', ['addr', 'add', `${vip4}/32`, 'dev', vipDevice]);
    sh('ip', ['addr', 'add', `${vip6}/128`, 'dev', vipDevice, 'nodad']);
    sh('ip', ['link', 'set', vipDevice, 'up']);
    sh('ip', ['-n', router, 'route', 'add', `${vip4}/32`, 'via', `10.${net}.2.2`]);
    sh('ip', ['-n', router, '-6', 'route', 'add', `${vip6}/128`, 'via', `fd${net}:2::2`]);
    reals.forEach((spec, i) => {
      const n = 3 + i;
      namespace(spec.name);
      link(spec.name, `${prefix}x`, n);
      sh('ip', ['-n', spec.name, 'addr', 'add', `${vip4}/32`, 'dev', 'lo']);
      sh('ip', ['-n', spec.name, 'addr', 'add', `${vip6}/128`, 'dev', 'lo', 'nodad']);
      const real: TunnelReal = {
        name: spec.name,
        address4: `10.${net}.${n}.2`,
        address6: `fd${net}:${n}::2`,
        decap: spec.decap,
      };
      for (const dev of decapsulate(real, prefix)) {
        try {
          sysctls(spec.name, [`net.ipv4.conf.${dev}.rp_filter=0`]);
        } catch {
          /* a device without IPv4 settings filters nothing */
        }
      }
      servers.push(startLabServer(spec.name, spec.name, '::', 80));
      built.push(real);
    });
  } catch (err) {
    teardown();
    throw err;
  }
  let readyOnce: Promise<void> | undefined;
  return {
    clientNetns: client,
    vip4,
    vip6,
    reals: built,
    teardown,
    ready: (timeoutMs = 60_000) => {
      readyOnce ??= Promise.all(servers.map((s) => s.ready(timeoutMs))).then(() => undefined);
      return readyOnce;
    },
  };
}
