// Every default of the model, and the timeout cross-fallback rule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadValid, onlyVirtual, vs } from '../../helpers/config';

test('global defaults are ldirectord 4.12 code defaults', async () => {
  const c = await loadValid(vs('real=10.0.0.1:80 gate'));
  assert.deepEqual(c.globals, {
    autoreload: false,
    logfile: '/var/log/ldirectord.log',
    execute: [],
    fork: false,
    supervised: false,
    readdQuiescent: false,
    sysctl: { enabled: true, ipvs: [] },
    metrics: { host: '127.0.0.1', port: 9547 },
    drain: { enabled: true, timeout: 30 },
    stateSync: null,
    alerting: { window: 5, interval: 60, flapChanges: 4, flapPeriod: 600 },
  });
});

test('virtual defaults: negotiate, wrr, tcp, service from the port, quiescent no, cleanstop yes', async () => {
  const v = await onlyVirtual(vs('real=10.0.0.1:80 gate'));
  assert.equal(v.id, 'tcp:192.0.2.1:80');
  assert.equal(v.protocol, 'tcp');
  assert.equal(v.family, 'inet');
  assert.equal(v.scheduler, 'wrr');
  assert.equal(v.ops, false);
  assert.equal(v.quiescent, false);
  assert.equal(v.cleanstop, true);
  assert.equal(v.persistent, undefined);
  assert.equal(v.fallback, undefined);
  assert.deepEqual(v.check, {
    type: 'negotiate',
    connectsBetweenNegotiates: 0,
    service: 'http',
    command: '/bin/true',
    request: '/',
    receive: '',
    httpMethod: 'GET',
    httpRedirect: 'samehost',
    login: '',
    passwd: '',
    database: '',
    secret: '',
    checkTimeout: 5,
    negotiateTimeout: 30,
    interval: 10,
    checkCount: 1,
    failureCount: 1,
    riseCount: 1,
    httpStatus: [[200, 299]],
    receiveNot: '',
    tls: { verify: false },
  });
  assert.deepEqual(v.alerts, {
    emailAlert: [],
    emailAlertFreq: 0,
    emailAlertStatus: ['starting', 'running', 'stopping', 'reloading'],
    smtpTls: 'may',
  });
  assert.deepEqual(v.reals[0], {
    address: '10.0.0.1',
    port: 80,
    forward: 'gate',
    weight: 1,
    lowerThreshold: 0,
    upperThreshold: 0,
    source: { file: '/etc/ha.d/test.cf', line: 2 },
  });
});

test('port 53 and "domain" default to udp; other ports to tcp', async () => {
  assert.equal((await onlyVirtual('virtual=192.0.2.1:53\n\treal=10.0.0.1 gate\n')).protocol, 'udp');
  assert.equal((await onlyVirtual('virtual=192.0.2.1:domain\n\treal=10.0.0.1 gate\n')).protocol, 'udp');
  assert.equal((await onlyVirtual('virtual6=[2001:db8::1]:53\n\treal6=[2001:db8::2] gate\n')).protocol, 'udp');
  assert.equal((await onlyVirtual('virtual=192.0.2.1:053\n\treal=10.0.0.1 gate\n')).protocol, 'tcp');
});

test("service is derived from the virtual port with ldirectord's table", async () => {
  const table: Array<[string, string]> = [
    ['21', 'ftp'],
    ['25', 'smtp'],
    ['53', 'dns'],
    ['80', 'http'],
    ['110', 'pop'],
    ['119', 'nntp'],
    ['143', 'imap'],
    ['389', 'ldap'],
    ['443', 'https'],
    ['587', 'submission'],
    ['636', 'ldaps'],
    ['993', 'imaps'],
    ['995', 'pops'],
    ['1521', 'oracle'],
    ['1812', 'radius'],
    ['3128', 'http_proxy'],
    ['3306', 'mysql'],
    ['5060', 'sip'],
    ['5432', 'pgsql'],
    ['8080', 'none'],
    ['https', 'https'],
  ];
  for (const [port, service] of table) {
    const v = await onlyVirtual(`virtual=192.0.2.1:${port}\n\treal=10.0.0.1 gate\n`);
    assert.equal(v.check.service, service, `port ${port}`);
  }
});

test('fwmark virtuals: protocol fwm, service none, port 0', async () => {
  const v = await onlyVirtual('virtual=100\n\treal=10.0.0.1 gate\n');
  assert.equal(v.id, 'fwm:100');
  assert.equal(v.protocol, 'fwm');
  assert.equal(v.fwmark, 100);
  assert.equal(v.port, 0);
  assert.equal(v.check.service, 'none');
  const v6 = await onlyVirtual('virtual6=100\n\treal6=[2001:db8::2] gate\n');
  assert.equal(v6.id, 'fwm6:100');
  assert.equal(v6.family, 'inet6');
});

