// The scale-out lab for the kernel tier (inside the VM): active-active LVS-DR directors behind an ECMP router. A
// router namespace runs BIRD with one eBGP session (with BFD) per director and installs the VIP's route with one
// nexthop per announcing director (`merge paths`), hashing flows on their ports (fib_multipath_hash_policy=1); each
// director namespace has its own IPVS table and its own BIRD, which exports the VIP while ldir's include file lists
// it. Directors, reals and the router share one bridge (LVS-DR needs one L2); the client sits behind the router on
// its own link. Reals hold the VIP on lo and answer the client through the router. Nothing leaves the VM.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EMPTY_ANNOUNCE_FILE, startBird, type BirdDaemon } from './bird';
import { eventually, parseProcIpvs, type ListedTable } from './ldir-director';
import { startLabServer } from './netns-lab';
import { holdVipOnLo, nsExec, sh, type DrHttpReal } from './sync-lab';

/** BFD timers of every session: a director whose host is gone is noticed after 5 × 200 ms. */
const BFD = 'protocol bfd { interface "eth0" { min rx interval 200 ms; min tx interval 200 ms; multiplier 5; }; }';
/** Session timers: reconnect within a second or two after a failure (the defaults wait much longer). */
const SESSION =
  'bfd on; hold time 9; keepalive time 3; connect delay time 1; connect retry time 1; error wait time 1, 2;';
const ROUTER_AS = 65000;
const DIRECTOR_AS = 65001;

/** One director of the lab: its namespace, address, BIRD and the include file its ldir writes. */
export interface ScaleOutDirector {
  readonly netns: string;
  readonly address: string;
  readonly bird: BirdDaemon;
  /** `announcefile=` of its ldir (created with empty sets, as the operator does before BIRD starts). */
  readonly announceFile: string;
}

/** The built lab. */
export interface ScaleOutLab {
  readonly router: string;
  readonly routerBird: BirdDaemon;
  readonly client: string;
  readonly clientIp: string;
  readonly vip: string;
  readonly directors: readonly ScaleOutDirector[];
  readonly reals: readonly DrHttpReal[];
  /**
   * The router's nexthops (director addresses) for the VIP in its kernel table, sorted, empty without a route;
   * undefined when `ip` did not answer within 10 s (the emulated VM on a busy host). Asynchronous: the test's event
   * loop goes on meanwhile.
   */
  nexthops(): Promise<string[] | undefined>;
  /**
   * Waits (at most `ms`) until the router's nexthops for the VIP are `want` (any order); resolves with the epoch ms at
   * which the router's kernel table changed to them (when `ip monitor route` reported the change: no polling delay),
   * or when they were first seen if they already were. Throws after `ms` with `describe()`.
   */
  routeBecomes(what: string, want: readonly string[], ms: number, describe: () => string): Promise<number>;
  /** Every route to the VIP the router's kernel table had since the lab was built, with the time it changed to it. */
  routeHistory(): ReadonlyArray<{ readonly at: number; readonly nexthops: readonly string[] }>;
  /** Director `i`'s IPVS table (its namespace's /proc/net/ip_vs, read through its BIRD's /proc entry: no process). */
  table(i: number): ListedTable;
  /** Director `i`'s connection entries (/proc/net/ip_vs_conn of its namespace, addresses in hex). */
  connections(i: number): string;
  /** Director `i`'s host gone: every link of its namespace down. */
  hostDown(i: number): void;
  /** Director `i`'s links up again. */
  hostUp(i: number): void;
  /** What the router saw: its route to the VIP, its BGP/BFD sessions and the tail of its BIRD log. */
  routerSeen(): string;
  /** Stops every process and removes every namespace and link. Never throws. */
  teardown(): void;
}

/** Options of {@link buildScaleOutLab}. */
export interface ScaleOutLabOptions {
  readonly directors?: number;
  readonly reals?: number;
}

/** A director's bird.conf: originates the VIP, exports it to the router while ldir's include file lists it. */
export function directorBirdConfig(self: string, router: string, vip: string, announceFile: string): string {
  return `router id ${self};
include "${announceFile}";
protocol device {}
${BFD}
protocol static vips { ipv4; route ${vip}/32 blackhole; }
protocol bgp upstream {
  local ${self} as ${DIRECTOR_AS}; neighbor ${router} as ${ROUTER_AS};
  ${SESSION}
  ipv4 { import none; export where net ~ LDIR_ANNOUNCED_V4; };
}
`;
}

