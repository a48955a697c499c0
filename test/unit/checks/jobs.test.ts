// Check targets from a Config: port resolution, per-real overrides, timeouts, identity and dedup across virtuals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDeadlineMs, jobsFromConfig } from '../../../src/checks/jobs';
import { realKey } from '../../../src/model/health';
import { loadValid } from '../../helpers/config';

const one = <T>(xs: readonly T[]): T => {
  assert.equal(xs.length, 1, `expected one, got ${xs.length}`);
  return xs[0] as T;
};

test('a job resolves port, per-real request/receive, timeouts in ms, interval and failure count', async () => {
  const c = await loadValid(
    [
      'checkinterval=3',
      'failurecount=2',
      'virtual=192.0.2.1:80',
      '\treal=10.0.0.1:8080 masq 1 "/health","OK"',
      '\treal=10.0.0.2:8081 masq',
      '\tservice=http',
      '\tchecktype=negotiate',
      '\trequest="/index.html"',
      '\treceive="Welcome"',
      '\tchecktimeout=4',
      '\tnegotiatetimeout=7',
      '\tvirtualhost=www.example.com',
      '\thttpmethod=HEAD',
      '',
    ].join('\n'),
  );
  const targets = jobsFromConfig(c);
  assert.equal(targets.length, 2);
  const [a, b] = targets;
  assert.ok(a && b);
  assert.deepEqual(
    { port: a.job.port, request: a.job.request, receive: a.job.receive, realPort: a.job.realPort },
    { port: 8080, request: '/health', receive: 'OK', realPort: 8080 },
  );
  assert.deepEqual(
    { port: b.job.port, request: b.job.request, receive: b.job.receive },
    { port: 8081, request: '/index.html', receive: 'Welcome' },
  );
  assert.equal(a.job.checkTimeoutMs, 4000);
  assert.equal(a.job.negotiateTimeoutMs, 7000);
  assert.equal(a.job.httpHost, 'www.example.com');
  assert.equal(a.job.httpMethod, 'HEAD');
  assert.equal(a.job.family, 'inet');
  assert.equal(a.intervalMs, 3000);
  assert.equal(a.failureCount, 2);
  assert.deepEqual(a.members, [{ virtualId: 'tcp:192.0.2.1:80', realKey: '10.0.0.1:8080' }]);
  assert.notEqual(a.identity, b.identity);
});

test('checkport beats the real port; port 0 falls back to the service port; fwmark external gets the mark', async () => {
  const c = await loadValid(
    [
      'virtual=192.0.2.1:80',
      '\treal=10.0.0.1:8080 masq',
      '\tcheckport=9000',
      '\tchecktype=connect',
      'virtual=100',
      '\treal=10.0.0.2 gate',
      '\tservice=https',
      '\tchecktype=negotiate',
      'virtual=101',
      '\treal=10.0.0.3 gate',
      '\tchecktype=external',
      '\tcheckcommand=/bin/true',
      '',
    ].join('\n'),
  );
  const [connect, fwm, ext] = jobsFromConfig(c);
  assert.equal(connect?.job.port, 9000);
  assert.equal(connect?.job.realPort, 8080);
  assert.equal(fwm?.job.port, 443);
  assert.equal(fwm?.job.realPort, 0);
  assert.equal(ext?.job.virtualHost, '101');
  assert.equal(ext?.job.virtualPort, 0);
  assert.equal(ext?.job.command, '/bin/true');
});

test('a real shared by several virtual services with the same check is one target serving every pair', async () => {
  const c = await loadValid(
    [
      'virtual=192.0.2.1:80',
      '\treal=10.0.0.1:80 gate',
      '\treal=10.0.0.2:80 gate',
      '\tchecktype=connect',
      'virtual=192.0.2.2:80',
      '\treal=10.0.0.1:80 gate',
      '\tchecktype=connect',
      'virtual=192.0.2.3:80',
      '\treal=10.0.0.1:80 gate',
      '\tchecktype=connect',
      '\tchecktimeout=9',
      '',
    ].join('\n'),
  );
  const targets = jobsFromConfig(c);
  assert.equal(targets.length, 3, 'the third virtual has another timeout: another check');
  const shared = targets.find((t) => t.members.length > 1);
  assert.deepEqual(shared?.members, [
    { virtualId: 'tcp:192.0.2.1:80', realKey: '10.0.0.1:80' },
    { virtualId: 'tcp:192.0.2.2:80', realKey: '10.0.0.1:80' },
  ]);
});

