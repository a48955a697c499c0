// The `ldir` binary (memory backend, a real on 127.0.0.x) with checks whose steady state runs on the native engine:
// the rounds JS never sees one by one (quiet rounds) are still in /metrics, counted by the engine and taken at each
// scrape, durations included; nothing runs for them in between.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadNativeAddon } from '../../../src/native/addon';
import { freePort, IN_CI } from '../../helpers/system';
import { eventually, sleep } from '../../helpers/wait';
import { parseExposition, value } from '../../unit/metrics/exposition';

const MAIN = path.resolve(__dirname, '../../../src/main.js');
let tmp = '';
let env: NodeJS.ProcessEnv = {};
let server: http.Server | undefined;
let port = 0;
let metricsPort = 0;
let file = '';
let requests = 0;

function ldir(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const addonBuilt = ((): boolean => {
  try {
    loadNativeAddon();
    return true;
  } catch {
    return false;
  }
})();

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-quiet-metrics-'));
  env = {
    ...process.env,
    LDIR_RUN_DIR: path.join(tmp, 'run'),
    LDIR_SOCKET_DIR: path.join(tmp, 'sock'),
    LDIR_STATE_DIR: path.join(tmp, 'state'),
  };
  port = await freePort('127.0.0.7');
  metricsPort = await freePort('127.0.0.1');
  server = http.createServer((_q, r) => {
    requests++;
    r.end('all ok');
  });
  await new Promise<void>((r) => server?.listen(port, '127.0.0.7', r));
  file = path.join(tmp, 'quiet.cf');
  fs.writeFileSync(
    file,
    [
      'checkinterval=1',
      'checktimeout=2',
      `metrics=127.0.0.1:${metricsPort}`,
      `logfile="${path.join(tmp, 'ldir.log')}"`,
      'virtual=127.0.0.1:8090',
      `\treal=127.0.0.7:${port} masq 2`,
      '\tchecktype=negotiate',
      '\tservice=http',
      '\trequest="/"',
      '\treceive="ok"',
      '',
    ].join('\n'),
  );
});
after(async () => {
  if (file && fs.existsSync(file)) ldir(file, 'stop');
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('quiet rounds of offloaded checks are in /metrics at every scrape, durations included', {
  skip: !addonBuilt && !IN_CI ? 'native addon not built' : false,
}, async () => {
  assert.ok(addonBuilt, 'native addon built (CI builds it)');
  const started = ldir('--ipvs=memory', file, 'start');
  assert.equal(started.status, 0, started.stderr);
  const labels = { virtual: 'tcp:127.0.0.1:8090', real: `127.0.0.7:${port}` };
  const scrape = async (): Promise<{ success: number; count: number; sum: number; served: number }> => {
    const served = requests; // read first: the scrape cannot count a round the server has not answered yet
    const e = parseExposition(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
    return {
      success: value(e, 'ldir_real_server_checks_total', { ...labels, result: 'success' }) ?? 0,
      count: value(e, 'ldir_real_server_check_duration_seconds_count', labels) ?? 0,
      sum: value(e, 'ldir_real_server_check_duration_seconds_sum', labels) ?? 0,
      served,
    };
  };
  await eventually(
    'the real up in /metrics',
    async () => {
      const e = parseExposition(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
      return value(e, 'ldir_real_server_up', labels) === 1 ? true : undefined;
    },
    15_000,
    200,
  );
  const first = await scrape();
  await sleep(3_500);
  const second = await scrape();
  // One round a second; only the first came to JS one by one: the others were counted by the engine.
  assert.ok(
    second.success - first.success >= 2,
    `checks_total grew by ${second.success - first.success} in 3.5 s (${JSON.stringify([first, second])})`,
  );
  assert.equal(second.count, second.success, 'every round counted once in the duration histogram');
  assert.ok(
    second.success <= second.served,
    `no more rounds counted (${second.success}) than the server answered (${second.served})`,
  );
  assert.ok(
    second.success >= second.served - 2,
    `every answered round counted (${second.success} of ${second.served}; one may be in flight)`,
  );
  assert.ok(
    second.sum > 0 && second.sum < second.count * 2,
    `duration sum ${second.sum} s for ${second.count} rounds under the 2 s timeout`,
  );
  assert.equal(ldir(file, 'stop').status, 0);
});