test('ftp and sip checks default their login and password from the host name', async () => {
  const ftp = await onlyVirtual('virtual=192.0.2.1:21\n\treal=10.0.0.1 masq\n');
  assert.equal(ftp.check.login, 'anonymous');
  assert.equal(ftp.check.passwd, 'ldirectord@director');
  const sip = await onlyVirtual('virtual=192.0.2.1:5060\n\treal=10.0.0.1 masq\n\tprotocol=udp\n');
  assert.equal(sip.check.login, 'ldirectord@director');
  assert.equal(sip.check.passwd, '');
  const own = await onlyVirtual('virtual=192.0.2.1:21\n\treal=10.0.0.1 masq\n\tlogin="bob"\n\tpasswd="pw"\n');
  assert.equal(own.check.login, 'bob');
  assert.equal(own.check.passwd, 'pw');
});

test('checktimeout and negotiatetimeout fall back on each other; per-virtual values beat globals of the other kind', async () => {
  const cases: Array<{ g: string[]; v: string[]; check: number; negotiate: number }> = [
    { g: [], v: [], check: 5, negotiate: 30 },
    { g: ['checktimeout=7'], v: [], check: 7, negotiate: 7 },
    { g: ['negotiatetimeout=9'], v: [], check: 9, negotiate: 9 },
    { g: ['checktimeout=7', 'negotiatetimeout=9'], v: [], check: 7, negotiate: 9 },
    { g: ['checktimeout=7'], v: ['negotiatetimeout=3'], check: 3, negotiate: 3 },
    { g: ['negotiatetimeout=9'], v: ['checktimeout=2'], check: 2, negotiate: 2 },
    { g: ['checktimeout=7', 'negotiatetimeout=9'], v: ['checktimeout=2'], check: 2, negotiate: 2 },
    {
      g: ['checktimeout=7', 'negotiatetimeout=9'],
      v: ['checktimeout=2', 'negotiatetimeout=4'],
      check: 2,
      negotiate: 4,
    },
  ];
  for (const c of cases) {
    const text = `${c.g.join('\n')}\n${vs('real=10.0.0.1:80 gate', ...c.v)}`;
    const v = await onlyVirtual(text);
    assert.equal(v.check.checkTimeout, c.check, JSON.stringify(c));
    assert.equal(v.check.negotiateTimeout, c.negotiate, JSON.stringify(c));
  }
});

test('checkinterval per virtual applies only with fork=yes (warning otherwise)', async () => {
  const noFork = await onlyVirtual(`checkinterval=4\n${vs('real=10.0.0.1:80 gate', 'checkinterval=2')}`);
  assert.equal(noFork.check.interval, 4);
  const fork = await onlyVirtual(`fork=yes\ncheckinterval=4\n${vs('real=10.0.0.1:80 gate', 'checkinterval=2')}`);
  assert.equal(fork.check.interval, 2);
  const forkAfter = await onlyVirtual(`${vs('real=10.0.0.1:80 gate', 'checkinterval=2')}\nfork=yes\n`);
  assert.equal(forkAfter.check.interval, 2, 'fork=yes after the virtuals still counts, as ldirectord');
});

test('global values apply to every virtual unless overridden', async () => {
  const c = await loadValid(
    [
      'quiescent=yes',
      'cleanstop=no',
      'failurecount=3',
      'checkcount=2',
      'emailalert=ops@example.com',
      'emailalertfreq=60',
      'emailalertstatus=starting,running',
      'emailalertfrom=ldir@example.com',
      'smtp=mail.example.com',
      'fallbackcommand=/usr/local/bin/sorry',
      vs('real=10.0.0.1:80 gate'),
      'virtual=192.0.2.2:80',
      '\treal=10.0.0.1:80 gate',
      '\tquiescent=no',
      '\tcleanstop=yes',
      '\tfailurecount=1',
      '\tcheckcount=5',
      '\temailalert=dev@example.com',
      '\temailalertfreq=0',
      '\temailalertstatus=none',
      '\tsmtp=relay.example.com',
      '\tfallbackcommand="/bin/x y"',
    ].join('\n'),
  );
  const [a, b] = c.virtualServices;
  assert.ok(a && b);
  assert.equal(a.quiescent, true);
  assert.equal(a.cleanstop, false);
  assert.equal(a.check.failureCount, 3);
  assert.equal(a.check.checkCount, 2);
  assert.equal(a.fallbackCommand, '/usr/local/bin/sorry');
  assert.deepEqual(a.alerts, {
    emailAlert: ['ops@example.com'],
    emailAlertFrom: 'ldir@example.com',
    emailAlertFreq: 60,
    emailAlertStatus: ['starting', 'running'],
    smtp: 'mail.example.com',
    smtpTls: 'may',
  });
  assert.equal(b.quiescent, false);
  assert.equal(b.cleanstop, true);
  assert.equal(b.check.failureCount, 1);
  assert.equal(b.check.checkCount, 5);
  assert.equal(b.fallbackCommand, '/bin/x y');
  assert.deepEqual(b.alerts, {
    emailAlert: ['dev@example.com'],
    emailAlertFrom: 'ldir@example.com',
    emailAlertFreq: 0,
    emailAlertStatus: [],
    smtp: 'relay.example.com',
    smtpTls: 'may',
  });
});

test('the model is deeply frozen', async () => {
  const c = await loadValid(vs('real=10.0.0.1:80 gate'));
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.virtualServices[0]?.reals[0]));
  assert.throws(() => {
    (c.globals as { fork: boolean }).fork = true;
  });
});
