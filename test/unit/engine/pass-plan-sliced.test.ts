// A table pass in slices (issue 21, big tables): planPassSliced decides and plans exactly what planPass does, and a
// pass over a big table gives the event loop turns between virtual services.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { beginDrain, EMPTY_DRAIN } from '../../../src/engine/drain';
import { afterOps, afterOpsSliced, indexObserved, indexObservedSliced } from '../../../src/engine/observed';
import { describeOp, describeOps, describeOpsInParts, type OpRecord } from '../../../src/engine/op-report';
import { planPass, type PassPlanInput } from '../../../src/engine/pass-plan';
import { planPassSliced } from '../../../src/engine/pass-plan-sliced';
import { plan } from '../../../src/engine/plan';
import { tableFingerprint } from '../../../src/engine/table-fingerprint';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { serviceKeyString } from '../../../src/ipvs/normalize';
import type { DesiredService } from '../../../src/ipvs/types';
import { pairKey, type Health } from '../../../src/model/health';
import { SliceYielder } from '../../../src/system/slice-yielder';
import { loadValid } from '../../helpers/config';
import { EngineHarness } from '../../helpers/engine';
import { addrService, dest } from '../../helpers/ipvs-tables';
import { countLoopTurns } from '../../helpers/loop-turns';

const REALS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'];

/** A random table's parts: virtual services with reals, their health, hand settings and what the kernel has. */
const virtualArb = fc.record({
  reals: fc.uniqueArray(fc.constantFrom(...REALS), { minLength: 1, maxLength: REALS.length }),
  weights: fc.array(fc.nat({ max: 5 }), { minLength: REALS.length, maxLength: REALS.length }),
  quiescent: fc.boolean(),
  fallback: fc.boolean(),
  health: fc.array(fc.constantFrom<Health | 'none'>('up', 'down', 'unknown', 'none'), {
    minLength: REALS.length,
    maxLength: REALS.length,
  }),
  drained: fc.array(fc.boolean(), { minLength: REALS.length, maxLength: REALS.length }),
  override: fc.array(fc.option(fc.nat({ max: 9 }), { nil: undefined }), {
    minLength: REALS.length,
    maxLength: REALS.length,
  }),
  inKernel: fc.array(fc.option(fc.nat({ max: 5 }), { nil: undefined }), {
    minLength: REALS.length,
    maxLength: REALS.length,
  }),
  serviceInKernel: fc.boolean(),
});

const tableArb = fc.record({
  virtuals: fc.array(virtualArb, { minLength: 1, maxLength: 4 }),
  /** A service of the kernel the configuration does not have: foreign, managed, or draining. */
  leftover: fc.constantFrom('none', 'foreign', 'managed', 'draining'),
});

type Table = typeof tableArb extends fc.Arbitrary<infer T> ? T : never;

const vip = (i: number): string => `192.0.2.${i + 1}`;
const LEFTOVER = addrService('192.0.2.99', 80);

/** planPass's input for a random table (the kernel listed from a memory backend, as a pass lists it). */
async function inputOf(t: Table): Promise<PassPlanInput> {
  const lines = ['quiescent=no'];
  t.virtuals.forEach((v, i) => {
    lines.push(`virtual=${vip(i)}:80`, `\tquiescent=${v.quiescent ? 'yes' : 'no'}`);
    if (v.fallback) lines.push('\tfallback=10.0.0.9:80 masq');
    for (const r of v.reals) lines.push(`\treal=${r}:80 masq ${v.weights[REALS.indexOf(r)]}`);
  });
  const config = await loadValid(`${lines.join('\n')}\n`);
  const health = new Map<string, Health>();
  const manualDrains = new Set<string>();
  const weightOverrides = new Map<string, number>();
  const kernel: DesiredService[] = [];
  t.virtuals.forEach((v, i) => {
    const id = `tcp:${vip(i)}:80`;
    for (const [j, r] of REALS.entries()) {
      const pk = pairKey(id, `${r}:80`);
      const h = v.health[j];
      if (h !== undefined && h !== 'none') health.set(pk, h);
      if (v.drained[j]) manualDrains.add(pk);
      const o = v.override[j];
      if (o !== undefined) weightOverrides.set(pk, o);
    }
    if (!v.serviceInKernel) return;
    const destinations = REALS.flatMap((r, j) => {
      const w = v.inKernel[j];
      return w === undefined ? [] : [dest(r, 80, { weight: w })];
    });
    kernel.push({ service: addrService(vip(i), 80, { scheduler: 'wlc' }), destinations });
  });
  if (t.leftover !== 'none') kernel.push({ service: LEFTOVER, destinations: [dest('10.0.0.7', 80)] });
  const index = indexObserved(await new MemoryBackend(kernel).list());
  const managedIds = new Set(config.virtualServices.map((v) => v.id));
  if (t.leftover === 'managed') managedIds.add(serviceKeyString(LEFTOVER));
  const drainState =
    t.leftover === 'draining' ? beginDrain(EMPTY_DRAIN, [{ kind: 'service', service: LEFTOVER }], 0) : EMPTY_DRAIN;
  return {
    decide: { config, health, manualDrains, weightOverrides },
    drainState,
    index,
    now: 1_000,
    drainTimeoutMs: 60_000,
    managed: (id) => managedIds.has(id),
  };
}

/** A yielder whose slice is always used up: every step gives the event loop a turn. */
const everyStep = (): SliceYielder => new SliceYielder(0);

