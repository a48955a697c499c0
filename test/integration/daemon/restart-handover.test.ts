// `ldir restart` as a hand-over (memory backend, real servers on 127.0.0.x): the successor checks every real while
// the old daemon serves, takes over, and the old one exits without cleanup; failures leave the old daemon running.
// Also: the daemon is found however it was launched, and `start` returns whatever descriptors its parent holds.
// (What the kernel table does through all this is shown in the VM: test/kernel/guest/traffic-*.test.ts.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { processGone } from '../../../src/cli/daemon-presence';
import type { StatusReport } from '../../../src/daemon/protocol';
import { pidFilePath, readPidState } from '../../../src/system/pid-file';
import { ldirBinary } from '../../helpers/ldir-binary';
import { freePort } from '../../helpers/system';
import { eventually, sleep } from '../../helpers/wait';

/** The checkout (this file runs as dist/test/integration/daemon/*.js). */
const ROOT = path.resolve(__dirname, '../../../..');
const MAIN = path.join(ROOT, 'dist/src/main.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

// A temp dir without "ldir" in its name: nothing about the daemon's command line may give it away.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-restart-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  LDIR_RUN_DIR: path.join(tmp, 'run'),
  LDIR_SOCKET_DIR: path.join(tmp, 'sock'),
  LDIR_STATE_DIR: path.join(tmp, 'state'),
};
const servers: http.Server[] = [];
let port = 0;
let metricsPort = 0;
let silentPort = 0;
let silent: net.Server | undefined;

/** Runs the `ldir` binary (asynchronously: several may run at once), bounded at 90 s. */
function ldir(args: readonly string[], runEnv: NodeJS.ProcessEnv = env): Promise<Run> {
  return ldirBinary(() => runEnv, 90_000)(...args);
}

function config(name: string, extra = ''): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(
    file,
    `checkinterval=1
checktimeout=2
metrics=127.0.0.1:${metricsPort}
logfile="${path.join(tmp, `${name}.log`)}"
virtual=127.0.0.1:8080
\treal=127.0.0.11:${port} masq 3
\treal=127.0.0.12:${port} masq 2
\tchecktype=negotiate
\tservice=http
\trequest="/"
\treceive="ok"
\tquiescent=yes
${extra}`,
  );
  return file;
}

