// The quick start (`npm run quickstart`): loopback real servers, the daemon on conf/quickstart.cf, status, metrics, stop.
//
// Starts three small HTTP servers on 127.0.0.21-23 (web3 deliberately failing), runs the real `ldir` binary in the
// foreground on conf/quickstart.cf with the kernel IPVS table when this machine allows it and in memory otherwise
// (and says which), waits until every real server has been checked, prints `ldir status` and a few `/metrics` lines,
// repairs web3 and watches it come back, then stops everything. Bounded in time; Ctrl-C (SIGINT) or SIGTERM stop the
// daemon, the servers and remove the temporary directory (pid file and control socket live there: no root needed).
// All traffic stays on 127.0.0.0/8.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StatusReport } from '../src/daemon/protocol';

/** Repository root (this file runs as dist/scripts/quickstart.js). */
const ROOT = path.resolve(__dirname, '..', '..');
/** The `ldir` binary. */
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');
/** The quick start's configuration; its addresses and ports are the ones below. */
const CONFIG = path.join(ROOT, 'conf', 'quickstart.cf');
/** Everything (servers, daemon, status, stop) must be over by then; the test expects far less. */
const TOTAL_MS = 50_000;
/** How long the daemon may take to have checked every real server. */
const CHECKS_MS = 20_000;

/** A real server the quick start serves. */
interface Backend {
  readonly name: string;
  readonly host: string;
  /** Port as written in conf/quickstart.cf (replaced in a copy when taken on this machine). */
  readonly port: number;
  /** Answers `/healthz` with 200 "OK" when true, 503 "FAIL" when false. */
  healthy: boolean;
}

const BACKENDS: Backend[] = [
  { name: 'web1', host: '127.0.0.21', port: 8080, healthy: true },
  { name: 'web2', host: '127.0.0.22', port: 8080, healthy: true },
  { name: 'web3', host: '127.0.0.23', port: 8080, healthy: false },
];
/** The api's real server: nothing listens there, its connect check is refused. */
const DEAD = { name: 'api1', host: '127.0.0.24', port: 8080 };
/** `metrics=` of conf/quickstart.cf. */
const METRICS = { host: '127.0.0.1', port: 9557 };

const BACKEND_CHOICES = ['auto', 'netlink', 'ipvsadm', 'memory'] as const;
type Choice = (typeof BACKEND_CHOICES)[number];

const started = Date.now();
const out = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};
const indent = (text: string, prefix = '  '): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => (l ? `${prefix}${l}` : ''))
    .join('\n');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;

/** What has to be undone, whatever happens. */
const state: {
  tmp?: string;
  servers: http.Server[];
  daemon?: ChildProcess;
  daemonExit?: Promise<number | null>;
  cleaning?: Promise<void>;
  /** Set by {@link abort}: main's own ending no longer decides the exit code. */
  aborting?: boolean;
} = { servers: [] };

// ------------------------------------------------------------------------------------------------ running `ldir`

