// `ldir convert FILE --to yaml|cf [-o OUT]`: writes one configuration form from the other.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeCf } from '../config/cf-writer';
import { sameMeaning } from '../config/compare';
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

/** Converts a configuration; refuses (exit 2) a source with errors, so a conversion never hides a broken file. */
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
  let out: string;
  try {
    out = options.to === 'yaml' ? writeYaml(result.document) : writeCf(result.document);
  } catch (err) {
    if (!isLdirError(err)) throw err;
    io.stderr(`ldir: ${err.message}\n`);
    return ExitCode.CONFIG_ERROR;
  }
  const check = await loadConfigText(out, file, { ...options.load, format: options.to });
  if (!check.config || !sameMeaning(result.config, check.config)) {
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
