// `npm run bench:scaleout`: the scale-out proof of issue 16 (item 3). Boots the kernel-tier VM and runs
// test/kernel/guest/scaleout-ecmp.test.js in it: three LVS-DR directors (each its own IPVS table, ldir and BIRD)
// behind a router whose BIRD installs the VIP with one ECMP nexthop per announcing director, a client keeping
// long-lived connections busy and opening new ones while one director loses its ldir (kill -9), gets it back, loses
// its host, comes back, and a real fails. Relays the test's `figure:` and `traffic:` lines, prints its one line
//   scale-out directors=3 withdraw_s=... established=N established_broken=N new_failing_s=... rejoin_broken=N
// and judges it (bench/targets.ts): withdrawn within 3 s of kill -9, no established connection broken by losing or
// adding back a director, new connections failing (or needing a second SYN) for at most 3 s; plus the test's own
// assertions. Exit 1 when one is missed (`--no-targets` to explore), 3 when the VM cannot run or no line came out.
import { outputLines, runInVm, vmUnavailable } from '../test/kernel/vm/run-in-vm';
import { parseScaleOutLine, SCALE_OUT_TARGETS } from './scaleout-line';
import { benchMain, type BenchSpec, type BenchTargets } from './targets';

/** The guest file the bench runs. */
export const SCALE_OUT_GUEST = 'dist/test/kernel/guest/scaleout-ecmp.test.js';

/** The command line of `npm run bench:scaleout`. */
export const SCALE_OUT_BENCH: BenchSpec = {
  command: 'npm run bench:scaleout',
  summary:
    'three LVS-DR directors behind an ECMP router (BIRD) in the test VM: one loses its ldir, then its host, and comes back',
  env: { LDIR_VM_TIMEOUT_MS: 'limit of the VM run (default 20 min)' },
};

async function measureScaleOut(targets: BenchTargets): Promise<void> {
  const why = vmUnavailable();
  if (why) throw new Error(`the VM cannot run here: ${why}`);
  const table: string[] = [];
  const { onOutput } = outputLines((line) => {
    const text = line.trim();
    if (/^(figure|traffic):/.test(text) || text.startsWith('scale-out ')) console.log(text);
    if (text.startsWith('|')) table.push(text);
  });
  const result = await runInVm(`node --test --test-concurrency=1 --test-reporter=spec ${SCALE_OUT_GUEST}`, {
    onOutput,
  });
  console.log(`\n${table.join('\n')}\n`);
  const figures = parseScaleOutLine(result.output);
  if (!figures) {
    console.log(result.output.split('\n').slice(-60).join('\n'));
    throw new Error(`the guest printed no scale-out line (exit ${result.code})`);
  }
  const t = SCALE_OUT_TARGETS;
  targets.atMost('withdrawn after kill -9', figures.withdrawS, t.withdrawS, 's', 2);
  targets.atMost(
    'established connections broken by losing a director',
    figures.establishedBroken,
    t.establishedBroken,
    '',
    0,
  );
  targets.atMost(
    'established connections broken by adding a director back',
    figures.rejoinBroken,
    t.rejoinBroken,
    '',
    0,
  );
  targets.atMost('new connections failing', figures.newFailingS, t.newFailingS, 's', 2);
  if (result.code !== 0) console.log(result.output.split('\n').slice(-40).join('\n'));
  targets.atMost("scaleout-ecmp: the test's assertions", result.code === 0 ? 0 : 1, 0, 'failed', 0);
}

if (require.main === module) benchMain(SCALE_OUT_BENCH, ({ targets }) => measureScaleOut(targets));
