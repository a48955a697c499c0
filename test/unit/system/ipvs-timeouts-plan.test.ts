// The pure planner of the IPVS connection timeouts: set, unchanged, restore, leave, changed elsewhere; one write.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IpvsTimeoutSettings } from '../../../src/model';
import { claimsAfter, planTimeouts, type TimeoutClaims } from '../../../src/system/ipvs-timeouts-plan';

const SOURCE = { file: '/etc/ha.d/x.cf', line: 3 };
const KERNEL = { tcp: 900, tcpFin: 120, udp: 300 };
const want = (tcp: number, tcpFin: number, udp: number, restore = false): IpvsTimeoutSettings => ({
  tcp,
  tcpFin,
  udp,
  restore,
  source: SOURCE,
});
const actions = (p: ReturnType<typeof planTimeouts>): string[] =>
  p.steps.map((s) => `${s.name} ${s.action} ${s.current}->${s.target}`);

describe('planTimeouts', () => {
  test('nothing configured and nothing held: no step, no write, no claim', () => {
    assert.deepEqual(planTimeouts(undefined, KERNEL, {}), { steps: [], claims: {} });
  });

  test('a first apply sets only the configured timeouts in one write (0 for the others) and claims them with what it found', () => {
    const p = planTimeouts(want(7200, 0, 600, true), KERNEL, {});
    assert.deepEqual(actions(p), ['tcp set 900->7200', 'udp set 300->600']);
    assert.deepEqual(p.write, { tcp: 7200, tcpFin: 0, udp: 600 });
    assert.deepEqual(p.claims, {
      tcp: { found: 900, set: 7200, restore: true },
      udp: { found: 300, set: 600, restore: true },
    });
  });

  test('the kernel already has them: unchanged, no write, still claimed (a restore then has nothing to give back)', () => {
    const p = planTimeouts(want(900, 0, 0), KERNEL, {});
    assert.deepEqual(actions(p), ['tcp unchanged 900->900']);
    assert.equal(p.write, undefined);
    assert.deepEqual(p.claims, { tcp: { found: 900, set: 900, restore: false } });
  });

  test('a reload that changes a value keeps what was found first; the new restore flag is taken', () => {
    const p = planTimeouts(
      want(3600, 0, 0, true),
      { ...KERNEL, tcp: 7200 },
      { tcp: { found: 900, set: 7200, restore: false } },
    );
    assert.deepEqual(actions(p), ['tcp set 7200->3600']);
    assert.deepEqual(p.claims, { tcp: { found: 900, set: 3600, restore: true } });
  });

  test('a configured value changed outside ldir is set again at the next apply', () => {
    const p = planTimeouts(
      want(7200, 0, 0),
      { ...KERNEL, tcp: 1000 },
      { tcp: { found: 900, set: 7200, restore: false } },
    );
    assert.deepEqual(actions(p), ['tcp set 1000->7200']);
    assert.deepEqual(p.claims.tcp, { found: 900, set: 7200, restore: false });
  });

  test('letting go (stop, or a reload without it): restore writes back what was found; otherwise the value stays', () => {
    const claims: TimeoutClaims = {
      tcp: { found: 900, set: 7200, restore: true },
      tcpFin: { found: 120, set: 60, restore: false },
      udp: { found: 300, set: 600, restore: true },
    };
    const p = planTimeouts(undefined, { tcp: 7200, tcpFin: 60, udp: 45 }, claims);
    assert.deepEqual(actions(p), ['tcp restore 7200->900', 'tcpfin leave 60->60', 'udp changed-elsewhere 45->45']);
    assert.deepEqual(p.write, { tcp: 900, tcpFin: 0, udp: 0 });
    assert.deepEqual(p.claims, {});
  });

  test('a reload that drops one timeout lets go of it alone; the others are kept in one write', () => {
    const claims: TimeoutClaims = {
      tcp: { found: 900, set: 7200, restore: true },
      udp: { found: 300, set: 600, restore: true },
    };
    const p = planTimeouts(want(0, 0, 60, true), { tcp: 7200, tcpFin: 120, udp: 600 }, claims);
    assert.deepEqual(actions(p), ['tcp restore 7200->900', 'udp set 600->60']);
    assert.deepEqual(p.write, { tcp: 900, tcpFin: 0, udp: 60 });
    assert.deepEqual(p.claims, { udp: { found: 300, set: 60, restore: true } });
  });

  test('nothing to give back: a restore whose found value is the current one, or 0, writes nothing', () => {
    const p = planTimeouts(undefined, KERNEL, {
      tcp: { found: 900, set: 900, restore: true },
      udp: { found: 0, set: 300, restore: true },
    });
    assert.deepEqual(actions(p), ['tcp leave 900->900', 'udp leave 300->300']);
    assert.equal(p.write, undefined);
  });

  test('claimsAfter: a refused write keeps the claim from before (a refused restore is tried again, a refused first set claims nothing)', () => {
    const before: TimeoutClaims = { tcp: { found: 900, set: 7200, restore: true } };
    const p = planTimeouts(want(0, 0, 600), { tcp: 7200, tcpFin: 120, udp: 300 }, before);
    assert.deepEqual(claimsAfter(p, before, new Set(['tcp', 'udp'])), before);
    assert.deepEqual(claimsAfter(p, before, new Set()), { udp: { found: 300, set: 600, restore: false } });
  });
});
