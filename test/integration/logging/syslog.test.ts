// syslog through the native addon to a real unix datagram receiver (a python3 socket, python3 being part of the
// addon's build toolchain): RFC 3164 framing, PRI numbers, the daemon logger end to end, receiver restarts, a full
// queue that must not block, stream sockets, and argument errors.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { createDaemonLogger } from '../../../src/logging/daemon-logger';
import type { TextWriter } from '../../../src/logging/fd-writer';
import { loadNativeAddon, type NativeAddon, type NativeSyslogHandle } from '../../../src/native/addon';
import { IN_CI } from '../../helpers/system';

/** Receiver: binds a unix socket at argv[1]; `dgram` prints each datagram as a JSON string line, `hold` never reads, `stream` listens. */
const RECEIVER = `
import json, os, socket, sys
path, mode = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM if mode == 'stream' else socket.SOCK_DGRAM)
s.bind(path)
if mode == 'stream':
    s.listen(1)
print('READY', flush=True)
if mode != 'dgram':
    sys.stdin.read()
    sys.exit(0)
while True:
    print(json.dumps(s.recv(65536).decode('utf-8', 'replace')), flush=True)
`;

/** A running receiver and the datagrams it got so far. */
interface Receiver {
  readonly messages: string[];
  /** Resolves once `n` datagrams arrived (rejects after 5 s). */
  waitFor(n: number): Promise<string[]>;
  stop(): Promise<void>;
}

/** Starts the python3 receiver on `socketPath`; undefined (test skipped, CI fails) without python3. */
async function startReceiver(
  t: TestContext,
  socketPath: string,
  mode: 'dgram' | 'hold' | 'stream' = 'dgram',
): Promise<Receiver | undefined> {
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn('python3', ['-c', RECEIVER, socketPath, mode]);
  } catch (err) {
    assert.ok(!IN_CI, String(err));
    t.skip(`python3 unavailable: ${(err as Error).message}`);
    return undefined;
  }
  const messages: string[] = [];
  let buffered = '';
  let waiters: Array<() => void> = [];
  const ready = new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('exit', () => resolve(false));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line === 'READY') resolve(true);
        else messages.push(JSON.parse(line) as string);
      }
      for (const w of waiters) w();
    });
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  const ok = await ready;
  clearTimeout(timer);
  if (!ok) {
    assert.ok(!IN_CI, 'python3 receiver did not start');
    t.skip('python3 receiver did not start');
    return undefined;
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  t.after(stop);
  return {
    messages,
    stop,
    waitFor: (n) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (messages.length < n) return;
          clearTimeout(giveUp);
          waiters = waiters.filter((w) => w !== check);
          resolve(messages.slice(0, n));
        };
        const giveUp = setTimeout(
          () => reject(new Error(`only ${messages.length} of ${n} datagrams: ${JSON.stringify(messages)}`)),
          5000,
        );
        waiters.push(check);
        check();
      }),
  };
}

/** The real addon, or undefined (the caller skips; CI fails) when it is not built. */
function realAddon(t: TestContext): NativeAddon | undefined {
  try {
    return loadNativeAddon();
  } catch (err) {
    assert.ok(!IN_CI, (err as Error).message);
    t.skip((err as Error).message);
    return undefined;
  }
}

/** A fresh directory for sockets, removed after the test (unix socket paths must stay under 108 bytes). */
function sockDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldsl-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A writer collecting what is written (stands for stderr). */
function capture(): TextWriter & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY: false, write: (s: string) => void chunks.push(s), text: () => chunks.join('') };
}

