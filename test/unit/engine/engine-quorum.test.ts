// Engine on the memory backend: the quorum as an engine state — edges, commands (once each, first state included),
// events, the fallback below it, the hysteresis across passes, reload, stop and restart hand-over.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { quorumCommandArgv, QuorumCommands } from '../../../src/engine/fallback-command';
import { silentLogger } from '../../../src/log';
import { loadValid } from '../../helpers/config';
import { EngineHarness } from '../../helpers/engine';

const VIP = 'tcp:192.0.2.1:80';
const R = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80'];

/** Four NAT reals (weight 2), quorum 3 ± 1, both quorum commands, a fallback server. */
function cf(extra: string[] = []): string {
  return [
    'virtual=192.0.2.1:80',
    ...R.map((r) => `\treal=${r} masq 2`),
    '\tfallback=127.0.0.1:8080 masq',
    '\tquorum=3',
    '\thysteresis=1',
    '\tquorumupcommand="/usr/local/bin/vip up"',
    '\tquorumdowncommand=/usr/local/bin/vip-down',
    ...extra.map((l) => `\t${l}`),
    '',
  ].join('\n');
}

const states = (up: number): Record<string, 'up' | 'down'> =>
  Object.fromEntries(R.map((r, i) => [r, i < up ? 'up' : 'down']));

