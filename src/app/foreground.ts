// Runs the daemon in this process until it stops: signals (HUP reload, TERM/INT stop), start report, exit code.
import { toWireDiagnostic } from '../daemon/protocol';
import type { Diagnostic } from '../config/diagnostics';
import { errorMessage, isLdirError } from '../errors';
import type { Logger } from '../log';
import { closeInheritedDescriptors } from '../system/inherited-fds';
import type { Daemon, DaemonOptions } from '../daemon/daemon';
import { startDaemon } from './compose-daemon';
import { PredecessorLink } from '../daemon/handover';
import { READY_FD_ENV, reportStart } from '../daemon/launch';

/** Options of {@link runForeground}: the daemon's, plus where signals come from (the process by default). */
export interface ForegroundOptions extends Omit<DaemonOptions, 'onStopped' | 'predecessor' | 'canHandOver'> {
  readonly signals?: Pick<NodeJS.Process, 'on' | 'off'>;
  /** Called with the daemon once it runs (tests, and the composition of alerts/metrics). */
  readonly onStarted?: (daemon: Daemon) => void;
  /** The process environment (the launch's ready fd, the successor marker). Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * How this process was started: by `ldir start` (the ready fd), by a running daemon as its successor (IPC channel),
 * or in the foreground by a person or a supervisor. A detached daemon closes the descriptors it inherited beyond
 * 0-2 at once, so that whoever ran `ldir start` is not kept waiting on them.
 */
function launchOf(env: NodeJS.ProcessEnv, logger: Logger): { predecessor?: PredecessorLink; detached: boolean } {
  const predecessor = PredecessorLink.fromProcess();
  const readyFd = env[READY_FD_ENV] !== undefined ? Number(env[READY_FD_ENV]) : undefined;
  const detached = predecessor !== undefined || readyFd !== undefined;
  if (detached) {
    const closed = closeInheritedDescriptors(readyFd !== undefined && Number.isInteger(readyFd) ? [readyFd] : []);
    if (closed.length > 0) logger.info({ fds: closed }, 'closed descriptors inherited from the launching process');
  }
  return { ...(predecessor ? { predecessor } : {}), detached };
}

/**
 * Starts the daemon and resolves with the process exit code once it has stopped: 0 after a clean stop, 2 when the
 * configuration has errors, 1 when it could not start otherwise. The launching `ldir start` (if any) gets the
 * start report on its pipe.
 */
export async function runForeground(options: ForegroundOptions, logger: Logger = options.logger): Promise<number> {
  const signals = options.signals ?? process;
  const env = options.env ?? process.env;
  const launch = launchOf(env, logger);
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => {
    resolveStopped = r;
  });
  // Handlers go in before the daemon starts: a SIGTERM that arrives while it starts (a service manager giving up on
  // a slow start) must still run the cleanup, and Node's default action would kill the process half-way. Signals
  // that arrive during start-up are acted on once it has finished.
  let daemon: Daemon | undefined;
  let pendingStop: string | undefined;
  let pendingReload = false;
  const onHup = (): void => {
    logger.info('SIGHUP: reloading');
    if (daemon) void daemon.reload();
    else pendingReload = true;
  };
  // A successor that is told to stop before it took over gives up at once: the old daemon goes on.
  const abortTakeover = new AbortController();
  const onStop = (signal: string) => (): void => {
    logger.info(`${signal}: stopping`);
    if (daemon) {
      void daemon.stop();
      return;
    }
    if (launch.predecessor) abortTakeover.abort(); // too late once it took over: then it stops once started
    pendingStop ??= signal;
  };
  const onTerm = onStop('SIGTERM');
  const onInt = onStop('SIGINT');
  const removeHandlers = (): void => {
    signals.off('SIGHUP', onHup);
    signals.off('SIGTERM', onTerm);
    signals.off('SIGINT', onInt);
  };
  signals.on('SIGHUP', onHup);
  signals.on('SIGTERM', onTerm);
  signals.on('SIGINT', onInt);
  try {
    daemon = await startDaemon({
      ...options,
      onStopped: () => resolveStopped(),
      canHandOver: launch.detached,
      ...(launch.predecessor ? { predecessor: launch.predecessor, abortTakeover: abortTakeover.signal } : {}),
    });
  } catch (err) {
    removeHandlers();
    const exitCode = isLdirError(err) && typeof err.details['exitCode'] === 'number' ? err.details['exitCode'] : 1;
    const message = errorMessage(err);
    const code = isLdirError(err) ? err.code : 'LDIR_ERR_DAEMON_START_FAILED';
    logger.error({ code: isLdirError(err) ? err.code : undefined }, `ldir could not start: ${message}`);
    if (launch.predecessor) {
      const diagnostics = isLdirError(err) ? (err.details['diagnostics'] as Diagnostic[] | undefined) : undefined;
      await launch.predecessor.failed({
        code,
        message,
        exitCode,
        ...(diagnostics ? { diagnostics: diagnostics.map(toWireDiagnostic) } : {}),
      });
    } else {
      reportStart({ ready: false, code, message, exitCode }, env);
    }
    return exitCode;
  }
  options.onStarted?.(daemon);
  if (launch.predecessor) await launch.predecessor.ready(options.pid ?? process.pid);
  else reportStart({ ready: true, pid: options.pid ?? process.pid }, env);
  if (pendingStop !== undefined) {
    logger.info(`${pendingStop} arrived while starting: stopping now`);
    void daemon.stop();
  } else if (pendingReload) {
    void daemon.reload();
  }
  await stopped;
  removeHandlers();
  return 0;
}
