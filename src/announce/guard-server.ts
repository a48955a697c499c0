// The announce guard: a small process that withdraws every announced prefix when no ldir daemon is connected to it
// any more (a daemon killed with -9 included), then exits. `ldir announce-guard SOCKET` runs it.
import { existsSync, unlinkSync } from 'node:fs';
import * as net from 'node:net';
import type { Clock, TimerHandle } from '../clock';
import type { Logger } from '../log';
import { readRouteTarget, type RouteDriver, type RouteTarget } from './route-driver';

/** Grace after the last daemon left before everything is withdrawn (a restart's successor is already connected). */
export const GUARD_GRACE_MS = 1_000;
/** How long a guard waits for its first daemon before it withdraws and exits. */
export const GUARD_FIRST_CONNECT_MS = 10_000;
/** Attempts at withdrawing (BIRD busy or reconfiguring, vtysh refused), one every 200 ms. */
const WITHDRAW_ATTEMPTS = 5;

/** Options of {@link runAnnounceGuard}. */
export interface AnnounceGuardOptions {
  /** The unix socket daemons connect to. */
  readonly path: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The driver of a target (the daemon sends its target as a JSON line `{"driver":..., "socket":..., "file":...}`). */
  readonly driverFor: (target: RouteTarget) => RouteDriver;
  readonly graceMs?: number;
  readonly firstConnectMs?: number;
  /**
   * Aborted (SIGTERM: a service manager stopping what is left of ldir's cgroup after the daemon died): withdraw at
   * once, whoever is connected, and exit.
   */
  readonly signal?: AbortSignal;
}

/**
 * Listens on `path`; every connected daemon keeps the announcement alive. The last target a daemon sent is the one
 * withdrawn: once no daemon has been connected for `graceMs` (or none came within `firstConnectMs`), the driver
 * announces the empty set, the socket is removed and the promise resolves (the process then exits). An aborted
 * `signal` does the same at once.
 */
export function runAnnounceGuard(options: AnnounceGuardOptions): Promise<void> {
  const { clock, logger } = options;
  const graceMs = options.graceMs ?? GUARD_GRACE_MS;
  let target: RouteTarget | undefined;
  let connected = 0;
  let timer: TimerHandle | undefined;
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      connected++;
      if (timer) clock.clearTimeout(timer);
      timer = undefined;
      let buffer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          try {
            target = readRouteTarget(JSON.parse(line)) ?? target;
          } catch {
            logger.warn({ line }, 'announce guard: unreadable line ignored');
          }
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        connected--;
        if (connected === 0) arm(graceMs);
      });
    });
    let finishing = false;
    const finish = async (): Promise<void> => {
      if (finishing) return;
      finishing = true;
      if (timer) clock.clearTimeout(timer);
      server.close();
      try {
        if (existsSync(options.path)) unlinkSync(options.path);
      } catch {
        // gone already
      }
      if (target) {
        const driver = options.driverFor(target);
        for (let attempt = 1; attempt <= WITHDRAW_ATTEMPTS; attempt++) {
          try {
            await driver.apply([]);
            logger.info({ target: driver.describe }, 'announce guard: no ldir daemon left, every prefix withdrawn');
            break;
          } catch (err) {
            logger.error({ err: (err as Error).message, attempt }, 'announce guard: withdrawal failed');
            await new Promise<void>((r) => clock.setTimeout(r, 200));
          }
        }
      }
      resolve();
    };
    const arm = (ms: number): void => {
      if (timer) clock.clearTimeout(timer);
      timer = clock.setTimeout(() => {
        timer = undefined;
        if (connected === 0) void finish();
      }, ms);
    };
    server.on('error', reject);
    options.signal?.addEventListener(
      'abort',
      () => {
        logger.info('announce guard: told to stop, withdrawing now');
        void finish();
      },
      { once: true },
    );
    if (existsSync(options.path)) unlinkSync(options.path);
    server.listen(options.path, () => arm(options.firstConnectMs ?? GUARD_FIRST_CONNECT_MS));
  });
}
