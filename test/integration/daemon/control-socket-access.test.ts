// Who can reach the control socket (docs/security.md): the `ldir` binary (memory backend) as root, and clients run as
// another user (nobody, by the kernel's uid switch of a spawned process). Another uid is refused by the kernel, by
// the socket's own mode even where the directory lets it through; a socket directory that another user could write
// (or its parent) makes the daemon refuse to start, saying which path, its mode or owner, and what to do.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import { controlSocketPath } from '../../../src/daemon/protocol';
import { pidFilePath } from '../../../src/system/pid-file';
import { LDIR_MAIN, ldirBinary, type LdirBinaryRun } from '../../helpers/ldir-binary';
import { IN_CI } from '../../helpers/system';

const NAME = 'site.cf';
const isRoot = process.getuid?.() === 0;
const needsRoot = isRoot ? undefined : 'needs root: the daemon runs as root, and clients are started as nobody';
if (needsRoot && IN_CI) throw new Error(`control-socket-access: ${needsRoot} (CI must run it)`);

/** nobody's uid and gid, from the system's user database. */
function nobody(): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  assert.ok(Number.isInteger(uid) && uid > 0 && Number.isInteger(gid), 'the system has a user nobody');
  return { uid, gid };
}

let tmp = '';
let file = '';
before(() => {
  // The test's directory can be traversed by anyone, so that only what ldir sets decides what nobody can reach.
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-ctl-access-'));
  fs.chmodSync(tmp, 0o755);
  file = path.join(tmp, NAME);
  fs.writeFileSync(
    file,
    `checkinterval=1\nmetrics=no\nlogfile="${path.join(tmp, 'ldir.log')}"\nvirtual=127.0.0.1:80\n\treal=127.0.0.2:80 masq 3\n\tchecktype=on\n`,
  );
  fs.chmodSync(file, 0o644);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function envFor(socketDirectory: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LDIR_IPVS: 'memory',
    LDIR_RUN_DIR: path.join(tmp, 'run'),
    LDIR_SOCKET_DIR: socketDirectory,
    LDIR_STATE_DIR: path.join(tmp, 'state'),
  };
}

/** Runs `node ARGS` as nobody (the kernel switches uid and gid before node starts). */
function asNobody(args: readonly string[], env: NodeJS.ProcessEnv): Promise<LdirBinaryRun> {
  const { uid, gid } = nobody();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...args],
      { encoding: 'utf8', env: { ...env, HOME: '/' }, uid, gid, cwd: '/', timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
  });
}

/** A client as nobody that connects to `socketPath` and sends a status request; prints `connected` or the errno. */
const RAW_CLIENT = `
const net = require('node:net');
const s = net.createConnection(process.argv[1]);
s.on('connect', () => { s.write(JSON.stringify({ v: 1, id: 'x', type: 'status' }) + '\\n'); s.on('data', (d) => { console.log('answered ' + d.toString().slice(0, 80)); process.exit(0); }); });
s.on('error', (e) => { console.log(e.code); process.exit(0); });
`;

async function withDaemon(socketDirectory: string, fn: (socketPath: string) => Promise<void>): Promise<void> {
  const ldir = ldirBinary(() => envFor(socketDirectory));
  const started = await ldir(file, 'start');
  assert.equal(started.status, 0, `ldir start: ${started.stderr}`);
  try {
    await fn(controlSocketPath(NAME, socketDirectory));
  } finally {
    const stopped = await ldir(file, 'stop');
    assert.equal(stopped.status, 0, `ldir stop: ${stopped.stderr}`);
  }
}

