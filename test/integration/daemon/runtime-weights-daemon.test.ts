// The daemon in this process (memory backend whose history is visible) with real HTTP servers on 127.0.0.x: a
// director killed with kill -9 comes back with its runtime weights and hand drains from its very first pass (the
// kernel never sees a configured weight again), drops what the configuration lacks, and rewrites the state file; a
// state file that cannot be used never stops a start and is kept as .bad at the next change; a state file that
// cannot be written leaves the change in force and says so in the answer; a trial on the memory backend without a
// state directory of its own keeps no state file.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runDrainCommand } from '../../../src/cli/control-commands';
import { runWeightCommand } from '../../../src/cli/weight-command';
import type { Daemon } from '../../../src/daemon/daemon';
import { startDaemon } from '../../../src/app/compose-daemon';
import { controlSocketPath } from '../../../src/daemon/protocol';
import { readStateFile, stateFilePath, writeStateFile } from '../../../src/daemon/state-file';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import type { DesiredService } from '../../../src/ipvs/types';
import { captureLogger } from '../../helpers/alerts';
import { capture } from '../../helpers/cli-io';
import { addrService, dest } from '../../helpers/ipvs-tables';
import { freePort } from '../../helpers/system';
import { eventually, sleep } from '../../helpers/wait';

const REALS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const VIP = 'tcp:127.0.0.1:80';
let port = 0;
const servers: http.Server[] = [];
let tmp = '';

function configText(): string {
  return `checkinterval=1
checktimeout=1
negotiatetimeout=1
quiescent=yes
logfile="${path.join(tmp, 'ldir.log')}"

virtual=127.0.0.1:80
${REALS.map((r) => `\treal=${r}:${port} masq 5`).join('\n')}
\tchecktype=connect
\tscheduler=wrr
`;
}

/** `address=weight` of the service's destinations in the memory backend. */
async function table(backend: MemoryBackend): Promise<string> {
  const service = (await backend.list()).find((s) => 'address' in s.service && s.service.address === '127.0.0.1');
  return (service?.destinations ?? [])
    .map((d) => `${d.address}=${d.weight}`)
    .sort()
    .join(' ');
}

/** A daemon named `name` over `backend`, its state file in `stateDirectory`. */
function start(
  name: string,
  backend: MemoryBackend,
  stateDirectory: string,
  logger = captureLogger(),
): Promise<Daemon> {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, configText());
  return startDaemon({
    configPath: file,
    configName: name,
    logger: logger.logger,
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    runDirectory: path.join(tmp, 'run'),
    socketDirectory: path.join(tmp, 'sock'),
    stateDirectory,
    watchIntervalMs: 60_000,
    engine: { resyncIntervalMs: 500, coalesceMs: 10 },
  });
}

