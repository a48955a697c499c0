// The checker watchdog in the metrics: ldir_watchdog_ok, ldir_watchdog_failing{reason}, ldir_checks_overdue, and
// /healthz failing with a one-line body that says which (alone, or after a failed kernel sync).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { watchdogVerdict, type WatchdogVerdict } from '../../../src/daemon/watchdog';
import { healthVerdict } from '../../../src/daemon/health-verdict';
import type { EngineSnapshot } from '../../../src/engine/engine-types';
import { healthOf as healthzOf } from '../../../src/metrics/metrics';

const healthOf = (engine: EngineSnapshot, watchdog: WatchdogVerdict) => healthzOf(healthVerdict({ engine, watchdog }));
import { value } from './exposition';
import { snapshot, testMetrics } from './fixtures';

const V = 'tcp:192.0.2.1:80';

/** A verdict at `now` for reals whose last results are at `lasts` (interval 1 s, timeout 1 s: limit 4 s), engine passed at `pass`. */
function verdictAt(now: number, lasts: readonly number[], pass: number): WatchdogVerdict {
  return watchdogVerdict({
    now,
    checks: lasts.map((last, i) => ({
      identity: `c${i}`,
      members: [{ virtualId: V, realKey: `10.0.0.${i + 1}:80` }],
      intervalMs: 1_000,
      timeoutMs: 1_000,
      startedAt: 0,
      lastResultAt: last,
    })),
    engine: { resyncIntervalMs: 10_000, dueSince: 0, lastPassAt: pass, held: false },
  });
}

describe('watchdog series', () => {
  test('ok: 1, no reason failing, no real overdue', async () => {
    const { scrape } = testMetrics({ engine: snapshot([]), watchdog: verdictAt(10_000, [9_000, 8_000], 9_500) });
    const e = await scrape();
    assert.equal(value(e, 'ldir_watchdog_ok'), 1);
    assert.equal(value(e, 'ldir_watchdog_failing', { reason: 'checks-overdue' }), 0);
    assert.equal(value(e, 'ldir_watchdog_failing', { reason: 'engine-stalled' }), 0);
    assert.equal(value(e, 'ldir_checks_overdue'), 0);
    assert.equal(e.types.get('ldir_watchdog_ok'), 'gauge');
    assert.equal(e.types.get('ldir_checks_overdue'), 'gauge');
  });

  test('failing: 0, the reasons that hold, how many reals are overdue; back to ok; absent without a verdict', async () => {
    const { src, scrape } = testMetrics({
      engine: snapshot([]),
      watchdog: verdictAt(100_000, [1_000, 99_000, 2_000], 1_000),
    });
    let e = await scrape();
    assert.equal(value(e, 'ldir_watchdog_ok'), 0);
    assert.equal(value(e, 'ldir_watchdog_failing', { reason: 'checks-overdue' }), 1);
    assert.equal(value(e, 'ldir_watchdog_failing', { reason: 'engine-stalled' }), 1);
    assert.equal(value(e, 'ldir_checks_overdue'), 2);
    src.watchdog = verdictAt(100_000, [99_000, 99_000, 99_000], 99_000);
    e = await scrape();
    assert.equal(value(e, 'ldir_watchdog_ok'), 1);
    assert.equal(value(e, 'ldir_checks_overdue'), 0);
    delete src.watchdog;
    e = await scrape();
    assert.equal(value(e, 'ldir_watchdog_ok'), undefined);
    assert.equal(value(e, 'ldir_checks_overdue'), undefined);
  });
});

