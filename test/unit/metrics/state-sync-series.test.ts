// Connection sync series: the role gauge, the kernel's sync daemons, and the start/stop/repair/refusal totals.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StateSyncSnapshot } from '../../../src/engine/engine-types';
import { find, value } from './exposition';
import { snapshot, testMetrics } from './fixtures';

function sync(over: Partial<StateSyncSnapshot> = {}): StateSyncSnapshot {
  const master = { state: 'master', interface: 'eth1', syncId: 7 } as const;
  return {
    configured: true,
    role: 'master',
    roleSource: 'command',
    roleSince: 1_700_000_000_000,
    wanted: master,
    daemons: [
      { state: 'master', wanted: true, running: true, matches: true, kernel: master },
      { state: 'backup', wanted: false, running: false, matches: true, kernel: null },
    ],
    checkedAt: 1_700_000_000_000,
    ok: true,
    lastError: null,
    counters: { starts: 3, stops: 2, repairs: 1, failures: 4 },
    ...over,
  };
}

describe('sync series', () => {
  test('role as a state set, daemons running, ok, and the totals', async () => {
    const { scrape } = testMetrics({ engine: snapshot([], { stateSync: sync() }) });
    const e = await scrape();
    assert.deepEqual(
      ['master', 'backup', 'none'].map((role) => value(e, 'ldir_sync_role', { role })),
      [1, 0, 0],
    );
    assert.equal(value(e, 'ldir_sync_daemon_running', { state: 'master' }), 1);
    assert.equal(value(e, 'ldir_sync_daemon_running', { state: 'backup' }), 0);
    assert.equal(value(e, 'ldir_sync_daemon_ok'), 1);
    assert.equal(value(e, 'ldir_sync_daemon_operations_total', { action: 'start' }), 3);
    assert.equal(value(e, 'ldir_sync_daemon_operations_total', { action: 'stop' }), 2);
    assert.equal(value(e, 'ldir_sync_daemon_repairs_total'), 1);
    assert.equal(value(e, 'ldir_sync_daemon_failures_total'), 4);
    assert.equal(e.types.get('ldir_sync_role'), 'gauge');
  });

  test('a refused master: not running, not ok', async () => {
    const s = sync();
    const { scrape } = testMetrics({
      engine: snapshot([], {
        stateSync: {
          ...s,
          ok: false,
          daemons: s.daemons.map((d) => ({ ...d, running: false, matches: !d.wanted, kernel: null })),
        },
      }),
    });
    const e = await scrape();
    assert.equal(value(e, 'ldir_sync_daemon_running', { state: 'master' }), 0);
    assert.equal(value(e, 'ldir_sync_daemon_ok'), 0);
  });

  test('not configured: the role only (none), no daemon series; no snapshot: nothing', async () => {
    const { src, scrape } = testMetrics({
      engine: snapshot([], {
        stateSync: sync({
          configured: false,
          role: 'none',
          wanted: null,
          daemons: [],
          checkedAt: null,
          counters: { starts: 0, stops: 0, repairs: 0, failures: 0 },
        }),
      }),
    });
    let e = await scrape();
    assert.equal(value(e, 'ldir_sync_role', { role: 'none' }), 1);
    assert.equal(find(e, 'ldir_sync_daemon_running').length, 0);
    assert.equal(find(e, 'ldir_sync_daemon_ok').length, 0);
    src.engine = undefined;
    e = await scrape();
    assert.equal(find(e, 'ldir_sync_role').length, 0);
  });
});
