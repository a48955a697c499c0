// `npm run bench:table-pass`: the JavaScript CPU of the engine's periodic table pass (the resync that repairs drift
// every 10 s) and of the netlink backend's decoding of the kernel dump it lists, per real server, on this host.
//
//   table-pass reals=N resync_cpu_ms=… resync_median_ms=… resync_per_real_us=… list_cpu_ms=… list_per_real_us=…
//
// The table: one virtual service (LVS-NAT, wrr) of N reals, every real up at weight 1, already in the kernel table
// (memory backend; the first passes write it), so a measured pass has nothing to write: what it costs is listing, indexing, deciding and planning. The
// engine runs on a fake clock and each pass is started by advancing it one resync interval. The listing is decoded
// from a scripted netlink dump as the kernel sends it (bench/netlink-dump.ts: every attribute, traffic counters
// included). Figures are CPU time (user + system) of this process, the least of 7 batches of passes (the median
// too), so that a busy shared machine does not decide them.
//
// Why it matters (issue 13): in bench:peers' emulated VM at 300 reals the resync was most of what ldir's JS thread
// did, and most of a pass was object spreads that made dictionary-mode objects per destination (indexObserved,
// realDestination). Measured on this 2-core machine under load, 2026-12-07, before → after: a pass at 300 reals
// 5.1 → 2.7-3.0 ms, at 1,000 14.9 → 8.2-10.0 ms, at 10,000 92 → 38-59 ms; decoding a listing 2.8-4.4 µs per real
// (unchanged).
//
// Targets at 1,000 reals (bench/targets.ts): a resync pass at most 12 µs of CPU per real, a listing at most 5 µs.
import { Engine } from '../src/engine/engine';
import { MemoryBackend } from '../src/ipvs/memory';
import { pairKey } from '../src/model/health';
import { FakeClock } from '../test/helpers/fake-clock';
import { load } from '../test/helpers/config';
import { scriptedDumpBackend } from './netlink-dump';
import { benchMain, BenchUsageError, type BenchSpec, type BenchTargets } from './targets';

const SPEC: BenchSpec = {
  command: 'npm run bench:table-pass',
  summary: "CPU of the engine's periodic table pass and of decoding the kernel dump, per real server",
  env: { BENCH_TABLE_REALS: 'comma-separated real server counts (default 300,1000,10000)' },
};

const RESYNC_MS = 10_000;
const BATCHES = 7;
const TARGET_REALS = 1000;

/** The real server counts (BENCH_TABLE_REALS). */
export function readReals(env: NodeJS.ProcessEnv): number[] {
  const text = env['BENCH_TABLE_REALS'] ?? '300,1000,10000';
  const ns = text.split(',').map((s) => Number(s.trim()));
  if (ns.some((n) => !Number.isInteger(n) || n < 1 || n > 200_000))
    throw new BenchUsageError(`BENCH_TABLE_REALS: not a list of counts 1..200000: ${text}`);
  return ns;
}

/** The i-th real server's address (10.201.0.0/16). */
export function realAddress(i: number): string {
  return `10.201.${Math.floor(i / 250) % 256}.${1 + (i % 250)}`;
}

/** CPU ms of `run` (user + system), least and median over {@link BATCHES} batches, divided by `per`. */
async function cpuPer(per: number, run: () => Promise<void>): Promise<{ min: number; median: number }> {
  const each: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const c0 = process.cpuUsage();
    await run();
    const c = process.cpuUsage(c0);
    each.push((c.user + c.system) / 1000 / per);
  }
  each.sort((a, b) => a - b);
  return { min: each[0] as number, median: each[Math.floor(BATCHES / 2)] as number };
}

async function measure(n: number, targets: BenchTargets): Promise<void> {
  const reals = Array.from({ length: n }, (_, i) => `\treal=${realAddress(i)}:80 masq 1`).join('\n');
  const loaded = await load(
    `quiescent=yes\nvirtual=10.202.0.1:80\n${reals}\n\tchecktype=connect\n\tscheduler=wrr\n\tprotocol=tcp\n`,
  );
  const config = loaded.config;
  if (!config) throw new Error(`bench configuration refused: ${JSON.stringify(loaded.diagnostics[0])}`);
  const clock = new FakeClock();
  const engine = new Engine({
    backend: new MemoryBackend([]),
    clock,
    resyncIntervalMs: RESYNC_MS,
    coalesceMs: 20,
  });
  await engine.applyConfig(config);
  const v = config.virtualServices[0];
  if (!v) throw new Error('no virtual service');
  for (const r of v.reals) {
    const real = `${r.address}:${r.port}`;
    engine.onTransition({
      virtualId: v.id,
      realKey: real,
      identity: pairKey(v.id, real),
      from: 'unknown',
      to: 'up',
      reason: 'ok',
      at: clock.now(),
      checkStartedAt: clock.now(),
      durationMs: 1,
      consecutiveFailures: 0,
    });
  }
  await clock.advance(RESYNC_MS);
  const passes = Math.max(3, Math.ceil(30_000 / n));
  const resync = await cpuPer(passes, async () => {
    for (let i = 0; i < passes; i++) await clock.advance(RESYNC_MS);
  });
  await engine.shutdown({ clean: false });
  const backend = await scriptedDumpBackend(Array.from({ length: n }, (_, i) => realAddress(i)));
  const lists = Math.max(3, Math.ceil(30_000 / n));
  const list = await cpuPer(lists, async () => {
    for (let i = 0; i < lists; i++) await backend.list({ stats: false });
  });
  const us = (ms: number): string => ((ms * 1000) / n).toFixed(2);
  console.log(
    `table-pass reals=${n} resync_cpu_ms=${resync.min.toFixed(3)} resync_median_ms=${resync.median.toFixed(3)} ` +
      `resync_per_real_us=${us(resync.min)} list_cpu_ms=${list.min.toFixed(3)} list_per_real_us=${us(list.min)}`,
  );
  if (n === TARGET_REALS) {
    targets.atMost(`resync pass CPU per real at ${n} reals`, (resync.min * 1000) / n, 12, 'µs', 2);
    targets.atMost(`kernel dump decoding CPU per real at ${n} reals`, (list.min * 1000) / n, 5, 'µs', 2);
  }
}

if (require.main === module)
  benchMain(SPEC, async ({ targets }) => {
    for (const n of readReals(process.env)) await measure(n, targets);
  });
