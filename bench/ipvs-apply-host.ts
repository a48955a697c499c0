// `npm run bench:ipvs`: boots the kernel-tier VM, runs bench/ipvs-apply.ts inside it, measures the CPU of a
// no-change resync plan on the host, and prints one summary line. Targets (bench/targets.ts): the no-change resync
// plan of 10,000 destinations within 100 ms of CPU (docs/design-notes.md: about 30 ms, 220 ms before its lookups),
// and netlink at least 1.5 times as fast as one `ipvsadm -R` batch applying the table in the VM (measured: 2.7).
import { runInVm, vmUnavailable } from '../test/kernel/vm/run-in-vm';
import { plan } from '../src/engine/plan';
import type { ObservedService } from '../src/ipvs/types';
import { benchTable } from './ipvs-table';
import { benchMain, type BenchSpec, type BenchTargets } from './targets';

const SERVICES = 100;
const DESTS = 100;

/** The table as a kernel dump returns it: destinations newest first, counters zero. */
function asObserved(): ObservedService[] {
  return benchTable(SERVICES, DESTS).map((d) => ({
    service: d.service,
    destinations: [...d.destinations]
      .reverse()
      .map((x) => ({ ...x, activeConns: 0, inactiveConns: 0, persistentConns: 0 })),
  }));
}

/** Median CPU milliseconds (user + system) of a no-change plan over 10,000 destinations. */
function resyncCpuMs(): number {
  const desired = benchTable(SERVICES, DESTS);
  const observed = asObserved();
  const runs: number[] = [];
  for (let i = 0; i < 7; i++) {
    const before = process.cpuUsage();
    const ops = plan(desired, observed, () => true);
    const used = process.cpuUsage(before);
    if (ops.length !== 0) throw new Error(`no-change plan gave ${ops.length} operations`);
    if (i >= 2) runs.push((used.user + used.system) / 1000);
  }
  runs.sort((a, b) => a - b);
  return runs[Math.floor(runs.length / 2)] as number;
}

/** Target: CPU of a no-change resync plan over the table. */
const RESYNC_TARGET_MS = 100;
/** Target: how many times faster than one `ipvsadm -R` netlink applies the table. */
const NETLINK_SPEEDUP_TARGET = 1.5;

/** The command line of `npm run bench:ipvs`. */
export const IPVS_BENCH: BenchSpec = {
  command: 'npm run bench:ipvs',
  summary:
    '100 services x 100 destinations applied in the test VM by netlink, one ipvsadm -R, one ipvsadm per destination; a no-change resync plan on the host',
};

async function measureIpvs(targets: BenchTargets): Promise<void> {
  const cpuMs = resyncCpuMs();
  console.log(
    `host: no-change resync plan over ${SERVICES * DESTS} destinations: ${cpuMs.toFixed(1)} ms CPU (median of 5)`,
  );
  targets.atMost('no-change resync plan, CPU', cpuMs, RESYNC_TARGET_MS, 'ms');
  const why = vmUnavailable();
  if (why) throw new Error(`the VM cannot run here: ${why}`);
  const result = await runInVm('node dist/bench/ipvs-apply.js', { onOutput: (c) => process.stdout.write(c) });
  const line = /^guest (.*)$/m.exec(result.output)?.[1];
  if (result.code !== 0 || !line) throw new Error(`the guest benchmark failed (exit ${result.code})`);
  const f = Object.fromEntries(line.split(' ').map((kv) => kv.split('='))) as Record<string, string>;
  const n = (k: string): number => Number(f[k]);
  console.log(
    `ratios: ipvsadm -R / netlink = ${(n('ipvsadm_R_s') / n('netlink_s')).toFixed(2)}x, per-process / netlink = ${(n('per_process_s') / n('netlink_s')).toFixed(0)}x`,
  );
  targets.atLeast(
    'netlink speed-up over one ipvsadm -R',
    n('ipvsadm_R_s') / n('netlink_s'),
    NETLINK_SPEEDUP_TARGET,
    'x',
    2,
  );
  console.log(
    `ipvs-apply dests=${f['dests']} netlink_s=${f['netlink_s']} ipvsadm_R_s=${f['ipvsadm_R_s']} per_process_s=${f['per_process_s']} readback_s=${f['readback_s']} resync_cpu_ms=${cpuMs.toFixed(1)}`,
  );
}

if (require.main === module) benchMain(IPVS_BENCH, ({ targets }) => measureIpvs(targets));
