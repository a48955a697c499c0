// The daemon in this process with the memory backend and connection sync configured: the role at start, promote and
// demote through the CLI over the real control socket, status/ping, a reload that changes the sync parameters, and
// the restart semantics (cleanstop=yes stops the sync daemon, cleanstop=no leaves it and the next start takes it over).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runReloadCommand, runStatusCommand } from '../../../src/cli/control-commands';
import { runPing } from '../../../src/cli/ping-command';
import { runRoleCommand } from '../../../src/cli/role-command';
import type { Daemon } from '../../../src/daemon/daemon';
import { startDaemon } from '../../../src/app/compose-daemon';
import { controlSocketPath, type StatusReport } from '../../../src/daemon/protocol';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import type { IpvsBackend } from '../../../src/ipvs/types';
import { silentLogger } from '../../../src/log';
import { capture } from '../../helpers/cli-io';
import { sleep } from '../../helpers/wait';

let tmp = '';

function configText(extra: string): string {
  return `checkinterval=1
checktimeout=1
metrics=no
logfile="${path.join(tmp, 'ldir.log')}"
${extra}
virtual=127.0.0.1:80
\treal=127.0.0.2:80 gate
\tchecktype=off
`;
}

/** Sync daemon starts and stops made through {@link kernelOutliving}. */
const syncCalls = { starts: 0, stops: 0 };

/** The shared kernel of several daemon lifetimes: a memory table that outlives each daemon's close(). */
function kernelOutliving(backend: MemoryBackend): IpvsBackend {
  return new Proxy(backend, {
    get: (target, key) => {
      if (key === 'close') return async () => undefined;
      if (key === 'startSyncDaemon') syncCalls.starts++;
      if (key === 'stopSyncDaemon') syncCalls.stops++;
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function daemonOn(kernel: MemoryBackend, file: string): Promise<Daemon> {
  return startDaemon({
    configPath: file,
    configName: 'pair.cf',
    logger: silentLogger(),
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => kernelOutliving(kernel) },
    runDirectory: path.join(tmp, 'run'),
    socketDirectory: path.join(tmp, 'sock'),
    watchIntervalMs: 60_000,
    engine: { resyncIntervalMs: 300, coalesceMs: 10 },
  });
}

async function running(kernel: MemoryBackend): Promise<string[]> {
  return (await kernel.listSyncDaemons()).map((d) => `${d.state} ${d.interface} ${d.syncId}`).sort();
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-statesync-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('daemon with connection sync (memory backend)', () => {
  test('backup at start; promote/demote through the CLI; status, ping; reload restarts on new parameters; cleanstop=yes stops it', async () => {
    const file = path.join(tmp, 'pair.cf');
    fs.writeFileSync(file, configText('syncinterface=eth1\nsyncid=7'));
    const kernel = new MemoryBackend();
    const daemon = await daemonOn(kernel, file);
    const where = { config: file, socketDirectory: path.join(tmp, 'sock') };
    const socketPath = controlSocketPath('pair.cf', where.socketDirectory);
    try {
      assert.deepEqual(await running(kernel), ['backup eth1 7']);
      let io = capture();
      assert.equal(await runRoleCommand({ ...where, action: 'promote', json: false }, io), 0, io.err);
      assert.equal(io.out, 'promoted to master (was backup); master sync daemon on eth1 (sync id 7) running\n');
      assert.deepEqual(await running(kernel), ['master eth1 7']);

      io = capture();
      assert.equal(await runStatusCommand({ socketPath, json: true }, io), 0);
      const s = (JSON.parse(io.out) as StatusReport).daemon.stateSync;
      assert.deepEqual([s?.configured, s?.role, s?.roleSource, s?.ok], [true, 'master', 'command', true]);
      assert.deepEqual(
        s?.daemons.map((d) => [d.state, d.wanted, d.running, d.interface, d.syncId]),
        [
          ['master', true, true, 'eth1', 7],
          ['backup', false, false, null, null],
        ],
      );
      io = capture();
      assert.equal(await runStatusCommand({ socketPath, json: false, width: Infinity }, io), 0);
      assert.match(
        io.out,
        /^sync: role master for \d+s \(promote\/demote\); kernel sync daemon: master on eth1 id 7$/m,
      );
      io = capture();
      assert.equal(await runPing({ ...where, json: false, runDirectory: path.join(tmp, 'run') }, io), 0);
      assert.match(io.out, /, role master\n$/);

      // Stopped behind ldir's back: the periodic resync starts it again.
      await kernel.stopSyncDaemon('master');
      for (let i = 0; i < 40 && (await running(kernel)).length === 0; i++) await sleep(50);
      assert.deepEqual(await running(kernel), ['master eth1 7']);

      // A reload with another sync id restarts the daemon with it; the role stays master.
      fs.writeFileSync(file, configText('syncinterface=eth1\nsyncid=8'));
      assert.equal(await runReloadCommand({ socketPath }, capture()), 0);
      assert.deepEqual(await running(kernel), ['master eth1 8']);

      io = capture();
      assert.equal(await runRoleCommand({ ...where, action: 'demote', json: true }, io), 0);
      assert.deepEqual([JSON.parse(io.out).previous, JSON.parse(io.out).role], ['master', 'backup']);
      assert.deepEqual(await running(kernel), ['backup eth1 8']);
    } finally {
      await daemon.stop();
    }
    assert.deepEqual(await running(kernel), [], 'cleanstop=yes (default): the sync daemon stops with ldir');
  });

  test('cleanstop=no: the sync daemon keeps running through a restart, which takes it over with its role', async () => {
    const file = path.join(tmp, 'pair.cf');
    fs.writeFileSync(file, configText('cleanstop=no\nsyncinterface=eth1\nsyncid=7\nsyncrole=backup'));
    const kernel = new MemoryBackend();
    const first = await daemonOn(kernel, file);
    const where = { config: file, socketDirectory: path.join(tmp, 'sock') };
    try {
      assert.equal(await runRoleCommand({ ...where, action: 'promote', json: false }, capture()), 0);
    } finally {
      await first.stop();
    }
    assert.deepEqual(await running(kernel), ['master eth1 7'], 'left running: no gap in the sync while ldir restarts');
    const calls = { ...syncCalls };
    const second = await daemonOn(kernel, file);
    try {
      const s = second.status().daemon.stateSync;
      assert.deepEqual([s?.role, s?.roleSource, s?.ok], ['master', 'adopted', true]);
      assert.deepEqual(await running(kernel), ['master eth1 7']);
      assert.equal(second.ping().role, 'master');
      assert.deepEqual(syncCalls, calls, 'taken over: neither stopped nor started');
    } finally {
      await second.stop();
    }
  });
});
