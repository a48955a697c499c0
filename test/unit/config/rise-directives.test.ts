// The ldir extension directive risecount=: default, global and per virtual, both forms, positioned errors, convert.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jobsFromConfig } from '../../../src/checks/jobs';
import { formatDiagnostic } from '../../../src/config/diagnostics';
import { convertRoundTrip, loadErrors, loadValid, vs } from '../../helpers/config';

const YAML = '/etc/ha.d/ldir.yaml';
const REAL = vs('real=10.0.0.1:80 gate');

describe('risecount', () => {
  test('default 1: one success brings a real back, as ldirectord', async () => {
    const c = await loadValid(REAL);
    assert.equal(c.virtualServices[0]?.check.riseCount, 1);
  });

  test('ldirectord.cf: global value, overridden per virtual service', async () => {
    const c = await loadValid(`risecount=3\n${REAL}\nvirtual=192.0.2.2:80\n\treal=10.0.0.2:80 gate\n\trisecount=5\n`);
    assert.deepEqual(
      c.virtualServices.map((v) => v.check.riseCount),
      [3, 5],
    );
    assert.deepEqual(
      jobsFromConfig(c).map((t) => t.riseCount),
      [3, 5],
      'the check targets carry it',
    );
  });

  test('the same real under two rise counts is checked twice (the count is part of the check identity)', async () => {
    const c = await loadValid(`${REAL}\nvirtual=192.0.2.2:80\n\treal=10.0.0.1:80 gate\n\trisecount=2\n`);
    const ids = jobsFromConfig(c).map((t) => t.identity);
    assert.equal(new Set(ids).size, 2);
  });

  test('bad values are errors at their line, naming the directive and the value', async () => {
    const errs = await loadErrors(
      `risecount=0\nrisecount=two\n${vs('real=10.0.0.1:80 gate', 'risecount=1001', 'risecount=3x')}`,
    );
    assert.deepEqual(errs.map(formatDiagnostic), [
      '/etc/ha.d/test.cf:1: risecount must be a number from 1 to 1000, not "0"',
      '/etc/ha.d/test.cf:2: risecount must be a number from 1 to 1000, not "two"',
      '/etc/ha.d/test.cf:5: risecount must be a number from 1 to 1000, not "1001"',
      '/etc/ha.d/test.cf:6: risecount must be a number from 1 to 1000, not "3x"',
    ]);
  });

  test('YAML: the same directive globally and per virtual, line:column errors', async () => {
    const c = await loadValid(
      'risecount: 2\nvirtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n    risecount: 4\n' +
        '  - virtual: 192.0.2.2:80\n    real: 10.0.0.2:80 gate\n',
      YAML,
    );
    assert.deepEqual(
      c.virtualServices.map((v) => v.check.riseCount),
      [4, 2],
    );
    const errs = await loadErrors(
      'virtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n    risecount: -1\n',
      YAML,
    );
    assert.deepEqual(errs.map(formatDiagnostic), [`${YAML}:4:5: risecount must be a number from 1 to 1000, not "-1"`]);
  });

  test('cf -> yaml -> cf keeps it, in both places', async () => {
    const { yaml, config } = await convertRoundTrip(`risecount=3\n${vs('real=10.0.0.1:80 gate', 'risecount=2')}`, YAML);
    assert.match(yaml, /^risecount: 3$/m);
    assert.match(yaml, /^ {4}risecount: 2$/m);
    assert.equal(config.virtualServices[0]?.check.riseCount, 2);
  });
});
