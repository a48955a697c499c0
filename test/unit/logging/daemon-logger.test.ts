// createDaemonLogger: destination choice, levels and formats, syslog through a fake addon (priorities, fallback),
// secrets redacted everywhere, reconfigure on reload and close.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ErrorCodes, isLdirError, LdirError } from '../../../src/errors';
import { createDaemonLogger, DEFAULT_SYSLOG_IDENT, type SyslogAddon } from '../../../src/logging/daemon-logger';
import type { TextWriter } from '../../../src/logging/fd-writer';
import type { NativeSyslogHandle } from '../../../src/native/addon';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0, 0);

/** A writer collecting what is written (stdout or stderr). */
function capture(isTTY = false): TextWriter & { text: () => string; lines: () => string[] } {
  const chunks: string[] = [];
  const text = (): string => chunks.join('');
  return {
    isTTY,
    write: (s: string) => void chunks.push(s),
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l !== ''),
  };
}

/** A syslog addon that records what it is asked to send; `fail` is the errno name syslogWrite returns. */
function fakeSyslog() {
  const opened: Array<{ ident: string; facility: number; path: string | undefined }> = [];
  const sent: Array<{ severity: number; message: string }> = [];
  const state = { fail: '', closed: 0 };
  const addon: SyslogAddon = {
    syslogOpen: (ident, facility, p) => {
      opened.push({ ident, facility, path: p });
      return {} as NativeSyslogHandle;
    },
    syslogWrite: (_h, severity, message) => {
      if (state.fail !== '') return state.fail;
      sent.push({ severity, message });
      return '';
    },
    syslogClose: () => void (state.closed += 1),
  };
  return { addon, opened, sent, state };
}

test('-d: stderr at debug level, pretty on a terminal (ldirectord ignores logfile then)', () => {
  const stderr = capture(true);
  const stdout = capture(true);
  const log = createDaemonLogger({
    logfile: '/nonexistent/dir/x.log',
    debug: true,
    stderr,
    stdout,
    now: () => T0,
    utc: true,
    color: false,
  });
  assert.deepEqual(log.destination, { kind: 'stderr' });
  const rs = log.logger.child({ module: 'checks', vs: 'tcp:192.0.2.1:443', rs: '10.0.0.5:443' });
  rs.debug({ ms: 4 }, 'probe ok');
  rs.info({ weight: 10 }, 'real server up');
  log.close();
  assert.equal(
    stderr.text(),
    [
      '2024-05-01 12:00:00.000 DEBUG probe ok module=checks vs=tcp:192.0.2.1:443 rs=10.0.0.5:443 ms=4',
      '2024-05-01 12:00:00.000 INFO  real server up module=checks vs=tcp:192.0.2.1:443 rs=10.0.0.5:443 weight=10',
      '',
    ].join('\n'),
  );
  assert.equal(stdout.text(), '');
});

test('-d on a pipe writes JSON; format and colour can be forced', () => {
  const pipe = capture(false);
  const log = createDaemonLogger({ logfile: 'local0', debug: true, stderr: pipe, now: () => T0 });
  log.logger.debug('x');
  assert.deepEqual(JSON.parse(pipe.text()), { level: 20, time: T0, name: 'ldir', msg: 'x' });
  const tty = capture(false);
  createDaemonLogger({
    logfile: 'local0',
    debug: true,
    stderr: tty,
    format: 'pretty',
    color: true,
    utc: true,
    now: () => T0,
  }).logger.warn('w');
  assert.equal(tty.text(), '2024-05-01 12:00:00.000 \x1b[33mWARN \x1b[0m w\n');
});

test('supervised=yes: stdout, info level by default, level option respected', () => {
  const stdout = capture(false);
  const stderr = capture(false);
  const log = createDaemonLogger({
    logfile: '/var/log/ldirectord.log',
    supervised: true,
    stdout,
    stderr,
    now: () => T0,
  });
  assert.deepEqual(log.destination, { kind: 'stdout' });
  log.logger.debug('hidden');
  log.logger.info('shown');
  assert.deepEqual(
    stdout.lines().map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['shown'],
  );
  assert.equal(stderr.text(), '');
  const quiet = capture();
  createDaemonLogger({ logfile: 'daemon', supervised: true, stdout: quiet, level: 'warn' }).logger.info('no');
  assert.equal(quiet.text(), '');
});

