// The `ldir` binary (memory backend) checking 20 reals on loopback with connect checks, which run on the native probe
// engine's thread, each at its own place in the 1 s interval. The whole daemon is then stopped (SIGSTOP) for 2.5 s,
// longer than the interval, and continued: every round missed in the stall starts at once. After that the rounds must
// go back to their places, spread over the interval, and not run together from then on (issue 21: "all 20 checks
// started within 70 ms of each other every round" after a SIGSTOP/SIGCONT).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import { controlSocketPath, type StatusReport } from '../../../src/daemon/protocol';
import { ldirBinary } from '../../helpers/ldir-binary';
import { freePort } from '../../helpers/system';
import { eventually, sleep } from '../../helpers/wait';

const REALS = Array.from({ length: 20 }, (_, i) => `127.0.0.${60 + i}`);
const INTERVAL_MS = 1000;
const STALL_MS = 2500;

let env: NodeJS.ProcessEnv = {};
const ldir = ldirBinary(() => env);
let tmp = '';
let port = 0;
const servers: net.Server[] = [];
/** Monotonic ms of every connection each real accepted. */
const accepts = new Map<string, number[]>(REALS.map((r) => [r, []]));

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-respread-'));
  env = {
    ...process.env,
    LDIR_RUN_DIR: path.join(tmp, 'run'),
    LDIR_SOCKET_DIR: path.join(tmp, 'sock'),
    LDIR_STATE_DIR: path.join(tmp, 'state'),
  };
  port = await freePort(REALS[0]);
  for (const address of REALS) {
    const server = net.createServer((socket) => {
      accepts.get(address)?.push(performance.now());
      socket.end();
    });
    await new Promise<void>((resolve) => server.listen(port, address, resolve));
    servers.push(server);
  }
});
after(async () => {
  await ldir(path.join(tmp, 'site.cf'), 'stop');
  for (const s of servers) await new Promise((r) => s.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** How many of the interval's ten 100 ms slots hold a connection accepted in [from, from + interval). */
function slotsUsed(from: number): { slots: number; offsets: number[] } {
  const offsets = REALS.flatMap((r) =>
    (accepts.get(r) ?? []).filter((t) => t >= from && t < from + INTERVAL_MS).map((t) => Math.round(t - from)),
  );
  return { slots: new Set(offsets.map((o) => Math.floor(o / 100))).size, offsets: offsets.sort((a, b) => a - b) };
}

test('after a stall longer than the interval, checks go back to their places in the interval', async () => {
  const file = path.join(tmp, 'site.cf');
  fs.writeFileSync(
    file,
    [
      `checkinterval=${INTERVAL_MS / 1000}`,
      'checktimeout=1',
      'quiescent=yes',
      `logfile="${path.join(tmp, 'ldir.log')}"`,
      '',
      'virtual=127.0.0.1:80',
      ...REALS.map((r) => `\treal=${r}:${port} masq 1`),
      '\tchecktype=connect',
      '',
    ].join('\n'),
  );
  const started = await ldir('--ipvs=memory', file, 'start');
  assert.equal(started.status, 0, started.stderr);
  const socket = controlSocketPath('site.cf', env['LDIR_SOCKET_DIR']);
  const status = async (): Promise<StatusReport> => {
    const r = await sendControlRequest(socket, { type: 'status' });
    assert.ok(r.ok, JSON.stringify(r));
    return r.result;
  };
  await eventually(
    'every real up',
    async () => ((await status()).virtualServices[0]?.reals.every((r) => r.health === 'up') ? true : undefined),
    30_000,
    200,
    () => fs.readFileSync(path.join(tmp, 'ldir.log'), 'utf8').slice(-2000),
  );
  const pid = (await status()).daemon.pid;
  // Two intervals in their places: the spread the stall must not lose.
  await sleep(2 * INTERVAL_MS + 200);
  const before = slotsUsed(performance.now() - INTERVAL_MS);
  assert.ok(before.slots >= 6, `rounds spread over the interval before the stall: ${before.offsets.join(',')}`);

  process.kill(pid, 'SIGSTOP');
  await sleep(STALL_MS);
  process.kill(pid, 'SIGCONT');
  const resumed = performance.now();
  // The rounds missed in the stall run at once; the ones after them are back at their places within 1.5 intervals;
  // the interval after that shows where they run from then on.
  await sleep(2.5 * INTERVAL_MS + 300);
  const afterStall = slotsUsed(resumed + 1.5 * INTERVAL_MS);
  assert.equal(
    afterStall.offsets.length,
    REALS.length,
    `every real checked once in the interval: ${afterStall.offsets.join(',')}`,
  );
  assert.ok(
    afterStall.slots >= 6,
    `rounds spread over the interval after the stall (bunched before the fix): ${afterStall.offsets.join(',')}`,
  );
});
