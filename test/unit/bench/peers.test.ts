// The pure parts of `npm run bench:peers` (the run itself needs the VM): /proc parsing, the peers' configurations
// (ldir's parser accepts the ldirectord.cf and reads the settings the comparison depends on), the lab's nginx config
// and stub_status parsing, and the printed lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../../src/config/load';
import { keepalivedConfig, ldirectordConfig, type PeerSpec } from '../../../bench/peers-directors';
import {
  countLogged,
  detailLine,
  ldirDetectTrace,
  ldirectordLine,
  peersLine,
  readSettings,
  summaryLine,
  type PeerFigures,
} from '../../../bench/peers-guest';
import { nginxConfig, realAddress, stubRequests } from '../../../bench/peers-lab';
import { destinationWeight, parseStat, procHex } from '../../../bench/peers-proc';
import { guestCommand, judgePeers } from '../../../bench/peers';
import { BenchTargets } from '../../../bench/targets';

const spec = (n: number, proto: 'http' | 'https' = 'http'): PeerSpec => ({
  proto,
  vip: '10.202.0.1',
  port: proto === 'http' ? 80 : 443,
  reals: Array.from({ length: n }, (_, i) => realAddress(i)),
  intervalS: 1,
  timeoutS: 3,
});

test('parseStat counts fields from the last parenthesis (command names may hold spaces and parentheses)', () => {
  const s = parseStat('4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 12 3 20 0 11 0 500 1000 2000');
  assert.deepEqual(s, { pid: 4242, comm: 'node (x) y', ppid: 1, utime: 250, stime: 75, cutime: 12, cstime: 3 });
  assert.equal(parseStat('garbage'), undefined);
});

test('procHex and destinationWeight read one destination of /proc/net/ip_vs', () => {
  assert.equal(procHex('10.201.1.250', 80), '0AC901FA:0050');
  const text = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn',
    'TCP  0ACA0001:0050 wrr',
    '  -> 0AC90102:0050      Masq    1      0          0',
    '  -> 0AC90101:0050      Masq    0      3          1',
    '',
  ].join('\n');
  assert.equal(destinationWeight(text, '0AC90101:0050'), 0);
  assert.equal(destinationWeight(text, '0AC90102:0050'), 1);
  assert.equal(destinationWeight(text, '0AC90103:0050'), undefined);
});

test('realAddress numbers 250 reals per /24 of 10.201/16', () => {
  assert.equal(realAddress(0), '10.201.1.1');
  assert.equal(realAddress(249), '10.201.1.250');
  assert.equal(realAddress(250), '10.201.2.1');
});

