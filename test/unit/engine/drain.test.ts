// The drain state machine: begin, idle → end, timeout → end, gone → end, re-added → cancelled; pure and immutable.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  beginDrain,
  cancelDrain,
  drainId,
  EMPTY_DRAIN,
  isDrainIdle,
  stepDrain as stepDrainOverIndex,
  type DrainOptions,
  type DrainState,
  type DrainTarget,
} from '../../../src/engine/drain';
import { indexObserved } from '../../../src/engine/observed';
import type { IpvsDestination, IpvsService, ObservedService } from '../../../src/ipvs/types';
import { addrService, dest, fwmService } from '../../helpers/ipvs-tables';

const WEB = addrService('192.0.2.1', 80);
const MARK = fwmService(7);
const OPTIONS = { timeoutMs: 30_000 };

/** An observed service whose destinations have the given active (and inactive, persistence template) counts. */
function observed(service: IpvsService, dests: Array<[IpvsDestination, number, number?, number?]>): ObservedService {
  return {
    service,
    destinations: dests.map(([d, activeConns, inactiveConns = 0, persistentConns = 0]) => ({
      ...d,
      activeConns,
      inactiveConns,
      persistentConns,
    })),
  };
}

/** One drain step against a dump, indexed as a table pass indexes it. */
const stepDrain = (state: DrainState, dump: readonly ObservedService[], now: number, options: DrainOptions) =>
  stepDrainOverIndex(state, indexObserved(dump), now, options);

const realTarget = (address: string, port = 80): DrainTarget => ({
  kind: 'destination',
  service: WEB,
  destination: { address, port, family: 'inet' },
});

