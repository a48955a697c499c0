// Engine events, reloads, build info, alert counters, naming conventions and registry ownership.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { register as globalRegistry, Registry } from 'prom-client';
import { readBuildInfo } from '../../../src/metrics/build-info';
import { createMetrics } from '../../../src/metrics/metrics';
import type { AlertCounters } from '../../../src/metrics/types';
import { find, value } from './exposition';
import { real, snapshot, status, testMetrics, virtual } from './fixtures';

describe('engine events', () => {
  test('sync durations in a histogram; refused operations by kind and errno; drain phases', async () => {
    const { metrics, scrape } = testMetrics();
    for (const durationMs of [2, 30, 700]) {
      metrics.recordEvent({ type: 'sync', at: 0, reason: 'config', ok: true, durationMs, ops: 1, failed: 0, drift: 0 });
    }
    const op = { type: 'op', at: 0, virtualId: 'tcp:192.0.2.1:80', ok: false, drift: false } as const;
    metrics.recordEvent({ ...op, op: 'add-destination', errno: 'ENOENT' });
    metrics.recordEvent({ ...op, op: 'add-destination', errno: 'ENOENT' });
    metrics.recordEvent({ ...op, op: 'edit-service', errno: 'something went wrong: see log' });
    metrics.recordEvent({ ...op, op: 'edit-service', ok: true });
    metrics.recordEvent({ type: 'drain', at: 0, id: 'x', phase: 'begin' });
    metrics.recordEvent({ type: 'fallback', at: 0, virtualId: 'x', active: true });
    const e = await scrape();
    assert.equal(value(e, 'ldir_engine_sync_duration_seconds_count'), 3);
    assert.ok(Math.abs((value(e, 'ldir_engine_sync_duration_seconds_sum') ?? 0) - 0.732) < 1e-9);
    assert.equal(value(e, 'ldir_engine_sync_duration_seconds_bucket', { le: '0.025' }), 1);
    assert.equal(value(e, 'ldir_engine_sync_duration_seconds_bucket', { le: '1' }), 3);
    assert.equal(value(e, 'ldir_kernel_operation_errors_total', { op: 'add-destination', errno: 'ENOENT' }), 2);
    assert.equal(value(e, 'ldir_kernel_operation_errors_total', { op: 'edit-service', errno: 'other' }), 1);
    assert.equal(find(e, 'ldir_kernel_operation_errors_total').length, 2);
    assert.equal(value(e, 'ldir_engine_drains_total', { phase: 'begin' }), 1);
  });
});

describe('configuration reloads', () => {
  test('by result, last outcome, last success time (initially the start)', async () => {
    const { metrics, scrape } = testMetrics({}, { configLoadedAt: 1_700_000_000_000 });
    let e = await scrape();
    assert.equal(value(e, 'ldir_config_reloads_total', { result: 'success' }), 0);
    assert.equal(value(e, 'ldir_config_reloads_total', { result: 'failure' }), 0);
    assert.equal(value(e, 'ldir_config_last_reload_successful'), 1);
    assert.equal(value(e, 'ldir_config_last_reload_success_timestamp_seconds'), 1_700_000_000);
    metrics.recordReload(true, 1_700_000_050_000);
    metrics.recordReload(false, 1_700_000_060_000);
    e = await scrape();
    assert.equal(value(e, 'ldir_config_reloads_total', { result: 'success' }), 1);
    assert.equal(value(e, 'ldir_config_reloads_total', { result: 'failure' }), 1);
    assert.equal(value(e, 'ldir_config_last_reload_successful'), 0);
    assert.equal(value(e, 'ldir_config_last_reload_success_timestamp_seconds'), 1_700_000_050);
  });

  test('without a load time the success time is absent until the first reload', async () => {
    const { scrape } = testMetrics();
    assert.equal(find(await scrape(), 'ldir_config_last_reload_success_timestamp_seconds').length, 0);
  });
});

