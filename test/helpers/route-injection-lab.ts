// The lab of the route health injection integration tests (issue 16), shared by the BIRD and the FRR one: ldir on
// the host (memory backend, reals on 127.0.0.x) drives the routing daemon of a "director" network namespace; that
// daemon speaks eBGP over a veth pair to a BIRD 2 "router" in another namespace, whose routing table the test reads.
// The namespaces, the veth pair and every daemon are the test's own; traffic stays inside them and on loopback.
// `describeRouteInjection` runs the one scenario both drivers must pass: announce, withdraw when the reals fail,
// reload, stop, kill -9 (withdrawn within 3 s), restart (never withdrawn).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StatusReport } from '../../src/daemon/protocol';
import { pidFilePath, readPidState } from '../../src/system/pid-file';
import { birdRoutes, type BirdDaemon, startBird } from './bird';
import { ldirBinary, type LdirBinaryRun } from './ldir-binary';
import { needing } from './prerequisites';
import { ensurePackages, freePort } from './system';
import { eventually, sleep } from './wait';

/** The two announced virtual addresses, and one the director's routing daemon holds that ldir does not own. */
export const VIP1 = '192.0.2.10/32';
export const VIP2 = '192.0.2.11/32';
export const OWN_ROUTE = '192.0.2.99/32';
/** The director's and the router's ends of the veth pair, and their AS numbers. */
export const DIRECTOR_ADDRESS = '10.250.0.1';
export const ROUTER_ADDRESS = '10.250.0.2';
export const DIRECTOR_ASN = 65001;
export const ROUTER_ASN = 65000;

/** Runs a command, bounded at 20 s; throws with its output when it fails. */
export function sh(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
}

/** One lab: its directory, namespaces, router, reals and the ldir configuration it runs. */
export class RouteInjectionLab {
  readonly tag = `${process.pid % 100000}`;
  readonly tmp: string;
  readonly env: NodeJS.ProcessEnv;
  readonly directorNs: string;
  readonly routerNs: string;
  /** The router's BIRD, once {@link setUp} started it. */
  private router: BirdDaemon | undefined;
  readonly configName = 'announce.cf';
  readonly configFile: string;
  private readonly reals = new Map<string, http.Server>();
  realPort = 0;

