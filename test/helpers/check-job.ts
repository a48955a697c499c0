// Test helpers for checkers: a CheckJob with sensible defaults, loopback servers, and result assertions.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import type { CheckJob, CheckResult } from '../../src/checks/types';

/** A CheckJob for 127.0.0.1 with short timeouts; override what the test needs. */
export function makeJob(overrides: Partial<CheckJob> = {}): CheckJob {
  const address = overrides.address ?? '127.0.0.1';
  return {
    type: 'negotiate',
    service: 'none',
    address,
    family: net.isIPv6(address) ? 'inet6' : 'inet',
    port: 0,
    protocol: 'tcp',
    virtualHost: '192.0.2.10',
    virtualPort: 80,
    realPort: 0,
    request: '/',
    receive: '',
    httpMethod: 'GET',
    login: '',
    passwd: '',
    database: '',
    secret: '',
    command: '',
    pingCount: 1,
    checkTimeoutMs: 1000,
    negotiateTimeoutMs: 1000,
    ...overrides,
  };
}

/** A signal that never aborts. */
export const NEVER = new AbortController().signal;

/**
 * Asserts a result: up or down, a reason matching `reason`, and a measured duration of at least `minMs` (a check
 * that must wait for its timeout did wait). No upper bound: how long a check takes on a busy machine is not its
 * verdict. A check that must end early (at the shorter of two timeouts, or when the caller aborts) gets
 * {@link UNREACHED_MS} for the timeout it must not wait for, and {@link assertNotAtTimeout} says which ended it.
 */
export function assertResult(r: CheckResult, up: boolean, reason: RegExp, minMs = 0): void {
  assert.equal(r.up, up, `expected ${up ? 'up' : 'down'}, got ${JSON.stringify(r)}`);
  assert.match(r.reason, reason);
  assert.ok(Number.isFinite(r.durationMs) && r.durationMs >= minMs, `took ${r.durationMs} ms, less than ${minMs} ms`);
}

/**
 * A timeout a check must not reach in a test: the event the test waits for (an abort as the server takes the
 * connection, a shorter timeout) comes within milliseconds. Ten seconds: it also bounds what a client that cannot
 * cancel leaves behind when the test ends.
 */
export const UNREACHED_MS = 10_000;

/** Asserts that `r` ended before {@link UNREACHED_MS}: by the event the test made, not at the timeout it must not reach. */
export function assertNotAtTimeout(r: CheckResult, what: string): void {
  assert.ok(
    r.durationMs < UNREACHED_MS,
    `${what}: ended after ${r.durationMs} ms, at the ${UNREACHED_MS} ms timeout it must not reach`,
  );
}

const open = new WeakMap<net.Server, Set<net.Socket>>();

/** Starts `server` on `host`, port 0, and resolves with the port; its connections are tracked for {@link closeServer}. */
export function listen(server: net.Server, host: string): Promise<number> {
  const sockets = new Set<net.Socket>();
  open.set(server, sockets);
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const addr = server.address();
      if (typeof addr === 'object' && addr) resolve(addr.port);
      else reject(new Error('no port'));
    });
  });
}

/** A TCP server that accepts and stays silent. */
export function silentServer(): net.Server {
  return net.createServer((s) => {
    s.on('error', () => undefined);
  });
}

/** Closes a server started with {@link listen}, destroying its open connections. */
export function closeServer(server: net.Server): Promise<void> {
  for (const s of open.get(server) ?? []) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A loopback TCP port that refuses connections (nothing listens there right now). */
export async function refusedPort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  const port = await listen(s, host);
  await closeServer(s);
  return port;
}
