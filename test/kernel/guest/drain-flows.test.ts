// Kernel tier (inside the VM): drains that hold for what IPVS never calls "active" (LVS-NAT through the VIP). A UDP
// flow to a real that a reload removes keeps being answered by it until the flow stops (UDP flows are inactive
// connections to IPVS); a client pinned to a real by `persistent=` keeps reaching it after a reload removed it, for as
// long as its persistence template lives, even with no connection open. Then the drain ends by itself (idle).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  deleteServices,
  eventually,
  LdirDirector,
  listTable,
  peekTable,
  sleep,
  tableShape,
  weightsOf,
} from '../../helpers/ldir-director';
import { buildNatLab, type NatLab } from '../../helpers/netns-lab';

const skip =
  process.env['LDIR_IN_VM'] === '1' && existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const CONF = 'flows.cf';
const NET = 160;
/** UDP flow timeout of the kernel (s), set with `ipvsadm --set`: how long an idle UDP flow stays in the table. */
const UDP_TIMEOUT_S = 6;
/**
 * persistent= of the HTTP virtual (s): longer than the kernel's CLOSE timeout (10 s) of the reset connection, so the
 * template outlives it.
 */
const PERSISTENT_S = 40;

// argv: host port durationMs everyMs. One UDP socket (one source port: one flow for IPVS) sending a datagram every
// everyMs; prints the name in each answer, then "sent N" at the end.
const UDP_FLOW_JS = `
const s = require('node:dgram').createSocket('udp4');
const [host, port, duration, every] = process.argv.slice(1).map((x, i) => (i === 0 ? x : Number(x)));
let sent = 0;
s.on('message', (m) => process.stdout.write(String(m).replace(/^hello from /, '')));
s.bind(0, () => {
  const timer = setInterval(() => { sent++; s.send('q', port, host); }, every);
  setTimeout(() => { clearInterval(timer); setTimeout(() => { process.stdout.write('sent ' + sent + '\\n'); process.exit(0); }, 1000); }, duration);
});
`;

