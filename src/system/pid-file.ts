// The daemon's pid file and its lock: one file per configuration (ldirectord's /var/run/ldirectord.<cfgname>.pid),
// held with an exclusive flock(2) for the daemon's lifetime. The lock, not the command line, says a daemon runs.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCodes, LdirError } from '../errors';

/** Directory of pid files. */
export const RUN_DIRECTORY = '/var/run';

/** The program that takes and tests the lock (util-linux's flock(1); Node has no flock(2)). */
export const FLOCK_COMMAND = 'flock';

/** flock(1) exit status asked for (`-E`) when the lock is held by someone else or the wait timed out. */
const CONFLICT = 75;

/** Path of the pid file for a configuration name. */
export function pidFilePath(configName: string, runDirectory: string = RUN_DIRECTORY): string {
  return join(runDirectory, `ldirectord.${configName}.pid`);
}

/**
 * What the pid file says about a daemon: `running` while a process holds the file's lock (whatever its command line;
 * `pid` is what the file names, undefined in the instant between lock and write), `stale` when the file remains
 * without a holder (a daemon killed with SIGKILL), `absent` without a file.
 */
export type PidState =
  | { readonly state: 'running'; readonly pid: number | undefined }
  | { readonly state: 'stale'; readonly pid: number | undefined }
  | { readonly state: 'absent' };

