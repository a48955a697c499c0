// Writes that never throw: text to an fd (stderr, stdout, a log file) and once-per-episode problem reports.
import * as fs from 'node:fs';
import * as tty from 'node:tty';

/** Something text can be written to without it ever throwing (stderr, stdout, a test capture). */
export interface TextWriter {
  /** Writes the text; failures are swallowed (or handled inside). */
  write(text: string): void;
  /** True when the writer is a terminal (pretty output and colour by default). */
  readonly isTTY?: boolean;
}

/** Upper bound of the time one write may spend waiting on a full non-blocking pipe (EAGAIN), in ms. */
const EAGAIN_BUDGET_MS = 50;

/** Blocks the thread for `ms` milliseconds (only used to wait out EAGAIN on a full pipe, bounded). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Writes all of `text` to `fd` synchronously; a full non-blocking pipe (EAGAIN) is retried for at most 50 ms.
 * Returns the error that stopped the write, or undefined once everything is written. Never throws.
 */
export function writeAllSync(fd: number, text: string): NodeJS.ErrnoException | undefined {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  let waited = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && waited < EAGAIN_BUDGET_MS) {
        sleepSync(1);
        waited += 1;
        continue;
      }
      return err as NodeJS.ErrnoException;
    }
  }
  return undefined;
}

/** A {@link TextWriter} on a file descriptor (1 = stdout, 2 = stderr); lost writes (EPIPE, EBADF) are dropped. */
export function fdWriter(fd: number): TextWriter {
  return {
    isTTY: tty.isatty(fd),
    write(text: string): void {
      writeAllSync(fd, text);
    },
  };
}

/**
 * Reports a lasting problem once: the first {@link report} writes one `ldir: ...` line, repeats stay silent until
 * {@link recovered} ends the episode (which writes one more line, so the gap in the logs is explained).
 */
export class EpisodeReporter {
  private active = false;

  constructor(private readonly out: TextWriter) {}

  /** True while a reported problem lasts. */
  get failing(): boolean {
    return this.active;
  }

  /** Writes `ldir: <text>` unless a problem is already being reported. */
  report(text: string): void {
    if (this.active) return;
    this.active = true;
    this.out.write(`ldir: ${text}\n`);
  }

  /** Ends the episode; writes `ldir: <text>` when a problem had been reported. */
  recovered(text: string): void {
    if (!this.active) return;
    this.active = false;
    this.out.write(`ldir: ${text}\n`);
  }
}
