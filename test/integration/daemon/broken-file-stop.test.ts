// `stop`, `status` and `ping` of a running daemon whose configuration file was broken (or removed) after it started
// (issue 19, item 3): the daemon is found by the configuration's name, never by parsing the file, so a cluster
// manager can always stop it; the broken file is reported as a warning. The real `ldir` binary, memory backend, a
// real server on loopback. Heartbeat's `ldirectord CONFIG stop|status` is the same code (test/integration/ha/).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { processGone } from '../../../src/cli/daemon-presence';
import type { StatusReport } from '../../../src/daemon/protocol';
import { pidFilePath, readPidState } from '../../../src/system/pid-file';
import { ldirBinary } from '../../helpers/ldir-binary';
import { freePort } from '../../helpers/system';
import { eventually } from '../../helpers/wait';

let tmp = '';
let env: NodeJS.ProcessEnv = {};
let server: http.Server | undefined;
let port = 0;
let metricsPort = 0;
const ldir = ldirBinary(() => env);

function config(): string {
  return `checkinterval=1\nchecktimeout=1\nmetrics=127.0.0.1:${metricsPort}\nvirtual=127.0.0.1:8080\n\treal=127.0.0.5:${port} masq 3\n\tchecktype=connect\n`;
}

/** Starts the daemon of `file` and waits until its real is up. */
async function startUp(file: string): Promise<number> {
  fs.writeFileSync(file, config());
  const r = await ldir('--ipvs=memory', file, 'start');
  assert.equal(r.status, 0, r.stderr);
  await eventually(
    'the real to be up',
    async () => {
      const s = await ldir('--json', file, 'status');
      return s.status === 0 && (JSON.parse(s.stdout) as StatusReport).virtualServices[0]?.reals[0]?.health === 'up'
        ? true
        : undefined;
    },
    20_000,
    200,
  );
  const pid = readPidState(pidFilePath(path.basename(file), env['LDIR_RUN_DIR']));
  assert.equal(pid.state, 'running');
  return pid.state === 'running' ? (pid.pid as number) : 0;
}

/** A live process (an exited daemon may stay a zombie for a while: its parent is gone and init reaps it late). */
const alive = (pid: number): boolean => !processGone(pid);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-broken-stop-'));
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
  for (const name of ['site.cf', 'gone.cf']) {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, config());
    await ldir(file, 'stop');
  }
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('a running daemon whose file broke after it started', () => {
  test('status shows its state (exit 0), ping says healthy, stop stops it (exit 0); each warns that the file is broken', async () => {
    const file = path.join(tmp, 'site.cf');
    const pid = await startUp(file);
    fs.appendFileSync(file, 'bogus line here\n');
    const line = fs.readFileSync(file, 'utf8').split('\n').length - 1;
    const where = new RegExp(`warning: .*site\\.cf:${line}: unknown directive "bogus line here"`);

    const status = await ldir(file, 'status');
    assert.equal(status.status, 0, `status of a running daemon: ${status.stderr}`);
    assert.match(status.stderr, new RegExp(`running with pid: ${pid}`));
    assert.match(status.stdout, /127\.0\.0\.5/, 'its state is shown');
    assert.match(status.stderr, where, 'the broken file is a warning');
    const json = await ldir('--json', file, 'status');
    assert.equal(json.status, 0, json.stderr);
    assert.equal(
      (JSON.parse(json.stdout) as StatusReport).virtualServices[0]?.reals[0]?.health,
      'up',
      'stdout is the JSON report only',
    );
    const ping = await ldir(file, 'ping');
    assert.equal(ping.status, 0, ping.stderr);

    const stop = await ldir(file, 'stop');
    assert.equal(stop.status, 0, `stop: ${stop.stderr}`);
    assert.match(stop.stderr, where);
    assert.equal(alive(pid), false, 'stop returns once the daemon exited');
    assert.equal(readPidState(pidFilePath('site.cf', env['LDIR_RUN_DIR'])).state, 'absent');

    // Stopped, the file still broken: status 3 (stopped), stop 0 (nothing to do), start 2 (the file is needed there).
    const stopped = await ldir(file, 'status');
    assert.equal(stopped.status, 3, stopped.stderr);
    assert.match(stopped.stderr, where);
    assert.equal((await ldir(file, 'stop')).status, 0);
    const start = await ldir('--ipvs=memory', file, 'start');
    assert.equal(start.status, 2, start.stderr);
    assert.doesNotMatch(start.stderr, /warning: .*bogus/, 'start reports it as the error it is there');
  });

  test('a removed file: the daemon is still found by its configuration name, and stopped', async () => {
    const file = path.join(tmp, 'gone.cf');
    const pid = await startUp(file);
    fs.rmSync(file);
    const status = await ldir(file, 'status');
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stderr, /warning: configuration file .*gone\.cf not found/);
    const stop = await ldir(file, 'stop');
    assert.equal(stop.status, 0, stop.stderr);
    assert.equal(alive(pid), false);
  });

  test('reload and restart still refuse a broken file, leaving the daemon alone', async () => {
    const file = path.join(tmp, 'site.cf');
    const pid = await startUp(file);
    fs.appendFileSync(file, 'bogus line here\n');
    for (const action of ['reload', 'restart']) {
      const r = await ldir('--ipvs=memory', file, action);
      assert.equal(r.status, 2, `${action}: ${r.stderr}`);
      assert.ok(alive(pid), `${action} left the daemon running`);
    }
    assert.equal((await ldir(file, 'stop')).status, 0);
    assert.equal(alive(pid), false);
  });
});
