// The whole daemon in this process with the in-memory IPVS backend and real HTTP servers on 127.0.0.x: start,
// health changes, status/reload/drain/stop over the real control socket and CLI commands, bad reload, autoreload.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runDrainCommand, runReloadCommand, runStatusCommand } from '../../../src/cli/control-commands';
import { startDaemon } from '../../../src/app/compose-daemon';
import { controlSocketPath, type StatusReport } from '../../../src/daemon/protocol';
import type { EngineEvent } from '../../../src/engine/engine-types';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import type { IpvsDestination } from '../../../src/ipvs/types';
import { silentLogger } from '../../../src/log';
import { pidFilePath } from '../../../src/system/pid-file';
import { capture } from '../../helpers/cli-io';
import { holdPidFile } from '../../helpers/pid-lock';
import { freePort } from '../../helpers/system';

const REALS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
let port = 0;
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

function configText(reals: readonly string[], extra = ''): string {
  return `checkinterval=1
checktimeout=1
negotiatetimeout=1
quiescent=yes
autoreload=yes
logfile="${path.join(tmp, 'ldir.log')}"
${extra}
virtual=127.0.0.1:80
${reals.map((r) => `\treal=${r}:${port} masq 5`).join('\n')}
\tfallback=127.0.0.9:${port} masq
\tchecktype=negotiate
\tservice=http
\trequest="/"
\treceive="alive"
\tscheduler=wrr
`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 50 ms until it returns a value (bounded), else fails with `what`. */
async function eventually<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function destinations(backend: MemoryBackend): Promise<Map<string, IpvsDestination>> {
  const table = await backend.list();
  const service = table.find(
    (s) => 'address' in s.service && s.service.address === '127.0.0.1' && s.service.port === 80,
  );
  return new Map((service?.destinations ?? []).map((d) => [d.address, d]));
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-daemon-'));
  port = await freePort('127.0.0.2');
  for (const r of REALS) servers.set(r, await serve(r));
});
after(async () => {
  for (const r of [...servers.keys()]) await stopServer(r);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('daemon (memory backend): checks drive the table; status, drain, reload and stop over the control socket', async () => {
  const file = path.join(tmp, 'site.cf');
  fs.writeFileSync(file, configText(REALS.slice(0, 2)));
  const backend = new MemoryBackend();
  const events: EngineEvent[] = [];
  /** The outcome of every reload, explicit or by autoreload, in order. */
  const reloads: boolean[] = [];
  let stopped = 0;
  const runDirectory = path.join(tmp, 'run');
  const socketDirectory = path.join(tmp, 'sock');
  const daemon = await startDaemon({
    configPath: file,
    configName: 'site.cf',
    logger: silentLogger(),
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    runDirectory,
    socketDirectory,
    stateDirectory: path.join(tmp, 'state'),
    watchIntervalMs: 200,
    engine: { resyncIntervalMs: 500, coalesceMs: 10, drainPollMs: 200 },
    onEngineEvent: (e) => events.push(e),
    onStopped: () => stopped++,
    onReload: (ok) => reloads.push(ok),
  });
  const socketPath = controlSocketPath('site.cf', socketDirectory);
  try {
    assert.equal(fs.readFileSync(pidFilePath('site.cf', runDirectory), 'utf8').trim(), String(process.pid));
    // Nothing is added before its first check result; then both reals with their weight, no fallback.
    await eventually('both reals up', async () => {
      const d = await destinations(backend);
      return d.get('127.0.0.2')?.weight === 5 && d.get('127.0.0.3')?.weight === 5 && !d.has('127.0.0.9')
        ? true
        : undefined;
    });
    const io = capture();
    assert.equal(await runStatusCommand({ socketPath, json: true }, io), 0, io.err);
    const report = JSON.parse(io.out) as StatusReport;
    assert.equal(report.daemon.backend.inMemory, true);
    const v = report.virtualServices[0];
    assert.equal(v?.realsUp, 2);
    assert.deepEqual(
      v?.reals.map((r) => [r.address, r.health, r.weight, r.kernelWeight]),
      [
        ['127.0.0.2', 'up', 5, 5],
        ['127.0.0.3', 'up', 5, 5],
      ],
    );
    assert.match(v?.reals[0]?.lastCheck?.reason ?? '', /status 200, body matched/);

    // A real that stops answering is quiesced (weight 0), and comes back when it answers again.
    await stopServer('127.0.0.3');
    await eventually(
      '127.0.0.3 quiesced',
      async () => ((await destinations(backend)).get('127.0.0.3')?.weight === 0 ? true : undefined),
      4000,
    );
    servers.set('127.0.0.3', await serve('127.0.0.3'));
    await eventually(
      '127.0.0.3 back',
      async () => ((await destinations(backend)).get('127.0.0.3')?.weight === 5 ? true : undefined),
      4000,
    );

    // Hand drain and undrain.
    const drainIo = capture();
    assert.equal(
      await runDrainCommand(
        { socketPath, action: 'drain', virtual: '127.0.0.1:80', real: `127.0.0.2:${port}`, json: false },
        drainIo,
      ),
      0,
      drainIo.err,
    );
    await eventually('drained', async () =>
      (await destinations(backend)).get('127.0.0.2')?.weight === 0 ? true : undefined,
    );
    assert.equal(
      await runDrainCommand(
        { socketPath, action: 'undrain', virtual: '127.0.0.1:80', real: `127.0.0.2:${port}`, json: false },
        capture(),
      ),
      0,
    );
    await eventually('undrained', async () =>
      (await destinations(backend)).get('127.0.0.2')?.weight === 5 ? true : undefined,
    );

    // A bad reload changes nothing and reports the line; exit 2.
    const before = backend.history().length;
    fs.writeFileSync(file, `${configText(REALS.slice(0, 2))}\tnosuchdirective=1\n`);
    const bad = capture();
    assert.equal(await runReloadCommand({ socketPath }, bad), 2);
    assert.match(bad.err, new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+: .*nosuchdirective`));
    assert.equal(backend.history().length, before, 'a refused configuration changes nothing in the kernel');
    assert.equal(daemon.currentConfig().virtualServices[0]?.reals.length, 2);

    // Autoreload refuses a bad file too. The refused reload above marked that content as seen, so another bad edit,
    // with no reload asked for: the next reload outcome can only be autoreload's, and it must be a refusal.
    const outcomes = reloads.length;
    fs.writeFileSync(file, `${configText(['127.0.0.2', '127.0.0.4'])}\tnosuchdirective=2\n`);
    const byAutoreload = await eventually('autoreload to load the edited file', () => reloads[outcomes], 5000);
    assert.equal(byAutoreload, false, 'autoreload applied a configuration with an error');
    assert.equal(
      backend.history().length,
      before,
      'a configuration refused by autoreload changes nothing in the kernel',
    );
    assert.deepEqual(
      daemon.currentConfig().virtualServices[0]?.reals.map((r) => r.address),
      ['127.0.0.2', '127.0.0.3'],
      'the old configuration runs on',
    );

    // A good reload (here by autoreload): 127.0.0.4 added, 127.0.0.3 drained (weight 0) and then removed.
    fs.writeFileSync(file, configText(['127.0.0.2', '127.0.0.4']));
    await eventually(
      '127.0.0.4 added',
      async () => ((await destinations(backend)).get('127.0.0.4')?.weight === 5 ? true : undefined),
      5000,
    );
    await eventually(
      '127.0.0.3 gone after its drain',
      async () => (!(await destinations(backend)).has('127.0.0.3') ? true : undefined),
      5000,
    );
    assert.ok(
      events.some((e) => e.type === 'drain' && e.phase === 'begin'),
      'the removed real was drained first',
    );

    // All reals down: the fallback goes in; one back: out again.
    await stopServer('127.0.0.2');
    await stopServer('127.0.0.4');
    await eventually(
      'fallback in',
      async () => ((await destinations(backend)).get('127.0.0.9')?.weight === 1 ? true : undefined),
      5000,
    );
    servers.set('127.0.0.2', await serve('127.0.0.2'));
    await eventually(
      'fallback out',
      async () => (!(await destinations(backend)).has('127.0.0.9') ? true : undefined),
      5000,
    );
  } finally {
    await daemon.stop();
  }
  assert.equal(stopped, 1);
  assert.equal(fs.existsSync(pidFilePath('site.cf', runDirectory)), false, 'pid file removed');
  assert.equal(fs.existsSync(socketPath), false, 'control socket removed');
  const last = backend.history().at(-1);
  assert.equal(last?.op, 'delete-service', 'cleanstop=yes (default) removes the virtual service');
  servers.set('127.0.0.4', await serve('127.0.0.4'));
});

test('daemon: a broken configuration does not start (exit code 2), and nothing is left behind', async () => {
  const file = path.join(tmp, 'broken.cf');
  fs.writeFileSync(file, 'virtual=127.0.0.1:80\n\treal=127.0.0.2:80 gate\n\tbogus=1\n');
  const runDirectory = path.join(tmp, 'run2');
  await assert.rejects(
    startDaemon({
      configPath: file,
      configName: 'broken.cf',
      logger: silentLogger(),
      ipvs: 'memory',
      runDirectory,
      socketDirectory: path.join(tmp, 'sock2'),
    }),
    (err: Error & { details?: Record<string, unknown> }) => err.details?.['exitCode'] === 2,
  );
  assert.equal(fs.existsSync(pidFilePath('broken.cf', runDirectory)), false);
});

test('daemon: a second daemon on a configuration whose pid file is locked refuses (LDIR_ERR_ALREADY_RUNNING), leaving the file alone', async () => {
  const file = path.join(tmp, 'twice.cf');
  fs.writeFileSync(file, configText(REALS));
  const runDirectory = path.join(tmp, 'run3');
  fs.mkdirSync(runDirectory, { recursive: true });
  const held = holdPidFile(pidFilePath('twice.cf', runDirectory), 4242);
  try {
    await assert.rejects(
      startDaemon({
        configPath: file,
        configName: 'twice.cf',
        logger: silentLogger(),
        ipvs: 'memory',
        runDirectory,
        socketDirectory: path.join(tmp, 'sock3'),
      }),
      (err: Error & { code?: string; details?: Record<string, unknown> }) =>
        err.code === 'LDIR_ERR_ALREADY_RUNNING' &&
        /already running with pid 4242/.test(err.message) &&
        err.details?.['exitCode'] === 1,
    );
    assert.equal(
      fs.readFileSync(pidFilePath('twice.cf', runDirectory), 'utf8'),
      '4242\n',
      "the running daemon's pid file is untouched",
    );
    assert.equal(
      fs.existsSync(controlSocketPath('twice.cf', path.join(tmp, 'sock3'))),
      false,
      'no control socket was opened',
    );
  } finally {
    held.release();
  }
});

test('daemon: drain=no in the configuration deletes a removed real at once (no drain)', async () => {
  const file = path.join(tmp, 'nodrain.cf');
  fs.writeFileSync(file, configText(['127.0.0.2', '127.0.0.4'], 'drain=no'));
  const backend = new MemoryBackend();
  const events: EngineEvent[] = [];
  const daemon = await startDaemon({
    configPath: file,
    configName: 'nodrain.cf',
    logger: silentLogger(),
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    runDirectory: path.join(tmp, 'run3'),
    socketDirectory: path.join(tmp, 'sock3'),
    watchIntervalMs: 60_000,
    onEngineEvent: (e) => events.push(e),
  });
  try {
    await eventually('both up', async () => {
      const d = await destinations(backend);
      return d.get('127.0.0.2')?.weight === 5 && d.get('127.0.0.4')?.weight === 5 ? true : undefined;
    });
    fs.writeFileSync(file, configText(['127.0.0.2'], 'drain=no'));
    const outcome = await daemon.reload();
    assert.equal(outcome.applied, true);
    assert.equal((await destinations(backend)).has('127.0.0.4'), false, 'deleted by the reload itself');
    assert.ok(!events.some((e) => e.type === 'drain'), 'no drain with drain=no');
  } finally {
    await daemon.stop();
  }
});
