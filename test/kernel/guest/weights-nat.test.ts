// Kernel tier (inside the VM): runtime weights and hand drains in the real kernel (netlink backend, the seed cluster's
// HTTP virtual: six reals in network namespaces, weight = index). `ldir weight` gives real 2 the weight 7 and
// `ldir drain` takes real 3 out; both survive `ldir restart` (the table never changes), `kill -9` + `start` (the new
// daemon adopts the table with zero kernel operations) and `stop` + `start` with cleanstop=yes (the table is purged
// and built again: real 2 is never written at its configured weight, real 3 never above 0); reset and undrain give
// back the configuration. Checked in /proc/net/ip_vs and `ipvsadm -Ln`, `ldir status`, and client traffic.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, afterEach, before, describe, test } from 'node:test';
import type { StatusReport, VirtualStatus } from '../../../src/daemon/protocol';
import {
  eventually,
  listTable,
  peekTable,
  sleep,
  tableShape,
  TableRecorder,
  weightsOf,
} from '../../helpers/ldir-director';
import { clientBurst, countAnswers } from '../../helpers/netns-traffic';
import {
  buildSeedCluster,
  CHECK_INTERVAL_S,
  figure,
  mapText,
  SEED_REALS,
  seedConfig,
  type SeedCluster,
} from '../../helpers/seed-cluster';

const skip =
  process.env['LDIR_IN_VM'] === '1' && existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const CONF = 'weights.cf';
const TEST_TIMEOUT = 300_000;