/** The pid a pid file's text names; undefined for anything but a positive integer on its first line. */
export function parsePid(text: string): number | undefined {
  const pid = Number.parseInt(text.trim().split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** flock(1)'s arguments to lock its fd 3 in `mode`, waiting up to `waitMs` (0: not at all). */
function flockArgs(mode: '-x' | '-s', waitMs: number): string[] {
  return [mode, ...(waitMs > 0 ? ['-w', (waitMs / 1000).toFixed(3)] : ['-n']), '-E', String(CONFLICT), '3'];
}

/**
 * How a flock(1) run on one of our descriptors ended (handed to it as its fd 3: the lock belongs to the open file, so
 * it stays with our descriptor after flock exits): `locked`, `busy` (held through another open file, or the wait
 * timed out), or `unavailable` (flock(1) cannot run).
 */
export type LockOutcome = 'locked' | 'busy' | 'unavailable';

function outcomeOf(status: number | null, error: Error | undefined): LockOutcome {
  if (error || status === null) return 'unavailable';
  if (status === 0) return 'locked';
  return status === CONFLICT ? 'busy' : 'unavailable';
}

function flockSync(fd: number, mode: '-x' | '-s', command: string): LockOutcome {
  const r = spawnSync(command, flockArgs(mode, 0), { stdio: ['ignore', 'ignore', 'ignore', fd], timeout: 10_000 });
  return outcomeOf(r.status, r.error);
}

function flockAsync(fd: number, mode: '-x' | '-s', waitMs: number, command: string): Promise<LockOutcome> {
  return new Promise((resolve) => {
    const child = spawn(command, flockArgs(mode, waitMs), { stdio: ['ignore', 'ignore', 'ignore', fd] });
    child.once('error', () => resolve('unavailable'));
    child.once('exit', (code) => resolve(outcomeOf(code, undefined)));
  });
}

function readPidAt(fd: number): number | undefined {
  const buffer = Buffer.alloc(64);
  const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
  return parsePid(buffer.subarray(0, n).toString('utf8'));
}

/**
 * Reads a pid file. The daemon is running while some process holds the file's lock, which is tested with a shared
 * non-blocking flock(1) on a descriptor of our own (released at once); the pid comes from the file. Without flock(1)
 * (no util-linux) a named process that exists counts as running.
 */
export function readPidState(path: string, command: string = FLOCK_COMMAND): PidState {
  let fd: number;
  try {
    // Not through a symbolic link: a link there is not a pid file of ours (the daemon refuses to start on it).
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return { state: 'absent' };
  }
  try {
    const probe = flockSync(fd, '-s', command);
    const pid = readPidAt(fd);
    if (probe === 'busy') return { state: 'running', pid };
    if (probe === 'unavailable' && pid !== undefined && fs.existsSync(`/proc/${pid}`)) return { state: 'running', pid };
    return { state: 'stale', pid };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The daemon's open pid file: written in place (never replaced, so the lock and the name stay on one inode) and
 * locked exclusively for the daemon's lifetime. The descriptor is close-on-exec (Node opens every file so): children
 * of the daemon never inherit the lock.
 */
export class PidFile {
  private fd: number | undefined;
  private locked = false;

  private constructor(
    readonly path: string,
    private readonly command: string,
  ) {
    this.fd = openPidDescriptor(path);
  }

  /** Opens (creating it and its directory when missing) the pid file at `path`. */
  static open(path: string, command: string = FLOCK_COMMAND): PidFile {
    try {
      fs.mkdirSync(dirname(path), { recursive: true });
      return new PidFile(path, command);
    } catch (err) {
      throw new LdirError(ErrorCodes.DAEMON_START_FAILED, `cannot open pid file ${path}: ${(err as Error).message}`, {
        cause: err,
        details: { path },
      });
    }
  }

  /** True once {@link lock} succeeded. */
  isLocked(): boolean {
    return this.locked;
  }

  /**
   * Takes the exclusive lock, waiting up to `waitMs` for a holder to let go (0: not at all). Resolves `locked`,
   * `busy` (another daemon holds it), or `unavailable` (flock(1) cannot run: the caller decides). A file unlinked
   * by its previous holder while we waited is reopened, so the lock always guards the file at `path`.
   */
  async lock(waitMs: number): Promise<LockOutcome> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await flockAsync(this.descriptor(), '-x', waitMs, this.command);
      if (this.fd === undefined) return 'busy'; // closed while it waited: whatever flock got went with the descriptor
      if (outcome !== 'locked') return outcome;
      if (this.isAtPath()) {
        this.locked = true;
        return 'locked';
      }
      this.reopen();
    }
    return 'busy';
  }

  /** Writes `pid` (the whole content, in place: a reader sees the old or the new number, never an empty file). */
  write(pid: number): void {
    const text = Buffer.from(`${pid}\n`);
    if (!this.isAtPath()) this.reopen();
    fs.writeSync(this.descriptor(), text, 0, text.length, 0);
    fs.ftruncateSync(this.descriptor(), text.length);
  }

  /** The pid the file names now. */
  readPid(): number | undefined {
    return readPidAt(this.descriptor());
  }

  /** Removes the file when it still names `pid` (never a successor's); returns true when it did. */
  remove(pid: number): boolean {
    try {
      if (!this.isAtPath() || this.readPid() !== pid) return false;
      fs.unlinkSync(this.path);
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the descriptor, which releases the lock. Idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
    this.locked = false;
  }

  private descriptor(): number {
    if (this.fd === undefined) throw new LdirError(ErrorCodes.INTERNAL, `pid file ${this.path} is closed`);
    return this.fd;
  }

  private isAtPath(): boolean {
    try {
      const open = fs.fstatSync(this.descriptor());
      const named = fs.statSync(this.path);
      return open.ino === named.ino && open.dev === named.dev;
    } catch {
      return false;
    }
  }

  private reopen(): void {
    this.close();
    this.fd = openPidDescriptor(this.path);
  }
}

/**
 * Opens (creating) a pid file for writing, never through a symbolic link and only as a regular file: the daemon
 * runs as root, and a link placed at the path would make it overwrite whatever the link names.
 */
function openPidDescriptor(path: string): number {
  let fd: number;
  try {
    fd = fs.openSync(
      path,
      fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK,
      0o644,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new Error('it is a symbolic link: a pid file is written only as a regular file (remove the link)');
    }
    throw err;
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    const kind = st.isFIFO()
      ? 'a FIFO'
      : st.isSocket()
        ? 'a socket'
        : st.isCharacterDevice() || st.isBlockDevice()
          ? 'a device'
          : 'not a regular file';
    throw new Error(`it is ${kind}: a pid file is written only as a regular file`);
  }
  return fd;
}
