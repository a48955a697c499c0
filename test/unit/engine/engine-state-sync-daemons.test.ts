// The engine's connection sync: role from syncrole, promote/demote, level-triggered repair by the periodic resync,
// restarts on changed parameters, reload rules for the role, kernel refusals, shutdown (cleanstop) and the take-over
// of a daemon left running. Memory backend and fake clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCodes, LdirError } from '../../../src/errors';
import type { IpvsSyncDaemon } from '../../../src/ipvs/types';
import type { Config } from '../../../src/model';
import { loadValid } from '../../helpers/config';
import { EngineHarness } from '../../helpers/engine';

/** A one-virtual configuration with the given global lines. */
function config(...globals: string[]): Promise<Config> {
  return loadValid([...globals, 'virtual=192.0.2.1:80', '\treal=10.0.0.1:80 gate', ''].join('\n'));
}

const SYNC = ['syncinterface=eth1', 'syncid=7'];

/** What the memory kernel runs, as `state iface id`. */
async function running(h: EngineHarness): Promise<string[]> {
  return (await h.backend.listSyncDaemons()).map((d) => `${d.state} ${d.interface} ${d.syncId}`).sort();
}

/** Counts the backend's sync daemon calls. */
function countCalls(h: EngineHarness): { calls: number } {
  const counter = { calls: 0 };
  const view = h.view as unknown as Record<
    'listSyncDaemons' | 'startSyncDaemon' | 'stopSyncDaemon',
    (...a: unknown[]) => Promise<unknown>
  >;
  for (const name of ['listSyncDaemons', 'startSyncDaemon', 'stopSyncDaemon'] as const) {
    const inner = view[name].bind(h.view);
    view[name] = (...a: unknown[]) => {
      counter.calls++;
      return inner(...a);
    };
  }
  return counter;
}

