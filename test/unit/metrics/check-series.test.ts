// Event-fed per-real series: checks by result, duration histogram, transitions; the pairs a record names.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CheckRecord, IdentityStatus } from '../../../src/checks/scheduler';
import { Registry } from 'prom-client';
import { CHECK_DURATION_BUCKETS, CheckSeries } from '../../../src/metrics/check-series';
import { seriesFactory } from '../../../src/metrics/factory';
import { find, value } from './exposition';
import { status, testMetrics } from './fixtures';

const V1 = 'tcp:192.0.2.1:80';
const V2 = 'tcp:192.0.2.2:80';

/** A round of check `check`, naming the pairs it serves as the scheduler's records do. */
function record(
  check: IdentityStatus,
  up: boolean,
  durationMs: number,
  kind: CheckRecord['kind'] = 'connect',
): CheckRecord {
  return {
    identity: check.identity,
    members: check.members,
    kind,
    scheduledAt: 0,
    startedAt: 0,
    result: { up, reason: up ? 'ok' : 'refused', durationMs },
  };
}

describe('checks by result', () => {
  test('a check shared by two virtuals counts for each pair; both results start at 0', async () => {
    const shared = status('shared', `${V1} 10.0.0.1:80`, `${V2} 10.0.0.1:80`);
    const { metrics, scrape } = testMetrics({ checks: [shared] });
    metrics.recordCheck(record(shared, true, 4));
    metrics.recordCheck(record(shared, true, 6));
    metrics.recordCheck(record(shared, false, 5000));
    const e = await scrape();
    for (const virtual of [V1, V2]) {
      assert.equal(value(e, 'ldir_real_server_checks_total', { virtual, real: '10.0.0.1:80', result: 'success' }), 2);
      assert.equal(value(e, 'ldir_real_server_checks_total', { virtual, real: '10.0.0.1:80', result: 'failure' }), 1);
    }
    const c = status('c', `${V1} 10.0.0.3:80`);
    const { metrics: m2, scrape: s2 } = testMetrics({ checks: [c] });
    m2.recordCheck(record(c, true, 1));
    assert.equal(
      value(await s2(), 'ldir_real_server_checks_total', { virtual: V1, real: '10.0.0.3:80', result: 'failure' }),
      0,
    );
  });

  test('maintenance rounds run no probe and are not counted', async () => {
    const c = status('c', `${V1} 10.0.0.1:80`);
    const { metrics, scrape } = testMetrics({ checks: [c] });
    metrics.recordCheck(record(c, false, 0, 'maintenance'));
    const e = await scrape();
    assert.equal(find(e, 'ldir_real_server_checks_total').length, 0);
  });

  test('duration histogram in seconds: buckets, sum and count', async () => {
    const c = status('c', `${V1} 10.0.0.1:80`);
    const { metrics, scrape } = testMetrics({ checks: [c] });
    for (const ms of [0.5, 3, 40, 40, 7000]) metrics.recordCheck(record(c, true, ms));
    const e = await scrape();
    const labels = { virtual: V1, real: '10.0.0.1:80' };
    assert.equal(value(e, 'ldir_real_server_check_duration_seconds_count', labels), 5);
    assert.ok(Math.abs((value(e, 'ldir_real_server_check_duration_seconds_sum', labels) ?? 0) - 7.0835) < 1e-9);
    assert.equal(value(e, 'ldir_real_server_check_duration_seconds_bucket', { ...labels, le: '0.001' }), 1);
    assert.equal(value(e, 'ldir_real_server_check_duration_seconds_bucket', { ...labels, le: '0.005' }), 2);
    assert.equal(value(e, 'ldir_real_server_check_duration_seconds_bucket', { ...labels, le: '0.05' }), 4);
    assert.equal(value(e, 'ldir_real_server_check_duration_seconds_bucket', { ...labels, le: '5' }), 4);
    assert.equal(value(e, 'ldir_real_server_check_duration_seconds_bucket', { ...labels, le: '10' }), 5);
    assert.equal(value(e, 'ldir_real_server_check_duration_seconds_bucket', { ...labels, le: '+Inf' }), 5);
    assert.equal(
      find(e, 'ldir_real_server_check_duration_seconds_bucket', labels).length,
      CHECK_DURATION_BUCKETS.length + 1,
    );
  });

  test('a batch of quiet rounds counts as the same rounds recorded one by one', async () => {
    const durations = [0.5, 3, 40, 40, 7000];
    const c = status('c', `${V1} 10.0.0.1:80`, `${V2} 10.0.0.1:80`);
    const one = testMetrics({ checks: [c] });
    for (const ms of durations) one.metrics.recordCheck(record(c, true, ms));
    const batch = testMetrics({ checks: [c] });
    // 0.5, 3, 40, 40 and 7000 ms in the buckets of CHECK_DURATION_BUCKETS: le 0.001, 0.005, 0.05 (twice), 10
    const durationBuckets = new Float64Array(CHECK_DURATION_BUCKETS.length + 1);
    for (const [b, n] of [
      [0, 1],
      [2, 1],
      [5, 2],
      [12, 1],
    ] as const)
      durationBuckets[b] = n;
    batch.metrics.recordQuietRounds({
      identity: 'c',
      members: c.members,
      kind: 'connect',
      passed: 5,
      failed: 0,
      durationSumMs: 7083.5,
      durationBuckets,
    });
    const [a, b] = [await one.scrape(), await batch.scrape()];
    for (const virtual of [V1, V2]) {
      for (const name of [
        'ldir_real_server_checks_total',
        'ldir_real_server_check_duration_seconds_bucket',
        'ldir_real_server_check_duration_seconds_sum',
      ]) {
        assert.deepEqual(find(b, name, { virtual }), find(a, name, { virtual }), name);
      }
      assert.equal(value(b, 'ldir_real_server_checks_total', { virtual, real: '10.0.0.1:80', result: 'success' }), 5);
    }
  });

  test('counted quiet failures add to the failure series; counts that do not fit the buckets are refused', async () => {
    const c = status('c', `${V1} 10.0.0.1:80`);
    const t = testMetrics({ checks: [c] });
    const durationBuckets = new Float64Array(CHECK_DURATION_BUCKETS.length + 1);
    durationBuckets[0] = 4;
    t.metrics.recordQuietRounds({
      identity: 'c',
      members: c.members,
      kind: 'connect',
      passed: 1,
      failed: 3,
      durationSumMs: 2,
      durationBuckets,
    });
    t.metrics.recordQuietRounds({
      identity: 'c',
      members: c.members,
      kind: 'connect',
      passed: 0,
      failed: 0,
      durationSumMs: 0,
      durationBuckets,
    });
    const e = await t.scrape();
    const labels = { virtual: V1, real: '10.0.0.1:80' };
    assert.equal(value(e, 'ldir_real_server_checks_total', { ...labels, result: 'failure' }), 3);
    assert.equal(value(e, 'ldir_real_server_checks_total', { ...labels, result: 'success' }), 1);
    assert.equal(value(e, 'ldir_real_server_check_duration_seconds_count', labels), 4);
    assert.equal(value(e, 'ldir_real_server_check_duration_seconds_sum', labels), 0.002);
    const series = new CheckSeries(seriesFactory(new Registry(), async () => undefined));
    assert.throws(
      () =>
        series.recordQuietRounds({
          identity: 'c',
          members: c.members,
          kind: 'connect',
          passed: 1,
          failed: 0,
          durationSumMs: 1,
          durationBuckets: new Float64Array(3),
        }),
      /3 bucket counts for 15 buckets/,
    );
  });
});

