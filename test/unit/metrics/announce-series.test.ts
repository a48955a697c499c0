// Route health injection in the metrics: ldir_virtual_announced{virtual,prefix}, ldir_announce_pending{virtual},
// ldir_announce_error; absent when no virtual is announced.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AnnounceStatus } from '../../../src/daemon/protocol';
import { value } from './exposition';
import { snapshot, testMetrics } from './fixtures';

const status = (lastError: string | null): AnnounceStatus => ({
  driver: 'bird socket=/run/bird/bird.ctl file=/etc/bird/ldir-announce.conf',
  announced: ['192.0.2.10/32'],
  lastError,
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
  ],
});

describe('announce series', () => {
  test('announced, pending and error gauges follow the status; absent when off', async () => {
    const { src, scrape } = testMetrics({ engine: snapshot([]), announce: status(null) });
    let e = await scrape();
    assert.equal(value(e, 'ldir_virtual_announced', { virtual: 'tcp:192.0.2.10:80', prefix: '192.0.2.10/32' }), 1);
    assert.equal(value(e, 'ldir_virtual_announced', { virtual: 'tcp:192.0.2.11:80', prefix: '192.0.2.11/32' }), 0);
    assert.equal(value(e, 'ldir_announce_pending', { virtual: 'tcp:192.0.2.10:80' }), 0);
    assert.equal(value(e, 'ldir_announce_pending', { virtual: 'tcp:192.0.2.11:80' }), 1);
    assert.equal(value(e, 'ldir_announce_error'), 0);
    assert.equal(e.types.get('ldir_virtual_announced'), 'gauge');
    src.announce = status('BIRD control socket /run/bird/bird.ctl: connect ENOENT');
    e = await scrape();
    assert.equal(value(e, 'ldir_announce_error'), 1);
    delete src.announce;
    e = await scrape();
    assert.equal(
      value(e, 'ldir_virtual_announced', { virtual: 'tcp:192.0.2.10:80', prefix: '192.0.2.10/32' }),
      undefined,
    );
    assert.equal(value(e, 'ldir_announce_error'), undefined);
  });
});
