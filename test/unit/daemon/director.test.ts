// The director built from injected fakes only (memory backend, fake clock, checks that answer at once; no socket,
// thread, addon or child process): the configuration is its one source of drain policy, whatever the engine was
// built with, and `checktype=off` reals start from the kernel's weights.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Announcer } from '../../../src/announce/announcer';
import { ReverseNames } from '../../../src/checks/maintenance';
import { CheckScheduler } from '../../../src/checks/scheduler';
import type { DaemonParts } from '../../../src/daemon/daemon-parts';
import { Director } from '../../../src/daemon/director';
import { drainId } from '../../../src/engine/drain';
import { Engine } from '../../../src/engine/engine';
import { ErrorCodes, LdirError } from '../../../src/errors';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { silentLogger } from '../../../src/log';
import { SecretRedactor } from '../../../src/secrets';
import { loadValid } from '../../helpers/config';
import { FakeClock } from '../../helpers/fake-clock';

const VIP = 'tcp:192.0.2.1:80';

/** A configuration of one virtual with `reals` (checked `checktype`), and the globals given. */
function config(reals: readonly string[], checktype: string, ...globals: string[]): ReturnType<typeof loadValid> {
  return loadValid(
    [
      ...globals,
      'virtual=192.0.2.1:80',
      ...reals.map((r) => `\treal=${r}:80 masq 5`),
      `\tchecktype=${checktype}`,
      '',
    ].join('\n'),
  );
}

/** Parts of fakes; the engine is built with a drain policy of its own (60 s, drains on), which must not count. */
function fakeParts(clock: FakeClock, backend: MemoryBackend): DaemonParts {
  const logger = silentLogger();
  const refuse = (what: string) => (): never => {
    throw new LdirError(ErrorCodes.INTERNAL, `${what} is not part of this test`);
  };
  return {
    clock,
    pid: 4242,
    redactor: new SecretRedactor(),
    selfCommand: ['ldir'],
    loader: { load: refuse('the loader thread'), close: async () => undefined },
    sysctlStore: { read: refuse('/proc/sys'), write: refuse('/proc/sys'), list: refuse('/proc/sys') },
    runCommand: async () => ({ exitCode: 0, signal: null }),
    instanceRunner: async () => ({ exitCode: 0 }),
    names: new ReverseNames({ lookup: async () => [], clock }),
    openBackend: async () => ({ backend, passedOver: [] }),
    openChecks: () => ({
      run: async () => ({ up: true, reason: 'fake', durationMs: 1 }),
      nativeHttp: false,
      close: () => undefined,
    }),
    createEngine: (wiring) => new Engine({ ...wiring, clock, logger, drainEnabled: true, drainTimeoutMs: 60_000 }),
    createAnnouncer: (onChange) => new Announcer({ clock, logger, driverFor: refuse('BIRD'), onChange }),
    createScheduler: (o) => new CheckScheduler({ ...o, clock, logger }),
    startControl: refuse('the control socket'),
    createWatcher: refuse('the file watcher'),
  };
}

function director(clock = new FakeClock(), backend = new MemoryBackend()): Director {
  const parts = fakeParts(clock, backend);
  return new Director({
    parts,
    options: { configPath: '/etc/ha.d/test.cf', configName: 'test.cf', logger: silentLogger() },
    log: silentLogger(),
    backend,
    onOperatorChange: () => undefined,
  });
}

/** `address=weight` of the destinations in the memory backend. */
async function table(backend: MemoryBackend): Promise<string[]> {
  return (await backend.list()).flatMap((s) => s.destinations.map((d) => `${d.address}=${d.weight}`)).sort();
}

describe('Director (built from injected parts only)', () => {
  test("the drain policy is the configuration's: draintimeout=7 gives 7 s, drain=no gives no drain", async () => {
    const d = director();
    await d.bring(await config(['10.0.0.1', '10.0.0.2'], 'on', 'draintimeout=7'));
    const preview = await d.preview(await config(['10.0.0.1'], 'on', 'draintimeout=7'));
    assert.deepEqual(
      [preview.engine.drainsBegun.map(drainId), preview.engine.drainTimeoutMs],
      [[`${VIP} 10.0.0.2:80`], 7_000],
    );
    const off = await d.preview(await config(['10.0.0.1'], 'on', 'drain=no'));
    assert.deepEqual(off.engine.drainsBegun, []);
    await d.close(true);
  });

  test('a reload drains by the policy it brings: drain=no deletes the removed real at once', async () => {
    const backend = new MemoryBackend();
    const clock = new FakeClock();
    const d = director(clock, backend);
    await d.bring(await config(['10.0.0.1', '10.0.0.2'], 'on'));
    await clock.advance(10_000); // the first checks, and the pass of their transitions
    assert.deepEqual(await table(backend), ['10.0.0.1=5', '10.0.0.2=5']);
    await d.bring(await config(['10.0.0.1'], 'on', 'drain=no'));
    assert.deepEqual(await table(backend), ['10.0.0.1=5'], "the engine's own 60 s drain does not count");
    await d.close(true);
  });

  test('a reload that names another maintenancedir follows it, and one that names none stops following', async () => {
    const backend = new MemoryBackend();
    const clock = new FakeClock();
    const d = director(clock, backend);
    const first = mkdtempSync(join(tmpdir(), 'ldir-maint-a-'));
    const second = mkdtempSync(join(tmpdir(), 'ldir-maint-b-'));
    writeFileSync(join(second, '10.0.0.1'), ''); // in the second directory only: 10.0.0.1 in maintenance
    try {
      await d.bring(await config(['10.0.0.1', '10.0.0.2'], 'connect', `maintenancedir=${first}`));
      await clock.advance(10_000);
      assert.deepEqual(await table(backend), ['10.0.0.1=5', '10.0.0.2=5']);
      await d.bring(await config(['10.0.0.1', '10.0.0.2'], 'connect', `maintenancedir=${second}`));
      await clock.advance(10_000);
      assert.deepEqual(await table(backend), ['10.0.0.2=5'], 'the file in the new directory forces 10.0.0.1 down');
      await d.bring(await config(['10.0.0.1', '10.0.0.2'], 'connect'));
      await clock.advance(10_000);
      assert.deepEqual(await table(backend), ['10.0.0.1=5', '10.0.0.2=5'], 'no maintenancedir: back up');
    } finally {
      await d.close(true);
      rmSync(first, { recursive: true, force: true });
      rmSync(second, { recursive: true, force: true });
    }
  });

  test('checktype=off: a real the kernel has at a weight starts up, one it lacks starts down', async () => {
    const backend = new MemoryBackend();
    const clock = new FakeClock();
    const d = director(clock, backend);
    await d.bring(await config(['10.0.0.1', '10.0.0.2'], 'on'));
    await clock.advance(10_000);
    await d.close(false); // a stop without cleanup: the table stays for the next daemon
    const next = new FakeClock();
    const second = director(next, backend);
    await second.bring(await config(['10.0.0.1', '10.0.0.3'], 'off'));
    const health = second.scheduler
      .snapshot()
      .flatMap((s) => s.members.map((m) => `${m.realKey}=${s.health}`))
      .sort();
    assert.deepEqual(health, ['10.0.0.1:80=up', '10.0.0.3:80=down']);
    await second.close(false);
  });
});
