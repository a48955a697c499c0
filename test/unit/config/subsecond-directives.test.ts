// checkinterval, checktimeout and negotiatetimeout in seconds with decimals down to 0.1 (an ldir extension), while
// an ldirectord file with integers means exactly what it meant: both forms, errors, convert, the check targets.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jobsFromConfig } from '../../../src/checks/jobs';
import { formatDiagnostic } from '../../../src/config/diagnostics';
import { convertRoundTrip, load, loadErrors, loadValid, onlyVirtual, vs, warnings } from '../../helpers/config';

const FILE = '/etc/ha.d/test.cf';
const YAML = '/etc/ha.d/ldir.yaml';
const REAL = 'real=10.0.0.1:80 gate';

describe('sub-second check timing', () => {
  test('decimals: the model in seconds, the check targets in milliseconds', async () => {
    const c = await loadValid(`checkinterval=0.2\nchecktimeout=0.15\nnegotiatetimeout=.25\n${vs(REAL)}`);
    const v = c.virtualServices[0];
    assert.deepEqual([v?.check.interval, v?.check.checkTimeout, v?.check.negotiateTimeout], [0.2, 0.15, 0.25]);
    const t = jobsFromConfig(c)[0];
    assert.deepEqual([t?.intervalMs, t?.job.checkTimeoutMs, t?.job.negotiateTimeoutMs], [200, 150, 250]);
  });

  test("integers read exactly as before, with ldirectord's leniency about text around the number", async () => {
    const r = await load(`checkinterval=5\nchecktimeout=x10\nnegotiatetimeout=7 s\n${vs(REAL)}`);
    const v = r.config?.virtualServices[0];
    assert.deepEqual([v?.check.interval, v?.check.checkTimeout, v?.check.negotiateTimeout], [5, 10, 7]);
    assert.deepEqual(warnings(r).map(formatDiagnostic), [
      `${FILE}:2: warning: checktimeout: text "x" is ignored (as ldirectord does)`,
      `${FILE}:3: warning: negotiatetimeout: text "s" is ignored (as ldirectord does)`,
    ]);
  });

  test('per virtual (checkinterval with fork=yes, as ldirectord) and the cross-fallback of the timeouts', async () => {
    const v = await onlyVirtual(`fork=yes\n${vs(REAL, 'checkinterval=0.5', 'checktimeout=0.3')}`);
    assert.deepEqual([v.check.interval, v.check.checkTimeout, v.check.negotiateTimeout], [0.5, 0.3, 0.3]);
  });

  test('below 0.1 s, more than three decimals, zero or no number: errors at their line naming the directive', async () => {
    const errs = await loadErrors(
      `checkinterval=0.05\nchecktimeout=0.1234\nnegotiatetimeout=0.0\nchecktimeout=0\ncheckinterval=soon\n${vs(REAL)}`,
    );
    assert.deepEqual(errs.map(formatDiagnostic), [
      `${FILE}:1: checkinterval must be at least 0.1 seconds, not "0.05"`,
      `${FILE}:2: checktimeout takes at most 3 decimals (milliseconds), not "0.1234"`,
      `${FILE}:3: negotiatetimeout must be a positive number of seconds, not "0.0"`,
      `${FILE}:4: checktimeout must be a positive number of seconds, not "0"`,
      `${FILE}:5: checkinterval must be a positive number of seconds, not "soon"`,
    ]);
  });

  test('YAML numbers with decimals; errors with line and column', async () => {
    const c = await loadValid(
      `checkinterval: 0.5\nvirtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n    checktimeout: 0.25\n`,
      YAML,
    );
    assert.deepEqual([c.virtualServices[0]?.check.interval, c.virtualServices[0]?.check.checkTimeout], [0.5, 0.25]);
    const errs = await loadErrors(
      'checkinterval: 0.01\nvirtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n',
      YAML,
    );
    assert.deepEqual(errs.map(formatDiagnostic), [
      `${YAML}:1:1: checkinterval must be at least 0.1 seconds, not "0.01"`,
    ]);
  });

  test('convert: decimals become YAML numbers and come back unchanged', async () => {
    const { yaml, cf, config } = await convertRoundTrip(
      `checkinterval=0.5\nnegotiatetimeout=1.25\n${vs(REAL, 'checktimeout=0.2')}`,
    );
    assert.match(yaml, /^checkinterval: 0\.5$/m);
    assert.match(yaml, /^negotiatetimeout: 1\.25$/m);
    assert.match(yaml, /^ {4}checktimeout: 0\.2$/m);
    assert.match(cf, /^checkinterval=0\.5$/m);
    assert.match(cf, /^\tchecktimeout=0\.2$/m);
    assert.deepEqual(
      [config.virtualServices[0]?.check.interval, config.virtualServices[0]?.check.checkTimeout],
      [0.5, 0.2],
    );
  });
});
