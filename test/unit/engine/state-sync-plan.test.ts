// Pure planning of the kernel's connection sync daemons: desired daemons per role, the comparison with what the
// kernel reports (its defaults and clamping), the stop/start plan with ownership, and the role taken over at start.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  adoptableRole,
  describeSyncDaemon,
  desiredSyncDaemons,
  effectiveMaxLength,
  planSyncDaemons,
  planStateSyncLook,
  roleOnConfigure,
  sameSyncDaemon,
  syncDaemonFor,
  type RoleState,
  type SyncDaemonOp,
  type SyncDaemonState,
} from '../../../src/engine/state-sync-plan';
import type { IpvsSyncDaemon } from '../../../src/ipvs/types';
import type { StateSyncSettings } from '../../../src/model';

const SETTINGS: StateSyncSettings = {
  interface: 'eth1',
  syncId: 7,
  role: 'backup',
  cleanstop: true,
  source: { file: '/x.cf', line: 1 },
};
const ALL = new Set<SyncDaemonState>(['master', 'backup']);
const NONE = new Set<SyncDaemonState>();

/** A daemon as the kernel lists it: every default filled in (the MTU-derived maxlen of a 1500-byte interface). */
function kernel(state: SyncDaemonState, over: Partial<IpvsSyncDaemon> = {}): IpvsSyncDaemon {
  return { state, interface: 'eth1', syncId: 7, maxLength: 1472, group: '224.0.0.81', port: 8848, ttl: 1, ...over };
}

const names = (ops: readonly SyncDaemonOp[]): string[] =>
  ops.map((o) => (o.op === 'stop-daemon' ? `stop ${o.state}` : `${o.restart ? 'restart' : 'start'} ${o.daemon.state}`));

describe('desired sync daemons', () => {
  test('one daemon for the role, none without a role or without settings', () => {
    assert.deepEqual(desiredSyncDaemons(SETTINGS, 'master'), [{ state: 'master', interface: 'eth1', syncId: 7 }]);
    assert.deepEqual(
      desiredSyncDaemons(SETTINGS, 'backup').map((d) => d.state),
      ['backup'],
    );
    assert.deepEqual(desiredSyncDaemons(SETTINGS, 'none'), []);
    assert.deepEqual(desiredSyncDaemons(null, 'master'), []);
  });

  test('configured fields are passed; fields left out stay out for the kernel to fill in', () => {
    const d = syncDaemonFor({ ...SETTINGS, group: 'ff02::81', port: 8850, maxLength: 1400, ttl: 3 }, 'master');
    assert.deepEqual(d, {
      state: 'master',
      interface: 'eth1',
      syncId: 7,
      group: 'ff02::81',
      port: 8850,
      maxLength: 1400,
      ttl: 3,
    });
  });
});

describe("sameSyncDaemon: ldir's wish against the kernel's report", () => {
  const want = syncDaemonFor(SETTINGS, 'backup');

  test("the kernel's defaults (224.0.0.81, 8848, ttl 1, maxlen from the MTU) match a daemon configured without them", () => {
    assert.ok(sameSyncDaemon(want, kernel('backup')));
    assert.ok(
      sameSyncDaemon(want, { state: 'backup', interface: 'eth1', syncId: 7 }),
      'the memory backend reports no defaults',
    );
  });

  test('another interface, sync id, state, group, port or ttl does not match', () => {
    for (const over of [{ interface: 'eth0' }, { syncId: 8 }, { group: '239.0.0.1' }, { port: 8849 }, { ttl: 2 }]) {
      assert.equal(sameSyncDaemon(want, kernel('backup', over)), false, JSON.stringify(over));
    }
    assert.equal(sameSyncDaemon(want, kernel('master')), false);
  });

  test("maxlen: compared after the kernel's clamping (a backup takes at least 1024), only when configured", () => {
    assert.equal(effectiveMaxLength('backup', 500, false), 1024);
    assert.equal(effectiveMaxLength('master', 500, false), 500);
    assert.equal(effectiveMaxLength('master', 65507, true), 65487);
    assert.equal(effectiveMaxLength('master', undefined, false), undefined);
    const small = { ...SETTINGS, maxLength: 500 };
    assert.ok(
      sameSyncDaemon(syncDaemonFor(small, 'backup'), kernel('backup', { maxLength: 1024 })),
      'no restart loop on a clamped value',
    );
    assert.ok(sameSyncDaemon(syncDaemonFor(small, 'master'), kernel('master', { maxLength: 500 })));
    assert.equal(sameSyncDaemon(syncDaemonFor(small, 'master'), kernel('master', { maxLength: 1472 })), false);
  });

  test('an IPv6 group compares in canonical form', () => {
    assert.ok(
      sameSyncDaemon(
        syncDaemonFor({ ...SETTINGS, group: 'ff02::81' }, 'master'),
        kernel('master', { group: 'ff02::81' }),
      ),
    );
  });
});

