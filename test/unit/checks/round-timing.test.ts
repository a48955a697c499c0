import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextRoundDue } from '../../../src/checks/round-timing';
import { CheckScheduler } from '../../../src/checks/scheduler';
import type { CheckJob } from '../../../src/checks/types';
import type { CheckTarget } from '../../../src/checks/jobs';
import { FakeClock } from '../../helpers/fake-clock';

describe('nextRoundDue', () => {
  it('on time or a little late: one interval after the round was due, never drifting', () => {
    assert.equal(nextRoundDue(300, 300, 1000), 1300);
    assert.equal(nextRoundDue(300, 1299, 1000), 1300);
  });

  it('an interval or more late: the first time of its own place at least half an interval after the late start', () => {
    assert.equal(nextRoundDue(300, 1300, 1000), 2300);
    assert.equal(nextRoundDue(300, 15_050, 1000), 16_300);
    assert.equal(nextRoundDue(300, 15_350, 1000), 16_300);
    assert.equal(nextRoundDue(300, 15_850, 1000), 17_300);
    for (const started of [1300, 2000, 4321, 9999, 15_050]) {
      const due = nextRoundDue(300, started, 1000);
      assert.equal((due - 300) % 1000, 0, 'its own place');
      assert.ok(due - started >= 500 && due - started <= 1500, `gap ${due - started}`);
    }
  });
});

function target(address: string): CheckTarget {
  const job = {
    type: 'connect',
    address,
    port: 80,
    checkTimeoutMs: 500,
    negotiateTimeoutMs: 500,
  } as unknown as CheckJob;
  return {
    identity: `id-${address}`,
    job,
    intervalMs: 1000,
    failureCount: 1,
    riseCount: 1,
    members: [{ virtualId: 'tcp:192.0.2.1:80', realKey: `${address}:80` }],
  } as unknown as CheckTarget;
}

describe('CheckScheduler after a stall', () => {
  it('rounds bunched by a stall longer than the interval go back to their places in it', async () => {
    const clock = new FakeClock();
    const starts = new Map<string, number[]>();
    // Places 0, 100, ..., 900 in the interval, one per check, in the order the checks start.
    let n = 0;
    const scheduler = new CheckScheduler({
      clock,
      random: () => (n++ % 10) / 10,
      onTransition: () => undefined,
      run: async (job) => {
        const address = (job as unknown as { address: string }).address;
        starts.set(address, [...(starts.get(address) ?? []), clock.monotonic()]);
        return { up: true, reason: 'ok', durationMs: 0 } as never;
      },
    });
    const addresses = Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}`);
    scheduler.sync(addresses.map(target));
    await clock.advance(3000);
    const placeOf = (t: number): number => Math.round(t % 1000);
    const placesBefore = addresses.map((a) => placeOf(starts.get(a)!.at(-1)!)).sort((x, y) => x - y);
    assert.equal(new Set(placesBefore).size, 10, `ten places before the stall: ${placesBefore.join(',')}`);

    clock.stall(2500);
    const resumed = clock.monotonic();
    await clock.advance(0);
    const late = addresses.map((a) => starts.get(a)!.at(-1)!);
    assert.ok(
      late.every((t) => t === resumed),
      'every round missed in the stall ran at once when it ended',
    );
    await clock.advance(2000);
    for (const a of addresses) {
      const after = starts.get(a)!.filter((t) => t > resumed);
      assert.ok(after.length >= 1, `${a} ran again after the stall`);
      const gap = after[0]! - resumed;
      assert.ok(gap >= 500 && gap <= 1500, `${a}: ${gap} ms from the late round to the next`);
    }
    const placesAfter = addresses.map((a) => placeOf(starts.get(a)!.at(-1)!)).sort((x, y) => x - y);
    assert.deepEqual(placesAfter, placesBefore, 'back at their places (bunched at one place before the fix)');
    scheduler.stop();
  });
});
