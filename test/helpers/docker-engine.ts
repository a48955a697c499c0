// A Docker engine for the Docker test: the one that answers, else (root on Debian) docker.io installed and a dockerd
// started here, with no bridge, no iptables rules and no ip_forward change, and stopped again afterwards.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensurePackages } from './system';

/** Where the engine listens by default, and dockerd's default pid file and exec root. */
export const DEFAULT_SOCKET = '/var/run/docker.sock';
const DEFAULT_PIDFILE = '/var/run/docker.pid';
const DEFAULT_EXEC_ROOT = '/var/run/docker';

/** A Docker engine that answers. */
export interface DockerEngine {
  /** Environment for `docker` commands (DOCKER_HOST set when the engine listens elsewhere than the default socket). */
  readonly env: NodeJS.ProcessEnv;
  /** Pid of the dockerd started by {@link ensureDockerEngine}, undefined when an engine was answering already. */
  readonly startedPid: number | undefined;
  /** Stops the dockerd started here (SIGTERM, bounded wait, then SIGKILL); nothing for an engine found running. */
  stop(): Promise<void>;
}

/**
 * An engine, or why there cannot be one here (not root, no apt-get, a docker client without dockerd): the caller
 * skips with that reason, which under CI=true fails unless the CI allow-list covers it (test/helpers/ci-skips.ts).
 */
export type EngineOutcome = { readonly engine: DockerEngine } | { readonly skip: string };

/** Options of {@link ensureDockerEngine}; the defaults are dockerd's own (images persist in /var/lib/docker). */
export interface EngineOptions {
  /** Socket of the engine to use or start (default /var/run/docker.sock). */
  readonly socket?: string;
  /** dockerd --data-root for a dockerd started here (default dockerd's, /var/lib/docker). */
  readonly dataRoot?: string;
  /** dockerd --exec-root for a dockerd started here (default /var/run/docker). */
  readonly execRoot?: string;
  /** dockerd --pidfile for a dockerd started here (default /var/run/docker.pid). */
  readonly pidFile?: string;
  /** How long a starting dockerd may take to answer (default 90 s). */
  readonly startTimeoutMs?: number;
  /** Installs Debian packages (default {@link ensurePackages}); returns why it could not. */
  readonly install?: (packages: readonly string[]) => string | undefined;
}

/** Absolute path of `cmd` in PATH (plus the sbin directories, which a non-login root shell may lack), or undefined. */
export function which(cmd: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const file = path.join(dir || '.', cmd);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return undefined;
}

/** `docker version` against the engine of `env`: undefined when it answers, else the last line of the error. */
export function engineProblem(env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      'docker',
      ['version', '--format', '{{.Server.Version}}'],
      { env, timeout: timeoutMs, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err && stdout.trim() !== '') return resolve(undefined);
        resolve((stderr || stdout || String(err ?? 'no answer')).trim().split('\n').pop() ?? 'no answer');
      },
    );
  });
}

/** Live pid in `pidFile`, if any. */
function livePid(pidFile: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Polls the engine every 500 ms until it answers or `ms` have passed; stops early when `gone()` says so. */
async function waitForEngine(
  env: NodeJS.ProcessEnv,
  ms: number,
  gone: () => boolean = () => false,
): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  let problem = await engineProblem(env, 10_000);
  while (problem !== undefined && Date.now() < deadline && !gone()) {
    await new Promise((r) => setTimeout(r, 500));
    problem = await engineProblem(env, 10_000);
  }
  return problem;
}

/** Resolves true when `child` has exited within `ms`. */
function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Last `lines` lines of a file, or '' when it cannot be read. */
function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * The engine to test with. An engine that answers is used as it is. Otherwise, as root: docker.io is installed when
 * there is no Docker at all (apt, as {@link ensurePackages}), and a dockerd is started with a pid file and a
 * temporary log file; the call resolves once it answers (bounded) and throws when it does not, because on such a
 * machine the test must run. Not root, no apt-get to install with, or a docker client without dockerd: `{ skip }`
 * with the reason.
 */
