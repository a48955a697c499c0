// Engine end to end on the memory backend: start, health transitions, quiescent, fallback and its command, adoption.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLdirError, ErrorCodes } from '../../../src/errors';
import { loadValid } from '../../helpers/config';
import { EngineHarness } from '../../helpers/engine';
import { addrService, dest } from '../../helpers/ipvs-tables';

const VIP = 'tcp:192.0.2.1:80';

/** ldirectord.cf of a NAT web virtual with two reals, a fallback and a fallbackcommand. */
function cf(extra: string[] = []): string {
  return [
    'checkinterval=5',
    'fallbackcommand="/usr/local/sbin/sorry --quiet"',
    '',
    'virtual=192.0.2.1:80',
    '\treal=10.0.0.1:80 masq 3',
    '\treal=10.0.0.2:80 masq 2',
    '\tfallback=127.0.0.1:8080 masq',
    '\tservice=http',
    '\trequest="/health"',
    '\treceive="OK"',
    ...extra.map((l) => `\t${l}`),
    '',
  ].join('\n');
}

describe('engine: start and health', () => {
  test('empty table: the service is created, no real is added until its health is known, then all up', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    assert.deepEqual(await h.table(), { [VIP]: [] });
    assert.deepEqual(h.opsSinceMark(), [`add-service ${VIP}`]);
    assert.deepEqual(h.commands, [], 'no fallbackcommand while the state is not known');
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2'] });
    assert.deepEqual(h.opsSinceMark(), [`add-destination ${VIP} 10.0.0.1:80`, `add-destination ${VIP} 10.0.0.2:80`]);
    assert.deepEqual(
      h.commands,
      [['/usr/local/sbin/sorry', '--quiet', 'stop', '192.0.2.1:80', 'tcp']],
      'first known state: stop, as ldirectord on a fresh start',
    );
    assert.equal(h.eventsOf('fallback').length, 0);
  });

  test('a burst of transitions makes one sync pass', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    const before = h.eventsOf('sync').length;
    h.transition(VIP, '10.0.0.1:80', 'up');
    await h.clock.advance(5);
    h.transition(VIP, '10.0.0.2:80', 'up');
    await h.settle();
    assert.equal(h.eventsOf('sync').length - before, 1);
    assert.equal(h.eventsOf('sync').at(-1)?.reason, 'health');
  });

  test('quiescent=no: a real that goes down is removed and restored when it comes back', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    h.opsSinceMark();
    await h.health(VIP, { '10.0.0.2:80': 'down' });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3'] });
    assert.deepEqual(h.opsSinceMark(), [`delete-destination ${VIP} 10.0.0.2:80`]);
    await h.health(VIP, { '10.0.0.2:80': 'up' });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2'] });
  });

  test('quiescent=yes: a real that goes down keeps its entry with weight 0, then gets its weight back', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf(['quiescent=yes'])));
    assert.deepEqual(
      await h.table(),
      { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=0'] },
      'unknown + quiescent: weight 0, never more',
    );
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    await h.health(VIP, { '10.0.0.1:80': 'down' });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=2'] });
    await h.health(VIP, { '10.0.0.1:80': 'up' });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2'] });
  });

  test('all down → fallback in and fallbackcommand start; one back → fallback out and stop', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    h.opsSinceMark();
    await h.health(VIP, { '10.0.0.1:80': 'down', '10.0.0.2:80': 'down' });
    assert.deepEqual(await h.table(), { [VIP]: ['127.0.0.1:8080=1'] });
    assert.deepEqual(h.opsSinceMark().sort(), [
      `add-destination ${VIP} 127.0.0.1:8080`,
      `delete-destination ${VIP} 10.0.0.1:80`,
      `delete-destination ${VIP} 10.0.0.2:80`,
    ]);
    assert.deepEqual(
      h.eventsOf('fallback').map((e) => e.active),
      [true],
    );
    await h.health(VIP, { '10.0.0.2:80': 'up' });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.2:80=2'] });
    assert.deepEqual(
      h.eventsOf('fallback').map((e) => e.active),
      [true, false],
    );
    assert.deepEqual(h.commandLines(), ['stop 192.0.2.1:80 tcp', 'start 192.0.2.1:80 tcp', 'stop 192.0.2.1:80 tcp']);
    assert.deepEqual(
      h.eventsOf('fallback-command').map((e) => [e.action, e.exitCode]),
      [
        ['stop', 0],
        ['start', 0],
        ['stop', 0],
      ],
    );
    const snap = h.engine.snapshot();
    assert.equal(snap.virtuals[0]?.fallbackActive, false);
    assert.equal(snap.virtuals[0]?.fallbackCommand, 'stop');
    assert.equal(snap.counters.fallbackCommands, 3);
  });

  test('all down without a fallback server: fallback mode for the command, but no fallback server said to be in force', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf().replace('\tfallback=127.0.0.1:8080 masq\n', '')));
    await h.health(VIP, { '10.0.0.1:80': 'down', '10.0.0.2:80': 'down' });
    const v = h.engine.snapshot().virtuals[0];
    assert.equal(v?.fallbackState, 'active', 'the fallbackcommand runs');
    assert.equal(v?.fallback, null);
    assert.equal(v?.fallbackActive, false, 'status and metrics said FALLBACK for a virtual with no fallback server');
  });

  test('a failing fallbackcommand is logged and counted, never fatal', async () => {
    const h = new EngineHarness({ commandExit: 3 });
    await h.apply(await loadValid(cf()));
    await h.health(VIP, { '10.0.0.1:80': 'down', '10.0.0.2:80': 'down' });
    assert.deepEqual(await h.table(), { [VIP]: ['127.0.0.1:8080=1'] });
    assert.equal(h.engine.snapshot().counters.fallbackCommandFailures, 1);
    assert.equal(h.eventsOf('fallback-command')[0]?.error, 'exit status 3');
  });
});

