// Time values a Node timer cannot hold are refused at their line (issue 19 item 4): above 2^31 - 1 ms a timer fires
// after 1 ms, so `checktimeout=2147484` passed `ldir check` and made a healthy real flap every few seconds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TIMER_SECONDS } from '../../../src/config/cf-values';
import { formatDiagnostic } from '../../../src/config/diagnostics';
import { load, loadValid, vs } from '../../helpers/config';

const REAL = 'real=10.0.0.1:80 gate';

test('the longest accepted time is the longest a timer can wait', () => {
  assert.equal(MAX_TIMER_SECONDS, Math.floor((2 ** 31 - 1) / 1000));
});

for (const key of ['checkinterval', 'checktimeout', 'negotiatetimeout', 'emailalertfreq']) {
  test(`${key}: ${MAX_TIMER_SECONDS} is accepted, one more second and 2^32 + 1 are errors at their line`, async () => {
    await loadValid(`${key}=${MAX_TIMER_SECONDS}\n${vs(REAL)}`);
    for (const value of [String(MAX_TIMER_SECONDS + 1), '4294967297']) {
      const r = await load(`${key}=${value}\n${vs(REAL)}`);
      assert.equal(r.config, undefined, `${key}=${value} must not load`);
      const errors = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(
        errors[0] ?? '',
        new RegExp(`^/etc/ha.d/test.cf:1: ${key} must be at most ${MAX_TIMER_SECONDS} seconds`),
      );
    }
  });
}

test('YAML: the same bound', async () => {
  const r = await load(
    `checktimeout: 2147484\nvirtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n`,
    '/etc/ha.d/ldir.yaml',
  );
  assert.equal(r.config, undefined);
  assert.match(
    r.diagnostics.map(formatDiagnostic).join('\n'),
    /ldir\.yaml:1:(\d+:)? checktimeout must be at most 2147483 seconds/,
  );
});