const real = (address: string): string => `${address}:${port}`;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-weights-'));
  port = await freePort('127.0.0.2');
  for (const address of REALS) {
    const server = http.createServer((_q, r) => r.end('ok'));
    await new Promise<void>((r) => server.listen(port, address, r));
    servers.push(server);
  }
});
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('after kill -9: runtime weight and hand drain from the first pass on; no configured weight ever written; the file pruned', async () => {
  const stateDirectory = path.join(tmp, 'state-a');
  const statePath = stateFilePath('killed.cf', stateDirectory);
  // What a killed daemon left: its kernel table (.2 at its runtime weight 2, .3 drained, .4 configured) and its file,
  // which also names a real that the configuration no longer has.
  const left: DesiredService[] = [
    {
      service: addrService('127.0.0.1', 80, { scheduler: 'wrr' }),
      destinations: [
        dest('127.0.0.2', port, { weight: 2 }),
        dest('127.0.0.3', port, { weight: 0 }),
        dest('127.0.0.4', port, { weight: 5 }),
      ],
    },
  ];
  writeStateFile(
    statePath,
    [
      { virtualId: VIP, realKey: real('127.0.0.2'), weight: 2 },
      { virtualId: VIP, realKey: real('127.0.0.3'), drained: true },
      { virtualId: VIP, realKey: real('127.0.0.9'), weight: 7 },
    ],
    { configFile: '/elsewhere/killed.cf', savedAt: Date.now() },
  );
  const backend = new MemoryBackend(left);
  const log = captureLogger();
  const daemon = await start('killed.cf', backend, stateDirectory, log);
  try {
    const first = daemon.status().virtualServices[0]?.reals.map((r) => [r.address, r.override ?? null, r.drained]);
    assert.deepEqual(
      first,
      [
        ['127.0.0.2', 2, false],
        ['127.0.0.3', null, true],
        ['127.0.0.4', null, false],
      ],
      'in force at the first pass',
    );
    await eventually(
      'all three checked up',
      () => (daemon.status().virtualServices[0]?.reals.every((r) => r.health === 'up') ? true : undefined),
      10_000,
      50,
    );
    await sleep(1200); // a resync and another check round: nothing may move
    assert.equal(await table(backend), '127.0.0.2=2 127.0.0.3=0 127.0.0.4=5');
    const writes = backend.history().filter((op) => op.op === 'add-destination' || op.op === 'edit-destination');
    assert.deepEqual(writes, [], 'the table was right from the first pass: not one destination written');
    assert.deepEqual(
      readStateFile(statePath),
      {
        state: 'read',
        settings: [
          { virtualId: VIP, realKey: real('127.0.0.2'), weight: 2 },
          { virtualId: VIP, realKey: real('127.0.0.3'), drained: true },
        ],
      },
      'rewritten without the real the configuration lacks',
    );
    const messages = log.records.map((r) => String(r['msg']));
    assert.ok(
      messages.some((m) => m.startsWith('runtime weights and hand drains restored from')),
      messages.join('\n'),
    );
    assert.ok(
      messages.includes(
        `runtime weight 7 of ${VIP} ${real('127.0.0.9')} dropped: the real is not in the configuration`,
      ),
      messages.join('\n'),
    );
  } finally {
    await daemon.stop();
  }
});

test('a state file that cannot be used: logged, the start goes on without it, kept as .bad at the next change', async () => {
  const stateDirectory = path.join(tmp, 'state-b');
  const statePath = stateFilePath('corrupt.cf', stateDirectory);
  fs.mkdirSync(stateDirectory, { recursive: true });
  fs.writeFileSync(statePath, '{"version":1,"reals":[{"virtual":');
  const backend = new MemoryBackend();
  const log = captureLogger();
  const daemon = await start('corrupt.cf', backend, stateDirectory, log);
  try {
    await eventually(
      'all three up at their configured weight',
      async () => ((await table(backend)) === '127.0.0.2=5 127.0.0.3=5 127.0.0.4=5' ? true : undefined),
      10_000,
      50,
    );
    const error = log.records.find(
      (r) => r['level'] === 50 && String(r['msg']).startsWith(`state file ${statePath} cannot be used (not JSON`),
    );
    assert.ok(error, log.text());
    await daemon.reload(); // a reload with nothing to drop leaves the file alone
    assert.equal(
      fs.readFileSync(statePath, 'utf8'),
      '{"version":1,"reals":[{"virtual":',
      'left as it is until a change',
    );
    const io = capture();
    const socketPath = controlSocketPath('corrupt.cf', path.join(tmp, 'sock'));
    assert.equal(
      await runWeightCommand({ socketPath, virtual: VIP, real: '127.0.0.4', weight: 3, json: false }, io),
      0,
      io.err,
    );
    assert.equal(io.err, '');
    assert.equal(
      fs.readFileSync(`${statePath}.bad`, 'utf8'),
      '{"version":1,"reals":[{"virtual":',
      'the unusable file is kept beside',
    );
    assert.deepEqual(readStateFile(statePath), {
      state: 'read',
      settings: [{ virtualId: VIP, realKey: real('127.0.0.4'), weight: 3 }],
    });
  } finally {
    await daemon.stop();
  }
});

