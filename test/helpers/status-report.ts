// A small StatusReport covering every flag and column of the status view, for protocol, server and view tests.
import type { RealStatus, StateSyncStatus, StatusReport } from '../../src/daemon/protocol';

const NOW = Date.parse('2024-05-01T12:00:00.000Z');

/** ISO time `seconds` before the report's generation time. */
export function ago(seconds: number): string {
  return new Date(NOW - seconds * 1000).toISOString();
}

const plain = { draining: false, drained: false, maintenance: false } as const;

function real(over: Partial<RealStatus> & Pick<RealStatus, 'address' | 'port'>): RealStatus {
  return {
    forward: 'masq',
    health: 'up',
    since: ago(60),
    weight: 1,
    kernelWeight: 1,
    inKernel: true,
    lastCheck: { up: true, reason: 'HTTP 200', durationMs: 12, at: ago(2) },
    ...plain,
    ...over,
  };
}

/** Three virtual services: tcp with up/down/drained reals, fwmark on fallback, IPv6 with unknown and odd reals. */
export function sampleReport(): StatusReport {
  return {
    generatedAt: new Date(NOW).toISOString(),
    daemon: {
      pid: 4242,
      configFile: '/etc/ha.d/ldirectord.cf',
      startedAt: ago(26 * 3600 + 180),
      backend: { name: 'netlink', inMemory: false },
      lastSync: { at: ago(12), ok: true },
      lastReload: { at: ago(3720), ok: false, message: '/etc/ha.d/ldirectord.cf:7: unknown directive "bogus"' },
    },
    virtualServices: [
      {
        id: 'tcp:192.0.2.1:80',
        protocol: 'tcp',
        family: 'inet',
        address: '192.0.2.1',
        port: 80,
        fwmark: null,
        scheduler: 'wrr',
        fallback: { address: '10.0.0.99', port: 80, forward: 'masq' },
        fallbackActive: false,
        draining: false,
        realsUp: 2,
        realsTotal: 3,
        reals: [
          real({ address: '10.0.0.1', port: 80, weight: 5, kernelWeight: 5, since: ago(192) }),
          real({
            address: '10.0.0.2',
            port: 80,
            health: 'down',
            weight: 5,
            kernelWeight: 0,
            since: ago(45),
            lastCheck: { up: false, reason: 'connect: ECONNREFUSED', durationMs: 1, at: ago(3) },
          }),
          real({ address: '10.0.0.3', port: 80, weight: 3, kernelWeight: 0, since: ago(3720), drained: true }),
        ],
      },
      {
        id: 'fwm:100',
        protocol: 'fwm',
        family: 'inet',
        address: null,
        port: 0,
        fwmark: 100,
        scheduler: 'rr',
        fallback: { address: '10.0.0.99', port: 0, forward: 'masq' },
        fallbackActive: true,
        draining: false,
        realsUp: 0,
        realsTotal: 1,
        reals: [
          real({
            address: '10.0.0.5',
            port: 0,
            forward: 'gate',
            health: 'down',
            since: ago(2 * 86400 + 3 * 3600),
            kernelWeight: null,
            inKernel: false,
            maintenance: true,
            lastCheck: { up: false, reason: 'ping: no reply', durationMs: 3000, at: ago(5) },
          }),
        ],
      },
      {
        id: 'tcp:[2001:db8::1]:443',
        protocol: 'tcp',
        family: 'inet6',
        address: '2001:db8::1',
        port: 443,
        fwmark: null,
        scheduler: 'sh',
        fallback: null,
        fallbackActive: false,
        draining: true,
        realsUp: 1,
        realsTotal: 2,
        reals: [
          real({
            address: '2001:db8::10',
            port: 443,
            forward: 'gate',
            health: 'unknown',
            since: null,
            kernelWeight: null,
            inKernel: false,
            lastCheck: null,
          }),
          real({
            address: '2001:db8::11',
            port: 443,
            forward: 'gate',
            draining: true,
            kernelWeight: 0,
            lastCheck: {
              up: true,
              reason: 'TLS ok, HTTP 200, body matched "\u001b[31mwelcome to the very long page title"',
              durationMs: 1534,
              at: ago(1),
            },
          }),
        ],
      },
    ],
  };
}

/** Connection sync of a director in `role` on eth1 with sync id 7: its daemon running as configured, the other stopped. */
export function sampleStateSync(
  role: 'master' | 'backup' = 'master',
  over: Partial<StateSyncStatus> = {},
): StateSyncStatus {
  const running = { interface: 'eth1', syncId: 7, group: '224.0.0.81', port: 8848, ttl: 1, maxLength: 1472 };
  const stopped = { interface: null, syncId: null, group: null, port: null, ttl: null, maxLength: null };
  return {
    configured: true,
    role,
    roleSource: 'command',
    since: ago(300),
    ok: true,
    checkedAt: ago(4),
    lastError: null,
    daemons: (['master', 'backup'] as const).map((state) =>
      state === role
        ? { state, wanted: true, running: true, matches: true, ...running }
        : { state, wanted: false, running: false, matches: true, ...stopped },
    ),
    ...over,
  };
}
