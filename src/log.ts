// pino logger factory: one root logger per process, modules receive child loggers.
import pino from 'pino';
import { REDACTED, SECRET_FIELDS } from './secrets';

/** The logger type every module receives. */
export type Logger = pino.Logger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** pino level; `debug` with `-d`. */
  readonly level?: pino.LevelWithSilent;
  /** Destination stream; default stderr. */
  readonly destination?: pino.DestinationStream;
}

/**
 * Keys whose values pino replaces by `[redacted]` in a log record, at the top level and one level down: the
 * {@link SECRET_FIELDS}. (The daemon's logger also hides every secret value of its configuration wherever it appears
 * in a record: src/logging/daemon-logger.ts.)
 */
export const REDACTED_KEYS: readonly string[] = [...SECRET_FIELDS].flatMap((k) => [k, `*.${k}`]);

/**
 * The pino options of every ldir root logger: level, `name: ldir`, secrets redacted; `now` (epoch ms) replaces the
 * clock of the `time` field (tests).
 */
export function rootLoggerOptions(level: pino.LevelWithSilent = 'info', now?: () => number): pino.LoggerOptions {
  return {
    level,
    base: { name: 'ldir' },
    redact: { paths: [...REDACTED_KEYS], censor: REDACTED },
    ...(now ? { timestamp: () => `,"time":${now()}` } : {}),
  };
}

/** Creates the root logger; secrets are redacted. The daemon uses `createDaemonLogger` (src/logging/) instead. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(rootLoggerOptions(options.level ?? 'info'), options.destination ?? pino.destination(2));
}

/** A logger that discards everything, for tests and quiet commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
