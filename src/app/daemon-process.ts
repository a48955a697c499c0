// Composition of the daemon process for `ldir start` in the foreground: logger, metrics, then the daemon until it stops.
import { systemClock } from '../clock';
import type { BackendChoice } from '../ipvs/select';
import { runForeground } from './foreground';
import { Observers } from './observers';
import { isLdirError } from '../errors';
import { createDaemonLogger } from '../logging/daemon-logger';
import { SecretRedactor } from '../secrets';
import { describeLogDestination } from '../logging/destination';
import { missingDaemonNodeFlags } from '../system/self-command';

/** What `ldir start` (in the foreground, or as the detached daemon) asks of the daemon process. */
export interface DaemonProcessRequest {
  configPath: string;
  configName: string;
  debug: boolean;
  ipvs: BackendChoice;
  runDirectory?: string;
  socketDirectory?: string;
  stateDirectory?: string;
  /** Where the daemon logs, from the configuration just checked (`logfile`, `supervised`). */
  logfile: string;
  supervised: boolean;
}

/**
 * The daemon process of the real binary: logs where `logfile` says (file or syslog; stderr with `-d`, stdout with
 * `supervised=yes`), follows `logfile` changes on reload, and runs the daemon; resolves with the exit code.
 */
export async function runDaemonProcess(request: DaemonProcessRequest): Promise<number> {
  // One redaction for the log and the control answers: the daemon adds the secrets of each configuration it loads.
  const redactor = new SecretRedactor();
  const log = createDaemonLogger({
    logfile: request.logfile,
    supervised: request.supervised,
    debug: request.debug,
    fields: { pid: process.pid, config: request.configName },
    redactor,
  });
  log.logger.info(`logging to ${describeLogDestination(log.destination)}`);
  const missing = missingDaemonNodeFlags();
  if (missing.length > 0) {
    log.logger.info(
      { missing },
      `node started without ${missing.join(' ')}: about 30 MB more resident memory (young generation of 32 MB ` +
        `instead of 2); run the ldir executable (its #! line has them) or give them to node`,
    );
  }
  const observers = new Observers({ clock: systemClock(), logger: log.logger, redactor });
  const hooks = observers.hooks();
  try {
    return await runForeground({
      ...request,
      logger: log.logger,
      redactor,
      ...hooks,
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
}
