// Route health injection in `ldir status`: the report carries it, the wire accepts it (and a report without it),
// the text shows the driver, what is announced, and each virtual's state with its reason.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { announceLines, renderStatus } from '../../../src/cli/status-view';
import type { AnnounceStatus } from '../../../src/daemon/protocol';
import { resultSchemas } from '../../../src/daemon/protocol-schema';
import { buildStatusReport } from '../../../src/daemon/status-report';
import { sampleReport } from '../../helpers/status-report';
import { snapshot } from '../metrics/fixtures';

const ANNOUNCE: AnnounceStatus = {
  driver: 'bird socket=/run/bird/bird.ctl file=/etc/bird/ldir-announce.conf',
  announced: ['192.0.2.10/32'],
  lastError: null,
  guard: 'connected',
  virtuals: [
    {
      virtualId: 'tcp:192.0.2.10:80',
      prefix: '192.0.2.10/32',
      state: 'announced',
      reason: 'serving',
      prefixAnnounced: true,
    },
    {
      virtualId: 'tcp:192.0.2.11:80',
      prefix: '192.0.2.11/32',
      state: 'pending-announce',
      reason: 'announce-delay',
      dueInS: 3,
      prefixAnnounced: false,
    },
    {
      virtualId: 'tcp:192.0.2.12:80',
      prefix: '192.0.2.12/32',
      state: 'pending-withdraw',
      reason: 'withdraw-delay',
      dueInS: 7,
      prefixAnnounced: true,
    },
    {
      virtualId: 'tcp:192.0.2.13:80',
      prefix: '192.0.2.13/32',
      state: 'withdrawn',
      reason: 'not-serving',
      prefixAnnounced: false,
    },
  ],
};

describe('route health injection in ldir status', () => {
  test('the report carries it when on, not when off; the wire accepts both and refuses a wrong state', () => {
    const facts = {
      pid: 42,
      configFile: '/etc/ha.d/ldirectord.cf',
      startedAt: 1_700_000_000_000,
      backend: 'memory',
      lastReload: null,
    };
    const on = buildStatusReport({ ...facts, announce: ANNOUNCE }, snapshot([]), [], 1_700_000_060_000);
    assert.deepEqual(on.daemon.announce, ANNOUNCE);
    assert.doesNotThrow(() => resultSchemas.status(JSON.parse(JSON.stringify(on)), 'result'));
    const off = buildStatusReport(facts, snapshot([]), [], 1_700_000_060_000);
    assert.equal('announce' in off.daemon, false);
    assert.doesNotThrow(() => resultSchemas.status(JSON.parse(JSON.stringify(off)), 'result'));
    const bad = { ...ANNOUNCE, virtuals: [{ ...ANNOUNCE.virtuals[0], state: 'maybe' }] };
    assert.throws(() => resultSchemas.status({ ...on, daemon: { ...on.daemon, announce: bad } }, 'result'), /state/);
  });

  test('text: the driver and what it announces, then every virtual with its state and reason', () => {
    assert.deepEqual(announceLines(ANNOUNCE), [
      'announce: bird socket=/run/bird/bird.ctl file=/etc/bird/ldir-announce.conf; announced 192.0.2.10/32; guard connected',
      '  tcp:192.0.2.10:80 192.0.2.10/32: announced (can serve)',
      '  tcp:192.0.2.11:80 192.0.2.11/32: pending announce in 3s (announcedelay)',
      '  tcp:192.0.2.12:80 192.0.2.12/32: pending withdraw in 7s (withdrawdelay)',
      '  tcp:192.0.2.13:80 192.0.2.13/32: withdrawn (below quorum)',
    ]);
    assert.match(
      announceLines({
        ...ANNOUNCE,
        announced: [],
        lastError: 'BIRD refused "configure": syntax error',
        guard: 'none',
      })[0] ?? '',
      /announced nothing; guard none; ERROR BIRD refused "configure": syntax error$/,
    );
    const report = sampleReport();
    const text = renderStatus({ ...report, daemon: { ...report.daemon, announce: ANNOUNCE } }, { width: 200 });
    assert.match(text, /^announce: bird socket=\/run\/bird\/bird\.ctl/m);
    assert.match(text, /^ {2}tcp:192\.0\.2\.11:80 192\.0\.2\.11\/32: pending announce in 3s \(announcedelay\)$/m);
    assert.doesNotMatch(renderStatus(report, { width: 200 }), /^announce:/m);
  });
});