describe('the pairs of a record', () => {
  test('a record counts for the pairs it names: the scheduler is not read for records, however many', async () => {
    const a = status('a', `${V1} 10.0.0.1:80`);
    const b = status('b', `${V1} 10.0.0.2:80`);
    const { metrics, src, scrape } = testMetrics({ checks: [a, b] });
    for (let i = 0; i < 100; i++) metrics.recordCheck(record(i % 2 ? a : b, true, 1));
    const fresh = status('new', `${V2} 10.0.0.7:80`);
    metrics.recordCheck(record(fresh, true, 1));
    assert.equal(src.checkReads, 0, 'no read of every check for a record');
    src.checks = [a, b, fresh];
    const e = await scrape();
    assert.equal(value(e, 'ldir_real_server_checks_total', { virtual: V2, real: '10.0.0.7:80', result: 'success' }), 1);
    assert.equal(
      value(e, 'ldir_real_server_checks_total', { virtual: V1, real: '10.0.0.1:80', result: 'success' }),
      50,
    );
  });

  test('after a reload a check that gained a virtual counts for it too, with no index rebuilt', async () => {
    const before = status('a', `${V1} 10.0.0.1:80`);
    const { metrics, src, scrape } = testMetrics({ checks: [before] });
    metrics.recordCheck(record(before, true, 1));
    const after = status('a', `${V1} 10.0.0.1:80`, `${V2} 10.0.0.1:80`);
    src.checks = [after];
    metrics.recordReload(true, 0);
    metrics.recordCheck(record(after, true, 1));
    assert.equal(src.checkReads, 0);
    const e = await scrape();
    assert.equal(value(e, 'ldir_real_server_checks_total', { virtual: V1, real: '10.0.0.1:80', result: 'success' }), 2);
    assert.equal(value(e, 'ldir_real_server_checks_total', { virtual: V2, real: '10.0.0.1:80', result: 'success' }), 1);
  });

  test('a scheduler snapshot that throws does not reach the scheduler through a record', async () => {
    const { metrics, src } = testMetrics();
    Object.defineProperty(src, 'checks', {
      get: () => {
        throw new Error('not yet');
      },
    });
    assert.doesNotThrow(() => metrics.recordCheck(record(status('a', `${V1} 10.0.0.1:80`), true, 1)));
  });
});

describe('transitions', () => {
  test('counted by target state, with the time of the last one', async () => {
    const { metrics, scrape } = testMetrics({ checks: [status('a', `${V1} 10.0.0.1:80`)] });
    const base = {
      virtualId: V1,
      realKey: '10.0.0.1:80',
      identity: 'a',
      reason: 'refused',
      checkStartedAt: 0,
      durationMs: 1,
      consecutiveFailures: 1,
    };
    metrics.recordTransition({ ...base, from: 'unknown', to: 'up', at: 1_700_000_000_000 });
    metrics.recordTransition({ ...base, from: 'up', to: 'down', at: 1_700_000_005_000 });
    metrics.recordTransition({ ...base, from: 'down', to: 'up', at: 1_700_000_009_500 });
    const e = await scrape();
    const labels = { virtual: V1, real: '10.0.0.1:80' };
    assert.equal(value(e, 'ldir_real_server_transitions_total', { ...labels, to: 'up' }), 2);
    assert.equal(value(e, 'ldir_real_server_transitions_total', { ...labels, to: 'down' }), 1);
    assert.equal(value(e, 'ldir_real_server_last_transition_timestamp_seconds', labels), 1_700_000_009.5);
    assert.equal(find(e, 'ldir_real_server_transitions_total', { reason: 'refused' }).length, 0);
    assert.ok(
      e.samples.every((s) => !Object.values(s.labels).includes('refused')),
      'reasons never become label values',
    );
  });
});
