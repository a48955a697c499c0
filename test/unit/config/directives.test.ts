// Every directive: accepted values reach the model, refused values give an error at the directive's line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { load, loadErrors, onlyVirtual, vs, warnings } from '../../helpers/config';

/** A body directive that must be refused: the error is on line 3 (after `virtual=` and `real=`). */
async function refusedInVirtual(line: string, pattern: RegExp): Promise<void> {
  const errs = await loadErrors(vs('real=10.0.0.1:80 gate', line));
  assert.equal(errs.length, 1, `${line}: ${errs.map((e) => e.message).join('; ')}`);
  assert.equal(errs[0]?.pos.line, 3, line);
  assert.match(errs[0]?.message ?? '', pattern, line);
}

/** A global directive that must be refused: the error is on line 1. */
async function refusedGlobally(line: string, pattern: RegExp): Promise<void> {
  const errs = await loadErrors(`${line}\n${vs('real=10.0.0.1:80 gate')}`);
  assert.equal(errs.length, 1, `${line}: ${errs.map((e) => e.message).join('; ')}`);
  assert.equal(errs[0]?.pos.line, 1, line);
  assert.match(errs[0]?.message ?? '', pattern, line);
}

describe('global directives', () => {
  test('accepted values', async () => {
    const r = await load(
      [
        'checktimeout=3',
        'negotiatetimeout=20',
        'checkinterval=2',
        'checkcount=2',
        'failurecount=4',
        'autoreload=yes',
        'callback="/usr/local/bin/cb"',
        'logfile="/tmp/ldir.log"',
        'execute=other.cf',
        'execute=third.cf',
        'fork=yes',
        'supervised=no',
        'quiescent=yes',
        'readdquiescent=yes',
        'emailalert="a@example.com, b@example.com"',
        'emailalertfreq=300',
        'emailalertstatus=all',
        'emailalertfrom=Director <d@example.com>',
        'cleanstop=no',
        'smtp=mail.example.com:2525',
        'maintenancedir=/tmp/maint',
        'fallback=127.0.0.1:80 masq',
        'fallback6=[::1]:80',
        vs('real=10.0.0.1:80 gate'),
      ].join('\n'),
    );
    assert.ok(r.config, JSON.stringify(r.diagnostics));
    const g = r.config.globals;
    assert.deepEqual(g, {
      autoreload: true,
      callback: '/usr/local/bin/cb',
      logfile: '/tmp/ldir.log',
      execute: ['other.cf', 'third.cf'],
      fork: true,
      supervised: false,
      readdQuiescent: true,
      maintenanceDir: '/tmp/maint',
      sysctl: { enabled: true, ipvs: [] },
      metrics: { host: '127.0.0.1', port: 9547 },
      drain: { enabled: true, timeout: 30 },
      stateSync: null,
      alerting: { window: 5, interval: 60, flapChanges: 4, flapPeriod: 600 },
    });
    const v = r.config.virtualServices[0];
    assert.equal(v?.check.checkTimeout, 3);
    assert.equal(v?.check.negotiateTimeout, 20);
    assert.equal(v?.check.interval, 2);
    assert.equal(v?.check.failureCount, 4);
    assert.deepEqual(v?.alerts.emailAlert, ['a@example.com', 'b@example.com']);
    assert.equal(v?.alerts.smtp, 'mail.example.com:2525');
    assert.deepEqual(v?.fallback, {
      address: '127.0.0.1',
      port: 80,
      forward: 'masq',
      source: { file: '/etc/ha.d/test.cf', line: 22 },
    });
    assert.deepEqual(
      warnings(r).map((w) => w.code),
      ['deprecated'],
      'checkcount is deprecated',
    );
  });

  test('bare supervised is yes with a warning; supervised=maybe is an error', async () => {
    const r = await load(`supervised\n${vs('real=10.0.0.1:80 gate')}`);
    assert.equal(r.config?.globals.supervised, true);
    assert.equal(warnings(r)[0]?.pos.line, 1);
    await refusedGlobally('supervised=maybe', /supervised must be 'yes' or 'no'/);
  });

  test('refused values, each at its own line', async () => {
    const cases: Array<[string, RegExp]> = [
      ['checktimeout=0', /checktimeout must be a positive number of seconds/],
      ['checktimeout=abc', /checktimeout must be a positive number of seconds/],
      ['negotiatetimeout=0', /negotiatetimeout must be a positive/],
      ['checkinterval=x', /checkinterval must be a positive/],
      ['failurecount=0', /failurecount must be a positive/],
      ['autoreload=true', /autoreload must be 'yes' or 'no'/],
      ['fork=Yes', /fork must be 'yes' or 'no'/],
      ['quiescent=yes # comment', /remove the trailing text/],
      ['quiescent=yes ', /quiescent must be 'yes' or 'no'/],
      ['readdquiescent=1', /readdquiescent must be/],
      ['cleanstop=', /cleanstop must be/],
      ['callback=/usr/local/bin/cb', /callback value must be in double quotes/],
      ['logfile=/tmp/x.log', /logfile value must be in double quotes/],
      ['logfile="/tmp/missing/x.log"', /unable to open logfile/],
      ['emailalert=', /no email address specified/],
      ['emailalert=""', /no email address specified/],
      ['emailalertfreq=x5', /invalid email alert frequency/],
      ['emailalertstatus=all,none', /specified with "none"/],
      ['emailalertstatus=sometimes', /invalid email alert status: "sometimes"/],
      ['emailalertfrom=', /no email from address/],
      ['smtp=', /invalid SMTP server address/],
      ['maintenancedir=', /maintenance directory not specified/],
      ['fallback=127.0.0.1:80 direct', /forward method must be gate, masq or ipip/],
      ['fallback=nosuchhost:80', /could not resolve for fallback server: nosuchhost/],
      ['fallback=127.0.0.1:http', /not a udp service/],
      ['timeout=5', /deprecated in favour of checktimeout and negotiatetimeout/],
      ['connecttimeout=5', /deprecated in favour of negotiatetimeout/],
      ['bogus=1', /unknown directive "bogus"/],
      ['Quiescent=yes', /unknown directive "Quiescent"/],
      ['real=10.0.0.2:80 gate', /only valid inside a virtual section/],
      ['scheduler=wlc', /only valid inside a virtual section/],
      ['    checktimeout=5', /indented line outside a virtual section/],
    ];
    for (const [line, pattern] of cases) await refusedGlobally(line, pattern);
  });

  test('text ldirectord ignores is accepted with a warning', async () => {
    const r = await load(`checktimeout=5 # seconds\nsmtp=mail.example.com extra\n${vs('real=10.0.0.1:80 gate')}`);
    assert.ok(r.config);
    assert.equal(r.config.virtualServices[0]?.check.checkTimeout, 5);
    assert.equal(r.config.virtualServices[0]?.alerts.smtp, 'mail.example.com');
    assert.deepEqual(
      warnings(r).map((w) => [w.pos.line, w.code]),
      [
        [1, 'ignored-text'],
        [2, 'ignored-text'],
      ],
    );
  });

  test('a logfile that cannot be opened is fine after supervised=yes (ldirectord skips the test then)', async () => {
    const r = await load(`supervised=yes\nlogfile="/tmp/missing/x.log"\n${vs('real=10.0.0.1:80 gate')}`);
    assert.ok(r.config);
  });

  test('a missing maintenance directory is a warning', async () => {
    const r = await load(`maintenancedir=/tmp/nope\n${vs('real=10.0.0.1:80 gate')}`);
    assert.ok(r.config);
    assert.equal(warnings(r)[0]?.code, 'missing-path');
  });
});

