// How ldir starts itself as a daemon: the node binary, the daemon's V8 flags, this build's entry point; and the flags
// applied at run time to a daemon started without them (in the foreground).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { applyDaemonNodeFlags, DAEMON_NODE_FLAGS, selfCommand } from '../../../src/system/self-command';

describe('selfCommand', () => {
  it('runs this node with the daemon flags and this build\'s main.js', () => {
    const [node, ...rest] = selfCommand();
    assert.equal(node, process.execPath);
    assert.deepEqual(rest.slice(0, DAEMON_NODE_FLAGS.length), [...DAEMON_NODE_FLAGS]);
    const main = rest[rest.length - 1] as string;
    assert.match(main, /[/\\]main\.js$/);
    assert.ok(fs.existsSync(main), main);
  });

  it('the flags are ones this node accepts (a typo would stop every daemon from starting)', () => {
    const r = spawnSync(process.execPath, [...DAEMON_NODE_FLAGS, '-e', '0']);
    assert.equal(r.status, 0, r.stderr.toString());
  });
});

describe('applyDaemonNodeFlags', () => {
  it('sets the flags the command line lacks, and only those', () => {
    const set: string[] = [];
    applyDaemonNodeFlags([], (f) => set.push(f));
    assert.deepEqual(set, [...DAEMON_NODE_FLAGS]);
    const again: string[] = [];
    applyDaemonNodeFlags(['--max-semi-space-size=4'], (f) => again.push(f));
    assert.deepEqual(again, [], 'an operator\'s own value wins');
  });
});
