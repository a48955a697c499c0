// The one health verdict (issue 21): each reason, its level, the order, the summary line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  HEALTH_CODES,
  HEALTH_MESSAGE_MAX,
  HEALTH_SUMMARY_MAX,
  healthVerdict,
  isServing,
} from '../../../src/daemon/health-verdict';
import { watchdogVerdict } from '../../../src/daemon/watchdog';
import type { EngineHealth, LastSync, StateSyncSnapshot } from '../../../src/engine/engine-types';

const AT = 1_700_000_000_000;
const ISO = new Date(AT).toISOString();
const okSync: LastSync = { at: AT, reason: 'resync', ok: true, durationMs: 3, ops: 0, failed: 0, virtuals: 2 };
const engine = (over: Partial<EngineHealth> = {}): EngineHealth => ({ stopped: false, lastSync: okSync, ...over });
const refusedSync = (over: Partial<LastSync>): LastSync => ({ ...okSync, ok: false, ...over });

/** A watchdog whose one check has had no result for 100 s (limit 4 s). */
const overdue = watchdogVerdict({
  now: 100_000,
  checks: [
    {
      identity: 'c',
      members: [{ virtualId: 'tcp:10.0.0.1:80', realKey: '10.0.0.2:80' }],
      intervalMs: 1_000,
      timeoutMs: 1_000,
      startedAt: 0,
      lastResultAt: 0,
    },
  ],
  engine: { resyncIntervalMs: 10_000, dueSince: 0, lastPassAt: 99_000, held: false },
});

