// `ldir convert FILE --to yaml|cf [-o OUT]`: writes one configuration form from the other.
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { writeCf } from '../config/cf-writer';
import { sameMeaning } from '../config/compare';
import { INCLUDE_KEY, rebaseIncludes } from '../config/includes';
import { loadConfigText, type LoadOptions } from '../config/load';
import { credentialValuesInDocument } from '../config/secret-directives';
import { writeYaml } from '../config/yaml-writer';
import { isLdirError } from '../errors';
import { writeFileAtomic } from '../system/atomic-file';
import { printDiagnostics } from './check-command';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';

/** Options of {@link runConvert}. */
export interface ConvertOptions {
  readonly file: string;
  readonly to: 'yaml' | 'cf';
  readonly output?: string;
  readonly load?: LoadOptions;
}

/** Mode of a written configuration that holds a credential (`passwd`, `secret`, `smtppasswd`): its owner only. */
export const SECRET_FILE_MODE = 0o600;

/**
 * The mode `-o OUT` gets: the source's permission bits, or {@link SECRET_FILE_MODE} when the output holds a
 * credential (whatever the source's mode: a world-readable source is no reason for a world-readable copy).
 */
export function outputMode(sourceMode: number, holdsSecrets: boolean): number {
  return holdsSecrets ? SECRET_FILE_MODE : sourceMode & 0o777;
}

/**
 * Converts a configuration; refuses (exit 2) a source with errors, so a conversion never hides a broken file.
 * `include` directives are kept, not inlined: the output includes the same files (which stay in their own form; a
 * relative path is rewritten when the output goes to another directory), so a `conf.d/` managed apart keeps working.
 * With `-o OUT` the output is written to a temporary file beside OUT and renamed over it ({@link writeFileAtomic}):
 * OUT gets the source's mode (0600 when it holds a secret), a reader never finds half a file, a refused conversion
 * leaves OUT as it was, and a symbolic link at OUT is replaced, never followed.
 */
export async function runConvert(options: ConvertOptions, io: CliIo): Promise<number> {
  const file = resolve(options.file);
  let text: string;
  let sourceMode: number;
  try {
    text = readFileSync(file, 'utf8');
    sourceMode = statSync(file).mode;
  } catch (err) {
    io.stderr(`ldir: cannot read ${file}: ${(err as Error).message}\n`);
    return ExitCode.FAILURE;
  }
  const result = await loadConfigText(text, file, options.load);
  printDiagnostics(io, result.diagnostics);
  if (!result.config || !result.document) return ExitCode.CONFIG_ERROR;
  const target = options.output === undefined ? file : resolve(options.output);
  const document = rebaseIncludes(result.document, dirname(target));
  let out: string;
  try {
    out = options.to === 'yaml' ? writeYaml(document) : writeCf(document);
  } catch (err) {
    if (!isLdirError(err)) throw err;
    io.stderr(`ldir: ${err.message}\n`);
    return ExitCode.CONFIG_ERROR;
  }
  const check = await loadConfigText(out, target, { ...options.load, format: options.to });
  if (!check.config || !sameMeaning(result.config, check.config)) {
    const includes = document.entries.some((e) => e.kind === 'directive' && e.directive.key === INCLUDE_KEY);
    if (includes && options.to === 'yaml') {
      // YAML holds one include list and one virtuals list: includes between virtual sections cannot keep their place.
      io.stderr(
        `ldir: ${file}: the yaml output would read the included files at another place than the source does (YAML has one "include" list and one "virtuals" list): move the include lines before or after all virtual sections; nothing written\n`,
      );
      return ExitCode.CONFIG_ERROR;
    }
    io.stderr(`ldir: internal error: the ${options.to} output does not mean the same as ${file}; nothing written\n`);
    return ExitCode.FAILURE;
  }
  if (options.output === undefined) {
    io.stdout(out);
    return ExitCode.OK;
  }
  const link = symlinkTarget(target);
  // The output holds the main file's directives (included files stay where they are): its secrets decide the mode.
  const mode = outputMode(sourceMode, credentialValuesInDocument(document).length > 0);
  try {
    writeFileAtomic(target, out, { mode, createDirectory: false });
  } catch (err) {
    io.stderr(`ldir: cannot write ${target}: ${(err as Error).message}\n`);
    return ExitCode.FAILURE;
  }
  if (link !== undefined)
    io.stderr(`ldir: ${target} was a symbolic link (to ${link}): it is now the file; ${link} was left as it was\n`);
  return ExitCode.OK;
}

/** Where a symbolic link at `path` points; undefined when `path` is not one. */
function symlinkTarget(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}
