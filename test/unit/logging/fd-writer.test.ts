// Never-throwing fd writes and once-per-episode problem reports.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { EpisodeReporter, fdWriter, writeAllSync } from '../../../src/logging/fd-writer';

test('writeAllSync writes everything and returns the error instead of throwing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-fd-'));
  try {
    const fd = fs.openSync(path.join(dir, 'f'), 'a');
    assert.equal(writeAllSync(fd, 'héllo\n'.repeat(10_000)), undefined);
    fs.closeSync(fd);
    assert.equal(fs.readFileSync(path.join(dir, 'f'), 'utf8'), 'héllo\n'.repeat(10_000));
    assert.equal(writeAllSync(fd, 'x')?.code, 'EBADF');
    const ro = fs.openSync(path.join(dir, 'f'), 'r');
    assert.equal(writeAllSync(ro, 'x')?.code, 'EBADF');
    fs.closeSync(ro);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('fdWriter on a closed or read-only fd drops the text silently', () => {
  const w = fdWriter(2 ** 20);
  assert.equal(w.isTTY, false);
  assert.doesNotThrow(() => w.write('lost\n'));
});

test('EpisodeReporter: one line per episode, one on recovery, nothing when nothing failed', () => {
  const out: string[] = [];
  const r = new EpisodeReporter({ write: (s) => void out.push(s) });
  r.recovered('fine again');
  r.report('broken');
  r.report('still broken');
  assert.equal(r.failing, true);
  r.recovered('fine again');
  r.recovered('fine again');
  r.report('broken anew');
  assert.deepEqual(out, ['ldir: broken\n', 'ldir: fine again\n', 'ldir: broken anew\n']);
});