describe('engine: connection sync daemons', () => {
  test('without syncinterface no sync daemon call is ever made, and a foreign daemon stays', async () => {
    const h = new EngineHarness();
    await h.backend.startSyncDaemon({ state: 'master', interface: 'eth9', syncId: 1 });
    const counter = countCalls(h);
    await h.apply(await config());
    await h.clock.advance(25_000);
    assert.equal(counter.calls, 0);
    assert.deepEqual(await running(h), ['master eth9 1']);
    const s = h.engine.snapshot().stateSync;
    assert.deepEqual([s?.configured, s?.role, s?.daemons.length, s?.ok], [false, 'none', 0, true]);
  });

  test('syncinterface: the backup daemon runs from the start (default syncrole=backup)', async () => {
    const h = new EngineHarness();
    await h.apply(await config(...SYNC));
    assert.deepEqual(await running(h), ['backup eth1 7']);
    const s = h.engine.snapshot().stateSync;
    assert.deepEqual([s?.role, s?.roleSource, s?.ok, s?.counters.starts], ['backup', 'config', true, 1]);
    assert.deepEqual(
      s?.daemons.map((d) => [d.state, d.wanted, d.running, d.matches]),
      [
        ['master', false, false, true],
        ['backup', true, true, true],
      ],
    );
  });

  test('promote and demote switch the daemon at once (no table pass needed); repeating one changes nothing', async () => {
    const h = new EngineHarness();
    await h.apply(await config(...SYNC));
    const up = await h.engine.setSyncRole('master');
    assert.deepEqual([up.previous, up.role, up.changed, up.stateSync.ok], ['backup', 'master', true, true]);
    assert.deepEqual(await running(h), ['master eth1 7']);
    const again = await h.engine.setSyncRole('master');
    assert.equal(again.changed, false);
    const down = await h.engine.setSyncRole('backup');
    assert.deepEqual([down.previous, down.changed], ['master', true]);
    assert.deepEqual(await running(h), ['backup eth1 7']);
    assert.deepEqual(
      h.eventsOf('sync-daemon').map((e) => `${e.action} ${e.state}`),
      ['start backup', 'stop backup', 'start master', 'stop master', 'start backup'],
    );
    assert.deepEqual(
      h.eventsOf('sync-role').map((e) => `${e.previous}->${e.role} ${e.source}`),
      ['none->backup config', 'backup->master command', 'master->backup command'],
    );
  });

  test('a role change asked of a stopping engine is refused as stopping (LDIR_ERR_DAEMON_STOPPING), nothing changes', async () => {
    const h = new EngineHarness();
    await h.apply(await config(...SYNC));
    await h.engine.shutdown({ clean: false });
    await assert.rejects(
      h.engine.setSyncRole('master'),
      (e: unknown) => e instanceof LdirError && e.code === ErrorCodes.DAEMON_STOPPING,
    );
    assert.deepEqual(await running(h), ['backup eth1 7']);
  });

  test('the periodic resync restarts a sync daemon stopped outside ldir, and counts it as a repair', async () => {
    const h = new EngineHarness();
    await h.apply(await config(...SYNC));
    await h.engine.setSyncRole('master');
    await h.backend.stopSyncDaemon('master');
    await h.clock.advance(10_001);
    assert.deepEqual(await running(h), ['master eth1 7']);
    const s = h.engine.snapshot().stateSync;
    assert.equal(s?.counters.repairs, 1);
    assert.deepEqual(h.eventsOf('sync-daemon').at(-1), {
      type: 'sync-daemon',
      at: h.eventsOf('sync-daemon').at(-1)?.at,
      action: 'start',
      state: 'master',
      ok: true,
      drift: true,
    });
    // Changed outside ldir (another sync id): stopped and started with the configured one.
    await h.backend.stopSyncDaemon('master');
    await h.backend.startSyncDaemon({ state: 'master', interface: 'eth1', syncId: 99 });
    await h.clock.advance(10_001);
    assert.deepEqual(await running(h), ['master eth1 7']);
  });

  test('a reload that changes the parameters restarts the daemon; the role set by promote stays', async () => {
    const h = new EngineHarness();
    await h.apply(await config(...SYNC));
    await h.engine.setSyncRole('master');
    await h.apply(await config('syncinterface=eth1', 'syncid=8'));
    assert.deepEqual(await running(h), ['master eth1 8']);
    assert.equal(h.engine.snapshot().stateSync?.role, 'master');
    await h.apply(await config('syncinterface=eth1', 'syncid=8', 'syncport=8850'));
    assert.equal((await h.backend.listSyncDaemons())[0]?.port, 8850);
    assert.equal(h.engine.snapshot().stateSync?.role, 'master', 'unchanged syncrole: still master');
  });

  test('a reload that changes syncrole switches to it (an edit is an instruction)', async () => {
    const h = new EngineHarness();
    await h.apply(await config(...SYNC));
    await h.engine.setSyncRole('master');
    await h.apply(await config(...SYNC, 'syncrole=none'));
    assert.deepEqual(await running(h), [], 'role none: the daemons ldir started are stopped');
    await h.apply(await config(...SYNC, 'syncrole=master'));
    assert.deepEqual(await running(h), ['master eth1 7']);
  });

  test('a reload that removes syncinterface stops the daemons ldir started and leaves the role', async () => {
    const h = new EngineHarness();
    await h.apply(await config(...SYNC));
    await h.engine.setSyncRole('master');
    await h.apply(await config());
    assert.deepEqual(await running(h), []);
    const s = h.engine.snapshot().stateSync;
    assert.deepEqual([s?.configured, s?.role, s?.ok], [false, 'master', true]);
    await h.apply(await config(...SYNC));
    assert.deepEqual(await running(h), ['master eth1 7'], 'sync back: the role in force (master), not syncrole');
  });

  test('promote without sync configured keeps the role only; adding sync later applies it', async () => {
    const h = new EngineHarness();
    await h.apply(await config());
    const r = await h.engine.setSyncRole('master');
    assert.deepEqual([r.changed, r.stateSync.configured, r.stateSync.ok], [true, false, true]);
    await h.apply(await config(...SYNC));
    assert.deepEqual(await running(h), ['master eth1 7']);
  });

  test('with a role ldir manages both states: another daemon in the way is replaced', async () => {
    const h = new EngineHarness();
    await h.backend.startSyncDaemon({ state: 'master', interface: 'eth9', syncId: 1 });
    await h.apply(await config(...SYNC));
    assert.deepEqual(await running(h), ['backup eth1 7']);
  });

  test('a kernel refusal is reported, retried by the resync, and cleared once it works', async () => {
    const h = new EngineHarness();
    let refuse = true;
    const start = h.view.startSyncDaemon.bind(h.view);
    h.view.startSyncDaemon = async (d: IpvsSyncDaemon) => {
      if (refuse)
        throw new LdirError(ErrorCodes.IPVS_REQUEST_FAILED, 'IPVS command 9 failed: ENODEV', {
          details: { errno: 'ENODEV' },
        });
      return start(d);
    };
    await h.apply(await config(...SYNC));
    const r = await h.engine.setSyncRole('master');
    assert.equal(r.stateSync.ok, false);
    assert.equal(r.stateSync.lastError?.errno, 'ENODEV');
    assert.equal(r.role, 'master', 'the role holds; the kernel is retried');
    assert.deepEqual(
      h
        .eventsOf('sync-daemon')
        .filter((e) => !e.ok)
        .map((e) => `${e.action} ${e.state} ${e.errno}`)
        .slice(0, 1),
      ['start backup ENODEV'],
    );
    refuse = false;
    await h.clock.advance(10_001);
    const s = h.engine.snapshot().stateSync;
    assert.deepEqual([s?.ok, s?.lastError, s?.counters.repairs], [true, null, 0]);
    assert.deepEqual(await running(h), ['master eth1 7']);
  });

  test('shutdown: cleanstop=yes stops the daemons ldir started; cleanstop=no leaves them for the next start', async () => {
    const clean = new EngineHarness();
    await clean.apply(await config(...SYNC));
    await clean.engine.shutdown({ clean: true });
    assert.deepEqual(await running(clean), []);

    const kept = new EngineHarness();
    await kept.apply(await config('cleanstop=no', ...SYNC));
    await kept.engine.setSyncRole('master');
    await kept.engine.shutdown({ clean: true });
    assert.deepEqual(await running(kept), ['master eth1 7']);
  });

  test('a restart takes over the daemon left running (cleanstop=no): same role, no gap, syncrole notwithstanding', async () => {
    const h = new EngineHarness();
    await h.backend.startSyncDaemon({ state: 'master', interface: 'eth1', syncId: 7 });
    const counter = { starts: 0, stops: 0 };
    const [start, stop] = [h.view.startSyncDaemon.bind(h.view), h.view.stopSyncDaemon.bind(h.view)];
    h.view.startSyncDaemon = (d: IpvsSyncDaemon) => {
      counter.starts++;
      return start(d);
    };
    h.view.stopSyncDaemon = (s: 'master' | 'backup') => {
      counter.stops++;
      return stop(s);
    };
    await h.apply(await config('cleanstop=no', ...SYNC, 'syncrole=backup'));
    assert.deepEqual(counter, { starts: 0, stops: 0 });
    const s = h.engine.snapshot().stateSync;
    assert.deepEqual([s?.role, s?.roleSource, s?.ok], ['master', 'adopted', true]);
    await h.engine.shutdown({ clean: true });
    assert.deepEqual(await running(h), ['master eth1 7'], 'taken over, so left running again with cleanstop=no');
  });

  test('no take-over of a daemon of another interface or sync id: syncrole applies', async () => {
    const h = new EngineHarness();
    await h.backend.startSyncDaemon({ state: 'master', interface: 'eth1', syncId: 3 });
    await h.apply(await config(...SYNC));
    assert.deepEqual(await running(h), ['backup eth1 7']);
    assert.equal(h.engine.snapshot().stateSync?.roleSource, 'config');
  });

  test('a promote that arrives before the first configuration (control socket already open) is kept', async () => {
    const h = new EngineHarness();
    await h.engine.setSyncRole('master');
    await h.apply(await config(...SYNC));
    assert.deepEqual(await running(h), ['master eth1 7']);
  });

  test('health passes do not look at the sync daemons (with ipvsadm each look is a process); config and resync do', async () => {
    const h = new EngineHarness();
    await h.apply(await config(...SYNC));
    const counter = countCalls(h);
    await h.health('tcp:192.0.2.1:80', { '10.0.0.1:80': 'up' });
    await h.health('tcp:192.0.2.1:80', { '10.0.0.1:80': 'down' });
    assert.equal(counter.calls, 0);
    await h.clock.advance(10_001);
    assert.equal(counter.calls, 1, 'the resync lists them once');
  });

  test('setSyncRole after shutdown is refused', async () => {
    const h = new EngineHarness();
    await h.apply(await config(...SYNC));
    await h.engine.shutdown({ clean: true });
    await assert.rejects(h.engine.setSyncRole('master'), (e: unknown) => e instanceof LdirError);
  });
});
