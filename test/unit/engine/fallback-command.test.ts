// fallbackcommand: ldirectord's argv (`CMD start|stop VIP:PORT PROTO`), de-duplication and ordering, the spawn runner.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  fallbackCommandArgv,
  FallbackCommands,
  spawnRunner,
  type CommandOutcome,
  type FallbackCommandRun,
} from '../../../src/engine/fallback-command';
import { silentLogger } from '../../../src/log';
import { loadValid } from '../../helpers/config';

describe('fallbackcommand', () => {
  test('argv: the command split on white space, the action, VIP:PORT (IPv6 bracketed, fwmark as its number), protocol', async () => {
    const c = await loadValid(
      [
        'virtual=192.0.2.1:53',
        '\treal=10.0.0.1:53 masq',
        '',
        'virtual6=[2001:db8::1]:443',
        '\treal6=[2001:db8::a]:443 masq',
        '',
        'virtual=7',
        '\treal=10.0.0.1 gate',
        '',
      ].join('\n'),
    );
    const [dns, web6, mark] = c.virtualServices;
    assert.ok(dns && web6 && mark);
    assert.deepEqual(fallbackCommandArgv(' /usr/sbin/sorry   -v ', 'start', dns), [
      '/usr/sbin/sorry',
      '-v',
      'start',
      '192.0.2.1:53',
      'udp',
    ]);
    assert.deepEqual(fallbackCommandArgv('/bin/x', 'stop', web6), ['/bin/x', 'stop', '[2001:db8::1]:443', 'tcp']);
    assert.deepEqual(fallbackCommandArgv('/bin/x', 'stop', mark), ['/bin/x', 'stop', '7', 'fwm']);
  });

  test('runs only on changes, one at a time per virtual and in order; retire runs stop after start', async () => {
    const [v] = (await loadValid('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq\n\tfallbackcommand=/bin/sorry\n'))
      .virtualServices;
    assert.ok(v);
    const calls: string[] = [];
    let active = 0;
    let overlap = false;
    const runs: FallbackCommandRun[] = [];
    const commands = new FallbackCommands(
      async (argv): Promise<CommandOutcome> => {
        active++;
        overlap ||= active > 1;
        await new Promise((r) => setImmediate(r));
        calls.push(argv[1] ?? '');
        active--;
        return { exitCode: 0 };
      },
      silentLogger(),
      (r) => runs.push(r),
    );
    commands.update(v, 'start');
    commands.update(v, 'start');
    commands.update(v, 'stop');
    commands.update(v, 'start');
    commands.retire(v);
    await commands.idle();
    assert.deepEqual(calls, ['start', 'stop', 'start', 'stop']);
    assert.equal(overlap, false);
    assert.equal(runs.length, 4);
    assert.equal(commands.lastAction(v.id), undefined);
  });

  test('the spawn runner runs without a shell and reports exit codes and start failures', async () => {
    const run = spawnRunner(5_000);
    assert.deepEqual(await run([process.execPath, '-e', 'process.exit(3)']), { exitCode: 3, signal: null });
    assert.deepEqual(await run([process.execPath, '-e', '', '$(false)']), { exitCode: 0, signal: null });
    await assert.rejects(run(['/nonexistent/ldir-test-command']), /ENOENT/);
  });
});
