// First checks at once (issue 19), through the real binary (memory backend, HTTP servers on 127.0.0.x) with
// checkinterval=600: both healthy reals are up and in the table within a few seconds of `start`, a real that a
// reload adds is checked at once, and a restart's successor checks every real at once (its last check is newer than
// the restart) instead of at some point of the next ten minutes.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { StatusReport } from '../../../src/daemon/protocol';
import { ldirBinary } from '../../helpers/ldir-binary';
import { freePort } from '../../helpers/system';
import { eventually } from '../../helpers/wait';

const REALS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
/** "Within a few seconds": a generous bound for a loaded 2-core machine, far below one 600 s interval. */
const FEW_SECONDS_MS = 8_000;
let tmp = '';
let port = 0;
const servers: http.Server[] = [];
const ldir = ldirBinary(() => ({
  ...process.env,
  LDIR_IPVS: 'memory',
  LDIR_RUN_DIR: path.join(tmp, 'run'),
  LDIR_SOCKET_DIR: path.join(tmp, 'sock'),
  LDIR_STATE_DIR: path.join(tmp, 'state'),
}));

function configText(reals: readonly string[]): string {
  return `checkinterval=600
checktimeout=5
negotiatetimeout=5
quiescent=no
logfile="${path.join(tmp, 'ldir.log')}"

virtual=127.0.0.1:80
${reals.map((r) => `\treal=${r}:${port} masq 1`).join('\n')}
\tchecktype=negotiate
\tservice=http
\trequest="/"
\treceive="alive"
`;
}

async function status(file: string): Promise<StatusReport | undefined> {
  const r = await ldir('--json', file, 'status');
  return r.status === 0 ? (JSON.parse(r.stdout) as StatusReport) : undefined;
}

/** `address:health:inKernel` of every real, for the failure message and the waits. */
const summary = (report: StatusReport | undefined): string =>
  (report?.virtualServices[0]?.reals ?? [])
    .map((r) => `${r.address}:${r.health}:${r.inKernel ? 'in' : 'out'}`)
    .join(' ');

/** Waits until `reals` are all up and in the table; the report, or a failure showing what the daemon saw. */
async function allUp(file: string, reals: readonly string[], ms: number): Promise<StatusReport> {
  let last: StatusReport | undefined;
  return eventually(
    `${reals.join(', ')} up and in the table`,
    async () => {
      last = await status(file);
      const seen = last?.virtualServices[0]?.reals ?? [];
      const ok = reals.every((a) => seen.some((r) => r.address === a && r.health === 'up' && r.inKernel));
      return ok ? last : undefined;
    },
    ms,
    200,
    () =>
      `daemon saw: ${summary(last)}\nlog:\n${fs.existsSync(path.join(tmp, 'ldir.log')) ? fs.readFileSync(path.join(tmp, 'ldir.log'), 'utf8').slice(-3000) : ''}`,
  );
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-first-checks-'));
  port = await freePort('127.0.0.2');
  for (const address of REALS) {
    const server = http.createServer((_q, r) => r.end('alive\n'));
    await new Promise<void>((r) => server.listen(port, address, r));
    servers.push(server);
  }
});

after(async () => {
  await ldir(path.join(tmp, 'first.cf'), 'stop');
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('checkinterval=600: healthy reals are up within a few seconds of start, of the reload that adds one, and of a restart', async () => {
  const file = path.join(tmp, 'first.cf');
  fs.writeFileSync(file, configText(REALS.slice(0, 2)));

  const t0 = Date.now();
  const started = await ldir(file, 'start');
  assert.equal(started.status, 0, started.stderr);
  await allUp(file, REALS.slice(0, 2), FEW_SECONDS_MS);
  const startMs = Date.now() - t0;
  console.log(`start: both reals up and in the table ${startMs} ms after "ldir start" began`);

  fs.writeFileSync(file, configText(REALS));
  const t1 = Date.now();
  const reloaded = await ldir(file, 'reload');
  assert.equal(reloaded.status, 0, reloaded.stderr);
  await allUp(file, REALS, FEW_SECONDS_MS);
  console.log(`reload: the added real up and in the table ${Date.now() - t1} ms after "ldir reload" began`);

  const before = await status(file);
  const restartAt = Date.now();
  const restarted = await ldir(file, 'restart');
  assert.equal(restarted.status, 0, restarted.stderr);
  const after = await allUp(file, REALS, FEW_SECONDS_MS);
  assert.notEqual(after.daemon.pid, before?.daemon.pid, 'a new daemon runs');
  // The successor checked every real itself, at once (the health it carried over would otherwise stand for 600 s).
  for (const r of after.virtualServices[0]?.reals ?? []) {
    const at = Date.parse(r.lastCheck?.at ?? '');
    assert.ok(
      at >= restartAt - 1_000,
      `${r.address} last checked at ${r.lastCheck?.at ?? 'never'}, before the restart (${new Date(restartAt).toISOString()})`,
    );
  }
  console.log(`restart: every real checked by the successor ${Date.now() - restartAt} ms after "ldir restart" began`);
  assert.equal((await ldir(file, 'stop')).status, 0);
});
