// The daemon's root logger: pino writing to the destination `logfile`, `-d` and `supervised` ask for, switchable on reload.
import pino from 'pino';
import { rootLoggerOptions, type Logger } from '../log';
import { SecretRedactor } from '../secrets';
import { loadNativeAddon, type NativeAddon } from '../native/addon';
import {
  resolveLogDestination,
  sameLogDestination,
  type LogDestination,
  type LogDestinationInput,
} from './destination';
import { fdWriter, type TextWriter } from './fd-writer';
import { FileSink, type LogSink } from './file-sink';
import { renderLine, type LogFormat, type PrettyOptions } from './format';
import { SyslogSink } from './syslog-sink';

/**
 * The syslog ident: ldirectord's own (`openlog("ldirectord", "pid", facility)`), so what operators migrating from
 * ldirectord filter on keeps matching: rsyslog `$programname == "ldirectord"` rules, `journalctl -t ldirectord`,
 * logcheck/logwatch patterns `ldirectord\[[0-9]+\]:`. The records' `name` field stays `ldir`.
 */
export const DEFAULT_SYSLOG_IDENT = 'ldirectord';

/** The syslog functions of the addon, all the logger needs of it. */
export type SyslogAddon = Pick<NativeAddon, 'syslogOpen' | 'syslogWrite' | 'syslogClose'>;

/** Options of {@link createDaemonLogger}; only `logfile` is required. */
export interface DaemonLoggerOptions extends LogDestinationInput {
  /**
   * Record format of the destination. Default: stderr/stdout `pretty` on a terminal, else `json`; file `json`;
   * syslog `pretty` (the message is `msg key=value ...`; `json` sends the JSON record as the message).
   */
  readonly format?: LogFormat;
  /**
   * Fields on every record, after `name: "ldir"`: the daemon passes `{ pid: process.pid, config: cfgname }`, what
   * ldirectord's `[time|cfgname|pid]` line prefix told apart when several instances share one log file (`pid` is
   * not repeated in text output: syslog has it in its header).
   */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** pino level; default `debug` with `-d`, else `info`. */
  readonly level?: pino.LevelWithSilent;
  /** The native addon (for syslog); default `loadNativeAddon`. When it throws, syslog falls back to stderr. */
  readonly addon?: () => SyslogAddon;
  /** Syslog ident; default {@link DEFAULT_SYSLOG_IDENT}. */
  readonly syslogIdent?: string;
  /** Syslog socket; default `/dev/log`. */
  readonly syslogPath?: string;
  /** ANSI colours in `pretty` output; default: when the destination is a terminal and `NO_COLOR` is unset. */
  readonly color?: boolean;
  /** `pretty` timestamps in UTC instead of local time. */
  readonly utc?: boolean;
  /** Standard output and error; default fds 1 and 2 (writes never throw). */
  readonly stdout?: TextWriter;
  readonly stderr?: TextWriter;
  /** Epoch milliseconds for the records' `time`; default the system clock. */
  readonly now?: () => number;
  /** Monotonic milliseconds spacing the log file's rotation checks; default `performance.now`. */
  readonly monotonic?: () => number;
  /** Minimum time between two checks that the log file was rotated; default 1000 ms. */
  readonly fileCheckIntervalMs?: number;
  /**
   * The secret values to hide in every record, wherever they appear (a message, a check's failure reason, a field):
   * the daemon adds those of each configuration it loads. Default: an empty one (keys are still redacted by pino).
   */
  readonly redactor?: SecretRedactor;
}

/** The daemon's root logger and the handle on its destination. */
export interface DaemonLogger {
  /** The root logger: modules receive `logger.child({ module })`. */
  readonly logger: Logger;
  /** Where records go now. */
  readonly destination: LogDestination;
  /**
   * Applies a reloaded config's `logfile`/`supervised` (`-d` stays as started): when the destination changes the new
   * one is opened, records go there from now on and the old one is closed; returns whether it changed. Throws
   * `LDIR_ERR_CONFIG_INVALID` for an unknown facility, changing nothing.
   */
  reconfigure(input: Pick<LogDestinationInput, 'logfile' | 'supervised'>): boolean;
  /** Writes are synchronous: present for callers that flush before exiting. */
  flush(): void;
  /** Closes the destination (file fd, syslog socket); later records go to stderr. Idempotent. */
  close(): void;
}

