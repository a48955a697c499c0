// writeFileAtomic: the file is replaced whole or not at all (temporary file beside it, fsync, rename), with its mode,
// and any failure on the way leaves the previous file as it was and no temporary file behind.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { writeFileAtomic, type AtomicFs } from '../../../src/system/atomic-file';

const tempDir = (): string => fs.mkdtempSync(join(tmpdir(), 'ldir-atomic-'));

/** The node fs, with every call recorded and the named one failing (EIO) when asked. */
function spyFs(failOn?: keyof AtomicFs): AtomicFs & { calls: string[] } {
  const calls: string[] = [];
  const wrap = <K extends keyof AtomicFs>(name: K): AtomicFs[K] =>
    ((...args: unknown[]) => {
      calls.push(
        `${name} ${typeof args[0] === 'string' ? args[0] : 'fd'}${name === 'renameSync' ? ` ${String(args[1])}` : ''}`,
      );
      if (name === failOn) throw Object.assign(new Error(`EIO: i/o error, ${name}`), { code: 'EIO' });
      return (fs[name] as (...a: unknown[]) => unknown)(...args);
    }) as AtomicFs[K];
  return {
    calls,
    mkdirSync: wrap('mkdirSync'),
    openSync: wrap('openSync'),
    writeSync: wrap('writeSync'),
    fchmodSync: wrap('fchmodSync'),
    fsyncSync: wrap('fsyncSync'),
    closeSync: wrap('closeSync'),
    renameSync: wrap('renameSync'),
    unlinkSync: wrap('unlinkSync'),
  };
}

describe('writeFileAtomic', () => {
  test('creates the directory, writes the content with the mode whatever the umask, replaces a previous file', () => {
    const path = join(tempDir(), 'lib', 'ldir', 'site.cf.state');
    const previous = process.umask(0o077);
    try {
      writeFileAtomic(path, 'first\n');
    } finally {
      process.umask(previous);
    }
    assert.equal(fs.readFileSync(path, 'utf8'), 'first\n');
    assert.equal(fs.statSync(path).mode & 0o777, 0o644);
    assert.equal(fs.statSync(dirname(path)).isDirectory(), true);
    writeFileAtomic(path, 'second — ünïcode\n', { mode: 0o600 });
    assert.equal(fs.readFileSync(path, 'utf8'), 'second — ünïcode\n');
    assert.equal(fs.statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dirname(path)), ['site.cf.state'], 'no temporary file left');
  });

  test('the data goes to a temporary file in the same directory, flushed before it is renamed over the target', () => {
    const dir = tempDir();
    const path = join(dir, 'x.state');
    const spy = spyFs();
    writeFileAtomic(path, '{}\n', { fs: spy });
    const open = spy.calls.find((c) => c.startsWith('openSync '));
    const temp = open?.split(' ')[1] ?? '';
    assert.equal(dirname(temp), dir, 'same directory, so the rename is atomic');
    assert.match(temp, /\/\.x\.state\.\d+\.[0-9a-f]{8}\.tmp$/);
    const order = spy.calls.map((c) => c.split(' ')[0]);
    assert.ok(order.indexOf('fsyncSync') < order.indexOf('renameSync'), order.join(', '));
    assert.ok(spy.calls.includes(`renameSync ${temp} ${path}`));
    assert.equal(spy.calls.filter((c) => c.startsWith('fsyncSync')).length, 2, 'the file, then the directory');
  });

  for (const step of ['writeSync', 'fchmodSync', 'fsyncSync', 'renameSync'] as const) {
    test(`a failure at ${step} throws, leaves the previous file as it was and removes the temporary file`, () => {
      const dir = tempDir();
      const path = join(dir, 'x.state');
      fs.writeFileSync(path, 'old\n');
      assert.throws(() => writeFileAtomic(path, 'new\n', { fs: spyFs(step) }), /EIO/);
      assert.equal(fs.readFileSync(path, 'utf8'), 'old\n');
      assert.deepEqual(fs.readdirSync(dir), ['x.state']);
    });
  }

  test('a directory that cannot be created throws (nothing written)', () => {
    const dir = tempDir();
    fs.writeFileSync(join(dir, 'file'), '');
    assert.throws(() => writeFileAtomic(join(dir, 'file', 'sub', 'x.state'), 'x'), /ENOTDIR|EEXIST/);
  });
});
