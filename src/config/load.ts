// Loads a configuration file (ldirectord.cf or YAML) into the immutable model plus diagnostics.
import { readFileSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';
import type { Config } from '../model';
import { ErrorCodes, LdirError } from '../errors';
import { appendProblem } from './append-probe';
import { SecretRedactor } from '../secrets';
import { buildModel } from './build-model';
import { lexCf } from './cf-lexer';
import { contentDigest, systemIncludeFiles, type ConfigSources, type IncludeFileSystem } from './config-sources';
import { DiagnosticSink, formatDiagnostic, type Diagnostic } from './diagnostics';
import type { DirectiveContext } from './directives-shared';
import type { ConfigDocument } from './document';
import { valueText } from './cf-values';
import { checkExecuteCycles, executeDirectives, type ExecuteGraphContext } from './execute-cycles';
import { expandIncludes } from './includes';
import { locateConfig } from './locate';
import { readDirectives } from './read-directives';
import { credentialValuesInDocument, credentialValuesInText, redactCredentialLine } from './secret-directives';
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
  /** How included files are read and globs expanded; default the real file system. */
  readonly includeFiles?: IncludeFileSystem;
  /** Where `execute=` names are found (as `ldir NAME start` would); default {@link locateConfig}. */
  readonly locateExecuted?: (name: string) => string | undefined;
}

