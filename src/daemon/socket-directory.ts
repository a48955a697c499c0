// The control socket's directory: created 0700 when missing; an existing one (and each of its parents) must be safe.
import { chmodSync, existsSync, mkdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorCodes, LdirError } from '../errors';

/** Options of {@link ensureSocketDirectory}. */
export interface SocketDirectoryOptions {
  /** The daemon's effective uid; a directory it owns is as good as root's. Default `process.geteuid()`. */
  readonly uid?: number;
  /** Reads a directory's owner and mode (injected for tests). Default `fs.statSync`. */
  readonly stat?: (path: string) => Pick<Stats, 'uid' | 'mode'>;
}

/** A permission mode as `chmod` takes it: `0777`, `1777`. */
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Who may own the directory and its parents: root, and the daemon's own user. */
function ownerName(uid: number): string {
  return uid === 0 ? 'root (uid 0)' : `root or uid ${uid} (the daemon's user)`;
}

function unsafe(message: string, path: string, stats: Pick<Stats, 'uid' | 'mode'>): LdirError {
  return new LdirError(ErrorCodes.CONTROL_UNSAFE, message, {
    details: { path, mode: formatMode(stats.mode), owner: stats.uid },
  });
}

function fsFailed(message: string, err: unknown, path: string): LdirError {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  return new LdirError(ErrorCodes.CONTROL_FAILED, `${message}: ${(err as Error).message}`, {
    cause: err,
    details: { path, ...(typeof errno === 'string' ? { errno } : {}) },
  });
}

const RISK =
  "could replace the control socket (or plant one that root's ldir commands talk to); the daemon refuses to publish it there";

/**
 * Why a directory on the socket's path is unsafe, or undefined when it is not. `own` is the socket's directory itself:
 * writable by no one but its owner. A parent may be writable by others only with the sticky bit (as /tmp): then no
 * one else can rename or remove what is in it. Either must belong to root or to the daemon's user.
 */
function problem(path: string, stats: Pick<Stats, 'uid' | 'mode'>, uid: number, own: boolean): LdirError | undefined {
  const what = own ? 'control socket directory' : 'parent of the control socket directory';
  const elsewhere = own
    ? 'or set LDIR_SOCKET_DIR to a directory only root can write (ldir creates a missing one with mode 0700)'
    : 'or set LDIR_SOCKET_DIR to a directory whose parents only root can write';
  if (stats.uid !== 0 && stats.uid !== uid) {
    const fix = own ? `chown root:root ${path} && chmod 0700 ${path}` : `chown root ${path}`;
    return unsafe(
      `${what} ${path} is owned by uid ${stats.uid}, not by ${ownerName(uid)}: that user ${RISK}. Run "${fix}", ${elsewhere}`,
      path,
      stats,
    );
  }
  const writable = (stats.mode & 0o022) !== 0;
  const sticky = (stats.mode & 0o1000) !== 0;
  if (writable && (own || !sticky)) {
    const group = (stats.mode & 0o020) !== 0;
    const others = (stats.mode & 0o002) !== 0;
    const who = group && others ? 'its group and every other user' : others ? 'every other user' : 'its group';
    const fix = own
      ? `"chmod 0700 ${path}"`
      : `"chmod go-w ${path}" (or "chmod +t ${path}" for a directory shared on purpose, as /tmp)`;
    return unsafe(
      `${what} ${path} has mode ${formatMode(stats.mode)}: ${who} ${RISK}. Run ${fix}, ${elsewhere}`,
      path,
      stats,
    );
  }
  return undefined;
}

/** The nearest of `path` and its parents that exists (`/` at worst). */
function nearestExisting(path: string): string {
  for (let p = resolve(path); ; p = dirname(p)) {
    if (existsSync(p) || dirname(p) === p) return p;
  }
}

/**
 * Makes sure the control socket can be published in `dir`: checks it (when it exists) and its parents, then creates
 * it (mode 0700) when missing. The directory, after symbolic links, must belong to root or to the daemon's user and be
 * writable by no one else; each of its parents up to `/` the same, except that a sticky parent (such as /tmp) may be
 * writable by all. Otherwise another user could rename the socket away and put one of their own in its place, which
 * root's `ldir` commands would then talk to: the daemon refuses (`LDIR_ERR_CONTROL_UNSAFE`, naming the path, its mode
 * or owner, and the fix; nothing is created) rather than change the mode of a directory that may be shared. Other
 * failures: `LDIR_ERR_CONTROL_FAILED`.
 */
export function ensureSocketDirectory(dir: string, options: SocketDirectoryOptions = {}): void {
  const uid = options.uid ?? process.geteuid?.() ?? 0;
  const stat = options.stat ?? statSync;
  const existing = nearestExisting(dir);
  let path: string;
  try {
    path = realpathSync(existing);
  } catch (err) {
    throw fsFailed(`cannot inspect ${existing} (on the control socket's path)`, err, existing);
  }
  for (let own = existing === resolve(dir); ; own = false) {
    let stats: Pick<Stats, 'uid' | 'mode'>;
    try {
      stats = stat(path);
    } catch (err) {
      throw fsFailed(`cannot inspect ${path} (on the control socket's path)`, err, path);
    }
    if ((stats.mode & 0o170000) !== 0o040000) {
      throw new LdirError(
        ErrorCodes.CONTROL_FAILED,
        `${path} is not a directory: the control socket cannot be published in it`,
        { details: { path } },
      );
    }
    const found = problem(path, stats, uid, own);
    if (found) throw found;
    const parent = dirname(path);
    if (parent === path) break;
    path = parent;
  }
  if (existing === resolve(dir)) return;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // whatever the umask
  } catch (err) {
    throw fsFailed(`cannot create control socket directory ${dir}`, err, dir);
  }
}
