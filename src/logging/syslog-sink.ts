// syslog destination: one datagram per record through the native addon, text `msg key=value` at a mapped severity.
import type { NativeAddon, NativeSyslogHandle } from '../native/addon';
import { EpisodeReporter, type TextWriter } from './fd-writer';
import type { LogSink } from './file-sink';
import { formatMessage, formatPretty, parseRecord, type LogFormat, type PrettyOptions } from './format';
import { SyslogSeverity, syslogSeverityOf } from './syslog-codes';

/** Largest message text sent (bytes, before the header): rsyslog's default `$MaxMessageSize` is 8 KiB. */
export const SYSLOG_MAX_MESSAGE_BYTES = 8000;

/** Options of {@link SyslogSink}. */
export interface SyslogSinkOptions {
  /** The addon (its `syslogOpen`, `syslogWrite`, `syslogClose`). */
  readonly addon: Pick<NativeAddon, 'syslogOpen' | 'syslogWrite' | 'syslogClose'>;
  /** Program name in the messages (`ident[pid]:`). */
  readonly ident: string;
  /** Facility code (see `SYSLOG_FACILITIES`). */
  readonly facility: number;
  /** Receiver socket; default `/dev/log`. */
  readonly path?: string;
  /** `pretty` (default): `msg key=value ...`; `json`: the pino JSON line as the message. */
  readonly format?: LogFormat;
  /** Where problems are reported (once) and where records go while syslog refuses them: stderr. */
  readonly fallback: TextWriter;
  /** Rendering of the records written to the fallback. */
  readonly pretty?: PrettyOptions;
}

/** Cuts `text` to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, max: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= max) return text;
  let end = max;
  while (end > 0 && ((buf[end] as number) & 0xc0) === 0x80) end--; // do not cut inside a multi-byte sequence
  return buf.subarray(0, end).toString('utf8');
}

/** An errno name of `syslogWrite` with what it means for an operator. */
export function explainSyslogError(code: string): string {
  const why: Record<string, string> = {
    ENOENT: 'no syslog daemon listens there',
    ECONNREFUSED: 'no syslog daemon listens there',
    EAGAIN: 'its queue is full (messages dropped)',
    EPROTOTYPE: 'it is a stream socket, which ldir does not support (configure the syslog daemon for datagrams)',
    EACCES: 'permission denied',
    EBADF: 'the connection was closed',
  };
  return why[code] ? `${code}, ${why[code]}` : code;
}

/**
 * Sends each record to syslog as `<PRI>Mmm dd hh:mm:ss ident[pid]: text`, PRI = facility × 8 + the severity of
 * the pino level (see `syslogSeverityOf`). A message syslog does not take (no receiver, queue full) is written to
 * the fallback instead, and the problem reported there once until syslog accepts messages again. Never throws.
 */
export class SyslogSink implements LogSink {
  private readonly handle: NativeSyslogHandle;
  private readonly problems: EpisodeReporter;
  private closed = false;

  /** Throws TypeError only for bad arguments (ident, facility, path), as `syslogOpen`. */
  constructor(private readonly options: SyslogSinkOptions) {
    this.handle = options.addon.syslogOpen(options.ident, options.facility, options.path);
    this.problems = new EpisodeReporter(options.fallback);
  }

  /** Sends one record. */
  write(line: string): void {
    const record = parseRecord(line);
    const severity = record ? syslogSeverityOf(record.level) : SyslogSeverity.info;
    const text = (this.options.format ?? 'pretty') === 'json' || !record ? line.trimEnd() : formatMessage(record);
    let error: string;
    try {
      error = this.closed
        ? 'EBADF'
        : this.options.addon.syslogWrite(this.handle, severity, truncateUtf8(text, SYSLOG_MAX_MESSAGE_BYTES));
    } catch (err) {
      error = (err as Error).message; // a bug on our side (bad arguments): keep logging
    }
    if (error === '') {
      this.problems.recovered(`syslog (${this.options.path ?? '/dev/log'}) accepts messages again`);
      return;
    }
    this.problems.report(
      `syslog (${this.options.path ?? '/dev/log'}) does not take messages: ${explainSyslogError(error)}; logging to stderr until it does`,
    );
    this.options.fallback.write(record ? formatPretty(record, this.options.pretty) : line);
  }

  /** Closes the socket; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.options.addon.syslogClose(this.handle);
    } catch {
      // nothing to do
    }
  }
}
