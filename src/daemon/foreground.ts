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
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({ ...options, onStopped: () => resolveStopped() });
  } catch (err) {
    const exitCode = isLdirError(err) && typeof err.details['exitCode'] === 'number' ? err.details['exitCode'] : 1;
    const message = err instanceof Error ? err.message : String(err);
    logger.error({ code: isLdirError(err) ? err.code : undefined }, `ldir could not start: ${message}`);
    reportStart({ ready: false, code: isLdirError(err) ? err.code : 'LDIR_ERR_DAEMON_START_FAILED', message, exitCode });
    return exitCode;
  }
  const onHup = (): void => {
    logger.info('SIGHUP: reloading');
    void daemon.reload();
  };
  const onStop = (signal: string) => (): void => {
    logger.info(`${signal}: stopping`);
    void daemon.stop();
  };
  const onTerm = onStop('SIGTERM');
  const onInt = onStop('SIGINT');
  signals.on('SIGHUP', onHup);
  signals.on('SIGTERM', onTerm);
  signals.on('SIGINT', onInt);
  options.onStarted?.(daemon);
  reportStart({ ready: true, pid: options.pid ?? process.pid });
  await stopped;
  signals.off('SIGHUP', onHup);
  signals.off('SIGTERM', onTerm);
  signals.off('SIGINT', onInt);
  return 0;
}
