// Runtime weights in the status report (`override` per real, on the wire) and in `ldir status` (flag WEIGHT n and the
// legend line that says what it is).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderStatus } from '../../../src/cli/status-view';
import { resultSchemas } from '../../../src/daemon/protocol-schema';
import { buildStatusReport } from '../../../src/daemon/status-report';
import { sampleReport } from '../../helpers/status-report';
import { real, snapshot, virtual } from '../metrics/fixtures';

const V1 = 'tcp:192.0.2.1:80';
const FACTS = {
  pid: 42,
  configFile: '/etc/ha.d/ldirectord.cf',
  startedAt: 1_700_000_000_000,
  backend: 'memory',
  lastReload: null,
};

describe('runtime weights in the status report', () => {
  test('each configured real has override: its runtime weight, or null', () => {
    const engine = snapshot([
      virtual(V1, [
        real('10.0.0.1:80', { configuredWeight: 5, weightOverride: 2, desiredWeight: 2, kernelWeight: 2 }),
        real('10.0.0.2:80', { configuredWeight: 5, weightOverride: 0, desiredWeight: 0, kernelWeight: 0 }),
        real('10.0.0.3:80', { configuredWeight: 5 }),
      ]),
    ]);
    const report = buildStatusReport(FACTS, engine, [], 1_700_000_060_000);
    assert.deepEqual(
      report.virtualServices[0]?.reals.map((r) => [r.weight, r.override, r.kernelWeight]),
      [
        [5, 2, 2],
        [5, 0, 0],
        [5, null, 1],
      ],
    );
    assert.deepEqual(resultSchemas.status(JSON.parse(JSON.stringify(report)), 'result'), report);
  });

  test('ldir status: flag WEIGHT n beside the configured/kernel column, and a legend line only when some real has one', () => {
    const report = sampleReport();
    const v = report.virtualServices[0]!;
    const reals = [
      { ...v.reals[0]!, kernelWeight: 2, override: 2 },
      { ...v.reals[1]!, override: null },
      { ...v.reals[2]!, override: 7 },
    ];
    const text = renderStatus({ ...report, virtualServices: [{ ...v, reals }] }, { width: 200 });
    const rows = text.split('\n').filter((l) => l.startsWith('  '));
    assert.deepEqual(rows, [
      '  REAL         FWD   HEALTH  WEIGHT  FOR    FLAGS             LAST CHECK',
      '  10.0.0.1:80  masq  up         5/2  3m12s  WEIGHT 2          HTTP 200 (12ms)',
      '  10.0.0.2:80  masq  down       5/0  45s                      connect: ECONNREFUSED (1ms)',
      '  10.0.0.3:80  masq  up         3/0  1h02m  DRAINED,WEIGHT 7  HTTP 200 (12ms)', // drained wins in the kernel; the weight waits
    ]);
    assert.match(text, /\nflag WEIGHT n = runtime weight \(ldir weight VIRTUAL REAL N; reset to undo\)\n$/);
    const plain = renderStatus(sampleReport(), { width: 200 });
    assert.doesNotMatch(plain, /WEIGHT \d|runtime weight/, 'no runtime weight: the view is as before');
  });
});
