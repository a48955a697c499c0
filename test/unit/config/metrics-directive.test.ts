// The ldir extension directive metrics=ADDR:PORT|no: default, both forms, positioned errors, convert round trips.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic } from '../../../src/config/diagnostics';
import { parseMetricsEndpoint } from '../../../src/config/directives-metrics';
import { convertRoundTrip, load, loadErrors, loadValid, vs } from '../../helpers/config';

const YAML = '/etc/ha.d/ldir.yaml';
const REAL = vs('real=10.0.0.1:80 gate');

describe('metrics in ldirectord.cf', () => {
  test('default: 127.0.0.1:9547, loopback only', async () => {
    assert.deepEqual((await loadValid(REAL)).globals.metrics, { host: '127.0.0.1', port: 9547 });
  });

  test('accepted values reach the model; IPv6 canonical and without brackets; no turns it off', async () => {
    const cases: Array<[string, unknown]> = [
      ['metrics=0.0.0.0:9100', { host: '0.0.0.0', port: 9100 }],
      ['metrics = 192.0.2.5:80', { host: '192.0.2.5', port: 80 }],
      ['metrics=[::1]:9547', { host: '::1', port: 9547 }],
      ['metrics=[2001:DB8:0:0::10]:65535', { host: '2001:db8::10', port: 65535 }],
      ['metrics=[::]:1', { host: '::', port: 1 }],
      ['metrics=no', null],
      ['metrics=yes', { host: '127.0.0.1', port: 9547 }],
      ['metrics=127.0.0.1:9547 ', { host: '127.0.0.1', port: 9547 }],
    ];
    for (const [line, want] of cases)
      assert.deepEqual((await loadValid(`${line}\n${REAL}`)).globals.metrics, want, line);
  });

  test('the last metrics line wins', async () => {
    assert.equal((await loadValid(`metrics=no\nmetrics=127.0.0.2:9000\n${REAL}`)).globals.metrics?.host, '127.0.0.2');
  });

  test('refused values, each at its own line, naming the directive', async () => {
    const cases: Array<[string, RegExp]> = [
      ['metrics=', /metrics must be ADDR:PORT \(IPv6 as \[ADDR\]:PORT\), yes \(127\.0\.0\.1:9547\) or no, not ""/],
      ['metrics=9547', /metrics must be ADDR:PORT/],
      ['metrics=127.0.0.1', /metrics must be ADDR:PORT/],
      ['metrics=localhost:9547', /"localhost" is not a numeric IPv4 address \(host names are not accepted/],
      ['metrics=127.0.0.1:0', /metrics port must be 1\.\.65535, not 0/],
      ['metrics=127.0.0.1:65536', /metrics port must be 1\.\.65535/],
      ['metrics=127.0.0.1:http', /metrics must be ADDR:PORT/],
      ['metrics=::1:9547', /write an IPv6 address in brackets: \[::1\]:9547/],
      ['metrics=[::1]', /metrics must be ADDR:PORT/],
      ['metrics=[10.0.0.1]:80', /"10\.0\.0\.1" is not an IPv6 address/],
      ['metrics=[::g]:80', /is not an IPv6 address/],
      ['metrics=256.0.0.1:80', /is not a numeric IPv4 address/],
      ['metrics=127.0.0.01:80', /is not a numeric IPv4 address/],
      ['metrics=off', /metrics must be ADDR:PORT/],
    ];
    for (const [line, pattern] of cases) {
      const errs = await loadErrors(`${line}\n${REAL}`);
      assert.equal(errs.length, 1, `${line}: ${errs.map(formatDiagnostic).join('; ')}`);
      assert.equal(errs[0]?.pos.line, 1, line);
      assert.equal(errs[0]?.directive, 'metrics', line);
      assert.match(errs[0]?.message ?? '', pattern, line);
    }
  });

  test('global only: inside a virtual section it is an error at its line', async () => {
    const errs = await loadErrors(vs('real=10.0.0.1:80 gate', 'metrics=127.0.0.1:9547'));
    assert.deepEqual(
      errs.map((e) => [e.pos.line, e.code]),
      [[3, 'misplaced']],
    );
  });

  test('parseMetricsEndpoint is the same reader', () => {
    assert.deepEqual(parseMetricsEndpoint(' [::1]:9547 '), { ok: true, value: { host: '::1', port: 9547 } });
    assert.equal(parseMetricsEndpoint('x').ok, false);
  });
});

describe('metrics in YAML', () => {
  test('an address (IPv6 quoted), no, and YAML booleans', async () => {
    assert.deepEqual((await loadValid('metrics: 0.0.0.0:9547\n', YAML)).globals.metrics, {
      host: '0.0.0.0',
      port: 9547,
    });
    assert.deepEqual((await loadValid('metrics: "[::1]:9100"\n', YAML)).globals.metrics, { host: '::1', port: 9100 });
    assert.equal((await loadValid('metrics: no\n', YAML)).globals.metrics, null);
    assert.equal((await loadValid('metrics: false\n', YAML)).globals.metrics, null);
    assert.deepEqual((await loadValid('metrics: true\n', YAML)).globals.metrics, { host: '127.0.0.1', port: 9547 });
  });

  test('bad values give LINE:COL errors; an unquoted [IPv6] is a YAML list and is refused', async () => {
    const cases: Array<[string, number, number, RegExp]> = [
      ['metrics: 127.0.0.1\n', 1, 1, /metrics must be ADDR:PORT/],
      ['metrics: [::1]:9547\n', 1, 1, /./],
      ['virtuals:\n  - virtual: 192.0.2.1:80\n    metrics: no\n', 3, 5, /is a global directive/],
    ];
    for (const [text, line, column, message] of cases) {
      const r = await load(text, YAML);
      const errs = r.diagnostics.filter((d) => d.severity === 'error');
      assert.ok(errs.length >= 1, text);
      assert.equal(errs[0]?.pos.line, line, `${text}: ${formatDiagnostic(errs[0] as never)}`);
      if (text.startsWith('metrics: 127') || text.startsWith('virtuals'))
        assert.equal(errs[0]?.pos.column, column, text);
      assert.match(errs[0]?.message ?? '', message);
    }
  });
});

describe('convert round trips', () => {
  for (const line of ['metrics=[::1]:9547', 'metrics=no', 'metrics=0.0.0.0:9100']) {
    test(`${line}: cf -> yaml -> cf means the same and is a fixpoint`, async () => {
      const { yaml, cf, yamlAgain } = await convertRoundTrip(`${line}\n${REAL}`, YAML);
      assert.ok(cf.startsWith(`${line}\n`), cf);
      assert.equal(yamlAgain, yaml);
    });
  }
});