test("a client of another uid is refused: by the socket's mode 0600 even in a directory anyone can enter", {
  skip: needsRoot,
  timeout: 120_000,
}, async () => {
  const socketDirectory = path.join(tmp, 'open-sock');
  fs.mkdirSync(socketDirectory, { mode: 0o755 });
  fs.chmodSync(socketDirectory, 0o755); // searchable and readable by all, writable by root only: accepted
  await withDaemon(socketDirectory, async (socketPath) => {
    assert.equal(fs.statSync(socketPath).mode & 0o777, 0o600);
    assert.equal(fs.statSync(socketPath).uid, 0);
    const root = await sendControlRequest(socketPath, { type: 'ping' });
    assert.ok(root.ok, 'root is answered');
    const raw = await asNobody(['-e', RAW_CLIENT, socketPath], envFor(socketDirectory));
    assert.equal(raw.stdout.trim(), 'EACCES', `nobody's connect to ${socketPath}: ${raw.stdout}${raw.stderr}`);
    // The ldir command run by that user says why, and changes nothing.
    const status = await asNobody([LDIR_MAIN, file, 'status'], envFor(socketDirectory));
    assert.notEqual(status.status, 0, `ldir status as nobody: ${status.stdout}`);
    assert.match(
      status.stderr,
      new RegExp(`permission denied on control socket ${socketPath.replace(/[.]/g, '\\.')} \\(it is for root only\\)`),
    );
    const stop = await asNobody([LDIR_MAIN, file, 'stop'], envFor(socketDirectory));
    assert.equal(stop.status, 1, `ldir stop as nobody must fail: ${stop.stdout}${stop.stderr}`);
    assert.match(stop.stderr, /not allowed to signal pid \d+ \(EPERM\): only root \(the daemon's user\) can stop it/);
    assert.ok((await sendControlRequest(socketPath, { type: 'ping' })).ok, "the daemon still runs after nobody's stop");
  });
});

test("a socket directory ldir creates is 0700: another uid cannot even reach the socket's name", {
  skip: needsRoot,
  timeout: 120_000,
}, async () => {
  const socketDirectory = path.join(tmp, 'new-sock');
  const umask = process.umask(0o022);
  process.umask(umask);
  await withDaemon(socketDirectory, async (socketPath) => {
    assert.equal(fs.statSync(socketDirectory).mode & 0o7777, 0o700);
    const raw = await asNobody(['-e', RAW_CLIENT, socketPath], envFor(socketDirectory));
    assert.equal(raw.stdout.trim(), 'EACCES', `nobody's connect to ${socketPath}: ${raw.stdout}${raw.stderr}`);
  });
});

/** `ldir start` with `socketDirectory`: it must fail, naming the path and `problem`, having started nothing. */
async function refusedStart(socketDirectory: string, problem: RegExp): Promise<LdirBinaryRun> {
  const ldir = ldirBinary(() => envFor(socketDirectory));
  const run = await ldir(file, 'start');
  if (run.status === 0) await ldir(file, 'stop'); // a daemon that started anyway must not outlive the test
  assert.equal(run.status, 1, `ldir start with ${socketDirectory}: exit ${run.status}\n${run.stderr}`);
  assert.match(run.stderr, problem);
  assert.equal(fs.existsSync(controlSocketPath(NAME, socketDirectory)), false, 'no socket published');
  const pid = pidFilePath(NAME, path.join(tmp, 'run'));
  assert.ok(!fs.existsSync(pid) || fs.readFileSync(pid, 'utf8').trim() === '', 'no daemon left running');
  return run;
}

const quoted = (p: string): string => p.replace(/[.]/g, '\\.');

test('an existing socket directory writable by others (0777) is refused with its path, its mode and the fix', {
  skip: needsRoot,
  timeout: 120_000,
}, async () => {
  const socketDirectory = path.join(tmp, 'loose-sock');
  fs.mkdirSync(socketDirectory);
  fs.chmodSync(socketDirectory, 0o777);
  await refusedStart(
    socketDirectory,
    new RegExp(
      `control socket directory ${quoted(socketDirectory)} has mode 0777: .*Run "chmod 0700 ${quoted(socketDirectory)}", or set LDIR_SOCKET_DIR`,
    ),
  );
  assert.equal(fs.statSync(socketDirectory).mode & 0o7777, 0o777, 'a directory ldir did not create keeps its mode');
  // Group-writable is refused too; once tightened as the message says, the daemon starts there.
  fs.chmodSync(socketDirectory, 0o770);
  await refusedStart(socketDirectory, /has mode 0770: its group could replace the control socket/);
  fs.chmodSync(socketDirectory, 0o700);
  await withDaemon(socketDirectory, async (socketPath) => {
    assert.ok((await sendControlRequest(socketPath, { type: 'ping' })).ok);
  });
});

test('a socket directory owned by another user is refused, and so is one under a parent anyone can write', {
  skip: needsRoot,
  timeout: 120_000,
}, async () => {
  const { uid } = nobody();
  const owned = path.join(tmp, 'nobodys-sock');
  fs.mkdirSync(owned, { mode: 0o700 });
  fs.chownSync(owned, uid, nobody().gid);
  await refusedStart(
    owned,
    new RegExp(
      `control socket directory ${quoted(owned)} is owned by uid ${uid}, not by root \\(uid 0\\): .*Run "chown root:root ${quoted(owned)} && chmod 0700 ${quoted(owned)}"`,
    ),
  );

  const parent = path.join(tmp, 'open-parent');
  fs.mkdirSync(parent);
  fs.chmodSync(parent, 0o777);
  const below = path.join(parent, 'sock');
  await refusedStart(
    below,
    new RegExp(
      `parent of the control socket directory ${quoted(parent)} has mode 0777: .*"chmod go-w ${quoted(parent)}" \\(or "chmod \\+t`,
    ),
  );
  assert.equal(fs.existsSync(below), false, 'nothing is created under an unsafe parent');

  // A sticky parent (as /tmp) is fine: no one else can rename or remove what root puts in it.
  fs.chmodSync(parent, 0o1777);
  await withDaemon(below, async (socketPath) => {
    assert.equal(fs.statSync(below).mode & 0o7777, 0o700);
    assert.ok((await sendControlRequest(socketPath, { type: 'ping' })).ok);
  });
});
