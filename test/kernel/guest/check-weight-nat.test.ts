// Kernel tier (inside the VM): check-driven weights in the real kernel (netlink backend, the seed cluster's HTTP
// virtual with an external check whose script prints `weight=N` from a file per real, maxweight=12, slowstart=3). A
// lowered report applies at once, a raised one ramps through slow start up to the bound, and without a report the
// configured weight is back. Sampled from /proc/net/ip_vs; `ldir status` shows the reported weight.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { eventually, peekTable, weightsOf } from '../../helpers/ldir-director';
import { buildSeedCluster, figure, SEED_REALS, seedConfig, type SeedCluster } from '../../helpers/seed-cluster';

const skip =
  process.env['LDIR_IN_VM'] === '1' && existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const CONF = 'checkweight.cf';
const TEST_TIMEOUT = 240_000;
/** The real whose check reports weights: index 6, configured weight 6. */
const R = 6;

describe('check-driven weights in the kernel (LVS-NAT, netlink)', { skip, concurrency: false }, () => {
  let c: SeedCluster;
  let dir = '';
  const weight = (): number | undefined => weightsOf(peekTable(), c.http)?.get(`${c.realAddress(R)}:80`);
  const report = (w: string | undefined): void =>
    writeFileSync(path.join(dir, c.realAddress(R)), w === undefined ? '' : `weight=${w}\n`);

  before(async () => {
    c = await buildSeedCluster('sw', 216);
    dir = mkdtempSync(path.join(tmpdir(), 'ldir-weights-'));
    const script = path.join(dir, 'check.sh');
    // Arguments: VIP VPORT RIP RPORT. Up, with the weight in the file named after the real, if any.
    writeFileSync(script, `#!/bin/sh\n[ -s '${dir}'/"$3" ] && cat '${dir}'/"$3"\nexit 0\n`, { mode: 0o755 });
    c.director.writeConfig(
      CONF,
      seedConfig(c, c.director.logPath(CONF), {
        httpExtra: ['\tchecktype=external', `\tcheckcommand=${script}`, '\tmaxweight=12', '\tslowstart=3'],
      }),
    );
  });

  after(() => {
    c?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  afterEach((t) => c?.director.printChangesIfFailed(t, CONF));

  test('a lowered report at once, a raised one ramped up to maxweight, none: the configured weight', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    await c.director.start(CONF);
    await eventually(
      'all six at their configured weights',
      () =>
        SEED_REALS.every((i) => weightsOf(peekTable(), c.http)?.get(`${c.realAddress(i)}:80`) === i) ? true : undefined,
      60_000,
      100,
    );

    report('2');
    await eventually(
      'weight 2',
      () => (weight() === 2 ? true : undefined),
      20_000,
      50,
      () => `kernel ${weight()}`,
    );
    const status = await c.director.status(CONF);
    const r = status.virtualServices.find((v) => v.port === 80)?.reals.find((x) => x.address === c.realAddress(R));
    assert.equal(r?.checkWeight, 2);

    report('50');
    const seen: number[] = [];
    await eventually(
      'weight 12 (the bound)',
      () => {
        const w = weight() ?? -1;
        if (seen.at(-1) !== w) seen.push(w);
        return w === 12 ? true : undefined;
      },
      30_000,
      50,
      () => `seen ${seen.join(',')}`,
    );
    assert.ok(
      seen.length >= 3 && seen.every((w, i) => i === 0 || w > (seen[i - 1] ?? 0)),
      `ramped up in steps: ${seen.join(' → ')}`,
    );
    figure(`reported 50, maxweight 12, slowstart 3: kernel weights ${seen.join(' → ')}`);

    report(undefined);
    await eventually(
      'the configured weight',
      () => (weight() === R ? true : undefined),
      20_000,
      50,
      () => `kernel ${weight()}`,
    );
    const stopped = await c.director.stop(CONF);
    assert.equal(stopped.status, 0, stopped.stderr);
  });
});
