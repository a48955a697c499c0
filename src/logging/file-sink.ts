// Log file destination: appends to a kept fd and reopens when logrotate renamed or removed the file (no signal needed).
import * as fs from 'node:fs';
import { unappendableKind } from '../system/file-kind';
import { EpisodeReporter, writeAllSync, type TextWriter } from './fd-writer';
import { renderLine, type LogFormat, type PrettyOptions } from './format';

/** A destination of pino JSON lines (one record per call, newline included). */
export interface LogSink {
  /** Writes one record; never throws. */
  write(line: string): void;
  /** Releases the destination (fd, socket); later writes go to the fallback. Idempotent. */
  close(): void;
}

/** Options of {@link FileSink}. */
export interface FileSinkOptions {
  /** Absolute path of the log file (`logfile="/var/log/ldirectord.log"`). */
  readonly path: string;
  /** `json` (pino lines, the default) or `pretty`. */
  readonly format?: LogFormat;
  readonly pretty?: PrettyOptions;
  /** Where problems are reported (once) and where lines go while the file cannot be written: stderr. */
  readonly fallback: TextWriter;
  /** Monotonic milliseconds, for spacing the rotation checks; default `performance.now`. */
  readonly now?: () => number;
  /** Minimum time between two checks that the path still names the open file; default 1000 ms. */
  readonly checkIntervalMs?: number;
  /** Mode of a file the sink creates (before the umask); default 0o640. */
  readonly mode?: number;
}

/**
 * Appends records to a log file through one kept fd, like ldirectord's open-append-close per line but without a
 * syscall triple per record: at most once per `checkIntervalMs`, on a write, the path is stat'ed and the file
 * reopened when it is gone or is another file (dev/inode changed), so `logrotate` with a plain rename (no
 * copytruncate, no postrotate signal) works and the first lines after the rotation land in the new file. A file
 * that cannot be opened or written is reported once on the fallback, which receives the lines meanwhile; the
 * open is retried at every check, so logging resumes by itself. Writes are synchronous (ordered, nothing lost on
 * a crash) and never throw.
 */
export class FileSink implements LogSink {
  private fd = -1;
  private dev = -1;
  private ino = -1;
  private lastCheck = Number.NEGATIVE_INFINITY;
  private closed = false;
  private readonly problems: EpisodeReporter;
  private readonly now: () => number;

  constructor(private readonly options: FileSinkOptions) {
    this.problems = new EpisodeReporter(options.fallback);
    this.now = options.now ?? (() => performance.now());
    this.lastCheck = this.now();
    this.open();
  }

  /** The path written to. */
  get path(): string {
    return this.options.path;
  }

  /** Writes one record (rendered in the sink's format); checks for rotation first when a check is due. */
  write(line: string): void {
    const text = renderLine(line, this.options.format ?? 'json', this.options.pretty);
    if (this.closed) {
      this.options.fallback.write(text);
      return;
    }
    const t = this.now();
    if (t - this.lastCheck >= (this.options.checkIntervalMs ?? 1000)) {
      this.lastCheck = t;
      this.checkPath();
    }
    if (this.fd < 0) {
      this.options.fallback.write(text);
      return;
    }
    const err = writeAllSync(this.fd, text);
    if (err === undefined) {
      this.problems.recovered(`log file ${this.options.path} is writable again`);
      return;
    }
    this.problems.report(
      `cannot write log file ${this.options.path}: ${err.code ?? err.message}; logging to stderr until it works again`,
    );
    this.options.fallback.write(text);
    this.closeFd(); // reopened at the next check
  }

  /** Closes the fd; idempotent. */
  close(): void {
    this.closed = true;
    this.closeFd();
  }

  /** Reopens the file when the path no longer names the open file (renamed, removed) or nothing is open. */
  private checkPath(): void {
    if (this.fd >= 0) {
      try {
        const st = fs.statSync(this.options.path);
        if (st.dev === this.dev && st.ino === this.ino) return;
      } catch {
        // gone: reopen below (creates it)
      }
      this.closeFd();
    }
    this.open();
  }

  /**
   * Opens (creating with the mode) the file for appending; reports a failure once instead of throwing. Non-blocking, so
   * that a FIFO put at the path (after `ldir check` accepted it) fails with ENXIO instead of hanging the daemon until
   * something reads it; a FIFO or socket that did open is closed again and refused.
   */
  private open(): void {
    try {
      const flags = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NONBLOCK;
      const fd = fs.openSync(this.options.path, flags, this.options.mode ?? 0o640);
      const st = fs.fstatSync(fd);
      const kind = unappendableKind(st);
      if (kind !== undefined) {
        fs.closeSync(fd);
        this.problems.report(`cannot log to ${this.options.path}: it is ${kind}; logging to stderr instead`);
        return;
      }
      this.fd = fd;
      this.dev = st.dev;
      this.ino = st.ino;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.problems.report(
        `cannot open log file ${this.options.path}: ${e.code ?? e.message}; logging to stderr until it can be opened`,
      );
    }
  }

  /** Closes the current fd if any. */
  private closeFd(): void {
    if (this.fd < 0) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // nothing to do
    }
    this.fd = -1;
  }
}
