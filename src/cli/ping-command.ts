// `ldir [--json] [--timeout=SECONDS] [CONFIG] ping`: cheap liveness of the running daemon, for OCF monitors and init scripts.
import { readFileSync } from 'node:fs';
import { contentDigest } from '../config/config-sources';
import type { LoadOptions } from '../config/load';
import { locateConfig, type LocatedConfig, type LocateOptions } from '../config/locate';
import { controlSocketPath, type ConfigFileDigest, type PingResult } from '../daemon/protocol';
import { ErrorCodes, isLdirError } from '../errors';
import { pidFilePath, readPidState } from '../system/pid-file';
import { warnIfConfigBroken } from './config-warnings';
import { DEFAULT_REQUEST_TIMEOUTS, pingDaemon } from './control-client';
import type { CliIo } from './io';

/**
 * Exit codes of `ldir ping`, those of an LSB `status` action: 0 running, healthy or degraded (its health verdict,
 * src/daemon/health-verdict.ts: a degraded director runs and keeps its table, part of its configuration refused by
 * the kernel; recovering it would not help, the line says why), 1 dead but its pid file remains (crashed or
 * killed), 3 not running, 4 alive but failing (no valid answer in time, or the verdict is failing: the kernel cannot
 * be synced or refused every virtual service, checks overdue, engine stalled or stopped), or alive and busy (its
 * control socket turned every try away within the timeout; state `busy`, the first line says "is busy").
 */
export const PingExit = { HEALTHY: 0, DEAD: 1, NOT_RUNNING: 3, UNHEALTHY: 4 } as const;

/** What `ldir ping --json` prints: `state` plus the daemon's answer when there was one. */
export interface PingReport {
  readonly state: 'running' | 'unhealthy' | 'busy' | 'dead' | 'stopped';
  readonly reason?: string;
  readonly pid?: number;
  readonly ping?: PingResult;
}