describe('build info and alerts', () => {
  test("readBuildInfo finds ldir's package.json version from the compiled directory", () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.deepEqual(readBuildInfo(), { version: pkg.version, nodeVersion: process.version });
    assert.equal(readBuildInfo('/').version, 'unknown');
  });

  test('alert counters mirrored when there is an alerter, absent otherwise', async () => {
    let counters: AlertCounters | undefined = {
      mailsSent: 4,
      mailFailures: 2,
      mailsDropped: 1,
      queueLength: 3,
      hooksRun: 9,
    };
    const { scrape } = testMetrics(
      {},
      {
        sources: { engine: () => undefined, checks: () => [], kernel: async () => [], alerts: () => counters },
      },
    );
    let e = await scrape();
    assert.equal(value(e, 'ldir_alert_mails_sent_total'), 4);
    assert.equal(value(e, 'ldir_alert_mail_failures_total'), 2);
    assert.equal(value(e, 'ldir_alert_mails_dropped_total'), 1);
    assert.equal(value(e, 'ldir_alert_mail_queue_length'), 3);
    assert.equal(value(e, 'ldir_alert_commands_total'), 9);
    assert.equal(value(e, 'ldir_alert_command_failures_total'), undefined);
    counters = undefined;
    e = await scrape();
    assert.equal(find(e, 'ldir_alert_mails_sent_total').length, 0);
    const { scrape: noAlerter } = testMetrics();
    assert.equal(find(await noAlerter(), 'ldir_alert_mails_sent_total').length, 0);
  });
});

describe('conventions', () => {
  test('names: ldir_ prefix, _total exactly on counters, base units; labels bounded to known names', async () => {
    const { metrics, scrape } = testMetrics({
      engine: snapshot([virtual('tcp:192.0.2.1:80', [real('10.0.0.1:80')])]),
      checks: [status('c', 'tcp:192.0.2.1:80 10.0.0.1:80')],
    });
    metrics.recordCheck({
      identity: 'c',
      members: [{ virtualId: 'tcp:192.0.2.1:80', realKey: '10.0.0.1:80' }],
      kind: 'connect',
      scheduledAt: 0,
      startedAt: 0,
      result: { up: true, reason: 'ok', durationMs: 1 },
    });
    metrics.recordTransition({
      virtualId: 'tcp:192.0.2.1:80',
      realKey: '10.0.0.1:80',
      identity: 'c',
      from: 'unknown',
      to: 'up',
      reason: 'ok',
      at: 0,
      checkStartedAt: 0,
      durationMs: 1,
      consecutiveFailures: 0,
    });
    metrics.recordEvent({
      type: 'op',
      at: 0,
      op: 'add-service',
      virtualId: 'x',
      ok: false,
      errno: 'EEXIST',
      drift: false,
    });
    const e = await scrape();
    const allowed = new Set([
      'virtual',
      'real',
      'state',
      'result',
      'to',
      'op',
      'errno',
      'phase',
      'reason',
      'version',
      'nodejs',
      'le',
    ]);
    for (const [name, type] of e.types) {
      assert.match(name, /^ldir_[a-z0-9_]+$/);
      assert.equal(name.endsWith('_total'), type === 'counter', `${name} is a ${type}`);
      assert.doesNotMatch(name, /_(milliseconds|ms|kilobytes|minutes)(_|$)/);
    }
    for (const s of e.samples)
      for (const k of Object.keys(s.labels)) assert.ok(allowed.has(k), `${s.name} has label ${k}`);
  });

  test("own registry: nothing in prom-client's global registry; two instances side by side; a given registry is used", async () => {
    const a = testMetrics();
    const b = testMetrics();
    assert.notEqual(a.metrics.registry, b.metrics.registry);
    await a.scrape();
    assert.equal((await globalRegistry.metrics()).includes('ldir_'), false);
    const registry = new Registry();
    const m = createMetrics({
      registry,
      sources: { engine: () => undefined, checks: () => [], kernel: async () => [] },
      buildInfo: { version: '1' },
    });
    assert.equal(m.registry, registry);
    const text = await registry.metrics();
    assert.match(text, /^ldir_build_info\{version="1",nodejs="v\d+/m);
    assert.match(text, /^process_cpu_user_seconds_total /m, 'process metrics by default');
  });

  test('callbacks never throw, whatever they are given', () => {
    const { metrics } = testMetrics();
    assert.doesNotThrow(() =>
      metrics.recordEvent({
        type: 'sync',
        at: 0,
        reason: 'x',
        ok: true,
        durationMs: Number.NaN,
        ops: 0,
        failed: 0,
        drift: 0,
      }),
    );
    assert.doesNotThrow(() =>
      metrics.recordTransition({
        virtualId: 'v',
        realKey: 'r',
        identity: 'i',
        from: 'up',
        to: 'down',
        reason: '',
        at: Number.NaN,
        checkStartedAt: 0,
        durationMs: 0,
        consecutiveFailures: 0,
      }),
    );
  });
});
