// The status report's IPVS timeouts (what ldir holds) and each virtual's persistence and engine: built, valid on the
// wire (and absent from older daemons), shown by `ldir status`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderStatus, timeoutsLine } from '../../../src/cli/status-view';
import { resultSchemas } from '../../../src/daemon/protocol-schema';
import { buildStatusReport } from '../../../src/daemon/status-report';
import { sampleReport } from '../../helpers/status-report';
import { real, snapshot, virtual } from '../metrics/fixtures';

const FACTS = {
  pid: 42,
  configFile: '/etc/ha.d/ldirectord.cf',
  startedAt: 1_700_000_000_000,
  backend: 'netlink',
  lastReload: null,
};

describe('IPVS timeouts and persistence in the status report', () => {
  test('built from what the daemon holds and from each virtual; valid on the wire', () => {
    const engine = snapshot([
      virtual('udp:192.0.2.1:5060', [real('10.0.0.1:5060')], {
        protocol: 'udp',
        persistent: 60,
        persistenceEngine: 'sip',
      }),
      virtual('tcp:192.0.2.1:80', [real('10.0.0.1:80')]),
    ]);
    const report = buildStatusReport(
      {
        ...FACTS,
        ipvsTimeouts: [
          { timeout: 'tcp', value: 7200, found: 900, restore: true },
          { timeout: 'udp', value: 600, found: 300, restore: true },
        ],
      },
      engine,
      [],
      1_700_000_060_000,
    );
    assert.deepEqual(report.daemon.ipvsTimeouts, [
      { timeout: 'tcp', value: 7200, found: 900, restore: true },
      { timeout: 'udp', value: 600, found: 300, restore: true },
    ]);
    assert.deepEqual(
      report.virtualServices.map((v) => [v.persistent, v.persistenceEngine]),
      [
        [60, 'sip'],
        [null, null],
      ],
    );
    const wire = JSON.parse(JSON.stringify(report)) as unknown;
    assert.doesNotThrow(() => resultSchemas.status(wire, 'result'));
    assert.deepEqual(
      buildStatusReport(FACTS, engine, [], 1_700_000_060_000).daemon.ipvsTimeouts,
      [],
      'none held: an empty list',
    );
  });

  test('the wire accepts a report without them (an older daemon) and refuses malformed ones', () => {
    const report = sampleReport();
    assert.doesNotThrow(() => resultSchemas.status(report, 'result'));
    const badTimeout = {
      ...report,
      daemon: { ...report.daemon, ipvsTimeouts: [{ timeout: 'sctp', value: 1, found: 1, restore: false }] },
    };
    assert.throws(() => resultSchemas.status(badTimeout, 'result'), /ipvsTimeouts/);
    const v = report.virtualServices[0]!;
    const badPersistent = { ...report, virtualServices: [{ ...v, persistent: -1 }] };
    assert.throws(() => resultSchemas.status(badPersistent, 'result'), /persistent/);
  });

  test('ldir status: a timeouts line under the kernel lines; persistence and engine in the virtual header', () => {
    const report = sampleReport();
    const v = report.virtualServices[0]!;
    const text = renderStatus(
      {
        ...report,
        daemon: {
          ...report.daemon,
          ipvsTimeouts: [
            { timeout: 'tcp', value: 7200, found: 900, restore: false },
            { timeout: 'udp', value: 600, found: 300, restore: false },
          ],
        },
        virtualServices: [{ ...v, persistent: 60, persistenceEngine: 'sip' }],
      },
      { width: 200 },
    );
    const lines = text.split('\n');
    assert.equal(lines[3], 'ipvs timeouts: tcp 7200s (found 900s), udp 600s (found 300s); left at stop');
    assert.match(text, /^tcp:192\.0\.2\.1:80 {2}sched wrr {2}persistent 60s pe sip {2}2\/3 up$/m);
    assert.doesNotMatch(renderStatus(sampleReport()), /ipvs timeouts|persistent/, 'nothing when none is held or set');
  });

  test('timeoutsLine: restored at stop; mixed flags per timeout', () => {
    assert.equal(
      timeoutsLine([{ timeout: 'tcpfin', value: 30, found: 120, restore: true }]),
      'ipvs timeouts: tcpfin 30s (found 120s); restored at stop',
    );
    assert.equal(
      timeoutsLine([
        { timeout: 'tcp', value: 7200, found: 900, restore: true },
        { timeout: 'udp', value: 60, found: 300, restore: false },
      ]),
      'ipvs timeouts: tcp 7200s (found 900s, restored at stop), udp 60s (found 300s, left at stop)',
    );
    assert.equal(timeoutsLine([]), undefined);
    assert.equal(timeoutsLine(undefined), undefined);
  });
});
