// Check scheduler benchmark: 10,000 real-server addresses (127.0.1.1 .. 127.0.40.250) checked every second (connect,
// then http), all of them served by one Node HTTP server in a child process (bound to 0.0.0.0 on one port: every
// 127/8 address reaches it; the benchmark connects to 127.0.0.0/8 only); a victim with its own listener on
// 127.0.250.1 is closed during the window. Prints throughput, CPU per check, start lateness, RSS and dead-server
// detection over a measured window of BENCH_RUN_MS (after a 2 s warm-up that is not measured). Run with
// `npm run bench:checks` (raises the fd limit first). With ldir each type runs twice: the CPU figures come from a
// run whose quiet rounds are counted as the daemon's metrics take them, the lateness figures from a run that reads
// every round. Targets (bench/targets.ts; the default checker only, per type): every address checked once per
// interval (throughput at least 95 % of reals per second), at most 0.1 % failed checks of the servers that stayed
// up, the whole process within one core (CPU seconds per second), the victim down within one interval + 50 ms.
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../src/clock';
import { connectCheck, createConnectChecker } from '../src/checks/connect';
import { openTcpProber, type TcpProber } from '../src/checks/tcp-prober';
import { createHttpChecker } from '../src/checks/http';
import { checkIdentity, type CheckTarget } from '../src/checks/jobs';
import { realKey } from '../src/model/health';
import { CheckScheduler, type CheckRecord, type QuietRounds } from '../src/checks/scheduler';
import type { HealthTransition } from '../src/model/health';
import type { CheckJob, Checker } from '../src/checks/types';
import { startLoopbackServer } from './loopback-server';
import { benchMain, BenchUsageError, type BenchSpec, type BenchTargets } from './targets';

const REALS = Number(process.env['BENCH_REALS'] ?? 10_000);
/** The measured window of each run (after the warm-up). */
const RUN_MS = Number(process.env['BENCH_RUN_MS'] ?? 15_000);
const WARMUP_MS = 2_000;
const INTERVAL_MS = 1_000;
/** When the victim's server is closed, from the window's start: 5 s before its end (at least 1 s in). */
const KILL_AT_MS = Math.max(1_000, RUN_MS - 5_000);
const DETECT_SLACK_MS = 50;
/** Throughput target: this share of one check per real per interval. */
const MIN_RATE_SHARE = 0.95;
/** Failure target: at most this share of the checks of the servers that stayed up failed. */
const MAX_FAILED_SHARE = 0.001;
/** CPU target: the whole process (JS thread, probe engine, helpers) within one core. */
const MAX_CPU_S_PER_S = 1;
/**
 * `ldir` (default): the checks as the daemon runs them (steady state on the native engine's thread); `js`: every
 * round in JS through the native prober (ldir before the offload); `node`: the Node-socket/undici paths; `raw`:
 * {@link rawChecker}; `noop`: the scheduler alone.
 */
const CHECKER = process.env['BENCH_CHECKER'] ?? 'ldir';
const HARD_LIMIT_MS = 4 * (RUN_MS + WARMUP_MS) + 60_000;

type Kind = 'connect' | 'http';

/**
 * Minimal checkers (BENCH_CHECKER=raw) to tell the scheduler's own cost from the checkers': a bare TCP connect, and
 * one HTTP/1.0 GET over a raw socket (status line must be 2xx).
 */
function rawChecker(kind: Kind): Checker {
  return (job, signal) =>
    new Promise((resolve) => {
      const started = performance.now();
      const socket = net.connect(job.port, job.address);
      let data = '';
      const done = (up: boolean, reason: string): void => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve({ up, reason, durationMs: performance.now() - started });
      };
      const onAbort = (): void => done(false, 'timeout');
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
      socket.once('connect', () => {
        if (kind === 'connect') return done(true, 'connected');
        socket.write(`GET ${job.request} HTTP/1.0\r\nHost: ${job.address}\r\n\r\n`);
        return undefined;
      });
      socket.on('data', (chunk: Buffer) => {
        data += chunk.toString('latin1');
      });
      socket.once('end', () =>
        done(/^HTTP\/1\.[01] 2\d\d /.test(data) && data.includes(job.receive), data.slice(0, 12)),
      );
    });
}