test('a state file that cannot be written: the change is in force, the answer says it is not saved; the next change saves all', async () => {
  // The state "directory" is a file: nothing can be created under it.
  const blocker = path.join(tmp, 'not-a-directory');
  fs.writeFileSync(blocker, '');
  const backend = new MemoryBackend();
  const log = captureLogger();
  const daemon = await start('readonly.cf', backend, blocker, log);
  const socketPath = controlSocketPath('readonly.cf', path.join(tmp, 'sock'));
  try {
    await eventually(
      'all three up',
      async () => ((await table(backend)) === '127.0.0.2=5 127.0.0.3=5 127.0.0.4=5' ? true : undefined),
      10_000,
      50,
    );
    const io = capture();
    assert.equal(
      await runDrainCommand({ socketPath, action: 'drain', virtual: VIP, real: '127.0.0.3', json: false }, io),
      0,
    );
    assert.equal(io.out, `drained ${real('127.0.0.3')} in ${VIP}\n`);
    assert.match(
      io.err,
      /^ldir: warning: in force, but not saved in the state file \(.*not-a-directory\/readonly\.cf\.state: (ENOTDIR|EEXIST).*\): lost at the next stop and start\n$/,
    );
    assert.equal(await table(backend), '127.0.0.2=5 127.0.0.3=0 127.0.0.4=5');
    assert.ok(
      log.records.some((r) => r['level'] === 50 && String(r['msg']).startsWith('cannot write the state file')),
      log.text(),
    );
    // The directory becomes usable: the next change writes everything in force, the earlier drain included.
    fs.rmSync(blocker);
    const next = capture();
    assert.equal(
      await runWeightCommand({ socketPath, virtual: VIP, real: '127.0.0.2', weight: 1, json: false }, next),
      0,
    );
    assert.equal(next.err, '');
    assert.deepEqual(readStateFile(stateFilePath('readonly.cf', blocker)), {
      state: 'read',
      settings: [
        { virtualId: VIP, realKey: real('127.0.0.2'), weight: 1 },
        { virtualId: VIP, realKey: real('127.0.0.3'), drained: true },
      ],
    });
  } finally {
    await daemon.stop();
  }
});

test('a trial on the memory backend without a state directory keeps its hand settings in memory: no file, no warning', async () => {
  const name = `trial-${process.pid}-${Date.now()}.cf`;
  const file = path.join(tmp, name);
  fs.writeFileSync(file, configText());
  const backend = new MemoryBackend();
  const log = captureLogger();
  const daemon = await startDaemon({
    configPath: file,
    configName: name,
    logger: log.logger,
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    runDirectory: path.join(tmp, 'run'),
    socketDirectory: path.join(tmp, 'sock'),
    watchIntervalMs: 60_000,
    engine: { resyncIntervalMs: 500, coalesceMs: 10 },
  });
  try {
    await eventually(
      'all three up',
      async () => ((await table(backend)) === '127.0.0.2=5 127.0.0.3=5 127.0.0.4=5' ? true : undefined),
      10_000,
      50,
    );
    const io = capture();
    const socketPath = controlSocketPath(name, path.join(tmp, 'sock'));
    assert.equal(await runWeightCommand({ socketPath, virtual: VIP, real: '127.0.0.2', weight: 1, json: true }, io), 0);
    assert.equal(io.err, '');
    assert.equal((JSON.parse(io.out) as { saveError?: string }).saveError, undefined);
    assert.equal(await table(backend), '127.0.0.2=1 127.0.0.3=5 127.0.0.4=5');
    assert.equal(fs.existsSync(stateFilePath(name)), false, "the director's state file is not touched");
    assert.ok(
      log.records.some((r) =>
        String(r['msg']).startsWith('memory backend: runtime weights and hand drains are kept in memory only'),
      ),
      log.text(),
    );
  } finally {
    await daemon.stop();
  }
});
