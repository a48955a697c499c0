// Kernel tier (root, in the VM): the ipvsadm backend against real IPVS. Touches only its own services; never flushes.
import assert from 'node:assert/strict';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ErrorCodes, isLdirError } from '../../../src/errors';
import { IPVSADM_PATHS, IpvsadmBackend } from '../../../src/ipvs/ipvsadm/backend';
import { spawnExec } from '../../../src/ipvs/ipvsadm/exec';
import {
  destinationSpec,
  normalizeDesired,
  normalizeObserved,
  serviceKeyOf,
  serviceKeyString,
} from '../../../src/ipvs/normalize';
import type { DesiredService, IpvsDestination, IpvsOp, IpvsService, ServiceKey } from '../../../src/ipvs/types';
import { skipOrFail } from '../../helpers/prerequisites';

function runnable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const binary = IPVSADM_PATHS.find(runnable);
const skip =
  process.env['LDIR_IN_VM'] !== '1'
    ? 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)'
    : !existsSync('/proc/net/ip_vs')
      ? 'no IPVS in this kernel (/proc/net/ip_vs is absent)'
      : process.getuid?.() !== 0
        ? 'needs root'
        : binary === undefined
          ? 'ipvsadm is not installed'
          : false;

/** Every exec of the backend under test, to count processes. */
const runs: string[][] = [];
const realExec = spawnExec(60_000);
const backend = new IpvsadmBackend({
  ...(binary !== undefined ? { binary } : {}),
  exec: (file, args, stdin) => {
    runs.push([...args]);
    return realExec(file, args, stdin);
  },
});

// This test's own addresses (198.18.91.0/24, 198.18.92.0/24 benchmark range; fd91::/16, fd92::/16) and marks 91001..91003.
const svc = (s: Partial<IpvsService> & Pick<IpvsService, 'scheduler'>, key: ServiceKey): IpvsService =>
  ({ onePacket: false, schedulerFlags: [], ...key, ...s }) as IpvsService;
const dst = (address: string, port: number, d: Partial<IpvsDestination> = {}): IpvsDestination => ({
  address,
  family: address.includes(':') ? 'inet6' : 'inet',
  port,
  forward: 'masq',
  weight: 1,
  upperThreshold: 0,
  lowerThreshold: 0,
  ...d,
});
const V4 = (protocol: 'tcp' | 'udp' | 'sctp', address: string, port: number): ServiceKey => ({
  family: 'inet',
  protocol,
  address,
  port,
});
const V6 = (protocol: 'tcp' | 'udp' | 'sctp', address: string, port: number): ServiceKey => ({
  family: 'inet6',
  protocol,
  address,
  port,
});
const TCP80 = V4('tcp', '198.18.91.1', 80);

const DESIRED: DesiredService[] = [
  {
    service: svc({ scheduler: 'wlc' }, TCP80),
    destinations: [
      dst('198.18.92.1', 8080, { upperThreshold: 100, lowerThreshold: 50 }),
      dst('198.18.92.2', 8080, { weight: 0 }),
    ],
  },
  {
    service: svc(
      { scheduler: 'sh', schedulerFlags: ['flag-1', 'flag-2'], persistent: 300, netmask: '255.255.255.0' },
      V4('tcp', '198.18.91.1', 443),
    ),
    destinations: [
      dst('198.18.92.3', 443, { forward: 'route', weight: 5 }),
      dst('198.18.92.4', 443, { forward: 'tunnel', weight: 2, tunnelType: 'ipip' }),
    ],
  },
  {
    service: svc({ scheduler: 'lblc', persistent: 3600 }, V4('tcp', '198.18.91.2', 0)),
    destinations: [dst('198.18.92.5', 0, { forward: 'route' })],
  },
  {
    service: svc({ scheduler: 'rr', onePacket: true }, V4('udp', '198.18.91.1', 53)),
    destinations: [dst('198.18.92.6', 53)],
  },
  {
    service: svc({ scheduler: 'rr', persistent: 360, persistenceEngine: 'sip' }, V4('udp', '198.18.91.1', 5060)),
    destinations: [dst('198.18.92.7', 5060, { weight: 2147483647, upperThreshold: 65535 })],
  },
  {
    service: svc({ scheduler: 'wrr', schedulerFlags: ['flag-1', 'flag-2', 'flag-3'] }, V4('sctp', '198.18.91.1', 3868)),
    destinations: [dst('198.18.92.11', 3868, { weight: 3 })],
  },
  {
    service: svc(
      { scheduler: 'mh', schedulerFlags: ['flag-1', 'flag-2'], persistent: 600, netmask: '64' },
      V6('tcp', 'fd91::1', 80),
    ),
    destinations: [
      dst('198.18.92.8', 80, { forward: 'tunnel', tunnelType: 'gue', tunnelPort: 6080, tunnelChecksum: 'csum' }),
      dst('fd92::1', 80, { forward: 'route' }),
      dst('fd92::2', 80, {
        forward: 'tunnel',
        weight: 4,
        tunnelType: 'gue',
        tunnelPort: 6081,
        tunnelChecksum: 'remcsum',
      }),
      dst('fd92::3', 80, { forward: 'tunnel', weight: 0, tunnelType: 'gre', tunnelChecksum: 'csum' }),
      dst('fd92::4', 80, { forward: 'tunnel', weight: 6, tunnelType: 'gre', tunnelChecksum: 'nocsum' }),
      dst('fd92::5', 80, {
        forward: 'tunnel',
        weight: 9,
        tunnelType: 'gue',
        tunnelPort: 6082,
        tunnelChecksum: 'nocsum',
      }),
    ],
  },
  {
    service: svc({ scheduler: 'nq', onePacket: true }, V6('udp', 'fd91::1', 53)),
    destinations: [dst('fd92::7', 5353)],
  },
  {
    service: svc({ scheduler: 'lc' }, { family: 'inet', fwmark: 91001 }),
    destinations: [dst('198.18.92.9', 0, { forward: 'route' }), dst('198.18.92.10', 0, { weight: 2 })],
  },
  {
    service: svc(
      { scheduler: 'sed', persistent: 120, netmask: '48', onePacket: true },
      { family: 'inet6', fwmark: 91002 },
    ),
    destinations: [dst('fd92::8', 0, { forward: 'route', weight: 10 })],
  },
  {
    service: svc({ scheduler: 'fo', schedulerFlags: ['flag-3'] }, { family: 'inet', fwmark: 91003 }),
    destinations: [],
  },
];
const OWN = new Set(DESIRED.map((d) => serviceKeyString(d.service)));

