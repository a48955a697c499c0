// Log file destination: appending, rotation by rename or removal (checked on write, at most once per interval),
// file mode, and failures reported once on the fallback instead of thrown.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { createDaemonLogger } from '../../../src/logging/daemon-logger';
import type { TextWriter } from '../../../src/logging/fd-writer';
import { skipOrFail } from '../../helpers/prerequisites';

/** A fresh directory removed after the test. */
function tmpDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-log-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A writer collecting what is written (stands for stderr). */
function capture(): TextWriter & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY: false, write: (s: string) => void chunks.push(s), text: () => chunks.join('') };
}

/** The JSON records of a file (every line must parse). */
function readRecords(file: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A file logger with a hand-driven monotonic clock. */
function fileLogger(file: string, stderr: TextWriter) {
  const clock = { t: 0 };
  const log = createDaemonLogger({ logfile: file, stderr, monotonic: () => clock.t, now: () => 1_700_000_000_000 });
  return { log, clock };
}

test('records are appended as JSON lines, after what the file held, with secrets redacted', (t) => {
  const file = path.join(tmpDir(t), 'ldirectord.log');
  fs.writeFileSync(file, 'an old line\n');
  const stderr = capture();
  const { log } = fileLogger(file, stderr);
  assert.deepEqual(log.destination, { kind: 'file', path: file });
  const engine = log.logger.child({ module: 'engine', vs: 'tcp:192.0.2.1:80' });
  engine.info({ rs: '10.0.0.2:80' }, 'real server up');
  engine.warn({ passwd: 'hunter2', check: { secret: 'radius' } }, 'login check');
  engine.debug('not at info level');
  log.close();
  const [old, ...lines] = fs.readFileSync(file, 'utf8').split('\n');
  assert.equal(old, 'an old line');
  const recs = lines.filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(recs.length, 2);
  assert.deepEqual(recs[0], {
    level: 30,
    time: 1_700_000_000_000,
    name: 'ldir',
    module: 'engine',
    vs: 'tcp:192.0.2.1:80',
    rs: '10.0.0.2:80',
    msg: 'real server up',
  });
  assert.equal(recs[1]?.['passwd'], '[redacted]');
  assert.deepEqual(recs[1]?.['check'], { secret: '[redacted]' });
  assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /hunter2|radius/);
  assert.equal(stderr.text(), '');
});

test('a new log file is created with mode 0640 (less the umask)', (t) => {
  const file = path.join(tmpDir(t), 'new.log');
  const { log } = fileLogger(file, capture());
  log.logger.info('x');
  log.close();
  const umask = process.umask();
  assert.equal(fs.statSync(file).mode & 0o777, 0o640 & ~umask);
});

test('rename rotation: lines keep going to the renamed file until the next check, then to a new file', (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'ldirectord.log');
  const { log, clock } = fileLogger(file, capture());
  log.logger.info('before rotation');
  fs.renameSync(file, `${file}.1`); // logrotate without copytruncate, create or postrotate
  clock.t += 500;
  log.logger.info('within the second'); // no check yet: still the open (renamed) file
  clock.t += 600;
  log.logger.info('after the check');
  log.logger.info('and later');
  log.close();
  assert.deepEqual(
    readRecords(`${file}.1`).map((r) => r['msg']),
    ['before rotation', 'within the second'],
  );
  assert.deepEqual(
    readRecords(file).map((r) => r['msg']),
    ['after the check', 'and later'],
  );
});

test('logrotate "create": an empty file put in place is adopted at the next check', (t) => {
  const file = path.join(tmpDir(t), 'ldirectord.log');
  const { log, clock } = fileLogger(file, capture());
  log.logger.info('one');
  fs.renameSync(file, `${file}.1`);
  fs.writeFileSync(file, '', { mode: 0o600 });
  clock.t += 1000;
  log.logger.info('two');
  log.close();
  assert.deepEqual(
    readRecords(file).map((r) => r['msg']),
    ['two'],
  );
  assert.equal(fs.statSync(file).mode & 0o777, 0o600); // the mode logrotate chose is kept
});

