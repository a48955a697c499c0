// Fuzz tier: the running daemon checking hostile real servers on loopback: an endless HTTP body, a byte drip, a huge
// Content-Length with almost no body, a server that accepts and says nothing, and greetings without end (one endless
// line, endless continuation lines), through the http checks (native engine and undici), smtp, pop, imap, ftp, nntp
// and simpletcp. Every hostile real is decided within its timeout of the start (plus the first second's spread): down,
// but for nntp's endless greetings, which start with 2 (the check reads the first 64 bytes, as ldirectord's
// check_nntp does); nothing flaps; the healthy real stays up; ping answers throughout; the daemon's resident memory
// stays bounded (printed before and after).
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, before, test } from 'node:test';
import type { RealStatus, StatusReport } from '../../src/daemon/protocol';
import { startFuzzDaemon, type FuzzDaemon } from '../helpers/fuzz-daemon';
import { startHostileServer, type HostileKind, type HostileServer } from '../helpers/hostile-reals';
import { freePort } from '../helpers/system';

/** checktimeout and negotiatetimeout of the test's configuration, in seconds. */
const TIMEOUT_S = 3;
/** How long the hostile reals are checked over, round after round. */
const SOAK_MS = 15_000;

const hostile = new Map<HostileKind, HostileServer>();
let healthy: http.Server;
let healthyPort = 0;
let daemon: FuzzDaemon | undefined;

const KINDS: Record<HostileKind, string> = {
  'endless-body': '127.0.0.10',
  'byte-drip': '127.0.0.11',
  'huge-content-length': '127.0.0.12',
  'accept-silence': '127.0.0.13',
  'giant-line': '127.0.0.14',
  'endless-lines': '127.0.0.15',
};

const realOf = (kind: HostileKind, extra = ''): string => {
  const s = hostile.get(kind) as HostileServer;
  return `\treal=${s.address}:${s.port} masq 1${extra}`;
};
const urlOf = (address: string, port: number): string => ` "http://${address}:${port}/" "alive"`;

/** Which hostile kinds each checked service meets, and what else its virtual says. */
const VIRTUALS: Array<{
  port: number;
  service: string;
  kinds: HostileKind[];
  extra?: string;
  undici?: boolean;
  up?: HostileKind[];
}> = [
  {
    port: 81,
    service: 'http',
    kinds: ['endless-body', 'byte-drip', 'huge-content-length', 'accept-silence'],
    extra: '\trequest="/"\n\treceive="alive"',
  },
  {
    port: 82,
    service: 'http',
    kinds: ['endless-body', 'byte-drip', 'huge-content-length', 'accept-silence'],
    undici: true,
  },
  { port: 25, service: 'smtp', kinds: ['endless-lines', 'giant-line', 'accept-silence'] },
  { port: 110, service: 'pop', kinds: ['endless-lines', 'giant-line', 'accept-silence'] },
  { port: 143, service: 'imap', kinds: ['endless-lines', 'giant-line', 'accept-silence'] },
  {
    port: 21,
    service: 'ftp',
    kinds: ['endless-lines', 'giant-line', 'accept-silence'],
    extra: '\trequest="welcome.msg"',
  },
  {
    port: 119,
    service: 'nntp',
    kinds: ['endless-lines', 'giant-line', 'accept-silence'],
    up: ['endless-lines', 'giant-line'],
  },
  {
    port: 7,
    service: 'simpletcp',
    kinds: ['endless-lines', 'giant-line', 'accept-silence'],
    extra: '\trequest="HELLO"\n\treceive="^OK"',
  },
];

function configBody(): string {
  const virtuals = VIRTUALS.map((v) => {
    const reals = v.kinds.map((k) => {
      const s = hostile.get(k) as HostileServer;
      return realOf(k, v.undici ? urlOf(s.address, s.port) : '');
    });
    if (v.service === 'http')
      reals.unshift(`\treal=127.0.0.2:${healthyPort} masq 1${v.undici ? urlOf('127.0.0.2', healthyPort) : ''}`);
    return `virtual=127.0.0.1:${v.port}\n${reals.join('\n')}\n\tchecktype=negotiate\n\tservice=${v.service}\n${v.extra ?? ''}\n`;
  });
  return `checkinterval=2\nchecktimeout=${TIMEOUT_S}\nnegotiatetimeout=${TIMEOUT_S}\nquiescent=yes\n\n${virtuals.join('\n')}`;
}

before(async () => {
  for (const [kind, address] of Object.entries(KINDS) as Array<[HostileKind, string]>) {
    hostile.set(kind, await startHostileServer(kind, address, await freePort(address)));
  }
  healthyPort = await freePort('127.0.0.2');
  healthy = http.createServer((_q, r) => r.end('alive\n'));
  await new Promise<void>((r) => healthy.listen(healthyPort, '127.0.0.2', r));
});

