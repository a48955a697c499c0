// Drives the real `ldir` binary as an operator does (start, status --json, reload, stop, kill -9) with its pid
// files and control sockets in a temp dir, and reads the kernel table with `ipvsadm -Ln`: for kernel-tier tests.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sendControlRequest } from '../../src/cli/control-client';
import { controlSocketPath, type StatusReport } from '../../src/daemon/protocol';
import { pidFilePath, readPidState } from '../../src/system/pid-file';
import { eventually, sleep } from './wait';

/** Set (to anything) to print the daemons' log files at cleanup (debugging). */
export const DAEMON_LOG_ENV = 'LDIR_TEST_DAEMON_LOG';

/** The compiled `ldir` entry point. */
export const LDIR_MAIN = path.resolve(__dirname, '../../src/main.js');

/** Outcome of one `ldir` invocation. */
export interface LdirRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock milliseconds the command took. */
  readonly ms: number;
}

export { eventually, sleep } from './wait';

/** One destination line of `ipvsadm -Ln`. */
export interface ListedDestination {
  readonly forward: string;
  readonly weight: number;
  readonly active: number;
  readonly inactive: number;
}

/** `ipvsadm -Ln` as a map: `TCP 10.0.0.1:80` → destination `10.0.0.2:80` → its line. */
export type ListedTable = Map<string, Map<string, ListedDestination>>;

/** Raw `ipvsadm -Ln`. */
export function ipvsadmList(): string {
  return execFileSync('ipvsadm', ['-Ln'], { encoding: 'utf8', timeout: 30_000 });
}

/** Parses `ipvsadm -Ln` output (or /proc/net/ip_vs with `address` turning its hex into text). */
export function parseIpvsadm(text: string, address: (text: string) => string = (t) => t): ListedTable {
  const table: ListedTable = new Map();
  let current: Map<string, ListedDestination> | undefined;
  for (const line of text.split('\n')) {
    const svc = /^(TCP|UDP|SCTP|FWM)\s+(\S+)/.exec(line);
    if (svc) {
      current = new Map();
      table.set(`${svc[1]} ${address(svc[2] as string)}`, current);
      continue;
    }
    const dest = /^\s+->\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line);
    if (dest && current) {
      current.set(address(dest[1] as string), {
        forward: dest[2] as string,
        weight: Number(dest[3]),
        active: Number(dest[4]),
        inactive: Number(dest[5]),
      });
    }
  }
  return table;
}

/** The kernel table now, as `ipvsadm -Ln` shows it. */
export function listTable(): ListedTable {
  return parseIpvsadm(ipvsadmList());
}