describe('runtime weights and hand drains survive restart, kill -9 and stop + start (LVS-NAT, netlink)', {
  skip,
  concurrency: false,
}, () => {
  let c: SeedCluster;
  const real = (i: number): string => `${c.realAddress(i)}:80`;
  const services = (): string[] => [c.http, c.https];
  const peek = (): Map<string, number> | undefined => weightsOf(peekTable(), c.http);
  /** The HTTP virtual's weights: the configured ones (index), real 2 at 7, real 3 at 0. */
  const handSet = (): Map<string, number> => new Map(SEED_REALS.map((i) => [real(i), i === 2 ? 7 : i === 3 ? 0 : i]));
  const configured = (): Map<string, number> => new Map(SEED_REALS.map((i) => [real(i), i]));

  /** Waits until the HTTP virtual has exactly `want` in /proc/net/ip_vs, then checks that `ipvsadm -Ln` agrees. */
  async function waitTable(want: ReadonlyMap<string, number>, ms: number): Promise<void> {
    const wanted = mapText(want);
    await eventually(
      `${c.http} to be ${wanted}`,
      () => (mapText(peek()) === wanted ? true : undefined),
      ms,
      50,
      () => `kernel: ${mapText(peek())}`,
    );
    assert.equal(mapText(weightsOf(listTable(), c.http)), wanted, 'ipvsadm -Ln agrees');
  }

  const http = async (): Promise<VirtualStatus> => {
    const report: StatusReport = await c.director.quickStatus(CONF);
    const v = report.virtualServices.find((x) => x.address === c.vip && x.port === 80);
    assert.ok(v);
    return v;
  };

  /** Per real of the HTTP virtual in `ldir status`: `index:override/drained`. */
  const handShown = async (): Promise<string> =>
    (await http()).reals.map((r, i) => `${i + 1}:${r.override ?? '-'}${r.drained ? '/drained' : ''}`).join(' ');
  const HAND_SHOWN = '1:- 2:7 3:-/drained 4:- 5:- 6:-';

  /** Waits until every real of both virtuals has been checked up by the daemon now running. */
  const allChecked = (): Promise<StatusReport> =>
    eventually(
      'every real checked up by this daemon',
      async () => {
        const r = await c.director.quickStatus(CONF);
        const reals = r.virtualServices.flatMap((v) => v.reals);
        return reals.length === 12 && reals.every((x) => x.health === 'up' && x.lastCheck !== null) ? r : undefined;
      },
      90_000,
      200,
    );

  /** Weights daemon `pid` wrote to the HTTP virtual's reals (`real=weight`, from its logged operations). */
  const writtenBy = (pid: number): string[] =>
    c.director
      .logRecords(
        CONF,
        (r) => r['pid'] === pid && r['vs'] === `tcp:${c.vip}:80` && /^(add|edit)-destination /.test(String(r['msg'])),
      )
      .map((r) => `${String(r['rs'])}=${/ weight (\d+)$/.exec(String(r['msg']))?.[1] ?? '?'}`);

  before(async () => {
    c = await buildSeedCluster('sw', 214);
    c.director.writeConfig(CONF, seedConfig(c, c.director.logPath(CONF)));
  });

  after(() => {
    c?.teardown();
  });

  afterEach((t) => c?.director.printChangesIfFailed(t, CONF));

  test('1. start, then ldir weight 7 on real 2 and ldir drain on real 3: in the kernel at once; traffic follows', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    await c.director.start(CONF);
    await waitTable(configured(), 90_000);
    const file = c.director.configPath(CONF);
    const weight = await c.director.run([file, 'weight', `${c.vip}:80`, c.realAddress(2), '7']);
    assert.equal(weight.status, 0, weight.stderr);
    assert.equal(weight.stdout, `weight of ${real(2)} in tcp:${c.vip}:80 set to 7 (configured 2)\n`);
    const drain = await c.director.run([file, 'drain', `${c.vip}:80`, c.realAddress(3)]);
    assert.equal(drain.status, 0, drain.stderr);
    await waitTable(handSet(), 10_000);
    assert.equal(await handShown(), HAND_SHOWN);
    const text = await c.director.run([file, 'status']);
    assert.match(text.stdout, new RegExp(`^  ${real(2).replace(/\./g, '\\.')} +masq +up +2/7 +\\S+ +WEIGHT 7 `, 'm'));
    const counts = countAnswers(await clientBurst(c.lab, `http://${c.vip}/`, 24));
    assert.equal(counts.get(c.realName(3)) ?? 0, 0, `the drained real gets no new connection: ${mapText(counts)}`);
    assert.ok((counts.get(c.realName(2)) ?? 0) > 0, `real 2 serves at weight 7: ${mapText(counts)}`);
  });

  test('2. ldir restart: carried over to the new daemon; the kernel table never changes', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const before = c.director.pid(CONF);
    const shape = tableShape(listTable(), services());
    const recorder = new TableRecorder(services(), 100);
    let shapes: string[] = [];
    try {
      const r = await c.director.restart(CONF);
      figure(`ldir restart with a runtime weight and a hand drain returned after ${r.ms} ms`);
      assert.notEqual(c.director.pid(CONF), before);
      await allChecked();
      await sleep(2 * CHECK_INTERVAL_S * 1000);
      assert.equal(await handShown(), HAND_SHOWN);
    } finally {
      shapes = await recorder.stop();
    }
    assert.deepEqual(shapes, [shape], 'the table never changed');
  });

  test('3. kill -9 and start: both come back from the state file; the table is adopted with zero kernel operations', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const shape = tableShape(listTable(), services());
    const old = await c.director.kill9(CONF);
    const recorder = new TableRecorder(services(), 100);
    let shapes: string[] = [];
    try {
      await c.director.start(CONF);
      const pid = c.director.pid(CONF);
      assert.ok(pid !== undefined && pid !== old);
      assert.equal(await handShown(), HAND_SHOWN, 'in force from the first pass, before any check');
      await allChecked();
      await sleep(2 * CHECK_INTERVAL_S * 1000);
      const later = await c.director.quickStatus(CONF);
      assert.equal(
        later.daemon.kernelOps?.applied,
        0,
        `kernel operations by the new daemon:\n${c.director.changesLogged(CONF, pid)}`,
      );
    } finally {
      shapes = await recorder.stop();
    }
    assert.deepEqual(shapes, [shape], 'the kernel table never changed from the kill to the end of the checks');
  });

  test('4. stop (cleanstop=yes purges) and start: built again with the runtime weight and the drain, never the configured weights', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const stopped = await c.director.stop(CONF);
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.equal(peek(), undefined, 'cleanstop=yes deleted the virtual');
    await c.director.start(CONF);
    const pid = c.director.pid(CONF);
    assert.ok(pid !== undefined);
    await waitTable(handSet(), 90_000);
    await allChecked();
    await sleep(2 * CHECK_INTERVAL_S * 1000);
    await waitTable(handSet(), 1_000);
    const written = writtenBy(pid);
    assert.ok(
      written.includes(`${real(2)}=7`),
      `the new daemon wrote real 2 at its runtime weight: ${written.join(', ')}`,
    );
    assert.ok(
      !written.includes(`${real(2)}=2`),
      `real 2 was never set to its configured weight: ${written.join(', ')}`,
    );
    assert.ok(
      written.every((w) => !w.startsWith(`${real(3)}=`) || w === `${real(3)}=0`),
      `real 3 was never above 0: ${written.join(', ')}`,
    );
    assert.equal(await handShown(), HAND_SHOWN);
  });

  test('5. reset and undrain: the configured weights again, and nothing left to restore after a kill -9', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const file = c.director.configPath(CONF);
    assert.equal((await c.director.run([file, 'weight', `${c.vip}:80`, c.realAddress(2), 'reset'])).status, 0);
    assert.equal((await c.director.run([file, 'undrain', `${c.vip}:80`, c.realAddress(3)])).status, 0);
    await waitTable(configured(), 10_000);
    await c.director.kill9(CONF);
    await c.director.start(CONF);
    await allChecked();
    await sleep(2 * CHECK_INTERVAL_S * 1000);
    await waitTable(configured(), 1_000);
    assert.equal(await handShown(), '1:- 2:- 3:- 4:- 5:- 6:-');
    const stopped = await c.director.stop(CONF);
    assert.equal(stopped.status, 0, stopped.stderr);
  });
});
