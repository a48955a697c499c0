// Runs the daemon in this process until it stops: signals (HUP reload, TERM/INT stop), start report, exit code.
import { isLdirError } from '../errors';
import type { Logger } from '../log';
import { Daemon, type DaemonOptions } from './daemon';
import { reportStart } from './launch';

/** Options of {@link runForeground}: the daemon's, plus where signals come from (the process by default). */
export interface ForegroundOptions extends Omit<DaemonOptions, 'onStopped'> {
  readonly signals?: Pick<NodeJS.Process, 'on' | 'off'>;
  /** Called with the daemon once it runs (tests, and the composition of alerts/metrics). */
  readonly onStarted?: (daemon: Daemon) => void;
}

/**
 * Starts the daemon and resolves with the process exit code once it has stopped: 0 after a clean stop, 2 when the
 * configuration has errors, 1 when it could not start otherwise. The launching `ldir start` (if any) gets the
 * start report on its pipe.
 */
export async function runForeground(options: ForegroundOptions, logger: Logger = options.logger): Promise<number> {
  const signals = options.signals ?? process;
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
  const onStop = (signal: string) => (): void => {
    logger.info(`${signal}: stopping`);
    if (daemon) void daemon.stop();
    else pendingStop ??= signal;
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
    daemon = await Daemon.start({ ...options, onStopped: () => resolveStopped() });
  } catch (err) {
    removeHandlers();
    const exitCode = isLdirError(err) && typeof err.details['exitCode'] === 'number' ? err.details['exitCode'] : 1;
    const message = err instanceof Error ? err.message : String(err);
    logger.error({ code: isLdirError(err) ? err.code : undefined }, `ldir could not start: ${message}`);
    reportStart({ ready: false, code: isLdirError(err) ? err.code : 'LDIR_ERR_DAEMON_START_FAILED', message, exitCode });
    return exitCode;
  }
  options.onStarted?.(daemon);
  reportStart({ ready: true, pid: options.pid ?? process.pid });
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