describe('virtual directives', () => {
  test('accepted values reach the model', async () => {
    const v = await onlyVirtual(
      vs(
        'real=10.0.0.1:80 gate',
        'checktype=connect',
        'checkcommand="/usr/local/bin/chk arg"',
        'checkport=8080',
        'request="health"',
        'receive="OK"',
        'httpmethod=head',
        'virtualhost="www.example.com"',
        'login="u"',
        'passwd="p"',
        'database="db"',
        'secret="s"',
        'load="cpu"',
        'scheduler=sh',
        'persistent=300',
        'netmask=255.255.255.0',
        'schedflags=sh-port,sh-fallback',
        'protocol=tcp',
        'ops=no',
        'service=https',
        'monitorfile=/tmp/mon.log',
        'servicename=web farm',
        'comment=front end',
        'checktimeout=2',
        'negotiatetimeout=8',
        'failurecount=2',
        'quiescent=yes',
        'cleanstop=no',
        'fallback=127.0.0.1:8080 masq',
        'emailalertfreq=30',
      ),
    );
    assert.equal(v.check.type, 'connect');
    assert.equal(v.check.command, '/usr/local/bin/chk arg');
    assert.equal(v.check.port, 8080);
    assert.equal(v.check.request, '/health');
    assert.equal(v.check.receive, 'OK');
    assert.equal(v.check.httpMethod, 'HEAD');
    assert.equal(v.check.virtualHost, 'www.example.com');
    assert.deepEqual([v.check.login, v.check.passwd, v.check.database, v.check.secret], ['u', 'p', 'db', 's']);
    assert.equal(v.scheduler, 'sh');
    assert.equal(v.persistent, 300);
    assert.equal(v.netmask, '255.255.255.0');
    assert.equal(v.schedFlags, 'sh-port,sh-fallback');
    assert.equal(v.check.service, 'https');
    assert.equal(v.monitorFile, '/tmp/mon.log');
    assert.equal(v.serviceName, 'web farm');
    assert.equal(v.comment, 'front end');
    assert.equal(v.check.failureCount, 2);
    assert.equal(v.quiescent, true);
    assert.equal(v.cleanstop, false);
    assert.deepEqual(v.fallback, {
      address: '127.0.0.1',
      port: 8080,
      forward: 'masq',
      source: { file: '/etc/ha.d/test.cf', line: 30 },
    });
    assert.equal(v.alerts.emailAlertFreq, 30);
  });

  test('checktype: every named type, and a number gives the combined check', async () => {
    for (const t of ['connect', 'negotiate', 'ping', 'off', 'on', 'external', 'external-perl']) {
      assert.equal((await onlyVirtual(vs('real=10.0.0.1:80 gate', `checktype=${t}`))).check.type, t);
    }
    const combined = await onlyVirtual(vs('real=10.0.0.1:80 gate', 'checktype=3'));
    assert.equal(combined.check.type, 'combined');
    assert.equal(combined.check.connectsBetweenNegotiates, 3);
  });

  test('udp, ops, IPv6 netmask, fwm protocol on a fwmark', async () => {
    const udp = await onlyVirtual(vs('real=10.0.0.1:80 gate', 'protocol=udp', 'ops=yes'));
    assert.equal(udp.protocol, 'udp');
    assert.equal(udp.id, 'udp:192.0.2.1:80');
    assert.equal(udp.ops, true);
    const v6 = await onlyVirtual(
      'virtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2]:80 gate\n\tpersistent=60\n\tnetmask=64\n',
    );
    assert.equal(v6.netmask, '64');
    assert.equal(v6.id, 'tcp:[2001:db8::1]:80');
    const fwm = await onlyVirtual('virtual=7\n\treal=10.0.0.1 gate\n\tprotocol=fwm\n');
    assert.equal(fwm.protocol, 'fwm');
  });

  test('refused values, each at its own line', async () => {
    const cases: Array<[string, RegExp]> = [
      ['checktype=tcp', /checktype must be/],
      ['checktype=Connect', /checktype must be/],
      ['checkcommand=', /invalid check command/],
      ['checkport=0', /checkport must be in range 1..65535/],
      ['checkport=65536', /checkport must be in range/],
      ['checkport=http', /checkport must be a non-negative integer/],
      ['request=/index.html', /request value must be in double quotes/],
      ['request=""', /no request string specified/],
      ['receive=""', /invalid receive string/],
      ['login=bob', /login value must be in double quotes/],
      ['passwd=""', /invalid password/],
      ['database=db', /database value must be in double quotes/],
      ['secret=s', /secret value must be in double quotes/],
      ['load="!!"', /invalid string for load testing/],
      ['scheduler=WLC', /should be only lowercase letters/],
      ['persistent=forever', /persistent timeout must be/],
      ['schedflags=', /invalid sched-flags/],
      ['netmask=24', /dotted quad notation is required/],
      ['netmask=255.255.255.0 ', /dotted quad notation is required/],
      ['protocol=dccp', /protocol must be tcp, udp or sctp/],
      ['protocol=fwm', /protocol must be tcp, udp or sctp/],
      ['ops=1', /ops must be 'yes' or 'no'/],
      ['service=gopher', /service must be one of/],
      ['httpmethod=POST', /httpmethod must be GET or HEAD/],
      ['monitorfile=/tmp/missing/m.log', /unable to open monitorfile/],
      ['quiescent=yes ', /quiescent must be 'yes' or 'no'/],
      ['cleanstop=maybe', /cleanstop must be/],
      ['checktimeout=0', /checktimeout must be a positive/],
      ['negotiatetimeout=x', /negotiatetimeout must be a positive/],
      ['failurecount=0', /failurecount must be a positive/],
      ['checkinterval=0', /checkinterval must be a positive/],
      ['emailalertstatus=none,running', /specified with "none"/],
      ['emailalertfreq=', /invalid email alert frequency/],
      ['fallback=127.0.0.1:80 tunnel', /forward method must be/],
      ['fallback6=[::1]:80', /please use "fallback" instead/],
      ['real6=[2001:db8::2]:80 gate', /please use "real" instead/],
      ['timeout=5', /deprecated/],
      ['connecttimeout=5', /deprecated/],
      ['autoreload=yes', /global directive: write it in column 0/],
      ['emailalertfrom=x@example.com', /global directive/],
      ['bogus=1', /unknown directive "bogus"/],
    ];
    for (const [line, pattern] of cases) await refusedInVirtual(line, pattern);
  });

  test('a protocol other than fwm on a fwmark virtual is refused', async () => {
    const errs = await loadErrors('virtual=7\n\treal=10.0.0.1 gate\n\tprotocol=tcp\n');
    assert.match(errs[0]?.message ?? '', /protocol must be fwm/);
    assert.equal(errs[0]?.pos.line, 3);
  });

  test('an IPv6 netmask must be a prefix length 1..128', async () => {
    for (const bad of ['0', '129', '255.255.255.0']) {
      const errs = await loadErrors(`virtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2]:80 gate\n\tnetmask=${bad}\n`);
      assert.match(errs[0]?.message ?? '', /prefix length between 1 and 128/, bad);
    }
  });

  test('scheduler, service, checktype and numbers read as ldirectord reads them, with warnings', async () => {
    const r = await load(vs('real=10.0.0.1:80 gate', 'scheduler=Wrr', 'checktype=negotiate2', 'persistent=300s'));
    assert.ok(r.config);
    const v = r.config.virtualServices[0];
    assert.equal(v?.scheduler, 'rr');
    assert.equal(v?.check.type, 'combined');
    assert.equal(v?.check.connectsBetweenNegotiates, 2);
    assert.equal(v?.persistent, 300);
    assert.deepEqual(
      warnings(r).map((w) => w.pos.line),
      [3, 4, 5],
    );
  });

  test('per-virtual checkinterval without fork=yes is a warning', async () => {
    const r = await load(vs('real=10.0.0.1:80 gate', 'checkinterval=3'));
    assert.ok(r.config);
    assert.equal(warnings(r)[0]?.code, 'ignored-setting');
  });
});

