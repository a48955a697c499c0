// Kernel tier (inside the VM): the real `ldir` daemon (netlink backend) with quorum=4 and hysteresis=1 on the seed
// cluster's HTTP virtual (six reals in network namespaces, a fallback server). Servers stop one by one: the quorum
// holds inside its band, is lost below it (the fallback takes new connections, the reals still up stay in the kernel
// at weight 0), and is regained only at quorum + hysteresis; the quorum commands run once per edge. Checked through
// /proc/net/ip_vs and `ipvsadm -Ln`, `ldir --json status`, the commands' record and client traffic through the VIP.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { StatusReport, VirtualStatus } from '../../../src/daemon/protocol';
import { eventually, listTable, peekTable, weightsOf } from '../../helpers/ldir-director';
import { clientBurst, countAnswers } from '../../helpers/netns-traffic';
import {
  buildSeedCluster,
  CHECK_INTERVAL_S,
  CHECK_TIMEOUT_S,
  FALLBACK_REAL,
  figure,
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

const CONF = 'quorum.cf';
const TEST_TIMEOUT = 240_000;
/** Longest time a server stop or start may take to show in the kernel: a check round, its timeout, slack. */
const REACT_MS = (CHECK_INTERVAL_S + CHECK_TIMEOUT_S) * 1000 + SLACK_MS + 10_000;

describe('quorum with hysteresis in the kernel (LVS-NAT, netlink)', { skip, concurrency: false }, () => {
  let c: SeedCluster;
  let tmp = '';
  let record = '';
  const real = (i: number): string => `${c.realAddress(i)}:80`;
  const peek = (): Map<string, number> | undefined => weightsOf(peekTable(), c.http);
  const recorded = (): string[] =>
    existsSync(record)
      ? readFileSync(record, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
      : [];

  /** Waits until the HTTP virtual has exactly `want` (real index → weight, 'F' the fallback) in the kernel. */
  async function waitTable(want: ReadonlyMap<number | 'F', number>, ms: number): Promise<number> {
    const t0 = Date.now();
    const wanted = mapText(
      new Map([...want].map(([i, w]) => [i === 'F' ? `${c.realAddress(FALLBACK_REAL)}:80` : real(i), w])),
    );
    await eventually(
      `${c.http} to be ${wanted}`,
      () => (mapText(peek()) === wanted ? true : undefined),
      ms,
      50,
      () => `kernel: ${mapText(peek())}`,
    );
    assert.equal(mapText(weightsOf(listTable(), c.http)), wanted, 'ipvsadm -Ln agrees');
    return Date.now() - t0;
  }

  const http = async (): Promise<VirtualStatus> => {
    const report: StatusReport = await c.director.quickStatus(CONF);
    const v = report.virtualServices.find((x) => x.address === c.vip && x.port === 80);
    assert.ok(v);
    return v;
  };

  before(async () => {
    c = await buildSeedCluster('sq', 212);
    tmp = mkdtempSync(path.join(tmpdir(), 'ldir-quorum-'));
    record = path.join(tmp, 'commands.log');
    const script = path.join(tmp, 'record.sh');
    writeFileSync(script, `#!/bin/sh\necho "$*" >> '${record}'\n`, { mode: 0o755 });
    c.director.writeConfig(
      CONF,
      seedConfig(c, c.director.logPath(CONF), {
        httpExtra: [
          '\tquorum=4',
          '\thysteresis=1',
          `\tquorumupcommand=/bin/sh ${script} up`,
          `\tquorumdowncommand=/bin/sh ${script} down`,
        ],
      }),
    );
  });

  after(() => {
    c?.teardown();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  afterEach((t) => c?.director.printChangesIfFailed(t, CONF, `commands ${JSON.stringify(recorded())}; `));

  test('1. start: six reals up, quorum met, quorumupcommand run once', { timeout: TEST_TIMEOUT }, async () => {
    await c.director.start(CONF);
    await waitTable(new Map(SEED_REALS.map((i) => [i, i])), 60_000);
    await eventually('the up command', () => (recorded().length === 1 ? true : undefined), 10_000, 50);
    assert.match(recorded()[0] ?? '', new RegExp(`^up ${c.vip.replace(/\./g, '\\.')}:80 tcp [4-6] 4$`));
    assert.deepEqual((await http()).quorum, { state: 'up', serving: 6, quorum: 4, hysteresis: 1, configured: true });
  });

  test('2. three servers stop: three serve, not below 4 − 1, the quorum holds (no command, no fallback)', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    await Promise.all([1, 2, 3].map((i) => c.lab.serve(i - 1, 'http', 'down')));
    await waitTable(
      new Map([
        [1, 0],
        [2, 0],
        [3, 0],
        [4, 4],
        [5, 5],
        [6, 6],
      ]),
      REACT_MS,
    );
    const v = await http();
    assert.deepEqual([v.quorum?.state, v.quorum?.serving, v.fallbackActive], ['up', 3, false]);
    assert.equal(recorded().length, 1);
  });

  test('3. a fourth stops: the quorum is lost; the fallback takes new connections, the two left stay at weight 0', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const t0 = Date.now();
    await c.lab.serve(3, 'http', 'down');
    await waitTable(
      new Map<number | 'F', number>([
        [1, 0],
        [2, 0],
        [3, 0],
        [4, 0],
        [5, 0],
        [6, 0],
        ['F', 1],
      ]),
      REACT_MS,
    );
    figure(`fourth server stopped -> quorum lost, fallback in, after ${Date.now() - t0} ms`);
    await eventually('the down command', () => (recorded().length === 2 ? true : undefined), 10_000, 50);
    assert.equal(recorded()[1], `down ${c.vip}:80 tcp 2 4`);
    const v = await http();
    assert.deepEqual([v.quorum?.state, v.quorum?.serving, v.fallbackActive, v.realsUp], ['down', 2, true, 2]);
    const answers = await clientBurst(c.lab, `http://${c.vip}/`, 4);
    assert.deepEqual(
      answers,
      Array(4).fill(`hello from ${c.realName(FALLBACK_REAL)}`),
      'the fallback answers new connections',
    );
  });

  test('4. servers come back: four do not regain it (gained at 4 + 1), five do; the fallback leaves', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    await Promise.all([1, 2].map((i) => c.lab.serve(i - 1, 'http', 'up')));
    await eventually(
      'four serving',
      async () => ((await http()).quorum?.serving === 4 ? true : undefined),
      REACT_MS,
      100,
    );
    await new Promise((r) => setTimeout(r, 2 * CHECK_INTERVAL_S * 1000)); // two more rounds: nothing may change
    assert.equal((await http()).quorum?.state, 'down');
    assert.equal(mapText(peek()).includes(`${c.realAddress(FALLBACK_REAL)}:80=1`), true, 'the fallback still in');
    const t0 = Date.now();
    await c.lab.serve(2, 'http', 'up');
    await waitTable(
      new Map([
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 0],
        [5, 5],
        [6, 6],
      ]),
      REACT_MS,
    );
    figure(`fifth server back -> quorum regained, fallback out, after ${Date.now() - t0} ms`);
    await eventually('the up command again', () => (recorded().length === 3 ? true : undefined), 10_000, 50);
    assert.equal(recorded()[2], `up ${c.vip}:80 tcp 5 4`);
    const counts = countAnswers(await clientBurst(c.lab, `http://${c.vip}/`, 17));
    assert.equal(counts.get(c.realName(FALLBACK_REAL)) ?? 0, 0, 'no answer from the fallback');
    assert.equal(counts.get(c.realName(4)) ?? 0, 0, 'none from the stopped server');
    const stopped = await c.director.stop(CONF);
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.deepEqual(
      recorded().slice(3),
      [`down ${c.vip}:80 tcp 0 4`],
      'cleanstop=yes: the virtual goes, the down command runs',
    );
  });
});
