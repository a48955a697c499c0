// The files a configuration was read from (the main file and every included one), and how they are read from disk.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { sep } from 'node:path';
import type * as Tinyglobby from 'tinyglobby';

/** One file a configuration was read from. */
export interface ConfigSourceFile {
  /** Absolute path, as the configuration names it (symbolic links not followed). */
  readonly path: string;
  /** {@link contentDigest} of the bytes read; undefined when the file could not be read (a missing include). */
  readonly digest: string | undefined;
}

/** One `include` glob, with the files it matched when the configuration was read. */
export interface ConfigSourceGlob {
  /** Absolute pattern. */
  readonly pattern: string;
  /** The files it matched, sorted ({@link IncludeFileSystem.glob}). */
  readonly matches: readonly string[];
}

/**
 * What a configuration was read from: what a reload reads again and `autoreload` watches. A file that changes, and a
 * glob whose matches change (a file added to or removed from `conf.d/`), make a new configuration.
 */
export interface ConfigSources {
  /** The main file first, then each included file in the order it was read. */
  readonly files: readonly ConfigSourceFile[];
  readonly globs: readonly ConfigSourceGlob[];
}

/** The digest ldir compares file contents by (sha256, hex). */
export function contentDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The outcome of reading one file: its text and digest, or the errno code and message of why it could not be read. */
export type ReadOutcome =
  | { readonly ok: true; readonly text: string; readonly digest: string }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** The file-system access of the include expansion and of the watcher (injected for tests). */
export interface IncludeFileSystem {
  /** Reads a whole file as UTF-8. */
  read(path: string): ReadOutcome;
  /** The canonical path (symbolic links resolved), or the path itself when it cannot be resolved. */
  realpath(path: string): string;
  /**
   * Regular files (or links to them) matching an absolute glob pattern (`*`, `?`, `[...]` within one path segment;
   * names starting with a dot match only a pattern that starts with a dot), sorted by path in code-unit order (the
   * C locale's order, so `10-x.cf` comes before `9-x.cf`: number file names with leading zeros).
   */
  glob(pattern: string): string[];
}

/** True when an include value is a glob pattern (it has `*`, `?` or `[`); otherwise it names one file. */
export function isGlobPattern(value: string): boolean {
  return /[*?[]/.test(value);
}

/**
 * tinyglobby, loaded with the first glob (as the yaml package with the first YAML file): a configuration without an
 * include glob, and the daemon's start-up with it, never loads it.
 */
function tinyglobby(): typeof Tinyglobby {
  return require('tinyglobby') as typeof Tinyglobby;
}

/** Escapes the segments of an absolute pattern that hold no glob character: a directory `x (1)` is taken literally. */
function literalSegments(pattern: string, escapePath: (segment: string) => string): string {
  return pattern
    .split(sep)
    .map((segment) => (isGlobPattern(segment) ? segment : escapePath(segment)))
    .join(sep);
}

/** The real file system. */
export function systemIncludeFiles(): IncludeFileSystem {
  return {
    read(path) {
      try {
        const bytes = fs.readFileSync(path);
        return { ok: true, text: bytes.toString('utf8'), digest: contentDigest(bytes) };
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        return { ok: false, code: e.code ?? 'EIO', message: e.message };
      }
    },
    realpath(path) {
      try {
        return fs.realpathSync(path);
      } catch {
        return path;
      }
    },
    glob(pattern) {
      const { escapePath, globSync } = tinyglobby();
      const found = globSync(literalSegments(pattern, escapePath), {
        absolute: true,
        onlyFiles: true,
        expandDirectories: false,
        dot: false,
        followSymbolicLinks: true,
      });
      return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    },
  };
}
