// The daemon's side of the announce guard: one connection held open while the daemon runs (see guard-server.ts).
import * as net from 'node:net';
import type { Clock } from '../clock';
import { ErrorCodes, LdirError } from '../errors';
import type { RouteTarget } from './route-driver';

/** A connection to the guard. */
export interface GuardLink {
  /** Tells the guard what to withdraw should this daemon die. */
  send(target: RouteTarget): void;
  /** True once the connection is gone (the guard died): the announcer connects again. */
  readonly closed: boolean;
  /** Closes the connection (the guard withdraws once no daemon is left). */
  close(): void;
}

/** Options of {@link connectGuard}. */
export interface GuardConnectOptions {
  readonly path: string;
  readonly clock: Clock;
  /** Starts a guard listening on `path` (a detached `ldir announce-guard PATH`). */
  readonly spawn: () => void;
  /** How long to wait for a guard just started (default 5 s). */
  readonly waitMs?: number;
}

function tryConnect(path: string): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(path);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
}

/**
 * Connects to the guard at `path`, starting one when none answers (a restart's successor finds its predecessor's and
 * joins it). Rejects with LDIR_ERR_ANNOUNCE when no guard answers within `waitMs`.
 */
export async function connectGuard(options: GuardConnectOptions): Promise<GuardLink> {
  let socket = await tryConnect(options.path);
  if (!socket) {
    options.spawn();
    const deadline = options.clock.monotonic() + (options.waitMs ?? 5_000);
    while (!socket && options.clock.monotonic() < deadline) {
      await new Promise<void>((r) => options.clock.setTimeout(r, 25));
      socket = await tryConnect(options.path);
    }
  }
  if (!socket) throw new LdirError(ErrorCodes.ANNOUNCE, `announce guard at ${options.path} did not start`);
  const s = socket;
  const link = {
    closed: false,
    send: (target: RouteTarget) => {
      if (!link.closed) s.write(`${JSON.stringify(target)}\n`);
    },
    close: () => {
      link.closed = true;
      s.end();
      s.destroy();
    },
  };
  s.on('close', () => {
    link.closed = true;
  });
  return link;
}
