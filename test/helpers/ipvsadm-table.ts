// The kernel table behind test/fixtures/ipvsadm/list-*.txt, as ldir's IPVS types: shared by the ipvsadm tests.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { IpvsStats, ObservedDestination, ObservedService } from '../../src/ipvs/types';

/** Root of the repository (tests run from dist/test/...). */
export const ROOT = join(__dirname, '..', '..', '..');

/** Reads a file of test/fixtures/ipvsadm. */
export function ipvsadmFixture(name: string): string {
  return readFileSync(join(ROOT, 'test', 'fixtures', 'ipvsadm', name), 'utf8');
}

const ZERO: IpvsStats = {
  conns: 0n,
  inPackets: 0n,
  outPackets: 0n,
  inBytes: 0n,
  outBytes: 0n,
  cps: 0n,
  inPps: 0n,
  outPps: 0n,
  inBps: 0n,
  outBps: 0n,
};

/** A destination with the defaults of the fixture (no conns, no thresholds, zero stats). */
function dest(
  d: Partial<ObservedDestination> & Pick<ObservedDestination, 'address' | 'port' | 'forward' | 'weight'>,
): ObservedDestination {
  return {
    family: d.address.includes(':') ? 'inet6' : 'inet',
    upperThreshold: 0,
    lowerThreshold: 0,
    activeConns: 0,
    inactiveConns: 0,
    persistentConns: 0,
    stats: ZERO,
    ...d,
  };
}

