// The pid file's lock rule: a daemon runs while some process holds an exclusive flock on its pid file, whatever
// that process's command line; the file is written in place so the lock and the name stay on one inode.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parsePid, PidFile, readPidState } from '../../../src/system/pid-file';
import { holdPidFile } from '../../helpers/pid-lock';
import { eventually } from '../../helpers/wait';

const tempPidFile = (): string =>
  path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-pid-')), 'run', 'ldirectord.site.cf.pid');

/** Whether some flock(2) request on `file` is blocked, waiting for the lock (/proc/locks marks waiters with `->`). */
function lockAwaited(file: string): boolean {
  const ino = fs.statSync(file).ino;
  return fs
    .readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .some((line) => {
      const m = /->\s+FLOCK\s+\S+\s+\S+\s+\d+\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
      return m !== null && Number(m[1]) === ino;
    });
}

/** Waits (polling /proc/locks, with a hang guard) until a request for the lock on `file` is blocked. */
const untilAwaited = (file: string): Promise<true> =>
  eventually(`a blocked flock on ${file}`, () => lockAwaited(file) || undefined, 20_000, 5);

test('a locked pid file is running with the pid it names; unlocked it is stale; without a file absent', async () => {
  const file = tempPidFile();
  assert.deepEqual(readPidState(file), { state: 'absent' });
  const own = PidFile.open(file);
  assert.equal(await own.lock(0), 'locked');
  own.write(4242);
  assert.deepEqual(readPidState(file), { state: 'running', pid: 4242 });
  own.close();
  assert.deepEqual(readPidState(file), { state: 'stale', pid: 4242 }, 'the lock went with the descriptor');
});

test('any process holding the lock counts, whatever its command line (here flock(1) running sleep)', () => {
  const file = tempPidFile();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const held = holdPidFile(file, 777);
  try {
    assert.deepEqual(readPidState(file), { state: 'running', pid: 777 });
  } finally {
    held.release();
  }
  assert.deepEqual(readPidState(file), { state: 'stale', pid: 777 });
});

test('a second daemon cannot lock a held pid file; it can once the holder let go', async () => {
  const file = tempPidFile();
  const first = PidFile.open(file);
  assert.equal(await first.lock(0), 'locked');
  first.write(101);
  const second = PidFile.open(file);
  assert.equal(await second.lock(0), 'busy');
  assert.equal(await second.lock(300), 'busy', 'a bounded wait gives up too');
  assert.equal(second.readPid(), 101);
  first.close();
  assert.equal(await second.lock(0), 'locked');
  second.close();
});

test('a waiting successor gets the lock the moment its predecessor lets go', async () => {
  const file = tempPidFile();
  const old = PidFile.open(file);
  assert.equal(await old.lock(0), 'locked');
  const next = PidFile.open(file);
  next.write(202);
  const waiting = next.lock(60_000);
  await untilAwaited(file); // the successor's flock(1) is blocked on the held lock
  old.close();
  assert.equal(await waiting, 'locked');
  assert.deepEqual(readPidState(file), { state: 'running', pid: 202 });
  next.close();
});

test('closing while a lock is awaited ends the wait without a lock (a successor stopped before its predecessor exited)', async () => {
  const file = tempPidFile();
  const holder = PidFile.open(file);
  assert.equal(await holder.lock(0), 'locked');
  const waiter = PidFile.open(file);
  const waiting = waiter.lock(60_000);
  await untilAwaited(file);
  waiter.close(); // while its flock(1) waits; the holder lets go only after that
  holder.close();
  assert.equal(await waiting, 'busy');
  assert.equal(waiter.isLocked(), false);
});

test('write rewrites in place (same inode, no leftover digits); remove only takes its own pid', async () => {
  const file = tempPidFile();
  const own = PidFile.open(file);
  own.write(123456);
  const inode = fs.statSync(file).ino;
  own.write(78);
  assert.equal(fs.readFileSync(file, 'utf8'), '78\n');
  assert.equal(fs.statSync(file).ino, inode);
  assert.equal(own.remove(79), false);
  assert.equal(fs.existsSync(file), true);
  assert.equal(own.remove(78), true);
  assert.equal(fs.existsSync(file), false);
  own.close();
});

test('a lock taken on a file its holder unlinked meanwhile is retaken on the file at the path', async () => {
  const file = tempPidFile();
  const late = PidFile.open(file);
  fs.unlinkSync(file); // the previous daemon removed its pid file after we opened it
  assert.equal(await late.lock(0), 'locked');
  late.write(303);
  assert.deepEqual(readPidState(file), { state: 'running', pid: 303 }, 'the lock guards the file that is at the path');
  late.close();
});

test('without flock(1) locking is unavailable and a named live process counts as running', async () => {
  const file = tempPidFile();
  const own = PidFile.open(file, '/nonexistent/flock');
  assert.equal(await own.lock(0), 'unavailable');
  own.write(process.pid);
  assert.deepEqual(readPidState(file, '/nonexistent/flock'), { state: 'running', pid: process.pid });
  own.close();
});

test('parsePid takes a positive integer on the first line only', () => {
  assert.equal(parsePid('4242\n'), 4242);
  assert.equal(parsePid('  17 \nrest'), 17);
  assert.equal(parsePid(''), undefined);
  assert.equal(parsePid('0\n'), undefined);
  assert.equal(parsePid('abc'), undefined);
});

test('a symbolic link at the pid path is never written through: the open is refused and the linked file kept', () => {
  const file = tempPidFile();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const victim = path.join(path.dirname(file), 'victim');
  fs.writeFileSync(victim, 'root:x:0:0\n');
  fs.symlinkSync(victim, file);
  assert.throws(
    () => PidFile.open(file),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'LDIR_ERR_DAEMON_START_FAILED');
      assert.equal(
        err.message,
        `cannot open pid file ${file}: it is a symbolic link: a pid file is written only as a regular file (remove the link)`,
      );
      return true;
    },
  );
  assert.equal(fs.readFileSync(victim, 'utf8'), 'root:x:0:0\n');
  assert.deepEqual(readPidState(file), { state: 'absent' }, 'a link is no pid file of ours');
});

test('a FIFO at the pid path is refused, not written to', () => {
  const file = tempPidFile();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  execFileSync('mkfifo', [file]);
  assert.throws(
    () => PidFile.open(file),
    /cannot open pid file .*: it is a FIFO: a pid file is written only as a regular file/,
  );
});

test('a pid file naming a live process that merely has "ldir" in its command line (tail -f ldir-notes.txt) is stale', async () => {
  const file = tempPidFile();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const notes = path.join(path.dirname(file), 'ldir-notes.txt');
  fs.writeFileSync(notes, 'notes\n');
  const tail = spawn('tail', ['-f', notes], { stdio: 'ignore' });
  try {
    fs.writeFileSync(file, `${tail.pid}\n`);
    assert.match(fs.readFileSync(`/proc/${tail.pid}/cmdline`, 'utf8'), /ldir-notes/);
    assert.deepEqual(readPidState(file), { state: 'stale', pid: tail.pid });
    // And a daemon takes the file over: it locks it and writes its own pid in place.
    const own = PidFile.open(file);
    assert.equal(await own.lock(0), 'locked');
    own.write(process.pid);
    assert.deepEqual(readPidState(file), { state: 'running', pid: process.pid });
    own.close();
  } finally {
    tail.kill('SIGKILL');
  }
});
