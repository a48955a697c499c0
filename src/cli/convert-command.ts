// `ldir convert FILE --to yaml|cf [-o OUT]`: writes one configuration form from the other.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { writeCf } from '../config/cf-writer';
import { sameMeaning } from '../config/compare';
import { INCLUDE_KEY, rebaseIncludes } from '../config/includes';
import { loadConfigText, type LoadOptions } from '../config/load';
import { writeYaml } from '../config/yaml-writer';
import { isLdirError } from '../errors';
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

/**
 * Converts a configuration; refuses (exit 2) a source with errors, so a conversion never hides a broken file.
 * `include` directives are kept, not inlined: the output includes the same files (which stay in their own form; a
 * relative path is rewritten when the output goes to another directory), so a `conf.d/` managed apart keeps working.
 */
export async function runConvert(options: ConvertOptions, io: CliIo): Promise<number> {
  const file = resolve(options.file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
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
      io.stderr(`ldir: ${file}: the yaml output would read the included files at another place than the source does (YAML has one "include" list and one "virtuals" list): move the include lines before or after all virtual sections; nothing written\n`);
      return ExitCode.CONFIG_ERROR;
    }
    io.stderr(`ldir: internal error: the ${options.to} output does not mean the same as ${file}; nothing written\n`);
    return ExitCode.FAILURE;
  }
  if (options.output === undefined) {
    io.stdout(out);
    return ExitCode.OK;
  }
  try {
    writeFileSync(options.output, out);
  } catch (err) {
    io.stderr(`ldir: cannot write ${resolve(options.output)}: ${(err as Error).message}\n`);
    return ExitCode.FAILURE;
  }
  return ExitCode.OK;
}
