// Guest side of `npm run bench:peers` (bench/peers.ts boots the VM and runs this as root inside it; the method and
// the figures' meaning are in bench/peers.ts's header). Prints one `peers n=...` line per N, `peers-detail ...` lines
// (one per peer: checks done, user/system split, CPU by thread), `ldirectord` at its own N, and progress lines
// starting with `# `. Exit 1 with what was seen when a step fails.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { peekTable, readSysctl, weightsOf, writeSysctl } from '../test/helpers/ldir-director';
import { makeLabCertificate } from '../test/helpers/netns-lab';
import { eventually, sleep } from '../test/helpers/wait';
import { summarizeProfile, type CpuProfile } from './cpu-profile';
import { samplePerf } from './perf-sample';
import { peerReport, startPeer, type PeerName, type RunningPeer } from './peers-directors';
import { run, RealsLab, STATUS_READ_REQUESTS, VIP, type Proto } from './peers-lab';
import { CLOCK_TICKS_PER_S, kernelWeight, procHex, sampleTree, type TreeSample } from './peers-proc';

/** The run's settings, from the environment (bench/peers.ts forwards every BENCH_* variable). */
export interface PeersSettings {
  /** Real server counts for keepalived and ldir (BENCH_PEERS_N, default 300,1000). */
  readonly ns: readonly number[];
  /** Length of the steady-state window (BENCH_PEERS_WINDOW_S, default 20). */
  readonly windowS: number;
  /** Real server count for ldirectord (BENCH_PEERS_LDIRECTORD_N, default 50; 0 skips it). */
  readonly ldirectordN: number;
  /** Also measure https (BENCH_PEERS_HTTPS=1). */
  readonly https: boolean;
  /**
   * Real server counts of the https variant (BENCH_PEERS_HTTPS_N, default 20). Under emulation a TLS handshake costs
   * each side tens of milliseconds of CPU: at 300 reals keepalived managed 68 checks a second and ldir brought no
   * real up within 4 minutes (its first round's handshakes all passed the 3 s timeout, again and again).
   */
  readonly httpsNs: readonly number[];
  /** The ldir to measure (BENCH_LDIR_MAIN, default this checkout's dist/src/main.js). */
  readonly ldirMain: string;
  /**
   * Run ldir under `node --cpu-prof` and print where its JS thread spent the steady-state window (BENCH_PEERS_PROFILE=1).
   * The sampling costs CPU of its own: a profiled run's figures are for the where, not the ratio.
   */
  readonly profile: boolean;
  /**
   * After each peer's window, sample the VM for 10 s more with `perf record -a` (cpu-clock) and print `peers-perf`
   * lines: the threads (the peer's, nginx's) and kernel and user functions the time went to (BENCH_PEERS_PERF=1).
   * Outside the window: perf's own cost stays out of the figures.
   */
  readonly perf: boolean;
  /**
   * keepalived then ldir, this many times in turn on the same lab (BENCH_PEERS_ROUNDS, default 1): the host's load
   * moves both peers' figures by a third from one run to the next, the ratio of two neighbouring runs much less; with
   * several rounds a `peers-summary` line gives the median of the rounds' ratios.
   */
  readonly rounds: number;
}

const CHECK_INTERVAL_S = 1;
const CHECK_TIMEOUT_S = 3;
/** Wait after the last real came up before measuring: the start-up work (first rounds, table writes) is over. */
const SETTLE_MS = 3_000;
/** Poll period of /proc/net/ip_vs while the victim's failure is being detected. */
const DETECT_POLL_MS = 10;
const DETECT_LIMIT_MS = 30_000;
/** Neighbour table thresholds while the lab runs: 1,000 reals on one link are 1,000 ARP entries (default gc_thresh3 1,024). */
const NEIGH_THRESHOLDS: ReadonlyArray<[string, string]> = [
  ['net.ipv4.neigh.default.gc_thresh1', '4096'],
  ['net.ipv4.neigh.default.gc_thresh2', '8192'],
  ['net.ipv4.neigh.default.gc_thresh3', '16384'],
];