const RFC3164 =
  /^<(\d+)>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ 1-3]\d) (\d\d):(\d\d):(\d\d) ([^ []+)\[(\d+)\]: (.*)$/s;

/** Splits a received datagram into PRI, facility, severity, ident, pid, timestamp and text. */
function parse(datagram: string) {
  const m = RFC3164.exec(datagram);
  assert.ok(m, `not an RFC 3164 line: ${JSON.stringify(datagram)}`);
  const pri = Number(m[1]);
  return {
    pri,
    facility: pri >> 3,
    severity: pri & 7,
    month: m[2],
    day: Number(m[3]),
    hms: `${m[4]}:${m[5]}:${m[6]}`,
    ident: m[7],
    pid: Number(m[8]),
    text: m[9],
  };
}

test('native: <PRI>Mmm dd hh:mm:ss ident[pid]: message, PRI = facility * 8 + severity, local time', async (t) => {
  const addon = realAddon(t);
  if (!addon) return;
  const sock = path.join(sockDir(t), 'log');
  const rx = await startReceiver(t, sock);
  if (!rx) return;
  const cases: Array<[number, number]> = [
    [16, 6],
    [3, 4],
    [23, 3],
    [1, 7],
    [10, 2],
  ];
  for (const [facility, severity] of cases) {
    const h = addon.syslogOpen('ldir-test', facility, sock);
    assert.equal(addon.syslogWrite(h, severity, `f${facility} s${severity} é€`), '');
    addon.syslogClose(h);
  }
  const got = (await rx.waitFor(cases.length)).map(parse);
  const now = new Date();
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  got.forEach((g, i) => {
    const [facility, severity] = cases[i] as [number, number];
    assert.equal(g.pri, facility * 8 + severity);
    assert.equal(g.ident, 'ldir-test');
    assert.equal(g.pid, process.pid);
    assert.equal(g.text, `f${facility} s${severity} é€`);
    assert.equal(g.month, months[now.getMonth()]);
    assert.equal(g.day, now.getDate());
  });
  assert.match(rx.messages[0] as string, /^<134>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d ldir-test\[\d+\]: /);
});

test('daemon logger to syslog: ident ldirectord, severities from levels, key=value text, secrets redacted', async (t) => {
  const addon = realAddon(t);
  if (!addon) return;
  const sock = path.join(sockDir(t), 'log');
  const rx = await startReceiver(t, sock);
  if (!rx) return;
  const stderr = capture();
  const log = createDaemonLogger({ logfile: 'local0', level: 'debug', syslogPath: sock, addon: () => addon, stderr });
  const rs = log.logger.child({ module: 'engine', vs: 'tcp:192.0.2.1:80', rs: '10.0.0.2:80' });
  rs.debug('probe ok');
  rs.info({ weight: 5 }, 'real server up');
  rs.warn({ reason: 'HTTP 503', passwd: 'hunter2' }, 'real server down');
  rs.error({ err: new Error('EEXIST') }, 'ipvs add failed');
  log.close();
  const got = (await rx.waitFor(4)).map(parse);
  assert.deepEqual(
    got.map((g) => [g.pri, g.ident, g.pid]),
    [
      [135, 'ldirectord', process.pid],
      [134, 'ldirectord', process.pid],
      [132, 'ldirectord', process.pid],
      [131, 'ldirectord', process.pid],
    ],
  );
  assert.deepEqual(
    got.map((g) => g.text),
    [
      'probe ok module=engine vs=tcp:192.0.2.1:80 rs=10.0.0.2:80',
      'real server up module=engine vs=tcp:192.0.2.1:80 rs=10.0.0.2:80 weight=5',
      'real server down module=engine vs=tcp:192.0.2.1:80 rs=10.0.0.2:80 reason="HTTP 503" passwd=[redacted]',
      'ipvs add failed module=engine vs=tcp:192.0.2.1:80 rs=10.0.0.2:80 err=EEXIST',
    ],
  );
  assert.equal(stderr.text(), '');
});

test('receiver gone, then back at the same path: messages fall back to stderr, then flow again (reconnect)', async (t) => {
  const addon = realAddon(t);
  if (!addon) return;
  const sock = path.join(sockDir(t), 'log');
  const first = await startReceiver(t, sock);
  if (!first) return;
  const stderr = capture();
  const log = createDaemonLogger({
    logfile: 'daemon',
    syslogPath: sock,
    addon: () => addon,
    stderr,
    utc: true,
    now: () => Date.UTC(2024, 0, 1),
  });
  log.logger.info('one');
  await first.waitFor(1);
  await first.stop(); // the socket file stays: ECONNREFUSED
  log.logger.info('lost');
  const second = await startReceiver(t, sock);
  if (!second) return;
  log.logger.warn('two');
  log.close();
  assert.deepEqual(
    (await second.waitFor(1)).map((d) => [parse(d).pri, parse(d).text]),
    [[28, 'two']],
  );
  assert.deepEqual(stderr.text().split('\n'), [
    `ldir: syslog (${sock}) does not take messages: ECONNREFUSED, no syslog daemon listens there; logging to stderr until it does`,
    '2024-01-01 00:00:00.000 INFO  lost',
    `ldir: syslog (${sock}) accepts messages again`,
    '',
  ]);
});

test('a receiver that stops reading: writes are dropped with EAGAIN without blocking the thread', async (t) => {
  const addon = realAddon(t);
  if (!addon) return;
  const sock = path.join(sockDir(t), 'log');
  const rx = await startReceiver(t, sock, 'hold');
  if (!rx) return;
  const h = addon.syslogOpen('ldir-test', 16, sock);
  const results = new Map<string, number>();
  const started = performance.now();
  for (let i = 0; i < 3000; i++) {
    const r = addon.syslogWrite(h, 6, `message ${i} ${'x'.repeat(200)}`);
    results.set(r, (results.get(r) ?? 0) + 1);
  }
  const elapsed = performance.now() - started;
  addon.syslogClose(h);
  assert.ok((results.get('') ?? 0) > 0, JSON.stringify([...results]));
  assert.ok((results.get('EAGAIN') ?? 0) > 0, JSON.stringify([...results]));
  assert.deepEqual([...results.keys()].sort(), ['', 'EAGAIN']);
  assert.ok(elapsed < 1000, `3000 writes took ${elapsed} ms`); // one 20 ms wait, then drops at once for a second
});

test('no receiver, a closed handle, a stream socket: errno names returned, nothing thrown', async (t) => {
  const addon = realAddon(t);
  if (!addon) return;
  const dir = sockDir(t);
  const none = addon.syslogOpen('ldir', 1, path.join(dir, 'nobody'));
  assert.equal(addon.syslogWrite(none, 6, 'x'), 'ENOENT');
  addon.syslogClose(none);
  addon.syslogClose(none);
  assert.equal(addon.syslogWrite(none, 6, 'x'), 'EBADF');
  const stream = path.join(dir, 'stream');
  if (!(await startReceiver(t, stream, 'stream'))) return;
  const h = addon.syslogOpen('ldir', 1, stream);
  assert.equal(addon.syslogWrite(h, 6, 'x'), 'EPROTOTYPE');
  addon.syslogClose(h);
  if (!fs.existsSync('/dev/log')) {
    const dev = addon.syslogOpen('ldir', 1); // default path /dev/log, absent on this machine
    assert.equal(addon.syslogWrite(dev, 6, 'x'), 'ENOENT');
    addon.syslogClose(dev);
  }
});

test('bad arguments throw TypeError (and only they)', (t) => {
  const addon = realAddon(t);
  if (!addon) return;
  const bad: Array<() => unknown> = [
    () => addon.syslogOpen('', 1),
    () => addon.syslogOpen('a b', 1),
    () => addon.syslogOpen('a:b', 1),
    () => addon.syslogOpen('x'.repeat(65), 1),
    () => addon.syslogOpen('ldir', 24),
    () => addon.syslogOpen('ldir', -1),
    () => addon.syslogOpen('ldir', 1.5),
    () => addon.syslogOpen('ldir', '1' as unknown as number),
    () => addon.syslogOpen('ldir', 1, ''),
    () => addon.syslogOpen('ldir', 1, `/${'x'.repeat(107)}`),
    () => addon.syslogWrite({} as NativeSyslogHandle, 6, 'x'),
    () => addon.syslogWrite(addon.syslogOpen('ldir', 1, '/nonexistent/sock'), 8, 'x'),
    () => addon.syslogWrite(addon.syslogOpen('ldir', 1, '/nonexistent/sock'), 6, 5 as unknown as string),
    () => addon.syslogClose(null as unknown as NativeSyslogHandle),
  ];
  for (const fn of bad) assert.throws(fn, TypeError);
  assert.equal(addon.syslogWrite(addon.syslogOpen('ldir', 0, `/${'x'.repeat(106)}`), 0, ''), 'ENOENT');
});