// argv: host port. One HTTP GET on a new connection; prints the answering real, then resets the connection (RST:
// IPVS keeps the entry only for its CLOSE timeout, so what stays afterwards is the persistence template).
const ONE_GET_RST_JS = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const c = net.connect(Number(port), host, () => c.write('GET / HTTP/1.1\\r\\nHost: lab\\r\\nConnection: keep-alive\\r\\n\\r\\n'));
let b = '';
c.setEncoding('utf8');
c.on('data', (d) => { b += d; const m = /hello from (\\S+)\\n/.exec(b); if (m) { process.stdout.write(m[1] + '\\n'); c.resetAndDestroy(); process.exit(0); } });
c.on('error', (e) => { process.stdout.write('error ' + e.code + '\\n'); process.exit(0); });
setTimeout(() => { process.stdout.write('timeout\\n'); process.exit(0); }, 10000);
`;

describe('drains hold for UDP flows and persistence templates (LVS-NAT)', { skip, concurrency: false }, () => {
  let lab: NatLab;
  let director: LdirDirector;
  const vip = `10.${NET + 1}.0.1`;
  const udp = `UDP ${vip}:53`;
  const http = `TCP ${vip}:80`;
  const addr = (i: number): string => `10.${NET}.${i}.2`;

  function writeConfig(udpReals: number[], httpReals: number[]): void {
    director.writeConfig(
      CONF,
      [
        'checkinterval=1',
        'checktimeout=2',
        'negotiatetimeout=2',
        `logfile="${director.logPath(CONF)}"`,
        'metrics=no',
        'drain=yes',
        'draintimeout=120',
        '',
        `virtual=${vip}:53`,
        '\tprotocol=udp',
        ...udpReals.map((i) => `\treal=${addr(i)}:53 masq 1`),
        '\tchecktype=connect',
        '\tscheduler=rr',
        '',
        `virtual=${vip}:80`,
        ...httpReals.map((i) => `\treal=${addr(i)}:80 masq 1`),
        '\tchecktype=negotiate',
        '\tservice=http',
        '\trequest="/"',
        '\treceive="hello from"',
        '\tscheduler=rr',
        `\tpersistent=${PERSISTENT_S}`,
        '',
      ].join('\n'),
    );
  }

  /** PersistConn of a destination (`ipvsadm -Ln --persistent-conn`: Weight, PersistConn, ActiveConn, InActConn). */
  const persistentConns = (service: string, dest: string): number => {
    const [proto, at] = service.split(' ') as [string, string];
    let inService = false;
    for (const line of execFileSync('ipvsadm', ['-Ln', '--persistent-conn'], { encoding: 'utf8' }).split('\n')) {
      const svc = /^(TCP|UDP|FWM)\s+(\S+)/.exec(line);
      if (svc) inService = svc[1] === proto && svc[2] === at;
      const d = /^\s+->\s+(\S+)\s+\d+\s+(\d+)/.exec(line);
      if (inService && d && d[1] === dest) return Number(d[2]);
    }
    return -1;
  };

  function driftLog(): string {
    return director
      .logRecords(CONF, (r) => typeof r['drain'] === 'string')
      .map((r) => String(r['msg']))
      .join('\n');
  }

  before(async () => {
    lab = buildNatLab('df', 2, 80, { net: NET, udp: 53 });
    director = new LdirDirector('ldir-df-');
    deleteServices([udp, http]);
    await lab.ready();
    execFileSync('ipvsadm', ['--set', '900', '120', String(UDP_TIMEOUT_S)]);
    writeConfig([1, 2], [1, 2]);
    await director.start(CONF);
    await eventually(
      'both reals up in both services',
      () => {
        const t = peekTable();
        return weightsOf(t, udp)?.size === 2 &&
          [...(weightsOf(t, http)?.values() ?? [])].filter((w) => w === 1).length === 2
          ? true
          : undefined;
      },
      120_000,
      200,
      () => tableShape(listTable(), [udp, http]),
    );
  });

  after(() => {
    director?.cleanup();
    deleteServices([udp, http]);
    lab?.teardown();
  });

  test('a UDP flow to a real that a reload removes is answered by it to the end; the drain then ends idle', {
    timeout: 300_000,
  }, async () => {
    const flow = spawn(
      'ip',
      ['netns', 'exec', lab.clientNetns, process.execPath, '-e', UDP_FLOW_JS, vip, '53', '12000', '250'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    flow.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const done = new Promise<void>((resolve) => flow.on('exit', () => resolve()));
    const first = await eventually("the flow's first answer", () => /^(dfr\d)\n/.exec(out)?.[1], 30_000, 50);
    const index = Number(first.slice(3));
    writeConfig(index === 1 ? [2] : [1], [1, 2]);
    const r = await director.reload(CONF);
    assert.equal(r.status, 0, r.stderr);
    await sleep(2_000);
    assert.equal(
      weightsOf(peekTable(), udp)?.get(`${addr(index)}:53`),
      0,
      `the removed real drains at weight 0 while its flow goes on\n${tableShape(listTable(), [udp])}`,
    );
    await done;
    const answers = out.split('\n').filter((l) => /^dfr\d$/.test(l));
    const sent = Number(/sent (\d+)/.exec(out)?.[1]);
    assert.ok(sent > 30, `the flow ran (${sent} datagrams)`);
    assert.deepEqual([...new Set(answers)], [first], 'every answer from the same real, before and after the reload');
    assert.equal(answers.length, sent, `no datagram of the flow lost (${answers.length} answers of ${sent})`);
    const t0 = Date.now();
    await eventually(
      'the drained real to go once its flow expired',
      () => (weightsOf(peekTable(), udp)?.has(`${addr(index)}:53`) ? undefined : true),
      (UDP_TIMEOUT_S + 30) * 1000,
      200,
      driftLog,
    );
    console.log(
      `figure: UDP drain ended ${Date.now() - t0} ms after the flow's last datagram (kernel UDP timeout ${UDP_TIMEOUT_S} s)`,
    );
    assert.match(
      driftLog(),
      /drain of udp:.*ended \(idle\)/,
      'ended because nothing flowed any more, not at draintimeout',
    );
    writeConfig([1, 2], [1, 2]);
    assert.equal((await director.reload(CONF)).status, 0);
  });

  test('a client pinned by persistence keeps reaching a removed real while its template lives, with no connection open', {
    timeout: 300_000,
  }, async () => {
    const get = (): string => lab.clientExec(process.execPath, ['-e', ONE_GET_RST_JS, vip, '80']).trim();
    const pinned = get();
    assert.match(pinned, /^dfr\d$/);
    const index = Number(pinned.slice(3));
    const dest = `${addr(index)}:80`;
    // Only the template is left: no active or inactive connection (the reset one's CLOSE entry is gone).
    await eventually(
      'only the persistence template left',
      () => {
        const d = peekTable().get(http)?.get(dest);
        return d && d.active === 0 && d.inactive === 0 ? true : undefined;
      },
      60_000,
      200,
      () => tableShape(listTable(), [http]),
    );
    assert.ok(
      persistentConns(http, dest) >= 1,
      `a persistence template for ${dest}:\n${execFileSync('ipvsadm', ['-Ln', '--persistent-conn'], { encoding: 'utf8' })}`,
    );
    writeConfig([1, 2], index === 1 ? [2] : [1]);
    const r = await director.reload(CONF);
    assert.equal(r.status, 0, r.stderr);
    await sleep(2_000);
    assert.equal(
      weightsOf(peekTable(), http)?.get(dest),
      0,
      `kept at weight 0 while the template lives\n${tableShape(listTable(), [http])}`,
    );
    assert.equal(get(), pinned, 'a new connection of the pinned client still reaches its real');
    const t0 = Date.now();
    await eventually(
      'the drained real to go once its template expired',
      () => (weightsOf(peekTable(), http)?.has(dest) ? undefined : true),
      (PERSISTENT_S + 10 + 30) * 1000,
      200,
      driftLog,
    );
    console.log(
      `figure: persistence drain ended ${Date.now() - t0} ms after the pinned client's last connection (persistent=${PERSISTENT_S})`,
    );
    assert.match(driftLog(), /drain of tcp:.*ended \(idle\)/);
  });
});