describe('health verdict', () => {
  test('ok: starting without an engine or a pass, plain ok after a good pass', () => {
    assert.deepEqual(healthVerdict({ engine: undefined, watchdog: undefined }), {
      level: 'ok',
      reasons: [],
      summary: 'ok: starting, no kernel sync yet',
    });
    assert.equal(
      healthVerdict({ engine: engine({ lastSync: null }), watchdog: undefined }).summary,
      'ok: starting, no kernel sync yet',
    );
    assert.deepEqual(healthVerdict({ engine: engine(), watchdog: undefined }), {
      level: 'ok',
      reasons: [],
      summary: 'ok',
    });
  });

  test('a pass that could not reach the kernel: failing, kernel-sync-failed with the error', () => {
    const v = healthVerdict({
      engine: engine({ lastSync: refusedSync({ error: 'cannot list the kernel table: EPERM' }) }),
      watchdog: undefined,
    });
    assert.equal(v.level, 'failing');
    assert.deepEqual(
      v.reasons.map((r) => r.code),
      ['kernel-sync-failed'],
    );
    assert.equal(
      v.summary,
      `failing: kernel-sync-failed: last kernel sync failed at ${ISO}: cannot list the kernel table: EPERM`,
    );
    assert.equal(isServing(v), false);
  });

  test('refused operations of one virtual of two: degraded, kernel-refused naming the virtual and the first operation', () => {
    const lastSync = refusedSync({
      failed: 3,
      virtualsRefused: 1,
      refused: [
        { op: 'add-service', virtualId: 'tcp:10.0.0.1:81', errno: 'EINVAL' },
        { op: 'add-destination', virtualId: 'tcp:10.0.0.1:81', destination: '10.0.0.2:81', errno: 'ESRCH' },
        { op: 'edit-destination', virtualId: 'tcp:10.0.0.1:80', destination: '10.0.0.3:80', errno: 'EINVAL' },
      ],
    });
    const v = healthVerdict({ engine: engine({ lastSync }), watchdog: undefined });
    assert.equal(v.level, 'degraded');
    assert.equal(isServing(v), true);
    assert.deepEqual(v.reasons, [
      {
        code: 'kernel-refused',
        level: 'degraded',
        virtuals: ['tcp:10.0.0.1:81', 'tcp:10.0.0.1:80'],
        message:
          `kernel-refused: the kernel refused 3 operations of the last sync at ${ISO}, retried every sync: ` +
          'tcp:10.0.0.1:81 (add-service EINVAL, +1 more); tcp:10.0.0.1:80 (edit-destination 10.0.0.3:80 EINVAL)',
      },
    ]);
    assert.equal(v.summary, `degraded: ${v.reasons[0]?.message}`);
  });

  test('operations beyond those kept are counted', () => {
    const lastSync = refusedSync({
      failed: 40,
      refused: [{ op: 'add-destination', virtualId: 'tcp:10.0.0.1:80', destination: '10.0.0.2:80', errno: 'ENOMEM' }],
    });
    assert.match(
      healthVerdict({ engine: engine({ lastSync }), watchdog: undefined }).summary,
      /\(add-destination 10\.0\.0\.2:80 ENOMEM\); and 39 more$/,
    );
  });

  test('the kernel refused every virtual service: failing', () => {
    const lastSync = refusedSync({
      failed: 2,
      virtualsRefused: 2,
      refused: [
        { op: 'add-service', virtualId: 'tcp:10.0.0.1:80', errno: 'EINVAL' },
        { op: 'add-service', virtualId: 'tcp:10.0.0.1:81', errno: 'EINVAL' },
      ],
    });
    const v = healthVerdict({ engine: engine({ lastSync }), watchdog: undefined });
    assert.equal(v.level, 'failing');
    assert.match(v.summary, /^failing: kernel-refused: the kernel refused every virtual service \(2\) at /);
    const none = healthVerdict({ engine: engine({ lastSync: { ...lastSync, virtuals: 0 } }), watchdog: undefined });
    assert.equal(none.level, 'degraded', 'no virtual configured: nothing to have refused entirely');
  });

  test('a stopped engine: failing, and its last pass is not judged', () => {
    const v = healthVerdict({
      engine: engine({ stopped: true, lastSync: refusedSync({ error: 'x' }) }),
      watchdog: undefined,
    });
    assert.deepEqual(
      v.reasons.map((r) => [r.code, r.level]),
      [['engine-stopped', 'failing']],
    );
  });

  test("the watchdog's reasons are failing ones, with its messages; reasons come in code order", () => {
    const v = healthVerdict({
      engine: engine({
        lastSync: refusedSync({
          failed: 1,
          refused: [{ op: 'add-service', virtualId: 'tcp:10.0.0.1:81', errno: 'EINVAL' }],
        }),
      }),
      watchdog: overdue,
    });
    assert.equal(v.level, 'failing');
    assert.deepEqual(
      v.reasons.map((r) => [r.code, r.level]),
      [
        ['kernel-refused', 'degraded'],
        ['checks-overdue', 'failing'],
      ],
    );
    assert.equal(v.reasons[1]?.message, overdue.reasons[0]?.message);
    assert.match(v.summary, /^failing: kernel-refused: .*; checks-overdue: 1 real without a check result/);
    assert.deepEqual(
      [...HEALTH_CODES],
      ['engine-stopped', 'kernel-sync-failed', 'kernel-refused', 'checks-overdue', 'engine-stalled', 'sync-daemon'],
    );
  });

  test('connection sync configured and not as configured (once looked at): degraded, sync-daemon', () => {
    const stateSync: StateSyncSnapshot = {
      configured: true,
      role: 'master',
      roleSource: 'config',
      roleSince: AT,
      wanted: null,
      daemons: [],
      checkedAt: AT,
      ok: false,
      lastError: { at: AT, message: 'start master sync daemon on eth9: ENODEV' },
      counters: { starts: 0, stops: 0, repairs: 0, failures: 1 },
    };
    const v = healthVerdict({ engine: engine({ stateSync }), watchdog: undefined });
    assert.equal(v.level, 'degraded');
    assert.equal(
      v.summary,
      "degraded: sync-daemon: the kernel's connection sync daemon is not as configured (role master): start master sync daemon on eth9: ENODEV",
    );
    assert.equal(
      healthVerdict({ engine: engine({ stateSync: { ...stateSync, checkedAt: null } }), watchdog: undefined }).level,
      'ok',
      'not looked at yet',
    );
    assert.equal(
      healthVerdict({ engine: engine({ stateSync: { ...stateSync, configured: false } }), watchdog: undefined }).level,
      'ok',
    );
  });

  test('the summary is one bounded line without control characters', () => {
    const v = healthVerdict({
      engine: engine({ lastSync: refusedSync({ error: `a\nb\u001b[2J${'x'.repeat(2_000)}` }) }),
      watchdog: undefined,
    });
    assert.ok(v.summary.length <= HEALTH_SUMMARY_MAX);
    assert.ok(
      (v.reasons[0]?.message.length ?? 0) <= HEALTH_MESSAGE_MAX,
      'each message is bounded too (the status schema takes 4,096)',
    );
    assert.ok(!(v.reasons[0]?.message ?? '').includes('\n'));
    assert.match(v.summary, /^failing: kernel-sync-failed: .*: a b \[2Jx+\.\.\.$/);
  });
});
