// pino logger factory: one root logger per process, modules receive child loggers.
import pino from 'pino';

/** The logger type every module receives. */
export type Logger = pino.Logger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** pino level; `debug` with `-d`. */
  readonly level?: pino.LevelWithSilent;
  /** Destination stream; default stderr. */
  readonly destination?: pino.DestinationStream;
}

/** Keys whose values are replaced by `[redacted]` wherever they appear in a log record. */
export const REDACTED_KEYS: readonly string[] = ['passwd', 'secret', 'password', 'smtpPassword', '*.passwd', '*.secret', '*.password'];

/** Creates the root logger; secrets are redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { name: 'ldir' },
      redact: { paths: [...REDACTED_KEYS], censor: '[redacted]' },
    },
    options.destination ?? pino.destination(2),
  );
}

/** A logger that discards everything, for tests and quiet commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
