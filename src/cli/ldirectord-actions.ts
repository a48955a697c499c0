// ldirectord-compatible invocation: `ldir [-d] [CONFIG] start|stop|restart|try-restart|reload|force-reload|status`.
import type { DaemonProcessRequest } from '../app/daemon-process';
import type { LoadOptions } from '../config/load';
import { locateConfig, type LocatedConfig, type LocateOptions } from '../config/locate';
import { HANDOVER_ENV } from '../daemon/handover';
import { launchDaemon } from '../daemon/launch';
import { controlSocketPath } from '../daemon/protocol';
import { ErrorCodes } from '../errors';
import type { Config } from '../model';
import type { BackendChoice } from '../ipvs/select';
import { pidFilePath, readPidState } from '../system/pid-file';
import { runReloadCommand, runReloadPreviewCommand, runStatusCommand, runStopCommand } from './control-commands';
import { warnIfConfigBroken } from './config-warnings';
import { findDaemon, processGone, type Presence } from './daemon-presence';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';
import { loadForCli } from './load-for-cli';
import { requestRestart } from './restart-command';
import { selfCommand } from '../system/self-command';

/** The actions ldirectord accepts. */
export const LDIRECTORD_ACTIONS = [
  'start',
  'stop',
  'restart',
  'try-restart',
  'reload',
  'force-reload',
  'status',
] as const;
/** One of {@link LDIRECTORD_ACTIONS}. */
export type LdirectordAction = (typeof LDIRECTORD_ACTIONS)[number];

/** Runs the daemon in this process (the composition root, app/daemon-process.ts); resolves with the exit code. */
export type ForegroundRunner = (request: DaemonProcessRequest) => Promise<number>;

/** Options of {@link runLdirectordAction}. */
export interface ActionOptions {
  readonly config?: string;
  readonly action: LdirectordAction;
  readonly debug: boolean;
  /** `status --json`, `reload --dry-run --json`. */
  readonly json?: boolean;
  /** `reload --dry-run` (also `force-reload`): show what the reload would do, change nothing. */
  readonly dryRun?: boolean;
  /** `--foreground` (also implied by `supervised=yes`): run the daemon in this process instead of detaching. */
  readonly foreground?: boolean;
  readonly ipvs?: BackendChoice;
  readonly load?: LoadOptions;
  readonly locate?: LocateOptions;
  readonly runDirectory?: string;
  readonly socketDirectory?: string;
  /** Directory of the daemon's state file (runtime weights, hand drains); default /var/lib/ldir. */
  readonly stateDirectory?: string;
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
 * Polls until no daemon holds the pid file and process `pid` (when known) has exited: the daemon removes its pid
 * file and lets go of its lock at the end of its cleanup, after it closed its control socket, and a `start` right
 * after `stop` must not meet the old process's metrics endpoint still bound. False when `ms` passed first.
 */
async function waitGone(pidFile: string, pid: number | undefined, ms: number): Promise<boolean> {
  const gone = (): boolean => readPidState(pidFile).state !== 'running' && (pid === undefined || processGone(pid));
  const deadline = Date.now() + ms;
  for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
    if (gone()) return true;
    await sleep(20);
  }
  return gone();
}

/**
 * The actions that work on the daemon of a configuration found by the configuration's name alone (its pid file and
 * control socket), whatever the file says: a cluster manager must always be able to stop a resource and ask its
 * state (one that cannot stop it fences the node), and Heartbeat calls `ldirectord CONFIG stop|status` directly.
 */
const BY_NAME: ReadonlySet<LdirectordAction> = new Set<LdirectordAction>(['stop', 'status']);

