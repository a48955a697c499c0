// Benchmark, inside the kernel-tier VM: 100 services x 100 destinations applied from empty by netlink, by one
// `ipvsadm -R`, and by one ipvsadm process per destination (ldirectord's way; the first 500 timed and
// extrapolated), plus a full read-back. Prints one `guest ...` line for bench/ipvs-apply-host.ts, which judges the
// figures against their targets (this part has none of its own; bench/targets.ts's rule for its command line).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { plan } from '../src/engine/plan';
import { IpvsadmBackend } from '../src/ipvs/ipvsadm/backend';
import { formatOpArgs } from '../src/ipvs/ipvsadm/format';
import { NetlinkBackend } from '../src/ipvs/netlink/backend';
import { NetlinkSocket } from '../src/ipvs/netlink/socket';
import type { DesiredService, IpvsOp } from '../src/ipvs/types';
import { benchTable } from './ipvs-table';
import { benchMain, BenchUsageError } from './targets';

const SERVICES = Number(process.env['BENCH_SERVICES'] ?? 100);
const DESTS = Number(process.env['BENCH_DESTS'] ?? 100);
const PER_PROCESS_SAMPLE = Number(process.env['BENCH_PER_PROCESS'] ?? 500);

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function flush(): void {
  execFileSync('ipvsadm', ['-C']);
}

async function main(): Promise<void> {
  for (const [name, value] of [
    ['BENCH_SERVICES', SERVICES],
    ['BENCH_DESTS', DESTS],
    ['BENCH_PER_PROCESS', PER_PROCESS_SAMPLE],
  ] as const) {
    if (!(Number.isInteger(value) && value >= 1))
      throw new BenchUsageError(`${name}: a positive integer, not ${process.env[name]}`);
  }
  if (!existsSync('/proc/net/ip_vs')) throw new Error('no IPVS here: run it with `npm run bench:ipvs` (boots the VM)');
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const desired: DesiredService[] = benchTable(SERVICES, DESTS);
  const ops = plan(desired, [], () => true);
  const dests = SERVICES * DESTS;
  const netlink = await NetlinkBackend.open(NetlinkSocket.open());
  const cli = new IpvsadmBackend();

  flush();
  let t = process.hrtime.bigint();
  const nl = await netlink.apply(ops);
  const netlinkS = seconds(t);
  if (nl.some((r) => r.status === 'failed')) throw new Error('netlink apply failed');

  t = process.hrtime.bigint();
  const table = await netlink.list();
  const readbackS = seconds(t);
  if (table.reduce((n, s) => n + s.destinations.length, 0) !== dests) throw new Error('read-back is incomplete');
  t = process.hrtime.bigint();
  const again = plan(desired, table, () => true);
  const resyncInVmMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (again.length !== 0) throw new Error(`no-change resync planned ${again.length} operations`);

  flush();
  t = process.hrtime.bigint();
  const rr = await cli.apply(ops);
  const restoreS = seconds(t);
  if (rr.some((r) => r.status === 'failed')) throw new Error('ipvsadm -R apply failed');

  flush();
  const services = ops.filter((o) => o.op === 'add-service');
  const destOps = ops.filter((o): o is Extract<IpvsOp, { op: 'add-destination' }> => o.op === 'add-destination');
  for (const s of services) execFileSync('ipvsadm', formatOpArgs(s));
  const sample = destOps.slice(0, Math.min(PER_PROCESS_SAMPLE, destOps.length));
  t = process.hrtime.bigint();
  for (const op of sample) execFileSync('ipvsadm', formatOpArgs(op));
  const perProcessS = (seconds(t) / sample.length) * dests;
  flush();
  await netlink.close();
  console.log(
    `guest dests=${dests} netlink_s=${netlinkS.toFixed(2)} ipvsadm_R_s=${restoreS.toFixed(2)} per_process_s=${perProcessS.toFixed(1)} readback_s=${readbackS.toFixed(2)} resync_plan_in_vm_ms=${resyncInVmMs.toFixed(0)}`,
  );
}

if (require.main === module) {
  benchMain(
    {
      command: 'node dist/bench/ipvs-apply.js (inside the VM: npm run bench:ipvs runs it)',
      summary:
        'applies 100 services x 100 destinations from empty by netlink, one ipvsadm -R, and one ipvsadm per destination',
      env: {
        BENCH_SERVICES: 'services (100)',
        BENCH_DESTS: 'destinations per service (100)',
        BENCH_PER_PROCESS: 'destinations timed one ipvsadm each, then extrapolated (500)',
      },
    },
    main,
  );
}
