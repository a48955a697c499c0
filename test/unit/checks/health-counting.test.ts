// The counting rule of one check: failures in a row take a real down, successes in a row bring it back.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countResult, type CountedCheck, type CountOutcome } from '../../../src/checks/health-counting';
import type { Health } from '../../../src/model/health';

/** A check at `health` counting with `failureCount` 3 and `riseCount` 2. */
function check(health: Health, forcedDown = false): CountedCheck & { health: Health } {
  return { health, failures: 0, successes: 0, forcedDown, target: { failureCount: 3, riseCount: 2 } };
}

/** Counts results (`+` success, `-` failure, `m` forced failure), applying each change of health as the scheduler does. */
function run(c: CountedCheck & { health: Health }, results: string): CountOutcome[] {
  return [...results].map((r) => {
    const outcome = countResult(c, r === '+', r === 'm');
    if (outcome === 'up' || outcome === 'down') c.health = outcome;
    return outcome;
  });
}

describe('countResult', () => {
  test('an unknown real changes at its first result', () => {
    assert.deepEqual(run(check('unknown'), '-'), ['down']);
    assert.deepEqual(run(check('unknown'), '+'), ['up']);
  });

  test('an up real goes down at the failureCount-th failure in a row; a success in between starts the count over', () => {
    const c = check('up');
    assert.deepEqual(run(c, '--+---'), [
      'soft-failure',
      'soft-failure',
      'same',
      'soft-failure',
      'soft-failure',
      'down',
    ]);
    assert.deepEqual([c.failures, c.successes], [3, 0]);
  });

  test('a down real is up again at the riseCount-th success in a row; a failure starts the count over', () => {
    const c = check('down');
    assert.deepEqual(run(c, '+-++'), ['soft-success', 'same', 'soft-success', 'up']);
  });

  test('a forced down (maintenance) is at once, and its next success decides alone', () => {
    const c = check('up');
    assert.deepEqual(run(c, 'm'), ['down']);
    assert.equal(c.forcedDown, true);
    assert.deepEqual(run(c, '+'), ['up']);
  });

  test('a failure of its own check after a forced down brings the rise count back', () => {
    const c = check('up');
    assert.deepEqual(run(c, 'm-+'), ['down', 'same', 'soft-success']);
    assert.equal(c.forcedDown, false);
  });
});
