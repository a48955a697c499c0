// Check-driven weights: the reported weight within minweight..maxweight (default 0..configured), weight 0 not
// serving, ramped by slow start, gone when the check stops reporting it; the directives and their refusals.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseReportedWeight, weightFromOutput } from '../../../src/checks/reported-weight';
import { decide } from '../../../src/engine/decide';
import { pairKey } from '../../../src/model/health';
import { loadErrors, loadValid, onlyVirtual, vs } from '../../helpers/config';
import { EngineHarness, weights } from '../../helpers/engine';

const VIP = 'tcp:192.0.2.1:80';
const HTTP = [
  'real=10.0.0.1:80 masq 10',
  'real=10.0.0.2:80 masq 4',
  'service=http',
  'checktype=negotiate',
  'request="/health"',
];

describe('reported weights', () => {
  test('parsing: digits only, within the kernel range', () => {
    assert.deepEqual(
      ['7', ' 7 ', '0', '2147483647', '2147483648', '-1', '7x', '', undefined].map(parseReportedWeight),
      [7, 7, 0, 2147483647, undefined, undefined, undefined, undefined, undefined],
    );
    assert.equal(weightFromOutput('a\nweight=3\nweight=x\n'), 3);
  });

  test('decide: within minweight..maxweight, by default 0..the configured weight; weight 0 does not serve', async () => {
    const config = await loadValid(vs(...HTTP, 'weightheader=X-LB-Weight'));
    const run = (w1: number | undefined, w2: number | undefined): ReturnType<typeof decide> =>
      decide({
        config,
        observed: [],
        health: new Map([
          [pairKey(VIP, '10.0.0.1:80'), 'up'],
          [pairKey(VIP, '10.0.0.2:80'), 'up'],
        ]),
        checkWeights: new Map([
          ...(w1 !== undefined ? [[pairKey(VIP, '10.0.0.1:80'), w1] as const] : []),
          ...(w2 !== undefined ? [[pairKey(VIP, '10.0.0.2:80'), w2] as const] : []),
        ]),
      });
    assert.deepEqual(
      weights(run(3, 99).desired),
      { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=4'] },
      '99 bounded by the configured 4',
    );
    assert.deepEqual(weights(run(undefined, undefined).desired), { [VIP]: ['10.0.0.1:80=10', '10.0.0.2:80=4'] });
    const zero = run(0, 0);
    assert.deepEqual(weights(zero.desired), { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=0'] });
    assert.equal(zero.virtuals[0]?.quorum.serving, 0);
    assert.equal(zero.virtuals[0]?.reals[0]?.checkWeight, 0);
    const bounded = await loadValid(vs(...HTTP, 'weightheader=X-LB-Weight', 'minweight=2', 'maxweight=50'));
    const b = decide({
      config: bounded,
      observed: [],
      health: new Map([
        [pairKey(VIP, '10.0.0.1:80'), 'up'],
        [pairKey(VIP, '10.0.0.2:80'), 'up'],
      ]),
      checkWeights: new Map([
        [pairKey(VIP, '10.0.0.1:80'), 0],
        [pairKey(VIP, '10.0.0.2:80'), 99],
      ]),
    });
    assert.deepEqual(weights(b.desired), { [VIP]: ['10.0.0.1:80=2', '10.0.0.2:80=50'] });
    const plain = await loadValid(vs(...HTTP));
    const p = decide({
      config: plain,
      observed: [],
      health: new Map([[pairKey(VIP, '10.0.0.1:80'), 'up']]),
      checkWeights: new Map([[pairKey(VIP, '10.0.0.1:80'), 1]]),
    });
    assert.deepEqual(weights(p.desired), { [VIP]: ['10.0.0.1:80=10'] }, 'no weightheader: a stray report is ignored');
  });

  test('engine: a report changes the kernel weight, a raise ramps with slowstart, the end of reports restores the configured weight', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(vs(...HTTP, 'weightheader=X-LB-Weight', 'slowstart=2')));
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    await h.clock.advance(3000);
    h.engine.onCheckWeight({ virtualId: VIP, realKey: '10.0.0.1:80', weight: 2 });
    await h.settle();
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=2', '10.0.0.2:80=4'] }, 'lowered at once');
    h.engine.onCheckWeight({ virtualId: VIP, realKey: '10.0.0.1:80', weight: 8 });
    await h.settle();
    assert.deepEqual(
      await h.table(),
      { [VIP]: ['10.0.0.1:80=2', '10.0.0.2:80=4'] },
      'raised: the ramp starts where the kernel stands',
    );
    await h.clock.advance(1050);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=5', '10.0.0.2:80=4'] });
    await h.clock.advance(1000);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=8', '10.0.0.2:80=4'] });
    h.engine.onCheckWeight({ virtualId: VIP, realKey: '10.0.0.1:80', weight: undefined });
    await h.clock.advance(2100);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=10', '10.0.0.2:80=4'] });
    assert.equal(h.engine.snapshot().virtuals[0]?.reals[0]?.checkWeight, null);
  });
});

describe('weightheader, minweight, maxweight', () => {
  test('an http check with weightheader, external checks always; bounds from the globals', async () => {
    const v = await onlyVirtual(vs(...HTTP, 'weightheader=X-LB-Weight', 'maxweight=20'));
    assert.deepEqual(v.checkWeight, { header: 'x-lb-weight', min: 0, max: 20 });
    const ext = await onlyVirtual(
      `minweight=1\n${vs('real=10.0.0.1:80 masq', 'checktype=external', 'checkcommand=/bin/true')}`,
    );
    assert.deepEqual(ext.checkWeight, { min: 1 });
    assert.equal(
      (await onlyVirtual(`weightheader=X-W\n${vs('real=10.0.0.1:80 masq', 'checktype=connect')}`)).checkWeight,
      undefined,
      'a global default a connect check does not use',
    );
  });

  for (const [lines, message, line] of [
    [
      ['checktype=connect', 'weightheader=X-W'],
      /weightheader needs an http or https negotiate check; with checktype=connect it would be ignored/,
      4,
    ],
    [
      ['checktype=negotiate', 'service=http', 'maxweight=5'],
      /maxweight bounds the weight a check reports; checktype=negotiate service=http without weightheader reports none/,
      5,
    ],
    [
      ['checktype=negotiate', 'service=http', 'weightheader=X-W', 'minweight=5', 'maxweight=4'],
      /maxweight=4 is below minweight=5/,
      7,
    ],
    [['weightheader=X W'], /weightheader must be an HTTP header name/, 3],
    [['minweight=-1'], /minweight must be a number from 0 to 2147483647, not "-1"/, 3],
  ] as const) {
    test(`refused with its line: ${lines.join(' ')}`, async () => {
      const errs = await loadErrors(vs('real=10.0.0.1:80 masq', ...lines));
      assert.equal(errs.length, 1, errs.map((e) => e.message).join('; '));
      assert.match(errs[0]?.message ?? '', message);
      assert.equal(errs[0]?.pos.line, line);
    });
  }
});
