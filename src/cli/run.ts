// Command-line entry: dispatches argv to `check`, `convert` or the ldirectord-compatible actions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLdirError } from '../errors';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';
import { parseDrainArgs } from './control-commands';
import { parseWeightArgs } from './weight-command';
import type { LdirectordAction } from './ldirectord-actions';
import { BACKEND_CHOICES, type BackendChoice } from '../ipvs/backend-choice';

// Commands load their modules when they run: `ping` (the OCF monitor, run every few seconds) must not pay for
// loading every checker, the config parser and the daemon (20 s of start-up in an emulated VM instead of 1 s).

export { BACKEND_CHOICES };

/** Usage text. */
export const USAGE = `Usage:
  ldir check [CONFIG] [--json] [--ipvs=...]
                                          validate a configuration (exit 0 valid, 2 invalid), show the sysctl and
                                          IPVS timeout changes the daemon would make
  ldir convert FILE --to yaml|cf [-o OUT] write one configuration form from the other
  ldir probe [CONFIG] [--virtual VIP:PORT] [--json]
                                          run every configured check once, now (exit 0 all up, 1 any down)
  ldir ipvs [--ipvs=auto|netlink|ipvsadm|memory] [list|info] [--json]
                                          the kernel IPVS table (or version) as ldir reads it
  ldir [-d|--debug] [--foreground] [--ipvs=auto|netlink|ipvsadm|memory] [--timeout=SECONDS] [CONFIG] start
                                          start the director (detached unless --foreground or supervised=yes) and
                                          wait for its first kernel sync (default 60 s)
  ldir [-d] [--timeout=SECONDS] [CONFIG] stop|restart|try-restart|reload|force-reload
                                          stop waits for the cleanup (default 30 s); reload prints config errors (exit 2);
                                          stop and status find the daemon by CONFIG's name: a broken file is a warning
  ldir [-d] [--json] [--timeout=SECONDS] [CONFIG] reload --dry-run
                                          what a reload would do now, one line each in the order it would do it
                                          (kernel operations as ipvsadm commands, drains, sysctls, sync daemons,
                                          commands), or "nothing to change"; changes nothing (exit 0; 2 config errors)
  ldir [-d] [--json] [--timeout=SECONDS] [CONFIG] status
                                          every virtual and real: health, weights, last check (0 running, 3 stopped)
  ldir [--json] [--timeout=SECONDS] [CONFIG] ping
                                          cheap liveness for monitors, the config is read only when it is not the one
                                          running, to warn that it is broken (0 running and the last
                                          kernel sync ok, 1 dead with a stale pid file, 3 stopped, 4 no answer, sync
                                          failed, or watchdog: checks overdue or engine stalled)
  ldir [--json] [CONFIG] drain|undrain VIRTUAL REAL
                                          take a real out of rotation by hand (weight 0) or put it back
  ldir [--json] [CONFIG] weight VIRTUAL REAL N|reset
                                          a real's weight while up, instead of the configured one (0..2147483647),
                                          or back to the configured one; weights and drains are kept in the state
                                          file: they survive restarts, stop and start, kill -9, and reloads
  ldir [--json] [--timeout=SECONDS] [CONFIG] promote|demote
                                          sync role of a director pair: master sends its connection table through
                                          the kernel's sync daemon, backup receives it (0 done, 1 the kernel refused
                                          the sync daemon, 3 stopped); the config is not read
  ldir announce-guard SOCKET
                                          started by the daemon that announces routes (announce=bird|frr):
                                          withdraws every announced prefix once no daemon is connected (kill -9
                                          included)
  ldir --help | --version

CONFIG is looked up as /etc/ha.d/CONFIG, /etc/ha.d/conf/CONFIG, then as a path; default ldirectord.cf.
Invoked as "ldirectord" the program behaves the same.
Environment: LDIR_IPVS (default for --ipvs), LDIR_RUN_DIR (pid files, default /var/run),
LDIR_SOCKET_DIR (control sockets, default /run/ldir), LDIR_STATE_DIR (state files, default /var/lib/ldir).
`;

/** Version string from package.json (this file runs as dist/src/cli/run.js: three levels up). */
export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function usageError(io: CliIo, message: string): number {
  io.stderr(`ldir: ${message}\n${USAGE}`);
  return ExitCode.USAGE;
}

/** Parses `check` arguments (`--ipvs=` picks the backend that reads the current IPVS timeouts). */
async function check(args: string[], io: CliIo): Promise<number> {
  let json = false;
  const fromEnv = ipvsFromEnv();
  if (!(BACKEND_CHOICES as readonly string[]).includes(fromEnv)) return usageError(io, fromEnv);
  let ipvs = fromEnv as BackendChoice;
  const positional: string[] = [];
  for (const a of args) {
    if (a === '--json') json = true;
    else if (a.startsWith('--ipvs=')) {
      const choice = a.slice(7);
      if (!(BACKEND_CHOICES as readonly string[]).includes(choice))
        return usageError(io, `--ipvs must be one of ${BACKEND_CHOICES.join(', ')}`);
      ipvs = choice as BackendChoice;
    } else if (a.startsWith('-')) return usageError(io, `unknown option for check: ${a}`);
    else positional.push(a);
  }
  if (positional.length > 1) return usageError(io, 'check takes at most one configuration');
  const { runCheck } = await import('./check-command');
  return runCheck({ json, ipvs, ...(positional[0] !== undefined ? { config: positional[0] } : {}) }, io);
}

