// CLI side of `ldir status | reload [--dry-run] | drain | undrain | stop` against a running daemon's control socket
// (`ldir weight` in weight-command.ts).
import { locateConfig, type LocateOptions } from '../config/locate';
import { controlSocketPath, formatWireDiagnostic, type ErrorResponse } from '../daemon/protocol';
import { ErrorCodes, isLdirError } from '../errors';
import { sendControlRequest } from './control-client';
import { ExitCode, statusExitCode } from './exit-codes';
import { requestStatus } from './status-client';
import type { CliIo } from './io';
import { renderStatus, renderStatusJson } from './status-view';

/** Where and how long to talk to the daemon. */
export interface ControlCommandOptions {
  /** The daemon's control socket, `controlSocketPath(configName)`. */
  readonly socketPath: string;
  /** Overrides the per-request default timeout. */
  readonly timeoutMs?: number;
}

function timeout(options: ControlCommandOptions): { timeoutMs?: number } {
  return options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {};
}

/** Prints a transport failure and gives the exit code: `notRunning` when no daemon listens, else 1. */
export function transportFailure(err: unknown, io: CliIo, notRunning: number): number {
  if (!isLdirError(err)) throw err;
  io.stderr(`ldir: ${err.message}\n`);
  return err.code === ErrorCodes.DAEMON_NOT_RUNNING ? notRunning : ExitCode.FAILURE;
}

/** Prints the daemon's error answer on stderr. */
export function printError(response: ErrorResponse, io: CliIo): void {
  io.stderr(`ldir: ${response.error.message} (${response.error.code})\n`);
}

/** Warns on stderr when the daemon could not save a hand setting in its state file (`saveError` of the answer). */
export function printSaveError(saveError: string | undefined, io: CliIo): void {
  if (saveError !== undefined)
    io.stderr(
      `ldir: warning: in force, but not saved in the state file (${saveError}): lost at the next stop and start\n`,
    );
}

/**
 * `ldir status` against the daemon: prints the status table (or the report as JSON with `json`) on stdout. The
 * report is streamed (`requestStatus`: a table of any size, `maxLineBytes` bounding one line of it).
 * Exit 0 printed, 4 printed and the health verdict is failing, 3 no daemon listens, 1 any other failure.
 */
export async function runStatusCommand(
  options: ControlCommandOptions & { readonly json: boolean; readonly width?: number; readonly maxLineBytes?: number },
  io: CliIo,
): Promise<number> {
  let response;
  try {
    response = await requestStatus(options.socketPath, {
      ...timeout(options),
      ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}),
    });
  } catch (err) {
    return transportFailure(err, io, ExitCode.NOT_RUNNING);
  }
  if (!response.ok) {
    printError(response, io);
    return ExitCode.FAILURE;
  }
  io.stdout(
    options.json
      ? renderStatusJson(response.result)
      : renderStatus(response.result, options.width !== undefined ? { width: options.width } : {}),
  );
  return statusExitCode(response.result);
}

/**
 * `ldir reload`: the daemon loads its configuration file again. A refused reload prints every diagnostic as
 * `PATH:LINE: message` on stderr and exits 2 (the running configuration is unchanged); warnings of an applied reload
 * are printed too, with exit 0. Exit 1 when no daemon listens (as ldirectord) or on any other failure.
 */
export async function runReloadCommand(options: ControlCommandOptions, io: CliIo): Promise<number> {
  let response;
  try {
    response = await sendControlRequest(options.socketPath, { type: 'reload' }, timeout(options));
  } catch (err) {
    return transportFailure(err, io, ExitCode.FAILURE);
  }
  if (response.ok) {
    for (const d of response.result.diagnostics) io.stderr(`${formatWireDiagnostic(d)}\n`);
    return ExitCode.OK;
  }
  const diagnostics = response.error.diagnostics ?? [];
  for (const d of diagnostics) io.stderr(`${formatWireDiagnostic(d)}\n`);
  if (response.error.code === ErrorCodes.CONFIG_INVALID) {
    io.stderr(`ldir: reload refused, the daemon keeps running the previous configuration\n`);
    return ExitCode.CONFIG_ERROR;
  }
  if (response.error.code === ErrorCodes.RELOAD_REFUSED_BY_KERNEL) {
    io.stderr(`ldir: reload refused: ${response.error.message}\n`);
    return ExitCode.CONFIG_ERROR;
  }
  printError(response, io);
  return ExitCode.FAILURE;
}

