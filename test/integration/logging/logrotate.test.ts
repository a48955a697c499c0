// The log file destination under the real logrotate (Debian package): renames as ldirectord's shipped
// /etc/logrotate.d/ldirectord does, with and without `create`, compressed later (delaycompress); no signal, no
// copytruncate, nothing lost.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { createDaemonLogger } from '../../../src/logging/daemon-logger';
import type { TextWriter } from '../../../src/logging/fd-writer';
import { ensurePackages, IN_CI } from '../../helpers/system';

/** The messages of a JSON-lines log text. */
function msgs(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { msg: string }).msg);
}

test('logrotate rename, create, delaycompress: every line lands in exactly one file, the later ones in the new file', async (t) => {
  const missing = ensurePackages(['logrotate']);
  if (missing) {
    assert.ok(!IN_CI, missing);
    t.skip(missing);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-rot-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ldirectord.log');
  const state = path.join(dir, 'state');
  /** Runs logrotate -f with one stanza for the file. */
  const rotate = (options: string): void => {
    const conf = path.join(dir, 'rotate.conf');
    fs.writeFileSync(conf, `${file} {\n  rotate 5\n  missingok\n  compress\n  delaycompress\n${options}}\n`);
    const r = spawnSync('logrotate', ['-f', '-s', state, conf], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  const problems: string[] = [];
  const stderr: TextWriter = { write: (s) => void problems.push(s) };
  const log = createDaemonLogger({ logfile: file, stderr, fileCheckIntervalMs: 100 });
  const interval = async (): Promise<void> => sleep(150);

  log.logger.info('a1');
  rotate(''); // a plain rename (ldirectord's own stanza is just `missingok`): the daemon is not told
  await interval();
  log.logger.info('b1');
  log.logger.info('b2');
  rotate('  create 0640 root root\n');
  await interval();
  log.logger.info('c1');
  rotate('');
  await interval();
  log.logger.info('d1');
  log.close();

  assert.deepEqual(msgs(fs.readFileSync(file, 'utf8')), ['d1']);
  assert.deepEqual(msgs(fs.readFileSync(`${file}.1`, 'utf8')), ['c1']);
  assert.deepEqual(msgs(zlib.gunzipSync(fs.readFileSync(`${file}.2.gz`)).toString('utf8')), ['b1', 'b2']);
  assert.deepEqual(msgs(zlib.gunzipSync(fs.readFileSync(`${file}.3.gz`)).toString('utf8')), ['a1']);
  assert.deepEqual(problems, []);
});