describe('details ldirectord users rely on', () => {
  test('bare supervised with trailing spaces; execute kept once', async () => {
    const r = await load(`supervised   \nexecute=a.cf\nexecute=a.cf\n${vs('real=10.0.0.1:80 gate')}`);
    assert.equal(r.config?.globals.supervised, true);
    assert.deepEqual(r.config?.globals.execute, ['a.cf']);
  });

  test('extra text after service, protocol, checktype, httpmethod is read as ldirectord reads it, with a warning', async () => {
    const r = await load(
      vs('real=10.0.0.1:80 gate', 'service=http-alt', 'protocol=tcp/ip', 'checktype=connect now', 'httpmethod=get!'),
    );
    assert.ok(r.config);
    const v = r.config.virtualServices[0];
    assert.deepEqual(
      [v?.check.service, v?.protocol, v?.check.type, v?.check.httpMethod],
      ['http', 'tcp', 'connect', 'GET'],
    );
    assert.deepEqual(
      warnings(r)
        .filter((w) => w.code === 'ignored-text')
        .map((w) => w.pos.line),
      [3, 4, 5, 6],
    );
  });

  test('a virtual address without a port is a firewall mark, with a warning saying so', async () => {
    const r = await load('virtual=192.0.2.10\n\treal=10.0.0.1 gate\n');
    assert.equal(r.config?.virtualServices[0]?.id, 'fwm:192');
    assert.match(warnings(r)[0]?.message ?? '', /read as firewall mark 192/);
  });

  test('quotes left around an e-mail address are reported', async () => {
    const r = await load(vs('real=10.0.0.1:80 gate', 'emailalert="ops@example.com" # pager'));
    assert.ok(r.config);
    assert.match(warnings(r)[0]?.message ?? '', /quotes are kept/);
  });
});

test('a receive pattern JavaScript cannot compile is a warning (matched as plain text by the checks)', async () => {
  const r = await load(vs('real=10.0.0.1:80 gate "/x","a(?<b" ', 'receive="ok(+"'));
  assert.ok(r.config);
  assert.deepEqual(
    warnings(r).map((w) => w.pos.line),
    [2, 3],
  );
  assert.match(warnings(r)[1]?.message ?? '', /not a JavaScript regular expression/);
});
