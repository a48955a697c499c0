// Kernel tier (inside the VM): every kind of service and destination through netlink, read back by netlink and by
// ipvsadm, stats included; the ipvsadm backend builds the same table; plans converge; foreign services survive;
// kernel errors come back typed and match the memory backend's.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { applyPlan } from '../../../src/engine/apply-plan';
import { plan } from '../../../src/engine/plan';
import { IpvsadmBackend } from '../../../src/ipvs/ipvsadm/backend';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { NetlinkBackend } from '../../../src/ipvs/netlink/backend';
import { NetlinkSocket } from '../../../src/ipvs/netlink/socket';
import {
  destinationSpec,
  normalizeDesired,
  normalizeObserved,
  serviceKeyOf,
  serviceKeyString,
} from '../../../src/ipvs/normalize';
import { buildNatLab, clientGet, waitForReals, type NatLab } from '../../helpers/netns-lab';
import type { DesiredService, IpvsBackend, IpvsOp, ObservedService, ServiceKey } from '../../../src/ipvs/types';

const skip =
  process.env['LDIR_IN_VM'] === '1' && existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

/** The table under test: documentation addresses only (nothing is sent to them). */
export const DESIRED: DesiredService[] = [
  {
    service: {
      family: 'inet',
      protocol: 'tcp',
      address: '192.0.2.1',
      port: 80,
      scheduler: 'wrr',
      onePacket: false,
      schedulerFlags: [],
    },
    destinations: [
      {
        address: '198.51.100.1',
        family: 'inet',
        port: 80,
        forward: 'masq',
        weight: 3,
        upperThreshold: 0,
        lowerThreshold: 0,
      },
      {
        address: '198.51.100.2',
        family: 'inet',
        port: 8080,
        forward: 'masq',
        weight: 0,
        upperThreshold: 200,
        lowerThreshold: 50,
      },
      {
        address: '198.51.100.3',
        family: 'inet',
        port: 80,
        forward: 'route',
        weight: 1,
        upperThreshold: 0,
        lowerThreshold: 0,
      },
      {
        address: '198.51.100.4',
        family: 'inet',
        port: 80,
        forward: 'tunnel',
        weight: 2,
        upperThreshold: 0,
        lowerThreshold: 0,
        tunnelType: 'ipip',
        tunnelPort: 0,
        tunnelChecksum: 'nocsum',
      },
      {
        address: '198.51.100.5',
        family: 'inet',
        port: 80,
        forward: 'tunnel',
        weight: 2,
        upperThreshold: 0,
        lowerThreshold: 0,
        tunnelType: 'gue',
        tunnelPort: 6080,
        tunnelChecksum: 'remcsum',
      },
      {
        address: '198.51.100.6',
        family: 'inet',
        port: 80,
        forward: 'tunnel',
        weight: 2,
        upperThreshold: 0,
        lowerThreshold: 0,
        tunnelType: 'gre',
        tunnelPort: 0,
        tunnelChecksum: 'csum',
      },
    ],
  },
  {
    service: {
      family: 'inet',
      protocol: 'udp',
      address: '192.0.2.1',
      port: 53,
      scheduler: 'lc',
      persistent: 120,
      netmask: '255.255.255.0',
      onePacket: true,
      schedulerFlags: [],
    },
    destinations: [
      {
        address: '198.51.100.7',
        family: 'inet',
        port: 53,
        forward: 'route',
        weight: 1,
        upperThreshold: 0,
        lowerThreshold: 0,
      },
    ],
  },
  {
    service: {
      family: 'inet',
      protocol: 'sctp',
      address: '192.0.2.2',
      port: 3868,
      scheduler: 'rr',
      onePacket: false,
      schedulerFlags: [],
    },
    destinations: [
      {
        address: '198.51.100.8',
        family: 'inet',
        port: 3868,
        forward: 'masq',
        weight: 1,
        upperThreshold: 0,
        lowerThreshold: 0,
      },
    ],
  },
  {
    service: { family: 'inet', fwmark: 7, scheduler: 'sh', onePacket: false, schedulerFlags: ['flag-1', 'flag-2'] },
    destinations: [
      {
        address: '198.51.100.9',
        family: 'inet',
        port: 0,
        forward: 'route',
        weight: 5,
        upperThreshold: 0,
        lowerThreshold: 0,
      },
    ],
  },
  {
    service: {
      family: 'inet',
      protocol: 'udp',
      address: '192.0.2.3',
      port: 5060,
      scheduler: 'rr',
      persistent: 60,
      onePacket: false,
      schedulerFlags: [],
      persistenceEngine: 'sip',
    },
    destinations: [
      {
        address: '198.51.100.10',
        family: 'inet',
        port: 5060,
        forward: 'masq',
        weight: 1,
        upperThreshold: 0,
        lowerThreshold: 0,
      },
    ],
  },
  {
    service: {
      family: 'inet6',
      protocol: 'tcp',
      address: '2001:db8::1',
      port: 443,
      scheduler: 'mh',
      persistent: 300,
      netmask: '64',
      onePacket: false,
      schedulerFlags: ['flag-2'],
    },
    destinations: [
      {
        address: '2001:db8::10',
        family: 'inet6',
        port: 443,
        forward: 'route',
        weight: 2,
        upperThreshold: 0,
        lowerThreshold: 0,
      },
      {
        address: '198.51.100.11',
        family: 'inet',
        port: 443,
        forward: 'tunnel',
        weight: 1,
        upperThreshold: 0,
        lowerThreshold: 0,
        tunnelType: 'gue',
        tunnelPort: 6080,
        tunnelChecksum: 'csum',
      },
    ],
  },
  {
    service: { family: 'inet6', fwmark: 8, scheduler: 'wlc', onePacket: false, schedulerFlags: [] },
    destinations: [
      {
        address: '2001:db8::11',
        family: 'inet6',
        port: 0,
        forward: 'masq',
        weight: 1,
        upperThreshold: 10,
        lowerThreshold: 0,
      },
    ],
  },
  {
    // The NAT lab (test/helpers/netns-lab.ts): VIP on the director, real servers in network namespaces.
    service: {
      family: 'inet',
      protocol: 'tcp',
      address: '10.201.0.1',
      port: 8080,
      scheduler: 'rr',
      onePacket: false,
      schedulerFlags: [],
    },
    destinations: [
      {
        address: '10.200.1.2',
        family: 'inet',
        port: 8080,
        forward: 'masq',
        weight: 1,
        upperThreshold: 0,
        lowerThreshold: 0,
      },
      {
        address: '10.200.2.2',
        family: 'inet',
        port: 8080,
        forward: 'masq',
        weight: 1,
        upperThreshold: 0,
        lowerThreshold: 0,
      },
    ],
  },
];

