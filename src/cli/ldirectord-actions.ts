// ldirectord-compatible invocation: `ldir [-d] [CONFIG] start|stop|restart|try-restart|reload|force-reload|status`.
import * as path from 'node:path';
import type { LoadOptions } from '../config/load';
import type { LocateOptions } from '../config/locate';
import { launchDaemon } from '../daemon/launch';
import { controlSocketPath } from '../daemon/protocol';
import type { BackendChoice } from '../ipvs/select';
import { isLdirProcess, pidFilePath, readPidState, type PidState } from '../system/pid-file';
import { runReloadCommand, runStatusCommand, runStopCommand } from './control-commands';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';
import { loadForCli } from './load-for-cli';

/** The actions ldirectord accepts. */
export const LDIRECTORD_ACTIONS = ['start', 'stop', 'restart', 'try-restart', 'reload', 'force-reload', 'status'] as const;
/** One of {@link LDIRECTORD_ACTIONS}. */
export type LdirectordAction = (typeof LDIRECTORD_ACTIONS)[number];

/** Runs the daemon in this process (the composition in cli/daemon-command.ts); resolves with the exit code. */
export type ForegroundRunner = (request: {
  configPath: string; configName: string; debug: boolean; ipvs: BackendChoice; runDirectory?: string; socketDirectory?: string;
  /** Where the daemon logs, from the configuration just checked (`logfile`, `supervised`). */
  logfile: string; supervised: boolean;
}) => Promise<number>;

/** Options of {@link runLdirectordAction}. */
export interface ActionOptions {
  readonly config?: string;
  readonly action: LdirectordAction;
  readonly debug: boolean;
  /** `status --json`. */
  readonly json?: boolean;
  /** `--foreground` (also implied by `supervised=yes`): run the daemon in this process instead of detaching. */
  readonly foreground?: boolean;
  readonly ipvs?: BackendChoice;
  readonly load?: LoadOptions;
  readonly locate?: LocateOptions;
  readonly runDirectory?: string;
  readonly socketDirectory?: string;
  readonly procRoot?: string;
  /** How `start` runs the daemon in the foreground; required for start/restart. */
  readonly runForeground?: ForegroundRunner;
  /** Program and arguments that start `ldir` (default: this Node and dist/src/main.js); `start` appends its own. */
  readonly selfCommand?: readonly string[];
  /**
   * `--timeout=SECONDS`: how long this action waits, whatever it waits for: `start` the daemon's ready report
   * (default 60 s), `stop` the daemon's exit after its cleanup (default 30 s), `restart` each of those, `reload` and
   * `status` the daemon's answer (the control requests' defaults).
   */
  readonly timeoutMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until no live daemon holds the pid file and process `pid` has exited: the daemon releases its pid file at
 * the end of its cleanup, a moment before it closes its control socket and exits, and a `start` right after `stop`
 * (restart) must not meet the old process still answering there. False when `ms` passed first.
 */
async function waitGone(pidFile: string, pid: number, procRoot: string | undefined, ms: number): Promise<boolean> {
  const gone = (): boolean => readPidState(pidFile, procRoot).state !== 'running' && !isLdirProcess(pid, procRoot);
  const deadline = Date.now() + ms;
  for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
    if (gone()) return true;
    await sleep(20);
  }
  return gone();
}

/**
 * Runs an ldirectord action. Like ldirectord the configuration is parsed first and any error gives exit 2 for
 * every action; unlike ldirectord a broken configuration never touches the running daemon (nor its pid file),
 * `start` reports errors that happen after it detached, and `stop` returns once the cleanup is done.
 */
