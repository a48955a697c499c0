// Engine.previewConfig: what applyConfig would do, computed by the same functions and changing nothing; every preview
// is checked against the reload that follows it (same operations, same drains). Memory backend and fake clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { drainId } from '../../../src/engine/drain';
import type { EnginePreview } from '../../../src/engine/engine-types';
import type { Config } from '../../../src/model';
import { loadValid } from '../../helpers/config';
import { EngineHarness, opName } from '../../helpers/engine';

const VIP = 'tcp:192.0.2.1:80';
const MAIL = 'tcp:192.0.2.2:25';

/** The web virtual with the given real lines, extra virtual lines, globals, and optionally a mail virtual. */
function config(reals: string[], opts: { web?: string[]; globals?: string[]; mail?: string[] } = {}): Promise<Config> {
  const lines = [
    ...(opts.globals ?? []),
    'virtual=192.0.2.1:80',
    ...reals.map((r) => `\treal=${r}`),
    ...(opts.web ?? []).map((l) => `\t${l}`),
    '',
  ];
  if (opts.mail) lines.push('virtual=192.0.2.2:25', '\treal=10.0.1.1:25 masq', ...opts.mail.map((l) => `\t${l}`), '');
  return loadValid(lines.join('\n'));
}

const TWO = ['10.0.0.1:80 masq 3', '10.0.0.2:80 masq 2'];

