// Slow start: the ramp's steps (whole seconds, from the kernel's weight, at least 1), when a ramp begins, and the
// engine on a fake clock: a recovered real, an undrained one, a raised weight, a lowered one, a reload, a hand-over
// and a restart that finds a ramp cut in the kernel.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nextStepIn, rampFor, rampWeight } from '../../../src/engine/slow-start';
import { loadValid } from '../../helpers/config';
import { EngineHarness } from '../../helpers/engine';
import { addrService, dest } from '../../helpers/ipvs-tables';

const VIP = 'tcp:192.0.2.1:80';

function cf(weight = 10, extra: string[] = []): string {
  return [
    'virtual=192.0.2.1:80',
    `\treal=10.0.0.1:80 masq ${weight}`,
    '\treal=10.0.0.2:80 masq 4',
    '\tslowstart=5',
    '\tquiescent=yes',
    ...extra.map((l) => `\t${l}`),
    '',
  ].join('\n');
}

/** The kernel weight of 10.0.0.1 just after each whole second for `seconds` seconds (the engine's ramp passes run meanwhile). */
async function weightsOverTime(h: EngineHarness, seconds: number): Promise<number[]> {
  const out: number[] = [];
  await h.clock.advance(50); // each step's pass runs a few ms after its second (RAMP_TIMER_LATE_MS)
  for (let i = 0; i < seconds; i++) {
    out.push(Number(/10\.0\.0\.1:80=(\d+)/.exec((await h.table())[VIP]?.join(' ') ?? '')?.[1] ?? -1));
    await h.clock.advance(1000);
  }
  return out;
}

describe('slow start: the ramp', () => {
  test('steps once per whole second, linear from the kernel weight, never below 1, the target when time is up', () => {
    const r = { since: 0, from: 0, to: 10 };
    assert.deepEqual(
      [0, 999, 1000, 2500, 3000, 4000, 4999, 5000, 60_000].map((ms) => rampWeight(r, ms, 5)),
      [1, 1, 2, 4, 6, 8, 8, 10, 10],
    );
    assert.deepEqual(
      [0, 1000, 2000, 3000].map((ms) => rampWeight({ since: 0, from: 0, to: 2 }, ms, 4)),
      [1, 1, 1, 2],
      'a small weight over a long ramp',
    );
    assert.deepEqual(
      [0, 1000, 2000].map((ms) => rampWeight({ since: 0, from: 6, to: 10 }, ms, 2)),
      [6, 8, 10],
      'from a raised weight',
    );
    assert.equal(nextStepIn({ since: 100, from: 0, to: 10 }, 1350), 750);
  });

  test('a ramp begins only when the target is above the kernel weight; it keeps going towards the same target', () => {
    assert.deepEqual(rampFor(undefined, 10, 0, 5, 42), { since: 42, from: 0, to: 10 });
    assert.equal(rampFor(undefined, 10, 10, 5, 42), undefined, 'already there (adopted at start)');
    assert.equal(rampFor(undefined, 4, 10, 5, 42), undefined, 'a lowered weight applies at once');
    const r = { since: 0, from: 0, to: 10 };
    assert.equal(rampFor(r, 10, 4, 5, 3000), r);
    assert.equal(rampFor(r, 10, 8, 5, 5000), undefined, 'time is up');
    assert.deepEqual(
      rampFor(r, 20, 4, 5, 3000),
      { since: 3000, from: 4, to: 20 },
      'a new target begins from where the kernel stands',
    );
    assert.equal(rampFor(undefined, 10, 0, 0, 42), undefined, 'slowstart=0: off');
  });
});

