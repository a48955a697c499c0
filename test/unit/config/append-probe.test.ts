// What `ldir check` accepts as a logfile or monitorfile: an appendable file, a missing one in a writable directory, or
// a character device; never a FIFO (with no reader the daemon hangs before its pid file and socket exist), socket,
// directory or a path whose directory is missing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { appendProblem } from '../../../src/config/append-probe';
import { loadConfigText } from '../../../src/config/load';

test('appendProblem: files, missing files and /dev/null pass; FIFO, directory and a missing directory do not', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-append-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ldirectord.log');
  fs.writeFileSync(file, '');
  const fifo = path.join(dir, 'pipe.log');
  execFileSync('mkfifo', [fifo]);
  assert.equal(appendProblem(file), undefined);
  assert.equal(appendProblem(path.join(dir, 'new.log')), undefined);
  assert.equal(appendProblem('/dev/null'), undefined);
  assert.match(appendProblem(fifo) ?? '', /FIFO/);
  assert.match(appendProblem(dir) ?? '', /directory/);
  assert.match(appendProblem(path.join(dir, 'missing', 'x.log')) ?? '', /directory does not exist/);
});

test('a logfile or monitorfile naming a FIFO is an error at its line; the same file with supervised=yes is not opened', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-append-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'pipe.log');
  execFileSync('mkfifo', [fifo]);
  const cf = `logfile="${fifo}"\nvirtual=127.0.0.1:80\n\treal=127.0.0.2:80 masq\n\tmonitorfile=${fifo}\n`;
  const r = await loadConfigText(cf, '/etc/ha.d/site.cf');
  const errors = r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.pos.line} ${d.message}`);
  assert.equal(r.config, undefined);
  assert.equal(errors.length, 2, errors.join('\n'));
  assert.match(errors[0] ?? '', /^1 unable to open logfile: .*pipe\.log \(it is a FIFO/);
  assert.match(errors[1] ?? '', /^4 unable to open monitorfile .*pipe\.log \(it is a FIFO/);
  const supervised = await loadConfigText(
    `supervised=yes\n${cf.replace(/\tmonitorfile=.*\n/, '')}`,
    '/etc/ha.d/site.cf',
  );
  assert.deepEqual(
    supervised.diagnostics.filter((d) => d.severity === 'error'),
    [],
    'the log goes to stdout: the file is never opened',
  );
});
