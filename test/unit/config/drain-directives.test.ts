// The ldir extension directives drain= and draintimeout=: defaults, both forms, positioned errors, convert round trip.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { convertRoundTrip, loadErrors, loadValid, vs } from '../../helpers/config';

const YAML = '/etc/ha.d/ldir.yaml';
const REAL = vs('real=10.0.0.1:80 masq');

describe('drain and draintimeout', () => {
  test('default: drain on, 30 s', async () => {
    assert.deepEqual((await loadValid(REAL)).globals.drain, { enabled: true, timeout: 30 });
  });

  test('ldirectord.cf: values reach the model', async () => {
    assert.deepEqual((await loadValid(`drain=no\ndraintimeout=120\n${REAL}`)).globals.drain, {
      enabled: false,
      timeout: 120,
    });
  });

  test('bad values are errors at their line, naming the directive', async () => {
    const errs = await loadErrors(`drain=maybe\ndraintimeout=ten\ndraintimeout=99999999\n${REAL}`);
    assert.deepEqual(
      errs.map((e) => e.pos.line),
      [1, 2, 3],
    );
    assert.match(errs[0]?.message ?? '', /drain must be 'yes' or 'no', not "maybe"/);
    assert.match(errs[1]?.message ?? '', /draintimeout must be a number of seconds from 0 to 86400, not "ten"/);
  });

  test('YAML: the same directives, line:column errors', async () => {
    assert.deepEqual((await loadValid('drain: no\ndraintimeout: 5\n', YAML)).globals.drain, {
      enabled: false,
      timeout: 5,
    });
    const errs = await loadErrors('draintimeout: -1\n', YAML);
    assert.deepEqual(
      errs.map((e) => e.pos.line),
      [1],
    );
    assert.ok(errs[0]?.pos.column !== undefined, 'YAML errors carry a column');
  });

  test('cf -> yaml -> cf means the same', async () => {
    const { config } = await convertRoundTrip(`drain=no\ndraintimeout=45\n${REAL}`, YAML);
    assert.deepEqual(config.globals.drain, { enabled: false, timeout: 45 });
  });
});
