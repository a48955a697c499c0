// maintenancedir: file names as ldirectord looks them up, a non-blocking cached listing, cached reverse names.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MaintenanceDir, maintenanceNames, ReverseNames } from '../../../src/checks/maintenance';
import { FakeClock, flushPromises } from '../../helpers/fake-clock';

test('file names: IP:PORT, IP, then host name and short name with and without port', () => {
  assert.deepEqual(maintenanceNames('10.0.0.1', 80, ['Web1.Example.com.']), [
    '10.0.0.1:80',
    '10.0.0.1',
    'web1.example.com:80',
    'web1.example.com',
    'web1:80',
    'web1',
  ]);
  assert.deepEqual(maintenanceNames('2001:db8::1', 443, []), ['[2001:db8::1]:443', '[2001:db8::1]', '2001:db8::1']);
  assert.deepEqual(maintenanceNames('10.0.0.2', 0, ['localhost']), [
    '10.0.0.2:0',
    '10.0.0.2',
    'localhost:0',
    'localhost',
  ]);
});

test('the probe answers from the last listing and refreshes it in the background when stale', async () => {
  const clock = new FakeClock();
  let files: string[] = ['10.0.0.1:80', '[2001:db8::1]', 'web3'];
  let listings = 0;
  const dir = new MaintenanceDir({
    dir: '/maint',
    clock,
    refreshMs: 1000,
    list: async () => {
      listings++;
      return files;
    },
  });
  await dir.refresh();
  assert.equal(dir.probe('10.0.0.1', 80, []), true);
  assert.equal(dir.probe('10.0.0.1', 81, []), false);
  assert.equal(dir.probe('2001:db8::1', 53, []), true);
  assert.equal(dir.probe('10.0.0.3', 80, ['web3.example.com']), true, 'short name');
  assert.equal(dir.probe('10.0.0.4', 80, ['web4.example.com']), false);
  assert.equal(listings, 1, 'fresh listing: no new read');
  files = [];
  await clock.advance(1000);
  assert.equal(dir.probe('10.0.0.1', 80, []), true, 'stale answer now, refresh started');
  await flushPromises();
  assert.equal(listings, 2);
  assert.equal(dir.probe('10.0.0.1', 80, []), false);
});

test('a missing directory is empty, warned once; real files are found', async () => {
  const clock = new FakeClock();
  const warnings: unknown[] = [];
  const logger = { warn: (o: unknown) => warnings.push(o) } as unknown as import('../../../src/log').Logger;
  const root = mkdtempSync(join(tmpdir(), 'ldir-maint-'));
  try {
    const missing = new MaintenanceDir({ dir: join(root, 'nope'), clock, logger });
    await missing.refresh();
    await clock.advance(1000);
    await missing.refresh();
    assert.equal(missing.probe('10.0.0.1', 80, []), false);
    assert.equal(warnings.length, 1);
    writeFileSync(join(root, '10.0.0.9'), '');
    const real = new MaintenanceDir({ dir: root, clock });
    await real.refresh();
    assert.equal(real.probe('10.0.0.9', 8080, []), true);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('reverse names are cached, looked up once at a time, empty until known', async () => {
  const clock = new FakeClock();
  let lookups = 0;
  const names = new ReverseNames({
    clock,
    ttlMs: 5000,
    lookup: async (a) => {
      lookups++;
      return a === '10.0.0.1' ? ['web1.example.com'] : [];
    },
  });
  assert.deepEqual(names.names('10.0.0.1'), []);
  assert.deepEqual(names.names('10.0.0.1'), []);
  await flushPromises();
  assert.equal(lookups, 1);
  assert.deepEqual(names.names('10.0.0.1'), ['web1.example.com']);
  await clock.advance(4000);
  names.names('10.0.0.1');
  assert.equal(lookups, 1);
  await clock.advance(1000);
  names.names('10.0.0.1');
  assert.equal(lookups, 2);
  names.retain([]);
  assert.deepEqual(names.names('10.0.0.1'), [], 'forgotten');
});
