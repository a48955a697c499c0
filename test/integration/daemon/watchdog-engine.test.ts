// The checker watchdog on a whole daemon in this process (memory backend, a real on loopback, the metrics endpoint
// and the control socket as in production): a reload that adds reals raises no alarm; a kernel call that never
// returns (as an ipvsadm stuck in the kernel) stalls the engine's passes, and `ldir ping`, `ldir status` and /healthz
// say `engine-stalled` (the checks, still running, are not overdue); once the call returns all is ok again. The
// resync interval is 300 ms here, so the limit is 0.9 s.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runStatusCommand } from '../../../src/cli/control-commands';
import { PingExit, runPing } from '../../../src/cli/ping-command';
import { startDaemon } from '../../../src/app/compose-daemon';
import { Observers } from '../../../src/app/observers';
import { controlSocketPath } from '../../../src/daemon/protocol';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import type { ListOptions, ObservedService } from '../../../src/ipvs/types';
import { silentLogger } from '../../../src/log';
import { systemClock } from '../../../src/clock';
import { capture } from '../../helpers/cli-io';
import { freePort } from '../../helpers/system';
import { eventually, sleep } from '../../helpers/wait';
import { httpGet } from '../metrics/http-client';

/** The memory backend, except that while wedged a listing of the table never returns (until {@link unwedge}). */
class WedgingBackend extends MemoryBackend {
  private wedged = false;
  private waiting: Array<() => void> = [];
  listings = 0;

  override async list(options?: ListOptions): Promise<readonly ObservedService[]> {
    this.listings++;
    if (this.wedged) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return super.list(options);
  }

  wedge(): void {
    this.wedged = true;
  }

  unwedge(): void {
    this.wedged = false;
    for (const w of this.waiting.splice(0)) w();
  }
}

const REALS = ['127.0.0.31', '127.0.0.32'];
let tmp = '';
let port = 0;
let metricsPort = 0;
const servers: net.Server[] = [];

function configText(reals: readonly string[]): string {
  return [
    'checkinterval=1',
    'checktimeout=1',
    `metrics=127.0.0.1:${metricsPort}`,
    `logfile="${path.join(tmp, 'ldir.log')}"`,
    'virtual=127.0.0.1:8096',
    ...reals.map((r) => `\treal=${r}:${port} masq 2`),
    '\tchecktype=connect',
    '',
  ].join('\n');
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-watchdog-engine-'));
  port = await freePort(REALS[0]);
  metricsPort = await freePort('127.0.0.1');
  for (const address of REALS) {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(port, address, resolve));
    servers.push(server);
  }
});
after(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a wedged kernel call stalls the engine: ping, status and /healthz say engine-stalled; a reload that adds reals does not alarm', async () => {
  const file = path.join(tmp, 'site.cf');
  fs.writeFileSync(file, configText(REALS.slice(0, 1)));
  const backend = new WedgingBackend();
  const logger = silentLogger();
  const observers = new Observers({ clock: systemClock(), logger });
  const runDirectory = path.join(tmp, 'run');
  const socketDirectory = path.join(tmp, 'sock');
  const daemon = await startDaemon({
    configPath: file,
    configName: 'site.cf',
    logger,
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    runDirectory,
    socketDirectory,
    watchIntervalMs: 60_000,
    engine: { resyncIntervalMs: 300, coalesceMs: 10, shutdownTimeoutMs: 2_000 },
    ...observers.hooks(),
  });
  observers.attach(daemon);
  const where = { config: file, runDirectory, socketDirectory };
  const ping = async (): Promise<{ code: number; out: string; err: string }> => {
    const io = capture();
    const code = await runPing({ ...where, json: false }, io);
    return { code, out: io.out, err: io.err };
  };
  const healthz = async (): Promise<{ status: number; body: string }> => {
    const r = await httpGet(`http://127.0.0.1:${metricsPort}/healthz`, { timeoutMs: 5_000 });
    return { status: r.status, body: r.body.toString() };
  };
  try {
    await eventually(
      'the metrics endpoint',
      async () => ((await healthz().catch(() => undefined))?.status === 200 ? true : undefined),
      10_000,
    );

    // A reload adds a real: it has no result yet, and is not overdue for it.
    fs.writeFileSync(file, configText(REALS));
    assert.equal((await daemon.reload()).applied, true);
    const t0 = Date.now();
    let samples = 0;
    for (; samples < 100 && Date.now() - t0 < 2_500; samples++) {
      const p = await ping();
      assert.equal(p.code, PingExit.HEALTHY, `ping ${Date.now() - t0} ms after the reload: ${p.out}${p.err}`);
      assert.deepEqual(await healthz(), { status: 200, body: 'ok\n' });
      await sleep(50); // samples spread over the window (two check intervals, eight resync intervals)
    }
    assert.ok(Date.now() - t0 >= 2_500 && samples >= 10, `${samples} samples in ${Date.now() - t0} ms`);
    assert.equal(daemon.watchdog().ok, true);

    // The next listing of the kernel table never returns: no pass finishes any more; the checks go on.
    const listed = backend.listings;
    backend.wedge();
    await eventually('a listing to hang', () => (backend.listings > listed ? true : undefined), 5_000, 20);
    const stalled = await eventually(
      'ping to fail',
      async () => {
        const p = await ping();
        return p.code === PingExit.UNHEALTHY ? p : undefined;
      },
      10_000,
      100,
    );
    assert.match(
      stalled.err,
      /^ldir for \S+ \(pid \d+\): failing: engine-stalled: no kernel sync pass has finished for [\d.]+ s \(limit 0\.9 s: 3 x the 0\.3 s resync interval\)\n$/,
    );
    assert.ok(!stalled.err.includes('checks-overdue'), 'the checks still run');

    const h = await healthz();
    assert.equal(h.status, 503);
    assert.match(h.body, /^failing: engine-stalled: no kernel sync pass has finished for [\d.]+ s \(limit 0\.9 s/);

    const io = capture();
    assert.equal(
      await runStatusCommand({ socketPath: controlSocketPath('site.cf', socketDirectory), json: false }, io),
      4,
      io.err,
    );
    assert.match(
      io.out,
      /^ldir running, pid \d+, .*\nhealth: FAILING: engine-stalled: .*\nWATCHDOG: engine-stalled: no kernel sync pass for [\d.]+s \(limit 0\.9s\)\n/,
    );

    // The call returns: passes finish again.
    backend.unwedge();
    const back = await eventually(
      'ping ok again',
      async () => {
        const p = await ping();
        return p.code === PingExit.HEALTHY ? p : undefined;
      },
      10_000,
      100,
    );
    assert.match(back.out, /last kernel sync ok/);
    assert.deepEqual(await healthz(), { status: 200, body: 'ok\n' });
  } finally {
    backend.unwedge();
    await daemon.stop();
    await observers.close();
  }
});
