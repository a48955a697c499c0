// Loads a configuration file (ldirectord.cf or YAML) into the immutable model plus diagnostics.
import { readFileSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';
import type { Config } from '../model';
import { ErrorCodes, LdirError } from '../errors';
import { appendProblem } from './append-probe';
import { buildModel } from './build-model';
import { lexCf } from './cf-lexer';
import { DiagnosticSink, formatDiagnostic, type Diagnostic } from './diagnostics';
import type { DirectiveContext } from './directives-shared';
import type { ConfigDocument } from './document';
import { readDirectives } from './read-directives';
import { systemResolver, type Resolver } from './resolver';

/** File-system probes used while validating (injected for tests). */
export interface FileProbes {
  /** Why `path` cannot be opened for appending, or undefined when it can (see {@link appendProblem}). */
  readonly appendProblem: (path: string) => string | undefined;
  /** True when `path` is an existing directory. */
  readonly isDirectory: (path: string) => boolean;
  /** The text of a file the configuration names (`tlscafile`); throws when it cannot be read. Default: read from disk. */
  readonly readText?: (path: string) => string;
}

/** Options of the loaders. */
export interface LoadOptions {
  readonly resolver?: Resolver;
  /** Host name for ftp/sip check defaults; default `$HOSTNAME`, else the system host name (as ldirectord). */
  readonly hostname?: string;
  readonly probes?: FileProbes;
  /** Force a format instead of detecting it. */
  readonly format?: 'cf' | 'yaml';
  /** ldirectord's `-d`: do not test-open the log file. */
  readonly debug?: boolean;
}

/** Result of loading: the model when there is no error, and every diagnostic. */
export interface LoadResult {
  readonly config: Config | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly document: ConfigDocument | undefined;
}

/** The real file-system probes. Nothing is created: ldirectord would create the file, ldir only checks it could. */
export function systemProbes(): FileProbes {
  return {
    appendProblem,
    isDirectory(path) {
      try {
        return statSync(path).isDirectory();
      } catch {
        return false;
      }
    },
    readText: readSystemText,
  };
}

/** A file's text, read from disk (the default {@link FileProbes.readText}). */
function readSystemText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Guesses the format: `.yaml`/`.yml` names are YAML; otherwise a first significant line like `key: value` or `---`. */
export function detectFormat(file: string, text: string): 'cf' | 'yaml' {
  if (/\.ya?ml$/i.test(file)) return 'yaml';
  for (const line of text.split('\n')) {
    if (/^\s*(#.*)?\r?$/.test(line)) continue;
    return /^(---|%YAML)/.test(line) || /^[A-Za-z_][\w-]*\s*:(\s|$)/.test(line) ? 'yaml' : 'cf';
  }
  return 'cf';
}

/** Parses configuration text. Never throws for bad input: problems come back as diagnostics. */
export async function loadConfigText(text: string, file: string, options: LoadOptions = {}): Promise<LoadResult> {
  const sink = new DiagnosticSink();
  const format = options.format ?? detectFormat(file, text);
  // The yaml package loads only for YAML files: start-up of the daemon and of every CLI action on ldirectord.cf.
  const document = format === 'yaml' ? (await import('./yaml-document')).readYamlDocument(text, file, sink) : lexCf(text, file);
  if (!document) return { config: undefined, diagnostics: sink.all(), document: undefined };
  const probes = options.probes ?? systemProbes();
  const hostname = options.hostname ?? process.env['HOSTNAME'] ?? osHostname();
  const ctx: DirectiveContext = {
    sink, hostname, appendProblem: probes.appendProblem, isDirectory: probes.isDirectory, readText: probes.readText ?? readSystemText,
    debug: options.debug === true,
  };
  const drafts = readDirectives(document, ctx);
  const config = await buildModel(drafts, {
    file, format, sink, hostname, resolver: options.resolver ?? systemResolver(),
  });
  return { config, diagnostics: sink.all(), document };
}

/** Reads and parses a configuration file; throws {@link LdirError} only when the file cannot be read. */
export async function loadConfigFile(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? ErrorCodes.CONFIG_NOT_FOUND : ErrorCodes.CONFIG_UNREADABLE;
    throw new LdirError(code, `cannot read configuration file ${file}: ${(cause as Error).message}`, { cause, details: { file } });
  }
  return loadConfigText(text, file, options);
}

/** Loads a configuration and returns the model; throws `LDIR_ERR_CONFIG_INVALID` (details.diagnostics) on any error. */
export async function loadConfigOrThrow(path: string, options: LoadOptions = {}): Promise<{ config: Config; diagnostics: readonly Diagnostic[] }> {
  const result = await loadConfigFile(path, options);
  if (!result.config) {
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    throw new LdirError(ErrorCodes.CONFIG_INVALID, errors.map(formatDiagnostic).join('\n'), { details: { diagnostics: result.diagnostics } });
  }
  return { config: result.config, diagnostics: result.diagnostics };
}
