// Kernel tier (inside the VM): lifecycle of the `ldir` daemon on the seed cluster in miniature (LVS-NAT). The sysctls
// NAT needs (ip_forward, send_redirects) and an ipvssysctl tunable are set at start; with the ipvsadm backend and
// cleanstop=no, `ldir stop` leaves the table (traffic keeps flowing with no daemon) and a new start (netlink) adopts
// it with zero kernel operations. Figures are printed as "figure: ...".
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { StatusReport } from '../../../src/daemon/protocol';
import {
  eventually,
  listTable,
  peekTable,
  readSysctl,
  sleep,
  tableShape,
  TableRecorder,
  weightsOf,
  writeSysctl,
} from '../../helpers/ldir-director';
import { clientBurst, countAnswers } from '../../helpers/netns-traffic';
import {
  buildSeedCluster,
  CHECK_INTERVAL_S,
  expectedWeights,
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

const CONF = 'life.cf';
const TEST_TIMEOUT = 240_000;

describe('ldir lifecycle on the seed cluster: sysctls, cleanstop=no with ipvsadm, adoption', {
  skip,
  concurrency: false,
}, () => {
  let c: SeedCluster;
  const services = (): string[] => [c.http, c.https];
  const saved = new Map<string, string>();
  const redirectKeys = (): string[] =>
    ['all', 'default', ...c.lab.directorInterfaces].map((i) => `net.ipv4.conf.${i}.send_redirects`);

  async function allUp(ms: number): Promise<void> {
    const want = [mapText(expectedWeights(c, SEED_REALS, 80)), mapText(expectedWeights(c, SEED_REALS, 443))];
    await eventually(
      'all reals up at their weights',
      () => {
        const t = peekTable();
        return mapText(weightsOf(t, c.http)) === want[0] && mapText(weightsOf(t, c.https)) === want[1]
          ? true
          : undefined;
      },
      ms,
      100,
      () => tableShape(listTable(), services()),
    );
  }

  before(async () => {
    c = await buildSeedCluster('sl', 230);
    for (const key of ['net.ipv4.ip_forward', 'net.ipv4.vs.expire_nodest_conn', ...redirectKeys()])
      saved.set(key, readSysctl(key));
  });

  after(() => {
    for (const [key, value] of saved) {
      try {
        writeSysctl(key, value);
      } catch {
        /* interface gone */
      }
    }
    c?.teardown();
  });

  test('10. sysctls: ip_forward=1 and send_redirects=0 (all, default, every interface) for masq; ipvssysctl sets expire_nodest_conn', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    writeSysctl('net.ipv4.ip_forward', '0');
    for (const key of redirectKeys()) writeSysctl(key, '1');
    writeSysctl('net.ipv4.vs.expire_nodest_conn', '0');
    c.director.writeConfig(
      CONF,
      seedConfig(c, c.director.logPath(CONF), { cleanstop: false, globals: ['ipvssysctl=expire_nodest_conn=1'] }),
    );

    const started = await c.director.start(CONF, 'ipvsadm');
    figure(`ldir --ipvs=ipvsadm start returned after ${started.ms} ms`);
    assert.equal(readSysctl('net.ipv4.ip_forward'), '1');
    for (const key of redirectKeys()) assert.equal(readSysctl(key), '0', key);
    assert.equal(readSysctl('net.ipv4.vs.expire_nodest_conn'), '1');
    figure(
      `sysctls after start: ip_forward=1, send_redirects=0 on ${redirectKeys().length} entries (all, default, ${c.lab.directorInterfaces.length} interfaces), vs.expire_nodest_conn=1`,
    );

    await allUp(90_000);
    const report: StatusReport = await c.director.status(CONF);
    assert.equal(report.daemon.backend.name, 'ipvsadm');
    // Forwarding works: the NAT replies come back through the director.
    const counts = countAnswers(await clientBurst(c.lab, `http://${c.vip}/`, 21));
    assert.equal(mapText(counts), mapText(new Map(SEED_REALS.map((i) => [c.realName(i), i]))));
  });

  test('9b. cleanstop=no (ipvsadm backend): ldir stop leaves the table and traffic flows; a new start (netlink) adopts it with zero operations', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    await allUp(30_000);
    const before = tableShape(listTable(), services());
    const pid = c.director.pid(CONF);
    const stopped = await c.director.stop(CONF);
    assert.equal(stopped.status, 0, stopped.stderr);
    figure(`ldir stop (cleanstop=no) returned after ${stopped.ms} ms`);
    assert.equal(existsSync(`/proc/${pid}`), false, 'the daemon has exited');
    assert.equal(tableShape(listTable(), services()), before, 'the table is left as it was');
    const counts = countAnswers(await clientBurst(c.lab, `https://${c.vip}/`, 21));
    assert.equal(
      mapText(counts),
      mapText(new Map(SEED_REALS.map((i) => [c.realName(i), i]))),
      'traffic flows with no daemon running',
    );

    const recorder = new TableRecorder(services(), 100);
    let shapes: string[] = [];
    try {
      const t0 = Date.now();
      await c.director.start(CONF);
      const report = await eventually(
        'every real checked by the new daemon',
        async () => {
          const r = await c.director.quickStatus(CONF);
          const reals = r.virtualServices.flatMap((v) => v.reals);
          return reals.length === 12 && reals.every((x) => x.health === 'up' && x.lastCheck !== null) ? r : undefined;
        },
        60_000,
        200,
      );
      figure(
        `adopting daemon had every real checked up ${Date.now() - t0} ms after ldir start; kernelOps ${JSON.stringify(report.daemon.kernelOps)}`,
      );
      await sleep(2 * CHECK_INTERVAL_S * 1000);
      const later = await c.director.status(CONF);
      assert.equal(later.daemon.backend.name, 'netlink');
      assert.equal(
        later.daemon.kernelOps?.applied,
        0,
        `kernel operations by the new daemon: ${JSON.stringify(later.daemon.kernelOps)}\n${c.director.changesLogged(CONF, later.daemon.pid)}`,
      );
      assert.equal(later.daemon.kernelOps?.failed, 0);
    } finally {
      shapes = await recorder.stop();
    }
    assert.deepEqual(shapes, [before], 'the table never changed');
    const again = await c.director.stop(CONF);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(tableShape(listTable(), services()), before, 'cleanstop=no: left in place again');
  });
});
