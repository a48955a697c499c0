// RowSeries and BulkHistogram.writeLines (issue 21, big tables): the lines they write straight into the sliced
// exposition are the bytes prom-client's own Gauge, Counter and Registry write for the same operations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Registry } from 'prom-client';
import { BulkHistogram } from '../../../src/metrics/bulk-histogram';
import { RowSeries } from '../../../src/metrics/row-series';
import { renderExposition } from '../../../src/metrics/sliced-exposition';

/** A small deterministic generator (the same sequence on every run). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

/** The lines of an exposition, sorted: RowSeries groups rows by label value, prom-client keeps first-set order. */
const lines = (t: string): string => t.split('\n').sort().join('\n');

/** A registry's JSON with each metric's values sorted (the same values in another order compare equal). */
const sortedJson = async (r: Registry): Promise<unknown> => {
  const key = (v: { labels: object; value: number }): string =>
    JSON.stringify([Object.entries(v.labels).sort(), v.value]);
  return (await r.getMetricsAsJSON()).map((m) => ({
    ...m,
    values: [...m.values].sort((a, b) => (key(a) < key(b) ? -1 : 1)),
  }));
};

const text = async (registry: Registry, sliceMs?: number): Promise<string> => {
  const r = await renderExposition(registry, sliceMs);
  return Buffer.concat(r.chunks as Buffer[], r.length).toString('utf8');
};