describe('table pass in slices', () => {
  test('planPassSliced decides and plans exactly what planPass does (random tables, a turn at every step)', async () => {
    await fc.assert(
      fc.asyncProperty(tableArb, async (t) => {
        const input = await inputOf(t);
        const whole = planPass(input);
        const steps: unknown[] = [];
        const yielder = everyStep();
        const sliced = await planPassSliced(input, yielder, (state, finished) => steps.push({ state, finished }));
        assert.deepEqual(sliced.decision, whole.decision);
        assert.deepEqual(sliced.want, whole.want);
        assert.deepEqual(sliced.ops, whole.ops);
        assert.deepEqual(sliced.drainState, whole.drainState);
        assert.deepEqual(sliced.finished, whole.finished);
        assert.deepEqual(steps, [{ state: whole.drainState, finished: whole.finished }], 'the drain step, once');
        assert.deepEqual(sliced.fingerprint, tableFingerprint(whole.want));
        assert.ok(yielder.yields >= input.decide.config.virtualServices.length, `${yielder.yields} turns`);
        // the report of its operations, in parts: the same records as in one piece
        const refused = new Map(sliced.ops.filter((_, i) => i % 3 === 1).map((op) => [op, 'EINVAL']));
        const context = {
          decision: sliced.decision,
          lastFailed: new Set(sliced.ops.slice(0, 1).map(describeOp)),
          unchangedSinceConverged: sliced.ops.length % 2 === 0,
          isDraining: (id: string) => id.startsWith(serviceKeyString(LEFTOVER)),
        };
        const parts: OpRecord[][] = [];
        for await (const part of describeOpsInParts(sliced.ops, refused, context, everyStep(), 2)) parts.push(part);
        assert.ok(parts.every((p) => p.length <= 2));
        assert.deepEqual(parts.flat(), describeOps(sliced.ops, refused, context));
        // and what it plans is plan()'s contract: the kernel after the operations plans to nothing
        const after = afterOps(input.index, sliced.ops);
        assert.deepEqual(
          plan(
            [...sliced.want],
            [...after.values()].map((e) => ({ service: e.service, destinations: [...e.destinations.values()] })),
            (key) => input.managed(serviceKeyString(key)),
          ),
          [],
        );
      }),
      { seed: 20261207, numRuns: 150 },
    );
  });

  test('the index of a dump and the table after the operations are the same in slices, the index given unchanged', async () => {
    const service = addrService('192.0.2.1', 80);
    const kernel = [{ service, destinations: REALS.map((r, i) => dest(r, 80, { weight: i })) }];
    const dump = await new MemoryBackend(kernel).list();
    const whole = indexObserved(dump);
    const yielder = everyStep();
    const sliced = await indexObservedSliced(dump, yielder);
    assert.deepEqual(sliced, whole);
    const frozen = structuredClone(whole);
    // several edits, an add and a delete in one service: its destinations are copied once, the input kept
    const ops = plan(
      [{ service, destinations: [...REALS.slice(1).map((r) => dest(r, 80, { weight: 7 })), dest('10.0.0.8', 80)] }],
      dump,
      () => true,
    );
    assert.ok(ops.length >= 6, `${ops.length} operations`);
    const afterWhole = afterOps(whole, ops);
    assert.deepEqual(await afterOpsSliced(whole, ops, everyStep()), afterWhole);
    assert.deepEqual(whole, frozen, 'the index given is not changed');
    const applied = new MemoryBackend(kernel);
    await applied.apply(ops);
    const settings = (i: ReadonlyMap<string, { destinations: ReadonlyMap<string, { weight: number }> }>): unknown =>
      [...i].map(([id, e]) => [id, [...e.destinations].map(([d, x]) => [d, x.weight]).sort()]);
    assert.deepEqual(settings(afterWhole), settings(indexObserved(await applied.list())));
  });

  test('an engine pass over a big table gives the event loop a turn between virtual services, and writes the same table', async () => {
    const virtuals = 30;
    const lines: string[] = [];
    for (let v = 0; v < virtuals; v++) {
      lines.push(`virtual=192.0.2.${v + 1}:80`);
      for (let r = 0; r < 40; r++) lines.push(`\treal=10.0.${v}.${r + 1}:80 masq 2`);
    }
    const config = await loadValid(`${lines.join('\n')}\n`);
    const counted: SliceYielder[] = [];
    const sliced = new EngineHarness({
      passYielder: () => {
        const y = everyStep();
        counted.push(y);
        return y;
      },
    });
    const whole = new EngineHarness({ passYielder: () => new SliceYielder(Number.POSITIVE_INFINITY) });
    const loop = countLoopTurns();
    try {
      const report = await sliced.engine.applyConfig(config);
      assert.equal(report.ok, true);
      const during = loop.turns();
      assert.ok(during >= virtuals, `the event loop turned ${during} times during the pass`);
      assert.ok(counted.length >= 1 && (counted[0]?.yields ?? 0) >= virtuals, `yields ${counted[0]?.yields}`);
    } finally {
      loop.stop();
    }
    await whole.engine.applyConfig(config);
    assert.deepEqual(await sliced.table(), await whole.table());
    for (let v = 0; v < virtuals; v++) {
      for (let r = 0; r < 40; r += 3) {
        const to = r % 2 === 0 ? 'up' : 'down';
        sliced.transition(`tcp:192.0.2.${v + 1}:80`, `10.0.${v}.${r + 1}:80`, to);
        whole.transition(`tcp:192.0.2.${v + 1}:80`, `10.0.${v}.${r + 1}:80`, to);
      }
    }
    await Promise.all([sliced.engine.sync('health'), whole.engine.sync('health')]);
    assert.deepEqual(
      await sliced.table(),
      await whole.table(),
      'a health pass in slices writes what one in one piece does',
    );
  });
});
