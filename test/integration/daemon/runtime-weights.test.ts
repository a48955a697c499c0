// The `ldir` binary (memory backend) with real HTTP servers on 127.0.0.x: `ldir weight` and `ldir drain` survive
// kill -9, stop and start, and `ldir restart`; `ldir status` (text and JSON) and /metrics show the runtime weight; a
// reload that removes a real drops its weight (the state file is rewritten); `reset` gives back the configured one.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import { controlSocketPath, type StatusReport } from '../../../src/daemon/protocol';
import { readStateFile, stateFilePath } from '../../../src/daemon/state-file';
import { pidFilePath, readPidState } from '../../../src/system/pid-file';
import { ldirBinary } from '../../helpers/ldir-binary';
import { freePort } from '../../helpers/system';
import { eventually, sleep } from '../../helpers/wait';

const REALS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const VIP = 'tcp:127.0.0.1:80';
let env: NodeJS.ProcessEnv = {};
let tmp = '';
let port = 0;
let metricsPort = 0;
const servers: http.Server[] = [];

const ldir = ldirBinary(() => env);

function configText(reals: readonly string[]): string {
  return `checkinterval=1
checktimeout=1
metrics=127.0.0.1:${metricsPort}
logfile="${path.join(tmp, 'ldir.log')}"

virtual=127.0.0.1:80
${reals.map((r) => `\treal=${r}:${port} masq 5`).join('\n')}
\tchecktype=connect
\tscheduler=wrr
`;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-weight-cli-'));
  env = {
    ...process.env,
    LDIR_RUN_DIR: path.join(tmp, 'run'),
    LDIR_SOCKET_DIR: path.join(tmp, 'sock'),
    LDIR_STATE_DIR: path.join(tmp, 'state'),
  };
  port = await freePort('127.0.0.2');
  metricsPort = await freePort('127.0.0.1');
  for (const address of REALS) {
    const server = http.createServer((_q, r) => r.end('ok'));
    await new Promise<void>((r) => server.listen(port, address, r));
    servers.push(server);
  }
});
after(async () => {
  await ldir(path.join(tmp, 'site.cf'), 'stop');
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('ldir weight and drain through the binary: kill -9, stop and start, restart, reload, reset', async () => {
  const file = path.join(tmp, 'site.cf');
  fs.writeFileSync(file, configText(REALS));
  const socketPath = controlSocketPath('site.cf', env['LDIR_SOCKET_DIR']);
  const statePath = stateFilePath('site.cf', env['LDIR_STATE_DIR']);
  const status = async (): Promise<StatusReport> => {
    const r = await sendControlRequest(socketPath, { type: 'status' });
    assert.ok(r.ok, JSON.stringify(r));
    return r.result;
  };
  /** Per real: `address=kernel weight` (`-` absent), `/override` when it has one, `/drained` when drained. */
  const reals = async (): Promise<string> =>
    (await status()).virtualServices[0]?.reals
      .map(
        (r) =>
          `${r.address}=${r.kernelWeight ?? '-'}${r.override !== null && r.override !== undefined ? `/w${r.override}` : ''}${r.drained ? '/drained' : ''}`,
      )
      .join(' ') ?? '';
  let lastReals = '';
  const settle = (want: string, what: string): Promise<true> =>
    eventually(
      what,
      async () => ((lastReals = await reals()) === want ? true : undefined),
      15_000,
      50,
      () => `reals: ${lastReals}`,
    );
  const real = (address: string): string => `${address}:${port}`;
  /** Log lines of the daemon with pid `pid` that set a weight on a real (add or edit of a destination). */
  const weightWrites = (pid: number): string[] =>
    fs
      .readFileSync(path.join(tmp, 'ldir.log'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['pid'] === pid && /^(add|edit)-destination .* weight \d+$/.test(String(r['msg'])))
      .map((r) =>
        String(r['msg'])
          .replace(/^(add|edit)-destination tcp:127\.0\.0\.1:80 /, '')
          .replace(`:${port}`, ''),
      );
  const daemonPid = (): number => {
    const state = readPidState(pidFilePath('site.cf', env['LDIR_RUN_DIR']));
    assert.ok(state.state === 'running' && state.pid !== undefined, JSON.stringify(state));
    return state.pid;
  };

  const started = await ldir('--ipvs=memory', file, 'start');
  assert.equal(started.status, 0, started.stderr);
  await settle('127.0.0.2=5 127.0.0.3=5 127.0.0.4=5', 'all three up');
  assert.equal((await ldir('--ipvs=memory', file, 'restart')).status, 0);
  await settle('127.0.0.2=5 127.0.0.3=5 127.0.0.4=5', 'all three up after a restart');
  assert.equal(fs.existsSync(statePath), false, 'nothing set by hand: no state file, a restart included');

  // A lower weight for .2, .3 drained: both in force at once, in the state file, in status and metrics.
  const weight = await ldir(file, 'weight', '127.0.0.1:80', '127.0.0.2', '2');
  assert.equal(weight.status, 0, weight.stderr);
  assert.equal(weight.stdout, `weight of ${real('127.0.0.2')} in ${VIP} set to 2 (configured 5)\n`);
  assert.equal((await ldir(file, 'drain', VIP, '127.0.0.3')).status, 0);
  assert.equal(await reals(), '127.0.0.2=2/w2 127.0.0.3=0/drained 127.0.0.4=5');
  assert.deepEqual(readStateFile(statePath), {
    state: 'read',
    settings: [
      { virtualId: VIP, realKey: real('127.0.0.2'), weight: 2 },
      { virtualId: VIP, realKey: real('127.0.0.3'), drained: true },
    ],
  });
  const text = await ldir(file, 'status');
  assert.equal(text.status, 0, text.stderr);
  assert.match(
    text.stdout,
    new RegExp(`^  ${real('127.0.0.2').replace(/\./g, '\\.')} +masq +up +5/2 +\\S+ +WEIGHT 2 `, 'm'),
  );
  assert.match(
    text.stdout,
    new RegExp(`^  ${real('127.0.0.3').replace(/\./g, '\\.')} +masq +up +5/0 +\\S+ +DRAINED `, 'm'),
  );
  assert.match(text.stdout, /^flag WEIGHT n = runtime weight \(ldir weight VIRTUAL REAL N; reset to undo\)$/m);
  const json = JSON.parse((await ldir('--json', file, 'status')).stdout) as StatusReport;
  assert.deepEqual(
    json.virtualServices[0]?.reals.map((r) => r.override),
    [2, null, null],
  );
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(
    metrics,
    new RegExp(`ldir_real_server_weight_override\\{virtual="${VIP}",real="${real('127.0.0.2')}"\\} 2`),
  );
  assert.doesNotMatch(
    metrics,
    new RegExp(`ldir_real_server_weight_override\\{virtual="${VIP}",real="${real('127.0.0.4')}"\\}`),
  );

  // kill -9, then start: both hold from the new daemon's first pass; it never writes .2 at 5 nor .3 above 0.
  const killed = daemonPid();
  process.kill(killed, 'SIGKILL');
  for (let i = 0; i < 250 && fs.existsSync(`/proc/${killed}`); i++) await sleep(20);
  const again = await ldir('--ipvs=memory', file, 'start');
  assert.equal(again.status, 0, again.stderr);
  const restored = daemonPid();
  assert.notEqual(restored, killed);
  // The memory backend's table died with the process. The settings are in force from the first pass, before any
  // check has answered; a real is then either not in the table yet or in it at its right weight (a connect check on
  // loopback may already have answered by the time `start` returns), never at another one.
  const first = await reals();
  assert.match(first, /^127\.0\.0\.2=(-|2)\/w2 127\.0\.0\.3=(-|0)\/drained 127\.0\.0\.4=(-|5)$/, first);
  await settle('127.0.0.2=2/w2 127.0.0.3=0/drained 127.0.0.4=5', 'the table again, with the weight and the drain');
  assert.deepEqual(
    weightWrites(restored).sort(),
    ['127.0.0.2 weight 2', '127.0.0.3 weight 0', '127.0.0.4 weight 5'],
    'each real written once, at its right weight',
  );

  // stop and start (cleanstop: the table is purged in between): the same.
  assert.equal((await ldir(file, 'stop')).status, 0);
  assert.equal((await ldir('--ipvs=memory', file, 'start')).status, 0);
  await settle('127.0.0.2=2/w2 127.0.0.3=0/drained 127.0.0.4=5', 'after stop and start');
  assert.deepEqual(weightWrites(daemonPid()).sort(), [
    '127.0.0.2 weight 2',
    '127.0.0.3 weight 0',
    '127.0.0.4 weight 5',
  ]);

  // restart (hand-over to a new daemon): carried over.
  const before = daemonPid();
  const restarted = await ldir('--ipvs=memory', file, 'restart');
  assert.equal(restarted.status, 0, restarted.stderr);
  assert.notEqual(daemonPid(), before);
  await settle('127.0.0.2=2/w2 127.0.0.3=0/drained 127.0.0.4=5', 'after a restart');

  // A reload that removes .2 drops its runtime weight (the file is rewritten); the drain of .3 stays.
  fs.writeFileSync(file, configText(['127.0.0.3', '127.0.0.4']));
  assert.equal((await ldir(file, 'reload')).status, 0);
  assert.deepEqual(readStateFile(statePath), {
    state: 'read',
    settings: [{ virtualId: VIP, realKey: real('127.0.0.3'), drained: true }],
  });
  fs.writeFileSync(file, configText(REALS));
  assert.equal((await ldir(file, 'reload')).status, 0);
  await settle('127.0.0.2=5 127.0.0.3=0/drained 127.0.0.4=5', '.2 back at its configured weight');

  // Runtime weight 0, then reset; undrain: everything as configured, the file empty of settings.
  assert.equal((await ldir(file, 'weight', VIP, '127.0.0.4', '0')).status, 0);
  assert.equal(await reals(), '127.0.0.2=5 127.0.0.3=0/drained 127.0.0.4=0/w0');
  const reset = await ldir('--json', file, 'weight', VIP, '127.0.0.4', 'reset');
  assert.equal(reset.status, 0, reset.stderr);
  assert.deepEqual(JSON.parse(reset.stdout), {
    virtual: VIP,
    real: real('127.0.0.4'),
    configuredWeight: 5,
    weight: null,
    previous: 0,
    changed: true,
  });
  assert.equal((await ldir(file, 'undrain', VIP, '127.0.0.3')).status, 0);
  assert.equal(await reals(), '127.0.0.2=5 127.0.0.3=5 127.0.0.4=5');
  assert.deepEqual(readStateFile(statePath), { state: 'read', settings: [] });

  // Errors: an unknown real (exit 1, as drain), a weight out of range (usage, 255), no daemon (exit 1).
  const unknown = await ldir(file, 'weight', VIP, '127.0.0.9', '1');
  assert.equal(unknown.status, 1);
  assert.match(
    unknown.stderr,
    /127\.0\.0\.9 is not a real server of it: virtual service tcp:127\.0\.0\.1:80 \(LDIR_ERR_UNKNOWN_TARGET\)/,
  );
  const range = await ldir(file, 'weight', VIP, '127.0.0.2', '-3');
  assert.equal(range.status, 255);
  assert.match(range.stderr, /^ldir: a weight is an integer from 0 to 2147483647, or reset, not -3\n/);
  assert.equal((await ldir(file, 'stop')).status, 0);
  const stopped = await ldir(file, 'weight', VIP, '127.0.0.2', '1');
  assert.equal(stopped.status, 1);
  assert.match(stopped.stderr, /not running/);
});
