// ipvstimeouts="TCP TCPFIN UDP" and ipvstimeoutsrestore=yes|no (ldir extensions): both forms, the model, errors and
// warnings with their line, ldir convert both ways.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { convertRoundTrip, load, loadErrors, loadValid, vs, warnings } from '../../helpers/config';

const CF = '/etc/ha.d/test.cf';
const YAML = '/etc/ha.d/ldir.yaml';
const REAL = vs('real=10.0.0.1:80 masq');

describe('ipvstimeouts and ipvstimeoutsrestore', () => {
  test('absent: ldir does not touch the timeouts', async () => {
    assert.equal((await loadValid(REAL)).globals.ipvsTimeouts, undefined);
  });

  test('quoted as the issue writes it, or bare; 0 leaves one as the kernel has it; restore defaults to no', async () => {
    const quoted = await loadValid(`ipvstimeouts="7200 0 600"\n${REAL}`);
    assert.deepEqual(quoted.globals.ipvsTimeouts, {
      tcp: 7200,
      tcpFin: 0,
      udp: 600,
      restore: false,
      source: { file: CF, line: 1 },
    });
    const bare = await loadValid(`ipvstimeoutsrestore=yes\nipvstimeouts = 900   120\t300  \n${REAL}`);
    assert.deepEqual(bare.globals.ipvsTimeouts, {
      tcp: 900,
      tcpFin: 120,
      udp: 300,
      restore: true,
      source: { file: CF, line: 2 },
    });
    assert.ok(Object.isFrozen(bare.globals.ipvsTimeouts));
  });

  test('the largest value ipvsadm accepts (31 days), and the last of two lines', async () => {
    const c = await loadValid(`ipvstimeouts=1 1 1\nipvstimeouts=2678400 2678400 2678400\n${REAL}`);
    assert.deepEqual(
      [c.globals.ipvsTimeouts?.tcp, c.globals.ipvsTimeouts?.udp, c.globals.ipvsTimeouts?.source.line],
      [2678400, 2678400, 2],
    );
  });

  test('"0 0 0" sets nothing: a warning, and no timeouts in the model', async () => {
    const r = await load(`ipvstimeouts=0 0 0\nipvstimeoutsrestore=yes\n${REAL}`);
    assert.equal(r.config?.globals.ipvsTimeouts, undefined);
    assert.deepEqual(
      warnings(r).map((w) => [w.pos.line, w.code, w.directive]),
      [
        [1, 'ignored-setting', 'ipvstimeouts'],
        [2, 'ignored-setting', 'ipvstimeoutsrestore'],
      ],
    );
    assert.match(
      warnings(r)[0]?.message ?? '',
      /ipvstimeouts=0 0 0 sets nothing: 0 leaves a timeout as the kernel has it/,
    );
    assert.match(warnings(r)[1]?.message ?? '', /ipvstimeoutsrestore has no effect without timeouts to set/);
  });

  test('ipvstimeoutsrestore alone: a warning at its line', async () => {
    const r = await load(`ipvstimeoutsrestore=no\n${REAL}`);
    assert.ok(r.config);
    assert.deepEqual(
      warnings(r).map((w) => [w.pos.line, w.directive]),
      [[1, 'ipvstimeoutsrestore']],
    );
  });

  const refused: Array<[string, RegExp]> = [
    [
      'ipvstimeouts=',
      /ipvstimeouts must be three numbers of seconds "TCP TCPFIN UDP", as ipvsadm --set takes them \(0 leaves one as the kernel has it\), not ""/,
    ],
    ['ipvstimeouts=900 120', /must be three numbers of seconds/],
    ['ipvstimeouts=900 120 300 60', /must be three numbers of seconds/],
    ['ipvstimeouts=900 120 5m', /must be three numbers of seconds/],
    ['ipvstimeouts=900 -1 300', /must be three numbers of seconds/],
    ['ipvstimeouts=900 1.5 300', /must be three numbers of seconds/],
    ['ipvstimeouts="900 120 300', /must be three numbers of seconds/],
    [
      'ipvstimeouts=2678401 120 300',
      /ipvstimeouts: the tcp timeout must be 0\.\.2678400 seconds \(31 days, the most ipvsadm accepts\), not 2678401/,
    ],
    ['ipvstimeouts=900 9999999999 300', /the tcpfin timeout must be 0\.\.2678400 seconds/],
    ['ipvstimeouts=900 120 99999999', /the udp timeout must be 0\.\.2678400 seconds/],
    ['ipvstimeoutsrestore=maybe', /ipvstimeoutsrestore must be 'yes' or 'no', not "maybe"/],
  ];
  for (const [line, message] of refused) {
    test(`refused with its line: ${line}`, async () => {
      const errs = await loadErrors(`# timeouts\n${line}\n${REAL}`);
      assert.equal(errs.length, 1, errs.map((e) => e.message).join('\n'));
      assert.deepEqual([errs[0]?.pos.file, errs[0]?.pos.line, errs[0]?.directive], [CF, 2, line.split('=')[0]]);
      assert.match(errs[0]?.message ?? '', message);
    });
  }

  test('inside a virtual section: a global directive, misplaced', async () => {
    const errs = await loadErrors(vs('real=10.0.0.1:80 masq', 'ipvstimeouts=900 120 300'));
    assert.deepEqual(
      errs.map((e) => [e.pos.line, e.code]),
      [[3, 'misplaced']],
    );
  });

  test('YAML: the same string, the same model; errors name the YAML line', async () => {
    const c = await loadValid(
      [
        'ipvstimeouts: 7200 0 600',
        'ipvstimeoutsrestore: yes',
        'virtuals:',
        '  - virtual: 192.0.2.1:80',
        '    real: [{host: 10.0.0.1, port: 80, forward: masq}]',
        '',
      ].join('\n'),
      YAML,
    );
    assert.deepEqual(c.globals.ipvsTimeouts, {
      tcp: 7200,
      tcpFin: 0,
      udp: 600,
      restore: true,
      source: { file: YAML, line: 1, column: 1 },
    });
    const errs = await loadErrors(
      [
        'virtuals:',
        '  - virtual: 192.0.2.1:80',
        '    real: [{host: 10.0.0.1, port: 80, forward: masq}]',
        'ipvstimeouts: 900',
        '',
      ].join('\n'),
      YAML,
    );
    assert.deepEqual(
      errs.map((e) => [e.pos.file, e.pos.line, e.directive]),
      [[YAML, 4, 'ipvstimeouts']],
    );
  });

  test('ldir convert: cf -> YAML -> cf means the same, quoted or not', async () => {
    for (const line of ['ipvstimeouts="7200 0 600"', 'ipvstimeouts=7200 0 600']) {
      const trip = await convertRoundTrip(`${line}\nipvstimeoutsrestore=yes\n${REAL}`);
      assert.match(trip.yaml, /^ipvstimeouts: 7200 0 600\nipvstimeoutsrestore: yes\n/);
      assert.match(trip.cf, /^ipvstimeouts=7200 0 600\nipvstimeoutsrestore=yes\n/);
      assert.deepEqual(
        { ...trip.config.globals.ipvsTimeouts, source: undefined },
        { tcp: 7200, tcpFin: 0, udp: 600, restore: true, source: undefined },
      );
      assert.equal(trip.yamlAgain, trip.yaml);
    }
  });
});