/** The observed table of the fixture listings, in ipvsadm's (sorted) order. */
export const FIXTURE_TABLE: readonly ObservedService[] = [
  {
    service: {
      family: 'inet',
      protocol: 'tcp',
      address: '192.0.2.10',
      port: 80,
      scheduler: 'wlc',
      onePacket: false,
      schedulerFlags: [],
    },
    stats: {
      conns: 1234n,
      inPackets: 56789n,
      outPackets: 43210n,
      inBytes: 987654321n,
      outBytes: 12345678901n,
      cps: 3n,
      inPps: 40n,
      outPps: 35n,
      inBps: 5200n,
      outBps: 61000n,
    },
    destinations: [
      dest({
        address: '10.1.0.1',
        port: 8080,
        forward: 'masq',
        weight: 1,
        activeConns: 3,
        inactiveConns: 12,
        upperThreshold: 100,
        lowerThreshold: 50,
        stats: {
          conns: 1000n,
          inPackets: 50000n,
          outPackets: 40000n,
          inBytes: 900000000n,
          outBytes: 12000000000n,
          cps: 2n,
          inPps: 30n,
          outPps: 30n,
          inBps: 5000n,
          outBps: 60000n,
        },
      }),
      dest({
        address: '10.1.0.2',
        port: 8080,
        forward: 'masq',
        weight: 0,
        inactiveConns: 1,
        stats: {
          conns: 234n,
          inPackets: 6789n,
          outPackets: 3210n,
          inBytes: 87654321n,
          outBytes: 345678901n,
          cps: 1n,
          inPps: 10n,
          outPps: 5n,
          inBps: 200n,
          outBps: 1000n,
        },
      }),
    ],
  },
  {
    service: {
      family: 'inet',
      protocol: 'tcp',
      address: '192.0.2.10',
      port: 443,
      scheduler: 'sh',
      persistent: 300,
      netmask: '255.255.255.0',
      onePacket: false,
      schedulerFlags: ['flag-1', 'flag-2'],
    },
    stats: ZERO,
    destinations: [
      dest({
        address: '192.0.2.21',
        port: 443,
        forward: 'route',
        weight: 5,
        activeConns: 7,
        inactiveConns: 2,
        persistentConns: 4,
      }),
      dest({ address: '192.0.2.22', port: 443, forward: 'tunnel', weight: 2, tunnelType: 'ipip' }),
    ],
  },
  {
    service: {
      family: 'inet',
      protocol: 'tcp',
      address: '192.0.2.11',
      port: 0,
      scheduler: 'lblc',
      persistent: 3600,
      onePacket: false,
      schedulerFlags: [],
    },
    stats: ZERO,
    destinations: [dest({ address: '192.0.2.23', port: 0, forward: 'route', weight: 1 })],
  },
  {
    service: {
      family: 'inet',
      protocol: 'udp',
      address: '192.0.2.10',
      port: 53,
      scheduler: 'rr',
      onePacket: true,
      schedulerFlags: [],
    },
    stats: ZERO,
    destinations: [dest({ address: '10.1.0.3', port: 53, forward: 'masq', weight: 1, inactiveConns: 9 })],
  },
  {
    service: {
      family: 'inet',
      protocol: 'udp',
      address: '192.0.2.10',
      port: 5060,
      scheduler: 'rr',
      persistent: 360,
      onePacket: false,
      schedulerFlags: [],
      persistenceEngine: 'sip',
    },
    stats: ZERO,
    destinations: [
      dest({ address: '10.1.0.6', port: 5060, forward: 'masq', weight: 2147483647, upperThreshold: 65535 }),
    ],
  },
  {
    service: {
      family: 'inet',
      protocol: 'sctp',
      address: '192.0.2.10',
      port: 3868,
      scheduler: 'wrr',
      onePacket: false,
      schedulerFlags: ['flag-1', 'flag-2', 'flag-3'],
    },
    stats: ZERO,
    destinations: [dest({ address: '10.1.0.4', port: 3868, forward: 'masq', weight: 3 })],
  },
  {
    service: {
      family: 'inet6',
      protocol: 'tcp',
      address: '2001:db8::10',
      port: 80,
      scheduler: 'mh',
      persistent: 600,
      netmask: '64',
      onePacket: false,
      schedulerFlags: ['flag-1', 'flag-2'],
    },
    stats: { ...ZERO, conns: 5n, inPackets: 10n, inBytes: 600n },
    destinations: [
      dest({
        address: '198.51.100.7',
        port: 80,
        forward: 'tunnel',
        weight: 1,
        tunnelType: 'gue',
        tunnelPort: 6080,
        tunnelChecksum: 'csum',
        stats: { ...ZERO, conns: 5n, inPackets: 10n, inBytes: 600n },
      }),
      dest({ address: '2001:db8:1::1', port: 80, forward: 'route', weight: 1 }),
      dest({
        address: '2001:db8:1::2',
        port: 80,
        forward: 'tunnel',
        weight: 4,
        tunnelType: 'gue',
        tunnelPort: 6081,
        tunnelChecksum: 'remcsum',
      }),
      dest({
        address: '2001:db8:1::3',
        port: 80,
        forward: 'tunnel',
        weight: 0,
        tunnelType: 'gre',
        tunnelChecksum: 'csum',
      }),
      dest({
        address: '2001:db8:1::4',
        port: 80,
        forward: 'tunnel',
        weight: 6,
        tunnelType: 'gre',
        tunnelChecksum: 'nocsum',
      }),
      dest({
        address: '2001:db8:1::5',
        port: 80,
        forward: 'tunnel',
        weight: 9,
        tunnelType: 'gue',
        tunnelPort: 6082,
        tunnelChecksum: 'nocsum',
      }),
      dest({ address: '2001:db8:1::6', port: 80, forward: 'local', weight: 1, activeConns: 1 }),
    ],
  },
  {
    service: {
      family: 'inet6',
      protocol: 'udp',
      address: '2001:db8::10',
      port: 53,
      scheduler: 'nq',
      onePacket: true,
      schedulerFlags: [],
    },
    stats: ZERO,
    destinations: [dest({ address: '2001:db8:1::7', port: 5353, forward: 'masq', weight: 1 })],
  },
  {
    service: { family: 'inet', fwmark: 7, scheduler: 'lc', onePacket: false, schedulerFlags: [] },
    stats: ZERO,
    destinations: [
      dest({ address: '10.1.0.5', port: 0, forward: 'route', weight: 1 }),
      dest({ address: '10.1.0.7', port: 0, forward: 'masq', weight: 2 }),
    ],
  },
  {
    service: {
      family: 'inet6',
      fwmark: 8,
      scheduler: 'sed',
      persistent: 120,
      netmask: '48',
      onePacket: true,
      schedulerFlags: [],
    },
    stats: ZERO,
    destinations: [dest({ address: '2001:db8:2::1', port: 0, forward: 'route', weight: 10 })],
  },
  {
    service: { family: 'inet', fwmark: 9, scheduler: 'fo', onePacket: false, schedulerFlags: ['flag-3'] },
    stats: ZERO,
    destinations: [],
  },
];