/** `0AD20102:0050` (IPv4 as /proc/net/ip_vs prints it) → `10.210.1.2:80`; anything else unchanged. */
function procAddress(text: string): string {
  const m = /^([0-9A-F]{8}):([0-9A-F]{4})$/i.exec(text);
  if (!m) return text;
  const n = Number.parseInt(m[1] as string, 16);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}:${Number.parseInt(m[2] as string, 16)}`;
}

/**
 * The kernel table now, read from /proc/net/ip_vs (the same listing as `ipvsadm -Ln`, addresses in hex): no process
 * is started, so tight polling loops do not take the CPU the daemon's checks need in the emulated VM.
 */
export function peekTable(): ListedTable {
  return parseProcIpvs(fs.readFileSync('/proc/net/ip_vs', 'utf8'));
}

/** Parses the text of /proc/net/ip_vs (of any namespace: `/proc/PID/net/ip_vs`), addresses turned into text. */
export function parseProcIpvs(text: string): ListedTable {
  return parseIpvsadm(text, procAddress);
}

/** Weights of one service (`TCP 10.0.0.1:80`) by destination; undefined when the service is absent. */
export function weightsOf(table: ListedTable, service: string): Map<string, number> | undefined {
  const s = table.get(service);
  return s ? new Map([...s].map(([d, x]) => [d, x.weight])) : undefined;
}

/** The services (`TCP VIP:PORT`) given, with their destinations as `addr:port forward weight`, counters left out. */
export function tableShape(table: ListedTable, services: readonly string[]): string {
  const out: string[] = [];
  for (const s of [...services].sort()) {
    const dests = table.get(s);
    if (!dests) {
      out.push(`${s} (absent)`);
      continue;
    }
    out.push(s);
    for (const [d, x] of [...dests].sort(([a], [b]) => a.localeCompare(b))) out.push(`  ${d} ${x.forward} ${x.weight}`);
  }
  return out.join('\n');
}

/**
 * Records the distinct shapes the kernel table takes (read from /proc/net/ip_vs every `everyMs`) while it runs: for
 * proving what changed, and that nothing else did, between two points in time.
 */
export class TableRecorder {
  readonly shapes: string[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly services: readonly string[],
    everyMs = 100,
  ) {
    this.done = (async () => {
      for (let i = 0; i < 100_000 && this.running; i++) {
        const shape = tableShape(peekTable(), this.services);
        if (this.shapes[this.shapes.length - 1] !== shape) this.shapes.push(shape);
        await sleep(everyMs);
      }
    })();
  }

  /** Stops recording; resolves with the distinct shapes seen, in order. */
  async stop(): Promise<string[]> {
    this.running = false;
    await this.done;
    return this.shapes;
  }
}

/** The `ldir` binary with its own run and socket directories, and the daemons it started (cleaned up by {@link cleanup}). */
export class LdirDirector {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly started = new Set<number>();
  private readonly logged = new Set<string>();

  /**
   * `options.netns`: run every `ldir` command (and so the daemon it starts) inside that network namespace with
   * `ip netns exec`, so that the daemon programs that namespace's IPVS.
   */
  constructor(
    prefix = 'ldir-kernel-',
    private readonly options: { readonly netns?: string } = {},
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.env = {
      ...process.env,
      LDIR_RUN_DIR: path.join(this.dir, 'run'),
      LDIR_SOCKET_DIR: path.join(this.dir, 'sock'),
      LDIR_STATE_DIR: path.join(this.dir, 'state'),
    };
    fs.mkdirSync(path.join(this.dir, 'run'));
    fs.mkdirSync(path.join(this.dir, 'sock'), { mode: 0o700 });
  }

  /** Path of configuration `name` (a file in the temp dir). */
  configPath(name: string): string {
    return path.join(this.dir, name);
  }

  /** Writes configuration `name`; returns its path. */
  writeConfig(name: string, text: string): string {
    const file = this.configPath(name);
    fs.writeFileSync(file, text);
    return file;
  }

  /** Runs `ldir ARGS` (asynchronously, so servers and clients of the test keep running), bounded by `timeoutMs`. */
  run(args: readonly string[], timeoutMs = 120_000): Promise<LdirRun> {
    return this.runWith(LDIR_MAIN, args, timeoutMs);
  }

  /** {@link run} with another installation's entry point `main` (an upgrade: `ldir restart` from the new version). */
  runWith(main: string, args: readonly string[], timeoutMs = 120_000): Promise<LdirRun> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const argv = [process.execPath, main, ...args];
      const [command, ...rest] = this.options.netns ? ['ip', 'netns', 'exec', this.options.netns, ...argv] : argv;
      const child = spawn(command as string, rest, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`ldir ${args.join(' ')} did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr, ms: Date.now() - t0 });
      });
    });
  }

  /** Pid of the daemon running configuration `name`, if one runs. */
  pid(name: string): number | undefined {
    const state = readPidState(pidFilePath(name, this.env['LDIR_RUN_DIR']));
    return state.state === 'running' ? state.pid : undefined;
  }

  /** Path of the log file configuration `name` should name in `logfile=` (printed by {@link cleanup} on request). */
  logPath(name: string): string {
    return path.join(this.dir, `${name}.log`);
  }

  /**
   * The JSON records of the log file of configuration `name` ({@link logPath}) that `keep` selects (all by default);
   * empty when there is no log.
   */
  logRecords(name: string, keep: (r: Record<string, unknown>) => boolean = () => true): Record<string, unknown>[] {
    let text = '';
    try {
      text = fs.readFileSync(this.logPath(name), 'utf8');
    } catch {
      return [];
    }
    const out: Record<string, unknown>[] = [];
    for (const line of text.split('\n')) {
      try {
        const r = JSON.parse(line) as Record<string, unknown>;
        if (keep(r)) out.push(r);
      } catch {
        // not a JSON record
      }
    }
    return out;
  }

  /** Health transitions and kernel operations daemon `pid` logged, one line each, for assertion messages. */
  changesLogged(name: string, pid: number): string {
    return this.logRecords(
      name,
      (r) => r['pid'] === pid && (r['module'] === 'engine' || r['msg'] === 'health transition'),
    )
      .map(
        (r) =>
          `${new Date(Number(r['time'])).toISOString()} ${String(r['vs'] ?? '')} ${String(r['rs'] ?? '')} ${String(r['msg'])}${r['reason'] ? ` (${r['from'] !== undefined ? `${String(r['from'])} -> ${String(r['to'])}: ` : ''}${String(r['reason'])})` : ''}`,
      )
      .join('\n');
  }

  /**
   * For an `afterEach` hook: when the test `t` failed and the daemon of `name` runs, prints what it saw (its last 40
   * health transitions and kernel operations) after `extra` (the test's own state, e.g. commands run).
   */
  printChangesIfFailed(t: { readonly name: string }, name: string, extra = ''): void {
    const pid = this.pid(name);
    if ((t as { passed?: boolean }).passed !== false || pid === undefined) return;
    console.log(
      `--- after the failure of "${t.name}": ${extra}health transitions and kernel operations of daemon ${pid} (last 40)\n` +
        `${this.changesLogged(name, pid).split('\n').slice(-40).join('\n')}\n---`,
    );
  }

  /**
   * `ldir [--ipvs=..] --timeout=180 CONFIG start`; throws unless it exits 0 with a daemon running. The start waits
   * up to 180 s for the ready report instead of the default 60 s: in the emulated VM on a busy host the daemon has
   * taken 50 s to come up.
   */
  async start(name: string, ipvs?: 'auto' | 'netlink' | 'ipvsadm'): Promise<LdirRun> {
    this.logged.add(name);
    const args = [...(ipvs ? [`--ipvs=${ipvs}`] : []), '--timeout=180', this.configPath(name), 'start'];
    const r = await this.run(args, 200_000);
    const pid = this.pid(name);
    if (pid !== undefined) this.started.add(pid);
    if (r.status !== 0 || pid === undefined)
      throw new Error(`ldir ${name} start: exit ${r.status}, pid ${pid}\n${r.stderr}${r.stdout}`);
    return r;
  }

  /** Counts daemon `pid` (a restart's successor) as one of ours for {@link cleanup}. */
  adopt(pid: number | undefined): void {
    if (pid !== undefined) this.started.add(pid);
  }

  /** `ldir --timeout=180 CONFIG restart`; throws unless it exits 0. The successor is adopted for cleanup. */
  async restart(name: string): Promise<LdirRun> {
    this.logged.add(name);
    const r = await this.run(['--timeout=180', this.configPath(name), 'restart'], 240_000);
    if (r.status !== 0) throw new Error(`ldir ${name} restart: exit ${r.status}\n${r.stderr}${r.stdout}`);
    this.adopt(this.pid(name));
    return r;
  }

  /** `ldir CONFIG stop`. */
  stop(name: string): Promise<LdirRun> {
    return this.run([this.configPath(name), 'stop']);
  }

  /** `ldir CONFIG reload`. */
  reload(name: string): Promise<LdirRun> {
    return this.run([this.configPath(name), 'reload']);
  }

  /** `ldir --json CONFIG status`, parsed; throws unless it exits 0. */
  async status(name: string): Promise<StatusReport> {
    const r = await this.run(['--json', this.configPath(name), 'status']);
    if (r.status !== 0) throw new Error(`ldir ${name} status: exit ${r.status}\n${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout) as StatusReport;
  }

  /** The same report straight from the control socket (no Node start-up per poll): for tight polling loops. */
  async quickStatus(name: string): Promise<StatusReport> {
    const response = await sendControlRequest(controlSocketPath(name, this.env['LDIR_SOCKET_DIR']), { type: 'status' });
    if (!response.ok) throw new Error(`status of ${name}: ${response.error.code}: ${response.error.message}`);
    return response.result;
  }

  /** `kill -9` of the daemon of `name`; resolves once the process is gone. Returns its pid. */
  async kill9(name: string): Promise<number> {
    const pid = this.pid(name);
    if (pid === undefined) throw new Error(`no daemon runs ${name}`);
    process.kill(pid, 'SIGKILL');
    await eventually(`pid ${pid} to exit`, () => (fs.existsSync(`/proc/${pid}`) ? undefined : true), 10_000, 20);
    return pid;
  }

  /**
   * Kills (SIGKILL) every daemon this director started that still runs, and removes the temp dir; with
   * {@link DAEMON_LOG_ENV} set, prints the log files ({@link logPath}) of the configurations it started first.
   */
  cleanup(): void {
    for (const name of process.env[DAEMON_LOG_ENV] ? this.logged : []) {
      try {
        console.log(
          `--- log of daemon ${name}\n${fs.readFileSync(this.logPath(name), 'utf8')}--- end of log of daemon ${name}`,
        );
      } catch {
        // none
      }
    }
    for (const pid of this.started) {
      try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmdline.includes('/dist/src/main.js')) process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Deletes the services (`-t VIP:PORT` style arguments) from the kernel table if present. */
export function deleteServices(services: readonly string[]): void {
  const listed = listTable();
  for (const s of services) {
    const [proto, addr] = s.split(' ') as [string, string];
    if (!listed.has(s)) continue;
    const flag = proto === 'TCP' ? '-t' : proto === 'UDP' ? '-u' : proto === 'SCTP' ? '--sctp-service' : '-f';
    try {
      execFileSync('ipvsadm', ['-D', flag, addr], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

/** Reads a sysctl by its dotted name from /proc/sys. */
export function readSysctl(key: string): string {
  return fs.readFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, 'utf8').trim();
}

/** Writes a sysctl by its dotted name to /proc/sys. */
export function writeSysctl(key: string, value: string): void {
  fs.writeFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, value);
}