const OURS = new Set(DESIRED.map((d) => serviceKeyString(d.service)));
const owned = (k: ServiceKey): boolean => OURS.has(serviceKeyString(k));
const FOREIGN = ['-A', '-t', '203.0.113.99:80', '-s', 'rr'];

/** What the kernel must report for a desired table. */
const expected = (desired: readonly DesiredService[]): DesiredService[] => normalizeDesired(desired);

/** Our part of a table, normalized, without counters. */
function ours(table: readonly ObservedService[]): DesiredService[] {
  return normalizeObserved(table)
    .filter((o) => owned(o.service))
    .map((o) => ({ service: o.service, destinations: o.destinations.map(destinationSpec) }));
}

function ipvsadm(...args: string[]): string {
  return execFileSync('ipvsadm', args, { encoding: 'utf8' });
}

async function removeOurs(backend: IpvsBackend): Promise<void> {
  await backend.apply(DESIRED.map((d) => ({ op: 'delete-service', service: serviceKeyOf(d.service) }) as IpvsOp));
}

describe('netlink backend against the real kernel', { skip, concurrency: false }, () => {
  let netlink: NetlinkBackend;
  let lab: NatLab;
  const cli = new IpvsadmBackend();

  before(async () => {
    execFileSync('ip', ['link', 'set', 'lo', 'up']);
    lab = buildNatLab('nl', 2);
    netlink = await NetlinkBackend.open(NetlinkSocket.open());
    await removeOurs(netlink);
    try {
      ipvsadm('-D', '-t', '203.0.113.99:80');
    } catch {
      /* absent */
    }
    ipvsadm(...FOREIGN);
  });

  after(async () => {
    await removeOurs(netlink);
    try {
      ipvsadm('-D', '-t', '203.0.113.99:80');
    } catch {
      /* absent */
    }
    await netlink.close();
    lab.teardown();
  });

  test('info and timeouts', async () => {
    assert.equal((await netlink.info()).version, '1.2.1');
    const t = await netlink.getTimeouts();
    assert.ok(t.tcp > 0 && t.udp > 0);
  });

  test('every kind of service and destination round-trips through netlink', async () => {
    const ops = plan(DESIRED, await netlink.list(), owned);
    const summary = await applyPlan(netlink, ops);
    assert.deepEqual(summary.failed, []);
    assert.deepEqual(ours(await netlink.list()), expected(DESIRED));
  });

  test('ipvsadm -Ln --exact reads back the same table, stats included', async () => {
    await waitForReals(lab);
    const answers = new Set<string>();
    for (let i = 0; i < 4; i++) answers.add(clientGet(lab, 'http://10.201.0.1:8080/').trim());
    assert.deepEqual([...answers].sort(), ['hello from nlr1', 'hello from nlr2'], 'round robin through the director');
    // The kernel folds its per-CPU counters into the reported stats every ~2 s (estimator): wait, bounded.
    const vip = (t: readonly ObservedService[]) =>
      t.find((o) => 'address' in o.service && o.service.address === '10.201.0.1');
    let byNetlink = await netlink.list();
    for (let i = 0; i < 20 && (vip(byNetlink)?.stats?.conns ?? 0n) < 4n; i++) {
      await new Promise((r) => setTimeout(r, 500));
      byNetlink = await netlink.list();
    }
    assert.equal(vip(byNetlink)?.stats?.conns, 4n, 'the four connections through the director were counted');
    const byCli = await cli.list();
    assert.deepEqual(ours(byCli), ours(byNetlink));
    assert.ok((vip(byNetlink)?.stats?.inPackets ?? 0n) > 0n);
    const statsOf = (t: readonly ObservedService[]) =>
      normalizeObserved(t)
        .filter((o) => owned(o.service))
        .map((o) => ({ conns: o.stats?.conns, inPackets: o.stats?.inPackets }));
    assert.deepEqual(statsOf(byCli), statsOf(byNetlink));
  });

  test('`ldir ipvs list` shows the same table through netlink and through ipvsadm', () => {
    const main = `${__dirname}/../../../src/main.js`;
    const viaNetlink = execFileSync(process.execPath, [main, 'ipvs', '--ipvs=netlink', 'list'], { encoding: 'utf8' });
    const viaIpvsadm = execFileSync(process.execPath, [main, 'ipvs', '--ipvs=ipvsadm', 'list'], { encoding: 'utf8' });
    assert.match(viaNetlink, /^TCP {2}10\.201\.0\.1:8080 rr$/m);
    assert.match(viaNetlink, /^ {2}-> \[2001:db8::10\]:443\s+Route\s+2/m);
    const withoutCounters = (t: string) =>
      t
        .split('\n')
        .map((l) => l.replace(/\s+\d+\s+\d+$/, ''))
        .join('\n');
    assert.equal(withoutCounters(viaIpvsadm), withoutCounters(viaNetlink));
  });

  test('a second plan against the live kernel is empty; the foreign service is untouched', async () => {
    assert.deepEqual(plan(DESIRED, await netlink.list(), owned), []);
    assert.match(ipvsadm('-Ln'), /203\.0\.113\.99:80/);
  });

  test('edits: weight, thresholds, forwarding method, scheduler, persistence in one plan', async () => {
    const changed = DESIRED.map((d, i) =>
      i !== 0
        ? d
        : {
            service: { ...d.service, scheduler: 'wlc', persistent: 30 },
            destinations: d.destinations.map((x, j) =>
              j === 0 ? { ...x, weight: 9, forward: 'route' as const, upperThreshold: 5, lowerThreshold: 1 } : x,
            ),
          },
    );
    const ops = plan(changed, await netlink.list(), owned);
    assert.deepEqual(
      ops.map((o) => o.op),
      ['edit-service', 'edit-destination'],
    );
    assert.deepEqual((await applyPlan(netlink, ops)).failed, []);
    assert.deepEqual(ours(await netlink.list()), expected(changed));
    await applyPlan(netlink, plan(DESIRED, await netlink.list(), owned));
    assert.deepEqual(plan(DESIRED, await netlink.list(), owned), []);
  });

  test('the ipvsadm backend builds the same table from the same plan', async () => {
    await removeOurs(netlink);
    const summary = await applyPlan(cli, plan(DESIRED, await cli.list(), owned));
    assert.deepEqual(summary.failed, []);
    assert.deepEqual(ours(await netlink.list()), expected(DESIRED));
    assert.deepEqual(plan(DESIRED, await netlink.list(), owned), []);
    assert.match(ipvsadm('-Ln'), /203\.0\.113\.99:80/, 'foreign service still there');
  });

  test('kernel errors come back typed, the same as the memory backend reports them', async () => {
    const svc = { family: 'inet' as const, protocol: 'tcp' as const, address: '192.0.2.200', port: 80 };
    const ops: IpvsOp[] = [
      { op: 'add-service', service: { ...svc, scheduler: 'nosuchsched', onePacket: false, schedulerFlags: [] } },
      {
        op: 'add-destination',
        service: svc,
        destination: {
          address: '198.51.100.1',
          family: 'inet',
          port: 80,
          forward: 'masq',
          weight: 1,
          upperThreshold: 0,
          lowerThreshold: 0,
        },
      },
      { op: 'add-service', service: { ...svc, scheduler: 'rr', onePacket: false, schedulerFlags: [] } },
      { op: 'add-service', service: { ...svc, scheduler: 'rr', onePacket: false, schedulerFlags: [] } },
      {
        op: 'add-destination',
        service: svc,
        destination: {
          address: '198.51.100.1',
          family: 'inet',
          port: 80,
          forward: 'masq',
          weight: 2147483648,
          upperThreshold: 0,
          lowerThreshold: 0,
        },
      },
      {
        op: 'add-destination',
        service: svc,
        destination: {
          address: '198.51.100.1',
          family: 'inet',
          port: 80,
          forward: 'masq',
          weight: 1,
          upperThreshold: 5,
          lowerThreshold: 9,
        },
      },
      {
        op: 'edit-destination',
        service: svc,
        destination: {
          address: '198.51.100.2',
          family: 'inet',
          port: 80,
          forward: 'masq',
          weight: 1,
          upperThreshold: 0,
          lowerThreshold: 0,
        },
      },
      { op: 'delete-destination', service: svc, destination: { address: '198.51.100.2', family: 'inet', port: 80 } },
      { op: 'delete-service', service: svc },
      { op: 'delete-service', service: svc },
    ];
    const kernel = await netlink.apply(ops);
    const memory = await new MemoryBackend().apply(ops);
    const brief = (rs: typeof kernel) => rs.map((r) => (r.status === 'done' ? 'done' : `${r.status}:${r.errno}`));
    assert.deepEqual(brief(kernel), [
      'failed:ENOENT',
      'failed:ESRCH',
      'done',
      'converged:EEXIST',
      'failed:ERANGE',
      'failed:ERANGE',
      'failed:ENOENT',
      'converged:ENOENT',
      'done',
      'converged:ESRCH',
    ]);
    assert.deepEqual(brief(memory), brief(kernel));
  });
});