/** Reads {@link PeersSettings} from `env`; throws on a malformed value. */
export function readSettings(env: NodeJS.ProcessEnv): PeersSettings {
  const counts = (name: string, fallback: string): number[] => {
    const ns = (env[name] ?? fallback).split(',').map((x) => Number(x.trim()));
    if (!ns.every((n) => Number.isInteger(n) && n >= 2 && n <= 20_000))
      throw new Error(`${name}: integers 2..20000 separated by commas, not ${env[name]}`);
    return ns;
  };
  const windowS = Number(env['BENCH_PEERS_WINDOW_S'] ?? 20);
  if (!(windowS >= 1 && windowS <= 600))
    throw new Error(`BENCH_PEERS_WINDOW_S: 1..600, not ${env['BENCH_PEERS_WINDOW_S']}`);
  const ldirectordN = Number(env['BENCH_PEERS_LDIRECTORD_N'] ?? 50);
  if (!Number.isInteger(ldirectordN) || (ldirectordN !== 0 && ldirectordN < 2))
    throw new Error(`BENCH_PEERS_LDIRECTORD_N: 0 or an integer >= 2, not ${env['BENCH_PEERS_LDIRECTORD_N']}`);
  const rounds = Number(env['BENCH_PEERS_ROUNDS'] ?? 1);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 9)
    throw new Error(`BENCH_PEERS_ROUNDS: 1..9, not ${env['BENCH_PEERS_ROUNDS']}`);
  return {
    ns: counts('BENCH_PEERS_N', '300,1000'),
    windowS,
    ldirectordN,
    https: env['BENCH_PEERS_HTTPS'] === '1',
    httpsNs: counts('BENCH_PEERS_HTTPS_N', '20'),
    ldirMain: env['BENCH_LDIR_MAIN'] ?? path.resolve(__dirname, '../src/main.js'),
    profile: env['BENCH_PEERS_PROFILE'] === '1',
    perf: env['BENCH_PEERS_PERF'] === '1',
    rounds,
  };
}

/** What one peer measured at one N. */
export interface PeerFigures {
  readonly name: PeerName;
  /** Launch → every real in the table at weight 1 (s). */
  readonly upS: number;
  /** Checks the reals answered during the window. */
  readonly checks: number;
  readonly windowS: number;
  readonly cpuS: number;
  readonly userS: number;
  readonly sysS: number;
  /** Processes in the peer's tree at the end of the window. */
  readonly procs: number;
  readonly rssMb: number;
  /** Of which anonymous memory (heaps, stacks); the rest is mostly the binary's mapped pages. */
  readonly rssAnonMb: number;
  /** CPU seconds by thread during the window, largest first (labels: `main`, `node+12`, `keepalived-child`). */
  readonly threads: ReadonlyMap<string, number>;
  /** Of which system time, by the same labels. */
  readonly threadsSys: ReadonlyMap<string, number>;
  /** Bytes the peer logged during the window. */
  readonly logBytes: number;
  /** What the peer logged during the window, by kind: health changes, kernel writes (ldir's JSON log; keepalived's text). */
  readonly logged: Logged;
  /**
   * TCP sockets in TIME_WAIT in the director's namespace at the end of the window (/proc/net/sockstat): the side that
   * closes a connection first keeps it in TIME_WAIT, and every connect() then searches past them for a free port.
   */
  readonly timeWait: number;
  /** Context switches of the peer's threads during the window: how often they slept and woke. */
  readonly switches: number;
  /** Victim killed → its weight 0 in the kernel (ms). */
  readonly detectMs: number;
  /** What ldir's log says of the detection (ldir only, when its log has it). */
  readonly detectTrace?: DetectTrace;
}

const progress = (text: string): void => console.log(`# ${text}`);

/** Runs one cleanup step; a failure is printed and does not stop the steps after it. */
function attempt(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    console.error(`cleanup (${what}): ${(err as Error).message}`);
  }
}

/** `TCP VIP:PORT: 1000 destinations, 998 at weight 1, 2 at weight 0` (or absent): for error messages. */
function tableSummary(service: string): string {
  const w = weightsOf(peekTable(), service);
  if (!w) return `${service}: absent from /proc/net/ip_vs`;
  const byWeight = new Map<number, number>();
  for (const x of w.values()) byWeight.set(x, (byWeight.get(x) ?? 0) + 1);
  return `${service}: ${w.size} destinations, ${[...byWeight].map(([k, v]) => `${v} at weight ${k}`).join(', ') || 'none'}`;
}

