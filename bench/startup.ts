// `npm run bench:startup`: start-up time is failover time. Measures, for a director of BENCH_REALS (1,000) real
// servers on 127.0.x.y checked every second over HTTP: `node -e 0` (the floor), exec of `ldir start` → ready (the
// command returns) → every real in the table at its weight (the first full table), and the same for `ldir restart`
// (exec → the successor runs). Kernel backend from BENCH_IPVS (default memory; the VM run uses netlink). Traffic
// only to 127.0.0.0/8 (the reals are 1,000 addresses of 127.0.0.0/8 served by one Node HTTP server process).
// `--vm` runs it inside the kernel-tier VM too (netlink, real IPVS, BENCH_VM_REALS = 200). Targets (bench/targets.ts,
// host run only: the emulated VM's figures are printed without one): every real in the table within one check
// interval of `ldir start` returning (the first round of a batch of new checks runs within 100 ms + 0.1 ms per check)
// and of `ldir restart` returning (the successor checks every real before it takes over), and a start to a full
// table within 3 s (measured: 1.1 s).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sendControlRequest } from '../src/cli/control-client';
import { controlSocketPath, type StatusReport } from '../src/daemon/protocol';
import { startLoopbackServer } from './loopback-server';
import { benchMain, BenchUsageError, type BenchContext, type BenchSpec } from './targets';

const REALS = Number(process.env['BENCH_REALS'] ?? 1_000);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const IPVS = process.env['BENCH_IPVS'] ?? 'memory';
/** The ldir to measure (BENCH_LDIR_MAIN: another build's dist/src/main.js, for before/after figures). */
const MAIN = process.env['BENCH_LDIR_MAIN'] ?? path.resolve(__dirname, '../src/main.js');
const INTERVAL_S = 1;
/** How often the table is looked at: each look is a status of every real, which costs the daemon CPU too. */
const POLL_MS = process.env['LDIR_IN_VM'] === '1' ? 250 : 50;

/** The i-th real server address: 127.0.1.1 ... */
const address = (i: number): string => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Milliseconds of `node -e 0`: the floor of any start. */
function nodeFloorMs(): number {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    runs.push(performance.now() - t0);
  }
  return median(runs);
}

/** Runs `ldir ARGS`; resolves with its exit code once it exits. */
function ldir(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('exit', (code) => resolve(code));
  });
}

/** Polls the control socket until every real is in the table at its weight, or `ms` passed; the epoch ms then. */
async function fullTable(socket: string, pid: number | undefined, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let seen = 'no answer';
  for (let i = 0; Date.now() < deadline && i < 100_000; i++) {
    try {
      const r = await sendControlRequest(socket, { type: 'status' }, { timeoutMs: 5_000 });
      if (r.ok && (pid === undefined || r.result.daemon.pid !== pid)) {
        const reals = (r.result as StatusReport).virtualServices.flatMap((v) => v.reals);
        seen =
          `${reals.filter((x) => x.health === 'up').length} up, ${reals.filter((x) => x.kernelWeight === x.weight).length} at their weight in the table; ` +
          `last sync: ${JSON.stringify(r.result.daemon.lastSync)}; a check: ${JSON.stringify(reals[0]?.lastCheck)}`;
        if (reals.length === REALS && reals.every((x) => x.kernelWeight === x.weight && x.health === 'up'))
          return Date.now();
      }
    } catch {
      // not answering yet
    }
    await new Promise((r) => setTimeout(r, POLL_MS)); // each status of every real costs the daemon too: not too often
  }
  throw new Error(`the table was not full within ${ms} ms: ${seen}`);
}

/** Host target: exec of `ldir start` → every real in the table (median). */
const START_FULL_TABLE_TARGET_MS = 3_000;

/** The command line of `npm run bench:startup`. */
export const STARTUP_BENCH: BenchSpec = {
  command: 'npm run bench:startup',
  summary: 'ldir start and ldir restart to ready and to a full table, 1,000 reals on 127.0.0.0/8 checked over HTTP',
  flags: { '--vm': 'also in the kernel-tier VM (netlink, real IPVS; printed, no targets)' },
  env: {
    BENCH_REALS: 'real servers on the host (1000)',
    BENCH_RUNS: 'runs; medians are printed (3)',
    BENCH_IPVS: 'kernel backend (memory)',
    BENCH_VM_REALS: 'real servers in the VM (200)',
    BENCH_LDIR_MAIN: "another build's dist/src/main.js to measure",
    BENCH_LOG: "1: the daemons' own account of each step",
  },
};

