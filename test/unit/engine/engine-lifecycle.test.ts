// Engine end to end: reload with drain, drift repair, retries, kernel errors, ownership, serialization and shutdown.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Config } from '../../../src/model';
import { loadValid } from '../../helpers/config';
import { EngineHarness } from '../../helpers/engine';
import { addrService, dest } from '../../helpers/ipvs-tables';

const VIP = 'tcp:192.0.2.1:80';
const MAIL = 'tcp:192.0.2.2:25';
const FOREIGN = { service: addrService('10.9.9.9', 25), destinations: [dest('10.9.9.10', 25)] };

/** A web virtual with the given real lines, and optionally a mail virtual. */
function config(
  reals: string[],
  opts: { mail?: boolean; web?: string[]; mailExtra?: string[]; globals?: string[] } = {},
): Promise<Config> {
  const lines = [
    ...(opts.globals ?? []),
    'virtual=192.0.2.1:80',
    ...reals.map((r) => `\treal=${r}`),
    ...(opts.web ?? []).map((l) => `\t${l}`),
    '',
  ];
  if (opts.mail)
    lines.push('virtual=192.0.2.2:25', '\treal=10.0.1.1:25 masq', ...(opts.mailExtra ?? []).map((l) => `\t${l}`), '');
  return loadValid(lines.join('\n'));
}

/** A harness with the web virtual (10.0.0.1 and 10.0.0.2) applied and both reals up. */
async function running(
  options: ConstructorParameters<typeof EngineHarness>[0] = {},
  opts: Parameters<typeof config>[1] = {},
): Promise<EngineHarness> {
  const h = new EngineHarness(options);
  await h.apply(await config(['10.0.0.1:80 masq 3', '10.0.0.2:80 masq 2'], opts));
  await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
  if (opts.mail) await h.health(MAIL, { '10.0.1.1:25': 'up' });
  h.opsSinceMark();
  return h;
}