/** Result of loading: the model when there is no error, and every diagnostic. */
export interface LoadResult {
  readonly config: Config | undefined;
  /** Every diagnostic, none of them quoting a credential (see {@link redactDiagnostics}). */
  readonly diagnostics: readonly Diagnostic[];
  /** The main file as written: its `include` directives stand as directives (what `ldir convert` writes). */
  readonly document: ConfigDocument | undefined;
  /** Every file read (the main one first) and every include glob: what a reload reads and `autoreload` watches. */
  readonly sources: ConfigSources;
  /**
   * The values written for credential directives (`passwd`, `secret`, `smtppasswd`), in the forms a message could
   * quote them: for the redaction of anything else that might repeat them (the daemon's log, its answers).
   */
  readonly secrets: readonly string[];
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

/** Parses the text of one file in the form `format`, or the one its name and content show. */
async function parseDocument(
  text: string,
  file: string,
  sink: DiagnosticSink,
  format?: 'cf' | 'yaml',
): Promise<ConfigDocument | undefined> {
  // The yaml package loads for YAML files only: start-up of the daemon and of every CLI action on ldirectord.cf.
  return (format ?? detectFormat(file, text)) === 'yaml'
    ? (await import('./yaml-document')).readYamlDocument(text, file, sink)
    : lexCf(text, file);
}

/** {@link loadConfigText} with the digest of the main file's bytes as read (of the text, for text given by a caller). */
async function loadText(text: string, file: string, digest: string, options: LoadOptions): Promise<LoadResult> {
  const sink = new DiagnosticSink();
  sink.noteFile(file);
  const format = options.format ?? detectFormat(file, text);
  const document = await parseDocument(text, file, sink, format);
  // Every value written for a credential, in the main file and in each included one (read as it is parsed).
  const secrets = new Set(credentialValuesInText(text));
  const collect = (values: readonly string[]): void => {
    for (const v of values) secrets.add(v);
  };
  if (!document) {
    return {
      config: undefined,
      diagnostics: redactDiagnostics(sink.all(), [...secrets]),
      document: undefined,
      sources: { files: [{ path: file, digest }], globs: [] },
      secrets: [...secrets],
    };
  }
  const files = options.includeFiles ?? systemIncludeFiles();
  const expanded = await expandIncludes(document, digest, {
    sink,
    files,
    parse: (t, f) => {
      collect(credentialValuesInText(t));
      return parseDocument(t, f, sink);
    },
  });
  collect(credentialValuesInDocument(expanded.document));
  const probes = options.probes ?? systemProbes();
  const hostname = options.hostname ?? process.env['HOSTNAME'] ?? osHostname();
  const ctx: DirectiveContext = {
    sink,
    hostname,
    appendProblem: probes.appendProblem,
    isDirectory: probes.isDirectory,
    readText: probes.readText ?? readSystemText,
    debug: options.debug === true,
  };
  const drafts = readDirectives(expanded.document, ctx);
  await checkExecuteCycles(expanded.document, executeGraph(files, options), sink);
  const included = expanded.sources.files.slice(1).map((f) => f.path);
  const config = await buildModel(drafts, {
    file,
    format,
    sink,
    hostname,
    resolver: options.resolver ?? systemResolver(),
    includedFiles: included,
  });
  return {
    config,
    diagnostics: redactDiagnostics(sink.all(), [...secrets]),
    document,
    sources: expanded.sources,
    secrets: [...secrets],
  };
}

/**
 * How `execute=` names are followed: located as the instance's `ldir NAME start` would, read with includes expanded;
 * problems of those files are theirs (their own `ldir check` reports them) and stay out of this file's diagnostics.
 */
function executeGraph(files: IncludeFileSystem, options: LoadOptions): ExecuteGraphContext {
  return {
    files,
    locate: options.locateExecuted ?? ((name) => locateConfig(name).path),
    executesOf: async (path, text) => {
      const sink = new DiagnosticSink();
      const doc = await parseDocument(text, path, sink);
      if (!doc) return undefined;
      const expanded = await expandIncludes(doc, undefined, {
        sink,
        files,
        parse: (t, f) => parseDocument(t, f, sink),
      });
      return executeDirectives(expanded.document).map(valueText);
    },
  };
}

/**
 * Diagnostics with every credential value of the configuration hidden: whatever a message quotes (a line, a value,
 * a YAML parser's complaint), no secret of the files reaches the terminal, a control answer or a log. Messages about
 * a credential directive do not quote its value in the first place; this is the net under every other message.
 */
export function redactDiagnostics(diagnostics: readonly Diagnostic[], secrets: readonly string[]): Diagnostic[] {
  const redactor = new SecretRedactor(secrets);
  return diagnostics.map((d) => {
    const message = redactor.text(d.message);
    const directive = d.directive === undefined ? undefined : redactor.text(redactCredentialLine(d.directive));
    return message === d.message && directive === d.directive
      ? d
      : { ...d, message, ...(directive !== undefined ? { directive } : {}) };
  });
}

/**
 * Parses configuration text as the content of `file` (included files are read from disk, relative to it). Never
 * throws for bad input: problems come back as diagnostics.
 */
export function loadConfigText(text: string, file: string, options: LoadOptions = {}): Promise<LoadResult> {
  return loadText(text, file, contentDigest(Buffer.from(text, 'utf8')), options);
}

/** Reads and parses a configuration file; throws {@link LdirError} only when the file cannot be read. */
export async function loadConfigFile(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  const file = resolve(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    const code =
      (cause as NodeJS.ErrnoException).code === 'ENOENT' ? ErrorCodes.CONFIG_NOT_FOUND : ErrorCodes.CONFIG_UNREADABLE;
    throw new LdirError(code, `cannot read configuration file ${file}: ${(cause as Error).message}`, {
      cause,
      details: { file },
    });
  }
  return loadText(bytes.toString('utf8'), file, contentDigest(bytes), options);
}

/** Loads a configuration and returns the model; throws `LDIR_ERR_CONFIG_INVALID` (details.diagnostics, details.sources) on any error. */
export async function loadConfigOrThrow(
  path: string,
  options: LoadOptions = {},
): Promise<{ config: Config; diagnostics: readonly Diagnostic[]; sources: ConfigSources }> {
  const result = await loadConfigFile(path, options);
  if (!result.config) {
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    throw new LdirError(ErrorCodes.CONFIG_INVALID, errors.map(formatDiagnostic).join('\n'), {
      details: { diagnostics: result.diagnostics, sources: result.sources },
    });
  }
  return { config: result.config, diagnostics: result.diagnostics, sources: result.sources };
}