export async function ensureDockerEngine(options: EngineOptions = {}): Promise<EngineOutcome> {
  const socket = options.socket ?? DEFAULT_SOCKET;
  const env: NodeJS.ProcessEnv =
    options.socket === undefined ? { ...process.env } : { ...process.env, DOCKER_HOST: `unix://${socket}` };
  const found = (): DockerEngine => ({ env, startedPid: undefined, stop: async () => undefined });
  const problem = which('docker') ? await engineProblem(env) : 'docker is not installed';
  if (problem === undefined) return { engine: found() };
  if (process.getuid?.() !== 0) return { skip: `no Docker engine (${problem}), and not root to start one` };
  if (env['DOCKER_HOST'] && env['DOCKER_HOST'] !== `unix://${socket}`)
    return { skip: `DOCKER_HOST=${env['DOCKER_HOST']} does not answer (${problem})` };

  // docker.io only where there is no Docker at all: it conflicts with docker-ce, which apt would remove.
  if (!which('dockerd') && !which('docker')) {
    if (!fs.existsSync('/usr/bin/apt-get'))
      return { skip: `no Docker engine (${problem}), and no apt-get to install docker.io` };
    const why = (options.install ?? ensurePackages)(['docker.io']);
    if (why !== undefined) throw new Error(`cannot install docker.io: ${why}`);
    if (!which('dockerd') || !which('docker'))
      throw new Error('docker.io is installed but there is no docker or dockerd');
  }
  const dockerd = which('dockerd');
  if (!dockerd) return { skip: `no Docker engine (${problem}), and a docker client without dockerd here to start one` };
  if (!which('docker')) return { skip: `dockerd without a docker client here (${problem})` };

  const pidFile = options.pidFile ?? DEFAULT_PIDFILE;
  const execRoot = options.execRoot ?? DEFAULT_EXEC_ROOT;
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  const running = livePid(pidFile);
  if (running !== undefined) {
    // Another dockerd, perhaps still starting: it gets the same time to answer, and is not ours to stop.
    const still = await waitForEngine(env, startTimeoutMs);
    if (still === undefined) return { engine: found() };
    throw new Error(`dockerd (pid ${running}, ${pidFile}) runs but does not answer on ${socket}: ${still}`);
  }

  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-dockerd-'));
  const logFile = path.join(logDir, 'dockerd.log');
  const logFd = fs.openSync(logFile, 'a');
  // No default bridge, no iptables rules, ip_forward untouched: the tests use --network host or none only.
  const args = [
    '--host',
    `unix://${socket}`,
    '--pidfile',
    pidFile,
    '--exec-root',
    execRoot,
    '--bridge=none',
    '--iptables=false',
    '--ip-forward=false',
    ...(options.dataRoot !== undefined ? ['--data-root', options.dataRoot] : []),
  ];
  const child = spawn(dockerd, args, { detached: true, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  child.unref();
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!gone()) {
      child.kill('SIGTERM');
      if (!(await exited(child, 30_000))) {
        // dockerd did not finish in time: kill it and the containerd it started (exec root's pid file).
        child.kill('SIGKILL');
        const containerd = livePid(path.join(execRoot, 'containerd', 'containerd.pid'));
        if (containerd !== undefined) process.kill(containerd, 'SIGKILL');
        await exited(child, 5_000);
        return; // the log stays for whoever looks into it
      }
    }
    fs.rmSync(logDir, { recursive: true, force: true });
  };

  const still = await Promise.race([
    waitForEngine(env, startTimeoutMs, gone),
    spawnError.then((err) => `cannot run ${dockerd}: ${err.message}`),
  ]);
  if (still !== undefined) {
    const log = tail(logFile);
    await stop();
    throw new Error(
      `dockerd started here does not answer on ${socket} after ${startTimeoutMs / 1000} s: ${still}\ndockerd log:\n${log}`,
    );
  }
  return { engine: { env, startedPid: child.pid, stop } };
}

/** Outcome of one `docker` command. */
export interface DockerResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `docker ARGS` against the engine of `env` without blocking the event loop (servers of the test keep
 * answering); killed after `timeoutMs` (status null then).
 */
export function docker(env: NodeJS.ProcessEnv, args: readonly string[], timeoutMs = 120_000): Promise<DockerResult> {
  return new Promise((resolve) => {
    const child = spawn('docker', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => (stderr += String(err)));
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code, stdout, stderr });
    });
  });
}
