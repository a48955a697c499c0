// One index of the kernel dump per table pass: the drain step, decide and the plan read it; none normalizes the dump again.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Config } from '../../../src/model';
import { loadValid } from '../../helpers/config';
import { EngineHarness } from '../../helpers/engine';

const VIP = 'tcp:192.0.2.1:80';

function config(reals: string[], extra: string[] = []): Promise<Config> {
  return loadValid([...extra, 'virtual=192.0.2.1:80', ...reals.map((r) => `\treal=${r}`), ''].join('\n'));
}

/** The dumps listed since `from`, each with how often its most read service was read (1: normalized once). */
function readsSince(h: EngineHarness, from: number): number[] {
  return h.view.dumpReads.slice(from);
}

describe('engine: one index of the dump per pass', () => {
  test('configuration, drain and resync passes and a reload preview normalize each dump once, drains in progress included', async () => {
    const h = new EngineHarness({ drainTimeoutMs: 60_000 });
    await h.apply(await config(['10.0.0.1:80 masq 3', '10.0.0.2:80 masq 2']));
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    const start = h.view.dumpReads.length;
    h.setConns(VIP, '10.0.0.2:80', 5);
    await h.apply(await config(['10.0.0.1:80 masq 3']));
    assert.equal(h.eventsOf('drain').at(-1)?.phase, 'begin', 'the removed real drains');
    await h.clock.advance(2_000); // drain polls: full passes with the drain in progress
    const preview = await h.engine.previewConfig(await config(['10.0.0.1:80 masq 4']));
    assert.equal(preview.ops.length, 1, 'the preview plans the new weight');
    await h.clock.advance(10_000); // the periodic resync, still draining
    h.setConns(VIP, '10.0.0.2:80', 0);
    await h.clock.advance(1_000); // the drain ends: its entry goes
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3'] });
    assert.equal(h.eventsOf('drain').at(-1)?.why, 'idle');
    const reads = readsSince(h, start);
    assert.ok(reads.length >= 5, `passes listed the kernel (${reads.length} dumps)`);
    assert.deepEqual(
      reads,
      reads.map(() => 1),
      `each dump normalized exactly once (reads per dump: ${reads.join(', ')})`,
    );
  });

  test('a fresh start that finds leftovers to drain normalizes its dump once', async () => {
    const old = new EngineHarness();
    await old.apply(await config(['10.0.0.1:80 masq 3', '10.0.0.2:80 masq 2']));
    await old.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    const h = new EngineHarness({ initial: await old.backend.list() });
    h.setConns(VIP, '10.0.0.2:80', 3);
    await h.apply(await config(['10.0.0.1:80 masq 3']));
    await h.clock.advance(1_000);
    assert.equal(h.eventsOf('drain')[0]?.phase, 'begin', 'the leftover drains');
    assert.ok(h.view.dumpReads.length >= 2);
    assert.deepEqual(
      h.view.dumpReads,
      h.view.dumpReads.map(() => 1),
      `reads per dump: ${h.view.dumpReads.join(', ')}`,
    );
  });
});