  /** `short` (two or three letters) keeps the namespace and interface names of two labs apart. */
  constructor(readonly short: string) {
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `lb-announce-${short}-`));
    this.env = {
      ...process.env,
      LDIR_RUN_DIR: path.join(this.tmp, 'run'),
      LDIR_SOCKET_DIR: path.join(this.tmp, 'sock'),
      LDIR_STATE_DIR: path.join(this.tmp, 'state'),
    };
    this.directorNs = `ldir-${short}-d${this.tag}`;
    this.routerNs = `ldir-${short}-r${this.tag}`;
    this.configFile = path.join(this.tmp, this.configName);
  }

  /** A file in the lab's directory. */
  file(name: string): string {
    return path.join(this.tmp, name);
  }

  /** Both namespaces joined by a veth pair (director .1, router .2 of a /30), and the router's BIRD started. */
  setUp(): void {
    const dev = (side: 'd' | 'r'): string => `l${this.short}${side}${this.tag}`.slice(0, 15);
    sh('ip', ['netns', 'add', this.directorNs]);
    sh('ip', ['netns', 'add', this.routerNs]);
    sh('ip', ['link', 'add', dev('d'), 'type', 'veth', 'peer', 'name', dev('r')]);
    sh('ip', ['link', 'set', dev('d'), 'netns', this.directorNs]);
    sh('ip', ['link', 'set', dev('r'), 'netns', this.routerNs]);
    for (const [ns, d, addr] of [
      [this.directorNs, dev('d'), `${DIRECTOR_ADDRESS}/30`],
      [this.routerNs, dev('r'), `${ROUTER_ADDRESS}/30`],
    ] as const) {
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', addr, 'dev', d]);
      sh('ip', ['-n', ns, 'link', 'set', d, 'up']);
    }
    this.router = startBird(
      this.routerNs,
      this.tmp,
      'router',
      `router id ${ROUTER_ADDRESS};
protocol device {}
protocol bgp peer {
  local ${ROUTER_ADDRESS} as ${ROUTER_ASN};
  neighbor ${DIRECTOR_ADDRESS} as ${DIRECTOR_ASN};
  connect delay time 1; connect retry time 1; error wait time 1, 2;
  # Not the helper of a restarting director: a director whose routing daemon went is dropped at once (the restart
  # step of the scenario then shows the routes learnt again, not kept stale).
  graceful restart off;
  ipv4 { import all; export none; };
}
`,
    );
  }

  /** Removes the namespaces (after the daemons in them were stopped) and the directory. */
  tearDown(): void {
    this.router?.stop();
    for (const ns of [this.directorNs, this.routerNs]) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  /** Runs the `ldir` binary with the lab's environment, bounded at 90 s. */
  ldir(args: readonly string[]): Promise<LdirBinaryRun> {
    return ldirBinary(() => this.env, 90_000)(...args);
  }

  async status(): Promise<StatusReport> {
    const r = await this.ldir(['--json', this.configFile, 'status']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as StatusReport;
  }

  daemonPid(): number | undefined {
    const s = readPidState(pidFilePath(this.configName, this.env['LDIR_RUN_DIR']));
    return s.state === 'running' ? s.pid : undefined;
  }

  /** `birdc` on the router's BIRD ('' before it runs). */
  private routerBirdc(args: readonly string[]): string {
    return this.router?.birdc(args) ?? '';
  }

  /** The prefixes the router's BIRD has learnt (its `show route`). */
  routerRoutes(): Set<string> {
    return this.router ? birdRoutes(this.router) : new Set();
  }

  /** The router's BGP session line (`peer BGP --- up HH:MM:SS.mmm Established`): its time changes when the session resets. */
  sessionSince(): string {
    const line = this.routerBirdc(['show', 'protocols', 'peer'])
      .split('\n')
      .find((l) => l.startsWith('peer '));
    assert.match(line ?? '', /Established/);
    return line ?? '';
  }

  /** Waits for the BGP session between the director and the router. */
  async sessionUp(describeSeen: () => string): Promise<void> {
    await eventually(
      'the BGP session up',
      () => {
        return /Established/.test(this.routerBirdc(['show', 'protocols', 'peer'])) ? true : undefined;
      },
      60_000,
      200,
      describeSeen,
    );
  }

  /** What the router, the daemon, the guard and the lab's `logs` saw, printed when a step fails. */
  seen(logs: readonly string[]): string {
    const parts = [`router routes: ${[...this.routerRoutes()].join(', ') || 'none'}`];
    for (const f of ['announce.log', 'router.log', ...logs]) {
      const p = this.file(f);
      if (fs.existsSync(p))
        parts.push(`--- ${f} (tail)\n${fs.readFileSync(p, 'utf8').split('\n').slice(-25).join('\n')}`);
    }
    const guardLog = path.join(this.tmp, 'sock', `${this.configName}.announce.sock.log`);
    if (fs.existsSync(guardLog)) parts.push(`--- guard log\n${fs.readFileSync(guardLog, 'utf8')}`);
    return parts.join('\n');
  }

  async startReal(address: string): Promise<void> {
    if (this.realPort === 0) this.realPort = await freePort(address);
    const s = http.createServer((_q, r) => r.end('ok'));
    await new Promise<void>((r) => s.listen(this.realPort, address, r));
    this.reals.set(address, s);
  }

  async stopReal(address: string): Promise<void> {
    const s = this.reals.get(address);
    this.reals.delete(address);
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }

  async stopReals(): Promise<void> {
    for (const address of [...this.reals.keys()]) await this.stopReal(address);
  }
}

/** Sends SIGTERM to the process a pid file names (nothing when it is not running); returns its pid. */
export function killPidFile(pidFile: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    process.kill(pid, 'SIGTERM');
    return pid;
  } catch {
    return undefined; // not running
  }
}

/** Stops the processes the pid files name and waits (up to 20 s) until they are gone. */
export async function stopPidFiles(pidFiles: readonly string[]): Promise<void> {
  const pids = pidFiles.map(killPidFile).filter((p): p is number => p !== undefined);
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await eventually('the routing daemon stopped', () => (pids.some(alive) ? undefined : true), 20_000);
}

/** The director's routing daemon of one scenario. */
export interface DirectorDaemon {
  /** Debian packages it needs beside bird2 (the router's). */
  readonly packages: readonly string[];
  /** Writes its configuration (peering with the router, exporting what ldir announces) and sets the director up. */
  prepare(lab: RouteInjectionLab): void;
  /** Starts it in the director namespace (again after {@link pidFiles} stopped). */
  start(lab: RouteInjectionLab): void;
  /** The pid files of its processes (SIGTERM stops them). */
  pidFiles(lab: RouteInjectionLab): readonly string[];
  /** The global `announce*` lines of ldir's configuration. */
  announceLines(lab: RouteInjectionLab): string;
  /** Its log files in the lab's directory (printed when a step fails). */
  readonly logs: readonly string[];
  /** Whether the router learns {@link OWN_ROUTE} from it (FRR: the operator's own network) or not (BIRD: not exported). */
  readonly ownRouteExported: boolean;
}

