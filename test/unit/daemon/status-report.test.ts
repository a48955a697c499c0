// The status report's rise progress: a down real with successes towards risecount, on the wire and in `ldir status`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IdentityStatus } from '../../../src/checks/scheduler';
import { renderStatus } from '../../../src/cli/status-view';
import { resultSchemas } from '../../../src/daemon/protocol-schema';
import { buildStatusReport } from '../../../src/daemon/status-report';
import { sampleReport } from '../../helpers/status-report';
import { real, snapshot, status, virtual } from '../metrics/fixtures';

const V1 = 'tcp:192.0.2.1:80';
const V2 = 'tcp:192.0.2.2:80';
const FACTS = {
  pid: 42,
  configFile: '/etc/ha.d/ldirectord.cf',
  startedAt: 1_700_000_000_000,
  backend: 'memory',
  lastReload: null,
};

/** A check identity with the given health and rise progress. */
function check(
  identity: string,
  health: IdentityStatus['health'],
  riseSuccesses: number,
  riseCount: number,
  ...members: string[]
): IdentityStatus {
  return { ...status(identity, ...members), health, riseSuccesses, riseCount };
}

describe('rise progress in the status report', () => {
  test('a down real with successes in a row is rising, in every virtual its check serves; others are not', () => {
    const engine = snapshot([
      virtual(V1, [
        real('10.0.0.1:80', { health: 'down' }),
        real('10.0.0.2:80', { health: 'down' }),
        real('10.0.0.3:80'),
      ]),
      virtual(V2, [real('10.0.0.1:80', { health: 'down' })]),
    ]);
    const checks = [
      check('a', 'down', 2, 3, `${V1} 10.0.0.1:80`, `${V2} 10.0.0.1:80`),
      check('b', 'down', 0, 3, `${V1} 10.0.0.2:80`),
      check('c', 'up', 0, 3, `${V1} 10.0.0.3:80`),
    ];
    const report = buildStatusReport(FACTS, engine, checks, 1_700_000_060_000);
    const rising = report.virtualServices.map((v) => v.reals.map((r) => r.rising));
    assert.deepEqual(rising, [[{ successes: 2, needed: 3 }, null, null], [{ successes: 2, needed: 3 }]]);
    assert.doesNotThrow(() => resultSchemas.status(JSON.parse(JSON.stringify(report)), 'result'));
  });

  test('the wire accepts a report without it (an older daemon) and refuses a malformed one', () => {
    const report = sampleReport();
    assert.doesNotThrow(() => resultSchemas.status(report, 'result'));
    const v = report.virtualServices[0]!;
    const bad = {
      ...report,
      virtualServices: [{ ...v, reals: [{ ...v.reals[1]!, rising: { successes: 0, needed: 3 } }] }],
    };
    assert.throws(() => resultSchemas.status(bad, 'result'), /rising/);
  });

  test('ldir status shows RISING n/N in the flags of the real', () => {
    const report = sampleReport();
    const v = report.virtualServices[0]!;
    const reals = [v.reals[0]!, { ...v.reals[1]!, rising: { successes: 1, needed: 3 } }];
    const text = renderStatus({ ...report, virtualServices: [{ ...v, reals }] }, { width: 200 });
    assert.match(text, /^ {2}REAL {9}FWD {3}HEALTH {2}WEIGHT {2}FOR {4}FLAGS {7}LAST CHECK$/m);
    assert.match(
      text,
      /^ {2}10\.0\.0\.2:80 {2}masq {2}down {7}5\/0 {2}45s {4}RISING 1\/3 {2}connect: ECONNREFUSED \(1ms\)$/m,
    );
    assert.match(
      text,
      /^ {2}10\.0\.0\.1:80 {2}masq {2}up {9}5\/5 {2}3m12s {14}HTTP 200 \(12ms\)$/m,
      'not rising: no flag',
    );
  });
});
