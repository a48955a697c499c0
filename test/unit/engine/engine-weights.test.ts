// Engine: runtime weights (`ldir weight`) and hand drains as settings kept by hand: set and reset, what the kernel
// gets, the listener that saves them (before the pass), reloads that drop those of removed reals, a start that
// restores them before its first pass, the restart hand-over, and the reload preview.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OperatorSetting } from '../../../src/engine/operator-settings';
import { operatorSettingsOf, settingsKey } from '../../../src/engine/operator-settings';
import { pairKey } from '../../../src/model/health';
import { isLdirError, ErrorCodes } from '../../../src/errors';
import { loadValid } from '../../helpers/config';
import { EngineHarness } from '../../helpers/engine';
import { addrService, dest } from '../../helpers/ipvs-tables';

const VIP = 'tcp:192.0.2.1:80';

/** ldirectord.cf of a NAT web virtual with reals .1 (weight 3), .2 (2) and, unless left out, .3 (4). */
function cf(options: { third?: boolean; firstWeight?: number } = {}): string {
  return [
    'virtual=192.0.2.1:80',
    `\treal=10.0.0.1:80 masq ${options.firstWeight ?? 3}`,
    '\treal=10.0.0.2:80 masq 2',
    ...(options.third === false ? [] : ['\treal=10.0.0.3:80 masq 4']),
    '\tfallback=127.0.0.1:8080 masq',
    '',
  ].join('\n');
}

const ALL_UP = { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up', '10.0.0.3:80': 'up' } as const;

/** A harness whose listener records every hand-settings change with the weight last written to .1 at that moment. */
function recorded(): {
  h: EngineHarness;
  heard: { settings: readonly OperatorSetting[]; kernelBefore: string | undefined }[];
} {
  const heard: { settings: readonly OperatorSetting[]; kernelBefore: string | undefined }[] = [];
  const h: EngineHarness = new EngineHarness({
    onOperatorChange: (settings) => {
      const written = h.backend
        .history()
        .flatMap((op) =>
          (op.op === 'add-destination' || op.op === 'edit-destination') && op.destination.address === '10.0.0.1'
            ? [op.destination.weight]
            : [],
        );
      heard.push({ settings, kernelBefore: written.length === 0 ? undefined : String(written[written.length - 1]) });
    },
  });
  return { h, heard };
}

describe('engine: runtime weights', () => {
  test('set, set again, reset: the kernel, the snapshot and the answers follow; names are matched loosely', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, ALL_UP);
    h.opsSinceMark();
    assert.deepEqual(await h.engine.setWeight('192.0.2.1:80', '10.0.0.1', 7), {
      virtual: VIP,
      real: '10.0.0.1:80',
      configuredWeight: 3,
      weight: 7,
      previous: null,
      changed: true,
    });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=7', '10.0.0.2:80=2', '10.0.0.3:80=4'] });
    assert.deepEqual(h.opsSinceMark(), [`edit-destination ${VIP} 10.0.0.1:80`]);
    const snap = h.engine.snapshot().virtuals[0]?.reals[0];
    assert.deepEqual(
      [snap?.weightOverride, snap?.configuredWeight, snap?.desiredWeight, snap?.kernelWeight, snap?.reason],
      [7, 3, 7, 7, 'up'],
    );
    assert.equal(h.engine.snapshot().virtuals[0]?.reals[1]?.weightOverride, null);
    const again = await h.engine.setWeight(VIP, '10.0.0.1:80', 7);
    assert.deepEqual([again.changed, again.previous], [false, 7]);
    assert.deepEqual(h.opsSinceMark(), [], 'nothing to write');
    assert.deepEqual(await h.engine.setWeight(VIP, '10.0.0.1', null), {
      virtual: VIP,
      real: '10.0.0.1:80',
      configuredWeight: 3,
      weight: null,
      previous: 7,
      changed: true,
    });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2', '10.0.0.3:80=4'] });
    assert.equal(h.engine.snapshot().virtuals[0]?.reals[0]?.weightOverride, null);
    assert.equal((await h.engine.setWeight(VIP, '10.0.0.1', null)).changed, false);
  });

  test('a weight outside 0..2147483647 or of an unknown real is refused and changes nothing', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, ALL_UP);
    for (const bad of [-1, 1.5, 2147483648, Number.NaN]) {
      await assert.rejects(
        h.engine.setWeight(VIP, '10.0.0.1', bad),
        (err) => isLdirError(err, ErrorCodes.USAGE),
        String(bad),
      );
    }
    await assert.rejects(h.engine.setWeight(VIP, '10.0.0.9', 1), (err) => isLdirError(err, ErrorCodes.UNKNOWN_TARGET));
    await assert.rejects(h.engine.setWeight('tcp:192.0.2.99:80', '10.0.0.1', 1), (err) =>
      isLdirError(err, ErrorCodes.UNKNOWN_TARGET),
    );
    assert.deepEqual(h.engine.operatorSettings(), []);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2', '10.0.0.3:80=4'] });
  });

  test('runtime weight 0 takes the real out of new connections like a drain; with the others down the fallback comes in', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'down', '10.0.0.3:80': 'down' });
    await h.engine.setWeight(VIP, '10.0.0.1', 0);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=0', '127.0.0.1:8080=1'] });
    assert.equal(h.engine.snapshot().virtuals[0]?.fallbackActive, true);
    await h.engine.setWeight(VIP, '10.0.0.1', 1);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=1'] });
  });

  test('drain and weight are separate: the weight waits under the drain and is back after undrain', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, ALL_UP);
    await h.engine.setWeight(VIP, '10.0.0.2', 5);
    await h.engine.drain(VIP, '10.0.0.2');
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=0', '10.0.0.3:80=4'] });
    assert.deepEqual(h.engine.operatorSettings(), [
      { virtualId: VIP, realKey: '10.0.0.2:80', weight: 5, drained: true },
    ]);
    await h.engine.undrain(VIP, '10.0.0.2');
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=5', '10.0.0.3:80=4'] });
  });
});