/** Throws when the peer died (with its log tail). */
function assertRunning(peer: RunningPeer): void {
  const state = peer.exited();
  if (state) throw new Error(`${peer.name} ended (${state})\n${peerReport(peer)}`);
}

/** Resolves with the monotonic ms at which every real of `lab` was at weight 1 in the table. */
async function waitAllUp(peer: RunningPeer, lab: RealsLab, service: string, limitMs: number): Promise<number> {
  const want = new Set(lab.reals.map((a) => `${a}:${lab.port}`));
  return eventually(
    `all ${lab.n} reals at weight 1 (${peer.name})`,
    () => {
      assertRunning(peer);
      const w = weightsOf(peekTable(), service);
      let up = 0;
      for (const [dest, weight] of w ?? []) if (weight === 1 && want.has(dest)) up++;
      return up === want.size ? performance.now() : undefined;
    },
    limitMs,
    100,
    () => `${tableSummary(service)}\n${peerReport(peer)}`,
  );
}

/** CPU and checks over the steady-state window. */
async function measureWindow(
  peer: RunningPeer,
  lab: RealsLab,
  windowS: number,
): Promise<Omit<PeerFigures, 'name' | 'upS' | 'detectMs'>> {
  // Requests are read before each CPU sample so that both windows have the same length (each reading starts curl).
  const r0 = lab.requestsServed();
  const s0 = sampleTree(peer.pid);
  const log0 = fs.statSync(peer.logFile).size;
  await sleep(windowS * 1000);
  const r1 = lab.requestsServed();
  const s1 = sampleTree(peer.pid);
  assertRunning(peer);
  const seconds = (s1.atMs - s0.atMs) / 1000;
  return {
    checks: r1 - r0 - STATUS_READ_REQUESTS,
    windowS: seconds,
    userS: (s1.userTicks - s0.userTicks) / CLOCK_TICKS_PER_S,
    sysS: (s1.sysTicks - s0.sysTicks) / CLOCK_TICKS_PER_S,
    cpuS: (s1.userTicks + s1.sysTicks - s0.userTicks - s0.sysTicks) / CLOCK_TICKS_PER_S,
    procs: s1.pids.length,
    rssMb: s1.rssKb / 1024,
    rssAnonMb: s1.rssAnonKb / 1024,
    threads: threadDelta(s0.threads, s1.threads),
    threadsSys: threadDelta(s0.threadsSys, s1.threadsSys),
    logBytes: fs.statSync(peer.logFile).size - log0,
    logged: loggedDuring(peer.logFile, log0),
    timeWait: timeWaitSockets(),
    switches: s1.switches - s0.switches,
  };
}

/**
 * Health changes and kernel writes a peer logged from byte `from` of its log on: ldir's `health transition` and
 * `sync done` lines (the latter only when it wrote something), keepalived's `Adding/Removing`/`Setting weight` lines.
 */
export function loggedDuring(file: string, from: number): Logged {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, Math.min(size - from, 64 * 1024 * 1024)));
    fs.readSync(fd, buf, 0, buf.length, from);
    return countLogged(buf.toString('utf8'));
  } finally {
    fs.closeSync(fd);
  }
}

/** What a peer logged during a window (see {@link loggedDuring}). */
export interface Logged {
  readonly transitions: number;
  readonly writes: number;
  /** ldir's reasons of the changes to down, by count. */
  readonly downReasons: ReadonlyMap<string, number>;
}

/** {@link loggedDuring} of a log text. */
export function countLogged(text: string): Logged {
  let transitions = 0;
  let writes = 0;
  const downReasons = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (
      line.includes('"msg":"health transition"') ||
      /HTTP status code|Check on service .* (failed|succeed)/.test(line)
    ) {
      transitions++;
      const down = /"to":"down","reason":"([^"]*)"/.exec(line);
      if (down) downReasons.set(down[1] as string, (downReasons.get(down[1] as string) ?? 0) + 1);
    } else if (
      line.includes('"msg":"sync done"') ||
      /(Adding|Removing) service|(Disabling|Enabling|Setting weight)/.test(line)
    ) {
      writes++;
    }
  }
  return { transitions, writes, downReasons };
}