describe('/healthz with the watchdog', () => {
  test('503 with a one-line body that says which; ok when the watchdog is', () => {
    assert.deepEqual(healthOf(snapshot([]), verdictAt(10_000, [9_000], 9_000)), {
      ok: true,
      level: 'ok',
      reason: 'ok',
    });
    const checks = healthOf(snapshot([]), verdictAt(100_000, [1_000], 99_000));
    assert.equal(checks.ok, false);
    assert.match(
      checks.reason,
      /^failing: checks-overdue: 1 real without a check result .*worst tcp:192\.0\.2\.1:80 10\.0\.0\.1:80: 99 s \(limit 4 s\)$/,
    );
    const engine = healthOf(snapshot([]), verdictAt(100_000, [99_000], 1_000));
    assert.match(engine.reason, /^failing: engine-stalled: no kernel sync pass has finished for 99 s \(limit 30 s/);
    const both = healthOf(snapshot([]), verdictAt(100_000, [1_000], 1_000));
    assert.match(both.reason, /^failing: checks-overdue: .*; engine-stalled: /);
    assert.ok(!both.reason.includes('\n'));
  });

  test("a failed kernel sync keeps its reason, the watchdog's follows", () => {
    const failed = snapshot([], {
      lastSync: { at: 0, reason: 'resync', ok: false, durationMs: 1, ops: 0, failed: 0, error: 'netlink: ENOBUFS' },
    });
    const h = healthOf(failed, verdictAt(100_000, [1_000], 99_000));
    assert.equal(h.ok, false);
    assert.match(
      h.reason,
      /^failing: kernel-sync-failed: last kernel sync failed at 1970-01-01T00:00:00\.000Z: netlink: ENOBUFS; checks-overdue: /,
    );
  });

  test("the metrics handle's health reads the watchdog source", () => {
    const { metrics, src } = testMetrics({ engine: snapshot([]), watchdog: verdictAt(100_000, [99_000], 1_000) });
    assert.equal(metrics.health().ok, false);
    assert.match(metrics.health().reason, /engine-stalled/);
    src.watchdog = verdictAt(100_000, [99_000], 99_000);
    assert.deepEqual(metrics.health(), { ok: true, level: 'ok', reason: 'ok' });
  });
});

describe('health verdict series', () => {
  test('ldir_health{state} and ldir_health_reason{reason} say what /healthz says; absent without an engine', async () => {
    const refused = snapshot([], {
      lastSync: {
        at: 0,
        reason: 'resync',
        ok: false,
        durationMs: 1,
        ops: 2,
        failed: 1,
        virtuals: 2,
        virtualsRefused: 1,
        refused: [{ op: 'add-service', virtualId: 'tcp:192.0.2.1:81', errno: 'EINVAL' }],
      },
    });
    const { scrape, src, metrics } = testMetrics({ engine: refused });
    let e = await scrape();
    assert.deepEqual(
      ['ok', 'degraded', 'failing'].map((state) => value(e, 'ldir_health', { state })),
      [0, 1, 0],
    );
    assert.equal(value(e, 'ldir_health_reason', { reason: 'kernel-refused' }), 1);
    assert.equal(value(e, 'ldir_health_reason', { reason: 'checks-overdue' }), 0);
    assert.equal(metrics.health().ok, true);
    assert.equal(metrics.health().level, 'degraded');
    assert.match(metrics.health().reason, /^degraded: kernel-refused: .*tcp:192\.0\.2\.1:81 \(add-service EINVAL\)$/);

    src.watchdog = verdictAt(100_000, [1_000], 99_000);
    e = await scrape();
    assert.deepEqual(
      ['ok', 'degraded', 'failing'].map((state) => value(e, 'ldir_health', { state })),
      [0, 0, 1],
    );
    assert.equal(value(e, 'ldir_health_reason', { reason: 'checks-overdue' }), 1);
    assert.equal(metrics.health().ok, false);

    Object.defineProperty(src, 'engine', {
      get: () => {
        throw new Error('engine not built yet');
      },
    });
    e = await scrape();
    assert.equal(value(e, 'ldir_health', { state: 'ok' }), undefined);
  });

  test("the daemon's own verdict, when the sources have one, is what both say", async () => {
    const { scrape, metrics } = testMetrics({ engine: snapshot([]) });
    const own = {
      level: 'failing' as const,
      reasons: [{ code: 'engine-stopped' as const, level: 'failing' as const, message: 'engine-stopped: x' }],
      summary: 'failing: engine-stopped: x',
    };
    const withOwn = testMetrics({ engine: snapshot([]), health: own });
    assert.deepEqual(withOwn.metrics.health(), { ok: false, level: 'failing', reason: 'failing: engine-stopped: x' });
    assert.equal(value(await withOwn.scrape(), 'ldir_health_reason', { reason: 'engine-stopped' }), 1);
    assert.equal(metrics.health().level, 'ok');
    assert.equal(value(await scrape(), 'ldir_health', { state: 'ok' }), 1);
  });
});