/** Result of one `ldir` command. */
interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ldir ARGS` with the quick start's environment; killed after `timeoutMs`. */
function ldir(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs / 1000} s)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      stderr += String(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// ------------------------------------------------------------------------------------------------ loopback servers

/** Listens on host:port; resolves false when the port is taken (or the address cannot be bound). */
function listen(server: http.Server | net.Server, host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onError = (): void => resolve(false);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(true);
    });
  });
}

/** A port nothing listens on right now at `host` (bound, then released). */
async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  if (!(await listen(s, host, 0)))
    throw new Error(`cannot bind ${host}: is 127.0.0.0/8 routed to the loopback interface?`);
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** True when something accepts TCP connections at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** An HTTP real server: `/healthz` answers "OK" while `backend.healthy`, else 503 "FAIL"; other paths a greeting. */
function backendServer(backend: Backend): http.Server {
  return http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.statusCode = backend.healthy ? 200 : 503;
      res.end(backend.healthy ? 'OK\n' : 'FAIL: database unreachable\n');
      return;
    }
    res.end(`hello from ${backend.name}\n`);
  });
}

/**
 * Starts the real servers and makes sure the dead one and the metrics port are free. Ports taken on this machine are
 * replaced by free ones; returns the replacements (`host:oldport` → `host:newport`) the configuration needs.
 */
async function startServers(): Promise<Map<string, string>> {
  const replace = new Map<string, string>();
  for (const b of BACKENDS) {
    const server = backendServer(b);
    let port = b.port;
    if (!(await listen(server, b.host, port))) {
      port = await freePort(b.host);
      if (!(await listen(server, b.host, port))) throw new Error(`cannot listen on ${b.host}:${port}`);
      replace.set(`${b.host}:${b.port}`, `${b.host}:${port}`);
    }
    state.servers.push(server);
  }
  if (await accepts(DEAD.host, DEAD.port))
    replace.set(`${DEAD.host}:${DEAD.port}`, `${DEAD.host}:${await freePort(DEAD.host)}`);
  const probe = net.createServer();
  if (await listen(probe, METRICS.host, METRICS.port)) await new Promise((r) => probe.close(r));
  else replace.set(`${METRICS.host}:${METRICS.port}`, `${METRICS.host}:${await freePort(METRICS.host)}`);
  return replace;
}

/** `host:port` of a backend after replacements. */
function at(host: string, port: number, replace: ReadonlyMap<string, string>): string {
  return replace.get(`${host}:${port}`) ?? `${host}:${port}`;
}

// ------------------------------------------------------------------------------------------------ the daemon

/** Prints the daemon's interesting JSON log lines (transitions, kernel operations, warnings) as they come. */
function followLog(stream: NodeJS.ReadableStream): void {
  let buffer = '';
  const quiet = new Set([
    'sync done',
    'logging to stdout',
    'control socket listening',
    'metrics endpoint listening',
    'configuration applied',
  ]);
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        if (line.trim()) out(`  log | ${line}`);
        continue;
      }
      const msg = String(record['msg'] ?? '');
      const level = typeof record['level'] === 'number' ? record['level'] : 30;
      if (quiet.has(msg) && level < 40) continue;
      const tag = level >= 50 ? 'ERROR ' : level >= 40 ? 'WARN ' : '';
      let text = msg;
      if (msg === 'health transition') {
        text = `check: ${String(record['rs'])} of ${String(record['vs'])} ${String(record['from'])} -> ${String(record['to'])} (${String(record['reason'])})`;
      } else if (msg === 'ldir started') {
        text = `ldir started: pid ${String(record['pid'])}, IPVS backend ${String(record['backend'])}`;
      } else if (record['why'] !== undefined) {
        text = `${msg}: ${String(record['why'])}`;
      }
      out(`  log | ${tag}${text}`);
    }
  });
}

/** True once every real server has a check result and the (kernel or memory) table shows the decisions. */
function converged(report: StatusReport): boolean {
  return report.virtualServices.every((v) => {
    const reals = v.reals.every((r) => r.health !== 'unknown' && r.kernelWeight === (r.health === 'up' ? r.weight : 0));
    return reals && (v.realsUp > 0 || v.fallback === null || v.fallbackActive);
  });
}

/** Polls `ldir --json CONFIG status` until `done(report)`; the last report, or undefined after `ms`. */
async function waitStatus(
  config: string,
  env: NodeJS.ProcessEnv,
  ms: number,
  done: (r: StatusReport) => boolean,
): Promise<StatusReport | undefined> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 200 && Date.now() < deadline; i++) {
    if (state.aborting || (state.daemon?.exitCode !== null && state.daemon?.exitCode !== undefined)) return undefined;
    const r = await ldir(['--json', config, 'status'], env, 5000);
    if (r.code === 0) {
      try {
        const report = JSON.parse(r.stdout) as StatusReport;
        if (done(report)) return report;
      } catch {
        // not answering yet
      }
    }
    await sleep(250);
  }
  return undefined;
}

/** Kernel or memory: asks `ldir ipvs info` (auto) whether this machine's IPVS table can be used. */
async function chooseBackend(requested: Choice, env: NodeJS.ProcessEnv): Promise<Choice> {
  if (requested === 'memory') {
    out('IPVS table: in memory (--ipvs=memory asked): checks and decisions run, the kernel is not touched.');
    return 'memory';
  }
  if (requested !== 'auto') {
    out(`IPVS table: --ipvs=${requested} asked (no fallback to memory).`);
    return requested;
  }
  const info = await ldir(['ipvs', '--ipvs=auto', 'info'], env, 10_000);
  if (info.code === 0) {
    out(`IPVS table: the kernel's (${info.stdout.trim()}).`);
    out(
      '  The quick start adds its two loopback virtual services to it and removes them when it stops (cleanstop=yes).',
    );
    out('  Run "npm run quickstart -- --ipvs=memory" to leave the kernel alone.');
    return 'auto';
  }
  // "no way to reach the kernel IPVS table: netlink: WHY; ipvsadm: WHY": one line per way tried.
  const why = (
    info.stderr
      .trim()
      .replace(/^ldir: /, '')
      .split('\n')[0] || `ldir ipvs info exited with ${info.code}`
  )
    .replace(/^no way to reach the kernel IPVS table: /, '')
    .split('; ');
  out("IPVS table: IN MEMORY. This machine's kernel IPVS table cannot be used here:");
  out(indent(why.join('\n'), '    '));
  out('  So the daemon runs with --ipvs=memory: checks, decisions and the table are all real, but the table lives in');
  out('  the daemon\'s memory and nothing is load balanced. As root with the ip_vs module ("modprobe ip_vs") ldir');
  out('  programs the kernel instead.');
  return 'memory';
}

