// Per-real and per-virtual series from the engine snapshot: values, label sets, leftovers left out, no stale series.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { healthVerdict } from '../../../src/daemon/health-verdict';
import type { EngineSnapshot } from '../../../src/engine/engine-types';
import { healthOf } from '../../../src/metrics/metrics';
import { find, value } from './exposition';
import { counters, real, snapshot, status, testMetrics, virtual } from './fixtures';

const V1 = 'tcp:192.0.2.1:80';
const V6 = 'tcp:[2001:db8::1]:443';

function director() {
  return snapshot([
    virtual(V1, [
      real('10.0.0.1:80', { configuredWeight: 5, kernelWeight: 5 }),
      real('10.0.0.2:80', { health: 'down', configuredWeight: 3, kernelWeight: null, inKernel: false }),
      real('10.0.0.9:80', { draining: true, reason: 'draining' }),
    ]),
    virtual(V6, [real('[2001:db8::2]:443', { health: 'unknown', kernelWeight: 0 })], { fallbackActive: true }),
    virtual('tcp:192.0.2.99:80', [real('10.0.0.5:80')], { draining: true }),
  ]);
}

describe('per real server', () => {
  test('up, health state set, configured and kernel weight', async () => {
    const { scrape } = testMetrics({ engine: director() });
    const e = await scrape();
    assert.equal(value(e, 'ldir_real_server_up', { virtual: V1, real: '10.0.0.1:80' }), 1);
    assert.equal(value(e, 'ldir_real_server_up', { virtual: V1, real: '10.0.0.2:80' }), 0);
    assert.equal(value(e, 'ldir_real_server_up', { virtual: V6, real: '[2001:db8::2]:443' }), 0);
    const states = find(e, 'ldir_real_server_health', { virtual: V6, real: '[2001:db8::2]:443' });
    assert.deepEqual(Object.fromEntries(states.map((s) => [s.labels['state'], s.value])), {
      up: 0,
      down: 0,
      unknown: 1,
    });
    assert.equal(find(e, 'ldir_real_server_health', { virtual: V1, real: '10.0.0.2:80', state: 'down' })[0]?.value, 1);
    assert.equal(value(e, 'ldir_real_server_configured_weight', { virtual: V1, real: '10.0.0.1:80' }), 5);
    assert.equal(value(e, 'ldir_real_server_kernel_weight', { virtual: V1, real: '10.0.0.1:80' }), 5);
    assert.equal(value(e, 'ldir_real_server_configured_weight', { virtual: V1, real: '10.0.0.2:80' }), 3);
    assert.equal(
      value(e, 'ldir_real_server_kernel_weight', { virtual: V1, real: '10.0.0.2:80' }),
      undefined,
      'no kernel entry: absent',
    );
    assert.equal(value(e, 'ldir_real_server_kernel_weight', { virtual: V6, real: '[2001:db8::2]:443' }), 0);
  });

  test('label sets are exactly {virtual, real} (+ state); leftovers being drained are not configured reals', async () => {
    const { scrape } = testMetrics({ engine: director() });
    const e = await scrape();
    for (const s of e.samples.filter((x) => x.name.startsWith('ldir_real_server_'))) {
      const keys = Object.keys(s.labels).sort().join(',');
      assert.ok(keys === 'real,virtual' || keys === 'real,state,virtual', `${s.name} has labels ${keys}`);
    }
    assert.deepEqual(
      find(e, 'ldir_real_server_up')
        .map((s) => s.labels['real'])
        .sort(),
      ['10.0.0.1:80', '10.0.0.2:80', '[2001:db8::2]:443'],
    );
  });
});

describe('runtime weights', () => {
  test('ldir_real_server_weight_override: the runtime weight of a real that has one (0 included), absent otherwise', async () => {
    const { scrape, src } = testMetrics({
      engine: snapshot([
        virtual(V1, [
          real('10.0.0.1:80', { configuredWeight: 5, weightOverride: 2, kernelWeight: 2 }),
          real('10.0.0.2:80', { configuredWeight: 5, weightOverride: 0, kernelWeight: 0 }),
          real('10.0.0.3:80', { configuredWeight: 5, kernelWeight: 5 }),
        ]),
      ]),
    });
    let e = await scrape();
    assert.equal(value(e, 'ldir_real_server_weight_override', { virtual: V1, real: '10.0.0.1:80' }), 2);
    assert.equal(value(e, 'ldir_real_server_weight_override', { virtual: V1, real: '10.0.0.2:80' }), 0);
    assert.equal(value(e, 'ldir_real_server_weight_override', { virtual: V1, real: '10.0.0.3:80' }), undefined);
    assert.equal(value(e, 'ldir_real_server_configured_weight', { virtual: V1, real: '10.0.0.1:80' }), 5);
    src.engine = snapshot([virtual(V1, [real('10.0.0.1:80', { configuredWeight: 5, kernelWeight: 5 })])]);
    e = await scrape();
    assert.deepEqual(find(e, 'ldir_real_server_weight_override'), [], 'reset: the series goes');
  });
});

