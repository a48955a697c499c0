// The `ldir` binary (memory backend) with real HTTP servers on 127.0.0.x and slowstart=4: a server that comes up gets
// its weight in steps of at least a second (seen in `ldir status` as the kernel weight and a SLOWSTART flag, and in
// /metrics), and a reload that keeps its weight does not restart the ramp.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import { controlSocketPath, type RealStatus } from '../../../src/daemon/protocol';
import { ldirBinary } from '../../helpers/ldir-binary';
import { freePort } from '../../helpers/system';
import { eventually } from '../../helpers/wait';

let env: NodeJS.ProcessEnv = {};
let tmp = '';
let port = 0;
let metricsPort = 0;
let file = '';
const servers = new Map<string, http.Server>();

const ldir = ldirBinary(() => env);

function serve(address: string): Promise<void> {
  const server = http.createServer((_req, res) => res.end('alive\n'));
  servers.set(address, server);
  return new Promise((resolve) => server.listen(port, address, () => resolve()));
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-slowstart-'));
  env = { ...process.env, LDIR_RUN_DIR: path.join(tmp, 'run'), LDIR_SOCKET_DIR: path.join(tmp, 'sock') };
  port = await freePort('127.0.0.2');
  metricsPort = await freePort('127.0.0.1');
  await serve('127.0.0.2');
  file = path.join(tmp, 'site.cf');
});
after(async () => {
  await ldir(file, 'stop');
  for (const s of servers.values()) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('slowstart=4: a server that comes up ramps 1 → 8 in steps of at least a second; status and metrics show it', async () => {
  const config = (scheduler: string): string => `checkinterval=1
checktimeout=1
negotiatetimeout=1
quiescent=yes
metrics=127.0.0.1:${metricsPort}
logfile="${path.join(tmp, 'ldir.log')}"

virtual=127.0.0.1:80
\treal=127.0.0.2:${port} masq 8
\treal=127.0.0.3:${port} masq 8
\tchecktype=negotiate
\tservice=http
\trequest="/"
\treceive="alive"
\tscheduler=${scheduler}
\tslowstart=4
`;
  fs.writeFileSync(file, config('wlc'));
  const started = await ldir('--ipvs=memory', file, 'start');
  assert.equal(started.status, 0, started.stderr);
  const socketPath = controlSocketPath('site.cf', env['LDIR_SOCKET_DIR']);
  const real = async (address: string): Promise<RealStatus | undefined> => {
    const r = await sendControlRequest(socketPath, { type: 'status' });
    assert.ok(r.ok);
    return r.result.virtualServices[0]?.reals.find((x) => x.address === address);
  };
  // A cold start ramps too (an empty table: the first server would otherwise take every new connection alone).
  await eventually(
    '127.0.0.2 at 8',
    async () => ((await real('127.0.0.2'))?.kernelWeight === 8 ? true : undefined),
    20_000,
  );

  await serve('127.0.0.3');
  const seen: Array<{ at: number; weight: number | null }> = [];
  let flag = '';
  let metric = '';
  await eventually(
    '127.0.0.3 ramped to 8',
    async () => {
      const r = await real('127.0.0.3');
      const weight = r?.kernelWeight ?? null;
      if (seen.at(-1)?.weight !== weight) seen.push({ at: Date.now(), weight });
      if (r?.slowStart && flag === '') {
        flag = (await ldir(file, 'status')).stdout;
        metric = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      }
      return weight === 8 ? true : undefined;
    },
    30_000,
    50,
  );
  const steps = seen.filter((s) => s.weight !== null && s.weight > 0);
  assert.ok(steps.length >= 4, `at least four steps: ${JSON.stringify(seen)}`);
  assert.ok((steps[0]?.weight ?? 99) <= 2, `begins low: ${JSON.stringify(seen)}`);
  for (let i = 1; i < steps.length; i++) {
    const [a, b] = [steps[i - 1], steps[i]];
    assert.ok(a && b && b.weight! > a.weight!, `only up: ${JSON.stringify(seen)}`);
    assert.ok(a && b && b.at - a.at >= 800, `a step per second at most: ${JSON.stringify(seen)}`);
  }
  assert.match(flag, /127\.0\.0\.3:\d+ .*SLOWSTART \d\/8/);
  assert.match(
    metric,
    /ldir_real_server_slow_start_target_weight\{virtual="tcp:127\.0\.0\.1:80",real="127\.0\.0\.3:\d+"\} 8/,
  );
  assert.equal((await real('127.0.0.3'))?.slowStart, null, 'the ramp is over');

  // Stop it, start it again, reload (scheduler only) in the middle of the new ramp: the ramp goes on, not over.
  const s3 = servers.get('127.0.0.3');
  s3?.closeAllConnections();
  await new Promise((r) => s3?.close(r));
  await eventually(
    '127.0.0.3 at 0',
    async () => ((await real('127.0.0.3'))?.kernelWeight === 0 ? true : undefined),
    15_000,
  );
  await serve('127.0.0.3');
  const mid = await eventually(
    'ramping',
    async () => {
      const r = await real('127.0.0.3');
      return r?.slowStart && r.slowStart.weight >= 4 ? r.slowStart.weight : undefined;
    },
    15_000,
  );
  fs.writeFileSync(file, config('wrr'));
  const reloaded = await ldir(file, 'reload');
  assert.equal(reloaded.status, 0, reloaded.stderr);
  const after = await real('127.0.0.3');
  assert.ok((after?.kernelWeight ?? 0) >= mid, `the reload kept the ramp's step (${mid} → ${after?.kernelWeight})`);
  await eventually(
    '127.0.0.3 at 8 again',
    async () => ((await real('127.0.0.3'))?.kernelWeight === 8 ? true : undefined),
    15_000,
  );
  const stopped = await ldir(file, 'stop');
  assert.equal(stopped.status, 0, stopped.stderr);
});