test('a removed log file is recreated at the next check', (t) => {
  const file = path.join(tmpDir(t), 'ldirectord.log');
  const stderr = capture();
  const { log, clock } = fileLogger(file, stderr);
  log.logger.info('one');
  fs.unlinkSync(file);
  clock.t += 1000;
  log.logger.info('two');
  log.close();
  assert.deepEqual(
    readRecords(file).map((r) => r['msg']),
    ['two'],
  );
  assert.equal(stderr.text(), '');
});

test('an unopenable path is reported once on stderr (not thrown), lines go there, and the file is used once it can be', (t) => {
  const dir = path.join(tmpDir(t), 'missing-dir');
  const file = path.join(dir, 'ldirectord.log');
  const stderr = capture();
  const { log, clock } = fileLogger(file, stderr);
  log.logger.info('first');
  clock.t += 1000;
  log.logger.info('second');
  const lines = stderr
    .text()
    .split('\n')
    .filter((l) => l !== '');
  assert.equal(lines[0], `ldir: cannot open log file ${file}: ENOENT; logging to stderr until it can be opened`);
  assert.deepEqual(
    lines.slice(1).map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['first', 'second'],
  );
  fs.mkdirSync(dir);
  clock.t += 1000;
  log.logger.info('third');
  log.close();
  assert.match(stderr.text(), new RegExp(`ldir: log file ${file} is writable again\\n$`));
  assert.deepEqual(
    readRecords(file).map((r) => r['msg']),
    ['third'],
  );
});

test('a directory as logfile: reported, not thrown', (t) => {
  const dir = tmpDir(t);
  const stderr = capture();
  const { log } = fileLogger(dir, stderr);
  log.logger.info('x');
  log.close();
  assert.match(
    stderr.text(),
    /^ldir: cannot open log file .*: EISDIR; logging to stderr until it can be opened\n\{.*"msg":"x"\}\n$/,
  );
});

test('write failures (ENOSPC on /dev/full) are reported once, never thrown; the lines reach stderr', (t) => {
  if (!fs.existsSync('/dev/full')) return skipOrFail(t, 'no /dev/full here');
  const stderr = capture();
  const { log, clock } = fileLogger('/dev/full', stderr);
  for (let i = 0; i < 5; i++) {
    log.logger.info({ i }, 'disk full');
    clock.t += 1000;
  }
  log.close();
  const lines = stderr
    .text()
    .split('\n')
    .filter((l) => l !== '');
  assert.equal(lines.filter((l) => l.startsWith('ldir: ')).length, 1);
  assert.equal(lines[0], 'ldir: cannot write log file /dev/full: ENOSPC; logging to stderr until it works again');
  assert.equal(lines.length, 6);
});

test('pretty format in a file: one human-readable line per record', (t) => {
  const file = path.join(tmpDir(t), 'pretty.log');
  const log = createDaemonLogger({
    logfile: file,
    format: 'pretty',
    utc: true,
    now: () => Date.UTC(2024, 0, 2, 3, 4, 5, 6),
    stderr: capture(),
  });
  log.logger.child({ module: 'engine' }).info({ vs: 'fwm:1' }, 'synced');
  log.close();
  assert.equal(fs.readFileSync(file, 'utf8'), '2024-01-02 03:04:05.006 INFO  synced module=engine vs=fwm:1\n');
});

test('a FIFO at the log path (no reader) is refused at once: no hang, the records go to stderr with the reason', (t) => {
  const fifo = path.join(tmpDir(t), 'ldirectord.log');
  execFileSync('mkfifo', [fifo]);
  const stderr = capture();
  const { log } = fileLogger(fifo, stderr); // a blocking open would never return here: nothing reads the FIFO
  log.logger.info('still logging');
  assert.match(stderr.text(), /cannot (open log file|log to) .*ldirectord\.log/);
  assert.match(stderr.text(), /still logging/);
});

test('a FIFO with a reader is refused too: a daemon must not block on its log', (t) => {
  const fifo = path.join(tmpDir(t), 'ldirectord.log');
  execFileSync('mkfifo', [fifo]);
  const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  t.after(() => fs.closeSync(reader));
  const stderr = capture();
  const { log } = fileLogger(fifo, stderr);
  log.logger.info('not into the pipe');
  assert.match(stderr.text(), /it is a FIFO/);
  assert.equal(
    fs.readSync(reader, Buffer.alloc(64)),
    0,
    'nothing was written into the FIFO (and no writer kept it open)',
  );
});
