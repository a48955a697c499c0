// `autoreload`/`callback`: notices when the configuration's content changes (not merely an mtime): the main file, every
// file it includes, and the set of files each include glob matches.
import * as fs from 'node:fs';
import type { Clock, TimerHandle } from '../clock';
import {
  contentDigest,
  systemIncludeFiles,
  type ConfigSources,
  type IncludeFileSystem,
} from '../config/config-sources';

/** Options of {@link ConfigWatcher}. */
export interface ConfigWatcherOptions {
  /** The main configuration file. */
  readonly path: string;
  /** What the configuration in force was read from (its load's `sources`); default the main file alone. */
  readonly sources?: ConfigSources;
  readonly clock: Clock;
  /** Milliseconds between looks at the files; ldirectord looks every second. Default 1000. */
  readonly intervalMs?: number;
  /** Called once per content change (never for a touch that leaves the content as it was). Must not throw. */
  readonly onChange: () => void;
  /** How globs are expanded (injected for tests); default the real file system. */
  readonly files?: Pick<IncludeFileSystem, 'glob'>;
}

/** The digest of a file's content, or undefined when it cannot be read. */
export function fileDigest(path: string): string | undefined {
  try {
    return contentDigest(fs.readFileSync(path));
  } catch {
    return undefined;
  }
}

/** A watched file: its stat stamp at the last look (undefined: look at the content next time) and known digest. */
interface Watched {
  readonly path: string;
  stamp: string | undefined;
  digest: string | undefined;
}

/** A watched glob and the files it matched, joined. */
interface WatchedGlob {
  readonly pattern: string;
  matches: string;
}

function statStamp(path: string): string | undefined {
  try {
    const st = fs.statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}:${st.dev}`;
  } catch {
    return undefined;
  }
}

/**
 * Watches the configuration by polling, as ldirectord's `check_cfgfile`: a cheap stat of each file every interval,
 * and a digest of a file's content only when its mtime, size or inode moved (editors that replace a file by rename
 * are handled the same way); each include glob is expanded again, and a file added to or removed from its matches is
 * a change. A file that disappears is not a change by itself (an editor's save in progress): its return with other
 * content is.
 */
export class ConfigWatcher {
  private files: Watched[] = [];
  private globs: WatchedGlob[] = [];
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly glob: (pattern: string) => string[];

  constructor(private readonly options: ConfigWatcherOptions) {
    const files = options.files ?? systemIncludeFiles();
    this.glob = (pattern) => files.glob(pattern);
    if (options.sources) this.accept(options.sources);
    else this.accept();
  }

  /** Starts watching. */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /**
   * Takes a configuration's content as the known one (after a reload the daemon made itself). With `sources` (what
   * that load read, with the digests of the bytes it read) those files and globs are watched from now on, and a file
   * that changed after the load read it is still a change at the next look; without, the files watched so far are
   * taken as they are now.
   */
  accept(sources?: ConfigSources): void {
    if (sources) {
      this.files = sources.files.map((f) => ({ path: f.path, stamp: undefined, digest: f.digest }));
      this.globs = sources.globs.map((g) => ({ pattern: g.pattern, matches: g.matches.join('\n') }));
      return;
    }
    if (this.files.length === 0) this.files = [{ path: this.options.path, stamp: undefined, digest: undefined }];
    for (const w of this.files) {
      w.stamp = statStamp(w.path);
      w.digest = fileDigest(w.path);
    }
    for (const g of this.globs) g.matches = this.glob(g.pattern).join('\n');
  }

  /** The files watched (the main file first). */
  watchedFiles(): string[] {
    return this.files.map((w) => w.path);
  }

  /** Stops watching. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Looks at the files once; true when the content of any changed since the last look. */
  poll(): boolean {
    let changed = false;
    for (const w of this.files) {
      const stamp = statStamp(w.path);
      if (stamp === w.stamp) continue;
      w.stamp = stamp;
      const digest = fileDigest(w.path);
      if (digest === undefined || digest === w.digest) continue;
      w.digest = digest;
      changed = true;
    }
    for (const g of this.globs) {
      const matches = this.glob(g.pattern).join('\n');
      if (matches === g.matches) continue;
      g.matches = matches;
      changed = true;
    }
    return changed;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.poll()) this.options.onChange();
      this.schedule();
    }, this.options.intervalMs ?? 1000);
  }
}
