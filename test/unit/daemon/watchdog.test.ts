// The checker watchdog's pure verdict: each reason, both at once, the boundaries 2 × (interval + timeout) and
// 3 × resync, no false alarm at start, after a reload or during a hand-over pause, exempt checks never overdue.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CheckFreshness } from '../../../src/checks/scheduler';
import {
  CHECK_OVERDUE_FACTOR,
  describeVerdict,
  ENGINE_STALL_FACTOR,
  watchdogVerdict,
  type ChecksOverdue,
  type EngineStalled,
  type WatchdogInput,
} from '../../../src/daemon/watchdog';
import type { PassLiveness } from '../../../src/engine/sync-loop';

const V = 'tcp:192.0.2.1:80';

/** A check of one real (interval 5 s, timeout 3 s: limit 16 s) started at 0 with its last result at `last`. */
function check(real: string, last: number | undefined, more: Partial<CheckFreshness> = {}): CheckFreshness {
  return {
    identity: `connect::tcp:${real}#x`,
    members: [{ virtualId: V, realKey: real }],
    intervalMs: 5_000,
    timeoutMs: 3_000,
    startedAt: 0,
    ...(last !== undefined ? { lastResultAt: last } : {}),
    ...more,
  };
}

/** An engine whose last pass finished at `last` (resync 10 s: limit 30 s), due since 0. */
function engine(last: number | undefined, more: Partial<PassLiveness> = {}): PassLiveness {
  return {
    resyncIntervalMs: 10_000,
    dueSince: 0,
    held: false,
    ...(last !== undefined ? { lastPassAt: last } : {}),
    ...more,
  };
}

const verdict = (
  now: number,
  checks: readonly CheckFreshness[],
  eng: PassLiveness | undefined = engine(now),
): ReturnType<typeof watchdogVerdict> => {
  const input: WatchdogInput = { now, checks, engine: eng };
  return watchdogVerdict(input);
};

