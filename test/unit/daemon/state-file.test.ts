// The state file (runtime weights and hand drains): its path, its JSON form, what reading finds (absent, read,
// unreadable with why), and writes that replace it whole.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  encodeStateFile,
  parseStateFile,
  readStateFile,
  STATE_DIRECTORY,
  stateFilePath,
  writeStateFile,
} from '../../../src/daemon/state-file';
import type { OperatorSetting } from '../../../src/engine/operator-settings';

const SETTINGS: OperatorSetting[] = [
  { virtualId: 'tcp:192.0.2.80:80', realKey: '198.51.100.11:80', weight: 2 },
  { virtualId: 'tcp:192.0.2.80:80', realKey: '198.51.100.13:80', drained: true },
  { virtualId: 'udp:[2001:db8::53]:53', realKey: '[2001:db8::11]:53', weight: 0, drained: true },
];
const META = { configFile: '/etc/ha.d/site.cf', savedAt: Date.UTC(2024, 4, 1, 12, 0, 0) };

const tempDir = (): string => fs.mkdtempSync(join(tmpdir(), 'ldir-state-'));

describe('state file: path and form', () => {
  test('one per configuration name, in /var/lib/ldir unless told', () => {
    assert.equal(STATE_DIRECTORY, '/var/lib/ldir');
    assert.equal(stateFilePath('ldirectord.cf'), '/var/lib/ldir/ldirectord.cf.state');
    assert.equal(stateFilePath('site.cf', '/tmp/x'), '/tmp/x/site.cf.state');
  });

  test('versioned JSON, one entry per real, that reads back as it was written', () => {
    const text = encodeStateFile(SETTINGS, META);
    assert.deepEqual(JSON.parse(text), {
      version: 1,
      config: '/etc/ha.d/site.cf',
      savedAt: '2024-05-01T12:00:00.000Z',
      reals: [
        { virtual: 'tcp:192.0.2.80:80', real: '198.51.100.11:80', weight: 2 },
        { virtual: 'tcp:192.0.2.80:80', real: '198.51.100.13:80', drained: true },
        { virtual: 'udp:[2001:db8::53]:53', real: '[2001:db8::11]:53', weight: 0, drained: true },
      ],
    });
    assert.ok(text.endsWith('}\n'));
    assert.deepEqual(parseStateFile(text), SETTINGS);
    assert.deepEqual(parseStateFile(encodeStateFile([], META)), []);
  });

  test('members a newer ldir adds are ignored; entries that set nothing are left out', () => {
    const text = JSON.stringify({
      version: 1,
      config: '/x',
      savedAt: '2024-05-01T12:00:00.000Z',
      host: 'lb1',
      reals: [
        { virtual: 'tcp:1.2.3.4:80', real: '10.0.0.1:80', weight: 3, note: 'canary' },
        { virtual: 'tcp:1.2.3.4:80', real: '10.0.0.2:80', drained: false },
      ],
    });
    assert.deepEqual(parseStateFile(text), [{ virtualId: 'tcp:1.2.3.4:80', realKey: '10.0.0.1:80', weight: 3 }]);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['not JSON', '{"version":1,', /^not JSON: /],
    ['empty', '', /^not JSON: /],
    ['another version', '{"version":2,"reals":[]}', /^version 2, this ldir reads version 1$/],
    ['no version', '{"reals":[]}', /missing member "version"/],
    ['no reals', '{"version":1}', /missing member "reals"/],
    [
      'a weight below 0',
      '{"version":1,"reals":[{"virtual":"v","real":"r","weight":-1}]}',
      /\$\.reals\[0\]\.weight: must be between 0 and 2147483647/,
    ],
    [
      "a weight above the kernel's",
      '{"version":1,"reals":[{"virtual":"v","real":"r","weight":2147483648}]}',
      /\$\.reals\[0\]\.weight/,
    ],
    [
      'a real without its virtual',
      '{"version":1,"reals":[{"real":"r","weight":1}]}',
      /\$\.reals\[0\]: missing member "virtual"/,
    ],
    [
      'drained as a string',
      '{"version":1,"reals":[{"virtual":"v","real":"r","drained":"yes"}]}',
      /\$\.reals\[0\]\.drained: expected a boolean/,
    ],
    ['an array', '[]', /expected an object/],
  ];
  for (const [name, text, why] of bad) {
    test(`refused: ${name}`, () =>
      assert.throws(
        () => parseStateFile(text),
        (err: Error) => why.test(err.message),
      ));
  }
});

describe('state file: reading and writing', () => {
  test('absent: nothing set by hand', () => {
    assert.deepEqual(readStateFile(join(tempDir(), 'none.state')), { state: 'absent' });
  });

  test('written, then read back; written again over it, atomically, mode 0644', () => {
    const path = join(tempDir(), 'lib', 'site.cf.state');
    writeStateFile(path, SETTINGS, META);
    assert.deepEqual(readStateFile(path), { state: 'read', settings: SETTINGS });
    assert.equal(fs.statSync(path).mode & 0o777, 0o644);
    writeStateFile(path, [], META);
    assert.deepEqual(readStateFile(path), { state: 'read', settings: [] });
    assert.deepEqual(fs.readdirSync(join(path, '..')), ['site.cf.state']);
  });

  test('a file that cannot be used is unreadable, with why; never a throw', () => {
    const dir = tempDir();
    const truncated = join(dir, 'truncated.state');
    fs.writeFileSync(truncated, encodeStateFile(SETTINGS, META).slice(0, 40));
    const read = readStateFile(truncated);
    assert.equal(read.state, 'unreadable');
    assert.match((read as { reason: string }).reason, /^not JSON: /);
    fs.mkdirSync(join(dir, 'a-directory.state'));
    const dirRead = readStateFile(join(dir, 'a-directory.state'));
    assert.equal(dirRead.state, 'unreadable');
    assert.match((dirRead as { reason: string }).reason, /^cannot read it: .*EISDIR/);
    const failing = readStateFile('/x.state', {
      readFileSync: () => {
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      },
    });
    assert.deepEqual(failing, { state: 'unreadable', reason: 'cannot read it: EACCES: permission denied' });
  });

  test('a write that fails throws and leaves the previous file', () => {
    const path = join(tempDir(), 'site.cf.state');
    writeStateFile(path, SETTINGS, META);
    const failingRename = {
      ...fs,
      renameSync: () => {
        throw new Error('EROFS: read-only file system');
      },
    };
    assert.throws(() => writeStateFile(path, [], META, failingRename), /EROFS/);
    assert.deepEqual(readStateFile(path), { state: 'read', settings: SETTINGS });
  });
});