/** Parses `convert` arguments. */
async function convert(args: string[], io: CliIo): Promise<number> {
  let to: string | undefined;
  let output: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if ((a === '--to' || a === '-o' || a === '--output') && i + 1 >= args.length)
      return usageError(io, `${a} needs a value`);
    if (a === '--to') to = args[++i];
    else if (a.startsWith('--to=')) to = a.slice(5);
    else if (a === '-o' || a === '--output') output = args[++i];
    else if (a.startsWith('-')) return usageError(io, `unknown option for convert: ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 1) return usageError(io, 'convert takes exactly one file');
  if (to !== 'yaml' && to !== 'cf') return usageError(io, 'convert needs --to yaml or --to cf');
  const { runConvert } = await import('./convert-command');
  return runConvert({ file: positional[0] as string, to, ...(output !== undefined ? { output } : {}) }, io);
}

/** Parses `probe` arguments and runs it with every checker of this build. */
async function probe(args: string[], io: CliIo): Promise<number> {
  let json = false;
  let virtual: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--json') json = true;
    else if (a === '--virtual') {
      if (i + 1 >= args.length) return usageError(io, '--virtual needs VIP:PORT');
      virtual = args[++i];
    } else if (a.startsWith('--virtual=')) virtual = a.slice(10);
    else if (a.startsWith('-')) return usageError(io, `unknown option for probe: ${a}`);
    else positional.push(a);
  }
  if (positional.length > 1) return usageError(io, 'probe takes at most one configuration');
  const [{ runProbe }, { defaultCheckers }, { openTcpProber }, { unsupportedService }] = await Promise.all([
    import('./probe-command'),
    import('../checks/registry'),
    import('../checks/tcp-prober'),
    import('../checks/support'),
  ]);
  const tcpProber = openTcpProber();
  try {
    return await runProbe(
      {
        json,
        checkers: defaultCheckers(tcpProber ? { tcpProber } : {}),
        unsupported: unsupportedService,
        ...(virtual !== undefined ? { virtual } : {}),
        ...(positional[0] !== undefined ? { config: positional[0] } : {}),
      },
      io,
    );
  } finally {
    tcpProber?.close();
  }
}

/**
 * Default of `--ipvs` from `LDIR_IPVS`: for callers with a fixed argv (Heartbeat's `ldirectord CONFIG start`, init
 * scripts, the OCF agent) on a host without IPVS, and for tests. A string is a usage error.
 */
export function ipvsFromEnv(env: NodeJS.ProcessEnv = process.env): BackendChoice | string {
  const value = env['LDIR_IPVS'];
  if (value === undefined || value === '') return 'auto';
  return (BACKEND_CHOICES as readonly string[]).includes(value)
    ? (value as BackendChoice)
    : `LDIR_IPVS must be one of ${BACKEND_CHOICES.join(', ')}`;
}

/** Parses ldirectord's `[-d] [--] [CONFIG] ACTION` (and `[CONFIG] ping`). */
async function ldirectordStyle(args: string[], io: CliIo): Promise<number> {
  let debug = false;
  let json = false;
  let foreground = false;
  let dryRun = false;
  let timeout: string | undefined;
  const fromEnv = ipvsFromEnv();
  if (!(BACKEND_CHOICES as readonly string[]).includes(fromEnv)) return usageError(io, fromEnv);
  let ipvs = fromEnv as BackendChoice;
  const positional: string[] = [];
  let optionsDone = false;
  for (const a of args) {
    if (!optionsDone && (a === '-d' || a === '--debug')) debug = true;
    else if (!optionsDone && a === '--json') json = true;
    else if (!optionsDone && a === '--foreground') foreground = true;
    else if (!optionsDone && a === '--dry-run') dryRun = true;
    else if (!optionsDone && a.startsWith('--timeout=')) timeout = a.slice(10);
    else if (!optionsDone && a.startsWith('--ipvs=')) {
      const choice = a.slice(7);
      if (!(BACKEND_CHOICES as readonly string[]).includes(choice))
        return usageError(io, `--ipvs must be one of ${BACKEND_CHOICES.join(', ')}`);
      ipvs = choice as BackendChoice;
    } else if (!optionsDone && a === '--') optionsDone = true;
    else if (!optionsDone && a.startsWith('-')) return usageError(io, `unknown option: ${a}`);
    else positional.push(a);
  }
  if (positional.length < 1 || positional.length > 2) return usageError(io, 'expected [CONFIG] ACTION');
  const action = positional[positional.length - 1] as string;
  const config = positional.length === 2 ? positional[0] : undefined;
  const seconds = timeout === undefined ? undefined : Number(timeout);
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0 && seconds <= 3600))
    return usageError(io, '--timeout must be a number of seconds (0 < s <= 3600)');
  const timeoutMs = seconds !== undefined ? { timeoutMs: Math.round(seconds * 1000) } : {};
  if (dryRun && action !== 'reload' && action !== 'force-reload')
    return usageError(io, `--dry-run goes with reload only, not ${action}`);
  if (action === 'ping') {
    const { runPing } = await import('./ping-command');
    const { stateDirectory: _state, ...directories } = directoriesFromEnv();
    return runPing(
      {
        json,
        ...(config !== undefined ? { config } : {}),
        ...timeoutMs,
        ...directories,
      },
      io,
    );
  }
  if (action === 'promote' || action === 'demote') {
    const { runRoleCommand } = await import('./role-command');
    const socketDirectory = directoriesFromEnv().socketDirectory;
    return runRoleCommand(
      {
        action,
        json,
        ...(config !== undefined ? { config } : {}),
        ...timeoutMs,
        ...(socketDirectory !== undefined ? { socketDirectory } : {}),
      },
      io,
    );
  }
  const { LDIRECTORD_ACTIONS, runLdirectordAction } = await import('./ldirectord-actions');
  if (!(LDIRECTORD_ACTIONS as readonly string[]).includes(action)) return usageError(io, `unknown action: ${action}`);
  return runLdirectordAction(
    {
      action: action as LdirectordAction,
      debug,
      json,
      foreground,
      ipvs,
      ...timeoutMs,
      ...(dryRun ? { dryRun } : {}),
      runForeground: async (request) => (await import('../app/daemon-process')).runDaemonProcess(request),
      ...(config !== undefined ? { config } : {}),
      ...directoriesFromEnv(),
    },
    io,
  );
}

/**
 * `LDIR_RUN_DIR` (pid files, default /var/run), `LDIR_SOCKET_DIR` (control sockets, default /run/ldir) and
 * `LDIR_STATE_DIR` (state files: runtime weights and hand drains, default /var/lib/ldir): for packagers and for tests
 * that run daemons side by side.
 */
function directoriesFromEnv(): { runDirectory?: string; socketDirectory?: string; stateDirectory?: string } {
  const run = process.env['LDIR_RUN_DIR'];
  const socket = process.env['LDIR_SOCKET_DIR'];
  const state = process.env['LDIR_STATE_DIR'];
  return {
    ...(run ? { runDirectory: run } : {}),
    ...(socket ? { socketDirectory: socket } : {}),
    ...(state ? { stateDirectory: state } : {}),
  };
}

/** Runs the CLI with `args` (argv without node and script) and returns the exit code. */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  try {
    const [first, ...rest] = args;
    if (first === undefined) return usageError(io, 'no command given');
    if (first === '-h' || first === '--help' || first === '-?' || first === 'help') {
      io.stdout(USAGE);
      return ExitCode.OK;
    }
    if (first === '-v' || first === '--version') {
      io.stdout(`ldir ${version()}\n`);
      return ExitCode.OK;
    }
    if (first === 'check') return await check(rest, io);
    if (first === 'convert') return await convert(rest, io);
    if (first === 'probe') return await probe(rest, io);
    if (first === 'announce-guard') {
      const { runAnnounceGuardCommand } = await import('./announce-guard-command');
      return await runAnnounceGuardCommand(rest, io);
    }
    if (first === 'ipvs') {
      const { parseIpvsArgs, runIpvs } = await import('./ipvs-command');
      const parsed = parseIpvsArgs(rest);
      return typeof parsed === 'string' ? usageError(io, parsed) : await runIpvs(parsed, io);
    }
    const drain = parseDrainArgs(args);
    if (drain !== undefined) {
      const socketDirectory = directoriesFromEnv().socketDirectory;
      if (typeof drain === 'string') return usageError(io, drain);
      const { runDrainAction } = await import('./control-commands');
      return await runDrainAction(drain, io, socketDirectory ? { socketDirectory } : {});
    }
    const weight = parseWeightArgs(args);
    if (weight !== undefined) {
      if (typeof weight === 'string') return usageError(io, weight);
      const socketDirectory = directoriesFromEnv().socketDirectory;
      const { runWeightAction } = await import('./weight-command');
      return await runWeightAction(weight, io, socketDirectory ? { socketDirectory } : {});
    }
    return await ldirectordStyle(args, io);
  } catch (err) {
    io.stderr(`ldir: ${isLdirError(err) ? `${err.message} (${err.code})` : ((err as Error).stack ?? String(err))}\n`);
    return ExitCode.FAILURE;
  }
}
