// ConnectionSlots on a fake clock: an address over its share loses its idle connections once past the grace (never a
// busy one, never one that has just arrived); at the bound the longest-connected idle connection goes, an address over
// its share first; with every connection busy a new one is refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionSlots, type EvictionReason, type SlotLimits } from '../../../src/system/connection-slots';
import { FakeClock } from '../../helpers/fake-clock';

function setup(limits: Partial<SlotLimits> = {}): {
  clock: FakeClock;
  slots: ConnectionSlots<string>;
  evicted: string[];
} {
  const clock = new FakeClock();
  const evicted: string[] = [];
  const slots = new ConnectionSlots<string>(
    { maxConnections: 10, maxPerAddress: 3, graceMs: 1_000, ...limits },
    clock,
    (c: string, why: EvictionReason) => evicted.push(`${c} ${why}`),
  );
  return { clock, slots, evicted };
}

describe('ConnectionSlots', () => {
  it('an address over its share keeps its share: its oldest idle connections go once past the grace', async () => {
    const { clock, slots, evicted } = setup();
    for (let i = 1; i <= 6; i++) assert.equal(slots.admit(`a${i}`, '127.0.0.1'), true);
    await clock.advance(999);
    assert.deepEqual(evicted, [], 'within the grace: time to send a request');
    slots.setBusy('a1', true); // a request in progress is never taken back
    await clock.advance(600);
    assert.deepEqual(evicted, ['a2 per-address', 'a3 per-address', 'a4 per-address']);
    assert.equal(slots.sizeOf('127.0.0.1'), 3);
    assert.equal(clock.pending(), 0, 'no timer once every address is within its share');
    assert.deepEqual(slots.stats(), { refused: 0, capacity: 0, perAddress: 3 });
  });

  it('a newcomer from a flooding address is safe for the grace, and served if its request comes in it', async () => {
    const { clock, slots, evicted } = setup();
    for (let i = 1; i <= 3; i++) slots.admit(`flood${i}`, '127.0.0.1');
    await clock.advance(2_000);
    slots.admit('scraper', '127.0.0.1');
    await clock.advance(10);
    slots.setBusy('scraper', true); // its request arrived
    await clock.advance(2_000);
    assert.deepEqual(evicted, ['flood1 per-address'], 'the oldest idle one went, not the scraper');
    slots.setBusy('scraper', false); // response done: idle again, with a fresh grace
    slots.release('flood2');
    slots.release('flood3');
    for (const c of ['flood4', 'flood5', 'flood6']) slots.admit(c, '127.0.0.1');
    await clock.advance(999);
    assert.deepEqual(evicted, ['flood1 per-address'], 'connected 2 s ago, but idle for less than the grace');
    await clock.advance(600);
    assert.deepEqual(
      evicted,
      ['flood1 per-address', 'scraper per-address'],
      'then the longest-connected idle one goes',
    );
  });

  it('other addresses keep their connections while one floods', async () => {
    const { clock, slots, evicted } = setup();
    slots.admit('prometheus', '192.0.2.7');
    for (let i = 1; i <= 8; i++) slots.admit(`f${i}`, '127.0.0.1');
    await clock.advance(5_000);
    assert.equal(slots.sizeOf('192.0.2.7'), 1);
    assert.equal(slots.sizeOf('127.0.0.1'), 3);
    assert.equal(evicted.length, 5);
  });

  it('at the bound the longest-connected idle connection goes, of an address over its share first; all busy: refused', async () => {
    const { clock, slots, evicted } = setup({ maxConnections: 4, graceMs: 60_000 });
    slots.admit('p', '192.0.2.7');
    slots.admit('q', '192.0.2.8');
    slots.admit('f1', '127.0.0.1');
    slots.admit('f2', '127.0.0.1');
    assert.equal(slots.admit('f3', '127.0.0.1'), true, 'the bound closes the oldest idle connection for it');
    assert.deepEqual(evicted, ['p capacity'], 'no address over its share yet: simply the oldest');
    assert.equal(slots.admit('f4', '127.0.0.1'), true);
    assert.equal(slots.admit('f5', '127.0.0.1'), true);
    assert.deepEqual(evicted, ['p capacity', 'q capacity', 'f1 capacity']);
    assert.equal(slots.admit('r', '192.0.2.9'), true);
    assert.deepEqual(
      evicted.at(-1),
      'f2 capacity',
      'the flooding address (4 of 4, over its 3) gives up its oldest first',
    );
    for (const c of ['f3', 'f4', 'f5', 'r']) slots.setBusy(c, true);
    assert.equal(slots.admit('s', '192.0.2.10'), false, 'every connection busy: refused');
    assert.equal(slots.size(), 4);
    assert.deepEqual(slots.stats(), { refused: 1, capacity: 4, perAddress: 0 });
    slots.release('f3');
    assert.equal(slots.admit('s', '192.0.2.10'), true);
    slots.stop();
    assert.equal(clock.pending(), 0);
  });

  it('release of an unknown or already evicted connection changes nothing', () => {
    const { slots } = setup({ maxConnections: 1 });
    slots.admit('a', '127.0.0.1');
    slots.admit('b', '127.0.0.1');
    slots.release('a');
    slots.release('zzz');
    assert.equal(slots.size(), 1);
    assert.equal(slots.sizeOf('127.0.0.1'), 1);
  });
});
