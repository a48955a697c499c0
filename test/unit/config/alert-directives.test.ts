// The ldir alert directives (alertcommand, smtptls, smtplogin, smtppasswd, emailalertwindow, emailalertinterval,
// emailalertflap): both forms, defaults, positioned errors, warnings, convert round trips, secrets kept out of output.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../../../src/cli/run';
import { sameMeaning } from '../../../src/config/compare';
import { formatDiagnostic } from '../../../src/config/diagnostics';
import { capture } from '../../helpers/cli-io';
import { convertRoundTrip, load, loadErrors, loadValid, vs, warnings } from '../../helpers/config';

const YAML = '/etc/ha.d/ldir.yaml';
const REAL = vs('real=10.0.0.1:80 gate');

describe('alert directives in ldirectord.cf', () => {
  test('defaults: window 5 s, interval 60 s, flapping at 4 changes in 600 s; no command, no credentials, TLS may', async () => {
    const c = await loadValid(REAL);
    assert.deepEqual(c.globals.alerting, { window: 5, interval: 60, flapChanges: 4, flapPeriod: 600 });
    const a = c.virtualServices[0]?.alerts;
    assert.equal(a?.smtpTls, 'may');
    assert.equal(a?.smtpAuth, undefined);
    assert.equal(a?.command, undefined);
  });

  test('global values reach every virtual; a virtual section overrides command, TLS and the credential pair', async () => {
    const c = await loadValid(
      [
        'emailalertwindow=0',
        'emailalertinterval=300',
        'emailalertflap=6/1200',
        'alertcommand="/usr/local/bin/page me"',
        'smtp=mail.example.com:587',
        'smtplogin=ldir',
        'smtppasswd="p#ss word"',
        'virtual=192.0.2.1:80',
        '\treal=10.0.0.1:80 gate',
        '',
        'virtual=192.0.2.2:80',
        '\treal=10.0.0.1:80 gate',
        '\talertcommand=/bin/other',
        '\tsmtptls=verify',
        '\tsmtplogin=web',
        '\tsmtppasswd=w3b',
        '',
        'virtual=192.0.2.3:80',
        '\treal=10.0.0.1:80 gate',
        '\tsmtptls=none',
        '',
      ].join('\n'),
    );
    assert.deepEqual(c.globals.alerting, { window: 0, interval: 300, flapChanges: 6, flapPeriod: 1200 });
    const [a, b, d] = c.virtualServices.map((v) => v.alerts);
    assert.deepEqual(
      [a?.command, a?.smtpTls, a?.smtpAuth],
      ['/usr/local/bin/page me', 'encrypt', { login: 'ldir', passwd: 'p#ss word' }],
    );
    assert.deepEqual([b?.command, b?.smtpTls, b?.smtpAuth], ['/bin/other', 'verify', { login: 'web', passwd: 'w3b' }]);
    assert.deepEqual([d?.smtpTls, d?.smtpAuth?.login], ['none', 'ldir']);
  });

  test('emailalertflap=no turns flap detection off', async () => {
    assert.equal((await loadValid(`emailalertflap=no\n${REAL}`)).globals.alerting.flapChanges, 0);
  });

  test('refused values, each at its own line, never quoting a password', async () => {
    const cases: Array<[string, RegExp]> = [
      ['emailalertwindow=x', /emailalertwindow must be a number of seconds from 0 to 3600, not "x"/],
      ['emailalertwindow=3601', /from 0 to 3600/],
      ['emailalertwindow=5 s', /not "5 s"/],
      ['emailalertinterval=-1', /emailalertinterval must be a number of seconds from 0 to 86400/],
      ['emailalertflap=1/600', /emailalertflap must be CHANGES\/SECONDS/],
      ['emailalertflap=4/0', /emailalertflap must be/],
      ['emailalertflap=4', /emailalertflap must be/],
      ['emailalertflap=yes', /emailalertflap must be/],
      ['smtptls=maybe', /smtptls must be one of none, may, encrypt, verify, not "maybe"/],
      ['alertcommand=', /invalid alert command: empty/],
      ['alertcommand=""', /invalid alert command: empty/],
      ['smtplogin=', /invalid SMTP login: empty/],
      ['smtppasswd=""', /invalid SMTP password: empty/],
    ];
    for (const [line, pattern] of cases) {
      const errs = await loadErrors(`${line}\n${REAL}`);
      assert.equal(errs.length, 1, `${line}: ${errs.map(formatDiagnostic).join('; ')}`);
      assert.equal(errs[0]?.pos.line, 1, line);
      assert.equal(errs[0]?.directive, line.split('=')[0], line);
      assert.match(errs[0]?.message ?? '', pattern, line);
    }
  });

  test('login and password go together, in the same place; the error names neither value', async () => {
    const onlyLogin = await loadErrors(`smtplogin=ldir\n${REAL}`);
    assert.deepEqual(
      onlyLogin.map((e) => [e.pos.line, e.directive]),
      [[1, 'smtplogin']],
    );
    assert.match(onlyLogin[0]?.message ?? '', /smtplogin needs smtppasswd in the same place/);
    const onlyPasswd = await loadErrors(`smtppasswd=Hidden-9\n${REAL}`);
    assert.deepEqual(
      onlyPasswd.map((e) => [e.pos.line, e.directive]),
      [[1, 'smtppasswd']],
    );
    assert.doesNotMatch(onlyPasswd[0]?.message ?? '', /Hidden-9/);
    const split = await loadErrors(`smtplogin=ldir\nsmtppasswd=x\n${vs('real=10.0.0.1:80 gate', 'smtplogin=web')}`);
    assert.deepEqual(
      split.map((e) => [e.pos.line, e.directive]),
      [[5, 'smtplogin']],
    );
  });

  test('smtptls=none with credentials: a warning at the smtptls line', async () => {
    const r = await load(`smtplogin=a\nsmtppasswd=b\nsmtptls=none\n${REAL}`);
    assert.ok(r.config);
    assert.deepEqual(
      warnings(r).map((w) => [w.pos.line, w.directive]),
      [[3, 'smtptls']],
    );
    assert.match(warnings(r)[0]?.message ?? '', /in clear text/);
  });

  test('the throttle directives are global only', async () => {
    for (const line of ['emailalertwindow=1', 'emailalertinterval=1', 'emailalertflap=no']) {
      const errs = await loadErrors(vs('real=10.0.0.1:80 gate', line));
      assert.deepEqual(
        errs.map((e) => [e.pos.line, e.code]),
        [[3, 'misplaced']],
        line,
      );
    }
  });
});

