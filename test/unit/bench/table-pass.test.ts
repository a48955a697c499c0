// bench:table-pass: its settings and its scripted kernel dump.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scriptedDumpBackend } from '../../../bench/netlink-dump';
import { readReals, realAddress } from '../../../bench/table-pass';
import { BenchUsageError } from '../../../bench/targets';

test('BENCH_TABLE_REALS: counts, or a usage error before anything runs', () => {
  assert.deepEqual(readReals({}), [300, 1000, 10000]);
  assert.deepEqual(readReals({ BENCH_TABLE_REALS: ' 5, 70 ' }), [5, 70]);
  for (const bad of ['0', 'x', '1.5', '300000', ''])
    assert.throws(() => readReals({ BENCH_TABLE_REALS: bad }), BenchUsageError, bad);
});

test('the scripted dump lists every destination as the kernel would, whatever the size', async () => {
  const addresses = Array.from({ length: 600 }, (_, i) => realAddress(i));
  assert.equal(new Set(addresses).size, 600, 'distinct addresses');
  const backend = await scriptedDumpBackend(addresses);
  const [service, ...others] = await backend.list({ stats: true });
  assert.equal(others.length, 0);
  assert.ok(service && 'address' in service.service && service.service.address === '10.202.0.1');
  assert.deepEqual(
    service?.destinations.map((d) => d.address),
    addresses,
  );
  assert.ok(service?.destinations.every((d) => d.weight === 1 && d.forward === 'masq' && d.stats !== undefined));
});
