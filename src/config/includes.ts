// `include=PATH-or-GLOB`: other configuration files read in place of the directive, each in its own form.
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { SourcePos } from '../model';
import { readOptionallyQuoted } from './cf-values';
import type { ConfigSourceFile, ConfigSourceGlob, ConfigSources, IncludeFileSystem } from './config-sources';
import { isGlobPattern } from './config-sources';
import type { DiagnosticSink } from './diagnostics';
import type { ConfigDocument, DocumentEntry, RawDirective } from './document';

/** The directive name. */
export const INCLUDE_KEY = 'include';

/** Parses the text of one file into a document (its form detected from its name and content); undefined when broken. */
export type DocumentParser = (text: string, file: string) => Promise<ConfigDocument | undefined>;

/** Inputs of {@link expandIncludes}. */
export interface IncludeContext {
  readonly sink: DiagnosticSink;
  readonly files: IncludeFileSystem;
  readonly parse: DocumentParser;
}

/** A document with every include replaced by the files it names, and the files and globs that were read. */
export interface ExpandedDocument {
  readonly document: ConfigDocument;
  readonly sources: ConfigSources;
}

/** One step of the chain of includes that led to a file: `via` includes `file`. */
interface Link {
  readonly via: SourcePos;
  readonly file: string;
  /** {@link IncludeFileSystem.realpath} of `file`: how a cycle is recognised whatever the path spelling. */
  readonly real: string;
}

/** The value of an include directive: optionally double-quoted in ldirectord.cf, trimmed. */
export function includeValue(d: RawDirective): string {
  return readOptionallyQuoted(d).trim();
}

/** `PATH:LINE` of a position. */
function where(pos: SourcePos): string {
  return `${pos.file}:${pos.line}`;
}

/** Walks the include tree depth first, appending entries in reading order and recording every file and glob read. */
class Expansion {
  readonly entries: DocumentEntry[] = [];
  readonly files: ConfigSourceFile[] = [];
  readonly globs: ConfigSourceGlob[] = [];
  /** Real path → where it was first read from (undefined for the main file). */
  private readonly seen = new Map<string, SourcePos | undefined>();

  constructor(private readonly ctx: IncludeContext) {}

  /** Records the main file (already read by the loader). */
  start(file: string, digest: string | undefined): Link {
    const real = this.ctx.files.realpath(file);
    this.seen.set(real, undefined);
    this.files.push({ path: file, digest });
    this.ctx.sink.noteFile(file);
    return { via: { file, line: 0 }, file, real };
  }

  /** Appends the entries of `doc`, read through `chain` (its last link is `doc`'s own file), expanding its includes. */
  async walk(doc: ConfigDocument, chain: readonly Link[]): Promise<void> {
    for (const entry of doc.entries) {
      if (entry.kind === 'virtual') {
        this.entries.push(this.withoutNestedIncludes(entry));
        continue;
      }
      if (entry.directive.key !== INCLUDE_KEY) {
        this.entries.push(entry);
        continue;
      }
      await this.include(entry.directive, chain);
    }
  }

  /** A virtual section whose body holds `include`: refused there (includes stand at the top level only). */
  private withoutNestedIncludes(entry: Extract<DocumentEntry, { kind: 'virtual' }>): DocumentEntry {
    const nested = entry.virtual.body.filter((d) => d.key === INCLUDE_KEY);
    if (nested.length === 0) return entry;
    for (const d of nested) {
      const how =
        d.syntax === 'cf'
          ? 'write it in column 0, outside virtual sections'
          : 'write it at the top level, outside "virtuals"';
      this.ctx.sink.error(
        'misplaced',
        d.pos,
        `include is only valid at the top level (${how}): an included file holds whole virtual sections`,
        INCLUDE_KEY,
      );
    }
    return {
      kind: 'virtual',
      virtual: { ...entry.virtual, body: entry.virtual.body.filter((d) => d.key !== INCLUDE_KEY) },
    };
  }