describe('planSyncDaemons', () => {
  const master = syncDaemonFor(SETTINGS, 'master');
  const backup = syncDaemonFor(SETTINGS, 'backup');

  test('start what is missing; nothing when the kernel runs it', () => {
    assert.deepEqual(names(planSyncDaemons([backup], [], ALL)), ['start backup']);
    assert.deepEqual(planSyncDaemons([backup], [kernel('backup')], ALL), []);
  });

  test('promote: the backup stops before the master starts; demote the other way round', () => {
    assert.deepEqual(names(planSyncDaemons([master], [kernel('backup')], ALL)), ['stop backup', 'start master']);
    assert.deepEqual(names(planSyncDaemons([backup], [kernel('master')], ALL)), ['stop master', 'start backup']);
  });

  test('changed parameters restart the daemon (stop, then start with the new ones)', () => {
    const ops = planSyncDaemons([{ ...backup, syncId: 9 }], [kernel('backup')], ALL);
    assert.deepEqual(names(ops), ['stop backup', 'restart backup']);
    assert.equal(ops[1]?.op === 'start-daemon' ? ops[1].daemon.syncId : undefined, 9);
  });

  test('a daemon that is not wanted is stopped only when ldir owns its state', () => {
    assert.deepEqual(names(planSyncDaemons([], [kernel('master'), kernel('backup')], new Set(['backup']))), [
      'stop backup',
    ]);
    assert.deepEqual(planSyncDaemons([], [kernel('master')], NONE), [], 'not configured: a foreign daemon stays');
  });
});

describe('adoptableRole: what a restart takes over', () => {
  test('the one running daemon with the configured interface and sync id', () => {
    assert.equal(adoptableRole(SETTINGS, [kernel('master')]), 'master');
    assert.equal(
      adoptableRole(SETTINGS, [kernel('backup', { port: 9000 })]),
      'backup',
      'other parameters are fixed after the take-over',
    );
  });

  test('nothing, both states, or another daemon: no take-over', () => {
    assert.equal(adoptableRole(SETTINGS, []), undefined);
    assert.equal(adoptableRole(SETTINGS, [kernel('master'), kernel('backup')]), undefined);
    assert.equal(adoptableRole(SETTINGS, [kernel('master', { interface: 'eth0' })]), undefined);
    assert.equal(adoptableRole(SETTINGS, [kernel('master', { syncId: 1 })]), undefined);
  });
});

test('describeSyncDaemon names the state, interface, id and group', () => {
  assert.equal(
    describeSyncDaemon(syncDaemonFor(SETTINGS, 'master')),
    'master sync daemon on eth1 (sync id 7, group 224.0.0.81:8848, ttl 1)',
  );
  assert.equal(
    describeSyncDaemon(kernel('backup', { group: 'ff02::81', maxLength: 1452 })),
    'backup sync daemon on eth1 (sync id 7, group [ff02::81]:8848, ttl 1, maxlen 1452)',
  );
});

describe("the role a configuration gives, and one look's plan (shared by the engine and a reload preview)", () => {
  const fresh: RoleState = { settings: null, configuredOnce: false, role: 'none', roleSource: 'config' };

  test('roleOnConfigure: syncrole at first, or when it changed, or when there is no role; a commanded role stays', () => {
    assert.deepEqual(roleOnConfigure(fresh, SETTINGS), { role: 'backup', adopting: true });
    assert.equal(roleOnConfigure(fresh, null), undefined, 'no settings: the role stays');
    const backup: RoleState = { settings: SETTINGS, configuredOnce: true, role: 'backup', roleSource: 'config' };
    assert.equal(roleOnConfigure(backup, { ...SETTINGS, syncId: 8 }), undefined, 'same syncrole: the role stays');
    assert.deepEqual(roleOnConfigure(backup, { ...SETTINGS, role: 'master' }), { role: 'master', adopting: false });
    const promoted: RoleState = { settings: SETTINGS, configuredOnce: true, role: 'master', roleSource: 'command' };
    assert.equal(roleOnConfigure(promoted, SETTINGS), undefined, 'ldir promote outlives a reload that keeps syncrole');
    assert.deepEqual(
      roleOnConfigure({ ...promoted, configuredOnce: false, settings: null }, SETTINGS),
      undefined,
      'a promote before the first configuration stays',
    );
    assert.deepEqual(roleOnConfigure({ ...backup, role: 'none' }, SETTINGS), { role: 'backup', adopting: true });
  });

  test('planStateSyncLook: takes over a matching daemon when adopting, else plans from the role over the states ldir manages', () => {
    const adopt = planStateSyncLook({ settings: SETTINGS, role: 'backup', adopting: true, owned: NONE }, [
      kernel('master'),
    ]);
    assert.deepEqual(
      [adopt.adopted, adopt.role, [...adopt.owned], names(adopt.ops)],
      ['master', 'master', ['master'], []],
    );
    const start = planStateSyncLook({ settings: SETTINGS, role: 'backup', adopting: true, owned: NONE }, []);
    assert.deepEqual([start.adopted, start.role, names(start.ops)], [undefined, 'backup', ['start backup']]);
    const foreign = planStateSyncLook({ settings: null, role: 'none', adopting: false, owned: NONE }, [
      kernel('master'),
    ]);
    assert.deepEqual([[...foreign.manages], names(foreign.ops)], [[], []], "not ldir's: left alone");
    const owned = planStateSyncLook(
      { settings: null, role: 'none', adopting: false, owned: new Set<SyncDaemonState>(['master']) },
      [kernel('master')],
    );
    assert.deepEqual(names(owned.ops), ['stop master'], 'started by ldir, no longer wanted: stopped');
    const input = { settings: SETTINGS, role: 'backup' as const, adopting: true, owned: new Set<SyncDaemonState>() };
    planStateSyncLook(input, [kernel('backup')]);
    assert.equal(input.owned.size, 0, 'the input is not changed');
  });
});