/** The router's bird.conf: one session per director, every nexthop of equal routes into the kernel (ECMP). */
export function routerBirdConfig(self: string, directors: readonly string[]): string {
  return `router id ${self};
protocol device {}
${BFD}
protocol kernel { ipv4 { import none; export all; }; merge paths on; }
${directors
  .map(
    (d, i) => `protocol bgp d${i + 1} {
  local ${self} as ${ROUTER_AS}; neighbor ${d} as ${DIRECTOR_AS};
  ${SESSION}
  ipv4 { import all; export none; };
}`,
  )
  .join('\n')}
`;
}

/**
 * Follows the router's route to the VIP without polling: `ip monitor route` in the router's namespace wakes it on
 * every change of the table, then one `ip -j route show` reads the route (its time is that of the change); a read
 * every 2 s besides covers a lost wake-up.
 */
class RouteWatch {
  nexthops: string[] | undefined;
  changedAt = 0;
  /** Every route the watch saw, with the time of its change. */
  readonly history: Array<{ readonly at: number; readonly nexthops: readonly string[] }> = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly monitor: ChildProcess;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly read: () => Promise<string[] | undefined>,
    router: string,
  ) {
    this.monitor = spawn('ip', ['-n', router, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.monitor.stdout?.on('data', () => this.refresh(Date.now()));
    this.timer = setInterval(() => this.refresh(Date.now()), 2_000);
    this.refresh(Date.now());
  }

  private refresh(at: number): void {
    this.chain = this.chain.then(async () => {
      const now = await this.read();
      if (now === undefined) return;
      if (this.nexthops === undefined || now.join(',') !== this.nexthops.join(',')) {
        this.nexthops = now;
        this.changedAt = at;
        this.history.push({ at, nexthops: now });
      }
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.monitor.kill('SIGKILL');
  }
}

/** The nexthops of `ip -j route show` output for one prefix. */
export function routeNexthops(json: string): string[] {
  const routes = JSON.parse(json.trim() === '' ? '[]' : json) as Array<{
    gateway?: string;
    nexthops?: Array<{ gateway?: string }>;
  }>;
  const out: string[] = [];
  for (const r of routes) {
    if (r.gateway) out.push(r.gateway);
    for (const n of r.nexthops ?? []) if (n.gateway) out.push(n.gateway);
  }
  return out.sort();
}

/**
 * Builds the lab under prefix `p` (namespaces `<p>rt` router, `<p>c` client, `<p>d1..` directors, `<p>h1..` reals,
 * bridge `<p>br`): the shared L2 10.`net`.0.0/24 (router .1, directors .11.., reals .31..), the client link
 * 10.`net`.1.0/24 (router .1, client .2), the VIP 10.`net`.2.10 (outside both, so only the announced route reaches it).
 * Each real serves `hello from <p>hN` over HTTP on port 80. Resolves once every BGP session is established and every
 * real listens.
 */
export async function buildScaleOutLab(p: string, net: number, options: ScaleOutLabOptions = {}): Promise<ScaleOutLab> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ldir-${p}-lab-`));
  const lan = `10.${net}.0`;
  const router = `${p}rt`;
  const client = `${p}c`;
  const bridge = `${p}br`;
  const vip = `10.${net}.2.10`;
  const routerIp = `${lan}.1`;
  const made: string[] = [];
  const birds: BirdDaemon[] = [];
  const reals: DrHttpReal[] = [];
  const directors: ScaleOutDirector[] = [];
  let watch: RouteWatch | undefined;
  const teardown = (): void => {
    watch?.stop();
    for (const b of birds) b.stop();
    for (const r of reals) r.server.stop();
    for (const ns of made) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        /* gone */
      }
    }
    try {
      sh('ip', ['link', 'del', bridge]);
    } catch {
      /* gone */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const namespace = (ns: string): void => {
    sh('ip', ['netns', 'add', ns]);
    made.push(ns);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  };
  let port = 0;
  const onLan = (ns: string, ip: string): void => {
    port++;
    sh('ip', ['link', 'add', `${p}v${port}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh('ip', ['link', 'set', `${p}v${port}`, 'master', bridge, 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  };
  try {
    sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
    sh('ip', ['link', 'set', bridge, 'up']);
    namespace(router);
    onLan(router, routerIp);
    nsExec(router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.fib_multipath_hash_policy=1']);
    namespace(client);
    sh('ip', ['-n', router, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client]);
    sh('ip', ['-n', router, 'addr', 'add', `10.${net}.1.1/24`, 'dev', 'eth1']);
    sh('ip', ['-n', router, 'link', 'set', 'eth1', 'up']);
    sh('ip', ['-n', client, 'addr', 'add', `10.${net}.1.2/24`, 'dev', 'eth0']);
    sh('ip', ['-n', client, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', client, 'route', 'add', 'default', 'via', `10.${net}.1.1`]);
    for (let i = 1; i <= (options.reals ?? 4); i++) {
      const ns = `${p}h${i}`;
      const address = `${lan}.${30 + i}`;
      namespace(ns);
      onLan(ns, address);
      holdVipOnLo(ns, vip, 'eth0');
      // Answers to the client go through the router, straight from the real (LVS-DR).
      sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', routerIp]);
      reals.push({ netns: ns, address, server: startLabServer(ns, ns, '0.0.0.0', 80) });
    }
    for (let i = 1; i <= (options.directors ?? 3); i++) {
      const ns = `${p}d${i}`;
      const address = `${lan}.${10 + i}`;
      namespace(ns);
      onLan(ns, address);
      // IPVS takes the VIP's packets on LOCAL_IN: the address is local, but never answered in ARP.
      holdVipOnLo(ns, vip, 'eth0');
      const announceFile = path.join(dir, `d${i}-announce.conf`);
      fs.writeFileSync(announceFile, EMPTY_ANNOUNCE_FILE);
      const bird = startBird(ns, dir, `d${i}-bird`, directorBirdConfig(address, routerIp, vip, announceFile));
      birds.push(bird);
      directors.push({ netns: ns, address, bird, announceFile });
    }
    const routerBird = startBird(
      router,
      dir,
      'router-bird',
      routerBirdConfig(
        routerIp,
        directors.map((d) => d.address),
      ),
    );
    birds.push(routerBird);
    for (const r of reals) await r.server.ready();
    await eventually(
      'every BGP session of the router established',
      () => {
        const up = routerBird
          .birdc(['show', 'protocols'])
          .split('\n')
          .filter((l) => /^d\d+\s+BGP\s.*Established/.test(l));
        const bfd = routerBird
          .birdc(['show', 'bfd', 'sessions'])
          .split('\n')
          .filter((l) => /\sUp\s/.test(l));
        return up.length === directors.length && bfd.length === directors.length ? true : undefined;
      },
      120_000,
      250,
      () => `${routerBird.birdc(['show', 'protocols'])}\n${routerBird.logTail()}`,
    );
    const procOf = (i: number, file: string): string => {
      const pid = directors[i]?.bird.pid();
      if (pid === undefined) throw new Error(`director ${i + 1}: its BIRD does not run`);
      return fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    };
    const nexthops = (): Promise<string[] | undefined> =>
      new Promise((resolve) => {
        execFile(
          'ip',
          ['-n', router, '-j', 'route', 'show', `${vip}/32`],
          { encoding: 'utf8', timeout: 10_000 },
          (err, out) => {
            resolve(err ? undefined : routeNexthops(out));
          },
        );
      });
    watch = new RouteWatch(nexthops, router);
    const lab: ScaleOutLab = {
      router,
      routerBird,
      client,
      clientIp: `10.${net}.1.2`,
      vip,
      directors,
      reals,
      nexthops,
      routeHistory: () => watch?.history ?? [],
      routeBecomes: async (what, want, ms, describe) => {
        const sorted = [...want].sort().join(',');
        const w = watch as RouteWatch;
        return eventually(
          what,
          () => (w.nexthops?.join(',') === sorted ? w.changedAt : undefined),
          ms,
          20,
          () => `the watch saw ${w.nexthops?.join(',') ?? 'nothing yet'}\n${describe()}`,
        );
      },
      table: (i) => parseProcIpvs(procOf(i, 'ip_vs')),
      connections: (i) => procOf(i, 'ip_vs_conn'),
      hostDown: (i) => sh('ip', ['-n', directors[i]?.netns ?? '', 'link', 'set', 'eth0', 'down']),
      hostUp: (i) => sh('ip', ['-n', directors[i]?.netns ?? '', 'link', 'set', 'eth0', 'up']),
      routerSeen: () => {
        let route = '';
        try {
          route = sh('ip', ['-n', router, 'route', 'show', `${vip}/32`], 10_000).trim();
        } catch (e) {
          route = String(e);
        }
        return (
          `router: route to ${vip}: ${route || 'none'}\n${routerBird.birdc(['show', 'protocols'])}${routerBird.birdc(['show', 'bfd', 'sessions'])}` +
          `--- router BIRD log (tail)\n${routerBird.logTail(15)}`
        );
      },
      teardown,
    };
    return lab;
  } catch (err) {
    teardown();
    throw err;
  }
}