  /** Reads the files one include directive names. */
  private async include(d: RawDirective, chain: readonly Link[]): Promise<void> {
    const { sink } = this.ctx;
    const value = includeValue(d);
    if (value === '') {
      sink.error(
        'invalid-value',
        d.pos,
        'include needs a file path or a glob pattern (relative paths are relative to this file)',
        INCLUDE_KEY,
      );
      return;
    }
    const target = resolve(dirname(d.pos.file), value);
    if (!isGlobPattern(value)) {
      await this.readOne(target, d, chain, false);
      return;
    }
    const matches = this.ctx.files.glob(target);
    this.globs.push({ pattern: target, matches });
    for (const file of matches) await this.readOne(file, d, chain, true);
  }

  /** Reads one included file (unless it would close a cycle or was read already) and walks it. */
  private async readOne(file: string, d: RawDirective, chain: readonly Link[], matched: boolean): Promise<void> {
    const { sink, files } = this.ctx;
    const real = files.realpath(file);
    const loop = chain.findIndex((l) => l.real === real);
    if (loop >= 0) {
      const steps = [
        ...chain.slice(loop + 1).map((l) => `${where(l.via)} includes ${l.file}`),
        `${where(d.pos)} includes ${file}`,
      ];
      sink.error(
        'include-cycle',
        d.pos,
        `include cycle: ${steps.join(', ')}; a file cannot include itself`,
        INCLUDE_KEY,
      );
      return;
    }
    if (this.seen.has(real)) {
      const first = this.seen.get(real);
      sink.error(
        'duplicate-include',
        d.pos,
        `${file} is already read (${first ? `included at ${where(first)}` : 'it is the main configuration file'}): each file may be included once`,
        INCLUDE_KEY,
      );
      return;
    }
    this.seen.set(real, d.pos);
    const read = files.read(file);
    if (!read.ok) {
      this.files.push({ path: file, digest: undefined });
      sink.error('missing-path', d.pos, this.unreadable(file, read.code, read.message, matched), INCLUDE_KEY);
      return;
    }
    this.files.push({ path: file, digest: read.digest });
    sink.noteFile(file);
    const doc = await this.ctx.parse(read.text, file);
    if (doc) await this.walk(doc, [...chain, { via: d.pos, file, real }]);
  }

  private unreadable(file: string, code: string, message: string, matched: boolean): string {
    if (code === 'ENOENT')
      return `include: ${file} does not exist (a glob matching nothing is not an error, a missing file is)`;
    if (code === 'EISDIR') return `include: ${file} is a directory: include the files in it with a glob (${file}/*.cf)`;
    return `include: cannot read ${file}${matched ? ' (matched by the glob)' : ''}: ${message}`;
  }
}

/**
 * Replaces every `include` of `main` (and of the files it includes) by the entries of the files it names, read in
 * place of the directive: a plain path names one file (an error when it cannot be read), a glob the files it
 * matches, in sorted order (none is not an error: an empty `conf.d/` is a valid director). Relative paths are relative
 * to the directory of the file that holds the directive. Each file is parsed in its own form (a `.cf` file may
 * include YAML files and the reverse), and its diagnostics name it. A file that would include itself (a cycle) or is
 * read a second time is an error naming the chain. `mainDigest` is the digest of the main file's bytes as read.
 */
export async function expandIncludes(
  main: ConfigDocument,
  mainDigest: string | undefined,
  ctx: IncludeContext,
): Promise<ExpandedDocument> {
  const expansion = new Expansion(ctx);
  const root = expansion.start(main.file, mainDigest);
  await expansion.walk(main, [root]);
  return {
    document: { ...main, entries: expansion.entries },
    sources: { files: expansion.files, globs: expansion.globs },
  };
}

/**
 * `doc` with the relative paths of its top-level includes rewritten for a file in `toDir` (`ldir convert -o` into
 * another directory): they name the same files from there. Absolute paths and other directives are kept as written.
 */
export function rebaseIncludes(doc: ConfigDocument, toDir: string): ConfigDocument {
  const fromDir = dirname(doc.file);
  if (resolve(fromDir) === resolve(toDir)) return doc;
  const entries = doc.entries.map((e): DocumentEntry => {
    if (e.kind !== 'directive' || e.directive.key !== INCLUDE_KEY) return e;
    const value = includeValue(e.directive);
    if (value === '' || isAbsolute(value)) return e;
    const moved = relative(toDir, resolve(fromDir, value)) || '.';
    return { kind: 'directive', directive: { ...e.directive, value: moved, syntax: 'yaml' } };
  });
  return { ...doc, entries };
}
