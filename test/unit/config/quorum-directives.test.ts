// quorum, hysteresis, quorumupcommand, quorumdowncommand: both forms, globals and overrides, and every refusal with its line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { quorumThresholds } from '../../../src/model';
import { convertRoundTrip, loadErrors, loadValid, onlyVirtual, vs } from '../../helpers/config';

const REALS = ['real=10.0.0.1:80 masq', 'real=10.0.0.2:80 masq', 'real=10.0.0.3:80 masq', 'real=10.0.0.4:80 masq'];

describe('quorum directives', () => {
  test('no quorum directive: no settings, the fallback rule (quorum 1, no hysteresis)', async () => {
    const v = await onlyVirtual(vs(...REALS));
    assert.equal(v.quorum, undefined);
    assert.deepEqual(quorumThresholds(v.quorum, v.reals.length), { quorum: 1, hysteresis: 0, gainAt: 1, loseBelow: 1 });
  });

  test('quorum, hysteresis and both commands in a virtual section', async () => {
    const v = await onlyVirtual(
      vs(
        ...REALS,
        'quorum=3',
        'hysteresis=1',
        'quorumupcommand="/usr/local/bin/announce --up"',
        'quorumdowncommand=/usr/local/bin/withdraw',
      ),
    );
    assert.deepEqual(v.quorum?.needed, { kind: 'count', value: 3 });
    assert.equal(v.quorum?.hysteresis, 1);
    assert.equal(v.quorum?.upCommand, '/usr/local/bin/announce --up');
    assert.equal(v.quorum?.downCommand, '/usr/local/bin/withdraw');
    assert.equal(v.quorum?.source.line, 6, 'the quorum line');
    assert.deepEqual(quorumThresholds(v.quorum, v.reals.length), { quorum: 3, hysteresis: 1, gainAt: 4, loseBelow: 2 });
  });

  test('a percentage is of the configured reals, rounded up, at least one', async () => {
    const v = await onlyVirtual(vs(...REALS, 'quorum=60%'));
    assert.deepEqual(v.quorum?.needed, { kind: 'percent', value: 60 });
    assert.equal(quorumThresholds(v.quorum, 4).quorum, 3, '60 % of 4 is 2.4: 3');
    assert.equal(quorumThresholds(v.quorum, 5).quorum, 3, '60 % of 5 is 3');
    assert.equal(
      quorumThresholds({ needed: { kind: 'percent', value: 1 }, hysteresis: 0, source: v.source }, 3).quorum,
      1,
    );
    assert.equal(
      quorumThresholds({ needed: { kind: 'percent', value: 100 }, hysteresis: 0, source: v.source }, 0).quorum,
      1,
    );
  });

  test('global settings apply to every virtual; a virtual overrides them one by one', async () => {
    const c = await loadValid(
      `quorum=50%\nhysteresis=1\nquorumdowncommand=/bin/down\n${vs(...REALS)}virtual=192.0.2.1:81\n\t${REALS.join('\n\t')}\n\tquorum=2\n\thysteresis=0\n`,
    );
    const [a, b] = c.virtualServices;
    assert.deepEqual(
      [a?.quorum?.needed, a?.quorum?.hysteresis, a?.quorum?.downCommand],
      [{ kind: 'percent', value: 50 }, 1, '/bin/down'],
    );
    assert.deepEqual(
      [b?.quorum?.needed, b?.quorum?.hysteresis, b?.quorum?.downCommand],
      [{ kind: 'count', value: 2 }, 0, '/bin/down'],
    );
  });

  test('the YAML form reads the same and ldir convert carries them both ways', async () => {
    const text = vs(
      ...REALS,
      'quorum=75%',
      'hysteresis=1',
      'quorumupcommand="/bin/up now"',
      'quorumdowncommand="/bin/down"',
    );
    const trip = await convertRoundTrip(text);
    assert.match(trip.yaml, /quorum: 75%/);
    assert.match(trip.yaml, /hysteresis: 1/);
    assert.match(trip.yaml, /quorumupcommand: \/bin\/up now/);
    const v = trip.config.virtualServices[0];
    assert.deepEqual(
      [v?.quorum?.needed, v?.quorum?.hysteresis, v?.quorum?.upCommand],
      [{ kind: 'percent', value: 75 }, 1, '/bin/up now'],
    );
    const y = await loadValid(
      'virtuals:\n  - virtual: 192.0.2.1:80\n    real: [10.0.0.1:80 masq, 10.0.0.2:80 masq]\n    quorum: 2\n',
      '/etc/ha.d/ldir.yaml',
    );
    assert.deepEqual(y.virtualServices[0]?.quorum?.needed, { kind: 'count', value: 2 });
  });

  for (const [line, message] of [
    ['quorum=0', /quorum must be in range 1\.\./],
    ['quorum=two', /quorum must be a number of real servers \(quorum=2\) or a percentage/],
    ['quorum=2 reals', /quorum must be a number/],
    ['quorum=0%', /quorum percentage must be in range 1\.\.100/],
    ['quorum=101%', /quorum percentage must be in range 1\.\.100/],
    ['hysteresis=-1', /hysteresis \(real servers\) must be a number from 0 to 1000000, not "-1"/],
    ['hysteresis=1.5', /hysteresis \(real servers\) must be a number from 0 to 1000000, not "1\.5"/],
    ['quorumupcommand=""', /invalid quorum up command: empty/],
  ] as const) {
    test(`refused with its line: ${line}`, async () => {
      const errs = await loadErrors(vs(...REALS, line));
      assert.equal(errs.length, 1, errs.map((e) => e.message).join('; '));
      assert.match(errs[0]?.message ?? '', message);
      assert.equal(errs[0]?.pos.line, 6);
      assert.equal(errs[0]?.directive, line.split('=')[0]);
    });
  }

  test('a hysteresis not below the quorum is refused at the hysteresis line', async () => {
    const errs = await loadErrors(vs(...REALS, 'quorum=2', 'hysteresis=2'));
    assert.equal(errs.length, 1);
    assert.match(
      errs[0]?.message ?? '',
      /hysteresis=2 must be less than the quorum \(2 real servers\) of the virtual service at line 1/,
    );
    assert.equal(errs[0]?.pos.line, 7);
    const alone = await loadErrors(vs(...REALS, 'hysteresis=1'));
    assert.match(alone[0]?.message ?? '', /less than the quorum \(1 real server\)/);
  });

  test('a quorum the reals can never reach is refused at the quorum line (also from the globals)', async () => {
    const errs = await loadErrors(vs(...REALS, 'quorum=4', 'hysteresis=1'));
    assert.equal(errs.length, 1);
    assert.match(
      errs[0]?.message ?? '',
      /quorum=4 with hysteresis=1 needs 5 serving real servers but the virtual service at line 1 has 4: it could never be gained/,
    );
    assert.equal(errs[0]?.pos.line, 6);
    const global = await loadErrors(`quorum=5\n${vs(...REALS)}`);
    assert.equal(global[0]?.pos.line, 1);
    assert.match(
      global[0]?.message ?? '',
      /quorum=5 needs 5 serving real servers but the virtual service at line 2 has 4/,
    );
    const percent = await loadErrors(vs(...REALS, 'quorum=100%', 'hysteresis=1'));
    assert.match(percent[0]?.message ?? '', /quorum=100% \(4 of 4\) with hysteresis=1 needs 5/);
  });
});