// ------------------------------------------------------------------------------------------------ cleanup

/** Waits for the daemon to exit; SIGKILL after `ms`. */
async function reapDaemon(ms: number): Promise<number | null> {
  const child = state.daemon;
  if (!child || !state.daemonExit) return null;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const timer = setTimeout(() => {
    out(`  the daemon (pid ${child.pid ?? '?'}) did not exit within ${ms / 1000} s: SIGKILL`);
    child.kill('SIGKILL');
  }, ms);
  const code = await state.daemonExit;
  clearTimeout(timer);
  return code;
}

/** Stops whatever still runs and removes the temporary directory. Idempotent. */
function cleanup(): Promise<void> {
  state.cleaning ??= (async () => {
    const child = state.daemon;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // the daemon cleans up (cleanstop) and exits
      await reapDaemon(15_000);
    }
    await Promise.all(
      state.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
    if (state.tmp) fs.rmSync(state.tmp, { recursive: true, force: true });
  })();
  return state.cleaning;
}

/** Ctrl-C, SIGTERM, the overall time limit, or an unexpected error: clean up and exit with `code`. */
function abort(message: string, code: number): void {
  if (state.aborting) return;
  state.aborting = true;
  out(`\n${message}: stopping the daemon and the servers, removing ${state.tmp ?? 'the temporary directory'}`);
  const hard = setTimeout(() => process.exit(code), 20_000);
  hard.unref();
  void cleanup().finally(() => {
    out(`quick start ended after ${elapsed()} (exit ${code})`);
    process.exit(code);
  });
}

// ------------------------------------------------------------------------------------------------ main

function usage(): string {
  return `Usage: npm run quickstart [-- --ipvs=auto|memory|netlink|ipvsadm]

Runs ldir on conf/quickstart.cf against real servers it starts on loopback, shows the checks, the table, "ldir status"
and /metrics, then stops everything (about 10 seconds). --ipvs=auto (default) uses the kernel's IPVS table when this
machine allows it (root, ip_vs module) and the in-memory table otherwise.
`;
}