/**
 * `ldir reload --dry-run`: the daemon loads its configuration file as a reload would and answers what the reload
 * would do, changing nothing. Prints one line per step in the order the reload would take them (kernel operations
 * as `ipvsadm` command lines, drains, sysctls, sync daemons, fallback and `execute=` commands, first checks), or
 * `nothing to change`; with `json` the daemon's answer as a JSON document. Warnings go to stderr. Exit 0 in both
 * cases; 2 when the configuration has errors (each as `PATH:LINE: message`; the daemon keeps running unchanged); 1
 * when no daemon listens (as `reload`) or on any other failure.
 */
export async function runReloadPreviewCommand(
  options: ControlCommandOptions & { readonly json: boolean },
  io: CliIo,
): Promise<number> {
  let response;
  try {
    response = await sendControlRequest(options.socketPath, { type: 'reload-preview' }, timeout(options));
  } catch (err) {
    return transportFailure(err, io, ExitCode.FAILURE);
  }
  if (!response.ok) {
    for (const d of response.error.diagnostics ?? []) io.stderr(`${formatWireDiagnostic(d)}\n`);
    if (response.error.code === ErrorCodes.CONFIG_INVALID) {
      io.stderr(
        `ldir: the configuration has errors: a reload would be refused (the daemon keeps running the previous configuration)\n`,
      );
      return ExitCode.CONFIG_ERROR;
    }
    printError(response, io);
    return ExitCode.FAILURE;
  }
  const { result } = response;
  for (const d of result.diagnostics) io.stderr(`${formatWireDiagnostic(d)}\n`);
  if (options.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else io.stdout(result.steps.length === 0 ? 'nothing to change\n' : result.steps.map((s) => `${s.text}\n`).join(''));
  return ExitCode.OK;
}

/** Options of {@link runDrainCommand}. */
export interface DrainCommandOptions extends ControlCommandOptions {
  readonly action: 'drain' | 'undrain';
  readonly virtual: string;
  readonly real: string;
  readonly json: boolean;
}

/**
 * `ldir drain|undrain VIRTUAL REAL`: sets a real server to weight 0 by hand (connections in progress continue), or
 * gives it back its weight; the daemon keeps it in its state file (it survives a stop and start and a kill -9; a
 * warning on stderr when it could not be saved). Exit 0 done (also when it already was), 1 unknown target, no
 * daemon or other failure.
 */
export async function runDrainCommand(options: DrainCommandOptions, io: CliIo): Promise<number> {
  let response;
  try {
    response = await sendControlRequest(
      options.socketPath,
      { type: options.action, virtual: options.virtual, real: options.real },
      timeout(options),
    );
  } catch (err) {
    return transportFailure(err, io, ExitCode.FAILURE);
  }
  if (!response.ok) {
    printError(response, io);
    return ExitCode.FAILURE;
  }
  const { virtual, real, changed } = response.result;
  const done = options.action === 'drain' ? 'drained' : 'undrained';
  if (options.json) io.stdout(`${JSON.stringify(response.result, null, 2)}\n`);
  else io.stdout(changed ? `${done} ${real} in ${virtual}\n` : `${real} in ${virtual} was already ${done}\n`);
  printSaveError(response.result.saveError, io);
  return ExitCode.OK;
}

/**
 * `ldir stop` through the socket: returns once the daemon has finished its shutdown cleanup. Exit 0 stopped or not
 * running (as ldirectord), 1 on failure (then the caller may fall back to SIGTERM by pid).
 */
export async function runStopCommand(options: ControlCommandOptions, io: CliIo): Promise<number> {
  let response;
  try {
    response = await sendControlRequest(options.socketPath, { type: 'stop' }, timeout(options));
  } catch (err) {
    if (isLdirError(err, ErrorCodes.DAEMON_NOT_RUNNING)) return ExitCode.OK;
    return transportFailure(err, io, ExitCode.FAILURE);
  }
  if (!response.ok) {
    printError(response, io);
    return ExitCode.FAILURE;
  }
  return ExitCode.OK;
}

/** Parsed `ldir [-d] [--json] [CONFIG] drain|undrain VIRTUAL REAL`. */
export interface DrainArgs {
  readonly action: 'drain' | 'undrain';
  readonly config?: string;
  readonly virtual: string;
  readonly real: string;
  readonly json: boolean;
  readonly debug: boolean;
}

/** An operator command's argv split: `-d`/`--debug`, `--json`, other options, and the positional arguments. */
export interface OperatorArgs {
  readonly debug: boolean;
  readonly json: boolean;
  /** Options other than `-d` and `--json` (before `--`), in order. */
  readonly options: readonly string[];
  readonly positional: readonly string[];
}

/** Splits `[-d|--debug] [--json] [--] [CONFIG] VERB ARGS...` (options anywhere before `--`). */
export function scanOperatorArgs(args: readonly string[]): OperatorArgs {
  let debug = false;
  let json = false;
  let optionsDone = false;
  const positional: string[] = [];
  const options: string[] = [];
  for (const a of args) {
    if (!optionsDone && (a === '-d' || a === '--debug')) debug = true;
    else if (!optionsDone && a === '--json') json = true;
    else if (!optionsDone && a === '--') optionsDone = true;
    else if (!optionsDone && a.startsWith('-')) options.push(a);
    else positional.push(a);
  }
  return { debug, json, options, positional };
}

/**
 * Recognizes `[-d|--debug] [--json] [--] [CONFIG] drain|undrain VIRTUAL REAL` in the whole argv. Undefined when the
 * arguments are not a drain/undrain command (another command parses them); a string is a usage error.
 */
export function parseDrainArgs(args: readonly string[]): DrainArgs | string | undefined {
  const { debug, json, options, positional } = scanOperatorArgs(args);
  const at = positional.findIndex((p) => p === 'drain' || p === 'undrain');
  if (at < 0 || at > 1) return undefined;
  const action = positional[at] as 'drain' | 'undrain';
  if (options.length > 0) return `unknown option for ${action}: ${options[0]}`;
  const rest = positional.slice(at + 1);
  if (rest.length !== 2)
    return `${action} needs VIRTUAL and REAL (for example: ${action} tcp:192.0.2.1:80 10.0.0.1:80)`;
  const config = at === 1 ? positional[0] : undefined;
  return {
    action,
    virtual: rest[0] as string,
    real: rest[1] as string,
    json,
    debug,
    ...(config !== undefined ? { config } : {}),
  };
}

/** Where {@link runDrainAction} (and `runWeightAction`) finds the socket; injectable for tests. */
export interface ControlLocation {
  /** Directory of control sockets (default `/run/ldir`). */
  readonly socketDirectory?: string;
  readonly locate?: LocateOptions;
  readonly timeoutMs?: number;
}

/**
 * Runs a parsed drain/undrain against the daemon of CONFIG (socket named after the configuration name, as the pid
 * file). The configuration file is deliberately not parsed: draining a server must work while the file on disk is
 * being edited; the daemon resolves VIRTUAL and REAL against the configuration it runs.
 */
export async function runDrainAction(args: DrainArgs, io: CliIo, where: ControlLocation = {}): Promise<number> {
  const { name } = locateConfig(args.config, where.locate);
  return runDrainCommand(
    {
      socketPath: controlSocketPath(name, where.socketDirectory),
      action: args.action,
      virtual: args.virtual,
      real: args.real,
      json: args.json,
      ...(where.timeoutMs !== undefined ? { timeoutMs: where.timeoutMs } : {}),
    },
    io,
  );
}