describe('checker watchdog verdict', () => {
  test('the factors are those of the issue: 2 x (interval + timeout), 3 x resync', () => {
    assert.equal(CHECK_OVERDUE_FACTOR, 2);
    assert.equal(ENGINE_STALL_FACTOR, 3);
  });

  test('ok: recent results and a recent pass', () => {
    const v = verdict(100_000, [check('10.0.0.1:80', 95_000), check('10.0.0.2:80', 90_000)], engine(99_000));
    assert.deepEqual(v, { ok: true, reasons: [], checksOverdue: 0 });
    assert.equal(describeVerdict(v), 'ok');
  });

  test('checks-overdue at just past 2 x (interval + timeout), not at it', () => {
    const limit = 2 * (5_000 + 3_000);
    assert.equal(verdict(50_000 + limit, [check('10.0.0.1:80', 50_000)]).ok, true, 'an age equal to the limit is ok');
    const v = verdict(50_000 + limit + 1, [check('10.0.0.1:80', 50_000)]);
    assert.equal(v.ok, false);
    assert.equal(v.checksOverdue, 1);
    const r = v.reasons[0] as ChecksOverdue;
    assert.equal(r.code, 'checks-overdue');
    assert.deepEqual(r.worst, { virtualId: V, realKey: '10.0.0.1:80' });
    assert.equal(r.reals, 1);
    assert.equal(r.limitSeconds, 16);
    assert.equal(r.ageSeconds, 16);
    assert.match(
      r.message,
      /^checks-overdue: 1 real without a check result for more than 2 x \(interval \+ timeout\); worst tcp:192\.0\.2\.1:80 10\.0\.0\.1:80: 16 s \(limit 16 s\)$/,
    );
  });

  test('each check has its own limit: a slow interval is not overdue when a fast one would be', () => {
    const slow = check('10.0.0.1:80', 0, { intervalMs: 60_000, timeoutMs: 10_000 }); // limit 140 s
    const fast = check('10.0.0.2:80', 0, { intervalMs: 1_000, timeoutMs: 1_000 }); // limit 4 s
    const v = verdict(100_000, [slow, fast]);
    assert.equal(v.checksOverdue, 1);
    assert.deepEqual((v.reasons[0] as ChecksOverdue).worst.realKey, '10.0.0.2:80');
    assert.equal((v.reasons[0] as ChecksOverdue).limitSeconds, 4);
  });

  test('counts every overdue (virtual, real) pair, names the one longest without a result', () => {
    const shared: CheckFreshness = {
      ...check('10.0.0.3:80', 10_000),
      members: [
        { virtualId: V, realKey: '10.0.0.3:80' },
        { virtualId: 'tcp:192.0.2.2:80', realKey: '10.0.0.3:80' },
      ],
    };
    const v = verdict(100_000, [check('10.0.0.1:80', 40_000), check('10.0.0.2:80', 99_000), shared]);
    assert.equal(v.checksOverdue, 3, 'two pairs of the shared check and one more');
    const r = v.reasons[0] as ChecksOverdue;
    assert.equal(r.reals, 3);
    assert.deepEqual(r.worst, { virtualId: V, realKey: '10.0.0.3:80' });
    assert.equal(r.ageSeconds, 90);
    assert.match(r.message, /3 reals without/);
  });

  test('no result yet: measured from the start of the check (a daemon just started, a reload that adds reals)', () => {
    // The daemon started at 0; a reload at 200 s added 10.0.0.2, which has no result yet.
    const added = check('10.0.0.2:80', undefined, { startedAt: 200_000 });
    assert.equal(
      verdict(200_000, [check('10.0.0.1:80', undefined)], engine(0)).ok,
      false,
      'baseline: a check never answered since 0 is overdue',
    );
    assert.equal(verdict(10_000, [check('10.0.0.1:80', undefined)], engine(9_000)).ok, true, 'just started');
    assert.equal(
      verdict(216_000, [check('10.0.0.1:80', 210_000), added], engine(215_000)).ok,
      true,
      'just added by a reload',
    );
    const late = verdict(216_001, [check('10.0.0.1:80', 210_000), added], engine(215_000));
    assert.equal(late.checksOverdue, 1);
    assert.equal((late.reasons[0] as ChecksOverdue).worst.realKey, '10.0.0.2:80');
  });

  test('checks that run nothing (checktype on|off) and reals in maintenance are never overdue', () => {
    const checks = [
      check('10.0.0.1:80', undefined, { exempt: 'no-check' }),
      check('10.0.0.2:80', 0, { exempt: 'maintenance' }),
    ];
    assert.deepEqual(verdict(10_000_000, checks, engine(10_000_000)), { ok: true, reasons: [], checksOverdue: 0 });
    const back = check('10.0.0.2:80', 0); // out of maintenance, its check no longer answers
    assert.equal(verdict(10_000_000, [back], engine(10_000_000)).checksOverdue, 1);
  });

  test('engine-stalled at just past 3 x the resync interval since the last pass, not at it', () => {
    assert.equal(verdict(70_000, [], engine(40_000)).ok, true);
    const v = verdict(70_001, [], engine(40_000));
    assert.equal(v.ok, false);
    assert.equal(v.checksOverdue, 0);
    const r = v.reasons[0] as EngineStalled;
    assert.equal(r.code, 'engine-stalled');
    assert.equal(r.ageSeconds, 30);
    assert.equal(r.limitSeconds, 30);
    assert.equal(
      r.message,
      'engine-stalled: no kernel sync pass has finished for 30 s (limit 30 s: 3 x the 10 s resync interval)',
    );
  });

  test('engine: no pass ever finished counts from when passes became due; none due yet is not stalled', () => {
    assert.equal(
      verdict(1_000_000, [], { resyncIntervalMs: 10_000, held: false }).ok,
      true,
      'no pass asked for yet (no configuration)',
    );
    assert.equal(verdict(35_000, [], engine(undefined, { dueSince: 5_000 })).ok, true);
    const v = verdict(35_001, [], engine(undefined, { dueSince: 5_000 }));
    assert.equal(v.reasons[0]?.code, 'engine-stalled');
    assert.match(v.reasons[0]?.message ?? '', /no kernel sync pass has finished in the 30 s since one was due/);
  });

  test('engine: a pause for a restart hand-over, or a stop, is not a stall; after the pause it counts from its end', () => {
    assert.equal(verdict(500_000, [], engine(10_000, { held: true })).ok, true, 'paused long after the last pass');
    // Resumed at 400 s: the last pass (10 s) was before the pause; the resume's own pass is not through yet.
    assert.equal(verdict(430_000, [], engine(10_000, { dueSince: 400_000 })).ok, true);
    assert.equal(verdict(430_001, [], engine(10_000, { dueSince: 400_000 })).reasons[0]?.code, 'engine-stalled');
    assert.equal(verdict(1_000_000, [], undefined).ok, true, 'no engine yet');
  });

  test('both reasons at once, checks first; the one-line description names both', () => {
    const v = verdict(100_000, [check('10.0.0.1:80', 0)], engine(0));
    assert.deepEqual(
      v.reasons.map((r) => r.code),
      ['checks-overdue', 'engine-stalled'],
    );
    const line = describeVerdict(v);
    assert.match(
      line,
      /^watchdog: checks-overdue: 1 real .* 10\.0\.0\.1:80: 100 s \(limit 16 s\); engine-stalled: no kernel sync pass has finished for 100 s/,
    );
    assert.ok(!line.includes('\n'));
  });

  test('ages are seconds to 0.1 s', () => {
    const late = verdict(17_260, [check('10.0.0.1:80', 1_000)]);
    assert.equal((late.reasons[0] as ChecksOverdue).ageSeconds, 16.3);
  });
});
