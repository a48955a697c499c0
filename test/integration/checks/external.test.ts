// external checker with real scripts: exit codes, the four arguments, no shell, and the whole process group killed
// at the timeout (SIGTERM, then SIGKILL for a group that ignores it).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { externalArgv, externalCheck } from '../../../src/checks/external';
import { assertResult, makeJob, NEVER } from '../../helpers/check-job';

let dir = '';

function script(name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

/** True while a live (non-zombie) process of group `pgid` exists. */
function groupAlive(pgid: number): boolean {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
    } catch {
      // exited meanwhile
    }
  }
  return false;
}

/** Waits (bounded) for a file to have `lines` lines, and returns them. */
async function readLines(file: string, lines: number): Promise<string[]> {
  for (let i = 0; i < 50; i++) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    const got = text.split('\n').filter((l) => l !== '');
    if (got.length >= lines) return got;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${file} never got ${lines} lines`);
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-external-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('exit 0 is up, and the arguments are VIP VPORT RIP RPORT after the command words', async () => {
  const out = path.join(dir, 'args.txt');
  const cmd = `${script('ok.sh', `printf '%s\\n' "$@" > ${out}; exit 0`)}  --flag  'quoted'`;
  const job = makeJob({
    type: 'external',
    command: cmd,
    virtualHost: '192.0.2.10',
    virtualPort: 80,
    address: '127.0.0.1',
    realPort: 8080,
  });
  assertResult(await externalCheck(job, NEVER), true, /^exit 0$/);
  // No shell: the quotes reach the program as they are.
  assert.deepEqual(fs.readFileSync(out, 'utf8').trim().split('\n'), [
    '--flag',
    "'quoted'",
    '192.0.2.10',
    '80',
    '127.0.0.1',
    '8080',
  ]);
  assert.deepEqual(externalArgv({ ...job, command: ' /bin/true ' }), [
    '/bin/true',
    '192.0.2.10',
    '80',
    '127.0.0.1',
    '8080',
  ]);
});

test('a weight=N line of its output is the reported weight (the last one; other lines ignored; only on exit 0)', async () => {
  const run = async (body: string): Promise<{ up: boolean; weight?: number; reason: string }> =>
    externalCheck(
      makeJob({ type: 'external', command: script(`w${Math.random().toString(36).slice(2)}.sh`, body) }),
      NEVER,
    );
  const r = await run('echo starting; echo weight=5; echo weight = 12; echo done');
  assert.deepEqual([r.up, r.weight, r.reason], [true, 12, 'exit 0, weight 12']);
  assert.equal((await run('echo weight=banana; exit 0')).weight, undefined);
  assert.equal((await run('echo nothing')).weight, undefined);
  assert.deepEqual(await run('echo weight=3; exit 1').then((x) => [x.up, x.weight]), [false, undefined]);
  // A child that keeps the output open does not hold the check: the verdict comes at the exit (plus a short grace).
  const t0 = Date.now();
  const held = await run('echo weight=4; sleep 5 & exit 0');
  assert.deepEqual([held.up, held.weight], [true, 4]);
  assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
});

test('a non-zero exit is down with the code; a signal is down with its name', async () => {
  assertResult(
    await externalCheck(makeJob({ type: 'external', command: script('fail.sh', 'exit 3') }), NEVER),
    false,
    /^exit 3$/,
  );
  assertResult(
    await externalCheck(makeJob({ type: 'external', command: script('sig.sh', 'kill -USR1 $$') }), NEVER),
    false,
    /^signal SIGUSR1$/,
  );
});

test('a missing command is down', async () => {
  const r = await externalCheck(makeJob({ type: 'external', command: path.join(dir, 'does-not-exist') }), NEVER);
  assertResult(r, false, /command not found/);
  assertResult(await externalCheck(makeJob({ type: 'external', command: '   ' }), NEVER), false, /no check command/);
});

test('a command sleeping past the timeout is down and its whole process group is killed', async () => {
  const pids = path.join(dir, 'sleep.pids');
  const cmd = script('sleep.sh', `echo $$ > ${pids}; sleep 30 & echo $! >> ${pids}; wait`);
  const r = await externalCheck(makeJob({ type: 'external', command: cmd, checkTimeoutMs: 500 }), NEVER);
  assertResult(r, false, /^timeout$/, 450);
  const [leader, child] = (await readLines(pids, 2)).map(Number) as [number, number];
  assert.notEqual(leader, child);
  for (let i = 0; i < 30 && groupAlive(leader); i++) await new Promise((res) => setTimeout(res, 50));
  assert.equal(groupAlive(leader), false, 'SIGTERM should end the group');
});

test('a group that ignores SIGTERM gets SIGKILL after the grace period', async () => {
  const pids = path.join(dir, 'stubborn.pids');
  const cmd = script('stubborn.sh', `trap '' TERM; echo $$ > ${pids}; sleep 30 & echo $! >> ${pids}; wait; wait`);
  const r = await externalCheck(makeJob({ type: 'external-perl', command: cmd, checkTimeoutMs: 400 }), NEVER);
  assertResult(r, false, /^timeout$/, 350);
  const [leader] = (await readLines(pids, 2)).map(Number) as [number];
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(groupAlive(leader), true, 'SIGTERM is ignored: still there before the grace period ends');
  for (let i = 0; i < 60 && groupAlive(leader); i++) await new Promise((res) => setTimeout(res, 50));
  assert.equal(groupAlive(leader), false, 'SIGKILL should end the group');
});