/** TCP sockets in TIME_WAIT in this network namespace (the `tw` field of /proc/net/sockstat; -1 when unreadable). */
function timeWaitSockets(): number {
  const m = /^TCP:.*\btw (\d+)/m.exec(fs.readFileSync('/proc/net/sockstat', 'utf8'));
  return m ? Number(m[1]) : -1;
}

/** CPU seconds by thread between two samples, largest first, zeros left out. */
function threadDelta(a: TreeSample['threads'], b: TreeSample['threads']): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, ticks] of b) {
    const d = (ticks - (a.get(name) ?? 0)) / CLOCK_TICKS_PER_S;
    if (d > 0) out.set(name, d);
  }
  return new Map([...out].sort(([, x], [, y]) => y - x));
}

/** Kills the victim's server; resolves with the ms until its weight was 0 in the kernel, and the kill's epoch ms. */
async function detectVictim(
  peer: RunningPeer,
  lab: RealsLab,
  service: string,
): Promise<{ ms: number; killedAt: number }> {
  const hex = procHex(lab.victim, lab.port);
  if (kernelWeight(hex) !== 1)
    throw new Error(`the victim ${lab.victim} is not at weight 1 before the kill: ${tableSummary(service)}`);
  const t0 = performance.now();
  const killedAt = Date.now();
  await lab.killVictim();
  let last: number | undefined = 1;
  for (let i = 0; i < (DETECT_LIMIT_MS / DETECT_POLL_MS) * 2 && performance.now() - t0 < DETECT_LIMIT_MS; i++) {
    last = kernelWeight(hex);
    if (last === 0) return { ms: performance.now() - t0, killedAt };
    if (last === undefined)
      throw new Error(`${peer.name} removed the victim instead of setting its weight to 0\n${peerReport(peer)}`);
    await sleep(DETECT_POLL_MS);
  }
  throw new Error(
    `the victim ${lab.victim} was still at weight ${last} ${DETECT_LIMIT_MS} ms after its server was killed (${peer.name})\n` +
      `${tableSummary(service)}\n${peerReport(peer)}`,
  );
}

/** Starts `name` on the lab, measures it (start-up, steady state, detection) and stops it. */
async function measurePeer(name: PeerName, lab: RealsLab, settings: PeersSettings, dir: string): Promise<PeerFigures> {
  const service = `TCP ${VIP}:${lab.port}`;
  run('ipvsadm', ['-C']);
  const placeDir = fs.mkdtempSync(path.join(dir, `${name}-`));
  const profileDir = settings.profile && name === 'ldir' ? path.join(placeDir, 'cpu-profile') : undefined;
  const t0 = performance.now();
  const peer = startPeer(
    name,
    {
      proto: lab.proto,
      vip: VIP,
      port: lab.port,
      reals: lab.reals,
      intervalS: CHECK_INTERVAL_S,
      timeoutS: CHECK_TIMEOUT_S,
    },
    { dir: placeDir, ldirMain: settings.ldirMain, ...(profileDir !== undefined ? { cpuProfileDir: profileDir } : {}) },
  );
  let windowUs: [number, number] | undefined;
  let startUs: [number, number] | undefined;
  let detectUs: [number, number] | undefined;
  const launchUs = monotonicUs();
  try {
    // Under emulation ldir takes 10-20 s to start with 1,000 reals and ldirectord checks its reals one after the other.
    const upS = ((await waitAllUp(peer, lab, service, 180_000 + lab.n * 200)) - t0) / 1000;
    startUs = [launchUs, monotonicUs()];
    progress(
      `${lab.proto} n=${lab.n} ${name}: all reals up after ${upS.toFixed(1)} s; measuring ${settings.windowS} s`,
    );
    await sleep(SETTLE_MS);
    const fromUs = monotonicUs();
    const window = await measureWindow(peer, lab, settings.windowS);
    windowUs = [fromUs, monotonicUs()];
    if (settings.perf) await printPerf(`${lab.proto} n=${lab.n} ${name}`, placeDir);
    const detectFrom = monotonicUs();
    const { ms: detectMs, killedAt } = await detectVictim(peer, lab, service);
    detectUs = [detectFrom, monotonicUs()];
    // The pass logs `sync done` after its write reached the kernel: give the log a moment to have it.
    let detectTrace: DetectTrace | undefined;
    for (let i = 0; name === 'ldir' && i < 30 && detectTrace === undefined; i++) {
      detectTrace = ldirDetectTrace(fs.readFileSync(peer.logFile, 'utf8'), killedAt, lab.victim);
      if (detectTrace === undefined) await sleep(100);
    }
    progress(
      `${lab.proto} n=${lab.n} ${name}: ${window.checks} checks, ${window.cpuS.toFixed(2)} CPU s; victim at weight 0 after ${Math.round(detectMs)} ms`,
    );
    await lab.restartVictim();
    return { name, upS, detectMs, ...(detectTrace ? { detectTrace } : {}), ...window };
  } finally {
    await peer.stop();
    run('ipvsadm', ['-C']);
    if (profileDir !== undefined && startUs !== undefined)
      printProfile(`${lab.proto} n=${lab.n} start-up`, profileDir, startUs);
    if (profileDir !== undefined && windowUs !== undefined)
      printProfile(`${lab.proto} n=${lab.n}`, profileDir, windowUs);
    if (profileDir !== undefined && detectUs !== undefined)
      printProfile(`${lab.proto} n=${lab.n} detection`, profileDir, detectUs);
  }
}