/** The whole scenario for one driver. */
export function describeRouteInjection(title: string, short: string, daemon: DirectorDaemon): void {
  const lab = new RouteInjectionLab(short);
  const seen = (): string => lab.seen(daemon.logs);
  const routes = (what: string, want: (r: Set<string>) => boolean, ms = 30_000): Promise<Set<string>> =>
    eventually(
      what,
      () => {
        const r = lab.routerRoutes();
        return want(r) ? r : undefined;
      },
      ms,
      100,
      seen,
    );
  const own = (r: Set<string>): boolean => r.has(OWN_ROUTE) === daemon.ownRouteExported;
  const missing = (): string | undefined => {
    if (process.getuid?.() !== 0) return 'needs root (network namespaces, routing daemons)';
    if (spawnSync('ip', ['-V']).status !== 0) return 'needs ip (iproute2)';
    return ensurePackages(['bird2', ...daemon.packages]);
  };

  /** `ldir start` on the memory backend; on a failure, what it printed and what the lab saw. */
  const startDaemon = async (): Promise<void> => {
    const r = await lab.ldir(['--ipvs=memory', lab.configFile, 'start']);
    assert.equal(r.status, 0, `ldir start exited ${r.status}\n${r.stderr}${r.stdout}\n${seen()}`);
  };

  describe(
    title,
    ...needing(missing(), { concurrency: false, timeout: 300_000 }, () => {
      before(async () => {
        lab.setUp();
        daemon.prepare(lab);
        daemon.start(lab);
        await lab.startReal('127.0.0.21');
        await lab.startReal('127.0.0.22');
        fs.writeFileSync(
          lab.configFile,
          `checkinterval=1
checktimeout=1
logfile="${lab.file('announce.log')}"
${daemon.announceLines(lab)}announcedelay=2
virtual=192.0.2.10:80
\treal=127.0.0.21:${lab.realPort} gate
\tchecktype=connect
\tscheduler=mh
virtual=192.0.2.11:80
\treal=127.0.0.22:${lab.realPort} gate
\tchecktype=connect
\tscheduler=mh
`,
        );
        // The session is up before ldir starts: the first announcement is then what the router learns first.
        await lab.sessionUp(seen);
      });

      after(async () => {
        await lab.ldir([lab.configFile, 'stop']).catch(() => undefined);
        const pid = lab.daemonPid();
        if (pid)
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        await lab.stopReals();
        // The guard leaves on its own within a second of the last daemon; give it that before the daemons go.
        await sleep(1_500);
        await stopPidFiles(daemon.pidFiles(lab)).catch(() => undefined);
        lab.tearDown();
      });

      test('both virtual addresses are announced once their reals are up (after announcedelay)', async () => {
        const checked = await lab.ldir(['check', lab.configFile]);
        assert.equal(checked.status, 0, checked.stderr);
        assert.doesNotMatch(checked.stderr, /not consistent across directors/, 'scheduler=mh: no ECMP warning');
        const started = await lab.ldir(['--ipvs=memory', lab.configFile, 'start']);
        assert.equal(started.status, 0, started.stderr);
        const r = await routes('both VIPs learnt by the router', (x) => x.has(VIP1) && x.has(VIP2));
        assert.ok(
          own(r),
          `${OWN_ROUTE}, a route ldir does not own, is ${daemon.ownRouteExported ? 'exported' : 'not exported'}: ${[...r].join(', ')}`,
        );
        const s = await lab.status();
        assert.deepEqual(s.daemon.announce?.announced, [VIP1, VIP2]);
        assert.equal(s.daemon.announce?.guard, 'connected');
        assert.deepEqual(
          s.daemon.announce?.virtuals.map((v) => v.state),
          ['announced', 'announced'],
        );
      });

      test('a virtual without a real up is withdrawn; back up, it is announced again after announcedelay', async () => {
        const session = lab.sessionSince();
        await lab.stopReal('127.0.0.22');
        await routes('VIP2 withdrawn, VIP1 kept', (x) => x.has(VIP1) && !x.has(VIP2));
        const down = await lab.status();
        const v2 = down.daemon.announce?.virtuals.find((v) => v.prefix === VIP2);
        assert.equal(v2?.state, 'withdrawn');
        assert.equal(v2?.reason, 'not-serving');
        await lab.startReal('127.0.0.22');
        // The real is up again: the hold-down shows before the route comes back.
        const pending = await eventually(
          'VIP2 pending announce',
          async () => {
            const s = await lab.status();
            const v = s.daemon.announce?.virtuals.find((x) => x.prefix === VIP2);
            return v?.state === 'pending-announce' ? v : v?.state === 'announced' ? null : undefined;
          },
          30_000,
          100,
          seen,
        );
        assert.notEqual(pending, null, 'VIP2 was announced again without its announcedelay');
        assert.equal(pending?.reason, 'announce-delay');
        assert.ok(!lab.routerRoutes().has(VIP2), 'the router does not have VIP2 while its announcedelay runs');
        await routes('VIP2 announced again', (x) => x.has(VIP1) && x.has(VIP2));
        assert.equal(
          lab.sessionSince(),
          session,
          'the routing daemon changed the announcement without resetting the BGP session',
        );
      });

      test('a reload that keeps the virtuals withdraws nothing', async () => {
        const before = fs.readFileSync(lab.configFile, 'utf8');
        fs.writeFileSync(lab.configFile, before.replace('checktimeout=1', 'checktimeout=0.9'));
        const lost: string[] = [];
        let polling = true;
        const poller = (async () => {
          for (let i = 0; polling && i < 1_000; i++) {
            const r = lab.routerRoutes();
            if (!r.has(VIP1) || !r.has(VIP2)) lost.push([...r].join(', ') || 'none');
            await sleep(50);
          }
        })();
        const reloaded = await lab.ldir([lab.configFile, 'reload']);
        await sleep(1_500);
        polling = false;
        await poller;
        fs.writeFileSync(lab.configFile, before);
        assert.equal(reloaded.status, 0, reloaded.stderr);
        assert.deepEqual(lost, [], `the router lost a prefix during the reload\n${seen()}`);
      });

      test('the routing daemon restarted (FRR forgets what vtysh told it): ldir announces again at its next read back', async () => {
        await stopPidFiles(daemon.pidFiles(lab));
        await routes('the router lost the director (its session closed)', (x) => !x.has(VIP1) && !x.has(VIP2), 30_000);
        const t0 = Date.now();
        daemon.start(lab);
        await routes(
          'both VIPs learnt again after the routing daemon restarted',
          (x) => x.has(VIP1) && x.has(VIP2),
          60_000,
        );
        console.log(`announce ${short} routing-daemon-restart back_s=${((Date.now() - t0) / 1000).toFixed(2)}`);
      });

      test('ldir stop withdraws every virtual address (and nothing ldir does not own)', async () => {
        const stopped = await lab.ldir([lab.configFile, 'stop']);
        assert.equal(stopped.status, 0, stopped.stderr);
        const r = await routes('nothing announced after ldir stop', (x) => !x.has(VIP1) && !x.has(VIP2), 10_000);
        assert.ok(own(r), `${OWN_ROUTE} unchanged by the withdrawal: ${[...r].join(', ')}`);
      });

      test('kill -9 of the daemon: the announce guard withdraws within 3 s', async () => {
        await startDaemon();
        await routes('both VIPs learnt again', (x) => x.has(VIP1) && x.has(VIP2));
        const pid = lab.daemonPid();
        assert.ok(pid, 'the daemon runs');
        const t0 = Date.now();
        process.kill(pid, 'SIGKILL');
        await routes('nothing announced after kill -9', (x) => !x.has(VIP1) && !x.has(VIP2), 10_000);
        const withdrawS = (Date.now() - t0) / 1000;
        console.log(`announce ${short} kill-9 withdraw_s=${withdrawS.toFixed(2)}`);
        assert.ok(withdrawS <= 3, `withdrawn ${withdrawS.toFixed(2)} s after kill -9 (target 3 s)\n${seen()}`);
      });

      test('ldir restart hands over without the router ever losing a prefix', async () => {
        await eventually('the old daemon gone', () => (lab.daemonPid() === undefined ? true : undefined), 10_000);
        await startDaemon();
        await routes('both VIPs learnt again', (x) => x.has(VIP1) && x.has(VIP2));
        const old = lab.daemonPid();
        let polls = 0;
        const lost: string[] = [];
        let polling = true;
        const poller = (async () => {
          for (let i = 0; polling && i < 2_000; i++) {
            const r = lab.routerRoutes();
            polls++;
            if (!r.has(VIP1) || !r.has(VIP2)) lost.push(`${new Date().toISOString()}: ${[...r].join(', ') || 'none'}`);
            await sleep(50);
          }
        })();
        const restarted = await lab.ldir(['--ipvs=memory', lab.configFile, 'restart']);
        // A few more polls after the old daemon left (the guard's grace is 1 s).
        await sleep(2_500);
        polling = false;
        await poller;
        assert.equal(restarted.status, 0, restarted.stderr);
        const s = await lab.status();
        assert.notEqual(s.daemon.pid, old, 'a new daemon runs');
        assert.deepEqual(s.daemon.announce?.announced, [VIP1, VIP2]);
        assert.equal(s.daemon.announce?.guard, 'connected');
        console.log(`announce ${short} restart polls=${polls} lost=${lost.length}`);
        assert.deepEqual(lost, [], `the router lost a prefix during the restart\n${seen()}`);
        assert.equal((await lab.ldir([lab.configFile, 'stop'])).status, 0);
        await routes('nothing announced after the final stop', (x) => !x.has(VIP1) && !x.has(VIP2), 10_000);
      });
    }),
  );
}
