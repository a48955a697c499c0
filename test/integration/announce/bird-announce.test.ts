// Route health injection through a real BIRD 2 (issue 16): ldir on the host (memory backend, reals on 127.0.0.x)
// drives the BIRD of a "director" network namespace over its control socket; that BIRD speaks eBGP over a veth pair
// to the BIRD of a "router" namespace, whose routing table the test reads (`birdc show route`). Both namespaces,
// the veth pair and both BIRDs are the test's own; traffic stays inside them and on loopback.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StatusReport } from '../../../src/daemon/protocol';
import { pidFilePath, readPidState } from '../../../src/system/pid-file';
import { birdRoutes, EMPTY_ANNOUNCE_FILE, startBird, type BirdDaemon } from '../../helpers/bird';
import { ldirBinary, type LdirBinaryRun } from '../../helpers/ldir-binary';
import { needing } from '../../helpers/prerequisites';
import { ensurePackages, freePort } from '../../helpers/system';
import { eventually, sleep } from '../../helpers/wait';

const VIP1 = '192.0.2.10/32';
const VIP2 = '192.0.2.11/32';
const tag = `${process.pid % 100000}`;
const DIRECTOR_NS = `ldir-ann-d${tag}`;
const ROUTER_NS = `ldir-ann-r${tag}`;

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, BIRD)';
  if (spawnSync('ip', ['-V']).status !== 0) return 'needs ip (iproute2)';
  return ensurePackages(['bird2']);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-announce-'));
const env: NodeJS.ProcessEnv = { ...process.env, LDIR_RUN_DIR: path.join(tmp, 'run'), LDIR_SOCKET_DIR: path.join(tmp, 'sock'), LDIR_STATE_DIR: path.join(tmp, 'state') };
const announceFile = path.join(tmp, 'ldir-announce.conf');
let directorBird: BirdDaemon | undefined;
let routerBird: BirdDaemon | undefined;
const reals = new Map<string, http.Server>();
let realPort = 0;
const configFile = path.join(tmp, 'announce.cf');
const CONFIG_NAME = 'announce.cf';

function sh(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
}

/** Runs the `ldir` binary with the test's environment, bounded at 90 s. */
function ldir(args: readonly string[]): Promise<LdirBinaryRun> {
  return ldirBinary(() => env, 90_000)(...args);
}

async function status(): Promise<StatusReport> {
  const r = await ldir(['--json', configFile, 'status']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusReport;
}

/** The prefixes the router's BIRD has learnt (its `show route`). */
function routerRoutes(): Set<string> {
  return routerBird ? birdRoutes(routerBird) : new Set();
}

/** The router's BGP session line (`peer BGP --- up HH:MM:SS.mmm Established`): its time changes when the session resets. */
function sessionSince(): string {
  const line = (routerBird?.birdc(['show', 'protocols', 'peer']) ?? '').split('\n').find((l) => l.startsWith('peer '));
  assert.match(line ?? '', /Established/);
  return line ?? '';
}

/** What the daemon and the BIRDs saw, printed when a step fails. */
function seen(): string {
  const parts = [`router routes: ${[...routerRoutes()].join(', ') || 'none'}`];
  for (const f of ['announce.log', 'director.log', 'router.log', 'ldir-announce.conf']) {
    const p = path.join(tmp, f);
    if (fs.existsSync(p)) parts.push(`--- ${f} (tail)\n${fs.readFileSync(p, 'utf8').split('\n').slice(-25).join('\n')}`);
  }
  const guardLog = path.join(tmp, 'sock', `${CONFIG_NAME}.announce.sock.log`);
  if (fs.existsSync(guardLog)) parts.push(`--- guard log\n${fs.readFileSync(guardLog, 'utf8')}`);
  return parts.join('\n');
}

async function routes(what: string, want: (r: Set<string>) => boolean, ms = 30_000): Promise<Set<string>> {
  return eventually(what, () => { const r = routerRoutes(); return want(r) ? r : undefined; }, ms, 100, seen);
}

function daemonPid(): number | undefined {
  const s = readPidState(pidFilePath(CONFIG_NAME, env['LDIR_RUN_DIR']));
  return s.state === 'running' ? s.pid : undefined;
}

async function startReal(address: string): Promise<void> {
  const s = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => s.listen(realPort, address, r));
  reals.set(address, s);
}

async function stopReal(address: string): Promise<void> {
  const s = reals.get(address);
  reals.delete(address);
  if (!s) return;
  s.closeAllConnections();
  await new Promise((r) => s.close(r));
}

