// The pid file's liveness rule: a pid counts as the running daemon only when its command line is an ldir process.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { isLdirCommandLine, readPidState } from '../../../src/system/pid-file';

const OWN_MAIN = path.resolve(__dirname, '../../../src/main.js');

/** A fake /proc with one process whose cmdline is `argv` joined by NULs. */
function fakeProc(pid: number, argv: readonly string[] | undefined): { procRoot: string; pidFile: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-pid-'));
  const procRoot = path.join(root, 'proc');
  if (argv !== undefined) {
    fs.mkdirSync(path.join(procRoot, String(pid)), { recursive: true });
    fs.writeFileSync(path.join(procRoot, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
  }
  const pidFile = path.join(root, 'ldirectord.site.cf.pid');
  fs.writeFileSync(pidFile, `${pid}\n`);
  return { procRoot, pidFile };
}

test('a daemon detached by ldir start (argv[0] ldir) is running whatever the checkout and config are called', () => {
  const { procRoot, pidFile } = fakeProc(4242, ['ldir', '/opt/app/dist/src/main.js', '--foreground', '/etc/lb/site.cf', 'start']);
  assert.deepEqual(readPidState(pidFile, procRoot), { state: 'running', pid: 4242 });
});

test("this installation's entry point is recognised by path, not only by the word ldir", () => {
  const cmdline = ['/usr/bin/node', OWN_MAIN, '--foreground', '/srv/site.cf', 'start'].join('\0');
  assert.equal(isLdirCommandLine(cmdline), true);
  const other = ['/usr/bin/node', '/srv/other/dist/src/main.js', '/srv/site.cf', 'start'].join('\0');
  assert.equal(isLdirCommandLine(other), /ldir/.test(other));
});

test('a pid reused by another program, a zombie, or a gone process is stale; no pid file is absent', () => {
  const reused = fakeProc(77, ['/usr/sbin/sshd', '-D']);
  assert.deepEqual(readPidState(reused.pidFile, reused.procRoot), { state: 'stale', pid: 77 });
  const zombie = fakeProc(78, []);
  assert.equal(readPidState(zombie.pidFile, zombie.procRoot).state, 'stale');
  const gone = fakeProc(79, undefined);
  assert.deepEqual(readPidState(gone.pidFile, gone.procRoot), { state: 'stale', pid: 79 });
  assert.deepEqual(readPidState(path.join(os.tmpdir(), 'no-such-ldir.pid')), { state: 'absent' });
});