test('the identity changes with every parameter that changes the result, and hides secrets', async () => {
  const base = [
    'virtual=192.0.2.1:3306',
    '\treal=10.0.0.1:3306 gate',
    '\tservice=mysql',
    '\tlogin="bob"',
    '\tdatabase="db"',
  ];
  const id = async (...extra: string[]): Promise<string> => {
    const globals = extra.filter((e) => e.startsWith('checkinterval='));
    const local = extra.filter((e) => !globals.includes(e)).map((e) => `\t${e}`);
    return one(jobsFromConfig(await loadValid([...globals, ...base, ...local, ''].join('\n')))).identity;
  };
  const plain = await id('passwd="hunter2"', 'request="select 1"');
  assert.equal(await id('passwd="hunter2"', 'request="select 1"'), plain, 'stable within a process');
  const variants = await Promise.all([
    id('passwd="other"', 'request="select 1"'),
    id('passwd="hunter2"', 'request="select 2"'),
    id('passwd="hunter2"', 'request="select 1"', 'receive="x"'),
    id('passwd="hunter2"', 'request="select 1"', 'negotiatetimeout=3'),
    id('passwd="hunter2"', 'request="select 1"', 'checkinterval=2'),
    id('passwd="hunter2"', 'request="select 1"', 'checktimeout=2'),
    id('passwd="hunter2"', 'request="select 1"', 'failurecount=4'),
    id('passwd="hunter2"', 'request="select 1"', 'checkport=3307'),
  ]);
  assert.equal(new Set([plain, ...variants]).size, variants.length + 1);
  assert.doesNotMatch(plain, /hunter2|bob/);
  assert.match(plain, /^negotiate:mysql:tcp:10\.0\.0\.1:3306#[0-9a-f]{16}$/);
});

test('external checks are per virtual (the command gets its address); on and off are kept', async () => {
  const c = await loadValid(
    [
      'virtual=192.0.2.1:80',
      '\treal=10.0.0.1:80 gate',
      '\tchecktype=external',
      '\tcheckcommand=/bin/true',
      'virtual=192.0.2.2:80',
      '\treal=10.0.0.1:80 gate',
      '\tchecktype=external',
      '\tcheckcommand=/bin/true',
      'virtual=192.0.2.3:80',
      '\treal=10.0.0.1:80 gate',
      '\tchecktype=on',
      'virtual=192.0.2.4:80',
      '\treal=10.0.0.1:80 gate',
      '\tchecktype=off',
      '',
    ].join('\n'),
  );
  const targets = jobsFromConfig(c);
  assert.deepEqual(
    targets.map((t) => t.job.type),
    ['external', 'external', 'on', 'off'],
  );
  assert.deepEqual(
    targets.map((t) => t.job.virtualHost),
    ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'],
  );
});

test('combined checks carry N; IPv6 reals are keyed with brackets', async () => {
  const c = await loadValid(
    ['virtual6=[2001:db8::1]:443', '\treal6=[2001:db8::10]:443 gate', '\tservice=https', '\tchecktype=4', ''].join(
      '\n',
    ),
  );
  const t = one(jobsFromConfig(c));
  assert.equal(t.job.type, 'combined');
  assert.equal(t.connectsBetweenNegotiates, 4);
  assert.equal(t.job.family, 'inet6');
  assert.equal(t.job.address, '2001:db8::10');
  assert.equal(t.members[0]?.realKey, '[2001:db8::10]:443');
  assert.equal(realKey('10.0.0.1', 0), '10.0.0.1:0');
});

test('deadlines: negotiatetimeout for negotiate (checktimeout for ldap/radius), checktimeout x checkcount for ping', async () => {
  const c = await loadValid(
    [
      'checktimeout=2',
      'negotiatetimeout=6',
      'checkcount=3',
      'virtual=192.0.2.1:80',
      '\treal=10.0.0.1:80 gate',
      'virtual=192.0.2.1:389',
      '\treal=10.0.0.1:389 gate',
      'virtual=192.0.2.1:81',
      '\treal=10.0.0.1:81 gate',
      '\tchecktype=ping',
      'virtual=192.0.2.1:53',
      '\treal=10.0.0.1:53 gate',
      '\tchecktype=connect',
      '\tprotocol=udp',
      '',
    ].join('\n'),
  );
  const [http, ldap, ping, udp] = jobsFromConfig(c);
  assert.ok(http && ldap && ping && udp);
  assert.equal(checkDeadlineMs(http.job, 'negotiate'), 6000);
  assert.equal(checkDeadlineMs(http.job, 'connect'), 2000);
  assert.equal(checkDeadlineMs(ldap.job, 'negotiate'), 2000);
  assert.equal(checkDeadlineMs(ping.job, 'connect'), 6000);
  assert.equal(checkDeadlineMs(udp.job, 'connect'), 6000);
});