test('syslog: ident ldirectord, facility code, severity per level, text message with key=value', () => {
  const fake = fakeSyslog();
  const log = createDaemonLogger({
    logfile: 'local3',
    addon: () => fake.addon,
    stderr: capture(),
    syslogPath: '/run/test.sock',
  });
  assert.deepEqual(log.destination, { kind: 'syslog', facility: 19, facilityName: 'local3' });
  assert.deepEqual(fake.opened, [{ ident: DEFAULT_SYSLOG_IDENT, facility: 19, path: '/run/test.sock' }]);
  assert.equal(DEFAULT_SYSLOG_IDENT, 'ldirectord');
  const engine = log.logger.child({ module: 'engine', vs: 'tcp:192.0.2.1:80' });
  engine.info({ rs: '10.0.0.2:80', weight: 0 }, 'real server down');
  engine.warn({ reason: 'connect timeout after 5 s' }, 'check failed');
  engine.error({ err: new Error('EPERM') }, 'ipvs add failed');
  engine.fatal('gone');
  engine.debug('not sent at info');
  log.close();
  assert.deepEqual(fake.sent, [
    { severity: 6, message: 'real server down module=engine vs=tcp:192.0.2.1:80 rs=10.0.0.2:80 weight=0' },
    { severity: 4, message: 'check failed module=engine vs=tcp:192.0.2.1:80 reason="connect timeout after 5 s"' },
    { severity: 3, message: 'ipvs add failed module=engine vs=tcp:192.0.2.1:80 err=EPERM' },
    { severity: 2, message: 'gone module=engine vs=tcp:192.0.2.1:80' },
  ]);
  assert.equal(fake.state.closed, 1);
});

test('syslog json format: the JSON record is the message; debug records at severity 7', () => {
  const fake = fakeSyslog();
  const log = createDaemonLogger({
    logfile: 'user',
    format: 'json',
    level: 'debug',
    addon: () => fake.addon,
    now: () => T0,
  });
  log.logger.debug({ a: 1 }, 'm');
  assert.deepEqual(fake.sent, [{ severity: 7, message: `{"level":20,"time":${T0},"name":"ldir","a":1,"msg":"m"}` }]);
  log.close();
});

test('no addon: one warning line, then records on stderr', () => {
  const stderr = capture(false);
  const log = createDaemonLogger({
    logfile: 'local0',
    stderr,
    now: () => T0,
    addon: () => {
      throw new LdirError(ErrorCodes.NATIVE_UNAVAILABLE, 'native addon not built: run npm run build:native');
    },
  });
  log.logger.info('one');
  log.logger.info('two');
  const lines = stderr.lines();
  assert.equal(
    lines[0],
    'ldir: cannot log to syslog (native addon not built: run npm run build:native); logging to stderr instead',
  );
  assert.deepEqual(
    lines.slice(1).map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['one', 'two'],
  );
});

test('syslog refusing messages: reported once, records pretty on stderr meanwhile, recovery said once', () => {
  const fake = fakeSyslog();
  const stderr = capture(false);
  const log = createDaemonLogger({ logfile: 'daemon', addon: () => fake.addon, stderr, now: () => T0, utc: true });
  fake.state.fail = 'ENOENT';
  log.logger.info('lost 1');
  log.logger.warn({ rs: '10.0.0.2:80' }, 'lost 2');
  fake.state.fail = '';
  log.logger.info('back');
  assert.deepEqual(stderr.lines(), [
    'ldir: syslog (/dev/log) does not take messages: ENOENT, no syslog daemon listens there; logging to stderr until it does',
    '2024-05-01 12:00:00.000 INFO  lost 1',
    '2024-05-01 12:00:00.000 WARN  lost 2 rs=10.0.0.2:80',
    'ldir: syslog (/dev/log) accepts messages again',
  ]);
  assert.deepEqual(
    fake.sent.map((s) => s.message),
    ['back'],
  );
});

