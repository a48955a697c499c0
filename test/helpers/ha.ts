// Drives ldir's cluster integration files as a cluster manager does: the OCF agent (conf/ocf/ldir), the LSB init
// script (conf/init.d/ldir), the `ldirectord` name, each with its own temp run/socket directories.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pidFilePath, readPidState } from '../../src/system/pid-file';
import { eventually as poll } from './wait';

/** Root of the checkout (compiled tests live in dist/test/helpers). */
export const REPO = path.resolve(__dirname, '../../..');
/**
 * The compiled `ldir` entry point of the build these tests belong to (dist/src/main.js, or the same file of another
 * `--outDir`). The agent and the init script run it directly, so it is made executable (tsc does not).
 */
export const LDIR_MAIN = path.resolve(__dirname, '../../src/main.js');
try {
  if ((fs.statSync(LDIR_MAIN).mode & 0o111) === 0) fs.chmodSync(LDIR_MAIN, 0o755);
} catch {
  // not built, or a read-only tree: the tests say so when they run it
}
/** The OCF resource agent. */
export const OCF_AGENT = path.join(REPO, 'conf/ocf/ldir');
/** The LSB init script. */
export const INIT_SCRIPT = path.join(REPO, 'conf/init.d/ldir');
/** The systemd units. */
export const SYSTEMD_DIR = path.join(REPO, 'conf/systemd');

/** OCF 1.0 return codes. */
export const OCF = {
  SUCCESS: 0,
  ERR_GENERIC: 1,
  ERR_ARGS: 2,
  ERR_UNIMPLEMENTED: 3,
  ERR_PERM: 4,
  ERR_INSTALLED: 5,
  ERR_CONFIGURED: 6,
  NOT_RUNNING: 7,
  RUNNING_MASTER: 8,
} as const;

/** Outcome of one bounded command. */
export interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock milliseconds. */
  readonly ms: number;
}

export { sleep } from './wait';

/**
 * Runs `command args` asynchronously (servers of the test keep running), killed with SIGKILL after `timeoutMs`
 * (then `status` is null). stdin is closed.
 */
export function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<Ran> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
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

/** {@link poll} with a 250 ms default step (agent actions are processes: no need to look more often). */
export function eventually<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  ms: number,
  everyMs = 250,
  describe?: () => string,
): Promise<T> {
  return poll(what, fn, ms, everyMs, describe);
}

/**
 * True while process `pid` runs. An exited process that is not reaped yet (a zombie: detached daemons are reaped by
 * PID 1 a moment after they exit) counts as gone.
 */
export function processExists(pid: number): boolean {
  return processState(pid) === 'running';
}

/** `running`, `zombie` (exited, not reaped yet) or `gone`, from /proc/PID/stat. */
export function processState(pid: number): 'running' | 'zombie' | 'gone' {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\d+ \(.*\) Z /s.test(stat) ? 'zombie' : 'running';
  } catch {
    return 'gone';
  }
}

/**
 * A scratch place for one ldir configuration and its daemon: a temp dir whose name contains "ldir" (ldir tells its
 * own processes by "ldir" in their command line, which holds the configuration path), with run and socket dirs,
 * and the environment that points ldir there.
 */
export class HaSandbox {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(prefix = 'ldir-ha-', extraEnv: NodeJS.ProcessEnv = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.mkdirSync(path.join(this.dir, 'run'));
    fs.mkdirSync(path.join(this.dir, 'sock'), { mode: 0o700 });
    fs.mkdirSync(path.join(this.dir, 'rsctmp'));
    this.env = {
      ...process.env,
      LDIR_RUN_DIR: path.join(this.dir, 'run'),
      LDIR_SOCKET_DIR: path.join(this.dir, 'sock'),
      LDIR_STATE_DIR: path.join(this.dir, 'state'),
      HA_RSCTMP: path.join(this.dir, 'rsctmp'),
      ...extraEnv,
    };
  }

  /** Writes `name` in the sandbox; returns its path. */
  write(name: string, text: string): string {
    const file = path.join(this.dir, name);
    fs.writeFileSync(file, text);
    return file;
  }

  /** Pid of the daemon of configuration base name `name` when the pid file names a live ldir. */
  pid(name: string): number | undefined {
    const state = readPidState(pidFilePath(name, this.env['LDIR_RUN_DIR']));
    return state.state === 'running' ? state.pid : undefined;
  }

  /** Raw pid file state of configuration `name`. */
  pidState(name: string): ReturnType<typeof readPidState> {
    return readPidState(pidFilePath(name, this.env['LDIR_RUN_DIR']));
  }

  /** Runs the OCF agent with `action` and OCF_RESKEY_* from `params` (plus extra environment). */
  agent(
    action: string,
    params: Record<string, string>,
    extra: NodeJS.ProcessEnv = {},
    timeoutMs = 180_000,
  ): Promise<Ran> {
    const env: NodeJS.ProcessEnv = {
      ...this.env,
      OCF_RESOURCE_INSTANCE: 'lb',
      OCF_RESKEY_CRM_meta_interval: '10000',
      OCF_RESKEY_CRM_meta_timeout: '60000',
      ...extra,
    };
    for (const [k, v] of Object.entries(params)) env[`OCF_RESKEY_${k}`] = v;
    return run(OCF_AGENT, [action], env, timeoutMs);
  }

  /** SIGKILLs whatever daemon still holds a pid file here, and removes the sandbox. */
  cleanup(): void {
    const run = path.join(this.dir, 'run');
    for (const f of fs.existsSync(run) ? fs.readdirSync(run) : []) {
      const pid = Number.parseInt(fs.readFileSync(path.join(run, f), 'utf8'), 10);
      try {
        if (pid > 0 && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.dir)) process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A minimal ldirectord.cf: one virtual with one real checked by connect, logging into the sandbox, no metrics port. */
export function simpleConfig(
  sandbox: HaSandbox,
  options: { virtual?: string; real?: string; extra?: string } = {},
): string {
  return `checkinterval=1
checktimeout=1
metrics=no
logfile="${path.join(sandbox.dir, 'ldir.log')}"
virtual=${options.virtual ?? '127.0.0.1:8080'}
\treal=${options.real ?? '127.0.0.5:9'} masq 3
\tchecktype=connect
${options.extra ?? ''}`;
}
