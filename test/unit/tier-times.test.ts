import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TierTimer, tierOf } from '../tools/tier-times';

test("a file's tier is the folder right under test/, wherever the checkout is", () => {
  assert.equal(tierOf('/tmp/ci-clone/dist/test/unit/config/lexer.test.js'), 'unit');
  assert.equal(tierOf('/work/main/dist/test/kernel/host-runs-guest-tests.test.js'), 'kernel');
  assert.equal(tierOf('/x/test/fuzz/control.test.js'), 'fuzz');
  assert.equal(tierOf('/x/elsewhere.test.js'), 'other');
  assert.equal(tierOf('/x/test/loose.test.js'), 'other');
});

test('per tier: top-level durations summed, tests counted without suites, files counted, tiers in run order', () => {
  const timer = new TierTimer();
  const unit = '/c/dist/test/unit/a.test.js';
  const unitB = '/c/dist/test/unit/b.test.js';
  const kernel = '/c/dist/test/kernel/host-runs-guest-tests.test.js';
  timer.add({ type: 'test:pass', data: { file: kernel, nesting: 0, details: { duration_ms: 600_000 } } });
  timer.add({ type: 'test:pass', data: { file: unit, nesting: 1, details: { duration_ms: 40_000 } } });
  timer.add({ type: 'test:pass', data: { file: unit, nesting: 1, details: { duration_ms: 20_000 } } });
  timer.add({ type: 'test:pass', data: { file: unit, nesting: 0, details: { duration_ms: 60_000, type: 'suite' } } });
  timer.add({ type: 'test:fail', data: { file: unitB, nesting: 0, details: { duration_ms: 30_000 } } });
  timer.add({ type: 'test:diagnostic', data: { file: unitB, nesting: 0 } });
  timer.add({ type: 'test:pass', data: { nesting: 0, details: { duration_ms: 5 } } });
  assert.deepEqual(timer.times(), [
    { tier: 'unit', ms: 90_000, tests: 3, files: 2 },
    { tier: 'kernel', ms: 600_000, tests: 1, files: 1 },
  ]);
  assert.equal(
    timer.render(),
    "# time per tier (sum of its files' top-level tests): unit 1.5 min (3 tests, 2 files); kernel 10.0 min (1 tests, 1 files); all 11.5 min\n",
  );
});

test('no test ran: nothing printed', () => {
  assert.equal(new TierTimer().render(), '');
});
