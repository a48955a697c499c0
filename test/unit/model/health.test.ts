// The shared health vocabulary: one pair key, read back whole; the engine decides on it without the checks' code.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { pairKey, realKey, splitPairKey } from '../../../src/model/health';

const SRC = path.resolve(__dirname, '../../../../src');

test('realKey brackets IPv6 addresses only', () => {
  assert.equal(realKey('10.0.0.2', 80), '10.0.0.2:80');
  assert.equal(realKey('2001:db8::2', 443), '[2001:db8::2]:443');
});

test('pairKey and splitPairKey: every virtual id form (IPv4, IPv6, fwmark) round-trips; the form a restart hands over', () => {
  for (const [virtualId, real] of [
    ['tcp:10.0.0.1:80', '10.0.0.2:80'],
    ['udp:[2001:db8::1]:53', '[2001:db8::2]:53'],
    ['fwm:1:inet', '10.0.0.3:0'],
  ] as const) {
    const key = pairKey(virtualId, real);
    assert.deepEqual(splitPairKey(key), { virtualId, realKey: real });
  }
  // The key the engine's carry-over has always used (a newer successor of `ldir restart` reads an older one's).
  assert.equal(pairKey('tcp:192.0.2.1:80', '10.0.0.1:80'), 'tcp:192.0.2.1:80 10.0.0.1:80');
  // Two pairs never share a key, whatever the split of the text between the two parts.
  assert.notEqual(pairKey('tcp:10.0.0.1:80', '10.0.0.2:80'), pairKey('tcp:10.0.0.1:8', '010.0.0.2:80'));
  assert.deepEqual(splitPairKey('tcp:192.0.2.1:80'), { virtualId: 'tcp:192.0.2.1:80', realKey: '' });
});

test('no file of src/engine imports src/checks (health words come from the model)', () => {
  const offenders = fs
    .readdirSync(path.join(SRC, 'engine'))
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => /from '\.\.\/checks\//.test(fs.readFileSync(path.join(SRC, 'engine', f), 'utf8')));
  assert.deepEqual(offenders, []);
});