/** Prints `peers-perf` lines: where the VM's CPUs spent 10 s of a peer's steady state, by thread and function. */
async function printPerf(label: string, dir: string): Promise<void> {
  try {
    for (const s of await samplePerf(label, 10, dir))
      console.log(`peers-perf ${label} ${s.percent}% ${s.thread} ${s.symbol}`);
  } catch (err) {
    console.log(`peers-perf ${label}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Microseconds of the monotonic clock, as V8 stamps its profiles. */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** Prints `peers-profile` lines: where ldir's JS thread spent a window (start-up, steady state, a detection), from the profile `node --cpu-prof` wrote at exit. */
function printProfile(label: string, profileDir: string, [fromUs, toUs]: [number, number]): void {
  const file = fs.existsSync(profileDir)
    ? fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'))
    : undefined;
  if (!file) {
    console.log(`peers-profile ${label}: no profile written in ${profileDir}`);
    return;
  }
  const s = summarizeProfile(
    JSON.parse(fs.readFileSync(path.join(profileDir, file), 'utf8')) as CpuProfile,
    fromUs,
    toUs,
  );
  console.log(
    `peers-profile ${label} window_ms=${s.windowMs} busy_ms=${s.busyMs} gc_ms=${s.gcMs} program_ms=${s.programMs}`,
  );
  for (const e of s.byFile) console.log(`peers-profile ${label} file ${e.ms} ms ${e.frame}`);
  for (const e of s.top) console.log(`peers-profile ${label} self ${e.ms} ms ${e.frame}`);
}

/** A number with 3 significant digits, never in exponent form. */
const num = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : 'NaN');
const perCheckMs = (f: PeerFigures): number => (f.cpuS * 1000) / f.checks;
const cps = (f: PeerFigures): number => f.cpuS / f.windowS;

/** The `peers n=...` line of keepalived and ldir at one N. */
export function peersLine(prefix: string, n: number, k: PeerFigures, l: PeerFigures): string {
  return (
    `${prefix} n=${n} keepalived_cpu_ms=${num(perCheckMs(k))} ldir_cpu_ms=${num(perCheckMs(l))} ratio=${num(perCheckMs(l) / perCheckMs(k))} ` +
    `ldir_rss_mb=${num(l.rssMb)} keepalived_rss_mb=${num(k.rssMb)} keepalived_up_s=${num(k.upS)} ldir_up_s=${num(l.upS)} ` +
    `ldir_detect_ms=${Math.round(l.detectMs)} keepalived_detect_ms=${Math.round(k.detectMs)} keepalived_cps=${num(cps(k))} ldir_cps=${num(cps(l))}`
  );
}

/** The median of `xs` (the mean of the middle two for an even count). */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The `peers-summary` line of several rounds at one N: the median, lowest and highest of the rounds' ratios. */
export function summaryLine(
  prefix: string,
  n: number,
  pairs: ReadonlyArray<readonly [PeerFigures, PeerFigures]>,
): string {
  const ratios = pairs.map(([k, l]) => perCheckMs(l) / perCheckMs(k));
  return (
    `${prefix} n=${n} rounds=${pairs.length} ratio_median=${num(median(ratios))} ratio_min=${num(Math.min(...ratios))} ` +
    `ratio_max=${num(Math.max(...ratios))} keepalived_cpu_ms_median=${num(median(pairs.map(([k]) => perCheckMs(k))))} ` +
    `ldir_cpu_ms_median=${num(median(pairs.map(([, l]) => perCheckMs(l))))} ldir_rss_mb_max=${num(Math.max(...pairs.map(([, l]) => l.rssMb)))} ` +
    `ldir_up_s_median=${num(median(pairs.map(([, l]) => l.upS)))} ldir_detect_ms_median=${Math.round(median(pairs.map(([, l]) => l.detectMs)))} ` +
    `keepalived_detect_ms_median=${Math.round(median(pairs.map(([k]) => k.detectMs)))}`
  );
}

/** How ldir's detection of the victim went, from its log: the parts of {@link PeerFigures.detectMs}. */
export interface DetectTrace {
  /** Kill → the transition to down logged: waiting for the next round, and the round itself. */
  readonly transitionMs: number;
  /** Transition → the start of the table pass that wrote weight 0 (coalescing, a pass already running). */
  readonly queuedMs: number;
  /** That pass (dump, decide, plan, write). */
  readonly passMs: number;
}

/**
 * Reads ldir's JSON log (epoch `time` per line): the victim's first transition to down after `killedAt`, then the
 * first table pass that ended after it (`sync done`, with its `durationMs`). Undefined when the log lacks either.
 */
export function ldirDetectTrace(log: string, killedAt: number, victim: string): DetectTrace | undefined {
  let down: number | undefined;
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    let e: { time?: number; msg?: string; rs?: string; to?: string; durationMs?: number };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    if (typeof e.time !== 'number' || e.time < killedAt) continue;
    if (down === undefined) {
      if (e.msg === 'health transition' && e.to === 'down' && e.rs?.startsWith(`${victim}:`)) down = e.time;
      continue;
    }
    if (e.msg === 'sync done' && typeof e.durationMs === 'number') {
      const passStart = e.time - e.durationMs;
      return { transitionMs: down - killedAt, queuedMs: Math.max(0, passStart - down), passMs: e.durationMs };
    }
  }
  return undefined;
}

/** The `peers n=50 ldirectord_...` line. */
export function ldirectordLine(prefix: string, n: number, d: PeerFigures): string {
  return `${prefix} n=${n} ldirectord_cpu_ms=${num(perCheckMs(d))} ldirectord_up_s=${num(d.upS)} ldirectord_detect_ms=${Math.round(d.detectMs)} ldirectord_rss_mb=${num(d.rssMb)}`;
}

/** One `peers-detail` line: what is behind a peer's figures. */
export function detailLine(proto: Proto, n: number, f: PeerFigures): string {
  const top = [...f.threads].slice(0, 5).map(([k, v]) => `${k.replace(/\s+/g, '_')}:${num(v)}`);
  const rest = [...f.threads].slice(5).reduce((a, [, v]) => a + v, 0);
  const threads = [...top, ...(rest > 0 ? [`others:${num(rest)}`] : [])].join(',');
  const sys = [...f.threads]
    .slice(0, 5)
    .map(([k]) => `${k.replace(/\s+/g, '_')}:${num(f.threadsSys.get(k) ?? 0)}`)
    .join(',');
  return (
    `peers-detail proto=${proto} n=${n} peer=${f.name} checks=${f.checks} window_s=${num(f.windowS)} checks_per_s=${num(f.checks / f.windowS)} ` +
    `cpu_s=${num(f.cpuS)} user_s=${num(f.userS)} sys_s=${num(f.sysS)} procs=${f.procs} rss_mb=${num(f.rssMb)} rss_anon_mb=${num(f.rssAnonMb)} up_s=${num(f.upS)} ` +
    `detect_ms=${Math.round(f.detectMs)} ${
      f.detectTrace
        ? `detect_transition_ms=${Math.round(f.detectTrace.transitionMs)} ` +
          `detect_queued_ms=${Math.round(f.detectTrace.queuedMs)} detect_pass_ms=${Math.round(f.detectTrace.passMs)} `
        : ''
    }log_bytes=${f.logBytes} logged_transitions=${f.logged.transitions} logged_writes=${f.logged.writes} ` +
    `${f.logged.downReasons.size > 0 ? `down_reasons=${[...f.logged.downReasons].map(([r, n]) => `${r.replace(/\s+/g, '_')}:${n}`).join(',')} ` : ''}timewait=${f.timeWait} switches_per_check=${num(f.switches / f.checks)} threads=${threads || '-'} threads_sys=${sys || '-'}`
  );
}

/** Builds the lab for `n` reals, runs `peers` on it one after the other, tears it down. */
async function onLab(
  n: number,
  proto: Proto,
  peers: readonly PeerName[],
  settings: PeersSettings,
  dir: string,
): Promise<PeerFigures[]> {
  const labDir = fs.mkdtempSync(path.join(dir, `lab-${proto}-${n}-`));
  const tls = proto === 'https' ? makeLabCertificate(path.join(dir, 'tls')) : undefined;
  progress(`${proto} n=${n}: building the lab`);
  const lab = await RealsLab.build(n, proto, labDir, tls);
  try {
    const out: PeerFigures[] = [];
    for (const name of peers) {
      const f = await measurePeer(name, lab, settings, dir);
      console.log(detailLine(proto, n, f));
      out.push(f);
    }
    return out;
  } finally {
    lab.teardown();
  }
}

async function main(): Promise<void> {
  if (process.env['LDIR_IN_VM'] !== '1')
    throw new Error('bench/peers-guest runs inside the kernel-tier VM: use npm run bench:peers');
  const settings = readSettings(process.env);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-peers-'));
  const saved = NEIGH_THRESHOLDS.map(([k]) => [k, readSysctl(k)] as const);
  for (const [k, v] of NEIGH_THRESHOLDS) writeSysctl(k, v);
  try {
    for (const proto of settings.https ? (['http', 'https'] as const) : (['http'] as const)) {
      const prefix = proto === 'http' ? 'peers' : 'peers-https';
      for (const n of proto === 'http' ? settings.ns : settings.httpsNs) {
        const order = Array.from({ length: settings.rounds }, () => ['keepalived', 'ldir'] as const).flat();
        const figures = await onLab(n, proto, order, settings, dir);
        const pairs: Array<[PeerFigures, PeerFigures]> = [];
        for (let i = 0; i + 1 < figures.length; i += 2)
          pairs.push([figures[i] as PeerFigures, figures[i + 1] as PeerFigures]);
        for (const [k, l] of pairs) console.log(peersLine(prefix, n, k, l));
        if (pairs.length > 1) console.log(summaryLine(`${prefix}-summary`, n, pairs));
      }
      // ldirectord for the record over http only: its https checks (LWP with IO::Socket::SSL) flap between up and down
      // under emulation with a 3 s negotiatetimeout, so no start-up time could be measured.
      if (settings.ldirectordN > 0 && proto === 'http') {
        const [d] = (await onLab(settings.ldirectordN, proto, ['ldirectord'], settings, dir)) as [PeerFigures];
        console.log(ldirectordLine(prefix, settings.ldirectordN, d));
      }
    }
  } finally {
    // Each lab and each peer is stopped by its own finally; what is left is the run's own.
    attempt('ipvs table', () => void run('ipvsadm', ['-C']));
    attempt('neighbour thresholds', () => {
      for (const [k, v] of saved) writeSysctl(k, v);
    });
    attempt('temp dir', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`bench:peers failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