async function status(file: string): Promise<StatusReport> {
  const r = await ldir(['--json', file, 'status']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusReport;
}

function pidOf(name: string): number | undefined {
  const s = readPidState(pidFilePath(name, env['LDIR_RUN_DIR']));
  return s.state === 'running' ? s.pid : undefined;
}

async function allUp(file: string): Promise<StatusReport> {
  return eventually(
    'every real up',
    async () => {
      const r = await status(file);
      return r.virtualServices.every((v) => v.reals.every((x) => x.health === 'up' && x.kernelWeight === x.weight))
        ? r
        : undefined;
    },
    30_000,
    200,
  );
}

/** Log records of daemon `pid` in the log of configuration `name`. */
function logOf(name: string, pid: number): string[] {
  const text = fs.existsSync(path.join(tmp, `${name}.log`))
    ? fs.readFileSync(path.join(tmp, `${name}.log`), 'utf8')
    : '';
  return text
    .split('\n')
    .filter((l) => l.includes(`"pid":${pid},`))
    .map((l) => String((JSON.parse(l) as { msg?: unknown }).msg));
}

/** Children of process `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

before(async () => {
  port = await freePort('127.0.0.11');
  metricsPort = await freePort('127.0.0.1');
  for (const address of ['127.0.0.11', '127.0.0.12']) {
    const s = http.createServer((_q, r) => r.end('ok'));
    await new Promise<void>((r) => s.listen(port, address, r));
    servers.push(s);
  }
  // Accepts and never answers: a check of it takes its whole timeout.
  silentPort = await freePort('127.0.0.13');
  silent = net.createServer(() => undefined);
  await new Promise<void>((r) => silent?.listen(silentPort, '127.0.0.13', r));
});

after(async () => {
  for (const name of fs.readdirSync(tmp).filter((f) => f.endsWith('.cf')))
    await ldir([path.join(tmp, name), 'stop']).catch(() => undefined);
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  silent?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('ldir restart hands over to a new daemon', { concurrency: false }, () => {
  test('the successor checks every real before it takes over; the old daemon exits without cleanup', async () => {
    const file = config('hand.cf');
    assert.equal((await ldir(['--ipvs=memory', file, 'start'])).status, 0);
    await allUp(file);
    const old = pidOf('hand.cf') as number;
    const restarted = await ldir(['--ipvs=memory', file, 'restart']);
    assert.equal(restarted.status, 0, restarted.stderr);
    assert.match(restarted.stderr, new RegExp(`pid ${old} handed over to pid \\d+ in \\d+ ms`));
    const report = await status(file);
    const successor = report.daemon.pid;
    assert.notEqual(successor, old);
    for (const r of report.virtualServices.flatMap((v) => v.reals)) {
      assert.equal(r.health, 'up', 'checked before it took over: no real is unknown right after the restart');
      assert.notEqual(r.lastCheck, null);
      assert.equal(r.kernelWeight, r.weight);
    }
    await eventually('the old daemon to exit', () => (processGone(old) ? true : undefined), 10_000, 50);
    assert.equal(pidOf('hand.cf'), successor, 'the pid file names the successor, and it holds the lock');
    const oldLog = logOf('hand.cf', old);
    assert.ok(oldLog.includes('ldir exiting: the new daemon runs the director (no cleanup)'), oldLog.join('\n'));
    assert.ok(!oldLog.some((m) => /purged/.test(m)), 'nothing purged by the old daemon');
    assert.ok(logOf('hand.cf', successor).includes('first check round done: taking over from the running daemon'));
    const healthz = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    assert.equal(healthz.status, 200, 'the metrics endpoint moved to the successor');
    const stopped = await ldir([file, 'stop']);
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.ok(processGone(successor));
  });

  test('a broken configuration on restart: exit 2 with PATH:LINE, the running daemon and its table untouched', async () => {
    const file = config('broken.cf');
    assert.equal((await ldir(['--ipvs=memory', file, 'start'])).status, 0);
    const up = await allUp(file);
    const before = up.daemon.pid;
    fs.appendFileSync(file, 'bogus line here\n');
    const r = await ldir(['--ipvs=memory', file, 'restart']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /broken\.cf:\d+:/);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('bogus line here\n', ''));
    const after = await status(file);
    assert.equal(after.daemon.pid, before);
    assert.equal(after.daemon.kernelOps?.applied, up.daemon.kernelOps?.applied, 'no kernel operation since');
    assert.equal((await ldir([file, 'stop'])).status, 0);
  });

  test('a successor that dies while taking over, or before: the old daemon goes on (socket, pid file, checks, reload)', async () => {
    // The daemon's environment carries a hook into every successor it starts: it dies at the step the marker names.
    const hook = path.join(tmp, 'die.js');
    const marker = path.join(tmp, 'die-at');
    fs.writeFileSync(
      hook,
      `
const fs = require('node:fs');
if (process.env.LDIR_HANDOVER === '1' && fs.existsSync(${JSON.stringify(marker)})) {
  const at = fs.readFileSync(${JSON.stringify(marker)}, 'utf8').trim();
  if (at === 'start') process.exit(3);
  const send = process.send.bind(process);
  process.send = (m, ...rest) => { if (m && m.ldir === at) process.kill(process.pid, 'SIGKILL'); return send(m, ...rest); };
}
`,
    );
    const file = config('dies.cf');
    const hooked = { ...env, NODE_OPTIONS: `--require=${hook}` };
    assert.equal((await ldir(['--ipvs=memory', file, 'start'], hooked)).status, 0);
    const old = (await allUp(file)).daemon.pid;
    for (const at of ['start', 'prepared', 'ready']) {
      fs.writeFileSync(marker, at);
      const r = await ldir(['--ipvs=memory', file, 'restart']);
      assert.equal(r.status, 1, `${at}: ${r.stderr}`);
      assert.match(r.stderr, /did not take over|exited|before it was/);
      assert.match(r.stderr, /goes on unchanged/);
      const report = await status(file);
      assert.equal(report.daemon.pid, old, `${at}: the old daemon answers on the control socket`);
      assert.equal(pidOf('dies.cf'), old, `${at}: the pid file names the old daemon, locked`);
      const checked = report.virtualServices[0]?.reals[0]?.lastCheck?.at;
      await eventually(
        `${at}: the old daemon's checks go on`,
        async () => {
          const later = (await status(file)).virtualServices[0]?.reals[0]?.lastCheck?.at;
          return later !== checked ? true : undefined;
        },
        10_000,
        200,
      );
      const healthz = await eventually(
        `${at}: the metrics endpoint back`,
        async () => {
          const r = await fetch(`http://127.0.0.1:${metricsPort}/healthz`).catch(() => undefined);
          return r?.status === 200 ? r : undefined;
        },
        10_000,
        100,
      );
      assert.equal(healthz.status, 200);
      const reload = await ldir([file, 'reload']);
      assert.equal(reload.status, 0, `${at}: the old daemon reloads again: ${reload.stderr}`);
    }
    fs.rmSync(marker);
    const ok = await ldir(['--ipvs=memory', file, 'restart']);
    assert.equal(ok.status, 0, `and a restart then succeeds: ${ok.stderr}`);
    assert.equal((await ldir([file, 'stop'])).status, 0);
  });

  test('two restarts at once both happen, one after the other; one daemon runs at the end', async () => {
    const file = config('twice.cf');
    assert.equal((await ldir(['--ipvs=memory', file, 'start'])).status, 0);
    const first = (await allUp(file)).daemon.pid;
    const [a, b] = await Promise.all([
      ldir(['--ipvs=memory', file, 'restart']),
      ldir(['--ipvs=memory', file, 'restart']),
    ]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    const moves = [a.stderr, b.stderr].map(
      (t) => /pid (\d+) handed over to pid (\d+)/.exec(t)?.slice(1).map(Number) ?? [],
    );
    const chain = moves.sort((x, y) => (x[0] === first ? -1 : y[0] === first ? 1 : 0));
    assert.equal(chain[0]?.[0], first);
    assert.equal(chain[1]?.[0], chain[0]?.[1], "the second restart handed over from the first one's successor");
    const last = chain[1]?.[1] as number;
    assert.equal((await status(file)).daemon.pid, last);
    for (const pid of [first, chain[0]?.[1] as number])
      await eventually(`pid ${pid} to exit`, () => (processGone(pid) ? true : undefined), 10_000, 50);
    assert.equal((await ldir([file, 'stop'])).status, 0);
  });

  test('SIGTERM to a successor before it takes over: it exits, the old daemon goes on', async () => {
    // A real that accepts and never answers keeps the successor's first round open for its whole timeout.
    const file = config(
      'term.cf',
      `virtual=127.0.0.1:8081
\treal=127.0.0.13:${silentPort} masq 1
\tchecktype=negotiate
\tservice=http
\tnegotiatetimeout=6
`,
    );
    assert.equal((await ldir(['--ipvs=memory', file, 'start'])).status, 0);
    const old = (await status(file)).daemon.pid;
    const restart = ldir(['--ipvs=memory', file, 'restart']);
    const successor = await eventually('the successor process', () => childrenOf(old)[0], 20_000, 50);
    await sleep(500);
    process.kill(successor, 'SIGTERM');
    const r = await restart;
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /stopped before it took over|exited/);
    await eventually('the successor to exit', () => (processGone(successor) ? true : undefined), 10_000, 50);
    assert.equal((await status(file)).daemon.pid, old);
    assert.equal(pidOf('term.cf'), old);
    assert.equal((await ldir([file, 'stop'])).status, 0);
  });

  test('a real in maintenance stays out through a restart: the successor reads maintenancedir before its first round', async () => {
    const maint = path.join(tmp, 'maintenance');
    fs.mkdirSync(maint, { recursive: true });
    const file = config('maint.cf');
    fs.writeFileSync(file, `maintenancedir=${maint}\n${fs.readFileSync(file, 'utf8')}`);
    assert.equal((await ldir(['--ipvs=memory', file, 'start'])).status, 0);
    await allUp(file);
    fs.writeFileSync(path.join(maint, '127.0.0.12'), '');
    await eventually(
      'the real in maintenance out',
      async () => {
        const r = (await status(file)).virtualServices[0]?.reals.find((x) => x.address === '127.0.0.12');
        return r?.maintenance && r.kernelWeight === 0 ? true : undefined;
      },
      20_000,
      200,
    );
    const restarted = await ldir(['--ipvs=memory', file, 'restart']);
    assert.equal(restarted.status, 0, restarted.stderr);
    const after = (await status(file)).virtualServices[0]?.reals.find((x) => x.address === '127.0.0.12');
    assert.equal(after?.health, 'down');
    assert.equal(after?.maintenance, true);
    // The memory backend's table is the process's own: the successor's holds it out (absent) rather than at 0.
    assert.equal(after?.kernelWeight ?? 0, 0, 'never put back in rotation by the successor');
    assert.equal((await ldir([file, 'stop'])).status, 0);
  });

  test('restart of a stopped director starts it; try-restart of a stopped one does nothing', async () => {
    const file = config('cold.cf');
    assert.equal((await ldir(['--ipvs=memory', file, 'try-restart'])).status, 0);
    assert.equal(pidOf('cold.cf'), undefined);
    assert.equal((await ldir(['--ipvs=memory', file, 'restart'])).status, 0);
    assert.notEqual(pidOf('cold.cf'), undefined);
    assert.equal((await ldir([file, 'stop'])).status, 0);
  });
});

describe('one daemon per configuration, whatever the launch', { concurrency: false }, () => {
  test('a daemon run as `node dist/src/main.js` (relative path): status finds it, start refuses a second, stop stops it', async () => {
    const file = config('plain.cf');
    const daemon = spawn(process.execPath, ['dist/src/main.js', '--foreground', '--ipvs=memory', file, 'start'], {
      cwd: ROOT,
      env,
      stdio: 'ignore',
      detached: true,
    });
    daemon.unref();
    const pid = daemon.pid as number;
    try {
      await eventually(
        'the daemon to answer',
        async () => ((await ldir([file, 'status'])).status === 0 ? true : undefined),
        30_000,
        200,
      );
      const s = await ldir([file, 'status']);
      assert.match(s.stderr, new RegExp(`running with pid: ${pid}`));
      const again = await ldir(['--ipvs=memory', file, 'start']);
      assert.equal(again.status, 0);
      assert.match(again.stderr, /already running/);
      assert.equal(pidOf('plain.cf'), pid, 'still the first daemon');
      // Even launched in the foreground the same way, a second one does not run beside it.
      const second = await new Promise<{ code: number | null; err: string }>((resolve) => {
        const c = spawn(process.execPath, ['dist/src/main.js', '--foreground', '--ipvs=memory', file, 'start'], {
          cwd: ROOT,
          env,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        c.stderr.on('data', (d: Buffer) => {
          err += d.toString();
        });
        c.on('exit', (code) => resolve({ code, err }));
      });
      assert.equal(second.code, 0, second.err);
      assert.match(second.err, /already running/);
      assert.equal(pidOf('plain.cf'), pid, 'still the first daemon');
      const stopped = await ldir([file, 'stop']);
      assert.equal(stopped.status, 0, stopped.stderr);
      await eventually('the daemon to exit', () => (processGone(pid) ? true : undefined), 10_000, 50);
    } finally {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  test('start returns once the daemon is ready even when its parent holds an extra pipe open (closed in the daemon)', async () => {
    const file = config('pipe.cf');
    // fd 5 is a pipe whose reader is this test: it sees end of file once every holder of the write end has closed it.
    const child = spawn(process.execPath, [MAIN, '--ipvs=memory', file, 'start'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'ignore', 'pipe'],
    });
    const extra = (child.stdio as unknown as NodeJS.ReadableStream[])[5] as NodeJS.ReadableStream;
    const eof = new Promise<void>((resolve) => {
      extra.on('end', resolve);
      extra.on('close', resolve);
      extra.resume();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(await exited, 0);
    const done = await Promise.race([eof.then(() => 'eof'), sleep(10_000).then(() => 'held')]);
    assert.equal(done, 'eof', 'the daemon does not keep the pipe it inherited from `ldir start`');
    assert.notEqual(pidOf('pipe.cf'), undefined, 'and it runs');
    assert.equal((await ldir([file, 'stop'])).status, 0);
  });
});