/** The i-th real server address: 127.0.1.1 .. 127.0.40.250 for 10,000 reals. */
function address(i: number): string {
  return `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

function target(kind: Kind, addr: string, port: number): CheckTarget {
  const job: CheckJob = {
    type: kind === 'connect' ? 'connect' : 'negotiate',
    service: 'http',
    address: addr,
    family: 'inet',
    port,
    protocol: 'tcp',
    virtualHost: '127.255.0.1',
    virtualPort: 80,
    realPort: port,
    request: '/',
    receive: 'ok',
    httpMethod: 'GET',
    login: '',
    passwd: '',
    database: '',
    secret: '',
    command: '',
    pingCount: 1,
    checkTimeoutMs: 5_000,
    negotiateTimeoutMs: 5_000,
  };
  const counting = { connectsBetweenNegotiates: 0, failureCount: 1, riseCount: 1, intervalMs: INTERVAL_MS };
  return {
    identity: checkIdentity(job, counting),
    job,
    ...counting,
    members: [{ virtualId: 'tcp:127.255.0.1:80', realKey: realKey(addr, port) }],
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Figures {
  /** The window the figures are over (s): from the end of the warm-up to the last look. */
  windowS: number;
  perS: number;
  cpuSPerS: number;
  cpuUsPerCheck: number;
  /** Share of the CPU spent in the kernel (TCP on loopback is mostly kernel work). */
  sysShare: number;
  p50: number;
  p99: number;
  rssMb: number;
  failures: number;
  /** Failed checks of the servers that stayed up (the victim's are expected). */
  liveFailures: number;
  detectMs: number;
  afterCheckStartMs: number;
}

function pickChecker(kind: Kind, prober: TcpProber | undefined): Checker {
  if (CHECKER === 'noop') return async () => ({ up: true, reason: 'noop', durationMs: 0 });
  if (CHECKER === 'raw') return rawChecker(kind);
  if (CHECKER === 'node') return kind === 'connect' ? connectCheck : createHttpChecker();
  if (!prober) throw new Error('native addon not built: run npm run build:native (or BENCH_CHECKER=node)');
  // `ldir` runs through the offload; its JS checker only runs rounds the engine gives back (redirects: none here).
  return kind === 'connect' ? createConnectChecker(prober) : createHttpChecker({ prober });
}

/**
 * How the engine's quiet rounds reach the bench (ldir mode): `rounds`, one record each (the start lateness of every
 * round, at the cost of a JS object per round), or `counts`, counted as the daemon's metrics take them (the CPU a
 * daemon spends; no lateness).
 */
type QuietMode = 'rounds' | 'counts';

async function runType(
  kind: Kind,
  port: number,
  prober: TcpProber | undefined,
  quiet: QuietMode = 'rounds',
): Promise<Figures> {
  const checker = pickChecker(kind, prober);
  // The victim: its own listener on 127.0.250.1, closed mid-run (then: connection refused).
  const victim = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => victim.listen(0, '127.0.250.1', r));
  const victimTarget = target(kind, '127.0.250.1', (victim.address() as AddressInfo).port);
  const targets = [...Array.from({ length: REALS }, (_, i) => target(kind, address(i), port)), victimTarget];

  let measuring = false;
  const late: number[] = [];
  let checks = 0;
  let failures = 0;
  let liveFailures = 0;
  const reasons = new Map<string, number>();
  let victimDown: { at: number } | undefined;
  let victimFailStart: number | undefined;
  let windowStart = Number.POSITIVE_INFINITY;
  const onCheck = (r: CheckRecord): void => {
    if (r.identity === victimTarget.identity && !r.result.up && victimFailStart === undefined)
      victimFailStart = r.startedAt;
    // Offloaded quiet rounds arrive in batches: a round counts by when it started, not when JS heard of it.
    if (!measuring || r.startedAt < windowStart) return;
    checks++;
    if (!r.result.up) {
      failures++;
      if (r.identity !== victimTarget.identity) liveFailures++;
      if (process.env['BENCH_DEBUG']) reasons.set(r.result.reason, (reasons.get(r.result.reason) ?? 0) + 1);
    }
    late.push(r.startedAt - r.scheduledAt);
  };
  const onTransition = (t: HealthTransition): void => {
    if (t.identity === victimTarget.identity && t.to === 'down') victimDown = { at: performance.now() };
  };
  const clock = systemClock();
  const offload = CHECKER === 'ldir' ? prober?.roundOffload?.(clock) : undefined;
  if (CHECKER === 'ldir' && !offload)
    throw new Error('the native addon predates scheduled rounds: run npm run build:native');
  const onQuietRounds = (q: QuietRounds): void => {
    if (!measuring) return;
    checks += q.passed + q.failed;
    failures += q.failed;
    if (q.identity !== victimTarget.identity) liveFailures += q.failed;
  };
  const scheduler = new CheckScheduler({
    clock,
    run: (job, _k, signal) => checker(job, signal),
    onCheck,
    onTransition,
    ...(offload ? { offload } : {}),
    ...(quiet === 'counts' ? { onQuietRounds } : {}),
  });
  scheduler.sync(targets);

  await sleep(WARMUP_MS);
  scheduler.flushQuiet();
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  windowStart = t0;
  let rss = 0;
  let killedAt = 0;
  // Looks every 250 ms until RUN_MS have passed since the window's start (bounded in count too).
  for (let i = 0; i < (RUN_MS / 250) * 4 + 10; i++) {
    const elapsed = performance.now() - t0;
    if (elapsed >= RUN_MS) break;
    await sleep(Math.min(250, RUN_MS - elapsed));
    rss = Math.max(rss, process.memoryUsage().rss);
    if (process.env['BENCH_DEBUG'])
      console.error(`t=${Math.round(performance.now() - t0)} checks=${checks} rss=${Math.round(rss / 2 ** 20)}`);
    if (!killedAt && performance.now() - t0 >= KILL_AT_MS) {
      killedAt = performance.now();
      victim.close();
      victim.closeAllConnections();
    }
  }
  scheduler.flushQuiet(); // the window's quiet rounds reach onCheck (their cost is in the window)
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  measuring = false;
  scheduler.stop();
  if (process.env['BENCH_DEBUG']) console.error(`failure reasons: ${JSON.stringify([...reasons])}`);
  victim.close();
  const sorted = Float64Array.from(late).sort();
  return {
    windowS: seconds,
    perS: checks / seconds,
    cpuSPerS: (cpu.user + cpu.system) / 1e6 / seconds,
    cpuUsPerCheck: (cpu.user + cpu.system) / Math.max(1, checks),
    sysShare: cpu.system / Math.max(1, cpu.user + cpu.system),
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    rssMb: rss / 2 ** 20,
    failures,
    liveFailures,
    detectMs: victimDown ? victimDown.at - killedAt : NaN,
    afterCheckStartMs: victimDown && victimFailStart !== undefined ? victimDown.at - victimFailStart : NaN,
  };
}

/** The command line of `npm run bench:checks`. */
export const CHECKS_BENCH: BenchSpec = {
  command: 'npm run bench:checks',
  summary:
    '10,000 real-server addresses on 127.0.0.0/8 (one Node HTTP server process answers for all) checked every second, connect then http',
  env: {
    BENCH_REALS: 'real-server addresses (10000)',
    BENCH_RUN_MS: 'measured window of each run, after a 2 s warm-up (15000; at least 3000)',
    BENCH_TYPES: 'check types (connect,http)',
    BENCH_CHECKER: "ldir (default: the daemon's path; the only one with targets) | js | node | raw | noop",
    BENCH_DEBUG: '1: progress and failure reasons on stderr',
  },
};

/** The types to run, from BENCH_TYPES; throws {@link BenchUsageError} on a bad setting. */
function settings(): Kind[] {
  if (!(Number.isInteger(REALS) && REALS >= 1 && REALS <= 62_250))
    throw new BenchUsageError(`BENCH_REALS: 1..62250, not ${process.env['BENCH_REALS']}`);
  if (!(RUN_MS >= 3_000))
    throw new BenchUsageError(
      `BENCH_RUN_MS: at least 3000 (the victim is closed 1 s into the window and must be seen down), not ${process.env['BENCH_RUN_MS']}`,
    );
  if (!['ldir', 'js', 'node', 'raw', 'noop'].includes(CHECKER))
    throw new BenchUsageError(`BENCH_CHECKER: ldir, js, node, raw or noop, not ${CHECKER}`);
  const kinds = (process.env['BENCH_TYPES'] ?? 'connect,http').split(',');
  const bad = kinds.filter((k) => k !== 'connect' && k !== 'http');
  if (bad.length > 0 || kinds.length === 0)
    throw new BenchUsageError(`BENCH_TYPES: connect and/or http, not ${process.env['BENCH_TYPES']}`);
  return kinds as Kind[];
}

async function measureChecks(targets: BenchTargets): Promise<void> {
  const kinds = settings();
  const hardStop = setTimeout(() => {
    console.error('bench: hard time limit reached');
    process.exit(3);
  }, HARD_LIMIT_MS * kinds.length);
  hardStop.unref();
  const { child, port } = await startLoopbackServer();
  const lines: string[] = [];
  const prober = CHECKER === 'ldir' || CHECKER === 'js' ? openTcpProber() : undefined;
  if (CHECKER !== 'ldir')
    console.log(`BENCH_CHECKER=${CHECKER}: figures only, no targets (they are the daemon's: BENCH_CHECKER=ldir)`);
  try {
    for (const kind of kinds) {
      const r = (x: number, d = 1): string => x.toFixed(d);
      // ldir: the CPU figures as a daemon spends them (quiet rounds counted), then a run that reads every round for the
      // lateness figures (and costs JS per round: printed apart).
      const counted = CHECKER === 'ldir' ? await runType(kind, port, prober, 'counts') : undefined;
      if (counted) await sleep(1000);
      const rounds = await runType(kind, port, prober, 'rounds');
      if (counted) {
        console.log(
          `${kind}: reading every round in JS (for the lateness figures) costs ${r(rounds.cpuUsPerCheck)} us/check, sys_share ${r(rounds.sysShare, 2)}`,
        );
      }
      const f: Figures = counted
        ? { ...counted, p50: rounds.p50, p99: rounds.p99, rssMb: Math.max(counted.rssMb, rounds.rssMb) }
        : rounds;
      console.log(
        `${kind}: ${r(f.perS, 0)} checks/s over ${r(f.windowS)} s (${REALS + 1} addresses), ${f.failures} failed (${f.liveFailures} of servers that stayed up), ` +
          `cpu ${r(f.cpuSPerS, 2)} s/s = ${r(f.cpuUsPerCheck)} us/check, start lateness p50 ${r(f.p50, 2)} ms p99 ${r(f.p99, 2)} ms, rss ${r(f.rssMb, 0)} MB`,
      );
      if (CHECKER !== 'noop')
        console.log(
          `${kind}: dead server (refused) down ${r(f.detectMs)} ms after it died, ${r(f.afterCheckStartMs)} ms after its failing check started`,
        );
      if (CHECKER === 'ldir') {
        targets.atLeast(
          `${kind} checks per second`,
          f.perS,
          MIN_RATE_SHARE * (REALS + 1) * (1000 / INTERVAL_MS),
          'checks/s',
          0,
        );
        targets.atMost(
          `${kind} failed checks of live servers`,
          (100 * f.liveFailures) / Math.max(1, f.perS * f.windowS),
          100 * MAX_FAILED_SHARE,
          '%',
          3,
        );
        targets.atMost(`${kind} CPU (one core)`, f.cpuSPerS, MAX_CPU_S_PER_S, 's/s', 2);
        targets.atMost(`${kind} dead server down after`, f.detectMs, INTERVAL_MS + DETECT_SLACK_MS, 'ms');
      }
      lines.push(
        `checks type=${kind}${CHECKER === 'ldir' ? '' : ` checker=${CHECKER}`} reals=${REALS} window_s=${r(f.windowS)} per_s=${r(f.perS, 0)} cpu_s_per_s=${r(f.cpuSPerS, 3)} cpu_us_per_check=${r(f.cpuUsPerCheck)} sys_share=${r(f.sysShare, 2)} ` +
          `p50_late_ms=${r(f.p50, 2)} p99_late_ms=${r(f.p99, 2)} rss_mb=${r(f.rssMb, 0)} failed=${f.failures} failed_live=${f.liveFailures} detect_ms=${r(f.detectMs)}`,
      );
      await sleep(1000);
    }
  } finally {
    prober?.close();
    child.disconnect();
    child.kill();
  }
  for (const line of lines) console.log(line);
}

if (require.main === module) benchMain(CHECKS_BENCH, ({ targets }) => measureChecks(targets));