describe('RowSeries', () => {
  it('writes what prom-client writes for the same sets, incs, removes and resets (labels with quotes, backslashes, newlines)', async () => {
    const random = lcg(7);
    const ours = new Registry();
    const theirs = new Registry();
    const labelNames = ['virtual', 'real'] as const;
    const rowGauge = new RowSeries({
      name: 'x_gauge',
      help: 'A gauge.\nTwo lines \\ one backslash.',
      type: 'gauge',
      labelNames,
      registers: [ours],
    });
    const rowCounter = new RowSeries({
      name: 'x_total',
      help: 'A counter.',
      type: 'counter',
      labelNames: ['virtual', 'real', 'result'],
      registers: [ours],
    });
    const gauge = new Gauge({
      name: 'x_gauge',
      help: 'A gauge.\nTwo lines \\ one backslash.',
      labelNames,
      registers: [theirs],
    });
    const counter = new Counter({
      name: 'x_total',
      help: 'A counter.',
      labelNames: ['virtual', 'real', 'result'],
      registers: [theirs],
    });
    const virtuals = ['tcp:10.0.0.1:80', 'fwm:7', 'odd "quoted" \\ back\nslash'];
    for (let step = 0; step < 3_000; step++) {
      const labels = {
        virtual: virtuals[Math.floor(random() * virtuals.length)] as string,
        real: `10.1.0.${Math.floor(random() * 40)}:80`,
      };
      const what = random();
      if (what < 0.4) {
        const v = [0, 1, -3.5, 1e21, 2 ** 53 + 2, Number.POSITIVE_INFINITY, Number.NaN][
          Math.floor(random() * 7)
        ] as number;
        rowGauge.set(labels, v);
        gauge.set(labels, v);
      } else if (what < 0.8) {
        const result = random() < 0.5 ? 'success' : 'failure';
        const by = Math.floor(random() * 3);
        rowCounter.inc({ ...labels, result }, by);
        counter.inc({ ...labels, result }, by);
      } else if (what < 0.97) {
        rowGauge.remove(labels);
        gauge.remove(labels);
        rowCounter.remove({ ...labels, result: 'success' });
        counter.remove({ ...labels, result: 'success' });
      } else {
        rowGauge.reset();
        gauge.reset();
      }
      if (step % 500 === 499) assert.equal(lines(await text(ours, 0)), lines(await theirs.metrics()), `step ${step}`);
    }
    assert.ok(rowGauge.size > 0 && rowCounter.size > 0);
    assert.equal(lines(await text(ours)), lines(await theirs.metrics()));
    assert.equal(
      lines(await ours.metrics()),
      lines(await theirs.metrics()),
      'prom-client renders a RowSeries the same through get()',
    );
    assert.deepEqual(await sortedJson(ours), await sortedJson(theirs));
  });

  it('a rewrite has the samples of a reset and the same writes, keeping the rows it writes again', async () => {
    const random = lcg(11);
    const ours = new Registry();
    const theirs = new Registry();
    const labelNames = ['virtual', 'real'] as const;
    const rows = new RowSeries({ name: 'x_total', help: 'A counter.', type: 'counter', labelNames, registers: [ours] });
    const counter = new Counter({ name: 'x_total', help: 'A counter.', labelNames, registers: [theirs] });
    for (let scrape = 0; scrape < 40; scrape++) {
      rows.rewrite();
      counter.reset();
      // Each "scrape" writes a random subset of 30 reals again, some more than once (inc adds within one rewrite).
      for (let i = 0; i < 30; i++) {
        if (random() < 0.3) continue;
        const labels = { virtual: '10.0.0.1:80', real: `10.1.0.${i}:80` };
        const times = random() < 0.2 ? 2 : 1;
        for (let k = 0; k < times; k++) {
          const by = Math.floor(random() * 1_000);
          rows.inc(labels, by);
          counter.inc(labels, by);
        }
      }
      if (scrape % 2 === 0) await rows.dropStale();
      assert.equal(lines(await text(ours, 0)), lines(await theirs.metrics()), `scrape ${scrape}`);
      assert.deepEqual(
        (await ours.getMetricsAsJSON())[0]?.values.length,
        (await theirs.getMetricsAsJSON())[0]?.values.length,
      );
    }
    // A row written again in the next rewrite starts at 0; the ones not written are gone after dropStale.
    rows.rewrite();
    rows.inc({ virtual: 'v', real: 'r' }, 1);
    await rows.dropStale();
    rows.rewrite();
    rows.inc({ virtual: 'v', real: 'r' }, 2);
    const after = await rows.get();
    assert.equal(after.values.length, 1);
    assert.equal(after.values[0]?.value, 2, 'a rewrite starts every row again at 0');
    assert.deepEqual(after.values[0]?.labels, { virtual: 'v', real: 'r' });
    assert.equal(rows.size, 1);
  });

  it('gives the event loop turns while it writes 100,000 rows', async () => {
    const registry = new Registry();
    const rows = new RowSeries({
      name: 'x_up',
      help: 'Up.',
      type: 'gauge',
      labelNames: ['virtual', 'real'],
      registers: [registry],
    });
    for (let i = 0; i < 100_000; i++)
      rows.set({ virtual: 'tcp:10.0.0.1:80', real: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:80` }, i & 1);
    const r = await renderExposition(registry, 1);
    assert.ok(r.yields > 0, 'turns given');
    assert.equal(
      Buffer.concat(r.chunks as Buffer[])
        .toString('utf8')
        .split('\n')
        .filter((l) => l.startsWith('x_up{')).length,
      100_000,
    );
  });
});

describe('BulkHistogram.writeLines', () => {
  it('writes the lines prom-client writes from its getForPromString()', async () => {
    const registry = new Registry();
    const h = new BulkHistogram({
      name: 'x_seconds',
      help: 'Durations.',
      labelNames: ['virtual', 'real'],
      buckets: [0.001, 0.01, 0.1, 1],
      registers: [registry],
    });
    const random = lcg(3);
    for (let i = 0; i < 500; i++)
      h.observe({ virtual: `tcp:10.0.0.${i % 3}:80`, real: `10.1.0.${i % 17}:80` }, random() * 2);
    h.addCounts({ virtual: 'fwm:1', real: '[2001:db8::1]:80' }, [1, 2, 3, 4, 5], 12.5);
    h.remove({ virtual: 'tcp:10.0.0.1:80', real: '10.1.0.1:80' });
    assert.equal(await text(registry, 0), await registry.metrics());
  });
});