function birdConfig(self: string, peer: string, asn: number, peerAsn: number, director: boolean): string {
  return `router id ${self};
${director ? `include "${announceFile}";` : ''}
protocol device {}
${director ? `protocol static vips { ipv4; route ${VIP1} blackhole; route ${VIP2} blackhole; route 192.0.2.99/32 blackhole; }` : ''}
protocol bgp peer {
  local ${self} as ${asn};
  neighbor ${peer} as ${peerAsn};
  connect delay time 1; connect retry time 1; error wait time 1, 2;
  ipv4 { ${director ? `import none; export where net ~ LDIR_ANNOUNCED_V4;` : 'import all; export none;'} };
}
`;
}

describe('route health injection through BIRD 2', ...needing(missing(), { concurrency: false, timeout: 300_000 }, () => {
  before(async () => {
    sh('ip', ['netns', 'add', DIRECTOR_NS]);
    sh('ip', ['netns', 'add', ROUTER_NS]);
    sh('ip', ['link', 'add', `lad${tag}`, 'type', 'veth', 'peer', 'name', `lar${tag}`]);
    sh('ip', ['link', 'set', `lad${tag}`, 'netns', DIRECTOR_NS]);
    sh('ip', ['link', 'set', `lar${tag}`, 'netns', ROUTER_NS]);
    for (const [ns, dev, addr] of [[DIRECTOR_NS, `lad${tag}`, '10.250.0.1/30'], [ROUTER_NS, `lar${tag}`, '10.250.0.2/30']] as const) {
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', addr, 'dev', dev]);
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
    // The operator creates the include file once (empty sets); ldir rewrites it from then on.
    fs.writeFileSync(announceFile, EMPTY_ANNOUNCE_FILE);
    directorBird = startBird(DIRECTOR_NS, tmp, 'director', birdConfig('10.250.0.1', '10.250.0.2', 65001, 65000, true));
    routerBird = startBird(ROUTER_NS, tmp, 'router', birdConfig('10.250.0.2', '10.250.0.1', 65000, 65001, false));
    realPort = await freePort('127.0.0.21');
    await startReal('127.0.0.21');
    await startReal('127.0.0.22');
    fs.writeFileSync(configFile, `checkinterval=1
checktimeout=1
logfile="${path.join(tmp, 'announce.log')}"
announce=bird
announcesocket=${directorBird.ctl}
announcefile=${announceFile}
announcedelay=2
virtual=192.0.2.10:80
\treal=127.0.0.21:${realPort} gate
\tchecktype=connect
virtual=192.0.2.11:80
\treal=127.0.0.22:${realPort} gate
\tchecktype=connect
`);
    // The session is up before ldir starts: the first announcement is then what the router learns first.
    await eventually('the BGP session up', () => (/Established/.test(routerBird?.birdc(['show', 'protocols', 'peer']) ?? '') ? true : undefined), 60_000, 200, seen);
  });

  after(async () => {
    await ldir([configFile, 'stop']).catch(() => undefined);
    const pid = daemonPid();
    if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    for (const address of [...reals.keys()]) await stopReal(address);
    // The guard leaves on its own within a second of the last daemon; give it that before BIRD goes.
    await sleep(1_500);
    directorBird?.stop();
    routerBird?.stop();
    for (const ns of [DIRECTOR_NS, ROUTER_NS]) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('both virtual addresses are announced once their reals are up (after announcedelay)', async () => {
    const started = await ldir(['--ipvs=memory', configFile, 'start']);
    assert.equal(started.status, 0, started.stderr);
    const r = await routes('both VIPs learnt by the router', (x) => x.has(VIP1) && x.has(VIP2));
    assert.ok(!r.has('192.0.2.99/32'), 'a static route ldir does not announce is not exported');
    const s = await status();
    assert.deepEqual(s.daemon.announce?.announced, [VIP1, VIP2]);
    assert.equal(s.daemon.announce?.guard, 'connected');
    assert.deepEqual(s.daemon.announce?.virtuals.map((v) => v.state), ['announced', 'announced']);
  });

  test('a virtual without a real up is withdrawn; back up, it is announced again after announcedelay', async () => {
    const session = sessionSince();
    await stopReal('127.0.0.22');
    await routes('VIP2 withdrawn, VIP1 kept', (x) => x.has(VIP1) && !x.has(VIP2));
    const down = await status();
    const v2 = down.daemon.announce?.virtuals.find((v) => v.prefix === VIP2);
    assert.equal(v2?.state, 'withdrawn');
    assert.equal(v2?.reason, 'not-serving');
    await startReal('127.0.0.22');
    // The real is up again: the hold-down shows before the route comes back.
    const pending = await eventually('VIP2 pending announce', async () => {
      const s = await status();
      const v = s.daemon.announce?.virtuals.find((x) => x.prefix === VIP2);
      return v?.state === 'pending-announce' ? v : v?.state === 'announced' ? null : undefined;
    }, 30_000, 100, seen);
    assert.notEqual(pending, null, 'VIP2 was announced again without its announcedelay');
    assert.equal(pending?.reason, 'announce-delay');
    assert.ok(!routerRoutes().has(VIP2), 'the router does not have VIP2 while its announcedelay runs');
    await routes('VIP2 announced again', (x) => x.has(VIP1) && x.has(VIP2));
    assert.equal(sessionSince(), session, 'BIRD reconfigured without resetting the BGP session');
  });

  test('a reload that keeps the virtuals withdraws nothing', async () => {
    const before = fs.readFileSync(configFile, 'utf8');
    fs.writeFileSync(configFile, before.replace('checktimeout=1', 'checktimeout=0.9'));
    const lost: string[] = [];
    let polling = true;
    const poller = (async () => {
      for (let i = 0; polling && i < 1_000; i++) {
        const r = routerRoutes();
        if (!r.has(VIP1) || !r.has(VIP2)) lost.push([...r].join(', ') || 'none');
        await sleep(50);
      }
    })();
    const reloaded = await ldir([configFile, 'reload']);
    await sleep(1_500);
    polling = false;
    await poller;
    fs.writeFileSync(configFile, before);
    assert.equal(reloaded.status, 0, reloaded.stderr);
    assert.deepEqual(lost, [], `the router lost a prefix during the reload\n${seen()}`);
  });

  test('ldir stop withdraws every virtual address', async () => {
    const stopped = await ldir([configFile, 'stop']);
    assert.equal(stopped.status, 0, stopped.stderr);
    await routes('nothing announced after ldir stop', (x) => !x.has(VIP1) && !x.has(VIP2), 10_000);
  });

  test('kill -9 of the daemon: the announce guard withdraws within 3 s', async () => {
    assert.equal((await ldir(['--ipvs=memory', configFile, 'start'])).status, 0);
    await routes('both VIPs learnt again', (x) => x.has(VIP1) && x.has(VIP2));
    const pid = daemonPid();
    assert.ok(pid, 'the daemon runs');
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    await routes('nothing announced after kill -9', (x) => !x.has(VIP1) && !x.has(VIP2), 10_000);
    const withdrawS = (Date.now() - t0) / 1000;
    console.log(`announce kill-9 withdraw_s=${withdrawS.toFixed(2)}`);
    assert.ok(withdrawS <= 3, `withdrawn ${withdrawS.toFixed(2)} s after kill -9 (target 3 s)\n${seen()}`);
  });

  test('ldir restart hands over without the router ever losing a prefix', async () => {
    await eventually('the old daemon gone', () => (daemonPid() === undefined ? true : undefined), 10_000);
    assert.equal((await ldir(['--ipvs=memory', configFile, 'start'])).status, 0);
    await routes('both VIPs learnt again', (x) => x.has(VIP1) && x.has(VIP2));
    const old = daemonPid();
    let polls = 0;
    const lost: string[] = [];
    let polling = true;
    const poller = (async () => {
      for (let i = 0; polling && i < 2_000; i++) {
        const r = routerRoutes();
        polls++;
        if (!r.has(VIP1) || !r.has(VIP2)) lost.push(`${new Date().toISOString()}: ${[...r].join(', ') || 'none'}`);
        await sleep(50);
      }
    })();
    const restarted = await ldir(['--ipvs=memory', configFile, 'restart']);
    // A few more polls after the old daemon left (the guard's grace is 1 s).
    await sleep(2_500);
    polling = false;
    await poller;
    assert.equal(restarted.status, 0, restarted.stderr);
    const s = await status();
    assert.notEqual(s.daemon.pid, old, 'a new daemon runs');
    assert.deepEqual(s.daemon.announce?.announced, [VIP1, VIP2]);
    assert.equal(s.daemon.announce?.guard, 'connected');
    console.log(`announce restart polls=${polls} lost=${lost.length}`);
    assert.deepEqual(lost, [], `the router lost a prefix during the restart\n${seen()}`);
    assert.equal((await ldir([configFile, 'stop'])).status, 0);
    await routes('nothing announced after the final stop', (x) => !x.has(VIP1) && !x.has(VIP2), 10_000);
  });
}));