test('the ldirectord.cf is valid for ldir and says what the comparison needs', async () => {
  for (const proto of ['http', 'https'] as const) {
    const r = await loadConfigText(ldirectordConfig(spec(300, proto)), '/tmp/peers.cf', { hostname: 'director' });
    assert.deepEqual(
      r.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    const v = r.config?.virtualServices[0];
    assert.ok(v);
    assert.equal(v.reals.length, 300);
    assert.ok(v.reals.every((x) => x.weight === 1 && x.forward === 'masq'));
    assert.equal(v.quiescent, true);
    assert.equal(v.scheduler, 'wrr');
    assert.equal(v.check.type, 'negotiate');
    assert.equal(v.check.service, proto);
    assert.equal(v.check.httpMethod, 'GET');
    assert.equal(v.check.interval, 1);
    assert.equal(v.check.negotiateTimeout, 3);
    assert.equal(v.check.checkTimeout, 3);
  }
});

test('the keepalived.conf has one checker per real with the same settings', () => {
  const text = keepalivedConfig(spec(3, 'https'));
  assert.equal(text.match(/real_server 10\.201\.1\.\d+ 443 \{/g)?.length, 3);
  assert.equal(text.match(/SSL_GET \{/g)?.length, 3);
  for (const line of [
    'delay_loop 1',
    'lvs_sched wrr',
    'lvs_method NAT',
    'inhibit_on_failure',
    'alpha',
    'connect_timeout 3',
    'retry 0',
    'status_code 200',
    'path /',
  ]) {
    assert.ok(text.includes(line), line);
  }
  assert.equal(text.split('{').length, text.split('}').length, 'braces balance');
  assert.match(keepalivedConfig(spec(2)), /HTTP_GET \{/);
});

test('nginx listens on each of its addresses explicitly and serves stub_status on loopback', () => {
  const text = nginxConfig(
    { name: 'victim', addresses: ['10.201.1.3'], proto: 'https', tls: { cert: '/c.pem', key: '/k.pem' } },
    '/tmp/lab',
  );
  assert.match(text, /^\s+listen 10\.201\.1\.3:443 ssl;$/m);
  assert.doesNotMatch(text, /listen (\*|0\.0\.0\.0|\[::\]|443|80)\b/);
  assert.match(text, /listen 127\.0\.0\.1:8081;/);
  assert.match(text, /master_process off;/);
  assert.match(text, /ssl_certificate \/c\.pem;/);
  const page = (n: number): string =>
    `Active connections: 1 \nserver accepts handled requests\n ${n} ${n} ${n + 5} \nReading: 0 Writing: 1 Waiting: 0 \n`;
  assert.deepEqual(stubRequests(page(10) + page(20)), { requests: 40, pages: 2 });
});

test('the printed lines have the agreed fields', () => {
  const f = (name: PeerFigures['name'], cpuS: number): PeerFigures => ({
    name,
    upS: 2.5,
    checks: 1000,
    windowS: 20,
    cpuS,
    userS: cpuS / 2,
    sysS: cpuS / 2,
    procs: 1,
    rssMb: 50.25,
    rssAnonMb: 20,
    threads: new Map([['main', cpuS]]),
    threadsSys: new Map([['main', cpuS / 2]]),
    logBytes: 0,
    logged: { transitions: 1, writes: 2, downReasons: new Map([['timeout', 1]]) },
    timeWait: 7,
    switches: 3000,
    detectMs: 512.4,
  });
  assert.equal(
    peersLine('peers', 300, f('keepalived', 2), f('ldir', 4)),
    'peers n=300 keepalived_cpu_ms=2 ldir_cpu_ms=4 ratio=2 ldir_rss_mb=50.3 keepalived_rss_mb=50.3 keepalived_up_s=2.5 ldir_up_s=2.5 ' +
      'ldir_detect_ms=512 keepalived_detect_ms=512 keepalived_cps=0.1 ldir_cps=0.2',
  );
  assert.equal(
    ldirectordLine('peers', 50, f('ldirectord', 1)),
    'peers n=50 ldirectord_cpu_ms=1 ldirectord_up_s=2.5 ldirectord_detect_ms=512 ldirectord_rss_mb=50.3',
  );
  assert.match(
    detailLine('http', 300, f('ldir', 4)),
    /^peers-detail proto=http n=300 peer=ldir checks=1000 .* down_reasons=timeout:1 timewait=7 switches_per_check=3 threads=main:4 threads_sys=main:2$/,
  );
  assert.equal(
    summaryLine('peers-summary', 300, [
      [f('keepalived', 2), f('ldir', 4)],
      [f('keepalived', 4), f('ldir', 2)],
      [f('keepalived', 2), f('ldir', 2)],
    ]),
    'peers-summary n=300 rounds=3 ratio_median=1 ratio_min=0.5 ratio_max=2 keepalived_cpu_ms_median=2 ldir_cpu_ms_median=2 ' +
      'ldir_rss_mb_max=50.3 ldir_up_s_median=2.5 ldir_detect_ms_median=512 keepalived_detect_ms_median=512',
  );
});

test('settings come from BENCH_PEERS_* and are forwarded into the VM', () => {
  assert.deepEqual(readSettings({}).ns, [300, 1000]);
  assert.equal(readSettings({ BENCH_PEERS_WINDOW_S: '5' }).windowS, 5);
  assert.throws(() => readSettings({ BENCH_PEERS_N: '300,x' }), /BENCH_PEERS_N/);
  assert.deepEqual(readSettings({ BENCH_PEERS_HTTPS_N: '10,30' }).httpsNs, [10, 30]);
  assert.equal(readSettings({}).rounds, 1);
  assert.equal(readSettings({ BENCH_PEERS_ROUNDS: '3' }).rounds, 3);
  assert.throws(() => readSettings({ BENCH_PEERS_ROUNDS: '0' }), /BENCH_PEERS_ROUNDS/);
  assert.equal(readSettings({ BENCH_PEERS_PROFILE: '1' }).profile, true);
  assert.equal(
    guestCommand({ BENCH_PEERS_N: "50'", PATH: '/bin' }),
    `ulimit -n 65536 && BENCH_PEERS_N='50'\\''' node dist/bench/peers-guest.js`,
  );
});

test("the detection trace reads the victim's transition and the pass after it from ldir's log", () => {
  const line = (o: object): string => JSON.stringify({ level: 30, ...o });
  const log = [
    line({ time: 900, msg: 'health transition', rs: '10.201.1.9:80', to: 'down' }),
    line({ time: 1100, msg: 'sync done', durationMs: 5 }),
    'not json',
    line({ time: 1400, msg: 'health transition', rs: '10.201.1.90:80', to: 'down' }),
    line({ time: 1500, msg: 'health transition', rs: '10.201.1.9:80', to: 'down' }),
    line({ time: 1580, msg: 'sync done', durationMs: 40 }),
  ].join('\n');
  assert.deepEqual(ldirDetectTrace(log, 1000, '10.201.1.9'), { transitionMs: 500, queuedMs: 40, passMs: 40 });
  assert.equal(ldirDetectTrace(log, 2000, '10.201.1.9'), undefined);
});

test("the window's log is counted by kind: health changes and kernel writes", () => {
  const text = [
    '{"level":30,"msg":"health transition","rs":"10.201.1.9:80","from":"up","to":"down","reason":"timeout"}',
    '{"level":30,"msg":"sync done","ops":1}',
    '{"level":30,"msg":"health transition","rs":"10.201.1.8:80"}',
    'Sun Dec  6 23:00:00 2026: HTTP status code error to [10.201.1.9]:tcp:80 url(1), status_code [502].',
    'Sun Dec  6 23:00:00 2026: Disabling service [10.201.1.9]:tcp:80 from VS [10.202.0.1]:tcp:80',
    'nothing',
  ].join('\n');
  assert.deepEqual(countLogged(text), { transitions: 3, writes: 2, downReasons: new Map([['timeout', 1]]) });
});

test('the targets judge each N over http: one round its peers line, several rounds their summary; https and ldirectord lines are figures only', () => {
  const f = (name: PeerFigures['name'], cpuS: number, detectMs = 900): PeerFigures => ({
    name,
    upS: 2.5,
    checks: 1000,
    windowS: 20,
    cpuS,
    userS: cpuS / 2,
    sysS: cpuS / 2,
    procs: 1,
    rssMb: 50,
    rssAnonMb: 20,
    threads: new Map(),
    threadsSys: new Map(),
    logBytes: 0,
    logged: { transitions: 0, writes: 0, downReasons: new Map() },
    timeWait: 0,
    switches: 0,
    detectMs,
  });
  const judged = (lines: string[]): { lines: string[]; missed: string[] } => {
    const out: string[] = [];
    const t = new BenchTargets((l) => out.push(l));
    judgePeers(lines, t);
    return { lines: out, missed: t.missed().map((r) => r.name) };
  };
  const one = judged([
    peersLine('peers', 300, f('keepalived', 2), f('ldir', 1.8)),
    peersLine('peers', 1000, f('keepalived', 2), f('ldir', 3.2, 2100)),
    peersLine('peers-https', 20, f('keepalived', 1), f('ldir', 9)),
    ldirectordLine('peers', 50, f('ldirectord', 40)),
  ]);
  assert.deepEqual(one.lines, [
    "target n=300 ldir CPU per check / keepalived's: 0.9 x (<= 1 x) ok",
    'target n=300 ldir: killed real at weight 0 after: 900 ms (<= 2,000 ms) ok',
    "target n=1000 ldir CPU per check / keepalived's: 1.6 x (<= 1 x) MISSED",
    'target n=1000 ldir: killed real at weight 0 after: 2,100 ms (<= 2,000 ms) MISSED',
  ]);
  const rounds = [
    [f('keepalived', 2), f('ldir', 4)],
    [f('keepalived', 2), f('ldir', 1.8)],
    [f('keepalived', 2), f('ldir', 1.9)],
  ] as Array<[PeerFigures, PeerFigures]>;
  const three = judged([
    ...rounds.map(([k, l]) => peersLine('peers', 300, k, l)),
    summaryLine('peers-summary', 300, rounds),
  ]);
  assert.deepEqual(three.missed, [], 'the median of the rounds (0.95), not the last or the worst round');
  assert.match(
    three.lines[0] ?? '',
    /^target n=300 ldir CPU per check \/ keepalived's \(median of 3 rounds\): 0\.95 x/,
  );
  assert.throws(() => judged(['peers-https n=20 ratio=3']), /no `peers n=\.\.\.` line/);
});