after(async () => {
  await daemon?.stop();
  for (const s of hostile.values()) await s.close();
  healthy?.closeAllConnections();
  await new Promise((r) => healthy?.close(r));
});

/** `virtual real health (reason)` of every real, for failure messages. */
function describeReport(report: StatusReport | undefined): string {
  return (report?.virtualServices ?? [])
    .flatMap((v) => v.reals.map((r) => `${v.id} ${r.address}:${r.port} ${r.health} (${r.lastCheck?.reason ?? '-'})`))
    .join('\n');
}

/** The health a real must have: the healthy server up; a hostile one down, unless its service calls its greeting good. */
function expected(virtualId: string, r: RealStatus): 'up' | 'down' {
  if (r.address === '127.0.0.2') return 'up';
  const v = VIRTUALS.find((x) => virtualId === `tcp:127.0.0.1:${x.port}`);
  const kind = (Object.entries(KINDS) as Array<[HostileKind, string]>).find(([, a]) => a === r.address)?.[0];
  return kind !== undefined && v?.up?.includes(kind) ? 'up' : 'down';
}

test('hostile reals: each down within its timeout and staying down; the healthy one up; ping answers; RSS bounded', async () => {
  const t0 = Date.now();
  daemon = await startFuzzDaemon('hostile', configBody);
  const d = daemon;
  let report: StatusReport | undefined;
  // Every real decided: the healthy ones up, every hostile one down.
  const decidedBy = Date.now() + (1 + TIMEOUT_S + 8) * 1_000;
  for (;;) {
    report = await d.status();
    if (report.virtualServices.every((v) => v.reals.every((r) => r.health === expected(v.id, r)))) break;
    assert.ok(
      Date.now() < decidedBy,
      `not every real decided ${Date.now() - t0} ms after start:\n${describeReport(report)}\n${d.logTail()}`,
    );
    await new Promise((r) => setTimeout(r, 200));
  }
  const startedAt = Date.parse(report.daemon.startedAt);
  const lateness: string[] = [];
  for (const v of report.virtualServices) {
    for (const r of v.reals) {
      if (r.address === '127.0.0.2') continue;
      const decidedAfter = Date.parse(r.since ?? '') - startedAt;
      lateness.push(`${v.id} ${r.address} ${r.health} after ${decidedAfter} ms (${r.lastCheck?.reason ?? '-'})`);
      // The first round starts within the first second; it ends at the timeout at the latest (slack for a loaded machine).
      assert.ok(
        decidedAfter <= (1 + TIMEOUT_S) * 1_000 + 2_500,
        `${v.id} ${r.address}:${r.port} ${r.health} only ${decidedAfter} ms after the start`,
      );
    }
  }
  console.log(`hostile reals: decided (from the daemon's start):\n  ${lateness.join('\n  ')}`);

  // Round after round for a while: the daemon answers, its memory stays level, nothing flaps.
  const rssStart = d.rssKb();
  let rssMost = rssStart;
  const pings: number[] = [];
  const soakEnd = Date.now() + SOAK_MS;
  while (Date.now() < soakEnd) {
    pings.push(await d.ping());
    rssMost = Math.max(rssMost, d.rssKb());
    await new Promise((r) => setTimeout(r, 500));
  }
  report = await d.status();
  const rssEnd = d.rssKb();
  const fed = [...hostile.values()].map(
    (s) => `${s.kind} ${s.stats().connections} connections, ${Math.round(s.stats().bytes / 1e6)} MB`,
  );
  console.log(
    `hostile reals: ${SOAK_MS / 1_000} s of rounds: RSS ${rssStart} kB before, at most ${rssMost}, ${rssEnd} kB after; ` +
      `ping at most ${Math.max(...pings)} ms (${pings.length} pings); servers: ${fed.join('; ')}`,
  );
  const reals = report.virtualServices.flatMap((v) => v.reals.map((r) => ({ v: v.id, r })));
  assert.deepEqual(
    reals.filter(({ v, r }) => r.health !== expected(v, r)).map(({ v, r }) => `${v} ${r.address} ${r.health}`),
    [],
    `every hostile real stays down (nntp's 2xx greetings up), the healthy ones up:\n${describeReport(report)}`,
  );
  assert.ok(
    reals.every(({ r }) => Date.parse(r.since ?? '') - startedAt < (1 + TIMEOUT_S) * 1_000 + 2_500),
    `no flap: every health since the first round\n${describeReport(report)}`,
  );
  assert.ok(Math.max(...pings) < 3_000, `ping took up to ${Math.max(...pings)} ms`);
  assert.ok(rssMost - rssStart < 64 * 1024, `RSS grew by ${rssMost - rssStart} kB`);
});
