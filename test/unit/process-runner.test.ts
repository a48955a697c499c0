// The one process runner: exit codes and signals reported, no shell, stdin, output kept up to a bound and drained,
// and at the timeout (or an abort) the whole process group terminated: SIGTERM, then SIGKILL after the grace to what
// is left, also a grandchild that ignores SIGTERM after the leader died.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawnProcessRunner } from '../../src/process-runner';
import { processAlive, readPid, stubbornFamilyScript, waitGone } from '../helpers/process-family';

let dir = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-runner-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const node = process.execPath;
const run = spawnProcessRunner({ killGraceMs: 200 });

describe('spawnProcessRunner', () => {
  test('reports the exit status, or the signal that ended the command', async () => {
    const exited = await run({ argv: [node, '-e', 'process.exit(3)'], timeoutMs: 10_000 });
    assert.deepEqual([exited.exitCode, exited.signal, exited.timedOut], [3, null, false]);
    const killed = await run({ argv: ['/bin/sh', '-c', 'kill -USR1 $$'], timeoutMs: 10_000 });
    assert.deepEqual([killed.exitCode, killed.signal, killed.timedOut], [null, 'SIGUSR1', false]);
  });

  test('runs without a shell, feeds stdin, keeps stdout and stderr, passes the environment given', async () => {
    const script =
      "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{process.stdout.write(s.toUpperCase()+process.env.ONLY);process.stderr.write(process.argv[1]+Object.keys(process.env).length)})";
    const r = await run({
      argv: [node, '-e', script, '$(echo not a shell) ; *'],
      timeoutMs: 10_000,
      stdin: 'abc\n',
      env: { ONLY: 'x' },
      stdoutLimit: 100,
      stderrLimit: 100,
    });
    assert.deepEqual([r.exitCode, r.stdout, r.stderr, r.truncated], [0, 'ABC\nx', '$(echo not a shell) ; *1', false]);
  });

  test('output is kept up to its bound; the rest is drained, so a talkative command is not blocked', async () => {
    const r = await run({
      argv: [node, '-e', "process.stdout.write('a'.repeat(1<<20)); process.stderr.write('b'.repeat(1<<20))"],
      timeoutMs: 20_000,
      stdoutLimit: 1000,
      stderrLimit: 10,
    });
    assert.deepEqual(
      [r.exitCode, r.timedOut, r.stdout.length, r.stderr, r.truncated],
      [0, false, 1000, 'b'.repeat(10), true],
    );
  });

  test('a command that exits while a process it left keeps its output open is not waited for', async () => {
    const t0 = Date.now();
    const r = await run({
      argv: ['/bin/sh', '-c', 'echo first; sleep 30 & echo $! >&2'],
      timeoutMs: 20_000,
      stdoutLimit: 100,
      stderrLimit: 100,
      outputGraceMs: 100,
    });
    assert.equal(r.stdout, 'first\n');
    assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
    const left = Number(r.stderr.trim());
    // Exiting on its own, the command's leftovers are not signalled.
    assert.ok(processAlive(left), 'the process it left behind lives on');
    process.kill(left, 'SIGKILL');
  });

  test('at the timeout the whole group dies: SIGTERM, then SIGKILL to a grandchild ignoring SIGTERM', async () => {
    const pidFile = path.join(dir, 'timeout.pid');
    const started = Date.now();
    const r = await run({ argv: [stubbornFamilyScript(dir, pidFile)], timeoutMs: 1500 });
    const grandchild = await readPid(pidFile);
    assert.deepEqual([r.timedOut, r.exitCode, r.signal], [true, null, 'SIGTERM']);
    assert.ok(Date.now() - started >= 1400, `ended after ${Date.now() - started} ms, before its timeout`);
    assert.ok(await waitGone(grandchild), `grandchild ${grandchild} survived the kill of its group`);
  });

  test('an abort terminates the group as the timeout does', async () => {
    const pidFile = path.join(dir, 'abort.pid');
    const controller = new AbortController();
    const running = run({ argv: [stubbornFamilyScript(dir, pidFile)], timeoutMs: 60_000, signal: controller.signal });
    const grandchild = await readPid(pidFile);
    controller.abort();
    const r = await running;
    assert.deepEqual([r.timedOut, r.signal], [true, 'SIGTERM']);
    assert.ok(await waitGone(grandchild), `grandchild ${grandchild} survived the kill of its group`);
  });

  test('a command that cannot start rejects with the spawn error', async () => {
    await assert.rejects(
      run({ argv: ['/nonexistent/ldir-test-command'], timeoutMs: 1000 }),
      (e: NodeJS.ErrnoException) => e.code === 'ENOENT',
    );
    await assert.rejects(run({ argv: [], timeoutMs: 1000 }), /empty command/);
  });
});
