// execute= instances: the parent's flags on every command line, and a start that fails stops what it had started.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLdirError } from '../../../src/errors';
import { ExecuteInstances, type InstanceOutcome } from '../../../src/daemon/execute-instances';
import { silentLogger } from '../../../src/log';

/** Instances whose `start` exits as `starts` says (default 0); every command line is recorded. */
function instances(starts: Record<string, InstanceOutcome> = {}): { ran: string[][]; ex: ExecuteInstances } {
  const ran: string[][] = [];
  const ex = new ExecuteInstances({
    self: ['node', 'main.js'],
    flags: () => ['--ipvs=memory', '-d'],
    logger: silentLogger(),
    run: async (argv) => {
      ran.push([...argv]);
      const [name, action] = argv.slice(-2) as [string, string];
      return action === 'start' ? (starts[name] ?? { exitCode: 0 }) : { exitCode: 0 };
    },
  });
  return { ran, ex };
}

test("every run carries the parent's backend and -d before the name", async () => {
  const { ran, ex } = instances();
  await ex.start(['a.cf']);
  await ex.run([
    ['a.cf', 'try-reload'],
    ['b.cf', 'stop'],
  ]);
  assert.deepEqual(ran, [
    ['node', 'main.js', '--ipvs=memory', '-d', 'a.cf', 'start'],
    ['node', 'main.js', '--ipvs=memory', '-d', 'a.cf', 'reload'],
    ['node', 'main.js', '--ipvs=memory', '-d', 'b.cf', 'stop'],
  ]);
});

test('a start that fails: the ones started before are stopped, last first, and the error names it with what it said', async () => {
  const { ran, ex } = instances({
    'c.cf': { exitCode: 2, stderr: '/etc/ha.d/c.cf:3: unknown directive "bogus"\n\n/etc/ha.d/c.cf:4: x\n' },
  });
  await assert.rejects(ex.start(['a.cf', 'b.cf', 'c.cf', 'd.cf']), (err: unknown) => {
    assert.ok(isLdirError(err));
    assert.equal(err.code, 'LDIR_ERR_DAEMON_START_FAILED');
    assert.equal(
      err.message,
      'execute= instance c.cf did not start (exit 2): /etc/ha.d/c.cf:3: unknown directive "bogus"; /etc/ha.d/c.cf:4: x',
    );
    return true;
  });
  assert.deepEqual(
    ran.map((a) => a.slice(-2).join(' ')),
    ['a.cf start', 'b.cf start', 'c.cf start', 'b.cf stop', 'a.cf stop'],
  );
});

test('a child killed by a signal, or that cannot be run at all, fails the start too', async () => {
  const killed = instances({ 'a.cf': { exitCode: null, signal: 'SIGKILL' } });
  await assert.rejects(killed.ex.start(['a.cf']), /execute= instance a\.cf did not start \(killed by SIGKILL\)$/);
  const missing = new ExecuteInstances({
    self: ['/nonexistent/ldir'],
    flags: () => [],
    logger: silentLogger(),
    run: () => Promise.reject(new Error('spawn ENOENT')),
  });
  await assert.rejects(missing.start(['a.cf']), /did not start \(could not be run\): cannot run ldir: spawn ENOENT/);
});
