// The real `ldir` binary as operators and Heartbeat use it (memory backend, real servers on 127.0.0.x): start
// detaches and reports, status/reload/drain/stop talk to the daemon, exit codes as ldirectord's, kill -9 recovery.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { StatusReport } from '../../../src/daemon/protocol';
import { pidFilePath, readPidState } from '../../../src/system/pid-file';
import { startSmtpSink, waitFor } from '../../helpers/smtp-sink';
import { freePort } from '../../helpers/system';

const MAIN = path.resolve(__dirname, '../../../src/main.js');
let tmp = '';
let env: NodeJS.ProcessEnv = {};
let server: http.Server | undefined;
let port = 0;

/** Runs the `ldir` binary with `args` in `runEnv`; its exit status, output and how long it took. */
function ldirIn(
  runEnv: NodeJS.ProcessEnv,
  args: readonly string[],
): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: runEnv, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

function ldir(...args: string[]): { status: number | null; stdout: string; stderr: string; ms: number } {
  return ldirIn(env, args);
}

let metricsPort = 0;

function config(extra = ''): string {
  return `checkinterval=1
checktimeout=1
metrics=127.0.0.1:${metricsPort}
logfile="${path.join(tmp, 'ldir.log')}"
virtual=127.0.0.1:8080
\treal=127.0.0.5:${port} masq 3
\tchecktype=connect
\tmonitorfile="${path.join(tmp, 'monitor.log')}"
${extra}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-cli-'));
  env = {
    ...process.env,
    LDIR_RUN_DIR: path.join(tmp, 'run'),
    LDIR_SOCKET_DIR: path.join(tmp, 'sock'),
    LDIR_STATE_DIR: path.join(tmp, 'state'),
  };
  port = await freePort('127.0.0.5');
  metricsPort = await freePort('127.0.0.1');
  server = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => server?.listen(port, '127.0.0.5', r));
});
after(async () => {
  const file = path.join(tmp, 'site.cf');
  if (fs.existsSync(file)) ldir(file, 'stop');
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('ldir start|status|reload|drain|stop through the binary, with ldirectord exit codes', async () => {
  const file = path.join(tmp, 'site.cf');
  fs.writeFileSync(file, config());
  const pidFile = pidFilePath('site.cf', env['LDIR_RUN_DIR']);

  assert.equal(ldir(file, 'status').status, 3, 'stopped');
  const started = ldir('--ipvs=memory', file, 'start');
  assert.equal(started.status, 0, started.stderr);
  const pid = readPidState(pidFile);
  assert.equal(pid.state, 'running', 'start returns once the daemon runs');
  assert.equal(ldir('--ipvs=memory', file, 'start').status, 0, 'start when running is a no-op');

  // status: the table for people, JSON for programs; the real comes up within a few check intervals.
  let report: StatusReport | undefined;
  for (let i = 0; i < 60; i++) {
    const r = ldir('--json', file, 'status');
    assert.equal(r.status, 0, r.stderr);
    report = JSON.parse(r.stdout) as StatusReport;
    if (report.virtualServices[0]?.reals[0]?.health === 'up') break;
    await sleep(200);
  }
  assert.equal(report?.virtualServices[0]?.reals[0]?.health, 'up');
  assert.equal(report?.virtualServices[0]?.reals[0]?.kernelWeight, 3);
  const human = ldir(file, 'status');
  assert.match(human.stderr, new RegExp(`running with pid: ${pid.state === 'running' ? pid.pid : 0}`));
  assert.match(human.stdout, /127\.0\.0\.5/);
  assert.match(human.stdout, /memory/i, 'the in-memory backend is said loudly');

  // The Prometheus endpoint of the running daemon.
  const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.equal(scrape.status, 200);
  const text = await scrape.text();
  assert.match(
    text,
    new RegExp(`ldir_real_server_up\\{virtual="tcp:127\\.0\\.0\\.1:8080",real="127\\.0\\.0\\.5:${port}"\\} 1`),
  );
  assert.match(text, /ldir_engine_syncs_total \d+/);
  assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status, 200);

  // drain by hand, from the command line.
  assert.equal(ldir(file, 'drain', '127.0.0.1:8080', '127.0.0.5').status, 0);
  const drained = JSON.parse(ldir('--json', file, 'status').stdout) as StatusReport;
  assert.equal(drained.virtualServices[0]?.reals[0]?.drained, true);
  assert.equal(ldir(file, 'undrain', '127.0.0.1:8080', '127.0.0.5').status, 0);
  // logfile: JSON lines in the configured file, transitions and kernel operations at info.
  const log = fs
    .readFileSync(path.join(tmp, 'ldir.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string });
  assert.ok(
    log.some((l) => l.msg === 'health transition'),
    'a transition is logged',
  );
  assert.ok(
    log.some((l) => l.msg === 'ldir started'),
    'the start is logged',
  );
  // monitorfile: one ldirectord-format line per check result.
  assert.match(
    fs.readFileSync(path.join(tmp, 'monitor.log'), 'utf8'),
    new RegExp(
      `^\\[\\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}\\] \\[\\d+\\] 127\\.0\\.0\\.5 ${port} \\[up\\] connected$`,
      'm',
    ),
  );

  // A broken config: reload exits 2 with the line, the daemon keeps running the old one.
  fs.writeFileSync(file, config('\tnonsense=1\n'));
  const bad = ldir(file, 'reload');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /site\.cf:\d+: .*nonsense/);
  assert.equal(readPidState(pidFile).state, 'running', 'a broken config never touches the running daemon');
  fs.writeFileSync(file, config('\tscheduler=rr\n'));
  assert.equal(ldir(file, 'reload').status, 0);

  // stop returns after the cleanup, with the daemon gone.
  const stopped = ldir(file, 'stop');
  assert.equal(stopped.status, 0, stopped.stderr);
  assert.equal(readPidState(pidFile).state, 'absent');
  assert.equal(ldir(file, 'status').status, 3);
  assert.equal(ldir(file, 'stop').status, 0, 'stop when stopped is fine');
  assert.equal(ldir(file, 'reload').status, 1, 'reload when stopped exits 1');
});

test('kill -9: status says stale pid file (exit 1); start takes over again', async () => {
  const file = path.join(tmp, 'crash.cf');
  fs.writeFileSync(file, config());
  const pidFile = pidFilePath('crash.cf', env['LDIR_RUN_DIR']);
  assert.equal(ldir('--ipvs=memory', file, 'start').status, 0);
  const pid = readPidState(pidFile);
  assert.equal(pid.state, 'running');
  if (pid.state !== 'running' || pid.pid === undefined) return;
  process.kill(pid.pid, 'SIGKILL');
  for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid.pid}`); i++) await sleep(20);
  const status = ldir(file, 'status');
  assert.equal(status.status, 1);
  assert.match(status.stderr, /stale pid file/);
  const again = ldir('--ipvs=memory', file, 'start');
  assert.equal(again.status, 0, again.stderr);
  assert.equal(ldir(file, 'status').status, 0);
  assert.equal(ldir(file, 'stop').status, 0);
});

