// Kernel tier (inside the VM): the real `ldir` daemon (netlink backend) with slowstart=5 on the seed cluster's HTTP
// virtual. A server that comes back is given its weight in the kernel in steps of a second (sampled from
// /proc/net/ip_vs), its ramp goes on across `ldir restart` and across kill -9 + start (from where the kernel stands),
// and a lowered weight is applied at once. Measured figures are printed as "figure: ...".
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, afterEach, before, describe, test } from 'node:test';
import { eventually, peekTable, weightsOf } from '../../helpers/ldir-director';
import {
  buildSeedCluster,
  CHECK_INTERVAL_S,
  CHECK_TIMEOUT_S,
  figure,
  SEED_REALS,
  seedConfig,
  SLACK_MS,
  type SeedCluster,
} from '../../helpers/seed-cluster';

const skip =
  process.env['LDIR_IN_VM'] === '1' && existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const CONF = 'slowstart.cf';
const TEST_TIMEOUT = 240_000;
const REACT_MS = (CHECK_INTERVAL_S + CHECK_TIMEOUT_S) * 1000 + SLACK_MS + 10_000;
const RAMP_S = 5;
/** The real that comes and goes: index 6, weight 6. */
const R = 6;

describe('slow start in the kernel (LVS-NAT, netlink)', { skip, concurrency: false }, () => {
  let c: SeedCluster;
  const weight = (): number | undefined => weightsOf(peekTable(), c.http)?.get(`${c.realAddress(R)}:80`);

  /** Samples the real's kernel weight every 50 ms until it reaches `to` (bounded); returns the distinct values with their times. */
  async function sampleRamp(to: number, ms: number): Promise<Array<{ at: number; w: number | undefined }>> {
    const seen: Array<{ at: number; w: number | undefined }> = [];
    await eventually(
      `weight ${to}`,
      () => {
        const w = weight();
        if (seen.at(-1)?.w !== w || seen.length === 0) seen.push({ at: Date.now(), w });
        return w === to ? true : undefined;
      },
      ms,
      50,
      () => `seen ${JSON.stringify(seen)}`,
    );
    return seen;
  }

  /** Asserts a ramp: only rising weights, each step at least ~a second after the one before. */
  function assertRamp(seen: Array<{ at: number; w: number | undefined }>, what: string): void {
    const steps = seen.filter((s): s is { at: number; w: number } => s.w !== undefined && s.w > 0);
    for (let i = 1; i < steps.length; i++) {
      const [a, b] = [steps[i - 1] as { at: number; w: number }, steps[i] as { at: number; w: number }];
      assert.ok(b.w > a.w, `${what}: only up: ${JSON.stringify(seen)}`);
      assert.ok(b.at - a.at >= 700, `${what}: steps a second apart: ${JSON.stringify(seen)}`);
    }
  }

  before(async () => {
    c = await buildSeedCluster('ss', 214);
    c.director.writeConfig(CONF, seedConfig(c, c.director.logPath(CONF), { httpExtra: [`\tslowstart=${RAMP_S}`] }));
  });

  after(() => {
    c?.teardown();
  });

  afterEach((t) => c?.director.printChangesIfFailed(t, CONF));

  test('1. start, then a server that comes back ramps 1 → 6 in steps of a second', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    await c.director.start(CONF);
    await eventually(
      'all six at their weights',
      () =>
        SEED_REALS.every((i) => weightsOf(peekTable(), c.http)?.get(`${c.realAddress(i)}:80`) === i) ? true : undefined,
      60_000,
      100,
    );
    await c.lab.serve(R - 1, 'http', 'down');
    await eventually('weight 0', () => (weight() === 0 ? true : undefined), REACT_MS, 50);
    await c.lab.serve(R - 1, 'http', 'up');
    const seen = await sampleRamp(R, REACT_MS + RAMP_S * 1000);
    assertRamp(seen, 'recovery');
    const first = seen.find((s) => (s.w ?? 0) > 0);
    const last = seen.at(-1);
    assert.ok(first && first.w! <= 2, `begins at 1 or 2: ${JSON.stringify(seen)}`);
    assert.ok(
      first && last && last.at - first.at >= (RAMP_S - 1) * 1000 - 300,
      `lasts about ${RAMP_S} s: ${JSON.stringify(seen)}`,
    );
    figure(
      `slowstart=${RAMP_S}: kernel weights ${seen.map((s) => s.w).join(' → ')} over ${((last?.at ?? 0) - (first?.at ?? 0)) / 1000} s`,
    );
    const status = await c.director.status(CONF);
    const real = status.virtualServices.find((v) => v.port === 80)?.reals.find((r) => r.address === c.realAddress(R));
    assert.equal(real?.slowStart, null);
  });

  test('2. a ramp goes on across ldir restart (never back to 1)', { timeout: TEST_TIMEOUT }, async () => {
    await c.lab.serve(R - 1, 'http', 'down');
    await eventually('weight 0', () => (weight() === 0 ? true : undefined), REACT_MS, 50);
    await c.lab.serve(R - 1, 'http', 'up');
    await eventually('ramping at 2 or more', () => ((weight() ?? 0) >= 2 ? true : undefined), REACT_MS, 50);
    const before = weight() ?? 0;
    const samples: number[] = [];
    const poll = setInterval(() => samples.push(weight() ?? -1), 50);
    try {
      await c.director.restart(CONF);
      await eventually(`weight ${R}`, () => (weight() === R ? true : undefined), REACT_MS + RAMP_S * 1000, 50);
    } finally {
      clearInterval(poll);
    }
    assert.ok(
      samples.every((w) => w >= before),
      `never below ${before} across the restart: ${samples.join(',')}`,
    );
    figure(`ramp across ldir restart: from ${before}, weights ${[...new Set(samples)].join(' → ')}`);
  });

  test('3. kill -9 in the middle of a ramp, start: it goes on from the kernel weight', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    await c.lab.serve(R - 1, 'http', 'down');
    await eventually('weight 0', () => (weight() === 0 ? true : undefined), REACT_MS, 50);
    await c.lab.serve(R - 1, 'http', 'up');
    await eventually(
      'ramping at 2 or more',
      () => ((weight() ?? 0) >= 2 && (weight() ?? 0) < R ? true : undefined),
      REACT_MS,
      50,
    );
    await c.director.kill9(CONF);
    const cut = weight() ?? 0;
    const samples: number[] = [];
    const poll = setInterval(() => samples.push(weight() ?? -1), 50);
    try {
      await c.director.start(CONF);
      await eventually(`weight ${R}`, () => (weight() === R ? true : undefined), REACT_MS + RAMP_S * 1000, 50);
    } finally {
      clearInterval(poll);
    }
    assert.ok(
      samples.every((w) => w >= cut),
      `never below the cut ramp's ${cut}: ${samples.join(',')}`,
    );
    if (R - cut >= 2)
      assert.ok(new Set(samples).size >= 3, `ramped on from ${cut} rather than jumping to ${R}: ${samples.join(',')}`);
    figure(`ramp across kill -9 and start: cut at ${cut}, weights ${[...new Set(samples)].join(' → ')}`);
    const stopped = await c.director.stop(CONF);
    assert.equal(stopped.status, 0, stopped.stderr);
  });
});
