// How ldir starts itself as a daemon: the node binary, the daemon's V8 flags, this build's entry point; and the flags
// on the ldir executable's #! line, and what a foreground daemon started without them says.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { DAEMON_NODE_FLAGS, missingDaemonNodeFlags, selfCommand } from '../../../src/system/self-command';
import { eventually } from '../../helpers/wait';

describe('selfCommand', () => {
  it("runs this node with the daemon flags and this build's main.js", () => {
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

describe('missingDaemonNodeFlags', () => {
  it('names the flags the command line lacks, and only those', () => {
    assert.deepEqual(missingDaemonNodeFlags([]), [...DAEMON_NODE_FLAGS]);
    assert.deepEqual(missingDaemonNodeFlags(['--max-semi-space-size=4']), [], "an operator's own value counts");
    assert.deepEqual(missingDaemonNodeFlags([...DAEMON_NODE_FLAGS]), []);
  });
});

describe('the ldir executable', () => {
  const main = selfCommand().at(-1) as string;

  it('its #! line runs node with the daemon flags (V8 reads heap sizes only at start)', () => {
    assert.equal(fs.readFileSync(main, 'utf8').split('\n')[0], `#!/usr/bin/env -S node ${DAEMON_NODE_FLAGS.join(' ')}`);
  });

  it('a foreground daemon run as ldir has them; run as `node main.js` it says what it lacks', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-flags-'));
    try {
      const cf = path.join(dir, 'flags.cf');
      fs.writeFileSync(cf, 'supervised=yes\nvirtual=127.0.0.1:8099\n\treal=127.0.0.2:8099 masq\n\tchecktype=off\n');
      const env = { ...process.env, LDIR_RUN_DIR: path.join(dir, 'run'), LDIR_SOCKET_DIR: path.join(dir, 'sock') };
      const run = async (cmd: string, args: string[]): Promise<string> => {
        const child = spawn(cmd, [...args, '--foreground', '--ipvs=memory', cf, 'start'], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
        try {
          await eventually(
            'ldir started',
            () => (out.includes('"msg":"ldir started"') ? true : undefined),
            30_000,
            50,
            () => out,
          );
        } finally {
          child.kill('SIGTERM');
          await exited;
        }
        return out;
      };
      const asExecutable = await run(main, []);
      assert.doesNotMatch(asExecutable, /node started without/);
      const asScript = await run(process.execPath, [main]);
      assert.match(asScript, /node started without --max-semi-space-size=1/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
