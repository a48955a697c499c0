// renderExposition: the same bytes as prom-client's Registry.metrics() (labels escaped, shared labels, histograms,
// ldir's BulkHistogram, special values), while giving the event loop turns on a big registry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { BulkHistogram } from '../../../src/metrics/bulk-histogram';
import { renderExposition } from '../../../src/metrics/sliced-exposition';

const text = (r: { chunks: readonly Buffer[] }): string => Buffer.concat(r.chunks as Buffer[]).toString('utf8');

describe('renderExposition', () => {
  it('writes what Registry.metrics() writes, byte for byte', async () => {
    const registry = new Registry();
    const c = new Counter({
      name: 'x_total',
      help: 'a "counter"\nwith \\ escapes',
      labelNames: ['virtual', 'real'],
      registers: [registry],
    });
    c.inc({ virtual: 'tcp:[2001:db8::1]:80', real: 'a"b\\c\nd' }, 3);
    c.inc({ virtual: 'fwm:1', real: '10.0.0.1:80' }, 0);
    const g = new Gauge({ name: 'g', help: 'gauge', labelNames: ['n'], registers: [registry] });
    g.set({ n: 1 }, Number.NaN);
    g.set({ n: 2 }, Number.POSITIVE_INFINITY);
    g.set({ n: 3 }, Number.NEGATIVE_INFINITY);
    g.set({ n: 4 }, 1e21);
    g.set({ n: 5 }, -0.000001);
    new Gauge({ name: 'empty', help: 'no values', registers: [registry] });
    const h = new Histogram({
      name: 'h_seconds',
      help: 'histogram',
      labelNames: ['v'],
      buckets: [0.1, 1],
      registers: [registry],
    });
    h.observe({ v: 'a' }, 0.05);
    h.observe({ v: 'b' }, 5);
    const s = new Summary({ name: 's', help: 'summary', percentiles: [0.5], registers: [registry] });
    s.observe(2);
    const b = new BulkHistogram({
      name: 'bulk_seconds',
      help: 'bulk',
      labelNames: ['virtual', 'real'],
      buckets: [0.01, 0.1],
      registers: [registry],
    });
    b.observeMany({ virtual: 'v1', real: 'r1' }, [0.001, 0.05, 3]);
    b.addCounts({ virtual: 'v2', real: 'r"2' }, [1, 0, 2], 7.5);
    const rendered = await renderExposition(registry);
    assert.equal(text(rendered), await registry.metrics());
    assert.equal(rendered.length, Buffer.byteLength(await registry.metrics()));
  });

  it('gives the event loop turns on a big registry, and runs a shared collect hook once', async () => {
    const registry = new Registry();
    let collects = 0;
    let inflight: Promise<void> | undefined;
    const collect = (): Promise<void> =>
      (inflight ??= Promise.resolve()
        .then(() => {
          collects++;
        })
        .finally(() => {
          inflight = undefined;
        }));
    const g = new Gauge({ name: 'big', help: 'many series', labelNames: ['i'], registers: [registry], collect });
    new Gauge({ name: 'other', help: 'another', registers: [registry], collect }).set(1);
    for (let i = 0; i < 20_000; i++) g.set({ i: String(i) }, i);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const rendered = await renderExposition(registry, 0);
    clearInterval(timer);
    assert.equal(collects, 1, 'one collect for all metrics, as Registry.metrics()');
    assert.ok(rendered.yields > 100, `turns given: ${rendered.yields}`);
    assert.ok(ticks > 0, 'a timer ran while it rendered');
    assert.ok(rendered.chunks.length > 1, 'several buffers, not one string');
    assert.equal(text(rendered), await registry.metrics());
  });
});