describe('slow start in the engine', () => {
  test('a real that comes up ramps 1 → 10 over 5 s, one kernel write per step; status and snapshot show the ramp', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    h.transition(VIP, '10.0.0.2:80', 'up');
    await h.health(VIP, { '10.0.0.1:80': 'up' });
    h.opsSinceMark();
    const snap = h.engine.snapshot().virtuals[0]?.reals.find((r) => r.realKey === '10.0.0.1:80');
    assert.deepEqual([snap?.desiredWeight, snap?.rampTo, snap?.kernelWeight], [1, 10, 1]);
    assert.deepEqual(await weightsOverTime(h, 7), [1, 2, 4, 6, 8, 10, 10]);
    assert.equal(
      h.opsSinceMark().filter((o) => o.includes('10.0.0.1:80')).length,
      5,
      'one edit per step that changes the weight',
    );
    assert.equal(h.engine.snapshot().virtuals[0]?.reals.find((r) => r.realKey === '10.0.0.1:80')?.rampTo, null);
    assert.ok(h.eventsOf('sync').some((e) => e.reason === 'ramp'));
  });

  test('a failure during the ramp takes it out at once; recovering starts a new ramp', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    await h.clock.advance(2000);
    await h.health(VIP, { '10.0.0.1:80': 'down' });
    assert.match((await h.table())[VIP]?.join(' ') ?? '', /10\.0\.0\.1:80=0/);
    await h.health(VIP, { '10.0.0.1:80': 'up' });
    assert.deepEqual(await weightsOverTime(h, 6), [1, 2, 4, 6, 8, 10]);
  });

  test('undrain and a raised weight ramp from where the kernel stands; a lowered weight applies at once', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    await h.clock.advance(6000);
    await h.engine.drain('192.0.2.1:80', '10.0.0.1:80');
    await h.engine.undrain('192.0.2.1:80', '10.0.0.1:80');
    assert.deepEqual(await weightsOverTime(h, 6), [1, 2, 4, 6, 8, 10]);
    await h.apply(await loadValid(cf(20)));
    assert.deepEqual(await weightsOverTime(h, 6), [10, 12, 14, 16, 18, 20], 'reload 10 → 20');
    await h.apply(await loadValid(cf(3)));
    assert.deepEqual(await weightsOverTime(h, 1), [3], 'reload 20 → 3: at once');
  });

  test('a ramp goes on across a reload that keeps the weight, and across a restart hand-over, on its own clock', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    await h.clock.advance(2000);
    await h.apply(await loadValid(cf(10, ['scheduler=wlc'])));
    assert.deepEqual(await weightsOverTime(h, 1), [6 - 2], 'two seconds in: 4, the reload kept the ramp');
    const carry = h.engine.exportCarryOver();
    assert.deepEqual(
      carry?.ramps?.map((r) => [r.pair, r.from, r.to]),
      [
        [`${VIP} 10.0.0.1:80`, 0, 10],
        [`${VIP} 10.0.0.2:80`, 0, 4],
      ],
    );
    const age = carry?.ramps?.[0]?.ageMs ?? 0;
    assert.ok(age >= 3000 && age < 3100, `age ${age}`);
    const next = new EngineHarness({ initial: await h.backend.list() });
    next.engine.importCarryOver(JSON.parse(JSON.stringify(carry)));
    await next.apply(await loadValid(cf(10, ['scheduler=wlc'])));
    await next.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    const left = await weightsOverTime(next, 4);
    assert.equal(left.at(-1), 10);
    assert.ok(
      left[0] !== undefined && left[0] >= 4 && left[0] < 10,
      `the successor goes on from the step reached: ${left.join(',')}`,
    );
  });

  test('a restart that finds a ramp cut in the kernel (kill -9) goes on from the kernel weight; a full weight is adopted as is', async () => {
    const table = [
      {
        service: addrService('192.0.2.1', 80),
        destinations: [dest('10.0.0.1', 80, { weight: 4 }), dest('10.0.0.2', 80, { weight: 4 })],
      },
    ];
    const h = new EngineHarness({ initial: table });
    await h.apply(await loadValid(cf()));
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    assert.deepEqual(await weightsOverTime(h, 6), [4, 6, 7, 8, 9, 10]);
    assert.match((await h.table())[VIP]?.join(' ') ?? '', /10\.0\.0\.2:80=4/, 'at its target already: no ramp');
  });

  test('without slowstart the weight is set at once (nothing changes for existing configurations)', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf(10).replace('\tslowstart=5\n', '')));
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    assert.deepEqual(await weightsOverTime(h, 1), [10]);
    assert.equal(h.engine.snapshot().virtuals[0]?.reals[0]?.rampTo, null);
  });
});
