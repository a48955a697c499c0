// Kernel series read at scrape time from a memory backend: 64-bit counters, connections, failures and time bounds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryBackend } from '../../../src/ipvs/memory';
import type { ObservedService } from '../../../src/ipvs/types';
import { counterValue } from '../../../src/metrics/convert';
import { FakeClock } from '../../helpers/fake-clock';
import { addrService, dest, fwmService } from '../../helpers/ipvs-tables';
import { find, value } from './exposition';
import { stats, testMetrics } from './fixtures';

const U64_MAX = 2n ** 64n - 1n;

/** A memory table with a v4 service, a v6 service and an fwmark service; stats and connections set on the listing. */
function kernel(): () => Promise<readonly ObservedService[]> {
  const backend = new MemoryBackend([
    {
      service: addrService('192.0.2.1', 80),
      destinations: [dest('10.0.0.1', 80, { weight: 5 }), dest('10.0.0.2', 80)],
    },
    { service: addrService('2001:db8::1', 443), destinations: [dest('2001:db8::2', 443)] },
    { service: fwmService(7), destinations: [] },
  ]);
  return async () =>
    (await backend.list()).map((s, i) => ({
      ...s,
      stats: stats(
        i === 0
          ? {
              conns: U64_MAX,
              inPackets: 2n ** 53n + 1n,
              outPackets: 12345n,
              inBytes: 2n ** 63n,
              outBytes: 987654321012n,
            }
          : { conns: 3n },
      ),
      destinations: s.destinations.map((d, j) => ({
        ...d,
        activeConns: 10 + j,
        inactiveConns: 20 + j,
        stats: stats({ conns: BigInt(100 + j), inBytes: 2n ** 40n + BigInt(j), outBytes: 1n }),
      })),
    }));
}

describe('kernel counters', () => {
  test('bigint → number: exact up to 2^53, nearest double above, never negative', () => {
    assert.equal(counterValue(0n), 0);
    assert.equal(counterValue(12345n), 12345);
    assert.equal(counterValue(2n ** 53n - 1n), Number.MAX_SAFE_INTEGER);
    assert.equal(counterValue(2n ** 53n + 1n), 2 ** 53);
    assert.equal(counterValue(U64_MAX), 2 ** 64);
    assert.equal(counterValue(-5n), 0);
  });

  test('per service and per destination, from the 64-bit counters of one listing', async () => {
    const { scrape } = testMetrics({ kernel: kernel() });
    const e = await scrape();
    const v = { virtual: 'tcp:192.0.2.1:80' };
    assert.equal(value(e, 'ldir_ipvs_service_connections_total', v), 2 ** 64);
    assert.equal(value(e, 'ldir_ipvs_service_incoming_packets_total', v), 2 ** 53);
    assert.equal(value(e, 'ldir_ipvs_service_outgoing_packets_total', v), 12345);
    assert.equal(value(e, 'ldir_ipvs_service_incoming_bytes_total', v), 2 ** 63);
    assert.equal(value(e, 'ldir_ipvs_service_outgoing_bytes_total', v), 987654321012);
    assert.equal(value(e, 'ldir_ipvs_service_connections_total', { virtual: 'tcp:[2001:db8::1]:443' }), 3);
    assert.equal(value(e, 'ldir_ipvs_service_connections_total', { virtual: 'fwm:7' }), 3);
    const reals = find(e, 'ldir_ipvs_destination_connections_total', v)
      .map((s) => s.labels['real'])
      .sort();
    assert.deepEqual(reals, ['10.0.0.1:80', '10.0.0.2:80']);
    const d6 = { virtual: 'tcp:[2001:db8::1]:443', real: '[2001:db8::2]:443' };
    assert.equal(value(e, 'ldir_ipvs_destination_connections_total', d6), 100);
    assert.equal(value(e, 'ldir_ipvs_destination_incoming_bytes_total', d6), 2 ** 40);
    assert.equal(value(e, 'ldir_ipvs_destination_active_connections', d6), 10);
    assert.equal(value(e, 'ldir_ipvs_destination_inactive_connections', d6), 20);
    assert.equal(value(e, 'ldir_kernel_scrape_error'), 0);
    assert.equal(e.types.get('ldir_ipvs_service_connections_total'), 'counter');
    assert.equal(e.types.get('ldir_ipvs_destination_active_connections'), 'gauge');
  });

  test('read at scrape time, once per scrape, shared by concurrent scrapes; gone destinations disappear', async () => {
    let lists = 0;
    let table = kernel();
    const { scrape } = testMetrics({
      kernel: async () => {
        lists++;
        return table();
      },
    });
    await Promise.all([scrape(), scrape(), scrape()]);
    assert.equal(lists, 1, 'one listing for concurrent scrapes');
    await scrape();
    assert.equal(lists, 2, 'a new scrape reads again');
    const empty = new MemoryBackend([]);
    table = () => empty.list();
    const e = await scrape();
    assert.equal(find(e, 'ldir_ipvs_destination_connections_total').length, 0);
    assert.equal(find(e, 'ldir_ipvs_service_connections_total').length, 0);
  });
});

describe('kernel read failures', () => {
  test('an error: ldir_kernel_scrape_error 1, traffic series absent, counted by reason', async () => {
    let fail = false;
    const table = kernel();
    const { scrape } = testMetrics({
      kernel: async () => (fail ? Promise.reject(new Error('netlink: EPERM')) : table()),
    });
    assert.ok(find(await scrape(), 'ldir_ipvs_service_connections_total').length > 0);
    fail = true;
    const e = await scrape();
    assert.equal(value(e, 'ldir_kernel_scrape_error'), 1);
    assert.equal(find(e, 'ldir_ipvs_service_connections_total').length, 0);
    assert.equal(value(e, 'ldir_kernel_scrape_failures_total', { reason: 'error' }), 1);
    assert.equal(value(e, 'ldir_kernel_scrape_failures_total', { reason: 'timeout' }), 0);
    fail = false;
    assert.equal(value(await scrape(), 'ldir_kernel_scrape_error'), 0);
  });

  test('a hung read: the scrape ends at the bound, and the next scrape waits on the same read instead of a new one', async () => {
    let lists = 0;
    const clock = new FakeClock();
    const { scrape } = testMetrics(
      {
        kernel: () => {
          lists++;
          return new Promise<never>(() => undefined);
        },
      },
      { kernelTimeoutMs: 60, clock },
    );
    let done = false;
    const first = scrape().finally(() => {
      done = true;
    });
    await clock.advance(59);
    assert.equal(done, false, 'the scrape waits for the read until its bound');
    await clock.advance(1);
    assert.equal(done, true, 'the scrape ends at the bound');
    const e = await first;
    assert.equal(value(e, 'ldir_kernel_scrape_error'), 1);
    assert.equal(value(e, 'ldir_kernel_scrape_failures_total', { reason: 'timeout' }), 1);
    assert.equal(value(e, 'ldir_kernel_scrape_duration_seconds'), 0.06, 'the read took the whole bound');
    done = false;
    const second = scrape().finally(() => {
      done = true;
    });
    await clock.advance(60);
    assert.equal(done, true, 'the next scrape ends at its own bound');
    const again = await second;
    assert.equal(value(again, 'ldir_kernel_scrape_failures_total', { reason: 'timeout' }), 2);
    assert.equal(lists, 1, 'the hung read is not started again');
  });

  test('a read that throws synchronously is an error, not a crash', async () => {
    const { scrape } = testMetrics({
      kernel: () => {
        throw new Error('closed');
      },
    });
    assert.equal(value(await scrape(), 'ldir_kernel_scrape_error'), 1);
  });
});