async function measureStartup({ targets, args }: BenchContext): Promise<void> {
  if (!(Number.isInteger(REALS) && REALS >= 1 && REALS <= 62_250))
    throw new BenchUsageError(`BENCH_REALS: 1..62250, not ${process.env['BENCH_REALS']}`);
  if (!(Number.isInteger(RUNS) && RUNS >= 1 && RUNS <= 99))
    throw new BenchUsageError(`BENCH_RUNS: 1..99, not ${process.env['BENCH_RUNS']}`);
  const { child, port } = await startLoopbackServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-startup-'));
  const env = { ...process.env, LDIR_RUN_DIR: path.join(dir, 'run'), LDIR_SOCKET_DIR: path.join(dir, 'sock') };
  const conf = path.join(dir, 'startup.cf');
  fs.writeFileSync(
    conf,
    [
      `checkinterval=${INTERVAL_S}`,
      'checktimeout=5',
      'negotiatetimeout=5',
      `logfile="${path.join(dir, 'ldir.log')}"`,
      'metrics=no',
      '',
      'virtual=127.255.0.1:80',
      ...Array.from({ length: REALS }, (_, i) => `\treal=${address(i)}:${port} masq 1`),
      '\tchecktype=negotiate',
      '\tservice=http',
      '\trequest="/"',
      '\treceive="ok"',
      '\tquiescent=no',
      '\tscheduler=wrr',
      '',
    ].join('\n'),
  );
  const socket = controlSocketPath('startup.cf', env.LDIR_SOCKET_DIR);
  const floor = nodeFloorMs();
  const starts: { ready: number; full: number }[] = [];
  const restarts: { ready: number; full: number }[] = [];
  try {
    /** Runs `ldir ACTION`; milliseconds until it returned (ready) and until the table was full (of a new daemon). */
    const measure = async (action: 'start' | 'restart'): Promise<{ ready: number; full: number }> => {
      const before =
        action === 'restart'
          ? Number(fs.readFileSync(path.join(env.LDIR_RUN_DIR, 'ldirectord.startup.cf.pid'), 'utf8'))
          : undefined;
      const t0 = Date.now();
      const code = await ldir([`--ipvs=${IPVS}`, conf, action], env);
      const ready = Date.now();
      if (code !== 0) throw new Error(`ldir ${action} exited ${code}`);
      const full = await fullTable(socket, before, 60_000);
      return { ready: ready - t0, full: full - t0 };
    };
    for (let run = 0; run < RUNS; run++) {
      starts.push(await measure('start'));
      // A restart: the successor is ready when it took over, with every real checked.
      restarts.push(await measure('restart'));
      if ((await ldir([conf, 'stop'], env)) !== 0) throw new Error('ldir stop failed');
    }
  } finally {
    if (process.env['BENCH_LOG']) {
      // The daemons' own account (BENCH_LOG=1): when each step of start and restart happened.
      for (const line of fs.readFileSync(path.join(dir, 'ldir.log'), 'utf8').split('\n')) {
        const r = /"time":(\d+).*"pid":(\d+).*"msg":"([^"]*)"/.exec(line);
        if (r && !/health transition|sync done|check$/.test(r[3] as string)) console.log(`log ${r[1]} ${r[2]} ${r[3]}`);
      }
    }
    await ldir([conf, 'stop'], env);
    child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const where = process.env['LDIR_IN_VM'] === '1' ? 'vm' : 'host';
  const m = (xs: { ready: number; full: number }[], k: 'ready' | 'full'): number =>
    Math.round(median(xs.map((x) => x[k])));
  console.log(
    `startup where=${where} ipvs=${IPVS} reals=${REALS} runs=${RUNS} node_floor_ms=${Math.round(floor)} check_interval_ms=${INTERVAL_S * 1000} ` +
      `start_ready_ms=${m(starts, 'ready')} start_full_table_ms=${m(starts, 'full')} restart_ready_ms=${m(restarts, 'ready')} restart_full_table_ms=${m(restarts, 'full')}`,
  );
  if (where === 'host') {
    const afterReady = (xs: { ready: number; full: number }[]): number => median(xs.map((x) => x.full - x.ready));
    targets.atMost('start: full table after ready', afterReady(starts), INTERVAL_S * 1000, 'ms', 0);
    targets.atMost('restart: full table after ready', afterReady(restarts), INTERVAL_S * 1000, 'ms', 0);
    targets.atMost('start: exec to full table', m(starts, 'full'), START_FULL_TABLE_TARGET_MS, 'ms', 0);
  }
  if (args.flags.has('--vm')) {
    const { runInVm, vmUnavailable } = await import('../test/kernel/vm/run-in-vm');
    const why = vmUnavailable();
    if (why) throw new Error(`the VM cannot run here: ${why}`);
    // 200 reals in the VM: under emulation one HTTP server process answers a few hundred checks a second.
    const vmReals = Number(process.env['BENCH_VM_REALS'] ?? 200);
    const result = await runInVm(
      `BENCH_IPVS=netlink BENCH_REALS=${vmReals} BENCH_RUNS=${RUNS} node dist/bench/startup.js`,
      {
        onOutput: (c) => {
          for (const line of c.split('\n')) if (line.startsWith('startup ')) console.log(line);
        },
      },
    );
    if (result.code !== 0) throw new Error(`the VM run failed (exit ${result.code}):\n${result.output.slice(-3000)}`);
  }
}

if (require.main === module) benchMain(STARTUP_BENCH, measureStartup);
