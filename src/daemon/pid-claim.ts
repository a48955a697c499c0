// The daemon's identity: the lock on its pid file, taken at start, or by a successor once its predecessor has exited.
import { ErrorCodes, LdirError } from '../errors';
import type { Logger } from '../log';
import { PidFile } from '../system/pid-file';

/** How long a successor waits for its predecessor's lock (the predecessor exits right after the hand-over). */
const SUCCESSOR_LOCK_WAIT_MS = 120_000;
/** How long a fresh start waits for the pid file lock (a reader's momentary test lock); a daemon holding it stays. */
const START_LOCK_WAIT_MS = 2_000;

/**
 * Takes the pid file's lock (waiting a moment: a reader may be testing it) and writes `pid`. Refuses with
 * LDIR_ERR_ALREADY_RUNNING while another daemon holds it. Without flock(1) the daemon runs unlocked (warned).
 */
export async function claimPidFile(path: string, pid: number, configPath: string, log: Logger): Promise<PidFile> {
  const file = PidFile.open(path);
  const outcome = await file.lock(START_LOCK_WAIT_MS);
  if (outcome === 'busy') {
    const holder = file.readPid();
    file.close();
    throw new LdirError(
      ErrorCodes.ALREADY_RUNNING,
      `ldir for ${configPath} is already running${holder ? ` with pid ${holder}` : ''} (${path} is locked)`,
      {
        details: { exitCode: 1, path, ...(holder ? { pid: holder } : {}) },
      },
    );
  }
  if (outcome === 'unavailable')
    log.warn(
      { path },
      'flock(1) cannot run (util-linux): the pid file is not locked; the control socket still refuses a second daemon',
    );
  file.write(pid);
  return file;
}

/** A successor's pid file once it took over: its pid written, the lock taken later ({@link lockAfterPredecessor}). */
export function openSuccessorPidFile(path: string, pid: number): PidFile {
  const file = PidFile.open(path);
  file.write(pid);
  return file;
}

/**
 * The successor's lock: taken once the old daemon has exited (right after it saw our ready report). `stopping`
 * says whether this daemon stops meanwhile (then a lock still held is no error).
 */
export async function lockAfterPredecessor(
  file: PidFile | undefined,
  path: string,
  log: Logger,
  stopping: () => boolean,
): Promise<void> {
  const outcome = await file?.lock(SUCCESSOR_LOCK_WAIT_MS);
  if (outcome === 'locked') log.info({ path }, 'pid file locked (the previous daemon has exited)');
  else if (outcome === 'busy' && !stopping())
    log.error({ path, waitedMs: SUCCESSOR_LOCK_WAIT_MS }, 'the previous daemon still holds the pid file lock');
  else if (outcome === 'unavailable')
    log.warn({ path }, 'flock(1) cannot run (util-linux): the pid file is not locked');
}
