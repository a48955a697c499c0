// The control socket's file: what is at its path, binding it owner-only, and the errors of doing so.
import { lstatSync } from 'node:fs';
import net from 'node:net';
import { ErrorCodes, isLdirError, LdirError } from '../errors';

/** Connections waiting to be accepted (the kernel refuses more with EAGAIN): room for bursts of CLI clients. */
const LISTEN_BACKLOG = 511;

/** The errno code of a system error (`ENOENT`...), if it has one. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** An `LDIR_ERR_CONTROL_FAILED` error about `path`, with the errno of its cause. */
export function controlFailed(message: string, cause: unknown, path: string): LdirError {
  return new LdirError(ErrorCodes.CONTROL_FAILED, message, {
    cause,
    details: { path, ...(errnoOf(cause) ? { errno: errnoOf(cause) } : {}) },
  });
}

/** What is at the socket path: nothing, a socket nobody listens on, or a live daemon. Never removes anything. */
export async function probeSocketPath(path: string): Promise<'absent' | 'stale' | 'live'> {
  try {
    if (!lstatSync(path).isSocket()) {
      throw new LdirError(ErrorCodes.CONTROL_FAILED, `${path} exists and is not a socket; not removing it`, {
        details: { path },
      });
    }
  } catch (err) {
    if (isLdirError(err)) throw err;
    if (errnoOf(err) === 'ENOENT') return 'absent';
    throw controlFailed(`cannot inspect control socket ${path}: ${(err as Error).message}`, err, path);
  }
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    const done = (state: 'absent' | 'stale' | 'live'): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(state);
    };
    // A daemon that accepts but is too slow to complete connect() is alive: never remove its socket.
    const timer = setTimeout(() => done('live'), 1_000);
    socket.once('connect', () => done('live'));
    socket.once('error', (err) => {
      const code = errnoOf(err);
      if (code === 'ECONNREFUSED') done('stale');
      else if (code === 'ENOENT') done('absent');
      else if (code === 'EAGAIN') done('live');
      else {
        clearTimeout(timer);
        reject(controlFailed(`cannot probe control socket ${path}: ${err.message}`, err, path));
      }
    });
  });
}

/** Binds with umask 0177 so the socket is 0600 from its first instant (chmod follows for workers without umask). */
export function listen(server: net.Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    let previous: number | undefined;
    try {
      previous = process.umask(0o177);
    } catch {
      previous = undefined; // worker threads cannot change the umask; the chmod below still applies
    }
    try {
      // Node binds the pipe synchronously inside listen(), so the umask is restored before anything else runs.
      server.listen({ path, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      if (previous !== undefined) process.umask(previous);
    }
  });
}
