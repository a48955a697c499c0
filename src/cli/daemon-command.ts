// Composition of the daemon process for `ldir start` in the foreground: logger, then the daemon until it stops.
import { runForeground } from '../daemon/foreground';
import { createLogger } from '../log';
import type { ForegroundRunner } from './ldirectord-actions';

/** The {@link ForegroundRunner} of the real binary: logs to stderr (debug level with `-d`) and runs the daemon. */
export const runDaemonProcess: ForegroundRunner = async (request) => {
  const logger = createLogger({ level: request.debug ? 'debug' : 'info' });
  return runForeground({ ...request, logger });
};