describe('engine: hand settings heard by the listener', () => {
  test('every change of weight or drain is heard once, before the pass that applies it; no change, nothing heard', async () => {
    const { h, heard } = recorded();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, ALL_UP);
    assert.equal(heard.length, 0, 'a configuration alone changes no hand setting');
    await h.engine.setWeight(VIP, '10.0.0.1', 6);
    await h.engine.setWeight(VIP, '10.0.0.1', 6);
    await h.engine.drain(VIP, '10.0.0.3');
    await h.engine.drain(VIP, '10.0.0.3');
    await h.engine.undrain(VIP, '10.0.0.3');
    await h.engine.setWeight(VIP, '10.0.0.1', null);
    assert.deepEqual(
      heard.map((x) => x.settings),
      [
        [{ virtualId: VIP, realKey: '10.0.0.1:80', weight: 6 }],
        [
          { virtualId: VIP, realKey: '10.0.0.1:80', weight: 6 },
          { virtualId: VIP, realKey: '10.0.0.3:80', drained: true },
        ],
        [{ virtualId: VIP, realKey: '10.0.0.1:80', weight: 6 }],
        [],
      ],
    );
    assert.deepEqual(
      heard.map((x) => x.kernelBefore),
      ['3', '6', '6', '6'],
      'heard while the kernel still had the weight before the change',
    );
  });

  test('a reload that removes a real drops its weight and drain (heard), one that keeps it keeps them even with a new configured weight', async () => {
    const { h, heard } = recorded();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, ALL_UP);
    await h.engine.setWeight(VIP, '10.0.0.1', 9);
    await h.engine.setWeight(VIP, '10.0.0.3', 1);
    await h.engine.drain(VIP, '10.0.0.3');
    heard.length = 0;
    await h.apply(await loadValid(cf({ firstWeight: 8 })));
    assert.equal(heard.length, 0, 'nothing dropped: nothing heard');
    assert.equal(h.engine.snapshot().virtuals[0]?.reals[0]?.configuredWeight, 8);
    assert.deepEqual(
      (await h.table())[VIP]?.[0],
      '10.0.0.1:80=9',
      'the runtime weight stays over a new configured weight',
    );
    await h.apply(await loadValid(cf({ third: false, firstWeight: 8 })));
    assert.deepEqual(
      heard.map((x) => x.settings),
      [[{ virtualId: VIP, realKey: '10.0.0.1:80', weight: 9 }]],
    );
    assert.deepEqual(h.engine.operatorSettings(), [{ virtualId: VIP, realKey: '10.0.0.1:80', weight: 9 }]);
    await h.apply(await loadValid(cf({ firstWeight: 8 })));
    await h.health(VIP, { '10.0.0.3:80': 'up' });
    assert.deepEqual(
      (await h.table())[VIP],
      ['10.0.0.1:80=9', '10.0.0.2:80=2', '10.0.0.3:80=4'],
      'a real added again starts from its configuration',
    );
  });

  test('a listener that throws is logged and ignored: the change is made', async () => {
    const h = new EngineHarness({
      onOperatorChange: () => {
        throw new Error('disk full');
      },
    });
    await h.apply(await loadValid(cf()));
    await h.health(VIP, ALL_UP);
    assert.equal((await h.engine.setWeight(VIP, '10.0.0.1', 4)).changed, true);
    assert.deepEqual((await h.table())[VIP]?.[0], '10.0.0.1:80=4');
  });
});

