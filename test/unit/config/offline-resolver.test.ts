// The offline resolver (stop/status/ping read a file only to warn): no name lookup, distinct stable placeholders.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { offlineResolver } from '../../../src/config/offline-resolver';
import { loadConfigText } from '../../../src/config/load';
import { TEST_PROBES } from '../../helpers/config';

test('numeric addresses as written; each name its own address per family, the same every time', async () => {
  const r = offlineResolver({ resolvePort: () => 80 });
  assert.equal(await r.resolveHost('192.0.2.7', 'inet'), '192.0.2.7');
  assert.equal(await r.resolveHost('192.0.2.7', 'inet6'), undefined);
  assert.equal(await r.resolveHost('[2001:DB8::1]', 'inet6'), '2001:db8::1');
  const a = await r.resolveHost('web-a.example', 'inet');
  const b = await r.resolveHost('web-b.example', 'inet');
  assert.match(a ?? '', /^198\.1[89]\.\d+\.\d+$/);
  assert.notEqual(a, b);
  assert.equal(await r.resolveHost('web-a.example', 'inet'), a);
  assert.match((await r.resolveHost('web-a.example', 'inet6')) ?? '', /^2001:db8::/);
});

test('a file of host names that exist nowhere loads without a lookup, and its other errors are still found', async () => {
  const text =
    'virtual=lb.nowhere.invalid:80\n\treal=web1.nowhere.invalid:80 gate\n\treal=web2.nowhere.invalid:80 gate\n';
  const ok = await loadConfigText(text, '/etc/ha.d/x.cf', {
    resolver: offlineResolver(),
    probes: TEST_PROBES,
    hostname: 'd',
  });
  assert.ok(ok.config, ok.diagnostics.map((d) => d.message).join('\n'));
  assert.equal(ok.config.virtualServices[0]?.reals.length, 2, 'two names, two reals');
  const bad = await loadConfigText(`${text}\tbogus=1\n`, '/etc/ha.d/x.cf', {
    resolver: offlineResolver(),
    probes: TEST_PROBES,
    hostname: 'd',
  });
  assert.equal(bad.config, undefined);
  assert.match(bad.diagnostics.map((d) => d.message).join('\n'), /unknown directive "bogus"/);
});
