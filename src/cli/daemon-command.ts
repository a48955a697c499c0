// Composition of the daemon process for `ldir start` in the foreground: logger, metrics, then the daemon until it stops.
import { systemClock } from '../clock';
import { runForeground } from '../daemon/foreground';
import { Observers } from '../daemon/observers';
import { isLdirError } from '../errors';
import { createDaemonLogger } from '../logging/daemon-logger';
import { describeLogDestination } from '../logging/destination';
import { applyDaemonNodeFlags } from '../system/self-command';
import type { ForegroundRunner } from './ldirectord-actions';

/**
 * The {@link ForegroundRunner} of the real binary: logs where `logfile` says (file or syslog; stderr with `-d`,
 * stdout with `supervised=yes`), follows `logfile` changes on reload, and runs the daemon.
 */
export const runDaemonProcess: ForegroundRunner = async (request) => {
  applyDaemonNodeFlags();
  const log = createDaemonLogger({
    logfile: request.logfile, supervised: request.supervised, debug: request.debug,
    fields: { pid: process.pid, config: request.configName },
  });
  log.logger.info(`logging to ${describeLogDestination(log.destination)}`);
  const observers = new Observers({ clock: systemClock(), logger: log.logger });
  const hooks = observers.hooks();
  try {
    return await runForeground({
      ...request, logger: log.logger, ...hooks,
      onStarted: (daemon) => observers.attach(daemon),
      onHandover: (phase) => observers.handover(phase),
      onConfig: (config) => {
        void hooks.onConfig?.(config);
        try {
          if (log.reconfigure(config.globals)) log.logger.info(`logging to ${describeLogDestination(log.destination)}`);
        } catch (err) {
          log.logger.error({ err: isLdirError(err) ? err.message : String(err) }, 'logfile not changed');
        }
      },
    });
  } finally {
    await observers.close();
    log.close();
  }
};
