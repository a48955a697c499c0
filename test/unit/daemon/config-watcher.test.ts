// The configuration watcher (autoreload): content changes of the main file and of every included file, changes of an
// include glob's matches, a missing include that appears, and a change made after a load read a file (the load's
// digest is the known content, not what is on disk when the watcher is told).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import type { ConfigSources } from '../../../src/config/config-sources';
import { loadConfigFile } from '../../../src/config/load';
import { ConfigWatcher } from '../../../src/daemon/config-watcher';
import { fakeResolver, TEST_PROBES } from '../../helpers/config';
import { FakeClock } from '../../helpers/fake-clock';

let dir = '';
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'ldir-watch-')));
  mkdirSync(join(dir, 'conf.d'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a file and moves its mtime (a write within the same clock tick must still look different). */
let tick = 0;
function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  tick++;
  utimesSync(file, 1_000_000 + tick, 1_000_000 + tick);
  return file;
}

async function sourcesOf(main: string): Promise<ConfigSources> {
  return (await loadConfigFile(main, { resolver: fakeResolver(), probes: TEST_PROBES, hostname: 'director' })).sources;
}

const watcher = (main: string, sources?: ConfigSources): ConfigWatcher =>
  new ConfigWatcher({ path: main, clock: new FakeClock(), onChange: () => undefined, ...(sources ? { sources } : {}) });

test('a change in an included file is a change; a touch that keeps the content is not', async () => {
  const main = write('main.cf', 'include=conf.d/*.cf\n');
  const a = write('conf.d/a.cf', 'checktimeout=3\n');
  const w = watcher(main, await sourcesOf(main));
  assert.deepEqual(w.watchedFiles(), [main, a]);
  assert.equal(w.poll(), false, 'nothing changed since the load');
  write('conf.d/a.cf', 'checktimeout=3\n');
  assert.equal(w.poll(), false, 'same content, new mtime');
  write('conf.d/a.cf', 'checktimeout=4\n');
  assert.equal(w.poll(), true);
  assert.equal(w.poll(), false, 'reported once');
});

test("a file added to or removed from a glob's matches is a change", async () => {
  const main = write('main.cf', 'include=conf.d/*.cf\n');
  write('conf.d/a.cf', 'checktimeout=3\n');
  const w = watcher(main, await sourcesOf(main));
  write('conf.d/b.cf~', 'checktimeout=5\n');
  assert.equal(w.poll(), false, 'an editor backup does not match *.cf');
  write('conf.d/b.cf', 'checktimeout=5\n');
  assert.equal(w.poll(), true, 'added');
  assert.equal(w.poll(), false);
  rmSync(join(dir, 'conf.d/a.cf'));
  assert.equal(w.poll(), true, 'removed');
});

test('a missing plain include that appears is a change', async () => {
  const main = write('main.cf', 'include=later.cf\n');
  const w = watcher(main, await sourcesOf(main));
  assert.equal(w.poll(), false);
  write('later.cf', 'checktimeout=3\n');
  assert.equal(w.poll(), true);
});

test("content changed after the load read it is still a change (the load's digest is what is known)", async () => {
  const main = write('main.cf', 'include=conf.d/a.cf\n');
  write('conf.d/a.cf', 'checktimeout=3\n');
  const sources = await sourcesOf(main);
  write('conf.d/a.cf', 'checktimeout=9\n'); // between the read and the watcher being told
  const w = watcher(main, sources);
  assert.equal(w.poll(), true);
});

test('accept(sources) moves the watch to what the new load read; accept() takes the files as they are now', async () => {
  const main = write('main.cf', 'checktimeout=3\n');
  const w = watcher(main);
  assert.deepEqual(w.watchedFiles(), [main]);
  write('conf.d/a.cf', 'checktimeout=3\n');
  write('main.cf', 'include=conf.d/a.cf\n');
  assert.equal(w.poll(), true);
  w.accept(await sourcesOf(main));
  assert.deepEqual(w.watchedFiles(), [main, join(dir, 'conf.d/a.cf')]);
  assert.equal(w.poll(), false);
  write('conf.d/a.cf', 'checktimeout=4\n');
  w.accept();
  assert.equal(w.poll(), false, 'taken as it is now');
});
