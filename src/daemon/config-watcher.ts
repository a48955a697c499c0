// `autoreload`/`callback`: notices when the configuration file's content changes (not merely its mtime).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { Clock, TimerHandle } from '../clock';

/** Options of {@link ConfigWatcher}. */
export interface ConfigWatcherOptions {
  readonly path: string;
  readonly clock: Clock;
  /** Milliseconds between looks at the file; ldirectord looks every second. Default 1000. */
  readonly intervalMs?: number;
  /** Called once per content change (never for a touch that leaves the content as it was). Must not throw. */
  readonly onChange: () => void;
}

/** The digest of a file's content, or undefined when it cannot be read. */
export function fileDigest(path: string): string | undefined {
  try {
    return createHash('sha256').update(fs.readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * Watches one file by polling, as ldirectord's `check_cfgfile`: a cheap stat every interval, and a digest of the
 * content only when mtime, size or inode moved. Editors that replace the file (rename) are handled the same way.
 */
export class ConfigWatcher {
  private stamp: string | undefined;
  private digest: string | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly options: ConfigWatcherOptions) {
    this.stamp = this.statStamp();
    this.digest = fileDigest(options.path);
  }

  /** Starts watching. */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Takes the current content as the known one (after a reload the daemon made itself). */
  accept(): void {
    this.stamp = this.statStamp();
    this.digest = fileDigest(this.options.path);
  }

  /** Stops watching. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Looks at the file once; true when its content changed since the last look. */
  poll(): boolean {
    const stamp = this.statStamp();
    if (stamp === this.stamp) return false;
    this.stamp = stamp;
    const digest = fileDigest(this.options.path);
    if (digest === undefined || digest === this.digest) return false;
    this.digest = digest;
    return true;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.poll()) this.options.onChange();
      this.schedule();
    }, this.options.intervalMs ?? 1000);
  }

  private statStamp(): string | undefined {
    try {
      const st = fs.statSync(this.options.path);
      return `${st.mtimeMs}:${st.size}:${st.ino}:${st.dev}`;
    } catch {
      return undefined;
    }
  }
}
