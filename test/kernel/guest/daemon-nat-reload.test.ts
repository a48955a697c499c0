// Kernel tier (inside the VM): `ldir reload` on the seed cluster in miniature (LVS-NAT, netlink). A reload that
// removes one real and adds another makes exactly those kernel operations, and the removed real drains (weight 0,
// kept while a client connection through the VIP is open, and while its entry stays in the kernel once closed;
// deleted after); with `draintimeout=` the drain
// ends at the timeout even with the connection open; a reload of a broken file is refused with exit 2 and the
// file:line (also through SIGHUP), and leaves the kernel table untouched. Figures are printed as "figure: ...".
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { KernelOpsCounters, StatusReport } from '../../../src/daemon/protocol';
import {
  eventually,
  listTable,
  peekTable,
  sleep,
  tableShape,
  TableRecorder,
  weightsOf,
} from '../../helpers/ldir-director';
import { clientBurst, countAnswers, holdConnection, type HeldConnection } from '../../helpers/netns-traffic';
import {
  buildSeedCluster,
  CHECK_INTERVAL_S,
  expectedWeights,
  figure,
  mapText,
  SEED_REALS,
  seedConfig,
  SLACK_MS,
  SPARE_REAL,
  type SeedCluster,
} from '../../helpers/seed-cluster';

const skip =
  process.env['LDIR_IN_VM'] === '1' && existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const CONF = 'reload.cf';
const TEST_TIMEOUT = 240_000;
/** EngineOptions.drainPollMs default: how often the kernel is listed while something drains (no directive sets it). */
const DRAIN_POLL_MS = 1_000;
/**
 * `draintimeout=` of scenario 5 (s): far above the default 30, which an `ldir` command or two can use up in the
 * emulated VM on a busy host before the scenario closes its connection.
 */
const LONG_DRAIN_S = 120;
const LONG_DRAIN = [`draintimeout=${LONG_DRAIN_S}`];
/** How long the kernel keeps a TCP connection's entry after a reset (IP_VS_TCP_S_CLOSE: 10 s). */
const CLOSE_TIMEOUT_MS = 10_000;
/** `draintimeout=` of scenario 5b (s). */
const DRAIN_TIMEOUT_S = 4;
const DRAIN_GLOBALS = [`draintimeout=${DRAIN_TIMEOUT_S}`];