describe('per virtual service', () => {
  test('reals up and configured, fallback active', async () => {
    const { scrape } = testMetrics({ engine: director() });
    const e = await scrape();
    assert.equal(value(e, 'ldir_virtual_real_servers_up', { virtual: V1 }), 1);
    assert.equal(value(e, 'ldir_virtual_real_servers', { virtual: V1 }), 2);
    assert.equal(value(e, 'ldir_virtual_fallback_active', { virtual: V1 }), 0);
    assert.equal(value(e, 'ldir_virtual_fallback_active', { virtual: V6 }), 1);
    assert.equal(
      value(e, 'ldir_virtual_real_servers', { virtual: 'tcp:192.0.2.99:80' }),
      undefined,
      'draining virtual left out',
    );
  });
});

describe('engine totals mirrored from the snapshot', () => {
  test('syncs, operations by kind, failures, drift, last sync', async () => {
    const engine = snapshot([], {
      counters: counters({
        syncs: 7,
        syncErrors: 1,
        opsFailed: 2,
        driftRepairs: 3,
        retries: 4,
        fallbackCommands: 5,
        fallbackCommandFailures: 1,
        opsApplied: {
          'add-service': 2,
          'edit-service': 0,
          'delete-service': 1,
          'add-destination': 6,
          'edit-destination': 9,
          'delete-destination': 0,
        },
      }),
      lastSync: {
        at: 1_700_000_123_456,
        reason: 'health',
        ok: false,
        durationMs: 250,
        ops: 0,
        failed: 0,
        error: 'ENOBUFS',
      },
    });
    const { scrape } = testMetrics({ engine });
    const e = await scrape();
    assert.equal(value(e, 'ldir_engine_syncs_total'), 7);
    assert.equal(value(e, 'ldir_engine_sync_errors_total'), 1);
    assert.equal(value(e, 'ldir_engine_operations_applied_total', { op: 'edit-destination' }), 9);
    assert.equal(value(e, 'ldir_engine_operations_applied_total', { op: 'edit-service' }), 0);
    assert.equal(find(e, 'ldir_engine_operations_applied_total').length, 6);
    assert.equal(value(e, 'ldir_engine_operations_failed_total'), 2);
    assert.equal(value(e, 'ldir_engine_drift_repairs_total'), 3);
    assert.equal(value(e, 'ldir_engine_operation_retries_total'), 4);
    assert.equal(value(e, 'ldir_engine_fallback_commands_total'), 5);
    assert.equal(value(e, 'ldir_engine_fallback_command_failures_total'), 1);
    assert.equal(value(e, 'ldir_engine_last_sync_success'), 0);
    assert.equal(value(e, 'ldir_engine_last_sync_timestamp_seconds'), 1_700_000_123.456);
    assert.equal(value(e, 'ldir_engine_last_sync_duration_seconds'), 0.25);
  });

  test('no engine yet: engine and state series absent, counters not invented', async () => {
    const { scrape } = testMetrics();
    const e = await scrape();
    for (const name of [
      'ldir_engine_syncs_total',
      'ldir_engine_last_sync_success',
      'ldir_real_server_up',
      'ldir_virtual_real_servers',
    ]) {
      assert.equal(find(e, name).length, 0, name);
    }
    assert.equal(value(e, 'ldir_build_info', { version: '9.9.9', nodejs: 'v20.0.0' }), 1);
  });
});