describe('drain state machine', () => {
  test('ids name the service, or the service and the destination', () => {
    assert.equal(drainId({ kind: 'service', service: MARK }), 'fwm:7');
    assert.equal(drainId(realTarget('10.0.0.2')), 'tcp:192.0.2.1:80 10.0.0.2:80');
    assert.equal(
      drainId({
        kind: 'destination',
        service: WEB,
        destination: { address: '2001:db8::2', port: 80, family: 'inet6' },
      }),
      'tcp:192.0.2.1:80 [2001:db8::2]:80',
    );
  });

  test('a destination with active connections keeps draining; it ends when they are gone (idle)', () => {
    const s0 = beginDrain(EMPTY_DRAIN, [realTarget('10.0.0.2')], 1_000);
    assert.equal(isDrainIdle(EMPTY_DRAIN), true);
    assert.equal(EMPTY_DRAIN.entries.size, 0, 'EMPTY_DRAIN is never mutated');
    const busy = stepDrain(s0, [observed(WEB, [[dest('10.0.0.2', 80, { weight: 0 }), 4]])], 5_000, OPTIONS);
    assert.deepEqual(busy.finished, []);
    assert.equal(busy.state, s0, 'nothing changed: same state object');
    const idle = stepDrain(busy.state, [observed(WEB, [[dest('10.0.0.2', 80, { weight: 0 }), 0]])], 6_000, OPTIONS);
    assert.deepEqual(
      idle.finished.map((f) => [f.entry.id, f.why]),
      [['tcp:192.0.2.1:80 10.0.0.2:80', 'idle']],
    );
    assert.equal(isDrainIdle(idle.state), true);
  });

  test('inactive connections (UDP flows, closing TCP) and persistence templates hold a drain as active ones do', () => {
    const s0 = beginDrain(EMPTY_DRAIN, [realTarget('10.0.0.2')], 0);
    const d = dest('10.0.0.2', 80, { weight: 0 });
    const udpOnly = stepDrain(s0, [observed(WEB, [[d, 0, 7, 0]])], 1_000, OPTIONS);
    assert.deepEqual(udpOnly.finished, [], 'UDP flows are inactive to IPVS: still draining');
    const pinned = stepDrain(s0, [observed(WEB, [[d, 0, 0, 2]])], 1_000, OPTIONS);
    assert.deepEqual(pinned.finished, [], 'persistence templates still send their clients here: still draining');
    const done = stepDrain(s0, [observed(WEB, [[d, 0, 0, 0]])], 1_000, OPTIONS);
    assert.deepEqual(
      done.finished.map((f) => f.why),
      ['idle'],
    );
    const late = stepDrain(s0, [observed(WEB, [[d, 0, 7, 2]])], 30_000, OPTIONS);
    assert.deepEqual(
      late.finished.map((f) => f.why),
      ['timeout'],
      'draintimeout still ends it',
    );
    const service = beginDrain(EMPTY_DRAIN, [{ kind: 'service', service: MARK }], 0);
    const templates = [
      observed(MARK, [
        [dest('10.0.1.1', 0, { forward: 'route' }), 0, 0, 1],
        [dest('10.0.1.2', 0, { forward: 'route' }), 0],
      ]),
    ];
    assert.deepEqual(stepDrain(service, templates, 10, OPTIONS).finished, [], 'a whole service too');
  });

  test('it ends at the timeout even with active connections, measured from when draining began', () => {
    let s = beginDrain(EMPTY_DRAIN, [realTarget('10.0.0.2')], 1_000);
    s = beginDrain(s, [realTarget('10.0.0.2')], 20_000);
    assert.equal(
      s.entries.get('tcp:192.0.2.1:80 10.0.0.2:80')?.since,
      1_000,
      'a second removal does not restart the clock',
    );
    const table = [observed(WEB, [[dest('10.0.0.2', 80, { weight: 0 }), 9]])];
    assert.deepEqual(stepDrain(s, table, 30_999, OPTIONS).finished, []);
    assert.deepEqual(
      stepDrain(s, table, 31_000, OPTIONS).finished.map((f) => f.why),
      ['timeout'],
    );
  });

  test('an entry the kernel no longer has ends at once (gone)', () => {
    const s = beginDrain(EMPTY_DRAIN, [realTarget('10.0.0.2'), { kind: 'service', service: MARK }], 0);
    const step = stepDrain(s, [observed(WEB, [[dest('10.0.0.3', 80), 5]])], 1, OPTIONS);
    assert.deepEqual(step.finished.map((f) => [f.entry.id, f.why]).sort(), [
      ['fwm:7', 'gone'],
      ['tcp:192.0.2.1:80 10.0.0.2:80', 'gone'],
    ]);
  });

  test('a whole service drains until none of its destinations has an active connection', () => {
    const s = beginDrain(EMPTY_DRAIN, [{ kind: 'service', service: MARK }], 0);
    const busy = [
      observed(MARK, [
        [dest('10.0.1.1', 0, { forward: 'route' }), 0],
        [dest('10.0.1.2', 0, { forward: 'route' }), 2],
      ]),
    ];
    assert.deepEqual(stepDrain(s, busy, 10, OPTIONS).finished, []);
    const empty = [observed(MARK, [[dest('10.0.1.1', 0, { forward: 'route' }), 0]])];
    assert.deepEqual(
      stepDrain(s, empty, 20, OPTIONS).finished.map((f) => f.why),
      ['idle'],
    );
    assert.deepEqual(
      stepDrain(s, [observed(MARK, [])], 20, OPTIONS).finished.map((f) => f.why),
      ['idle'],
      'no destination left',
    );
  });

  test('a target that comes back in a later config stops draining; the others keep draining', () => {
    const s = beginDrain(EMPTY_DRAIN, [realTarget('10.0.0.2'), realTarget('10.0.0.3')], 0);
    const back = cancelDrain(s, (e) => e.id !== 'tcp:192.0.2.1:80 10.0.0.2:80');
    assert.deepEqual([...back.entries.keys()], ['tcp:192.0.2.1:80 10.0.0.3:80']);
    assert.equal(s.entries.size, 2, 'the previous state is untouched');
    assert.equal(
      cancelDrain(back, () => true),
      back,
      'nothing cancelled: same state object',
    );
  });

  test('addresses are compared in canonical form', () => {
    const s = beginDrain(
      EMPTY_DRAIN,
      [{ kind: 'destination', service: WEB, destination: { address: '2001:DB8:0::2', port: 80, family: 'inet6' } }],
      0,
    );
    const step = stepDrain(s, [observed(WEB, [[dest('2001:db8::2', 80), 1]])], 1, OPTIONS);
    assert.deepEqual(step.finished, []);
  });
});