describe('ldir reload on the seed cluster (LVS-NAT, netlink)', { skip, concurrency: false }, () => {
  let c: SeedCluster;
  let logfile = '';
  /** The configuration the daemon runs now. */
  let current = '';
  const services = (): string[] => [c.http, c.https];
  const real = (i: number, port: number): string => `${c.realAddress(i)}:${port}`;
  const ops = (r: StatusReport): KernelOpsCounters => {
    assert.ok(r.daemon.kernelOps, 'the status report has kernel work counters');
    return r.daemon.kernelOps;
  };

  before(async () => {
    c = await buildSeedCluster('sr', 220);
    logfile = c.director.logPath(CONF);
    current = seedConfig(c, logfile);
    c.director.writeConfig(CONF, current);
    await c.director.start(CONF);
    const want = [mapText(expectedWeights(c, SEED_REALS, 80)), mapText(expectedWeights(c, SEED_REALS, 443))];
    await eventually(
      'all reals up',
      () => {
        const t = peekTable();
        return mapText(weightsOf(t, c.http)) === want[0] && mapText(weightsOf(t, c.https)) === want[1]
          ? true
          : undefined;
      },
      90_000,
      100,
      () => tableShape(listTable(), services()),
    );
  });

  after(() => {
    c?.teardown();
  });

  test('5. reload with one real removed and one added: exactly those operations; the removed one drains while a connection is open', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const before = tableShape(listTable(), services());
    const k0 = ops(await c.director.quickStatus(CONF));
    const removed = real(6, 80);
    const added = real(SPARE_REAL, 80);
    let held: HeldConnection | undefined;
    let recorder: TableRecorder | undefined;
    try {
      held = await holdConnection(c.lab, c.vip, 80, c.realName(6));
      await eventually(
        'the held connection counted active on r6',
        () => ((peekTable().get(c.http)?.get(removed)?.active ?? 0) >= 1 ? true : undefined),
        10_000,
        100,
        () => tableShape(listTable(), services()),
      );

      recorder = new TableRecorder(services(), 100);
      current = seedConfig(c, logfile, { httpReals: [1, 2, 3, 4, 5, SPARE_REAL], globals: LONG_DRAIN });
      c.director.writeConfig(CONF, current);
      const reloaded = await c.director.reload(CONF);
      assert.equal(reloaded.status, 0, reloaded.stderr);
      const t0 = Date.now();
      figure(`ldir reload returned after ${reloaded.ms} ms`);

      const draining = new Map([...expectedWeights(c, [1, 2, 3, 4, 5, SPARE_REAL], 80), [removed, 0]]);
      await eventually(
        `:80 to be ${mapText(draining)}`,
        () => (mapText(weightsOf(peekTable(), c.http)) === mapText(draining) ? true : undefined),
        CHECK_INTERVAL_S * 1000 + SLACK_MS + 10_000,
        50,
        () => tableShape(listTable(), services()),
      );
      figure(
        `after the reload: removed real at weight 0 (draining), added real up at weight ${SPARE_REAL}, ${Date.now() - t0} ms after ldir reload returned`,
      );
      const report = await c.director.status(CONF);
      const v80 = report.virtualServices.find((v) => v.port === 80);
      const r6 = v80?.reals.find((r) => r.address === c.realAddress(6));
      assert.equal(r6?.draining, true, 'status shows the removed real as draining');
      assert.equal(r6?.kernelWeight, 0);
      assert.equal(v80?.reals.find((r) => r.address === c.realAddress(SPARE_REAL))?.health, 'up');

      // While it drains no new connection reaches it: 22 connections = one wrr cycle of 1+2+3+4+5+7.
      const counts = countAnswers(await clientBurst(c.lab, `http://${c.vip}/`, 22));
      assert.equal(mapText(counts), mapText(new Map([1, 2, 3, 4, 5, SPARE_REAL].map((i) => [c.realName(i), i]))));

      // The drain waits for the open connection (well past the drain poll interval, well before the drain timeout).
      const holdUntil = t0 + 5 * DRAIN_POLL_MS;
      if (Date.now() < holdUntil) await sleep(holdUntil - Date.now());
      const still = listTable().get(c.http)?.get(removed);
      assert.equal(still?.weight, 0, `still draining ${Date.now() - t0} ms after the reload`);
      assert.ok((still?.active ?? 0) >= 1, 'with the connection active');
      figure(
        `removed real kept at weight 0 with ${still?.active} active connection(s) ${Date.now() - t0} ms after the reload (draintimeout=${LONG_DRAIN_S})`,
      );

      // Closed with a reset, the connection's entry stays in the kernel for its CLOSE timeout (10 s) as an inactive
      // connection, and the drain waits for it too (a FIN would leave it in TIME_WAIT for 2 minutes). The held
      // connection was the removed real's only one: the clients' bursts above went to the others.
      await held.release(true);
      held = undefined;
      const t1 = Date.now();
      await sleep(2 * DRAIN_POLL_MS);
      const closing = listTable().get(c.http)?.get(removed);
      assert.ok(
        closing !== undefined && closing.active === 0 && closing.inactive >= 1,
        `still draining with the closed connection's entry (inactive) ${Date.now() - t1} ms after the reset: ${JSON.stringify(closing)}`,
      );
      await eventually(
        'the drained real to be deleted',
        () => (peekTable().get(c.http)?.has(removed) === false ? true : undefined),
        CLOSE_TIMEOUT_MS + DRAIN_POLL_MS + SLACK_MS + 10_000,
        50,
        () => tableShape(listTable(), services()),
      );
      const gone = Date.now() - t1;
      figure(
        `drained real deleted ${gone} ms after the client reset its connection (its entry lives ${CLOSE_TIMEOUT_MS} ms; drain poll ${DRAIN_POLL_MS} ms)`,
      );
      assert.ok(gone <= CLOSE_TIMEOUT_MS + DRAIN_POLL_MS + SLACK_MS, `deleted after ${gone} ms`);
      assert.ok(Date.now() - t0 < LONG_DRAIN_S * 1000, 'ended by the connection going away, not by the drain timeout');
      assert.ok(c.director.logRecords(CONF, (r) => r['why'] === 'idle').length >= 1, 'the drain ended idle');

      await sleep(2 * CHECK_INTERVAL_S * 1000);
      const shapes = await recorder.stop();
      recorder = undefined;
      const after = tableShape(listTable(), services());
      assert.equal(
        mapText(weightsOf(listTable(), c.http)),
        mapText(expectedWeights(c, [1, 2, 3, 4, 5, SPARE_REAL], 80)),
      );
      assert.equal(
        mapText(weightsOf(listTable(), c.https)),
        mapText(expectedWeights(c, SEED_REALS, 443)),
        'the HTTPS virtual is untouched',
      );
      // Every state the table went through differs from the one before only in the removed and the added real.
      const others = (shape: string): string =>
        shape
          .split('\n')
          .filter((l) => !l.includes(`${removed} `) && !l.includes(`${added} `))
          .join('\n');
      for (const s of shapes)
        assert.equal(others(s), others(before), `an intermediate table touched another entry:\n${s}`);
      console.log(`table states during the reload:\n${shapes.join('\n--\n')}`);
      assert.equal(others(after), others(before));

      const k1 = ops(await c.director.quickStatus(CONF));
      // quiescent=yes: the added real goes in at weight 0 until its first check, then to its weight; the removed
      // one is set to 0, then deleted.
      assert.equal(k1.applied - k0.applied, 4, `kernel operations: ${JSON.stringify(k0)} -> ${JSON.stringify(k1)}`);
      assert.equal(k1.failed - k0.failed, 0);
      assert.equal(k1.driftRepairs - k0.driftRepairs, 0);
      figure(
        `kernel operations for the reload: ${k1.applied - k0.applied} (add at 0, set weight ${SPARE_REAL}, drain to 0, delete)`,
      );
    } finally {
      held?.kill();
      await recorder?.stop();
    }
  });

  test('5b. draintimeout=: a drain ends at the timeout even while a connection stays open', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const removed = real(5, 80);
    const k0 = ops(await c.director.quickStatus(CONF));
    const held = await holdConnection(c.lab, c.vip, 80, c.realName(5));
    try {
      await eventually(
        'the held connection counted active on r5',
        () => ((peekTable().get(c.http)?.get(removed)?.active ?? 0) >= 1 ? true : undefined),
        10_000,
        100,
      );
      current = seedConfig(c, logfile, { httpReals: [1, 2, 3, 4, SPARE_REAL], globals: DRAIN_GLOBALS });
      c.director.writeConfig(CONF, current);
      const reloaded = await c.director.reload(CONF);
      assert.equal(reloaded.status, 0, reloaded.stderr);
      const t0 = Date.now();
      await eventually(
        'r5 draining (weight 0)',
        () => (peekTable().get(c.http)?.get(removed)?.weight === 0 ? true : undefined),
        SLACK_MS + 10_000,
        50,
      );
      let lastActive = 0;
      await eventually(
        'the drain to time out',
        () => {
          const d = peekTable().get(c.http)?.get(removed);
          if (d) lastActive = d.active;
          return d === undefined ? true : undefined;
        },
        DRAIN_TIMEOUT_S * 1000 + DRAIN_POLL_MS + SLACK_MS + 15_000,
        50,
        () => tableShape(listTable(), services()),
      );
      const gone = Date.now() - t0;
      figure(
        `draintimeout=${DRAIN_TIMEOUT_S}: removed real deleted ${gone} ms after ldir reload returned, with ${lastActive} active connection(s) still open`,
      );
      assert.ok(lastActive >= 1, 'the connection was still open when the drain ended');
      assert.ok(gone >= DRAIN_TIMEOUT_S * 1000 - reloaded.ms - 1000, `not before the timeout (${gone} ms)`);
      assert.ok(gone <= DRAIN_TIMEOUT_S * 1000 + DRAIN_POLL_MS + SLACK_MS, `deleted after ${gone} ms`);
    } finally {
      held.kill(); // its destination is gone: the kernel drops its packets, a FIN would never be answered
    }
    const k1 = ops(await c.director.quickStatus(CONF));
    assert.equal(k1.applied - k0.applied, 2, `drain to 0, then delete: ${JSON.stringify(k0)} -> ${JSON.stringify(k1)}`);
    assert.equal(mapText(weightsOf(listTable(), c.http)), mapText(expectedWeights(c, [1, 2, 3, 4, SPARE_REAL], 80)));
  });

  test('8. a broken reload: exit 2 with file:line, the running config stays, the kernel table is untouched', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const good = current;
    const before = tableShape(listTable(), services());
    const k0Report = await c.director.quickStatus(CONF);
    const k0 = ops(k0Report);
    const pid = c.director.pid(CONF);
    assert.ok(pid !== undefined);

    // The broken file would also bring r6 back: were any of it applied, the table would change.
    const lines = seedConfig(c, logfile, { httpReals: [1, 2, 3, 4, 5, 6, SPARE_REAL], globals: DRAIN_GLOBALS }).split(
      '\n',
    );
    const at = lines.findIndex((l) => l.startsWith('\tscheduler=wrr')) + 1; // inside the :80 section
    lines.splice(at, 0, '\tbogusdirective=1');
    const file = c.director.writeConfig(CONF, lines.join('\n'));

    const bad = await c.director.reload(CONF);
    assert.equal(bad.status, 2, `exit code: ${bad.stderr}`);
    assert.match(
      bad.stderr,
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${at + 1}(:\\d+)?: .*bogusdirective`),
      bad.stderr,
    );
    figure(`bad reload refused (exit 2) in ${bad.ms} ms: ${bad.stderr.trim().split('\n')[0]}`);

    // The daemon itself refuses it too (SIGHUP, as Heartbeat or an admin sends it): nothing is applied.
    const lastAt = k0Report.daemon.lastReload?.at;
    process.kill(pid, 'SIGHUP');
    const refused = await eventually(
      'the daemon to refuse the SIGHUP reload',
      async () => {
        const r = await c.director.quickStatus(CONF);
        return r.daemon.lastReload && r.daemon.lastReload.at !== lastAt ? r : undefined;
      },
      30_000,
      100,
    );
    assert.equal(refused.daemon.lastReload?.ok, false, JSON.stringify(refused.daemon.lastReload));
    figure(`SIGHUP with the broken file refused by the daemon: ${refused.daemon.lastReload?.message}`);

    await sleep(3 * CHECK_INTERVAL_S * 1000);
    assert.equal(tableShape(listTable(), services()), before, 'the kernel table is untouched');
    // `ldir status` on the broken file: the daemon is found by the configuration's name and shows its state (exit 0,
    // the JSON report on stdout); the broken file is a warning with its line. The daemon and its pid file are left alone.
    const status = await c.director.run(['--json', c.director.configPath(CONF), 'status']);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stderr, new RegExp(`warning: .*:${at + 1}(:\\d+)?: .*bogusdirective`), status.stderr);
    assert.equal(
      (JSON.parse(status.stdout) as { daemon: { pid: number } }).daemon.pid,
      pid,
      'the report of the running daemon',
    );
    const report = await c.director.quickStatus(CONF);
    assert.equal(report.daemon.pid, pid, 'the same daemon runs on');
    assert.equal(c.director.pid(CONF), pid, 'its pid file is intact');
    assert.equal(ops(report).applied, k0.applied, 'no kernel operation');
    assert.equal(
      report.virtualServices.find((v) => v.port === 80)?.reals.length,
      5,
      'the running configuration is the old one',
    );

    c.director.writeConfig(CONF, good);
    const fixed = await c.director.reload(CONF);
    assert.equal(fixed.status, 0, fixed.stderr);
    await sleep(2 * CHECK_INTERVAL_S * 1000);
    assert.equal(tableShape(listTable(), services()), before, 'reloading the same configuration changes nothing');
    const k2 = ops(await c.director.status(CONF));
    assert.equal(k2.applied, k0.applied, 'no kernel operation for an unchanged configuration');
    assert.equal(k2.failed, k0.failed);
  });
});