test('secrets are redacted on every destination', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-log-'));
  try {
    const fake = fakeSyslog();
    const outs = { tty: capture(true), pipe: capture(false), stdout: capture(false) };
    const file = path.join(dir, 'l.log');
    const loggers = [
      createDaemonLogger({ logfile: file, stderr: capture() }),
      createDaemonLogger({ logfile: 'local0', addon: () => fake.addon, stderr: capture() }),
      createDaemonLogger({ logfile: file, debug: true, stderr: outs.tty }),
      createDaemonLogger({ logfile: file, debug: true, stderr: outs.pipe }),
      createDaemonLogger({ logfile: file, supervised: true, stdout: outs.stdout }),
    ];
    for (const l of loggers) {
      l.logger
        .child({ passwd: 'p-bound' })
        .warn({ secret: 's-call', smtpPassword: 'smtp-pw', check: { password: 'nested' } }, 'login');
      l.close();
    }
    const all = [
      fs.readFileSync(file, 'utf8'),
      ...fake.sent.map((s) => s.message),
      outs.tty.text(),
      outs.pipe.text(),
      outs.stdout.text(),
    ];
    assert.equal(all.length, 5);
    for (const text of all) {
      assert.doesNotMatch(text, /p-bound|s-call|smtp-pw|nested/);
      assert.match(text, /redacted/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('reconfigure on reload: file → syslog → file; unchanged is a no-op; a bad facility changes nothing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-log-'));
  try {
    const fake = fakeSyslog();
    const a = path.join(dir, 'a.log');
    const b = path.join(dir, 'b.log');
    const log = createDaemonLogger({ logfile: a, addon: () => fake.addon, stderr: capture() });
    log.logger.info('to a');
    assert.equal(log.reconfigure({ logfile: a }), false);
    assert.equal(log.reconfigure({ logfile: 'local1' }), true);
    assert.deepEqual(log.destination, { kind: 'syslog', facility: 17, facilityName: 'local1' });
    log.logger.info('to syslog');
    assert.throws(
      () => log.reconfigure({ logfile: 'lokal1' }),
      (err: unknown) => isLdirError(err, ErrorCodes.CONFIG_INVALID),
    );
    assert.equal(log.destination.kind, 'syslog');
    assert.equal(log.reconfigure({ logfile: b }), true);
    assert.equal(fake.state.closed, 1);
    log.logger.info('to b');
    log.close();
    log.close();
    assert.deepEqual(
      fs
        .readFileSync(a, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { msg: string }).msg),
      ['to a'],
    );
    assert.deepEqual(
      fake.sent.map((s) => s.message),
      ['to syslog'],
    );
    assert.deepEqual(
      fs
        .readFileSync(b, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { msg: string }).msg),
      ['to b'],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('reconfigure: supervised switches to stdout; with -d the destination stays stderr', () => {
  const stdout = capture();
  const fake = fakeSyslog();
  const log = createDaemonLogger({ logfile: 'local0', addon: () => fake.addon, stdout });
  assert.equal(log.reconfigure({ logfile: 'local0', supervised: true }), true);
  assert.deepEqual(log.destination, { kind: 'stdout' });
  assert.equal(fake.state.closed, 1);
  const dbg = createDaemonLogger({ logfile: 'local0', debug: true, stderr: capture() });
  assert.equal(dbg.reconfigure({ logfile: '/var/log/other.log' }), false);
  assert.deepEqual(dbg.destination, { kind: 'stderr' });
});

test('after close, records go to stderr rather than nowhere', () => {
  const fake = fakeSyslog();
  const stderr = capture();
  const log = createDaemonLogger({ logfile: 'local0', addon: () => fake.addon, stderr, now: () => T0 });
  log.close();
  log.logger.error('late');
  log.flush();
  assert.deepEqual(fake.sent, []);
  assert.equal((JSON.parse(stderr.text()) as { msg: string }).msg, 'late');
});

test('an unknown facility throws LDIR_ERR_CONFIG_INVALID before anything is opened', () => {
  const fake = fakeSyslog();
  assert.throws(
    () => createDaemonLogger({ logfile: 'loacl0', addon: () => fake.addon }),
    (err: unknown) => isLdirError(err, ErrorCodes.CONFIG_INVALID),
  );
  assert.deepEqual(fake.opened, []);
});

test('fields on every record (pid and config name, as the [time|cfgname|pid] prefix of ldirectord)', () => {
  const out = capture();
  const log = createDaemonLogger({
    logfile: 'local0',
    supervised: true,
    stdout: out,
    now: () => T0,
    fields: { pid: 4242, config: 'web.cf' },
  });
  log.logger.child({ module: 'engine' }).info('synced');
  assert.deepEqual(JSON.parse(out.text()), {
    level: 30,
    time: T0,
    name: 'ldir',
    pid: 4242,
    config: 'web.cf',
    module: 'engine',
    msg: 'synced',
  });
  const tty = capture(true);
  createDaemonLogger({
    logfile: 'local0',
    debug: true,
    stderr: tty,
    color: false,
    utc: true,
    now: () => T0,
    fields: { pid: 4242, config: 'web.cf' },
  }).logger.info('x');
  assert.equal(tty.text(), '2024-05-01 12:00:00.000 INFO  x config=web.cf\n');
});