test('a pid file naming another live process with "ldir" in its command line: stop leaves it alone, start starts', async () => {
  const file = path.join(tmp, 'notes.cf');
  fs.writeFileSync(file, config());
  const pidFile = pidFilePath('notes.cf', env['LDIR_RUN_DIR']);
  const notes = path.join(tmp, 'ldir-notes.txt');
  fs.writeFileSync(notes, 'notes\n');
  const tail = spawn('tail', ['-f', notes], { stdio: 'ignore' });
  try {
    fs.mkdirSync(path.dirname(pidFile), { recursive: true });
    fs.writeFileSync(pidFile, `${tail.pid}\n`);
    const status = ldir(file, 'status');
    assert.equal(status.status, 1, 'stale pid file');
    assert.equal(ldir(file, 'stop').status, 0, 'nothing to stop');
    assert.ok(fs.existsSync(`/proc/${tail.pid}`), 'stop did not signal the process the stale file names');
    const start = ldir('--ipvs=memory', file, 'start');
    assert.equal(start.status, 0, start.stderr);
    const running = readPidState(pidFile);
    assert.ok(running.state === 'running' && running.pid !== tail.pid, JSON.stringify(running));
    assert.equal(ldir(file, 'status').status, 0);
    assert.equal(ldir(file, 'stop').status, 0);
    assert.ok(fs.existsSync(`/proc/${tail.pid}`), 'the unrelated process lives on');
  } finally {
    tail.kill('SIGKILL');
  }
});

test('a symbolic link at the pid path: start refuses (exit 1, naming it) and the linked file is untouched', () => {
  const file = path.join(tmp, 'linked.cf');
  fs.writeFileSync(file, config());
  const pidFile = pidFilePath('linked.cf', env['LDIR_RUN_DIR']);
  const victim = path.join(tmp, 'victim.txt');
  fs.writeFileSync(victim, 'keep me\n');
  fs.mkdirSync(path.dirname(pidFile), { recursive: true });
  fs.symlinkSync(victim, pidFile);
  const start = ldir('--ipvs=memory', file, 'start');
  assert.equal(start.status, 1, start.stderr);
  assert.match(
    start.stderr,
    new RegExp(`pid file ${pidFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: it is a symbolic link`),
  );
  assert.equal(fs.readFileSync(victim, 'utf8'), 'keep me\n');
  assert.equal(ldir(file, 'status').status, 3, 'not running');
});

