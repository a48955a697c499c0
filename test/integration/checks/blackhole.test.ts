// Checks against 10.203.0.2, an address in a test-made network namespace with nothing behind it: connect, ping
// and http must come back down at their timeout.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectCheck, createConnectChecker } from '../../../src/checks/connect';
import { createHttpChecker } from '../../../src/checks/http';
import { pingCheck } from '../../../src/checks/ping';
import { openTcpProber } from '../../../src/checks/tcp-prober';
import { assertResult, makeJob, NEVER } from '../../helpers/check-job';
import { makeBlackhole, type Blackhole } from '../../helpers/netns-blackhole';
import { IN_CI } from '../../helpers/system';

let hole: Blackhole | string = 'not built';

before(() => {
  hole = makeBlackhole();
});
const prober = openTcpProber();
after(() => {
  prober?.close();
  if (typeof hole !== 'string') hole.teardown();
});

/** The silent address, or skips the test with the reason (fails in CI). */
function address(t: { skip(msg: string): void }): string | undefined {
  if (typeof hole === 'string') {
    assert.ok(!IN_CI, hole);
    t.skip(hole);
    return undefined;
  }
  return hole.address;
}

test('connect to a silent address times out', async (t) => {
  const a = address(t);
  if (!a) return;
  const r = await connectCheck(makeJob({ type: 'connect', address: a, port: 80, checkTimeoutMs: 600 }), NEVER);
  assertResult(r, false, /^timeout$/, 550);
});

test('ping of a silent address is down after checkcount attempts', async (t) => {
  const a = address(t);
  if (!a) return;
  const r = await pingCheck(makeJob({ type: 'ping', address: a, pingCount: 2, checkTimeoutMs: 400 }), NEVER);
  assertResult(r, false, /no echo reply \(2 attempts\)|unavailable/);
  if (!/unavailable/.test(r.reason)) assert.ok(r.durationMs >= 750, `two attempts of 400 ms took ${r.durationMs} ms`);
});

test('http to a silent address times out', async (t) => {
  const a = address(t);
  if (!a) return;
  const r = await createHttpChecker()(
    makeJob({ service: 'http', address: a, port: 80, negotiateTimeoutMs: 600 }),
    NEVER,
  );
  assertResult(r, false, /^timeout$/, 550);
});

test('native: connect and http to a silent address time out', async (t) => {
  const a = address(t);
  if (!a) return;
  if (!prober) {
    assert.ok(!IN_CI, 'native addon not built');
    t.skip('native addon not built');
    return;
  }
  const c = await createConnectChecker(prober)(
    makeJob({ type: 'connect', address: a, port: 80, checkTimeoutMs: 600 }),
    NEVER,
  );
  assertResult(c, false, /^timeout$/, 550);
  const h = await createHttpChecker({ prober })(
    makeJob({ service: 'http', address: a, port: 80, negotiateTimeoutMs: 600 }),
    NEVER,
  );
  assertResult(h, false, /^timeout$/, 550);
});
