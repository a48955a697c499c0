// `ldir [--json] [CONFIG] weight VIRTUAL REAL N|reset`: a real server's runtime weight, set in the running daemon
// (kept in its state file across a stop and start, a kill -9, a restart and reloads that keep the real).
import { locateConfig } from '../config/locate';
import { controlSocketPath, type WeightResult } from '../daemon/protocol';
import { MAX_RUNTIME_WEIGHT } from '../model/weight';
import { sendControlRequest } from './control-client';
import {
  printError,
  printSaveError,
  scanOperatorArgs,
  transportFailure,
  type ControlCommandOptions,
  type ControlLocation,
} from './control-commands';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';

/** Parsed `ldir [-d] [--json] [CONFIG] weight VIRTUAL REAL N|reset`. */
export interface WeightArgs {
  readonly config?: string;
  readonly virtual: string;
  readonly real: string;
  /** A runtime weight (0..2147483647), or `reset` to the configured weight. */
  readonly weight: number | 'reset';
  readonly json: boolean;
  readonly debug: boolean;
}

const RANGE = `an integer from 0 to ${MAX_RUNTIME_WEIGHT}, or reset`;

/** `N` or `reset` as the command line gives it; a string says why it is not one. */
export function parseWeightValue(text: string): number | 'reset' | string {
  if (text === 'reset') return 'reset';
  if (!/^\d{1,10}$/.test(text)) return `a weight is ${RANGE}, not "${text}"`;
  const n = Number(text);
  return n <= MAX_RUNTIME_WEIGHT ? n : `a weight is ${RANGE}, not ${text}`;
}

/**
 * Recognizes `[-d|--debug] [--json] [--] [CONFIG] weight VIRTUAL REAL N|reset` in the whole argv. Undefined when the
 * arguments are not a weight command (another command parses them); a string is a usage error.
 */
export function parseWeightArgs(args: readonly string[]): WeightArgs | string | undefined {
  const { debug, json, options, positional } = scanOperatorArgs(args);
  const at = positional.indexOf('weight');
  if (at < 0 || at > 1) return undefined;
  const negative = options.find((o) => /^-\d/.test(o));
  if (negative !== undefined) return `a weight is ${RANGE}, not ${negative}`;
  if (options.length > 0) return `unknown option for weight: ${options[0]}`;
  const rest = positional.slice(at + 1);
  if (rest.length !== 3)
    return `weight needs VIRTUAL, REAL and N or reset (for example: weight tcp:192.0.2.1:80 10.0.0.1:80 5)`;
  const weight = parseWeightValue(rest[2] as string);
  if (typeof weight === 'string' && weight !== 'reset') return weight;
  const config = at === 1 ? positional[0] : undefined;
  return {
    virtual: rest[0] as string,
    real: rest[1] as string,
    weight,
    json,
    debug,
    ...(config !== undefined ? { config } : {}),
  };
}

/** The line `ldir weight` prints for the daemon's answer. */
export function describeWeightResult(r: WeightResult): string {
  const what = `${r.real} in ${r.virtual}`;
  if (r.weight === null) {
    return r.changed
      ? `weight of ${what} reset: configured weight ${r.configuredWeight} (was ${r.previous ?? '?'})`
      : `${what} already has its configured weight ${r.configuredWeight}`;
  }
  return r.changed
    ? `weight of ${what} set to ${r.weight} (configured ${r.configuredWeight}${r.previous !== null ? `, was ${r.previous}` : ''})`
    : `${what} already has weight ${r.weight} (configured ${r.configuredWeight})`;
}

/** Options of {@link runWeightCommand}. */
export interface WeightCommandOptions extends ControlCommandOptions {
  readonly virtual: string;
  readonly real: string;
  readonly weight: number | 'reset';
  readonly json: boolean;
}

/**
 * `ldir weight VIRTUAL REAL N|reset` against the daemon: the real's weight while it is up and not drained becomes N
 * (0: no new connection, as a drain) until `reset` gives it back its configured weight. Prints one line (the answer
 * as JSON with `json`), and a warning on stderr when the daemon could not save it in its state file. Exit 0 done
 * (also when it already was), 1 unknown target, no daemon or other failure (as `drain`).
 */
export async function runWeightCommand(options: WeightCommandOptions, io: CliIo): Promise<number> {
  let response;
  try {
    response = await sendControlRequest(
      options.socketPath,
      { type: 'weight', virtual: options.virtual, real: options.real, weight: options.weight },
      options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {},
    );
  } catch (err) {
    return transportFailure(err, io, ExitCode.FAILURE);
  }
  if (!response.ok) {
    printError(response, io);
    return ExitCode.FAILURE;
  }
  io.stdout(
    options.json ? `${JSON.stringify(response.result, null, 2)}\n` : `${describeWeightResult(response.result)}\n`,
  );
  printSaveError(response.result.saveError, io);
  return ExitCode.OK;
}

/**
 * Runs a parsed `weight` against the daemon of CONFIG (socket named after the configuration name). As for `drain`,
 * the configuration file is not parsed: the daemon resolves VIRTUAL and REAL against the configuration it runs.
 */
export async function runWeightAction(args: WeightArgs, io: CliIo, where: ControlLocation = {}): Promise<number> {
  const { name } = locateConfig(args.config, where.locate);
  return runWeightCommand(
    {
      socketPath: controlSocketPath(name, where.socketDirectory),
      virtual: args.virtual,
      real: args.real,
      weight: args.weight,
      json: args.json,
      ...(where.timeoutMs !== undefined ? { timeoutMs: where.timeoutMs } : {}),
    },
    io,
  );
}