describe('engine: restoring hand settings', () => {
  test('imported before the first configuration: its first pass applies them; a real never gets its configured weight', async () => {
    // The table a killed daemon left: .1 at its runtime weight 6, .2 drained, .3 at its configured weight.
    const initial = [
      {
        service: addrService('192.0.2.1', 80),
        destinations: [
          dest('10.0.0.1', 80, { weight: 6 }),
          dest('10.0.0.2', 80, { weight: 0 }),
          dest('10.0.0.3', 80, { weight: 4 }),
        ],
      },
    ];
    const heard: { settings: readonly OperatorSetting[]; kernelBefore: undefined }[] = [];
    const fresh = new EngineHarness({
      initial,
      onOperatorChange: (s) => heard.push({ settings: s, kernelBefore: undefined }),
    });
    fresh.engine.importOperatorSettings([
      { virtualId: VIP, realKey: '10.0.0.1:80', weight: 6 },
      { virtualId: VIP, realKey: '10.0.0.2:80', drained: true },
      { virtualId: VIP, realKey: '10.0.0.9:80', weight: 1 },
      { virtualId: 'tcp:192.0.2.99:80', realKey: '10.0.0.1:80', drained: true },
      { virtualId: VIP, realKey: '10.0.0.3:80', weight: -4 },
    ]);
    await fresh.apply(await loadValid(cf()));
    assert.deepEqual(
      fresh.engine.operatorSettings(),
      [
        { virtualId: VIP, realKey: '10.0.0.1:80', weight: 6 },
        { virtualId: VIP, realKey: '10.0.0.2:80', drained: true },
      ],
      'those of reals the configuration lacks are dropped; a weight out of range is ignored',
    );
    assert.deepEqual(
      heard.map((x) => x.settings),
      [fresh.engine.operatorSettings()],
      'the drop is heard (the state file is written again)',
    );
    await fresh.health(VIP, ALL_UP);
    assert.deepEqual(await fresh.table(), { [VIP]: ['10.0.0.1:80=6', '10.0.0.2:80=0', '10.0.0.3:80=4'] });
    const writes = fresh.backend.history().filter((op) => op.op === 'edit-destination' || op.op === 'add-destination');
    assert.deepEqual(writes, [], 'no pass ever set .1 to 3 or .2 to 2: the table was right from the first pass');
  });

  test('the restart hand-over carries runtime weights; a carry-over of an older daemon (no weights) is taken as none', async () => {
    const config = await loadValid(cf());
    const old = new EngineHarness();
    await old.apply(config);
    await old.health(VIP, ALL_UP);
    await old.engine.setWeight(VIP, '10.0.0.1', 6);
    await old.engine.drain(VIP, '10.0.0.2');
    const carry = old.engine.exportCarryOver();
    assert.ok(carry);
    assert.deepEqual(carry.weights, [{ pair: pairKey(VIP, '10.0.0.1:80'), weight: 6 }]);
    const carried = JSON.parse(JSON.stringify(carry)) as typeof carry; // it travels as JSON over the IPC channel
    const next = new EngineHarness({
      initial: (await old.backend.list()).map((s) => ({ service: s.service, destinations: s.destinations })),
    });
    next.engine.importCarryOver(carried);
    await next.apply(config);
    await next.health(VIP, ALL_UP);
    assert.deepEqual(next.engine.operatorSettings(), old.engine.operatorSettings());
    assert.deepEqual(await next.table(), { [VIP]: ['10.0.0.1:80=6', '10.0.0.2:80=0', '10.0.0.3:80=4'] });
    const { weights: _w, ...older } = carried;
    const fromOlder = new EngineHarness();
    fromOlder.engine.importCarryOver(older);
    await fromOlder.apply(config);
    assert.deepEqual(fromOlder.engine.operatorSettings(), [{ virtualId: VIP, realKey: '10.0.0.2:80', drained: true }]);
  });
});