/** Options of {@link runPing}. */
export interface PingOptions {
  readonly config?: string;
  readonly json: boolean;
  /** Milliseconds to wait for the answer (connect included); default the protocol's ping default (2 s). */
  readonly timeoutMs?: number;
  readonly runDirectory?: string;
  readonly socketDirectory?: string;
  readonly locate?: LocateOptions;
  /** How the file is read for its warning (tests inject probes); names are never resolved. */
  readonly load?: LoadOptions;
  /** Waits between tries at a busy socket (injected by tests); default a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** First wait after a busy answer; it doubles up to {@link BUSY_RETRY_MAX_MS}. */
export const BUSY_RETRY_FIRST_MS = 25;
/** Longest wait between two tries at a busy socket. */
export const BUSY_RETRY_MAX_MS = 200;

/** One ping's answer, and how many busy answers came before it. */
interface PingTries {
  readonly response: Awaited<ReturnType<typeof pingDaemon>>;
  readonly busyTries: number;
}

/**
 * Pings, trying again while the daemon answers `LDIR_ERR_CONTROL_BUSY` (every control slot in use) and time is left:
 * a busy daemon is alive, and a monitor must not read a moment of load as a failure. Waits 25 ms, doubling up to
 * 200 ms; the last answer is kept (busy still, when the time ran out). Transport errors are not retried.
 */
async function pingWithRetries(
  socketPath: string,
  timeoutMs: number,
  sleep: (ms: number) => Promise<void>,
): Promise<PingTries> {
  const deadline = Date.now() + timeoutMs;
  let wait = BUSY_RETRY_FIRST_MS;
  for (let busyTries = 0; ; busyTries++) {
    const left = Math.max(1, deadline - Date.now());
    const response = await pingDaemon(socketPath, { timeoutMs: left });
    const busy = !response.ok && response.error.code === ErrorCodes.CONTROL_BUSY;
    if (!busy || deadline - Date.now() <= wait) return { response, busyTries: busy ? busyTries + 1 : busyTries };
    await sleep(wait);
    wait = Math.min(wait * 2, BUSY_RETRY_MAX_MS);
  }
}

const timerSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks the daemon of CONFIG for `ping` over its control socket; the daemon is found by the configuration's name. The
 * file decides nothing: a file being edited on disk says nothing about the daemon, which keeps running the
 * configuration it loaded. It is read only to warn on stderr when it is missing or broken (without name resolution:
 * a monitor must never wait for DNS), and only when it is not what the daemon loaded (its answer lists the files it
 * read with their digests): a monitor of a director whose files nobody touched never loads the configuration
 * parser. The pid file is read only to tell a crashed daemon (pid file left behind) from a stopped one.
 */
export async function runPing(options: PingOptions, io: CliIo): Promise<number> {
  const located = locateConfig(options.config, options.locate);
  const code = await pingOnce(options, located, io);
  if (!runsAsOnDisk(located.path, code.loaded)) await warnIfConfigBroken(located, options.config, io, options.load);
  return code.exit;
}

/**
 * True when the daemon runs the configuration as it is on disk now: `path` is its main file and every file it loaded
 * has the same content (an include it could not read is still missing). A file an include glob would match now but
 * did not then is not seen: `ldir status` and `ldir check` read the whole configuration.
 */
function runsAsOnDisk(path: string | undefined, loaded: readonly ConfigFileDigest[] | undefined): boolean {
  if (path === undefined || loaded === undefined || loaded[0]?.path !== path) return false;
  return loaded.every((f) => digestNow(f.path) === f.digest);
}

/** {@link contentDigest} of the file at `path` now; undefined when it cannot be read. */
function digestNow(path: string): string | undefined {
  try {
    return contentDigest(readFileSync(path));
  } catch {
    return undefined;
  }
}

/** Pings once and reports; the exit code, and the files the daemon loaded when it answered with them. */
async function pingOnce(
  options: PingOptions,
  located: LocatedConfig,
  io: CliIo,
): Promise<{ exit: number; loaded?: readonly ConfigFileDigest[] }> {
  const socketPath = controlSocketPath(located.name, options.socketDirectory);
  const pidFile = pidFilePath(located.name, options.runDirectory);
  const what = located.path ?? located.name;
  const report = (
    code: number,
    r: PingReport,
    text: string,
    toErr: boolean,
  ): { exit: number; loaded?: readonly ConfigFileDigest[] } => {
    if (options.json) io.stdout(`${JSON.stringify(r)}\n`);
    else if (toErr) io.stderr(`${text}\n`);
    else io.stdout(`${text}\n`);
    return { exit: code, ...(r.ping?.configFiles !== undefined ? { loaded: r.ping.configFiles } : {}) };
  };
  let response;
  let busyTries = 0;
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUTS.ping;
  try {
    ({ response, busyTries } = await pingWithRetries(socketPath, timeoutMs, options.sleep ?? timerSleep));
  } catch (err) {
    if (!isLdirError(err)) throw err;
    const pid = readPidState(pidFile);
    if (pid.state === 'absent' && err.code === ErrorCodes.DAEMON_NOT_RUNNING) {
      return report(PingExit.NOT_RUNNING, { state: 'stopped' }, `ldir is stopped for ${what}`, false);
    }
    if (pid.state === 'stale') {
      const reason = `stale pid file ${pidFile}${pid.pid !== undefined ? `: pid ${pid.pid} is gone` : ''}`;
      return report(
        PingExit.DEAD,
        { state: 'dead', reason, ...(pid.pid !== undefined ? { pid: pid.pid } : {}) },
        `ldir is dead for ${what}: ${reason}`,
        true,
      );
    }
    const reason = err.message;
    return report(
      PingExit.UNHEALTHY,
      { state: 'unhealthy', reason, ...(pid.state === 'running' && pid.pid !== undefined ? { pid: pid.pid } : {}) },
      `ldir for ${what} does not answer: ${reason}`,
      true,
    );
  }
  if (!response.ok && response.error.code === ErrorCodes.CONTROL_BUSY) {
    const reason = `its control socket turned ping away ${busyTries} times in ${timeoutMs} ms (${response.error.code}: ${response.error.message})`;
    return report(
      PingExit.UNHEALTHY,
      { state: 'busy', reason },
      `ldir for ${what} is busy: ${reason}; the daemon is alive`,
      true,
    );
  }
  if (!response.ok) {
    const reason = `${response.error.message} (${response.error.code})`;
    return report(
      PingExit.UNHEALTHY,
      { state: 'unhealthy', reason },
      `ldir for ${what} answered with an error: ${reason}`,
      true,
    );
  }
  const ping = response.result;
  const problems = unhealthy(ping);
  if (problems.length > 0) {
    const reason = problems.join('; ');
    return report(
      PingExit.UNHEALTHY,
      { state: 'unhealthy', reason, pid: ping.pid, ping },
      `ldir for ${ping.configFile} (pid ${ping.pid}): ${reason}`,
      true,
    );
  }
  const degraded = ping.health?.level === 'degraded' ? clean(ping.health.summary) : undefined;
  const sync = degraded ?? (ping.lastSyncOk === null ? 'no kernel sync yet' : 'last kernel sync ok');
  // The OCF agent's monitor reads ", role master" (promoted) from this line; its start waits for "last kernel sync ok".
  const role = ping.role !== undefined && ping.role !== 'none' ? `, role ${ping.role}` : '';
  return report(
    PingExit.HEALTHY,
    { state: 'running', ...(degraded !== undefined ? { reason: degraded } : {}), pid: ping.pid, ping },
    `ldir for ${ping.configFile} is running with pid: ${ping.pid}, up ${ping.uptimeSeconds} s, ${sync}${role}`,
    false,
  );
}

/** Control characters (a daemon's text on a terminal or in a cluster log) become `?`. */
const clean = (text: string): string => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

/**
 * Why a daemon that answered is not healthy (empty when it is): its health verdict when failing (its summary, as
 * `/healthz` says it); from a daemon before the verdict (issue 21), a failed kernel sync or a failing watchdog.
 */
function unhealthy(ping: PingResult): string[] {
  if (ping.health) return ping.health.level === 'failing' ? [clean(ping.health.summary)] : [];
  const problems: string[] = [];
  if (ping.lastSyncOk === false)
    problems.push('the last kernel sync failed (the kernel table does not match the configuration; see the log)');
  const watchdog = ping.watchdog;
  if (watchdog && !watchdog.ok) {
    const reasons = watchdog.reasons.map((r) => clean(r.message)).join('; ');
    problems.push(`watchdog: ${reasons || 'not ok'}`);
  }
  return problems;
}
