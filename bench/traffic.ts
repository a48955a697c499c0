// `npm run bench:traffic`: the traffic tier's figures. Boots the kernel-tier VM once per traffic scenario
// (test/kernel/guest/traffic-*.test.js: LVS-NAT lifecycle, LVS-DR director pair, Pacemaker) and prints one line per
// phase (`traffic: lab=... phase=... requests=... failed=... held_broken=...`), then each scenario's table. Its targets
// are the tier's assertions (zero failed connections but for a real's failure window, no long-lived connection broken
// but on a real that stopped): one `target` line per scenario, passed or not (bench/targets.ts: exit 1 when one is
// missed, `--no-targets` to print them without failing; a VM that cannot start is a failed run, exit 3).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { outputLines, runInVm, vmUnavailable } from '../test/kernel/vm/run-in-vm';
import { benchMain, type BenchSpec, type BenchTargets } from './targets';

const GUEST = path.resolve(__dirname, '../test/kernel/guest');

/** The command line of `npm run bench:traffic`. */
export const TRAFFIC_BENCH: BenchSpec = {
  command: 'npm run bench:traffic',
  summary:
    "client traffic through the VIP in the test VM across the director's lifecycle (the traffic-* files of the kernel tier)",
};

async function measureTraffic(targets: BenchTargets): Promise<void> {
  const why = vmUnavailable();
  if (why) throw new Error(`the VM cannot run here: ${why}`);
  const files = fs
    .readdirSync(GUEST)
    .filter((f) => /^traffic-.*\.test\.js$/.test(f))
    .sort();
  if (files.length === 0) throw new Error(`no traffic-*.test.js in ${GUEST}: build first (npm run build)`);
  for (const file of files) {
    const lines: string[] = [];
    const { onOutput } = outputLines((line) => {
      const text = line.trim();
      if (text.startsWith('traffic:')) console.log(text);
      if (text.startsWith('|')) lines.push(text);
    });
    const result = await runInVm(
      `node --test --test-concurrency=1 --test-reporter=spec dist/test/kernel/guest/${file}`,
      { onOutput },
    );
    console.log(`\n${file}: ${result.code === 0 ? 'passed' : `FAILED (exit ${result.code})`}\n${lines.join('\n')}\n`);
    if (result.code !== 0) console.log(result.output.split('\n').slice(-40).join('\n'));
    // One target per scenario: its assertions (0 failed assertions; the count of failed tests is not in the exit code).
    targets.atMost(
      `${file.replace(/\.test\.js$/, '')}: the tier's assertions`,
      result.code === 0 ? 0 : 1,
      0,
      'failed',
      0,
    );
  }
}

if (require.main === module) benchMain(TRAFFIC_BENCH, ({ targets }) => measureTraffic(targets));
