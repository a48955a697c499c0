// `execute=` instances run with their parent's backend and debug flag, and a child that cannot start fails the
// parent's `start` (issue 19, item 7). Before, a parent started with `--ipvs=memory` started its children with the
// default `auto`: on a director with IPVS a dry run programmed the real kernel; elsewhere the child failed and
// `start` still said 0. The real `ldir` binary, memory backend, real servers on loopback.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StatusReport } from '../../../src/daemon/protocol';
import { pidFilePath, readPidState } from '../../../src/system/pid-file';
import { ldirBinary } from '../../helpers/ldir-binary';
import { freePort } from '../../helpers/system';
import { eventually } from '../../helpers/wait';

let tmp = '';
let env: NodeJS.ProcessEnv = {};
let server: http.Server | undefined;
let port = 0;
const ldir = ldirBinary(() => env, 120_000);

/** A configuration of one virtual on 127.0.0.1:`vport` with the loopback real, its own metrics port, and `extra`. */
async function config(vport: number, extra: readonly string[] = []): Promise<string> {
  return [
    'checkinterval=1',
    'checktimeout=1',
    `metrics=127.0.0.1:${await freePort('127.0.0.1')}`,
    ...extra,
    `virtual=127.0.0.1:${vport}`,
    `\treal=127.0.0.5:${port} masq 3`,
    '\tchecktype=connect',
    '',
  ].join('\n');
}

const write = (name: string, text: string): string => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
};
const pidState = (name: string): ReturnType<typeof readPidState> =>
  readPidState(pidFilePath(name, env['LDIR_RUN_DIR']));
const cmdline = (pid: number): string[] => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-execute-'));
  env = {
    ...process.env,
    LDIR_RUN_DIR: path.join(tmp, 'run'),
    LDIR_SOCKET_DIR: path.join(tmp, 'sock'),
    LDIR_STATE_DIR: path.join(tmp, 'state'),
  };
  delete env['LDIR_IPVS'];
  port = await freePort('127.0.0.5');
  server = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => server?.listen(port, '127.0.0.5', r));
});

after(async () => {
  for (const name of ['parent.cf', 'child.cf', 'parent2.cf', 'first.cf']) {
    if (fs.existsSync(path.join(tmp, name)) && pidState(name).state === 'running')
      await ldir(path.join(tmp, name), 'stop');
  }
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('execute= children', () => {
  test('inherit --ipvs=memory and -d, and stop with their parent', async () => {
    const child = write('child.cf', await config(8082));
    const parent = write('parent.cf', await config(8081, [`execute=${child}`]));
    const r = await ldir('-d', '--ipvs=memory', parent, 'start');
    assert.equal(r.status, 0, r.stderr);
    const state = pidState('child.cf');
    assert.equal(state.state, 'running', `the child runs once the parent's start returned: ${r.stderr}`);
    const pid = state.state === 'running' ? (state.pid as number) : 0;
    const argv = cmdline(pid);
    assert.ok(argv.includes('--ipvs=memory'), `the child daemon runs with the parent's backend: ${argv.join(' ')}`);
    assert.ok(argv.includes('-d'), `and its debug flag: ${argv.join(' ')}`);
    const status = await ldir('--json', child, 'status');
    assert.equal(status.status, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as StatusReport).daemon.backend.name, 'memory');
    assert.equal((await ldir(parent, 'stop')).status, 0);
    await eventually(
      'the child to stop with its parent',
      () => (pidState('child.cf').state === 'absent' ? true : undefined),
      30_000,
      100,
    );
  });

  test("a child that cannot start fails the parent's start, with a message naming it and its error; nothing stays running", async () => {
    const first = write('first.cf', await config(8083));
    const broken = write('broken-child.cf', `${await config(8084)}\tbogus=1\n`);
    const parent = write('parent2.cf', await config(8085, [`execute=${first}`, `execute=${broken}`]));
    const r = await ldir('--ipvs=memory', parent, 'start');
    assert.notEqual(r.status, 0, `the parent's start fails: ${r.stderr}`);
    assert.match(r.stderr, /execute= instance .*broken-child\.cf did not start \(exit 2\)/);
    assert.match(
      r.stderr,
      /broken-child\.cf:\d+: unknown directive "bogus"/,
      "the child's own error is in the message",
    );
    assert.equal(pidState('parent2.cf').state, 'absent', 'the parent is not running');
    assert.equal(pidState('first.cf').state, 'absent', 'the child it had started was stopped again');
    assert.equal(pidState('broken-child.cf').state, 'absent');
  });
});