describe('engine: the reload preview sees runtime weights', () => {
  test('a preview of the configuration in force, or of one with a new configured weight, does not undo the runtime weight', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, ALL_UP);
    await h.engine.setWeight(VIP, '10.0.0.1', 6);
    assert.deepEqual(
      (await h.engine.previewConfig(await loadValid(cf()), { enabled: false, timeoutMs: 0 })).ops,
      [],
      'the runtime weight is not undone',
    );
    const reweighted = await h.engine.previewConfig(await loadValid(cf({ firstWeight: 5 })), {
      enabled: false,
      timeoutMs: 0,
    });
    assert.deepEqual(reweighted.ops, [], 'a new configured weight does not replace the runtime one');
  });
});

describe('operatorSettingsOf and settingsKey', () => {
  test("in the configuration's order, only its reals; the key ignores order", async () => {
    const config = await loadValid(cf());
    const state = {
      manualDrains: new Set([pairKey(VIP, '10.0.0.3:80'), pairKey(VIP, '10.0.0.8:80')]),
      weights: new Map([
        [pairKey(VIP, '10.0.0.3:80'), 2],
        [pairKey(VIP, '10.0.0.1:80'), 0],
      ]),
    };
    const settings = operatorSettingsOf(config, state);
    assert.deepEqual(settings, [
      { virtualId: VIP, realKey: '10.0.0.1:80', weight: 0 },
      { virtualId: VIP, realKey: '10.0.0.3:80', weight: 2, drained: true },
    ]);
    assert.equal(settingsKey(settings), settingsKey([...settings].reverse()));
    assert.notEqual(settingsKey(settings), settingsKey([settings[0] as OperatorSetting]));
    assert.notEqual(
      settingsKey([{ virtualId: VIP, realKey: '10.0.0.1:80', weight: 1 }]),
      settingsKey([{ virtualId: VIP, realKey: '10.0.0.1:80', weight: 2 }]),
    );
    assert.notEqual(
      settingsKey([{ virtualId: VIP, realKey: '10.0.0.1:80', weight: 1 }]),
      settingsKey([{ virtualId: VIP, realKey: '10.0.0.1:80', weight: 1, drained: true }]),
    );
  });
});