export async function runLdirectordAction(options: ActionOptions, io: CliIo): Promise<number> {
  const loaded = await loadForCli(options.config, io, { ...options.load, debug: options.debug }, options.locate);
  if ('exitCode' in loaded) return loaded.exitCode;
  const { located, config } = loaded;
  const pidFile = pidFilePath(located.name, options.runDirectory);
  const socketPath = controlSocketPath(located.name, options.socketDirectory);
  const pid = readPidState(pidFile, options.procRoot);
  const configPath = located.path as string;
  const stopWaitMs = options.timeoutMs ?? 30_000;
  const requestTimeout = options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {};

  const stop = async (state: PidState): Promise<number> => {
    if (state.state !== 'running') return ExitCode.OK;
    const viaSocket = await runStopCommand({ socketPath, ...requestTimeout }, io);
    if (viaSocket !== ExitCode.OK) {
      io.stderr(`ldir: the daemon did not answer on ${socketPath}; sending SIGTERM to pid ${state.pid}\n`);
      try {
        process.kill(state.pid, 'SIGTERM');
      } catch {
        return ExitCode.OK; // already gone
      }
    }
    if (await waitGone(pidFile, state.pid, options.procRoot, stopWaitMs)) return ExitCode.OK;
    io.stderr(`ldir: pid ${state.pid} is still running after ${stopWaitMs / 1000} s\n`);
    return ExitCode.FAILURE;
  };

  const start = async (): Promise<number> => {
    if (readPidState(pidFile, options.procRoot).state === 'running') {
      io.stderr(`ldir for ${configPath} is already running\n`);
      return ExitCode.OK;
    }
    const ipvs = options.ipvs ?? 'auto';
    if (options.foreground || config.globals.supervised) {
      if (!options.runForeground) throw new Error('runLdirectordAction: start needs runForeground');
      return options.runForeground({
        configPath, configName: located.name, debug: options.debug, ipvs,
        logfile: config.globals.logfile, supervised: config.globals.supervised,
        ...(options.runDirectory !== undefined ? { runDirectory: options.runDirectory } : {}),
        ...(options.socketDirectory !== undefined ? { socketDirectory: options.socketDirectory } : {}),
      });
    }
    const self = options.selfCommand ?? [process.execPath, path.resolve(__dirname, '..', 'main.js')];
    const report = await launchDaemon({
      command: self[0] as string,
      args: [...self.slice(1), '--foreground', `--ipvs=${ipvs}`, ...(options.debug ? ['-d'] : []), configPath, 'start'],
      ...(options.selfCommand === undefined ? { argv0: 'ldir' } : {}),
      ...(options.timeoutMs !== undefined ? { readyTimeoutMs: options.timeoutMs } : {}),
    });
    if (report.ready) return ExitCode.OK;
    io.stderr(`ldir: ${report.message}\n`);
    return report.exitCode;
  };

  switch (options.action) {
    case 'status':
      if (pid.state === 'running') {
        io.stderr(`ldir for ${configPath} is running with pid: ${pid.pid}\n`);
        const code = await runStatusCommand({ socketPath, json: options.json ?? false, width: process.stdout.isTTY ? process.stdout.columns : Infinity, ...requestTimeout }, io);
        return code === ExitCode.OK ? ExitCode.OK : ExitCode.FAILURE; // alive but not answering: not healthy
      }
      if (pid.state === 'stale') io.stderr(`ldirectord stale pid file ${pidFile} for ${configPath}\n`);
      io.stdout(`ldir is stopped for ${configPath}\n`);
      return pid.state === 'stale' ? ExitCode.FAILURE : ExitCode.NOT_RUNNING;
    case 'stop':
      return stop(pid);
    case 'try-restart':
      if (pid.state !== 'running') return ExitCode.OK;
      return (await stop(pid)) === ExitCode.OK ? start() : ExitCode.FAILURE;
    case 'restart':
      return (await stop(pid)) === ExitCode.OK ? start() : ExitCode.FAILURE;
    case 'reload':
    case 'force-reload':
      if (pid.state !== 'running') {
        io.stderr(`ldir is stopped for ${configPath}\n`);
        return ExitCode.FAILURE;
      }
      return runReloadCommand({ socketPath, ...requestTimeout }, io);
    case 'start':
      return start();
  }
}