describe('engine: quorum', () => {
  test('argv: the command split on white space, VIP:PORT, protocol, serving reals, quorum', async () => {
    const [v] = (await loadValid(cf())).virtualServices;
    assert.ok(v);
    assert.deepEqual(quorumCommandArgv(' /bin/x  -q ', v, 2, 3), ['/bin/x', '-q', '192.0.2.1:80', 'tcp', '2', '3']);
  });

  test('first decided state runs its command; each edge runs once; the fallback takes over only below the quorum', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    assert.deepEqual(h.commands, [], 'nothing while undecided');
    await h.health(VIP, states(4));
    assert.deepEqual(h.commands, [['/usr/local/bin/vip', 'up', '192.0.2.1:80', 'tcp', '4', '3']]);
    assert.deepEqual(await h.table(), { [VIP]: R.map((r) => `${r}=2`) });
    assert.deepEqual(
      h.eventsOf('quorum').map((e) => [e.state, e.previous]),
      [['up', undefined]],
    );

    await h.health(VIP, states(2));
    assert.equal(h.commands.length, 1, 'two serving: inside the band (lost below 3 - 1 = 2): kept');
    assert.equal(h.engine.snapshot().virtuals[0]?.quorum.state, 'up');

    await h.health(VIP, states(1));
    assert.deepEqual(h.commands.at(-1), ['/usr/local/bin/vip-down', '192.0.2.1:80', 'tcp', '1', '3']);
    assert.deepEqual(
      await h.table(),
      { [VIP]: ['10.0.0.1:80=0', '127.0.0.1:8080=1'] },
      'the fallback takes new connections',
    );
    assert.deepEqual(
      h.eventsOf('quorum').map((e) => [e.state, e.previous, e.serving]),
      [
        ['up', undefined, 4],
        ['down', 'up', 1],
      ],
    );
    assert.deepEqual(
      h.eventsOf('fallback').map((e) => e.active),
      [true],
    );

    await h.health(VIP, states(3));
    assert.equal(h.commands.length, 2, 'three do not regain it (gained at 3 + 1)');
    assert.deepEqual(await h.table(), {
      [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=0', '10.0.0.3:80=0', '127.0.0.1:8080=1'],
    });
    await h.health(VIP, states(4));
    assert.deepEqual(h.commands.at(-1), ['/usr/local/bin/vip', 'up', '192.0.2.1:80', 'tcp', '4', '3']);
    assert.deepEqual(await h.table(), { [VIP]: R.map((r) => `${r}=2`) });
    assert.deepEqual(
      h.eventsOf('quorum-command').map((e) => [e.action, e.exitCode]),
      [
        ['up', 0],
        ['down', 0],
        ['up', 0],
      ],
    );
    const snap = h.engine.snapshot();
    assert.deepEqual(snap.virtuals[0]?.quorum, {
      state: 'up',
      serving: 4,
      quorum: 3,
      hysteresis: 1,
      configured: true,
      lastCommand: 'up',
    });
    assert.equal(snap.counters.quorumCommands, 3);
  });

  test('a failing command is counted and reported, the state stands', async () => {
    const h = new EngineHarness({ commandExit: 4 });
    await h.apply(await loadValid(cf()));
    await h.health(VIP, states(1));
    assert.deepEqual(
      h.eventsOf('quorum-command').map((e) => [e.action, e.exitCode, e.error]),
      [['down', 4, 'exit status 4']],
    );
    assert.equal(h.engine.snapshot().counters.quorumCommandFailures, 1);
    assert.equal(h.engine.snapshot().virtuals[0]?.quorum.state, 'down');
  });

  test('a reload that removes the virtual runs the down command; a clean stop does too (cleanstop=yes)', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, states(4));
    await h.apply(await loadValid('virtual=192.0.2.9:80\n\treal=10.0.0.1:80 masq\n'));
    assert.deepEqual(h.commands.at(-1), ['/usr/local/bin/vip-down', '192.0.2.1:80', 'tcp', '0', '3']);

    const s = new EngineHarness();
    await s.apply(await loadValid(cf(['cleanstop=yes'])));
    await s.health(VIP, states(4));
    await s.engine.shutdown({ clean: true });
    assert.deepEqual(
      s.commands.map((a) => a[0]),
      ['/usr/local/bin/vip', '/usr/local/bin/vip-down'],
    );
    const k = new EngineHarness();
    await k.apply(await loadValid(cf(['cleanstop=no'])));
    await k.health(VIP, states(4));
    await k.engine.shutdown({ clean: true });
    assert.equal(k.commands.length, 1, 'cleanstop=no: the virtual stays in the kernel, so does the quorum');
  });

  test('a restart hand-over carries the state: no command again, the hysteresis goes on', async () => {
    const a = new EngineHarness();
    await a.apply(await loadValid(cf()));
    await a.health(VIP, states(1));
    const carry = a.engine.exportCarryOver();
    assert.ok(carry);
    assert.deepEqual(carry.fallback, [{ virtualId: VIP, active: true, quorumAction: 'down' }]);
    const b = new EngineHarness({ initial: [] });
    b.engine.importCarryOver(JSON.parse(JSON.stringify(carry)));
    await b.apply(await loadValid(cf()));
    await b.health(VIP, states(3));
    assert.deepEqual(b.commands, [], 'down already run by the predecessor; three do not regain it');
    assert.equal(b.engine.snapshot().virtuals[0]?.quorum.state, 'down');
    await b.health(VIP, states(4));
    assert.deepEqual(
      b.commands.map((c) => c[0]),
      ['/usr/local/bin/vip'],
    );
  });

  test('a carry-over from a daemon without quorum commands adopts its state and runs nothing', async () => {
    const b = new EngineHarness();
    b.engine.importCarryOver({
      config: await loadValid(cf()),
      managed: [],
      drains: [],
      drainInfo: [],
      manualDrains: [],
      fallback: [{ virtualId: VIP, active: false }],
    });
    await b.apply(await loadValid(cf()));
    await b.health(VIP, states(4));
    assert.deepEqual(b.commands, []);
  });

  test('only one command configured: a down without its command does not hide the next down (recorded always)', async () => {
    const [v] = (await loadValid('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq\n\tquorumdowncommand=/bin/d\n'))
      .virtualServices;
    assert.ok(v);
    const runs: string[] = [];
    const q = new QuorumCommands(
      async (argv) => {
        runs.push(argv.join(' '));
        return { exitCode: 0 };
      },
      silentLogger(),
      () => undefined,
    );
    for (const s of ['down', 'up', 'down', 'down', 'up'] as const)
      q.update(v, s, { serving: s === 'up' ? 1 : 0, quorum: 1 });
    await q.idle();
    assert.deepEqual(runs, ['/bin/d 192.0.2.1:80 tcp 0 1', '/bin/d 192.0.2.1:80 tcp 0 1']);
  });
});
