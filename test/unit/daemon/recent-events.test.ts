// The recent events of `ldir status` and the status page: a bounded ring, and the one-line record of each event kind
// (routine engine events are left out).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EngineEvent } from '../../../src/engine/engine-types';
import { resultSchemas } from '../../../src/daemon/protocol-schema';
import {
  describeAlert,
  describeEngineEvent,
  describeReload,
  describeTransition,
  MAX_STATUS_EVENTS,
  RecentEvents,
} from '../../../src/daemon/recent-events';
import { transition } from '../../helpers/alerts';
import { sampleReport } from '../../helpers/status-report';

const V = 'tcp:192.0.2.1:80';
const AT = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('RecentEvents', () => {
  test('keeps the last N, oldest first; wraps any number of times', () => {
    const ring = new RecentEvents(3);
    assert.deepEqual(ring.list(), []);
    for (let i = 1; i <= 8; i++) ring.add(describeReload(true, AT + i * 1000));
    assert.deepEqual(
      ring.list().map((e) => e.at),
      [6, 7, 8].map((i) => new Date(AT + i * 1000).toISOString()),
    );
    ring.add(undefined);
    assert.equal(ring.list().length, 3, 'nothing is added for a routine event');
  });

  test('50 by default; a report with them passes the wire schema, one with more does not', () => {
    const ring = new RecentEvents();
    assert.equal(ring.capacity, MAX_STATUS_EVENTS);
    assert.equal(MAX_STATUS_EVENTS, 50);
    for (let i = 0; i < 120; i++)
      ring.add(describeTransition(transition(V, `10.0.0.${i % 250}:80`, 'up', 'down', AT + i)));
    const events = ring.list();
    assert.equal(events.length, 50);
    assert.equal(events[0]?.real, '10.0.0.70:80');
    assert.doesNotThrow(() => resultSchemas.status({ ...sampleReport(), events }, 'result'));
    assert.throws(
      () => resultSchemas.status({ ...sampleReport(), events: [...events, ...events] }, 'result'),
      /more than 50/,
    );
    assert.throws(() => new RecentEvents(0), RangeError);
  });
});

describe('records', () => {
  test('a transition names the real, its virtual, both states and the reason; down is a problem', () => {
    assert.deepEqual(describeTransition(transition(V, '10.0.0.2:80', 'up', 'down', AT, 'timeout')), {
      at: '2026-01-01T12:00:00.000Z',
      kind: 'transition',
      ok: false,
      virtual: V,
      real: '10.0.0.2:80',
      text: `real 10.0.0.2:80 of ${V} up -> down (timeout)`,
    });
    assert.equal(describeTransition(transition(V, '10.0.0.2:80', 'down', 'up', AT)).ok, true);
  });

  test('a reload, accepted or refused with why; an alert as the alerter noted it', () => {
    assert.deepEqual(describeReload(true, AT), {
      at: '2026-01-01T12:00:00.000Z',
      kind: 'reload',
      ok: true,
      text: 'configuration reloaded',
    });
    assert.equal(
      describeReload(false, AT, '/etc/ldir.cf:3: unknown directive "x"').text,
      'reload refused: /etc/ldir.cf:3: unknown directive "x"; the previous one stays in force',
    );
    assert.deepEqual(
      describeAlert({
        at: AT,
        channel: 'command',
        ok: false,
        text: 'alert command /x (down): exit status 1',
        virtual: V,
        real: '10.0.0.2:80',
      }),
      {
        at: '2026-01-01T12:00:00.000Z',
        kind: 'alert',
        ok: false,
        text: 'alert command /x (down): exit status 1',
        virtual: V,
        real: '10.0.0.2:80',
      },
    );
  });

  test('engine events: refusals, failed passes, edges, commands, drains, sync; routine ones are left out', () => {
    const cases: Array<[EngineEvent, string | undefined, boolean?]> = [
      [{ type: 'sync', at: AT, reason: 'health', ok: true, durationMs: 3, ops: 1, failed: 0, drift: 0 }, undefined],
      [
        {
          type: 'sync',
          at: AT,
          reason: 'resync',
          ok: false,
          durationMs: 3,
          ops: 0,
          failed: 0,
          drift: 0,
          error: 'netlink: EPERM',
        },
        'kernel sync pass failed (resync): netlink: EPERM',
        false,
      ],
      [
        { type: 'op', at: AT, op: 'add-destination', virtualId: V, destination: '10.0.0.2:80', ok: true, drift: false },
        undefined,
      ],
      [
        { type: 'op', at: AT, op: 'add-service', virtualId: V, ok: false, errno: 'ENOENT', drift: false },
        `kernel refused add-service ${V}: ENOENT`,
        false,
      ],
      [
        {
          type: 'op',
          at: AT,
          op: 'edit-destination',
          virtualId: V,
          destination: '10.0.0.2:80',
          realKey: '10.0.0.2:80',
          ok: false,
          errno: 'EINVAL',
          drift: false,
        },
        `kernel refused edit-destination ${V} 10.0.0.2:80: EINVAL`,
        false,
      ],
      [{ type: 'fallback', at: AT, virtualId: V, active: true }, `fallback server of ${V} in`, false],
      [{ type: 'fallback', at: AT, virtualId: V, active: false }, `fallback server of ${V} out`, true],
      [{ type: 'quorum', at: AT, virtualId: V, state: 'up', serving: 3, quorum: 2, hysteresis: 0 }, undefined],
      [
        { type: 'quorum', at: AT, virtualId: V, state: 'down', serving: 1, quorum: 2, hysteresis: 0 },
        `${V} quorum lost: 1 serving, quorum 2`,
        false,
      ],
      [
        { type: 'quorum', at: AT, virtualId: V, state: 'up', previous: 'down', serving: 2, quorum: 2, hysteresis: 0 },
        `${V} quorum gained: 2 serving, quorum 2`,
        true,
      ],
      [
        { type: 'quorum-command', at: AT, virtualId: V, action: 'down', exitCode: 1 },
        `quorum command (down) of ${V}: exit status 1`,
        false,
      ],
      [
        { type: 'fallback-command', at: AT, virtualId: V, action: 'start', exitCode: 0 },
        `fallback command (start) of ${V}: ok`,
        true,
      ],
      [
        { type: 'drain', at: AT, id: `${V} 10.0.0.2:80`, phase: 'end', why: 'idle' },
        `drain of ${V} 10.0.0.2:80 ended (idle)`,
        true,
      ],
      [{ type: 'sync-daemon', at: AT, action: 'start', state: 'master', ok: true, drift: false }, undefined],
      [
        { type: 'sync-daemon', at: AT, action: 'start', state: 'master', ok: false, errno: 'ENODEV', drift: false },
        'connection sync daemon master start refused: ENODEV',
        false,
      ],
      [
        { type: 'sync-role', at: AT, role: 'master', previous: 'backup', source: 'command' },
        'director role backup -> master (command)',
        true,
      ],
      [
        { type: 'announce', at: AT, prefix: '192.0.2.1/32', announced: false, virtualIds: [V] },
        `route 192.0.2.1/32 withdrawn (${V})`,
        false,
      ],
      [
        { type: 'announce', at: AT, prefix: '192.0.2.1/32', announced: true, virtualIds: [V, 'tcp:192.0.2.1:443'] },
        `route 192.0.2.1/32 announced (${V}, tcp:192.0.2.1:443)`,
        true,
      ],
    ];
    for (const [event, text, ok] of cases) {
      const record = describeEngineEvent(event);
      assert.equal(record?.text, text, JSON.stringify(event));
      if (record) assert.equal(record.ok, ok, JSON.stringify(event));
    }
  });
});