/** A sink on stdout/stderr. */
function streamSink(out: TextWriter, format: LogFormat, pretty: PrettyOptions): LogSink {
  return { write: (line) => out.write(renderLine(line, format, pretty)), close: () => undefined };
}

/**
 * Creates the daemon's root logger as ldirectord logs: `-d` → stderr at debug level; `supervised=yes` → stdout;
 * `logfile="/path"` → that file (appended, reopened after logrotate renamed it, mode 0640 when created);
 * `logfile="local0"` (any facility) → syslog with ident {@link DEFAULT_SYSLOG_IDENT}, severity from the level.
 * Secrets are redacted on every destination (the same redacted record feeds all of them): fields named as secrets,
 * and every value `redactor` knows, wherever it appears. Never throws for I/O:
 * an unwritable file or an absent syslog is reported once on stderr, which receives the records meanwhile; throws
 * `LDIR_ERR_CONFIG_INVALID` for an unknown facility.
 *
 * ```ts
 * const log = createDaemonLogger({ logfile: config.globals.logfile, supervised: config.globals.supervised, debug: argv.debug });
 * // ... on reload: log.reconfigure(newConfig.globals); on exit: log.close();
 * ```
 */
export function createDaemonLogger(options: DaemonLoggerOptions): DaemonLogger {
  const stderr = options.stderr ?? fdWriter(2);
  const stdout = options.stdout ?? fdWriter(1);
  const noColor = process.env['NO_COLOR'] !== undefined && process.env['NO_COLOR'] !== '';
  let supervised = options.supervised ?? false;

  const streamFor = (out: TextWriter): LogSink => {
    const format = options.format ?? (out.isTTY ? 'pretty' : 'json');
    return streamSink(out, format, {
      color: options.color ?? (out.isTTY === true && !noColor),
      utc: options.utc ?? false,
    });
  };
  const build = (d: LogDestination): LogSink => {
    const pretty: PrettyOptions = { color: false, utc: options.utc ?? false };
    switch (d.kind) {
      case 'stderr':
        return streamFor(stderr);
      case 'stdout':
        return streamFor(stdout);
      case 'file':
        return new FileSink({
          path: d.path,
          format: options.format ?? 'json',
          pretty,
          fallback: stderr,
          ...(options.monotonic ? { now: options.monotonic } : {}),
          ...(options.fileCheckIntervalMs !== undefined ? { checkIntervalMs: options.fileCheckIntervalMs } : {}),
        });
      case 'syslog': {
        let addon: SyslogAddon;
        try {
          addon = (options.addon ?? loadNativeAddon)();
        } catch (err) {
          stderr.write(`ldir: cannot log to syslog (${(err as Error).message}); logging to stderr instead\n`);
          return streamFor(stderr);
        }
        return new SyslogSink({
          addon,
          ident: options.syslogIdent ?? DEFAULT_SYSLOG_IDENT,
          facility: d.facility,
          format: options.format ?? 'pretty',
          fallback: stderr,
          pretty,
          ...(options.syslogPath !== undefined ? { path: options.syslogPath } : {}),
        });
      }
    }
  };

  let destination = resolveLogDestination(options);
  let sink = build(destination);
  let closed = false;
  const redactor = options.redactor ?? new SecretRedactor();
  const router: pino.DestinationStream = {
    write: (record: string) => {
      const line = redactor.jsonLine(record);
      try {
        if (closed) stderr.write(line);
        else sink.write(line);
      } catch {
        stderr.write(line); // sinks do not throw; should one, the record is not lost and the caller not hurt
      }
    },
  };
  const base = rootLoggerOptions(options.level ?? (options.debug ? 'debug' : 'info'), options.now);
  const logger = pino({ ...base, base: { ...base.base, ...options.fields } }, router);

  return {
    logger,
    get destination() {
      return destination;
    },
    reconfigure(input) {
      const next = resolveLogDestination({
        logfile: input.logfile,
        supervised: input.supervised ?? supervised,
        debug: options.debug ?? false,
      });
      supervised = input.supervised ?? supervised;
      if (closed || sameLogDestination(next, destination)) return false;
      const old = sink;
      sink = build(next);
      destination = next;
      old.close();
      return true;
    },
    flush() {
      // every sink writes synchronously
    },
    close() {
      if (closed) return;
      closed = true;
      sink.close();
    },
  };
}
