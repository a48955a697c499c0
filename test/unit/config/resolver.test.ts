// Name and service resolution as ldirectord does it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalAddress, parseServices, portFromTable, systemResolver } from '../../../src/config/resolver';
import { TEST_SERVICES } from '../../helpers/config';

test('services table: names, aliases, protocols; numbers pass through when below 65536', () => {
  const t = parseServices(TEST_SERVICES);
  assert.equal(portFromTable(t, 'http', 'tcp'), 80);
  assert.equal(portFromTable(t, 'www', 'tcp'), 80);
  assert.equal(portFromTable(t, 'http', 'udp'), undefined);
  assert.equal(portFromTable(t, 'http', ''), 80);
  assert.equal(portFromTable(t, 'domain', 'udp'), 53);
  assert.equal(portFromTable(t, '8080', 'tcp'), 8080);
  assert.equal(portFromTable(t, '0', 'tcp'), 0);
  assert.equal(portFromTable(t, '65536', 'tcp'), undefined);
  assert.equal(portFromTable(t, 'gopher', ''), undefined);
});

test('addresses are canonical', () => {
  assert.equal(canonicalAddress('2001:DB8:0:0::1'), '2001:db8::1');
  assert.equal(canonicalAddress('192.0.2.1'), '192.0.2.1');
});

test('the system resolver answers literals without lookups and respects the family', async () => {
  const r = systemResolver({ servicesFile: '/nonexistent' });
  assert.equal(await r.resolveHost('192.0.2.1', 'inet'), '192.0.2.1');
  assert.equal(await r.resolveHost('192.0.2.1', 'inet6'), undefined);
  assert.equal(await r.resolveHost('[2001:db8::1]', 'inet6'), '2001:db8::1');
  assert.equal(await r.resolveHost('', 'inet'), undefined);
  assert.equal(await r.resolveHost('localhost', 'inet'), '127.0.0.1');
  assert.equal(r.resolvePort('443', 'tcp'), 443);
  assert.equal(r.resolvePort('https', 'tcp'), undefined, 'no services file: names do not resolve');
});