/** A harness with the web virtual (10.0.0.1 weight 3, 10.0.0.2 weight 2) applied and both reals up. */
async function running(
  options: ConstructorParameters<typeof EngineHarness>[0] = {},
  opts: Parameters<typeof config>[1] = {},
): Promise<EngineHarness> {
  const h = new EngineHarness(options);
  await h.apply(await config(TWO, opts));
  await h.health(VIP, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
  if (opts.mail) await h.health(MAIL, { '10.0.1.1:25': 'up' });
  h.opsSinceMark();
  return h;
}

/**
 * Previews `next`, checks that the preview changed nothing (kernel, events, commands, status), then applies it and
 * checks that the reload did exactly what the preview said: the same kernel operations in the same order, the same
 * drains begun and cancelled. Returns the preview.
 */
async function previewThenApply(h: EngineHarness, next: Config): Promise<EnginePreview> {
  const history = h.backend.history().length;
  const events = h.events.length;
  const commands = h.commands.length;
  const snapshot = JSON.stringify(h.engine.snapshot());
  const preview = await h.engine.previewConfig(next);
  assert.equal(h.backend.history().length, history, 'the preview wrote nothing to the kernel');
  assert.equal(h.events.length, events, 'the preview emitted no event');
  assert.equal(h.commands.length, commands, 'the preview ran no command');
  assert.equal(JSON.stringify(h.engine.snapshot()), snapshot, 'the preview changed no engine state');
  assert.equal(h.engine.currentConfig() === next, false);
  const eventsBefore = h.events.length;
  h.opsSinceMark();
  await h.apply(next);
  assert.deepEqual(
    h.backend.history().slice(history),
    preview.ops.map((r) => r.op),
    'the reload applied exactly the previewed operations',
  );
  const drains = h.events.slice(eventsBefore).filter((e) => e.type === 'drain');
  assert.deepEqual(
    drains.filter((e) => e.phase === 'begin').map((e) => e.id),
    preview.drainsBegun.map(drainId),
  );
  assert.deepEqual(
    drains.filter((e) => e.phase === 'cancel').map((e) => e.id),
    preview.drainsCancelled.map(drainId),
  );
  return preview;
}

const names = (p: EnginePreview): string[] => p.ops.map((r) => opName(r.op));

describe('engine: reload preview', () => {
  test('nothing to change: no operation, no drain, nothing awaiting a check', async () => {
    const h = await running();
    const p = await previewThenApply(h, await config(TWO));
    assert.deepEqual(p.ops, []);
    assert.deepEqual(
      [p.drainsBegun, p.drainsCancelled, p.drainsEnded, p.fallback, p.syncDaemons, p.awaitingCheck, p.retiredCommands],
      [[], [], [], [], [], [], []],
    );
  });

  test('a changed weight: one edit-destination with the new weight, for the real that is up', async () => {
    const h = await running();
    const p = await previewThenApply(h, await config(['10.0.0.1:80 masq 7', '10.0.0.2:80 masq 2']));
    assert.deepEqual(names(p), [`edit-destination ${VIP} 10.0.0.1:80`]);
    const [edit] = p.ops;
    assert.equal(edit?.op.op === 'edit-destination' && edit.op.destination.weight, 7);
    assert.deepEqual([edit?.role, edit?.realKey, edit?.reason, edit?.drift], ['real', '10.0.0.1:80', 'up', false]);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=7', '10.0.0.2:80=2'] });
  });

  test('a changed scheduler: one edit-service', async () => {
    const h = await running();
    const p = await previewThenApply(h, await config(TWO, { web: ['scheduler=rr'] }));
    assert.deepEqual(names(p), [`edit-service ${VIP}`]);
    assert.equal(p.ops[0]?.op.op === 'edit-service' && p.ops[0].op.service.scheduler, 'rr');
  });

  test('a removed real drains (weight 0, kept) with the timeout in force; drain=no deletes it at once', async () => {
    const h = await running({ drainTimeoutMs: 45_000 });
    h.setConns(VIP, '10.0.0.2:80', 3);
    const p = await previewThenApply(h, await config(['10.0.0.1:80 masq 3']));
    assert.deepEqual(p.drainsBegun.map(drainId), [`${VIP} 10.0.0.2:80`]);
    assert.equal(p.drainTimeoutMs, 45_000);
    assert.deepEqual(names(p), [`edit-destination ${VIP} 10.0.0.2:80`]);
    assert.deepEqual(
      [p.ops[0]?.role, p.ops[0]?.op.op === 'edit-destination' && p.ops[0].op.destination.weight],
      ['draining', 0],
    );

    const g = await running({ drainEnabled: false });
    const q = await previewThenApply(g, await config(['10.0.0.1:80 masq 3']));
    assert.deepEqual(q.drainsBegun, []);
    assert.deepEqual(names(q), [`delete-destination ${VIP} 10.0.0.2:80`]);
  });

  test('the drain policy the new configuration brings is the one previewed', async () => {
    const h = await running();
    const p = await h.engine.previewConfig(await config(['10.0.0.1:80 masq 3']), { enabled: false, timeoutMs: 5_000 });
    assert.deepEqual([p.drainsBegun, names(p)], [[], [`delete-destination ${VIP} 10.0.0.2:80`]]);
    const q = await h.engine.previewConfig(await config(['10.0.0.1:80 masq 3']), { enabled: true, timeoutMs: 5_000 });
    assert.deepEqual([q.drainsBegun.map(drainId), q.drainTimeoutMs], [[`${VIP} 10.0.0.2:80`], 5_000]);
  });

  test('an added real waits for its first check: not added with quiescent=no, added at weight 0 with quiescent=yes', async () => {
    const h = await running();
    const p = await previewThenApply(h, await config([...TWO, '10.0.0.3:80 masq 4']));
    assert.deepEqual(p.ops, [], 'quiescent=no: nothing is added before the first check');
    assert.deepEqual(p.awaitingCheck, [
      {
        virtualId: VIP,
        realKey: '10.0.0.3:80',
        destinationId: '10.0.0.3:80',
        configuredWeight: 4,
        reason: 'unknown-waiting',
      },
    ]);

    const q = await running({}, { web: ['quiescent=yes'] });
    const r = await previewThenApply(q, await config([...TWO, '10.0.0.3:80 masq 4'], { web: ['quiescent=yes'] }));
    assert.deepEqual(names(r), [`add-destination ${VIP} 10.0.0.3:80`]);
    assert.equal(r.ops[0]?.op.op === 'add-destination' && r.ops[0].op.destination.weight, 0);
    assert.deepEqual(
      r.awaitingCheck.map((a) => [a.realKey, a.reason, a.desiredWeight, a.configuredWeight]),
      [['10.0.0.3:80', 'unknown-quiescent', 0, 4]],
    );
  });

  test('add one real, remove one, change a weight and the scheduler at once: all in apply order', async () => {
    const next = await config(['10.0.0.1:80 masq 5', '10.0.0.3:80 masq 4'], { web: ['quiescent=yes', 'scheduler=rr'] });
    const h = await running({}, { web: ['quiescent=yes'] });
    h.setConns(VIP, '10.0.0.2:80', 1);
    const p = await previewThenApply(h, next);
    assert.deepEqual(names(p), [
      `edit-service ${VIP}`,
      `edit-destination ${VIP} 10.0.0.1:80`,
      `edit-destination ${VIP} 10.0.0.2:80`,
      `add-destination ${VIP} 10.0.0.3:80`,
    ]);
    assert.deepEqual(p.drainsBegun.map(drainId), [`${VIP} 10.0.0.2:80`]);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=5', '10.0.0.2:80=0', '10.0.0.3:80=0'] });

    // Without a connection on it, the removed real's drain ends at the reload's own pass: it is deleted at once.
    const g = await running({}, { web: ['quiescent=yes'] });
    const q = await previewThenApply(g, next);
    assert.deepEqual(
      q.drainsEnded.map((d) => [drainId(d.target), d.why]),
      [[`${VIP} 10.0.0.2:80`, 'idle']],
    );
    assert.deepEqual(names(q), [
      `edit-service ${VIP}`,
      `edit-destination ${VIP} 10.0.0.1:80`,
      `add-destination ${VIP} 10.0.0.3:80`,
      `delete-destination ${VIP} 10.0.0.2:80`,
    ]);
  });

  test('a removed virtual drains as a whole; a virtual that comes back stops draining', async () => {
    const h = await running({}, { mail: [] });
    h.setConns(MAIL, '10.0.1.1:25', 2);
    const p = await previewThenApply(h, await config(TWO));
    assert.deepEqual(p.drainsBegun.map(drainId), [MAIL]);
    assert.deepEqual(names(p), [`edit-destination ${MAIL} 10.0.1.1:25`]);
    const back = await previewThenApply(h, await config(TWO, { mail: [] }));
    assert.deepEqual(back.drainsCancelled.map(drainId), [MAIL]);
    assert.deepEqual(
      back.awaitingCheck.map((a) => [a.realKey, a.reason, a.desiredWeight]),
      [['10.0.1.1:25', 'unknown-adopted', 0]],
    );
  });

  test('drains that end at the pass are listed: a shorter timeout ends a drain under way, and its entry is deleted', async () => {
    const h = await running({ drainTimeoutMs: 60_000 });
    h.setConns(VIP, '10.0.0.2:80', 3);
    await h.apply(await config(['10.0.0.1:80 masq 3']));
    await h.clock.advance(10_000);
    h.opsSinceMark();
    const p = await h.engine.previewConfig(await config(['10.0.0.1:80 masq 3']), { enabled: true, timeoutMs: 5_000 });
    assert.deepEqual(
      p.drainsEnded.map((d) => [drainId(d.target), d.why]),
      [[`${VIP} 10.0.0.2:80`, 'timeout']],
    );
    assert.deepEqual(names(p), [`delete-destination ${VIP} 10.0.0.2:80`]);
    assert.deepEqual(h.opsSinceMark(), [], 'nothing written');
  });

  test('an outside change is previewed as a repair of it', async () => {
    const h = await running();
    await h.backend.apply([
      {
        op: 'delete-destination',
        service: { family: 'inet', protocol: 'tcp', address: '192.0.2.1', port: 80 },
        destination: { address: '10.0.0.1', port: 80, family: 'inet' },
      },
    ]);
    const p = await h.engine.previewConfig(await config(TWO));
    assert.deepEqual(names(p), [`add-destination ${VIP} 10.0.0.1:80`]);
    assert.equal(p.ops[0]?.drift, true);
  });

  test('fallback: removing every real up puts the fallback in and runs fallbackcommand start; the preview ran nothing', async () => {
    const web = ['fallback=10.0.0.9:80 masq', 'fallbackcommand="/usr/local/bin/sorry"'];
    const h = await running({}, { web });
    const p = await previewThenApply(h, await config(['10.0.0.5:80 masq 1'], { web }));
    assert.deepEqual(p.fallback, [], 'the new real has no check result yet: the fallback state is pending');
    const g = await running({ drainEnabled: false }, { web });
    await g.health(VIP, { '10.0.0.2:80': 'down' });
    g.opsSinceMark();
    const q = await previewThenApply(g, await config(['10.0.0.2:80 masq 2'], { web }));
    assert.deepEqual(names(q), [`add-destination ${VIP} 10.0.0.9:80`, `delete-destination ${VIP} 10.0.0.1:80`]);
    assert.deepEqual(
      q.fallback.map((f) => [f.virtualId, f.active, f.edge, f.command?.argv.join(' ')]),
      [[VIP, true, true, '/usr/local/bin/sorry start 192.0.2.1:80 tcp']],
    );
    await g.settle();
    assert.equal(g.commandLines().at(-1), 'start 192.0.2.1:80 tcp', 'the reload ran what the preview showed');
  });

  test('a removed virtual whose fallbackcommand last ran start gets its stop', async () => {
    const h = await running(
      { drainEnabled: false },
      { mail: ['fallback=10.0.1.9:25 masq', 'fallbackcommand="/usr/local/bin/sorry"'] },
    );
    await h.health(MAIL, { '10.0.1.1:25': 'down' });
    assert.equal(h.commandLines().at(-1), 'start 192.0.2.2:25 tcp');
    const p = await previewThenApply(h, await config(TWO));
    assert.deepEqual(
      p.retiredCommands.map((c) => [c.virtualId, c.action, c.argv.join(' ')]),
      [[MAIL, 'stop', '/usr/local/bin/sorry stop 192.0.2.2:25 tcp']],
    );
    assert.deepEqual(names(p), [`delete-service ${MAIL}`]);
    await h.settle();
    assert.equal(h.commandLines().at(-1), 'stop 192.0.2.2:25 tcp', 'the reload ran what the preview showed');
  });

  test('sync daemons: a reload that adds syncinterface previews the start of the backup daemon', async () => {
    const h = await running();
    const p = await previewThenApply(h, await config(TWO, { globals: ['syncinterface=eth1', 'syncid=7'] }));
    assert.deepEqual(
      p.syncDaemons.map((op) =>
        op.op === 'start-daemon'
          ? `start ${op.daemon.state} ${op.daemon.interface} ${op.daemon.syncId}`
          : `stop ${op.state}`,
      ),
      ['start backup eth1 7'],
    );
    assert.deepEqual(
      (await h.backend.listSyncDaemons()).map((d) => d.state),
      ['backup'],
      'the reload started what the preview showed',
    );
    const q = await h.engine.previewConfig(await config(TWO, { globals: ['syncinterface=eth1', 'syncid=8'] }));
    assert.deepEqual(
      q.syncDaemons.map((op) => op.op),
      ['stop-daemon', 'start-daemon'],
      'a changed sync id restarts it',
    );
    assert.deepEqual(
      (await h.backend.listSyncDaemons()).map((d) => d.syncId),
      [7],
      'the preview left it running as it was',
    );
  });

  test('a kernel that cannot be listed rejects the preview, and nothing changes', async () => {
    const h = await running();
    h.view.failLists = 1;
    await assert.rejects(h.engine.previewConfig(await config(['10.0.0.1:80 masq 9'])), /ENOBUFS/);
    assert.deepEqual(await h.table(), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2'] });
  });
});

describe('engine: reload preview of a quorum', () => {
  test('a reload that raises the quorum above the serving reals: quorum lost, fallback in, both commands, as the reload does', async () => {
    const h = await running(
      {},
      { web: ['fallback=127.0.0.1:8080 masq', 'quorumdowncommand=/bin/vip-down', 'fallbackcommand=/bin/sorry'] },
    );
    const commands = h.commands.length;
    const next = await config([...TWO, '10.0.0.3:80 masq 1'], {
      web: [
        'fallback=127.0.0.1:8080 masq',
        'quorum=3',
        'quorumdowncommand=/bin/vip-down',
        'fallbackcommand=/bin/sorry',
      ],
    });
    h.transition(VIP, '10.0.0.3:80', 'down');
    const p = await previewThenApply(h, next);
    assert.deepEqual(p.fallback, [
      {
        virtualId: VIP,
        active: true,
        edge: true,
        command: { virtualId: VIP, action: 'start', argv: ['/bin/sorry', 'start', '192.0.2.1:80', 'tcp'] },
        quorum: { state: 'down', serving: 2, quorum: 3, hysteresis: 0 },
        quorumCommand: { virtualId: VIP, action: 'down', argv: ['/bin/vip-down', '192.0.2.1:80', 'tcp', '2', '3'] },
      },
    ]);
    assert.deepEqual(names(p), [
      `edit-destination ${VIP} 10.0.0.1:80`,
      `edit-destination ${VIP} 10.0.0.2:80`,
      `add-destination ${VIP} 127.0.0.1:8080`,
    ]);
    await h.settle();
    assert.deepEqual(
      h.commands.slice(commands),
      [
        ['/bin/sorry', 'start', '192.0.2.1:80', 'tcp'],
        ['/bin/vip-down', '192.0.2.1:80', 'tcp', '2', '3'],
      ],
      'the reload ran what the preview listed',
    );
  });

  test('a reload that removes a virtual whose quorum was up lists its quorumdowncommand', async () => {
    const h = await running({}, { mail: ['quorumdowncommand=/bin/mail-down'] });
    const p = await previewThenApply(h, await config(TWO));
    assert.deepEqual(p.retiredQuorumCommands, [
      { virtualId: MAIL, action: 'down', argv: ['/bin/mail-down', '192.0.2.2:25', 'tcp', '0', '1'] },
    ]);
    await h.settle();
    assert.deepEqual(h.commands.at(-1), ['/bin/mail-down', '192.0.2.2:25', 'tcp', '0', '1']);
  });
});