/** The kernel's view of this test's services, normalized, without counters. */
async function ownTable(): Promise<DesiredService[]> {
  return normalizeObserved(await backend.list())
    .filter((o) => OWN.has(serviceKeyString(o.service)))
    .map((o) => ({ service: o.service, destinations: o.destinations.map(destinationSpec) }));
}

async function removeOwn(): Promise<void> {
  const results = await backend.apply(
    DESIRED.map((d): IpvsOp => ({ op: 'delete-service', service: serviceKeyOf(d.service) })),
  );
  for (const r of results) assert.notEqual(r.status, 'failed', JSON.stringify(r));
}

describe('ipvsadm backend on a real kernel', { skip }, () => {
  before(removeOwn);
  after(removeOwn);

  test('info', async () => {
    const info = await backend.info();
    assert.match(info.version, /^\d+\.\d+\.\d+$/);
    assert.ok(info.connTableSize > 0);
  });

  test('a plan with every kind of service and destination: one -R process, listed back equal', async () => {
    const ops: IpvsOp[] = [];
    for (const d of DESIRED) {
      ops.push({ op: 'add-service', service: d.service });
      for (const dest of d.destinations)
        ops.push({ op: 'add-destination', service: serviceKeyOf(d.service), destination: dest });
    }
    runs.length = 0;
    const results = await backend.apply(ops);
    assert.deepEqual(runs, [['-R']], 'one ipvsadm -R for the whole plan');
    results.forEach((r, i) => {
      assert.deepEqual(r, { status: 'done' }, JSON.stringify(ops[i]));
    });
    runs.length = 0;
    assert.deepEqual(await ownTable(), normalizeDesired(DESIRED));
    assert.deepEqual(runs, [['-R']], 'one process for the whole read');
  });

  test('converged and failed operations in one mixed batch are attributed to the right lines', async () => {
    const mark: ServiceKey = { family: 'inet', fwmark: 91003 };
    const gone: ServiceKey = V4('tcp', '198.18.91.250', 80);
    const ops: IpvsOp[] = [
      { op: 'add-service', service: DESIRED[0]?.service as IpvsService },
      { op: 'edit-destination', service: TCP80, destination: dst('198.18.92.2', 8080, { weight: 7 }) },
      { op: 'add-destination', service: TCP80, destination: dst('198.18.92.1', 8080) },
      {
        op: 'delete-destination',
        service: TCP80,
        destination: { address: '198.18.92.99', port: 8080, family: 'inet' },
      },
      { op: 'delete-service', service: gone },
      { op: 'delete-destination', service: gone, destination: { address: '198.18.92.1', port: 80, family: 'inet' } },
      { op: 'edit-destination', service: TCP80, destination: dst('198.18.92.99', 8080) },
      { op: 'edit-service', service: svc({ scheduler: 'rr' }, gone) },
      { op: 'add-service', service: svc({ scheduler: 'nosuchsched' }, gone) },
      {
        op: 'add-destination',
        service: TCP80,
        destination: dst('198.18.92.12', 8080, { upperThreshold: 10, lowerThreshold: 20 }),
      },
      { op: 'add-destination', service: TCP80, destination: dst('255.255.255.255', 8080) },
      { op: 'add-destination', service: gone, destination: dst('198.18.92.1', 80) },
      { op: 'add-destination', service: TCP80, destination: dst('198.18.92.13', 8080, { forward: 'local' }) },
      { op: 'add-destination', service: mark, destination: dst('198.18.92.14', 0, { weight: 3 }) },
    ];
    runs.length = 0;
    const results = await backend.apply(ops);
    assert.deepEqual(runs, [['-R']]);
    const summary = results.map((r) => (r.status === 'done' ? 'done' : `${r.status} ${r.errno}`));
    assert.deepEqual(summary, [
      'converged EEXIST',
      'done',
      'converged EEXIST',
      'converged ENOENT',
      'converged ESRCH',
      'converged ESRCH',
      'failed ENOENT',
      'failed ESRCH',
      'failed ENOENT',
      'failed ERANGE',
      'failed EINVAL',
      'failed ESRCH',
      'failed EOPNOTSUPP',
      'done',
    ]);
    const table = await ownTable();
    const tcp80 = table.find((o) => serviceKeyString(o.service) === serviceKeyString(TCP80));
    assert.equal(tcp80?.destinations.find((d) => d.address === '198.18.92.2')?.weight, 7);
    assert.equal(tcp80?.destinations.length, 2);
    assert.deepEqual(
      table.find((o) => serviceKeyString(o.service) === serviceKeyString(mark))?.destinations.map((d) => d.address),
      ['198.18.92.14'],
    );
    assert.equal(table.length, DESIRED.length, 'nothing was added for the refused operations');
  });

  test('edits are full specs: settings removed from a service and a destination are gone', async () => {
    const key = V4('tcp', '198.18.91.1', 443);
    const results = await backend.apply([
      { op: 'edit-service', service: svc({ scheduler: 'rr' }, key) },
      { op: 'edit-destination', service: key, destination: dst('198.18.92.4', 443, { forward: 'route', weight: 1 }) },
    ]);
    assert.deepEqual(results, [{ status: 'done' }, { status: 'done' }]);
    const o = (await ownTable()).find((s) => serviceKeyString(s.service) === serviceKeyString(key));
    assert.deepEqual(o?.service, { ...key, scheduler: 'rr', onePacket: false, schedulerFlags: [] });
    assert.deepEqual(
      o?.destinations.find((d) => d.address === '198.18.92.4'),
      dst('198.18.92.4', 443, { forward: 'route' }),
    );
  });

  test('zero, timeouts', async () => {
    await backend.zero(TCP80);
    await assert.rejects(
      backend.zero(V4('tcp', '198.18.91.250', 80)),
      (e: unknown) => isLdirError(e, ErrorCodes.IPVS_REQUEST_FAILED) && e.details.errno === 'ESRCH',
    );
    const before = await backend.getTimeouts();
    await backend.setTimeouts({ tcp: 0, tcpFin: 0, udp: before.udp + 1 });
    assert.deepEqual(await backend.getTimeouts(), { ...before, udp: before.udp + 1 });
    await backend.setTimeouts(before);
    assert.deepEqual(await backend.getTimeouts(), before);
  });

  test("sync daemon start, list, stop (after this test's mixed-family destinations are gone)", async (t) => {
    await removeOwn();
    if ((await backend.listSyncDaemons()).length > 0) return skipOrFail(t, 'a sync daemon is already running');
    try {
      await backend.startSyncDaemon({ state: 'backup', interface: 'lo', syncId: 91 });
    } catch (err) {
      return skipOrFail(t, `cannot start a backup daemon on lo here: ${String(err)}`);
    }
    try {
      const daemons = await backend.listSyncDaemons();
      assert.equal(daemons.length, 1);
      assert.deepEqual(
        { state: daemons[0]?.state, interface: daemons[0]?.interface, syncId: daemons[0]?.syncId },
        { state: 'backup', interface: 'lo', syncId: 91 },
      );
    } finally {
      await backend.stopSyncDaemon('backup');
    }
    assert.deepEqual(await backend.listSyncDaemons(), []);
    await assert.rejects(
      backend.stopSyncDaemon('backup'),
      (e: unknown) => isLdirError(e, ErrorCodes.IPVS_REQUEST_FAILED) && e.details.errno === 'ESRCH',
    );
  });
});
