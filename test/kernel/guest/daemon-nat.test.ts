// Kernel tier (inside the VM): the real `ldir` daemon (netlink backend) directs the seed cluster in miniature, an
// LVS-NAT director with six real servers in network namespaces serving HTTP and HTTPS. Start, a server going down
// (quiescent and not), coming back, all down (fallback), kill -9 and restart (adoption with zero kernel operations),
// a hand edit repaired by the resync, and stop with cleanstop=yes. Checked through `ipvsadm -Ln`, `ldir --json
// status` and real client traffic through the VIP. Measured figures are printed as "figure: ...".
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
import { thenRestore } from '../../helpers/wait';
import { clientBurst, countAnswers } from '../../helpers/netns-traffic';
import {
  buildSeedCluster,
  CHECK_INTERVAL_S,
  CHECK_TIMEOUT_S,
  expectedWeights,
  FALLBACK_REAL,
  figure,
  HTTPS_TIMEOUT_S,
  mapText,
  SEED_REALS,
  seedConfig,
  SLACK_MS,
  type SeedCluster,
} from '../../helpers/seed-cluster';

const skip =
  process.env['LDIR_IN_VM'] === '1' && existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const CONF = 'seed.cf';
const TEST_TIMEOUT = 240_000;

describe('ldir directs the seed cluster (LVS-NAT, netlink)', { skip, concurrency: false }, () => {
  let c: SeedCluster;
  const services = (): string[] => [c.http, c.https];
  const real = (i: number, port: number): string => `${c.realAddress(i)}:${port}`;
  /** Weights of `service` as `ipvsadm -Ln` shows them. */
  const weights = (service: string): Map<string, number> | undefined => weightsOf(listTable(), service);
  /** The same from /proc/net/ip_vs: for polling (no process started). */
  const peek = (service: string): Map<string, number> | undefined => weightsOf(peekTable(), service);

  /**
   * Waits until `service` has exactly the `want` weights (polling /proc/net/ip_vs every 50 ms), confirms with
   * `ipvsadm -Ln`, and resolves with the milliseconds since `since`.
   */
  async function waitWeights(
    service: string,
    want: ReadonlyMap<string, number>,
    ms: number,
    since = Date.now(),
  ): Promise<number> {
    const wanted = mapText(want);
    await eventually(
      `${service} to be ${wanted}`,
      () => (mapText(peek(service)) === wanted ? true : undefined),
      ms,
      50,
      () => `kernel: ${mapText(peek(service))}`,
    );
    const elapsed = Date.now() - since;
    assert.equal(mapText(weights(service)), wanted, 'ipvsadm -Ln agrees');
    return elapsed;
  }

  const vsOf = (report: StatusReport, port: number): VirtualStatus => {
    const v = report.virtualServices.find((x) => x.address === c.vip && x.port === port);
    assert.ok(v, `virtual ${c.vip}:${port} in the status report`);
    return v;
  };

  before(async () => {
    c = await buildSeedCluster('sn', 210);
    c.director.writeConfig(CONF, seedConfig(c, c.director.logPath(CONF)));
  });

  after(() => {
    c?.teardown();
  });

  // A failed step shows what the daemon saw meanwhile (a check that failed by itself, a kernel operation nobody expected).
  afterEach((t) => c?.director.printChangesIfFailed(t, CONF));

  test('1. start: all six reals up with their weights in both virtuals; traffic follows the weights', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const t0 = Date.now();
    const started = await c.director.start(CONF);
    figure(`ldir start returned after ${started.ms} ms`);
    await waitWeights(c.http, expectedWeights(c, SEED_REALS, 80), 60_000, t0);
    const all = await waitWeights(c.https, expectedWeights(c, SEED_REALS, 443), 60_000, t0);
    figure(`all six reals at their weights in both virtuals ${all} ms after ldir start was run`);
    const table = listTable();
    for (const s of services()) for (const [d, x] of table.get(s) ?? []) assert.equal(x.forward, 'Masq', `${s} ${d}`);

    const report = await c.director.status(CONF);
    assert.equal(report.daemon.backend.name, 'netlink', 'auto chose netlink');
    assert.equal(report.daemon.backend.inMemory, false);
    for (const port of [80, 443]) {
      const v = vsOf(report, port);
      assert.equal(v.realsUp, 6, `${port}: realsUp`);
      assert.equal(v.fallbackActive, false);
      for (const r of v.reals) {
        assert.equal(r.health, 'up', `${r.address}:${r.port}`);
        assert.equal(r.kernelWeight, r.weight, `${r.address}:${r.port} kernel weight`);
        assert.equal(r.lastCheck?.up, true);
      }
    }

    // wrr over 21 new connections (one full cycle of weights 1..6): each real answers as often as its weight.
    for (const [scheme, suffix] of [
      ['http', ''],
      ['https', ' https'],
    ] as const) {
      const answers = await clientBurst(c.lab, `${scheme}://${c.vip}/`, 21);
      const counts = countAnswers(answers);
      assert.deepEqual(
        mapText(counts),
        mapText(new Map(SEED_REALS.map((i) => [c.realName(i), i]))),
        `${scheme}: ${answers.join(', ')}`,
      );
      assert.ok(
        answers.every((a) => a.endsWith(suffix)),
        `${scheme} answers: ${answers.join(', ')}`,
      );
    }
  });

  test('2. a server stops: weight 0 (quiescent=yes, :80) and removed (quiescent=no, :443) within checkinterval + timeout', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const limit = (CHECK_INTERVAL_S + CHECK_TIMEOUT_S) * 1000;
    const limitHttps = (CHECK_INTERVAL_S + HTTPS_TIMEOUT_S) * 1000;
    await Promise.all([c.lab.serve(2, 'http', 'down'), c.lab.serve(2, 'https', 'down')]);
    const t0 = Date.now();
    let quiesced: number | undefined;
    let removed: number | undefined;
    await eventually(
      'r3 quiesced on :80 and removed from :443',
      () => {
        const t = peekTable();
        if (quiesced === undefined && t.get(c.http)?.get(real(3, 80))?.weight === 0) quiesced = Date.now() - t0;
        if (removed === undefined && t.get(c.https) && !t.get(c.https)?.has(real(3, 443))) removed = Date.now() - t0;
        return quiesced !== undefined && removed !== undefined ? true : undefined;
      },
      limitHttps + SLACK_MS + 10_000,
      50,
      () => `kernel: ${tableShape(listTable(), services())}`,
    );
    figure(
      `HTTP stopped -> weight 0 on :80 (quiescent=yes) after ${quiesced} ms (limit ${limit} ms + ${SLACK_MS} ms TCG slack); ` +
        `HTTPS stopped -> removed from :443 (quiescent=no) after ${removed} ms (limit ${limitHttps} ms + ${SLACK_MS} ms)`,
    );
    assert.ok((quiesced ?? Infinity) <= limit + SLACK_MS, `quiesced after ${quiesced} ms`);
    assert.ok((removed ?? Infinity) <= limitHttps + SLACK_MS, `removed after ${removed} ms`);
    assert.equal(
      mapText(weights(c.http)),
      mapText(new Map([...expectedWeights(c, SEED_REALS, 80)].map(([k, v]) => [k, k === real(3, 80) ? 0 : v]))),
    );
    assert.equal(mapText(weights(c.https)), mapText(expectedWeights(c, [1, 2, 4, 5, 6], 443)));

    const report = await c.director.status(CONF);
    const r3http = vsOf(report, 80).reals.find((r) => r.address === c.realAddress(3));
    const r3https = vsOf(report, 443).reals.find((r) => r.address === c.realAddress(3));
    assert.equal(r3http?.health, 'down');
    assert.equal(r3http?.kernelWeight, 0);
    assert.equal(r3http?.inKernel, true);
    assert.equal(r3http?.lastCheck?.up, false);
    assert.equal(r3https?.health, 'down');
    assert.equal(r3https?.inKernel, false);
    assert.equal(vsOf(report, 80).realsUp, 5);

    // No new connection reaches r3: 18 connections = one wrr cycle of the weights left (1+2+4+5+6).
    for (const scheme of ['http', 'https']) {
      const counts = countAnswers(await clientBurst(c.lab, `${scheme}://${c.vip}/`, 18));
      assert.equal(mapText(counts), mapText(new Map([1, 2, 4, 5, 6].map((i) => [c.realName(i), i]))), scheme);
    }
  });

  test('2b. a server that accepts but never answers: weight 0 within checkinterval + negotiatetimeout', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const limit = (CHECK_INTERVAL_S + CHECK_TIMEOUT_S) * 1000;
    await c.lab.serve(3, 'http', 'hang');
    const t0 = Date.now();
    await eventually(
      'r4 quiesced on :80',
      () => (peek(c.http)?.get(real(4, 80)) === 0 ? true : undefined),
      limit + SLACK_MS + 10_000,
      50,
    );
    const hung = Date.now() - t0;
    figure(`HTTP hangs -> weight 0 on :80 after ${hung} ms (limit ${limit} ms + ${SLACK_MS} ms TCG slack)`);
    assert.ok(hung <= limit + SLACK_MS, `quiesced after ${hung} ms`);
    const r4 = vsOf(await c.director.quickStatus(CONF), 80).reals.find((r) => r.address === c.realAddress(4));
    assert.equal(r4?.health, 'down');
    assert.match(r4?.lastCheck?.reason ?? '', /timeout/i);
    await c.lab.serve(3, 'http', 'up');
    await waitWeights(
      c.http,
      new Map([...expectedWeights(c, SEED_REALS, 80)].map(([k, v]) => [k, k === real(3, 80) ? 0 : v])),
      CHECK_INTERVAL_S * 1000 + SLACK_MS + 10_000,
    );
  });

  test('3. the server comes back: its weight is restored in both virtuals', { timeout: TEST_TIMEOUT }, async () => {
    await Promise.all([c.lab.serve(2, 'http', 'up'), c.lab.serve(2, 'https', 'up')]);
    const t0 = Date.now();
    const h = await waitWeights(
      c.http,
      expectedWeights(c, SEED_REALS, 80),
      CHECK_INTERVAL_S * 1000 + SLACK_MS + 10_000,
      t0,
    );
    const s = await waitWeights(
      c.https,
      expectedWeights(c, SEED_REALS, 443),
      CHECK_INTERVAL_S * 1000 + SLACK_MS + 10_000,
      t0,
    );
    // One check interval until the next check, which succeeds at once (no rise count, as ldirectord).
    figure(
      `server back -> weight 3 restored on :80 after ${h} ms, re-added on :443 after ${s} ms (limit ${CHECK_INTERVAL_S * 1000} ms + ${SLACK_MS} ms)`,
    );
    assert.ok(Math.max(h, s) <= CHECK_INTERVAL_S * 1000 + SLACK_MS, `restored after ${Math.max(h, s)} ms`);
    const report = await c.director.quickStatus(CONF);
    for (const port of [80, 443]) assert.equal(vsOf(report, port).realsUp, 6);
    const counts = countAnswers(await clientBurst(c.lab, `http://${c.vip}/`, 21));
    assert.equal(counts.get(c.realName(3)), 3, 'r3 takes its share again');
  });

  test('4. all reals of :80 down: the fallback server comes in (weight 1), and goes when one real is back', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const fallback = real(FALLBACK_REAL, 80);
    const allZero = new Map(SEED_REALS.map((i) => [real(i, 80), 0]));
    // Every HTTP server back and the table as at the start before the next test, whether this one passed or not.
    const restore = async (): Promise<void> => {
      await Promise.all(SEED_REALS.map((i) => c.lab.serve(i - 1, 'http', 'up')));
      await waitWeights(c.http, expectedWeights(c, SEED_REALS, 80), CHECK_INTERVAL_S * 1000 + SLACK_MS + 10_000);
    };
    await thenRestore(async () => {
      await Promise.all(SEED_REALS.map((i) => c.lab.serve(i - 1, 'http', 'down')));
      const t0 = Date.now();
      const inAfter = await waitWeights(
        c.http,
        new Map([...allZero, [fallback, 1]]),
        (CHECK_INTERVAL_S + CHECK_TIMEOUT_S) * 1000 + SLACK_MS + 10_000,
        t0,
      );
      figure(`all HTTP servers stopped -> fallback in (weight 1), reals at 0, after ${inAfter} ms`);
      assert.ok(inAfter <= (CHECK_INTERVAL_S + CHECK_TIMEOUT_S) * 1000 + SLACK_MS, `fallback in after ${inAfter} ms`);
      const report = await c.director.status(CONF);
      assert.equal(vsOf(report, 80).fallbackActive, true);
      assert.equal(vsOf(report, 80).realsUp, 0);
      assert.equal(vsOf(report, 443).fallbackActive, false, 'the HTTPS virtual is untouched');
      assert.equal(mapText(weights(c.https)), mapText(expectedWeights(c, SEED_REALS, 443)));
      const sorry = await clientBurst(c.lab, `http://${c.vip}/`, 4);
      assert.deepEqual(sorry, Array(4).fill(`hello from ${c.realName(FALLBACK_REAL)}`), 'the fallback answers');

      await c.lab.serve(1, 'http', 'up');
      const t1 = Date.now();
      const outAfter = await waitWeights(
        c.http,
        new Map([...allZero, [real(2, 80), 2]]),
        CHECK_INTERVAL_S * 1000 + SLACK_MS + 10_000,
        t1,
      );
      figure(`one HTTP server back -> fallback out, real at weight 2, after ${outAfter} ms`);
      assert.ok(outAfter <= CHECK_INTERVAL_S * 1000 + SLACK_MS, `fallback out after ${outAfter} ms`);
      assert.equal(vsOf(await c.director.quickStatus(CONF), 80).fallbackActive, false);
      const back = await clientBurst(c.lab, `http://${c.vip}/`, 4);
      assert.deepEqual(back, Array(4).fill(`hello from ${c.realName(2)}`), 'the real answers, not the fallback');
    }, restore);
  });

  test('6. kill -9 and start again: the table is adopted, zero kernel operations, weights never change', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const shape = tableShape(listTable(), services());
    assert.equal(mapText(weights(c.http)), mapText(expectedWeights(c, SEED_REALS, 80)));
    const old = await c.director.kill9(CONF);
    const recorder = new TableRecorder(services(), 100);
    let shapes: string[] = [];
    try {
      const t0 = Date.now();
      await c.director.start(CONF);
      const pid = c.director.pid(CONF);
      assert.notEqual(pid, old);
      // Every real's first check of the new daemon has come in (and it is up).
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
        `restarted daemon had every real checked up ${Date.now() - t0} ms after ldir start was run; kernelOps ${JSON.stringify(report.daemon.kernelOps)}`,
      );
      await sleep(2 * CHECK_INTERVAL_S * 1000); // two more rounds of checks
      const later = await c.director.status(CONF);
      assert.equal(later.daemon.pid, pid);
      assert.equal(
        later.daemon.kernelOps?.applied,
        0,
        `kernel operations by the new daemon: ${JSON.stringify(later.daemon.kernelOps)}\n${c.director.changesLogged(CONF, later.daemon.pid)}`,
      );
      assert.equal(later.daemon.kernelOps?.failed, 0);
      assert.ok((later.daemon.kernelOps?.syncs ?? 0) >= 1);
      for (const port of [80, 443]) for (const r of vsOf(later, port).reals) assert.equal(r.kernelWeight, r.weight);
    } finally {
      shapes = await recorder.stop();
    }
    assert.deepEqual(shapes, [shape], 'the kernel table never changed from the kill to the end of the checks');
  });

  test('7. a destination deleted and a weight changed by hand (ipvsadm) are repaired by the next resync', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const RESYNC_MS = 10_000; // EngineOptions.resyncIntervalMs default; no directive changes it
    // Edit right after a sync pass, so that nothing but the periodic resync, one interval later, is due to repair it.
    // The counters are read after that pass: whatever it applied is not the repair's.
    const before = (await c.director.quickStatus(CONF)).daemon.kernelOps?.syncs ?? 0;
    const k0 = await eventually(
      'a sync pass',
      async () => {
        const ops = (await c.director.quickStatus(CONF)).daemon.kernelOps;
        return (ops?.syncs ?? 0) > before ? ops : undefined;
      },
      RESYNC_MS + SLACK_MS + 10_000,
      50,
    );
    execFileSync('ipvsadm', ['-d', '-t', `${c.vip}:80`, '-r', real(5, 80)]);
    execFileSync('ipvsadm', ['-e', '-t', `${c.vip}:443`, '-r', real(6, 443), '-m', '-w', '9']);
    const t0 = Date.now();
    assert.equal(weights(c.http)?.has(real(5, 80)), false);
    const h = await waitWeights(c.http, expectedWeights(c, SEED_REALS, 80), RESYNC_MS + SLACK_MS + 10_000, t0);
    const s = await waitWeights(c.https, expectedWeights(c, SEED_REALS, 443), RESYNC_MS + SLACK_MS + 10_000, t0);
    figure(
      `hand edits repaired after ${h} ms (deleted destination) and ${s} ms (changed weight); resync interval ${RESYNC_MS} ms`,
    );
    assert.ok(Math.max(h, s) <= RESYNC_MS + SLACK_MS, `repaired after ${Math.max(h, s)} ms`);
    const report = await c.director.quickStatus(CONF);
    const k1 = report.daemon.kernelOps;
    assert.equal(
      (k1?.applied ?? 0) - (k0?.applied ?? 0),
      2,
      `exactly two repairs: ${JSON.stringify(k0)} -> ${JSON.stringify(k1)}`,
    );
    assert.equal((k1?.driftRepairs ?? 0) - (k0?.driftRepairs ?? 0), 2, 'both counted as drift repairs');
    assert.match(report.daemon.lastSync?.message ?? '', /resync/);
  });

  test('9a. cleanstop=yes: ldir stop removes both virtual services and returns once the daemon is gone', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const pid = c.director.pid(CONF);
    assert.ok(pid !== undefined);
    const stopped = await c.director.stop(CONF);
    assert.equal(stopped.status, 0, stopped.stderr);
    figure(`ldir stop (cleanstop=yes) returned after ${stopped.ms} ms`);
    const table = listTable();
    assert.equal(table.has(c.http), false, tableShape(table, services()));
    assert.equal(table.has(c.https), false);
    const lingering = existsSync(`/proc/${pid}`);
    const t0 = Date.now();
    await eventually(`pid ${pid} to exit`, () => (existsSync(`/proc/${pid}`) ? undefined : true), 30_000, 20);
    figure(
      `daemon process ${lingering ? `still there when ldir stop returned; gone ${Date.now() - t0} ms later` : 'gone when ldir stop returned'}`,
    );
    assert.equal(lingering, false, 'the daemon has exited when ldir stop returns');
  });
});
