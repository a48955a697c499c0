// slowstart=SECONDS: both forms, global and per virtual, 0 = off, refusals with their line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { convertRoundTrip, loadErrors, loadValid, onlyVirtual, vs } from '../../helpers/config';

describe('slowstart', () => {
  test('per virtual, global with an override, 0 = off, absent = off', async () => {
    assert.equal((await onlyVirtual(vs('real=10.0.0.1:80 masq', 'slowstart=30'))).slowStart, 30);
    assert.equal((await onlyVirtual(vs('real=10.0.0.1:80 masq'))).slowStart, undefined);
    const c = await loadValid(
      `slowstart=20\n${vs('real=10.0.0.1:80 masq')}virtual=192.0.2.1:81\n\treal=10.0.0.1:81 masq\n\tslowstart=0\n`,
    );
    assert.deepEqual(
      c.virtualServices.map((v) => v.slowStart),
      [20, undefined],
    );
  });

  test('YAML and ldir convert carry it', async () => {
    const trip = await convertRoundTrip(vs('real=10.0.0.1:80 masq', 'slowstart=45'));
    assert.match(trip.yaml, /slowstart: 45/);
    assert.equal(trip.config.virtualServices[0]?.slowStart, 45);
  });

  for (const value of ['-1', '1.5', '30s', '86401', '']) {
    test(`refused with its line: slowstart=${value}`, async () => {
      const errs = await loadErrors(vs('real=10.0.0.1:80 masq', `slowstart=${value}`));
      assert.equal(errs.length, 1);
      assert.match(errs[0]?.message ?? '', /slowstart \(seconds; 0: off\) must be a number from 0 to 86400, not "/);
      assert.deepEqual([errs[0]?.pos.line, errs[0]?.directive], [3, 'slowstart']);
    });
  }
});