describe('engine: adoption of an existing table', () => {
  const existing = [
    {
      service: addrService('192.0.2.1', 80),
      destinations: [dest('10.0.0.1', 80, { weight: 3 }), dest('10.0.0.2', 80, { weight: 2 })],
    },
  ];

  test('restart against a healthy table: zero kernel operations, before and after the first results', async () => {
    const h = new EngineHarness({ initial: existing });
    await h.apply(await loadValid(cf()));
    assert.deepEqual(h.opsSinceMark(), []);
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    await h.clock.advance(30_000);
    assert.deepEqual(h.opsSinceMark(), []);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2'] });
  });

  test('an adopted weight is kept until the first result, then set as decided', async () => {
    const h = new EngineHarness({
      initial: [
        {
          service: addrService('192.0.2.1', 80),
          destinations: [dest('10.0.0.1', 80, { weight: 9 }), dest('10.0.0.7', 80)],
        },
      ],
    });
    await h.apply(await loadValid(cf()));
    assert.deepEqual(
      await h.table(),
      { [VIP]: ['10.0.0.1:80=9'] },
      'kept as is; the stale 10.0.0.7 is purged as ldirectord does at start',
    );
    assert.equal(h.engine.snapshot().virtuals[0]?.reals[0]?.reason, 'unknown-adopted');
    await h.health(VIP, { '10.0.0.1:80': 'up' });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3'] });
  });
});

describe('engine: drain by hand', () => {
  test('drain sets weight 0 and keeps the entry; undrain restores; names are matched loosely; unknown names throw', async () => {
    const h = new EngineHarness();
    await h.apply(await loadValid(cf()));
    await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    assert.deepEqual(await h.engine.drain('tcp:192.0.2.1:80', '10.0.0.1'), {
      virtual: VIP,
      real: '10.0.0.1:80',
      changed: true,
    });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=2'] });
    assert.equal((await h.engine.drain(VIP, '10.0.0.1:80')).changed, false);
    const snap = h.engine.snapshot().virtuals[0]?.reals[0];
    assert.deepEqual(
      [snap?.manuallyDrained, snap?.reason, snap?.desiredWeight, snap?.kernelWeight],
      [true, 'drained', 0, 0],
    );
    await h.health(VIP, { '10.0.0.1:80': 'down' });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.2:80=2'] }, 'down wins over the hand drain (quiescent=no)');
    await h.health(VIP, { '10.0.0.1:80': 'up' });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=2'] });
    assert.equal((await h.engine.undrain(VIP, '10.0.0.1:80')).changed, true);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2'] });
    await assert.rejects(h.engine.drain(VIP, '10.0.0.9'), (err) => isLdirError(err, ErrorCodes.UNKNOWN_TARGET));
    await assert.rejects(h.engine.drain('tcp:192.0.2.99:80', '10.0.0.1'), (err) =>
      isLdirError(err, ErrorCodes.UNKNOWN_TARGET),
    );
  });
});