describe('no stale series', () => {
  test('a real that leaves the configuration loses every series, checks and transitions included', async () => {
    const { scrape, src, metrics } = testMetrics({
      engine: snapshot([virtual(V1, [real('10.0.0.1:80'), real('10.0.0.2:80')])]),
      checks: [status('c1', `${V1} 10.0.0.1:80`), status('c2', `${V1} 10.0.0.2:80`)],
    });
    metrics.recordCheck({
      identity: 'c2',
      members: [{ virtualId: V1, realKey: '10.0.0.2:80' }],
      kind: 'connect',
      scheduledAt: 0,
      startedAt: 0,
      result: { up: true, reason: 'ok', durationMs: 3 },
    });
    metrics.recordTransition({
      virtualId: V1,
      realKey: '10.0.0.2:80',
      identity: 'c2',
      from: 'unknown',
      to: 'up',
      reason: 'ok',
      at: 1_700_000_000_000,
      checkStartedAt: 0,
      durationMs: 3,
      consecutiveFailures: 0,
    });
    let e = await scrape();
    const gone = { virtual: V1, real: '10.0.0.2:80' };
    for (const name of [
      'ldir_real_server_up',
      'ldir_real_server_checks_total',
      'ldir_real_server_check_duration_seconds_count',
      'ldir_real_server_transitions_total',
      'ldir_real_server_last_transition_timestamp_seconds',
    ]) {
      assert.ok(find(e, name, gone).length > 0, `${name} present before`);
    }
    // Reload: 10.0.0.2 removed from the config, its check stopped.
    src.engine = snapshot([virtual(V1, [real('10.0.0.1:80')])]);
    src.checks = [status('c1', `${V1} 10.0.0.1:80`)];
    metrics.recordReload(true, 1_700_000_100_000);
    e = await scrape();
    const left = e.samples.filter((s) => s.labels['real'] === '10.0.0.2:80');
    assert.deepEqual(
      left.map((s) => s.name),
      [],
    );
    assert.equal(value(e, 'ldir_real_server_up', { virtual: V1, real: '10.0.0.1:80' }), 1);
    // A late record of the stopped check does not bring the series back.
    metrics.recordCheck({
      identity: 'c2',
      members: [{ virtualId: V1, realKey: '10.0.0.2:80' }],
      kind: 'connect',
      scheduledAt: 0,
      startedAt: 0,
      result: { up: false, reason: 'aborted', durationMs: 1 },
    });
    e = await scrape();
    assert.deepEqual(
      e.samples.filter((s) => s.labels['real'] === '10.0.0.2:80').map((s) => s.name),
      [],
    );
  });

  test('a virtual that leaves the configuration loses its per-virtual series', async () => {
    const { scrape, src } = testMetrics({ engine: snapshot([virtual(V1, [real('10.0.0.1:80')]), virtual(V6, [])]) });
    assert.equal(value(await scrape(), 'ldir_virtual_real_servers', { virtual: V6 }), 0);
    src.engine = snapshot([virtual(V1, [real('10.0.0.1:80')])]);
    const e = await scrape();
    assert.deepEqual(
      e.samples.filter((s) => s.labels['virtual'] === V6),
      [],
    );
  });
});

describe('/healthz verdict', () => {
  test('ok before the engine, ok after a good sync, 503 reasons for a failed sync or a stopped engine', () => {
    const of = (engine: EngineSnapshot | undefined) => healthOf(healthVerdict({ engine, watchdog: undefined }));
    assert.deepEqual(of(undefined), { ok: true, level: 'ok', reason: 'ok: starting, no kernel sync yet' });
    assert.deepEqual(of(snapshot([])), { ok: true, level: 'ok', reason: 'ok' });
    assert.equal(of(snapshot([], { lastSync: null })).ok, true);
    const failed = of(
      snapshot([], {
        lastSync: {
          at: 0,
          reason: 'resync',
          ok: false,
          durationMs: 1,
          ops: 0,
          failed: 0,
          error: 'netlink: ENOBUFS\nmore',
        },
      }),
    );
    assert.deepEqual(failed, {
      ok: false,
      level: 'failing',
      reason: 'failing: kernel-sync-failed: last kernel sync failed at 1970-01-01T00:00:00.000Z: netlink: ENOBUFS more',
    });
    assert.deepEqual(of(snapshot([], { stopped: true })), {
      ok: false,
      level: 'failing',
      reason: 'failing: engine-stopped: the engine is stopped: no kernel sync passes',
    });
  });

  test('a source that throws reads as starting, not as a crash', () => {
    const { metrics, src } = testMetrics();
    Object.defineProperty(src, 'engine', {
      get: () => {
        throw new Error('engine not built yet');
      },
    });
    assert.equal(metrics.health().ok, true);
  });
});
