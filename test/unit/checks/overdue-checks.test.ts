// CheckScheduler.overdue() (issue 21, big tables): the checker watchdog's count of overdue checks equals the walk of
// freshness() at every step, and reads made while no check can be overdue yet walk nothing (100,000 identities).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckTarget } from '../../../src/checks/jobs';
import type { Clock, TimerHandle } from '../../../src/clock';
import { OverdueWatch } from '../../../src/checks/overdue-checks';
import { CheckScheduler } from '../../../src/checks/scheduler';
import type { CheckJob, CheckResult } from '../../../src/checks/types';
import { CHECK_OVERDUE_FACTOR, overdueOf } from '../../../src/daemon/watchdog';
import { makeJob } from '../../helpers/check-job';
import { FakeClock } from '../../helpers/fake-clock';

function target(address: string, intervalMs = 1_000): CheckTarget {
  return {
    identity: `id-${address}`,
    job: makeJob({
      type: 'connect',
      service: 'http',
      address,
      port: 80,
      realPort: 80,
      virtualHost: '192.0.2.1',
      checkTimeoutMs: 2_000,
      negotiateTimeoutMs: 7_000,
    }),
    connectsBetweenNegotiates: 0,
    failureCount: 1,
    riseCount: 1,
    intervalMs,
    members: [{ virtualId: 'tcp:192.0.2.1:80', realKey: `${address}:80` }],
  };
}

/** Answers up after 10 ms of fake time, except for addresses in `hang` (their rounds end at their timeout). */
function runner(clock: FakeClock, hang: ReadonlySet<string>) {
  return (job: CheckJob, _kind: unknown, signal: AbortSignal): Promise<CheckResult> =>
    new Promise((resolve) => {
      signal.addEventListener('abort', () => resolve({ up: false, reason: 'aborted', durationMs: 0 }), { once: true });
      if (!hang.has(job.address)) clock.setTimeout(() => resolve({ up: true, reason: 'ok', durationMs: 10 }), 10);
    });
}

describe('CheckScheduler.overdue', () => {
  it('counts what the watchdog counts from freshness(), now and later (overdue then): hangs, maintenance, reloads', async () => {
    const clock = new FakeClock();
    const hang = new Set<string>();
    let maintenance = false;
    const scheduler = new CheckScheduler({
      clock,
      random: () => 0,
      run: runner(clock, hang),
      maintenance: (address) => maintenance && address === '10.0.0.3',
    });
    let overdueSeen = 0;
    const same = (step: string): void => {
      // Asked at later times too: a checker that froze now would be overdue then (what the watchdog must see).
      for (const later of [0, 3_000, 7_000, 20_000, 0]) {
        const now = clock.monotonic() + later;
        const counted = scheduler.overdue(now, CHECK_OVERDUE_FACTOR);
        assert.deepEqual(counted, overdueOf(now, scheduler.freshness()), `${step} (+${later} ms)`);
        if (counted.reals > 0) overdueSeen++;
      }
    };
    scheduler.sync([target('10.0.0.1'), target('10.0.0.2', 5_000), target('10.0.0.3')]);
    same('started');
    for (let i = 0; i < 8; i++) {
      await clock.advance(700);
      same(`healthy, ${clock.monotonic()} ms`);
    }
    hang.add('10.0.0.1');
    maintenance = true;
    for (let i = 0; i < 8; i++) {
      await clock.advance(900);
      same(`a hang and maintenance, ${clock.monotonic()} ms`);
    }
    maintenance = false;
    hang.clear();
    scheduler.sync([target('10.0.0.1'), target('10.0.0.3'), target('10.0.0.4', 500)]); // a reload: one less, a faster one
    for (let i = 0; i < 8; i++) {
      await clock.advance(450);
      same(`after the reload, ${clock.monotonic()} ms`);
    }
    assert.ok(overdueSeen > 0, 'some reads were of overdue checks');
    scheduler.stop();
  });

  it('reads while no check can be overdue walk no identity: 100,000 checks, 1,000 reads, one scan; a reload scans again', () => {
    // A clock whose timers never fire (the fake clock's list of timers is linear: too slow for 100,000 of them).
    const clock: Clock = {
      now: () => 1_000,
      monotonic: () => 1_000,
      setTimeout: () => 0 as unknown as TimerHandle,
      clearTimeout: () => undefined,
    };
    const scheduler = new CheckScheduler({
      clock,
      random: () => 0.5,
      run: () => new Promise<CheckResult>(() => undefined),
    });
    const targets: CheckTarget[] = [];
    for (let i = 0; i < 100_000; i++)
      targets.push(target(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 60_000));
    scheduler.sync(targets);
    const watch = scheduler.overdueWatch;
    const before = watch.scans;
    for (let i = 0; i < 1_000; i++)
      assert.equal(scheduler.overdue(clock.monotonic() + i, CHECK_OVERDUE_FACTOR).reals, 0);
    assert.equal(watch.scans - before, 1, 'one walk of the 100,000 identities, then none');
    scheduler.sync([...targets, target('10.200.0.1', 1_000)]);
    scheduler.overdue(clock.monotonic(), CHECK_OVERDUE_FACTOR);
    scheduler.overdue(clock.monotonic(), CHECK_OVERDUE_FACTOR);
    assert.equal(watch.scans - before, 2, 'an added identity makes the next read walk once');
    const limit = CHECK_OVERDUE_FACTOR * (1_000 + 2_000);
    assert.equal(
      scheduler.overdue(clock.monotonic() + limit + 1, CHECK_OVERDUE_FACTOR).reals,
      1,
      'past the earliest limit it walks and finds the overdue check',
    );
    scheduler.stop();
  });
});

describe('OverdueWatch', () => {
  it('skips the scan only inside the bound of its last scan, with the same factor, until invalidated', () => {
    const watch = new OverdueWatch();
    const member = [{ virtualId: 'v', realKey: 'r' }];
    const scan = (visit: Parameters<Parameters<OverdueWatch['read']>[2]>[0]): void =>
      visit(member, 0, 1_000, 1_000, false);
    assert.equal(watch.read(0, 2, scan).reals, 0);
    assert.equal(watch.read(4_000, 2, scan).reals, 0, 'an age equal to the limit is fine');
    assert.equal(watch.scans, 1);
    assert.equal(watch.read(4_001, 2, scan).reals, 1);
    assert.equal(watch.read(4_002, 2, scan).reals, 1, 'while one is overdue every read scans');
    assert.equal(watch.scans, 3);
    assert.equal(watch.read(0, 3, scan).reals, 0);
    assert.equal(watch.read(0, 2, scan).reals, 0, 'another factor scans');
    assert.equal(watch.scans, 5);
    watch.invalidate();
    watch.read(0, 2, scan);
    assert.equal(watch.scans, 6);
  });
});