/**
 * Runs an ldirectord action. `start`, `restart`, `try-restart` and `reload` parse the configuration first, as
 * ldirectord, and any error gives exit 2 without touching the running daemon (nor its pid file); `stop` and `status`
 * find the daemon by the configuration's name and never depend on the file: a missing or broken one is only a
 * warning (unlike ldirectord, which refuses them too). `start` reports errors that happen after it detached, `stop`
 * returns once the cleanup is done, and `restart` hands the director to a new daemon without a gap
 * (docs/operations.md). The daemon is found by its control socket and its pid file's lock, however it was started.
 */
export async function runLdirectordAction(options: ActionOptions, io: CliIo): Promise<number> {
  const loadOptions = { ...options.load, debug: options.debug };
  let located: LocatedConfig;
  let config: Config | undefined;
  if (BY_NAME.has(options.action)) {
    located = locateConfig(options.config, options.locate);
    await warnIfConfigBroken(located, options.config, io, loadOptions);
  } else {
    const loaded = await loadForCli(options.config, io, loadOptions, options.locate);
    if ('exitCode' in loaded) return loaded.exitCode;
    ({ located, config } = loaded);
  }
  const pidFile = pidFilePath(located.name, options.runDirectory);
  const socketPath = controlSocketPath(located.name, options.socketDirectory);
  /** The file as messages name it (the name as given when it is not found). */
  const configPath = located.path ?? options.config ?? located.name;
  const stopWaitMs = options.timeoutMs ?? 30_000;
  const requestTimeout = options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {};
  const ipvs = options.ipvs ?? 'auto';
  const self = options.selfCommand ?? selfCommand();
  const presence = (): Promise<Presence> => findDaemon({ pidFile, socketPath });

  const stop = async (found: Presence): Promise<number> => {
    if (found.state !== 'running') return ExitCode.OK;
    const viaSocket = found.answers ? await runStopCommand({ socketPath, ...requestTimeout }, io) : ExitCode.FAILURE;
    if (viaSocket !== ExitCode.OK) {
      if (found.pid === undefined) {
        io.stderr(`ldir: the daemon does not answer on ${socketPath} and ${pidFile} names no pid\n`);
        return ExitCode.FAILURE;
      }
      io.stderr(`ldir: the daemon did not answer on ${socketPath}; sending SIGTERM to pid ${found.pid}\n`);
      try {
        process.kill(found.pid, 'SIGTERM');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EPERM') return ExitCode.OK; // already gone
        io.stderr(`ldir: not allowed to signal pid ${found.pid} (EPERM): only root (the daemon's user) can stop it\n`);
        return ExitCode.FAILURE;
      }
    }
    if (await waitGone(pidFile, found.pid, stopWaitMs)) return ExitCode.OK;
    io.stderr(`ldir: pid ${found.pid ?? '?'} is still running after ${stopWaitMs / 1000} s\n`);
    return ExitCode.FAILURE;
  };

  const foreground = (globals: Config['globals']): Promise<number> => {
    if (!options.runForeground) throw new Error('runLdirectordAction: start needs runForeground');
    return options.runForeground({
      configPath,
      configName: located.name,
      debug: options.debug,
      ipvs,
      logfile: globals.logfile,
      supervised: globals.supervised,
      ...(options.runDirectory !== undefined ? { runDirectory: options.runDirectory } : {}),
      ...(options.socketDirectory !== undefined ? { socketDirectory: options.socketDirectory } : {}),
      ...(options.stateDirectory !== undefined ? { stateDirectory: options.stateDirectory } : {}),
    });
  };

  const start = async (): Promise<number> => {
    if (!config) throw new Error(`runLdirectordAction: ${options.action} needs the configuration`);
    // A restart's successor is started by the running daemon itself: it takes over rather than refuse.
    if (process.env[HANDOVER_ENV] === '1') return foreground(config.globals);
    if ((await presence()).state === 'running') {
      io.stderr(`ldir for ${configPath} is already running\n`);
      return ExitCode.OK;
    }
    if (options.foreground || config.globals.supervised) return foreground(config.globals);
    const report = await launchDaemon({
      command: self[0] as string,
      args: [...self.slice(1), '--foreground', `--ipvs=${ipvs}`, ...(options.debug ? ['-d'] : []), configPath, 'start'],
      ...(options.selfCommand === undefined ? { argv0: 'ldir' } : {}),
      ...(options.timeoutMs !== undefined ? { readyTimeoutMs: options.timeoutMs } : {}),
    });
    if (report.ready) return ExitCode.OK;
    if (report.code === ErrorCodes.ALREADY_RUNNING) {
      // Another start won the race for the lock: as ldirectord, starting a running director is a success.
      io.stderr(`ldir for ${configPath} is already running\n`);
      return ExitCode.OK;
    }
    io.stderr(`ldir: ${report.message}\n`);
    return report.exitCode;
  };

  /** Stop, then start: what a restart falls back to when the running daemon cannot hand over. */
  const stopThenStart = async (found: Presence): Promise<number> =>
    (await stop(found)) === ExitCode.OK ? start() : ExitCode.FAILURE;

  const restart = async (found: Presence): Promise<number> => {
    if (found.state !== 'running') return start();
    if (!found.answers) {
      io.stderr(`ldir: the running daemon does not answer: restarting with stop and start\n`);
      return stopThenStart(found);
    }
    const timeoutMs = options.timeoutMs ?? 60_000;
    const outcome = await requestRestart(
      {
        socketPath,
        previousPid: found.pid,
        deadline: Date.now() + timeoutMs + 15_000,
        program: self,
        ipvs,
        debug: options.debug,
        timeoutMs,
      },
      io,
    );
    switch (outcome.kind) {
      case 'done':
        io.stderr(
          `ldir for ${configPath}: pid ${outcome.previousPid} handed over to pid ${outcome.pid} in ${outcome.durationMs} ms\n`,
        );
        return ExitCode.OK;
      case 'classic':
        io.stderr(`ldir: ${outcome.why}: restarting with stop and start (cleanstop applies)\n`);
        return stopThenStart(await presence());
      case 'stopping': {
        const now = await presence();
        return (await waitGone(pidFile, now.state === 'absent' ? undefined : now.pid, stopWaitMs))
          ? start()
          : ExitCode.FAILURE;
      }
      case 'failed':
        return outcome.exitCode;
    }
  };

  switch (options.action) {
    case 'status': {
      const found = await presence();
      if (found.state === 'running') {
        io.stderr(`ldir for ${configPath} is running with pid: ${found.pid ?? '?'}\n`);
        const code = await runStatusCommand(
          {
            socketPath,
            json: options.json ?? false,
            width: process.stdout.isTTY ? process.stdout.columns : Infinity,
            ...requestTimeout,
          },
          io,
        );
        // Alive and answering: 0, or 4 when its health verdict is failing; alive but not answering: 1 (not healthy).
        return code === ExitCode.OK || code === ExitCode.FAILING ? code : ExitCode.FAILURE;
      }
      if (found.state === 'stale') io.stderr(`ldirectord stale pid file ${pidFile} for ${configPath}\n`);
      io.stdout(`ldir is stopped for ${configPath}\n`);
      return found.state === 'stale' ? ExitCode.FAILURE : ExitCode.NOT_RUNNING;
    }
    case 'stop':
      return stop(await presence());
    case 'try-restart': {
      const found = await presence();
      return found.state === 'running' ? restart(found) : ExitCode.OK;
    }
    case 'restart':
      return restart(await presence());
    case 'reload':
    case 'force-reload':
      if ((await presence()).state !== 'running') {
        io.stderr(`ldir is stopped for ${configPath}\n`);
        return ExitCode.FAILURE;
      }
      if (options.dryRun)
        return runReloadPreviewCommand({ socketPath, json: options.json ?? false, ...requestTimeout }, io);
      return runReloadCommand({ socketPath, ...requestTimeout }, io);
    case 'start':
      return start();
  }
}