async function main(argv: readonly string[]): Promise<number> {
  let requested: Choice = 'auto';
  for (const a of argv) {
    if (a === '-h' || a === '--help') {
      out(usage());
      return 0;
    }
    const choice = a.startsWith('--ipvs=') ? a.slice(7) : undefined;
    if (choice !== undefined && (BACKEND_CHOICES as readonly string[]).includes(choice)) requested = choice as Choice;
    else {
      process.stderr.write(`quickstart: unknown argument ${a}\n${usage()}`);
      return 2;
    }
  }
  if (!fs.existsSync(MAIN)) {
    process.stderr.write(`quickstart: ${MAIN} is missing: run "npm install" (or "npm run build") first\n`);
    return 1;
  }

  state.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-quickstart-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LDIR_RUN_DIR: path.join(state.tmp, 'run'),
    LDIR_SOCKET_DIR: path.join(state.tmp, 'sock'),
    LDIR_STATE_DIR: path.join(state.tmp, 'state'), // never a state file of a real director
  };
  fs.mkdirSync(env['LDIR_RUN_DIR'] as string);
  fs.mkdirSync(env['LDIR_SOCKET_DIR'] as string);
  const shown = (p: string): string =>
    p.startsWith(`${process.cwd()}${path.sep}`) ? path.relative(process.cwd(), p) : p;

  out('ldir quick start: checks, the IPVS table, "ldir status" and /metrics on loopback, then everything stops.');
  out(`Temporary pid file and control socket: ${state.tmp} (LDIR_RUN_DIR, LDIR_SOCKET_DIR; removed at the end)`);
  out();

  // 1. Real servers.
  const replace = await startServers();
  let config = CONFIG;
  if (replace.size > 0) {
    let text = fs.readFileSync(CONFIG, 'utf8');
    for (const [from, to] of replace) text = text.split(from).join(to);
    config = path.join(state.tmp, 'quickstart.cf');
    fs.writeFileSync(config, text);
    out(
      `Ports taken on this machine: using a copy of ${shown(CONFIG)} with ${[...replace].map(([a, b]) => `${a} -> ${b}`).join(', ')}`,
    );
  }
  out(`== Real servers (loopback), configuration ${shown(config)}`);
  for (const b of BACKENDS) {
    out(
      `  ${b.name}  http://${at(b.host, b.port, replace)}/healthz  ${b.healthy ? 'answers 200 "OK"' : 'answers 503 "FAIL" (deliberately broken)'}`,
    );
  }
  out(`  ${DEAD.name}  ${at(DEAD.host, DEAD.port, replace)}  nothing listens there (connection refused)`);
  out();

  // 2. Kernel or memory.
  const backend = await chooseBackend(requested, env);
  out();

  // 3. The daemon, in the foreground, as a child of this script.
  out(`== $ ldir --foreground --ipvs=${backend} ${shown(config)} start     (its log, abridged)`);
  // argv0 "ldir": `ldir status|stop` recognise the daemon by a command line that names ldir (src/system/pid-file.ts),
  // and "node /path/of/the/checkout/dist/src/main.js" does not when the checkout's path has no "ldir" in it.
  const daemon = spawn(process.execPath, [MAIN, '--foreground', `--ipvs=${backend}`, config, 'start'], {
    argv0: 'ldir',
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  state.daemon = daemon;
  state.daemonExit = new Promise((resolve) => daemon.once('exit', (code) => resolve(code)));
  followLog(daemon.stdout);
  followLog(daemon.stderr);

  const ready = await waitStatus(config, env, CHECKS_MS, converged);
  if (!ready) {
    const code = daemon.exitCode;
    out(
      code !== null
        ? `\nThe daemon exited with status ${code} (its log is above).`
        : `\nNot every real server was checked within ${CHECKS_MS / 1000} s.`,
    );
    return 1;
  }
  await sleep(100); // let the last log lines through before the status output
  out();

  // 4. Status, as people read it.
  out(`== $ ldir ${shown(config)} status`);
  const status = await ldir([config, 'status'], env);
  out(indent(`${status.stderr}${status.stdout}`));
  out();

  // 5. The table itself when it is the kernel's.
  if (ready.daemon.backend.inMemory) {
    out('== The table: in memory, so "ldir ipvs list" (another process) cannot show it; the WEIGHT column above is');
    out("   configured/table weight: web3 and api1 are held at weight 0, the api's fallback server has weight 1.");
  } else {
    out('== $ ldir ipvs list     (the kernel table)');
    const list = await ldir(['ipvs', 'list'], env);
    out(indent(list.stdout || list.stderr));
  }
  out();

  // 6. Metrics.
  const metrics = at(METRICS.host, METRICS.port, replace);
  out(
    `== $ curl -s http://${metrics}/metrics | grep -E '^ldir_(real_server_up|virtual_real_servers_up|virtual_fallback_active)'`,
  );
  try {
    const res = await fetch(`http://${metrics}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const wanted = /^ldir_(real_server_up|virtual_real_servers_up|virtual_fallback_active)[{ ]/;
    out(
      indent(
        text
          .split('\n')
          .filter((l) => wanted.test(l))
          .join('\n'),
      ),
    );
    const series = new Set(
      text
        .split('\n')
        .filter((l) => l.startsWith('# TYPE '))
        .map((l) => l.split(' ')[2]),
    );
    out(
      `  (${series.size} series in all; /healthz answers ${(await fetch(`http://${metrics}/healthz`, { signal: AbortSignal.timeout(5000) })).status})`,
    );
  } catch (err) {
    out(`  cannot read the metrics endpoint: ${(err as Error).message}`);
    return 1;
  }
  out();

  // 7. Repair web3 and watch it come back.
  const web3 = BACKENDS[2] as Backend;
  const web3At = at(web3.host, web3.port, replace);
  out(`== web3 repaired: its /healthz answers "OK" now; the next check (every second) brings it back at weight 5`);
  web3.healthy = true;
  const back = await waitStatus(config, env, 10_000, (r) =>
    r.virtualServices.some((v) =>
      v.reals.some((x) => `${x.address}:${x.port}` === web3At && x.health === 'up' && x.kernelWeight === x.weight),
    ),
  );
  await sleep(100);
  if (!back) {
    out('  web3 did not come back within 10 s');
    return 1;
  }
  const web = back.virtualServices[0];
  if (web) out(`  ${web.id}: ${web.realsUp}/${web.realsTotal} real servers up`);
  out();

  // 8. Stop: returns once the daemon has cleaned up.
  out(`== $ ldir ${shown(config)} stop`);
  const stop = await ldir([config, 'stop'], env, 40_000);
  if (stop.stdout.trim() || stop.stderr.trim()) out(indent(`${stop.stderr}${stop.stdout}`));
  const code = await reapDaemon(10_000);
  out(`  stopped (exit ${stop.code}); the daemon exited with status ${code}`);
  await cleanup();
  out();
  out(`Done in ${elapsed()}. Next: README.md, docs/operations.md (migrating from ldirectord, Pacemaker, metrics),`);
  out('docs/config-reference.md; "ldir check FILE" validates a configuration, "ldir probe FILE" runs its checks once.');
  return stop.code === 0 && code === 0 ? 0 : 1;
}

process.on('SIGINT', () => abort('Interrupted (SIGINT)', 130));
process.on('SIGTERM', () => abort('Terminated (SIGTERM)', 143));
const watchdog = setTimeout(() => abort(`The quick start took longer than ${TOTAL_MS / 1000} s`, 1), TOTAL_MS);
main(process.argv.slice(2)).then(
  async (code) => {
    if (state.aborting) return;
    clearTimeout(watchdog);
    await cleanup();
    process.exit(code);
  },
  (err: unknown) => {
    if (state.aborting) return;
    clearTimeout(watchdog);
    abort(`quick start failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 1);
  },
);