describe('engine: reload', () => {
  test('adding one real and removing another: exactly those operations, the removed one drained first', async () => {
    const h = await running();
    h.setConns(VIP, '10.0.0.2:80', 5);
    await h.apply(await config(['10.0.0.1:80 masq 3', '10.0.0.3:80 masq 4']));
    assert.deepEqual(h.opsSinceMark(), [`edit-destination ${VIP} 10.0.0.2:80`]);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=0'] });
    const draining = h.engine.snapshot().virtuals[0]?.reals.find((r) => r.draining);
    assert.deepEqual(
      [draining?.realKey, draining?.reason, draining?.kernelWeight, draining?.activeConns],
      ['10.0.0.2:80', 'draining', 0, 5],
    );
    await h.health(VIP, { '10.0.0.3:80': 'up' });
    assert.deepEqual(h.opsSinceMark(), [`add-destination ${VIP} 10.0.0.3:80`]);
    await h.clock.advance(3_000);
    assert.deepEqual(h.opsSinceMark(), [], 'connections still active: still draining');
    h.setConns(VIP, '10.0.0.2:80', 0);
    await h.clock.advance(1_000);
    assert.deepEqual(h.opsSinceMark(), [`delete-destination ${VIP} 10.0.0.2:80`]);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.3:80=4'] });
    assert.deepEqual(
      h.eventsOf('drain').map((e) => [e.phase, e.why]),
      [
        ['begin', undefined],
        ['end', 'idle'],
      ],
    );
  });

  test('a drain ends at the drain timeout even with active connections', async () => {
    const h = await running({ drainTimeoutMs: 5_000 });
    h.setConns(VIP, '10.0.0.2:80', 5);
    await h.apply(await config(['10.0.0.1:80 masq 3']));
    await h.clock.advance(4_000);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=0'] });
    await h.clock.advance(1_500);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3'] });
    assert.equal(h.eventsOf('drain').at(-1)?.why, 'timeout');
  });

  test('draining off: the removed real is deleted at once (ldirectord)', async () => {
    const h = await running({ drainEnabled: false });
    h.setConns(VIP, '10.0.0.2:80', 5);
    await h.apply(await config(['10.0.0.1:80 masq 3']));
    assert.deepEqual(h.opsSinceMark(), [`delete-destination ${VIP} 10.0.0.2:80`]);
  });

  test('a real re-added while draining stops draining and gets its weight when checked up', async () => {
    const h = await running();
    h.setConns(VIP, '10.0.0.2:80', 5);
    await h.apply(await config(['10.0.0.1:80 masq 3']));
    await h.apply(await config(['10.0.0.1:80 masq 3', '10.0.0.2:80 masq 2']));
    assert.deepEqual(
      h.eventsOf('drain').map((e) => e.phase),
      ['begin', 'cancel'],
    );
    h.setConns(VIP, '10.0.0.2:80', 0);
    await h.clock.advance(2_000);
    assert.deepEqual(
      await h.table(),
      { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=0'] },
      'kept (adopted at 0) until its new check answers',
    );
    await h.health(VIP, { '10.0.0.2:80': 'up' });
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2'] });
  });

  test('removing a whole virtual drains all its reals at weight 0, then deletes the service', async () => {
    const h = await running({}, { mail: true, mailExtra: ['fallbackcommand=/bin/sorry'] });
    h.setConns(MAIL, '10.0.1.1:25', 1);
    await h.apply(await config(['10.0.0.1:80 masq 3', '10.0.0.2:80 masq 2']));
    assert.deepEqual(h.opsSinceMark(), [`edit-destination ${MAIL} 10.0.1.1:25`]);
    const snap = h.engine.snapshot();
    assert.deepEqual(
      snap.virtuals.map((v) => [v.id, v.draining]),
      [
        [VIP, false],
        [MAIL, true],
      ],
    );
    h.setConns(MAIL, '10.0.1.1:25', 0);
    await h.clock.advance(1_000);
    assert.deepEqual(h.opsSinceMark(), [`delete-service ${MAIL}`]);
    assert.deepEqual(
      h.engine.snapshot().virtuals.map((v) => v.id),
      [VIP],
    );
    assert.deepEqual(h.commandLines(), ['stop 192.0.2.2:25 tcp'], 'only the first decided state ran; no start to undo');
  });

  test('a virtual back while it drains: its reals that the new config lacks keep draining', async () => {
    const h = await running({}, { mail: true });
    h.setConns(MAIL, '10.0.1.1:25', 1);
    await h.apply(await config(['10.0.0.1:80 masq 3', '10.0.0.2:80 masq 2']));
    const back = await loadValid(
      'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq 3\n\treal=10.0.0.2:80 masq 2\n\nvirtual=192.0.2.2:25\n\treal=10.0.1.2:25 masq\n',
    );
    await h.apply(back);
    assert.deepEqual(
      h.eventsOf('drain').map((e) => [e.phase, e.id]),
      [
        ['begin', MAIL],
        ['cancel', MAIL],
        ['begin', `${MAIL} 10.0.1.1:25`],
      ],
    );
    assert.deepEqual((await h.table())[MAIL], ['10.0.1.1:25=0']);
    await h.health(MAIL, { '10.0.1.2:25': 'up' });
    assert.deepEqual((await h.table())[MAIL], ['10.0.1.1:25=0', '10.0.1.2:25=1']);
    h.setConns(MAIL, '10.0.1.1:25', 0);
    await h.clock.advance(1_000);
    assert.deepEqual((await h.table())[MAIL], ['10.0.1.2:25=1']);
  });

  test('a virtual removed while its fallbackcommand had started gets stop', async () => {
    const h = new EngineHarness({ drainEnabled: false });
    await h.apply(await config(['10.0.0.1:80 masq 3'], { mail: true, mailExtra: ['fallbackcommand=/bin/sorry'] }));
    await h.health(MAIL, { '10.0.1.1:25': 'down' });
    await h.apply(await config(['10.0.0.1:80 masq 3']));
    await h.settle();
    assert.deepEqual(h.commandLines(), ['start 192.0.2.2:25 tcp', 'stop 192.0.2.2:25 tcp']);
    assert.deepEqual(await h.table(), { [VIP]: [] });
  });
});

describe('engine: starting on a table a previous daemon left (kill -9, cleanstop=no, restart)', () => {
  test('at a fresh start a destination the configuration lacks drains (weight 0 until idle), instead of being cut', async () => {
    const initial = [
      {
        service: addrService('192.0.2.1', 80),
        destinations: [dest('10.0.0.1', 80, { weight: 3 }), dest('10.0.0.2', 80, { weight: 2 })],
      },
    ];
    const h = new EngineHarness({ initial });
    h.setConns(VIP, '10.0.0.2:80', 4);
    await h.apply(await config(['10.0.0.1:80 masq 3']));
    assert.deepEqual(
      await h.table(),
      { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=0'] },
      'kept at weight 0 while it has connections',
    );
    assert.deepEqual(
      h.eventsOf('drain').map((e) => [e.id, e.phase]),
      [[`${VIP} 10.0.0.2:80`, 'begin']],
    );
    h.setConns(VIP, '10.0.0.2:80', 0);
    await h.clock.advance(1_000);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3'] }, 'deleted once idle');
  });

  test('with drain=no a leftover goes at once; a service the configuration does not declare is not ours', async () => {
    const initial = [
      {
        service: addrService('192.0.2.1', 80),
        destinations: [dest('10.0.0.1', 80, { weight: 3 }), dest('10.0.0.2', 80)],
      },
      FOREIGN,
    ];
    const h = new EngineHarness({ initial, drainEnabled: false });
    h.setConns(VIP, '10.0.0.2:80', 4);
    await h.apply(await config(['10.0.0.1:80 masq 3']));
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3'], 'tcp:10.9.9.9:25': ['10.9.9.10:25=1'] });
  });

  test('a hand-over carries drains and hand drains on; the new configuration applies as a reload of the old', async () => {
    const old = await running();
    old.setConns(VIP, '10.0.0.2:80', 5);
    await old.apply(await config(['10.0.0.1:80 masq 3', '10.0.0.3:80 masq 1', '10.0.0.4:80 masq 1']));
    await old.health(VIP, { '10.0.0.3:80': 'up', '10.0.0.4:80': 'up' });
    await old.engine.drain(VIP, '10.0.0.1:80');
    await old.engine.pause();
    const carry = old.engine.exportCarryOver();
    assert.ok(carry);
    // The successor: a fresh engine on the same kernel table (its state crossed a JSON channel), first round done.
    const next = new EngineHarness({ initial: await old.backend.list() });
    next.setConns(VIP, '10.0.0.2:80', 5);
    next.setConns(VIP, '10.0.0.3:80', 2);
    next.engine.importCarryOver(JSON.parse(JSON.stringify(carry)) as typeof carry);
    for (const real of ['10.0.0.1:80', '10.0.0.4:80']) next.transition(VIP, real, 'up');
    // Its configuration drops 10.0.0.3: a reload of the old one, so it drains too.
    await next.apply(await config(['10.0.0.1:80 masq 3', '10.0.0.4:80 masq 1']));
    assert.deepEqual(
      await next.table(),
      { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=0', '10.0.0.3:80=0', '10.0.0.4:80=1'] },
      'hand drain kept, the old drain goes on, the removed real drains',
    );
    assert.deepEqual(
      next.engine
        .snapshot()
        .virtuals[0]?.reals.filter((r) => r.draining)
        .map((r) => r.realKey)
        .sort(),
      ['10.0.0.2:80', '10.0.0.3:80'],
    );
    next.setConns(VIP, '10.0.0.3:80', 0);
    await next.clock.advance(1_000);
    assert.deepEqual(await next.table(), { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=0', '10.0.0.4:80=1'] });
    await next.clock.advance(30_000);
    assert.deepEqual(
      await next.table(),
      { [VIP]: ['10.0.0.1:80=0', '10.0.0.4:80=1'] },
      'the carried drain ends at its timeout, counted from when it began',
    );
  });

  test('a hand-over carries the fallback state: fallbackcommand is not run again by the successor', async () => {
    const web = ['fallback=10.0.0.9:80 masq', 'fallbackcommand="/usr/local/bin/sorry"'];
    const old = new EngineHarness();
    await old.apply(await config(['10.0.0.1:80 masq 3'], { web }));
    await old.health(VIP, { '10.0.0.1:80': 'down' });
    assert.deepEqual(old.commandLines(), ['start 192.0.2.1:80 tcp']);
    await old.engine.pause();
    const carry = JSON.parse(JSON.stringify(old.engine.exportCarryOver())) as NonNullable<
      ReturnType<typeof old.engine.exportCarryOver>
    >;
    const next = new EngineHarness({ initial: await old.backend.list() });
    next.engine.importCarryOver(carry);
    next.transition(VIP, '10.0.0.1:80', 'down');
    await next.apply(await config(['10.0.0.1:80 masq 3'], { web }));
    await next.settle();
    assert.deepEqual(next.commandLines(), [], 'still in fallback: nothing to run');
    await next.health(VIP, { '10.0.0.1:80': 'up' });
    assert.deepEqual(next.commandLines(), ['stop 192.0.2.1:80 tcp'], "the edge out of fallback is the successor's");
  });

  test('pause holds every kernel write until resume, which runs one pass', async () => {
    const h = await running();
    await h.engine.pause();
    await h.health(VIP, { '10.0.0.2:80': 'down' });
    await h.clock.advance(20_000);
    assert.deepEqual(h.opsSinceMark(), [], 'no pass while paused: not for health, not for the resync');
    const report = await h.engine.resume();
    assert.equal(report.reason, 'resume');
    const ops = h.opsSinceMark();
    assert.equal(ops.length, 1);
    assert.match(ops[0] ?? '', new RegExp(`-destination ${VIP} 10\\.0\\.0\\.2:80$`));
  });
});

describe('engine: level-triggered repair', () => {
  test('a destination deleted by hand is re-added by the periodic resync and counted as drift', async () => {
    const h = await running();
    await h.backend.apply([
      {
        op: 'delete-destination',
        service: addrService('192.0.2.1', 80),
        destination: { address: '10.0.0.2', port: 80, family: 'inet' },
      },
    ]);
    h.opsSinceMark();
    await h.clock.advance(10_000);
    assert.deepEqual(h.opsSinceMark(), [`add-destination ${VIP} 10.0.0.2:80`]);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2'] });
    assert.equal(h.engine.snapshot().counters.driftRepairs, 1);
    assert.equal(h.eventsOf('op').at(-1)?.drift, true);
  });

  test('an operation the kernel refuses is retried by the next pass', async () => {
    const h = new EngineHarness();
    await h.apply(await config(['10.0.0.1:80 masq 3']));
    h.backend.failNext((op) => op.op === 'add-destination', 'ENOMEM');
    await h.health(VIP, { '10.0.0.1:80': 'up' });
    assert.deepEqual(await h.table(), { [VIP]: [] });
    assert.equal(h.engine.snapshot().lastSync?.failed, 1);
    assert.equal(h.eventsOf('op').at(-1)?.errno, 'ENOMEM');
    await h.clock.advance(10_000);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3'] });
    const c = h.engine.snapshot().counters;
    assert.deepEqual([c.opsFailed, c.retries, c.driftRepairs], [1, 1, 0]);
  });

  test('a kernel dump that fails is reported, changes nothing, and the next resync recovers', async () => {
    const h = new EngineHarness();
    h.view.failLists = 1;
    const report = await h.engine.applyConfig(await config(['10.0.0.1:80 masq 3']));
    assert.equal(report.ok, false);
    assert.match(report.error ?? '', /ENOBUFS/);
    assert.deepEqual(await h.table(), {});
    await h.clock.advance(10_000);
    assert.deepEqual(await h.table(), { [VIP]: [] });
    assert.equal(h.engine.snapshot().counters.syncErrors, 1);
    assert.equal(h.engine.snapshot().lastSync?.ok, true);
  });

  test('a health pass plans from the table as last listed and written: no dump, the same operation', async () => {
    const h = await running();
    const lists = h.view.lists;
    await h.health(VIP, { '10.0.0.2:80': 'down' });
    assert.deepEqual(h.opsSinceMark(), [`delete-destination ${VIP} 10.0.0.2:80`]);
    await h.health(VIP, { '10.0.0.2:80': 'up' });
    assert.deepEqual(h.opsSinceMark(), [`add-destination ${VIP} 10.0.0.2:80`]);
    assert.equal(h.view.lists - lists, 0, 'neither health pass listed the kernel');
    const reals = h.engine.snapshot().virtuals.find((v) => v.id === VIP)?.reals ?? [];
    assert.deepEqual(
      reals.map((r) => `${r.realKey}=${r.kernelWeight}`).sort(),
      ['10.0.0.1:80=3', '10.0.0.2:80=2'],
      'status shows the table as written',
    );
    // A manual pass, a resync, a config pass: each lists the kernel, without the traffic counters (the metrics read those).
    await h.engine.sync('manual');
    assert.equal(h.view.lists - lists, 1);
    assert.equal(h.view.listOptions?.stats, false);
  });

  test('a health pass whose operation is refused lists the kernel; the next health pass plans from that', async () => {
    const h = await running();
    // Deleted behind ldir's back: the health pass does not see it, its edit is refused, and the pass looks.
    await h.backend.apply([
      {
        op: 'delete-destination',
        service: addrService('192.0.2.1', 80),
        destination: { address: '10.0.0.2', port: 80, family: 'inet' },
      },
    ]);
    h.opsSinceMark();
    const lists = h.view.lists;
    await h.health(VIP, { '10.0.0.2:80': 'down', '10.0.0.1:80': 'down' });
    assert.equal(h.view.lists - lists, 1, 'listed after the refusal');
    h.opsSinceMark();
    await h.health(VIP, { '10.0.0.2:80': 'up' });
    assert.deepEqual(
      h.opsSinceMark(),
      [`add-destination ${VIP} 10.0.0.2:80`],
      'planned from the fresh listing: an add, not an edit',
    );
    assert.equal(h.view.lists - lists, 1);
  });

  test('reals that keep flapping do not put off the resync: drift is repaired within one interval', async () => {
    const h = await running();
    await h.backend.apply([
      {
        op: 'delete-destination',
        service: addrService('192.0.2.1', 80),
        destination: { address: '10.0.0.1', port: 80, family: 'inet' },
      },
    ]);
    h.opsSinceMark();
    for (let t = 0; t < 12_000; t += 2_000) {
      await h.health(VIP, { '10.0.0.2:80': t % 4_000 === 0 ? 'down' : 'up' });
      await h.clock.advance(2_000 - 25);
    }
    assert.ok(
      h.opsSinceMark().includes(`add-destination ${VIP} 10.0.0.1:80`),
      'the resync came while 10.0.0.2 flapped',
    );
    assert.ok(h.eventsOf('sync').some((e) => e.reason === 'resync'));
  });

  test('passes never overlap: requests during a pass share one more pass', async () => {
    const h = await running();
    const syncs = h.engine.snapshot().counters.syncs;
    const results = await Promise.all([h.engine.sync('a'), h.engine.sync('b'), h.engine.sync('c'), h.engine.sync('b')]);
    assert.equal(h.engine.snapshot().counters.syncs - syncs, 2);
    assert.deepEqual(
      results.map((r) => r.reason),
      ['a', 'b+c', 'b+c', 'b+c'],
    );
  });
});

describe('engine: ownership and shutdown', () => {
  test('foreign services are never touched, whatever happens', async () => {
    const h = await running({ initial: [FOREIGN] });
    await h.apply(await config(['10.0.0.1:80 masq 3']));
    await h.clock.advance(60_000);
    await h.engine.shutdown({ clean: true });
    assert.deepEqual(await h.table(), { 'tcp:10.9.9.9:25': ['10.9.9.10:25=1'] });
    assert.ok(h.backend.history().every((op) => !('address' in op.service) || op.service.address !== '10.9.9.9'));
  });

  test('clean shutdown deletes the services with cleanstop=yes and keeps those with cleanstop=no', async () => {
    const h = await running({ initial: [FOREIGN] }, { mail: true, mailExtra: ['cleanstop=no'] });
    const report = await h.engine.shutdown({ clean: true });
    assert.deepEqual(report, { clean: true, removed: 1, failed: 0, kept: 1, timedOut: false });
    assert.deepEqual(Object.keys(await h.table()).sort(), ['tcp:10.9.9.9:25', MAIL]);
    assert.equal((await h.engine.sync('late')).skipped, 'stopped');
    assert.equal(h.clock.pending(), 0, 'no timer left behind');
  });

  test('a shutdown that is not clean leaves the whole table', async () => {
    const h = await running({}, { mail: true });
    const report = await h.engine.shutdown({ clean: false });
    assert.deepEqual([report.removed, report.kept], [0, 2]);
    assert.deepEqual(Object.keys(await h.table()).sort(), [VIP, MAIL]);
  });

  test('clean shutdown runs fallbackcommand stop where start was the last action', async () => {
    const h = await running({}, { web: ['fallbackcommand="/bin/sorry web"'] });
    await h.health(VIP, { '10.0.0.1:80': 'down', '10.0.0.2:80': 'down' });
    await h.engine.shutdown({ clean: true });
    assert.deepEqual(h.commandLines(), ['stop 192.0.2.1:80 tcp', 'start 192.0.2.1:80 tcp', 'stop 192.0.2.1:80 tcp']);
    assert.deepEqual(h.commands.at(-1)?.slice(0, 2), ['/bin/sorry', 'web']);
    assert.deepEqual(await h.table(), {});
  });

  test('shutdown is bounded: a stuck kernel dump does not hold it past shutdownTimeoutMs', async () => {
    const h = await running({ shutdownTimeoutMs: 2_000 });
    h.view.hang = true;
    void h.engine.sync('stuck');
    const out: { report?: Awaited<ReturnType<typeof h.engine.shutdown>> } = {};
    void h.engine.shutdown({ clean: true }).then((r) => {
      out.report = r;
    });
    const report = (): typeof out.report => out.report;
    await h.clock.advance(1_999);
    assert.equal(report(), undefined);
    await h.clock.advance(1);
    assert.equal(report()?.timedOut, true);
  });

  test('a refused delete at shutdown is retried once, then reported', async () => {
    const h = await running();
    h.backend.failNext((op) => op.op === 'delete-service', 'EBUSY', 1);
    assert.deepEqual(await h.engine.shutdown({ clean: true }), {
      clean: true,
      removed: 1,
      failed: 0,
      kept: 0,
      timedOut: false,
    });
    const h2 = await running();
    h2.backend.failNext((op) => op.op === 'delete-service', 'EBUSY', 5);
    assert.deepEqual(await h2.engine.shutdown({ clean: true }), {
      clean: true,
      removed: 0,
      failed: 1,
      kept: 0,
      timedOut: false,
    });
  });
});

describe('engine: status snapshot', () => {
  test('per real: health, weights in config, wanted and in kernel, reason and since; engine counters', async () => {
    const h = await running();
    await h.clock.advance(60_000);
    await h.health(VIP, { '10.0.0.2:80': 'down' });
    const snap = h.engine.snapshot();
    assert.equal(snap.configFile, '/etc/ha.d/test.cf');
    const [v] = snap.virtuals;
    assert.deepEqual([v?.id, v?.inKernel, v?.realsUp, v?.realsTotal, v?.fallback], [VIP, true, 1, 2, null]);
    const r2 = v?.reals[1];
    assert.deepEqual(
      [
        r2?.health,
        r2?.healthReason,
        r2?.configuredWeight,
        r2?.desiredWeight,
        r2?.kernelWeight,
        r2?.inKernel,
        r2?.reason,
      ],
      ['down', 'refused', 2, null, null, false, 'down-removed'],
    );
    assert.equal(r2?.since, h.clock.now() - 5, 'since the decision changed (5 ms of coalescing ago)');
    assert.ok((v?.reals[0]?.since ?? 0) < (r2?.since ?? 0));
    assert.equal(snap.counters.opsApplied['add-destination'], 2);
    assert.equal(snap.counters.opsApplied['delete-destination'], 1);
    assert.ok(snap.counters.syncs >= 3);
    assert.equal(snap.lastSync?.ok, true);
  });
});
