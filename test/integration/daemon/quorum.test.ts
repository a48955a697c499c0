// The `ldir` binary (memory backend) with real HTTP servers on 127.0.0.x: a virtual with quorum=75% (3 of 4) and
// hysteresis=1 loses and regains its quorum as servers stop and start; the commands really run (a script records its
// argv), the fallback comes in below the quorum while the real left keeps weight 0, and `ldir status` (text and JSON)
// and /metrics say so.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import { controlSocketPath, type StatusReport } from '../../../src/daemon/protocol';
import { ldirBinary } from '../../helpers/ldir-binary';
import { freePort } from '../../helpers/system';
import { eventually, sleep } from '../../helpers/wait';

let env: NodeJS.ProcessEnv = {};

const ldir = ldirBinary(() => env);

const REALS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
let port = 0;
let metricsPort = 0;
const servers = new Map<string, http.Server>();
let tmp = '';

function serve(address: string): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end('alive\n'));
  return new Promise((resolve) => server.listen(port, address, () => resolve(server)));
}

async function stopServer(address: string): Promise<void> {
  const s = servers.get(address);
  servers.delete(address);
  if (!s) return;
  s.closeAllConnections();
  await new Promise((r) => s.close(r));
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-quorum-'));
  env = {
    ...process.env,
    LDIR_RUN_DIR: path.join(tmp, 'run'),
    LDIR_SOCKET_DIR: path.join(tmp, 'sock'),
    LDIR_STATE_DIR: path.join(tmp, 'state'),
  };
  port = await freePort('127.0.0.2');
  metricsPort = await freePort('127.0.0.1');
  for (const r of REALS) servers.set(r, await serve(r));
});
after(async () => {
  await ldir(path.join(tmp, 'site.cf'), 'stop');
  for (const r of [...servers.keys()]) await stopServer(r);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('daemon (memory backend): quorum lost and regained with hysteresis; commands run; status and metrics', async () => {
  const record = path.join(tmp, 'commands.log');
  const script = path.join(tmp, 'record.sh');
  fs.writeFileSync(script, `#!/bin/sh\necho "$*" >> '${record}'\n`, { mode: 0o755 });
  const file = path.join(tmp, 'site.cf');
  fs.writeFileSync(
    file,
    `checkinterval=1
checktimeout=1
negotiatetimeout=1
quiescent=yes
metrics=127.0.0.1:${metricsPort}
logfile="${path.join(tmp, 'ldir.log')}"

virtual=127.0.0.1:80
${REALS.map((r) => `\treal=${r}:${port} masq 5`).join('\n')}
\tfallback=127.0.0.9:${port} masq
\tchecktype=negotiate
\tservice=http
\trequest="/"
\treceive="alive"
\tscheduler=wlc
\tquorum=75%
\thysteresis=1
\tquorumupcommand=/bin/sh ${script} up
\tquorumdowncommand=/bin/sh ${script} down
`,
  );
  const started = await ldir('--ipvs=memory', file, 'start');
  assert.equal(started.status, 0, started.stderr);
  const socketPath = controlSocketPath('site.cf', env['LDIR_SOCKET_DIR']);
  const recorded = (): string[] =>
    fs.existsSync(record)
      ? fs
          .readFileSync(record, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
      : [];
  const status = async (): Promise<StatusReport> => {
    const r = await sendControlRequest(socketPath, { type: 'status' });
    assert.ok(r.ok, JSON.stringify(r));
    return r.result;
  };
  /** Kernel weights of the reals (`-` when absent), then `FALLBACK` when the fallback is in. */
  const table = async (): Promise<string> => {
    const v = (await status()).virtualServices[0];
    return [
      ...(v?.reals ?? []).map((r) => `${r.address}=${r.kernelWeight ?? '-'}`),
      ...(v?.fallbackActive ? ['FALLBACK'] : []),
    ].join(' ');
  };
  let lastTable = '';
  /** Waits until {@link table} reads `want`; a timeout shows the last table seen. */
  const untilTable = (what: string, want: string): Promise<true> =>
    eventually(
      what,
      async () => ((lastTable = await table()) === want ? true : undefined),
      15_000,
      50,
      () => `table: ${lastTable}`,
    );
  const all = REALS.map((r) => `${r}=5`).join(' ');
  {
    // 75 % of 4 = 3. At start nothing was decided, so the plain quorum decides (3 of the first results may gain it);
    // the up command runs once with VIP:PORT, protocol, serving reals, quorum.
    await untilTable('all four up', all);
    await eventually('quorumupcommand', () => (recorded().length === 1 ? true : undefined), 10_000, 50);
    assert.match(recorded()[0] ?? '', /^up 127\.0\.0\.1:80 tcp [34] 3$/);
    assert.deepEqual((await status()).virtualServices[0]?.quorum, {
      state: 'up',
      serving: 4,
      quorum: 3,
      hysteresis: 1,
      configured: true,
    });

    // Two stop: two serve, not below 3 − 1: the quorum holds, no command, no fallback.
    await stopServer('127.0.0.4');
    await stopServer('127.0.0.5');
    await untilTable('two quiesced', '127.0.0.2=5 127.0.0.3=5 127.0.0.4=0 127.0.0.5=0');
    await sleep(1500); // two more check rounds: nothing else may happen
    assert.equal(await table(), '127.0.0.2=5 127.0.0.3=5 127.0.0.4=0 127.0.0.5=0');
    assert.equal(recorded().length, 1);

    // A third stops: lost. The fallback takes new connections, the one real left keeps its connections at weight 0.
    await stopServer('127.0.0.3');
    await untilTable('quorum lost', '127.0.0.2=0 127.0.0.3=0 127.0.0.4=0 127.0.0.5=0 FALLBACK');
    await eventually('quorumdowncommand', () => (recorded().length === 2 ? true : undefined), 10_000, 50);
    assert.equal(recorded()[1], 'down 127.0.0.1:80 tcp 1 3');
    const lost = (await status()).virtualServices[0];
    assert.deepEqual([lost?.quorum?.state, lost?.quorum?.serving, lost?.fallbackActive], ['down', 1, true]);
    const text = await ldir(file, 'status');
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /quorum 1\/3±1 LOST {2}FALLBACK 127\.0\.0\.9:\d+/);
    const json = JSON.parse((await ldir('--json', file, 'status')).stdout) as StatusReport;
    assert.deepEqual(json.virtualServices[0]?.quorum, {
      state: 'down',
      serving: 1,
      quorum: 3,
      hysteresis: 1,
      configured: true,
    });
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /ldir_virtual_quorum_state\{virtual="tcp:127\.0\.0\.1:80",state="down"\} 1/);
    assert.match(metrics, /ldir_virtual_quorum_state\{virtual="tcp:127\.0\.0\.1:80",state="up"\} 0/);
    assert.match(metrics, /ldir_virtual_quorum_real_servers\{virtual="tcp:127\.0\.0\.1:80"\} 3/);
    assert.match(metrics, /ldir_engine_quorum_commands_total 2/);

    // Two back: three serve, below the gain (4): still lost. The third back: regained, the fallback leaves.
    servers.set('127.0.0.3', await serve('127.0.0.3'));
    servers.set('127.0.0.4', await serve('127.0.0.4'));
    await eventually(
      'three serving',
      async () => ((await status()).virtualServices[0]?.quorum?.serving === 3 ? true : undefined),
      15_000,
      50,
    );
    await sleep(1500);
    assert.equal((await status()).virtualServices[0]?.quorum?.state, 'down', 'three do not regain it');
    assert.equal(await table(), '127.0.0.2=0 127.0.0.3=0 127.0.0.4=0 127.0.0.5=0 FALLBACK');
    servers.set('127.0.0.5', await serve('127.0.0.5'));
    await untilTable('quorum regained', all);
    await eventually('quorumupcommand again', () => (recorded().length === 3 ? true : undefined), 10_000, 50);
    assert.equal(recorded()[2], 'up 127.0.0.1:80 tcp 4 3');
  }
  const stopped = await ldir(file, 'stop');
  assert.equal(stopped.status, 0, stopped.stderr);
});
