import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { flatString } from '../../../src/model/flat-string';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap bytes per string kept of `count` names `tcp:10.0.0.N:80 127.A.B.C:PORT` built by concatenation. */
function bytesPerKeptName(make: (s: string) => string, count = 50_000): number {
  gc();
  const before = v8.getHeapStatistics().used_heap_size;
  const kept: string[] = [];
  for (let i = 0; i < count; i++) {
    const real = `127.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
    kept.push(make(`tcp:10.0.0.${i % 250}:80 ${real}:${80 + (i % 3)}`));
  }
  gc();
  gc();
  const bytes = (v8.getHeapStatistics().used_heap_size - before) / count;
  assert.equal(kept.length, count);
  return bytes;
}

test('a flat string has the same characters', () => {
  for (const s of ['', 'tcp:10.0.0.1:80', `${'a'}${1}:${'[2001:db8::1]'}`, 'é"\\\n\u2028'])
    assert.equal(flatString(s), s);
});

test('a name kept flat takes less than half the heap of the concatenation it came from', () => {
  const tree = bytesPerKeptName((s) => s);
  const flat = bytesPerKeptName(flatString);
  assert.ok(flat < tree / 2, `flat ${flat.toFixed(0)} B per name, as built ${tree.toFixed(0)} B`);
});
