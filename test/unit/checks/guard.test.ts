// guardCheck: whatever a checker body does, a result comes; an abort ends the check at once, noticed by the body or not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fail, guardCheck, pass, type CheckVerdict } from '../../../src/checks/guard';

/** The check's own timeout in these tests: far beyond the events they make (a result at it fails them). */
const TIMEOUT_MS = 5_000;

/** A body that never settles and never looks at its signal (a client library stuck in its TCP connect). */
const deaf = (): Promise<CheckVerdict> => new Promise(() => undefined);

test('an outer abort ends a check whose body does not notice it: down, timeout, before its own timeout', async () => {
  const outer = new AbortController();
  let inner: AbortSignal | undefined;
  const result = guardCheck(outer.signal, TIMEOUT_MS, (signal) => {
    inner = signal;
    return deaf();
  });
  outer.abort();
  const r = await result;
  assert.deepEqual([r.up, r.reason], [false, 'timeout']);
  assert.ok(r.durationMs < TIMEOUT_MS, `ended by the abort, not at its own timeout (${r.durationMs} ms)`);
  assert.equal(inner?.aborted, true, 'the body is told through its signal');
});

test('a signal aborted before the check starts: down at once, the body gets an aborted signal', async () => {
  const outer = new AbortController();
  outer.abort();
  let seen: boolean | undefined;
  const r = await guardCheck(outer.signal, TIMEOUT_MS, (signal) => {
    seen = signal.aborted;
    return deaf();
  });
  assert.deepEqual([r.up, r.reason], [false, 'timeout']);
  assert.ok(r.durationMs < TIMEOUT_MS);
  assert.equal(seen, true);
});

test("the body's verdict when it comes first; a throw becomes its reason; a hang ends at the timeout", async () => {
  const never = new AbortController().signal;
  const up = await guardCheck(never, TIMEOUT_MS, async () => pass('status 200'));
  assert.deepEqual([up.up, up.reason], [true, 'status 200']);
  const down = await guardCheck(never, TIMEOUT_MS, async () => fail('status 503'));
  assert.deepEqual([down.up, down.reason], [false, 'status 503']);
  const threw = await guardCheck(never, TIMEOUT_MS, async () => {
    throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  });
  assert.deepEqual([threw.up, threw.reason], [false, 'refused']);
  const hung = await guardCheck(never, 20, deaf);
  assert.deepEqual([hung.up, hung.reason], [false, 'timeout']);
  assert.ok(hung.durationMs >= 15, `waited for its timeout (${hung.durationMs} ms)`);
});