test('start reports failures: config errors exit 2 before detaching; a daemon that cannot start exits 1 with why', () => {
  const broken = path.join(tmp, 'broken.cf');
  fs.writeFileSync(broken, 'virtual=127.0.0.1:80\n\treal=127.0.0.5:80 gate\n\tbogus=yes\n');
  const r = ldir('--ipvs=memory', broken, 'start');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /broken\.cf:3:/);
  // This machine has no kernel IPVS: forcing netlink fails after the daemon detached, and start says why.
  const file = path.join(tmp, 'nonetlink.cf');
  fs.writeFileSync(file, config());
  const failed = ldir('--ipvs=netlink', file, 'start');
  if (failed.status === 0) {
    ldir(file, 'stop'); // a machine with IPVS: nothing to prove here
    return;
  }
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /IPVS|netlink/i);
  assert.equal(readPidState(pidFilePath('nonetlink.cf', env['LDIR_RUN_DIR'])).state, 'absent');
});

test('--timeout=SECONDS bounds how long start waits for the ready report; the daemon it gave up on still comes up', async () => {
  const file = path.join(tmp, 'slow.cf');
  fs.writeFileSync(file, config());
  // The daemon process (the one run with --foreground) blocks DELAY_MS before it even loads ldir: a slow host. Long
  // against --timeout=1, so that a busy CI machine's own slowness cannot blur which of the two ended the wait.
  const DELAY_MS = 6_000;
  const hook = path.join(tmp, 'slow-start.js');
  fs.writeFileSync(
    hook,
    `if (process.argv.includes('--foreground')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${DELAY_MS});\n`,
  );
  const slowEnv = { ...env, NODE_OPTIONS: `--require=${hook}` };
  const run = (...args: string[]): ReturnType<typeof ldirIn> => ldirIn(slowEnv, args);
  const pidFile = pidFilePath('slow.cf', env['LDIR_RUN_DIR']);

  const gaveUp = run('--ipvs=memory', '--timeout=1', file, 'start');
  assert.equal(gaveUp.status, 1, gaveUp.stderr);
  assert.match(gaveUp.stderr, /the daemon \(pid \d+\) did not report ready within 1000 ms/);
  assert.ok(gaveUp.ms < DELAY_MS - 100, `start returned after ${gaveUp.ms} ms, before the daemon could be ready`);
  for (let i = 0; i < 300 && readPidState(pidFile).state !== 'running'; i++) await sleep(100);
  assert.equal(readPidState(pidFile).state, 'running', 'the daemon start gave up on came up');
  assert.equal(ldir(file, 'stop').status, 0);

  const waited = run('--ipvs=memory', '--timeout=30', file, 'start');
  assert.equal(waited.status, 0, waited.stderr);
  assert.ok(waited.ms >= DELAY_MS, `returned once the daemon was ready (${waited.ms} ms)`);
  assert.equal(ldir('--timeout=5', file, 'status').status, 0);
  assert.equal(ldir('--timeout=20', file, 'stop').status, 0);

  const bad = ldir('--timeout=0', file, 'start');
  assert.equal(bad.status, 255, 'a usage error');
  assert.match(bad.stderr, /--timeout must be a number of seconds/);
});

test('alerts through the daemon: a real server going down is mailed to the SMTP relay; start-up is silent', async () => {
  const sink = await startSmtpSink();
  const realPort = await freePort('127.0.0.6');
  const real = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => real.listen(realPort, '127.0.0.6', r));
  const file = path.join(tmp, 'mail.cf');
  fs.writeFileSync(
    file,
    `checkinterval=1
checktimeout=1
metrics=no
emailalert="ops@example.org"
emailalertfrom="ldir@example.org"
smtp=127.0.0.1:${sink.port}
emailalertwindow=1
logfile="${path.join(tmp, 'mail.log')}"
virtual=127.0.0.1:8081
\treal=127.0.0.6:${realPort} masq 2
\tchecktype=connect
`,
  );
  try {
    assert.equal(ldir('--ipvs=memory', file, 'start').status, 0);
    for (let i = 0; i < 50; i++) {
      const r = JSON.parse(ldir('--json', file, 'status').stdout) as StatusReport;
      if (r.virtualServices[0]?.reals[0]?.health === 'up') break;
      await sleep(200);
    }
    await sleep(1500);
    assert.equal(sink.mails.length, 0, 'a real that simply comes up at start is not mailed');
    real.closeAllConnections();
    await new Promise((r) => real.close(r));
    assert.ok(await waitFor(() => sink.mails.length > 0, 15_000), 'the down transition is mailed');
    const mail = sink.mails[0];
    assert.deepEqual(mail?.to, ['ops@example.org']);
    assert.match(`${mail?.subject}\n${mail?.body}`, /127\.0\.0\.6/);
    assert.match(
      mail?.subject ?? '',
      /^Deleted real server: 127\.0\.0\.6:\d+ \(127\.0\.0\.1:8081\)$/,
      "ldirectord's subject for quiescent=no",
    );
  } finally {
    ldir(file, 'stop');
    await sink.stop();
    if (real.listening) await new Promise((r) => real.close(r));
  }
});