describe('alert directives in YAML', () => {
  test('the same meaning as ldirectord.cf; booleans and numbers read as written', async () => {
    const y = await loadValid(
      [
        'emailalertwindow: 2',
        'emailalertinterval: 0',
        'emailalertflap: no',
        'alertcommand: /usr/local/bin/page --to ops',
        'smtp: 127.0.0.1:2525',
        'smtplogin: ldir',
        'smtppasswd: 0042',
        'smtptls: encrypt',
        'virtuals:',
        '  - virtual: 192.0.2.1:80',
        '    real: 10.0.0.1:80 gate',
        '    smtptls: verify',
        '',
      ].join('\n'),
      YAML,
    );
    const c = await loadValid(
      'emailalertwindow=2\nemailalertinterval=0\nemailalertflap=no\nalertcommand=/usr/local/bin/page --to ops\n' +
        'smtp=127.0.0.1:2525\nsmtplogin=ldir\nsmtppasswd=0042\nsmtptls=encrypt\n' +
        'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tsmtptls=verify\n',
    );
    assert.ok(sameMeaning(y, c));
    assert.deepEqual(y.virtualServices[0]?.alerts.smtpAuth, { login: 'ldir', passwd: '0042' });
  });

  test('errors at LINE:COL', async () => {
    const errs = await loadErrors(
      'emailalertflap: 3/abc\nvirtuals:\n  - virtual: 192.0.2.1:80\n    emailalertwindow: 1\n',
      YAML,
    );
    assert.deepEqual(
      errs.map((e) => [e.pos.line, e.pos.column, e.directive]),
      [
        [1, 1, 'emailalertflap'],
        [4, 5, 'emailalertwindow'],
      ],
    );
  });
});

describe('convert round trips and secrets', () => {
  const cfText =
    'emailalertwindow=10\nemailalertflap=3/60\nalertcommand="/opt/hooks/lvs alert"\nsmtp=mail.example.com\n' +
    'smtplogin=ldir\nsmtppasswd=" lead#ing"\nsmtptls=verify\n\n' +
    'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\talertcommand=/opt/hooks/web\n';

  test('cf -> yaml -> cf means the same and is a fixpoint', async () => {
    const { yaml, cf, yamlAgain } = await convertRoundTrip(cfText, YAML);
    assert.match(yaml, /^emailalertwindow: 10\nemailalertflap: 3\/60\nalertcommand: \/opt\/hooks\/lvs alert\n/);
    assert.match(cf, /^smtppasswd=" lead#ing"$/m);
    assert.equal(yamlAgain, yaml);
  });

  test('ldir check --json shows the settings with the SMTP password redacted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldir-alert-check-'));
    try {
      const file = join(dir, 'ldirectord.cf');
      writeFileSync(
        file,
        'smtp=mail.example.com\nsmtplogin=ldir\nsmtppasswd=Very-Secret-7\n\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n',
      );
      const io = capture();
      await runCli(['check', file, '--json'], io);
      assert.doesNotMatch(io.out + io.err, /Very-Secret-7/);
      const out = JSON.parse(io.out) as { virtualServices: Array<{ alerts: { smtpAuth: unknown } }> };
      assert.deepEqual(out.virtualServices[0]?.alerts.smtpAuth, { login: 'ldir', passwd: '[redacted]' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
