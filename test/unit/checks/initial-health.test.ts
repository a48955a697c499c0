// What a check target starts with before its first round: checktype=off from the kernel weights, a carried health.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { healthOfTarget, initialHealthFromKernel } from '../../../src/checks/initial-health';
import type { CheckTarget } from '../../../src/checks/jobs';
import { pairKey } from '../../../src/model/health';

/** A target of check type `type` shared by the pairs `members` (`[virtual, real]`). */
function target(type: string, members: ReadonlyArray<readonly [string, string]>): CheckTarget {
  return {
    job: { type },
    members: members.map(([virtualId, realKey]) => ({ virtualId, realKey })),
  } as unknown as CheckTarget;
}

describe('initial health of a check target', () => {
  const weights = new Map<string, number | null>([
    [pairKey('a', 'r1'), 5],
    [pairKey('a', 'r2'), 0],
    [pairKey('b', 'r1'), null],
  ]);

  test('checktype=off: up when a pair has a weight above 0 in the kernel, else down', () => {
    assert.equal(initialHealthFromKernel(target('off', [['a', 'r1']]), weights), 'up');
    assert.equal(initialHealthFromKernel(target('off', [['a', 'r2']]), weights), 'down');
    assert.equal(initialHealthFromKernel(target('off', [['b', 'r1']]), weights), 'down');
    assert.equal(initialHealthFromKernel(target('off', [['c', 'r9']]), weights), 'down');
    assert.equal(
      initialHealthFromKernel(
        target('off', [
          ['a', 'r2'],
          ['a', 'r1'],
        ]),
        weights,
      ),
      'up',
    );
  });

  test('every other check type starts unknown (its first round decides)', () => {
    assert.equal(initialHealthFromKernel(target('connect', [['a', 'r1']]), weights), undefined);
    assert.equal(initialHealthFromKernel(target('on', [['a', 'r1']]), weights), undefined);
  });

  test("a carried health: the first member's up or down; unknown carries nothing", () => {
    const health = new Map([
      [pairKey('a', 'r1'), 'up' as const],
      [pairKey('a', 'r2'), 'unknown' as const],
    ]);
    assert.equal(
      healthOfTarget(
        target('connect', [
          ['a', 'r1'],
          ['a', 'r2'],
        ]),
        health,
      ),
      'up',
    );
    assert.equal(healthOfTarget(target('connect', [['a', 'r2']]), health), undefined);
    assert.equal(healthOfTarget(target('connect', []), health), undefined);
  });
});
