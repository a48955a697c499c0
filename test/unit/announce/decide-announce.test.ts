// The announce decision (pure): votes, hold-downs, undecided virtuals, shared addresses, the next wake-up.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decideAnnounce,
  sortPrefixes,
  type AnnounceCandidate,
  type AnnounceDecision,
  type AnnounceMemory,
  type ServeState,
} from '../../../src/announce/decide-announce';

const A = '192.0.2.10/32';
const B = '192.0.2.11/32';
const V6 = '2001:db8::10/128';

function cand(virtualId: string, prefix: string, serve: ServeState, delayS = 0, withdrawS = 0): AnnounceCandidate {
  return { virtualId, prefix, serve, delayMs: delayS * 1000, withdrawDelayMs: withdrawS * 1000 };
}

/** A run of decisions over time, each fed the previous memory and the prefixes it decided (as the driver took them). */
class Run {
  memory: ReadonlyMap<string, AnnounceMemory> = new Map();
  announced = new Set<string>();
  at(now: number, candidates: AnnounceCandidate[]): AnnounceDecision {
    const d = decideAnnounce({ candidates, memory: this.memory, announced: this.announced, now });
    this.memory = d.memory;
    this.announced = new Set(d.prefixes);
    return d;
  }
}

describe('decideAnnounce', () => {
  test('up is announced, down withdrawn, with every reason named', () => {
    const d = new Run().at(0, [cand('a', A, 'up'), cand('b', B, 'down')]);
    assert.deepEqual(d.prefixes, [A]);
    assert.deepEqual(
      d.virtuals.map((v) => [v.virtualId, v.state, v.reason]),
      [
        ['a', 'announced', 'serving'],
        ['b', 'withdrawn', 'not-serving'],
      ],
    );
    assert.equal(d.nextInMs, undefined);
  });

  test('announcedelay: pending until the virtual has served that long, then announced; the wake-up says when', () => {
    const run = new Run();
    let d = run.at(1_000, [cand('a', A, 'up', 5)]);
    assert.deepEqual(d.prefixes, []);
    assert.deepEqual(
      [d.virtuals[0]?.state, d.virtuals[0]?.reason, d.virtuals[0]?.dueInMs, d.nextInMs],
      ['pending-announce', 'announce-delay', 5_000, 5_000],
    );
    d = run.at(4_000, [cand('a', A, 'up', 5)]);
    assert.deepEqual([d.virtuals[0]?.state, d.nextInMs], ['pending-announce', 2_000]);
    d = run.at(6_000, [cand('a', A, 'up', 5)]);
    assert.deepEqual(d.prefixes, [A]);
    assert.equal(d.virtuals[0]?.state, 'announced');
  });

  test('a flap inside announcedelay starts the delay again', () => {
    const run = new Run();
    run.at(0, [cand('a', A, 'up', 5)]);
    run.at(3_000, [cand('a', A, 'down', 5)]);
    let d = run.at(4_000, [cand('a', A, 'up', 5)]);
    assert.equal(d.virtuals[0]?.dueInMs, 5_000);
    d = run.at(8_999, [cand('a', A, 'up', 5)]);
    assert.deepEqual(d.prefixes, []);
    assert.deepEqual(run.at(9_000, [cand('a', A, 'up', 5)]).prefixes, [A]);
  });

  test('withdrawdelay: an announced virtual below quorum stays announced that long; back up meanwhile, nothing changes', () => {
    const run = new Run();
    run.at(0, [cand('a', A, 'up', 0, 4)]);
    let d = run.at(10_000, [cand('a', A, 'down', 0, 4)]);
    assert.deepEqual(d.prefixes, [A]);
    assert.deepEqual(
      [d.virtuals[0]?.state, d.virtuals[0]?.reason, d.nextInMs],
      ['pending-withdraw', 'withdraw-delay', 4_000],
    );
    d = run.at(12_000, [cand('a', A, 'up', 0, 4)]);
    assert.deepEqual([d.prefixes, d.virtuals[0]?.state], [[A], 'announced']);
    run.at(13_000, [cand('a', A, 'down', 0, 4)]);
    assert.deepEqual(run.at(16_999, [cand('a', A, 'down', 0, 4)]).prefixes, [A]);
    d = run.at(17_000, [cand('a', A, 'down', 0, 4)]);
    assert.deepEqual([d.prefixes, d.virtuals[0]?.state, d.virtuals[0]?.reason], [[], 'withdrawn', 'not-serving']);
  });

  test('an announced prefix is kept by a serving virtual without its announcedelay (a restart, a shared address)', () => {
    const run = new Run();
    run.announced = new Set([A]);
    const d = run.at(0, [cand('a', A, 'up', 30)]);
    assert.deepEqual([d.prefixes, d.virtuals[0]?.state], [[A], 'announced']);
  });

  test('not decided yet: what the routing daemon holds is kept, nothing new is announced', () => {
    const run = new Run();
    run.announced = new Set([A]);
    const d = run.at(0, [cand('a', A, 'pending'), cand('b', B, 'pending')]);
    assert.deepEqual(d.prefixes, [A]);
    assert.deepEqual(
      d.virtuals.map((v) => [v.state, v.reason]),
      [
        ['announced', 'not-decided'],
        ['withdrawn', 'not-decided'],
      ],
    );
    assert.equal(d.memory.size, 0);
  });

  test('pending keeps the memory: the announcedelay counts from when the virtual came up', () => {
    const run = new Run();
    run.at(0, [cand('a', A, 'up', 5)]);
    run.at(2_000, [cand('a', A, 'pending', 5)]);
    assert.deepEqual(run.at(5_000, [cand('a', A, 'up', 5)]).prefixes, [A]);
  });

  test('virtuals sharing an address: announced while any of them can serve', () => {
    const run = new Run();
    let d = run.at(0, [cand('http', A, 'up'), cand('https', A, 'down')]);
    assert.deepEqual(d.prefixes, [A]);
    d = run.at(1_000, [cand('http', A, 'down'), cand('https', A, 'down')]);
    assert.deepEqual(d.prefixes, []);
    d = run.at(2_000, [cand('http', A, 'down'), cand('https', A, 'up')]);
    assert.deepEqual(d.prefixes, [A]);
  });

  test('virtuals that left the configuration are forgotten; prefixes are sorted IPv4 first, without repeats', () => {
    const run = new Run();
    run.at(0, [cand('a', A, 'up'), cand('old', B, 'up')]);
    const d = run.at(1_000, [cand('v6', V6, 'up'), cand('b', B, 'up'), cand('a', A, 'up')]);
    assert.deepEqual(d.prefixes, [A, B, V6]);
    assert.deepEqual([...d.memory.keys()].sort(), ['a', 'b', 'v6']);
    assert.deepEqual(sortPrefixes([V6, B, A, B]), [A, B, V6]);
  });
});
