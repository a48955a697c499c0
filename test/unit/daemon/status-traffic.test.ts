// The traffic of a status report: kernel connection counts and rates per service and destination, matched to the
// engine's virtuals and reals by the kernel destination (a gate real's port is the virtual's in the kernel); a kernel
// read that failed says so and leaves the traffic null.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderStatus } from '../../../src/cli/status-view';
import { resultSchemas } from '../../../src/daemon/protocol-schema';
import { buildStatusReport } from '../../../src/daemon/status-report';
import { trafficOf, trafficOfSliced } from '../../../src/daemon/status-traffic';
import { SliceYielder } from '../../../src/system/slice-yielder';
import type { IpvsService, ObservedService } from '../../../src/ipvs/types';
import { real, snapshot, stats, virtual } from '../metrics/fixtures';

const V = 'tcp:192.0.2.1:80';
const FACTS = {
  pid: 42,
  configFile: '/etc/ldir.cf',
  startedAt: 1_700_000_000_000,
  backend: 'netlink',
  lastReload: null,
};
const SERVICE = {
  family: 'inet',
  protocol: 'tcp',
  address: '192.0.2.1',
  port: 80,
  scheduler: 'wlc',
  flags: [],
  schedulerFlags: [],
  timeout: 0,
  netmask: '255.255.255.255',
} as unknown as IpvsService;

function kernel(): ObservedService[] {
  const destination = (address: string, port: number, active: number, inactive: number, cps: bigint) => ({
    family: 'inet' as const,
    address,
    port,
    weight: 1,
    forward: 'route' as const,
    upperThreshold: 0,
    lowerThreshold: 0,
    activeConns: active,
    inactiveConns: inactive,
    persistentConns: 0,
    stats: stats({ cps, inPps: 10n, outPps: 9n, inBps: 1500n, outBps: 2n ** 40n, conns: 1234n }),
  });
  return [
    {
      service: SERVICE,
      destinations: [destination('10.0.0.1', 80, 7, 3, 5n), destination('10.0.0.2', 80, 1, 0, 1n)],
      stats: stats({ cps: 6n, inPps: 20n, outPps: 18n, inBps: 3000n, outBps: 4000n, conns: 2468n }),
    },
  ];
}

describe('traffic in the status report', () => {
  test("each real gets its kernel destination's counts and rates, each virtual its service's with summed connections", () => {
    const engine = snapshot([
      virtual(V, [
        real('10.0.0.1:8080', { destination: '10.0.0.1:80' }), // gate: the kernel holds the virtual's port
        real('10.0.0.2:80'),
        real('10.0.0.3:80', { inKernel: false, kernelWeight: null }),
      ]),
    ]);
    const report = buildStatusReport(FACTS, engine, [], 1_700_000_060_000, undefined, {
      traffic: trafficOf({ ok: true, services: kernel(), durationMs: 3.4 }),
    });
    const v = report.virtualServices[0]!;
    assert.deepEqual(report.daemon.kernelStats, { ok: true, durationMs: 3 });
    assert.deepEqual(v.traffic, {
      activeConns: 8,
      inactiveConns: 3,
      cps: 6,
      inPps: 20,
      outPps: 18,
      inBps: 3000,
      outBps: 4000,
      conns: 2468,
    });
    assert.deepEqual(v.reals[0]?.traffic, {
      activeConns: 7,
      inactiveConns: 3,
      cps: 5,
      inPps: 10,
      outPps: 9,
      inBps: 1500,
      outBps: 2 ** 40,
      conns: 1234,
    });
    assert.equal(v.reals[1]?.traffic?.activeConns, 1);
    assert.equal(v.reals[2]?.traffic, null, 'not in the kernel: no traffic');
    assert.doesNotThrow(() => resultSchemas.status(JSON.parse(JSON.stringify(report)), 'result'));
  });

  test('a failed or late kernel read: kernelStats says why, traffic is null; without a read there is neither', () => {
    const engine = snapshot([virtual(V, [real('10.0.0.2:80')])]);
    const late = buildStatusReport(FACTS, engine, [], 1_700_000_060_000, undefined, {
      traffic: trafficOf({ ok: false, reason: 'timeout', error: new Error('x'), durationMs: 2000 }),
    });
    assert.deepEqual(late.daemon.kernelStats, { ok: false, durationMs: 2000, error: 'timeout' });
    assert.equal(late.virtualServices[0]?.traffic, null);
    assert.equal(late.virtualServices[0]?.reals[0]?.traffic, null);
    const failed = trafficOf({ ok: false, reason: 'error', error: new Error('netlink: EPERM'), durationMs: 1 });
    assert.equal(failed.status.error, 'netlink: EPERM');
    const none = buildStatusReport(FACTS, engine, [], 1_700_000_060_000);
    assert.equal('kernelStats' in none.daemon, false);
    assert.equal('traffic' in (none.virtualServices[0] ?? {}), false);
    assert.equal('events' in none, false);
  });

  test('events given to the report are carried as they are, and ldir status lists the last five', () => {
    const engine = snapshot([virtual(V, [real('10.0.0.2:80')])]);
    const events = Array.from({ length: 7 }, (_, i) => ({
      at: new Date(1_700_000_000_000 + i * 1000).toISOString(),
      kind: 'transition' as const,
      ok: i % 2 === 0,
      text: `event ${i}`,
    }));
    const report = buildStatusReport(FACTS, engine, [], 1_700_000_060_000, undefined, { events });
    assert.deepEqual(report.events, events);
    const text = renderStatus(report, { width: 120 });
    assert.match(text, /^recent events \(last 5 of 7; all in --json and on the status page\):$/m);
    assert.doesNotMatch(text, /event 1$/m);
    assert.match(text, /^ {2}58s ago {3}ok {6}event 2$/m);
    assert.match(text, /^ {2}54s ago {3}ok {6}event 6$/m);
    assert.match(text, /^ {2}55s ago {3}PROBLEM event 5$/m);
  });
});

describe('the traffic index in slices (issue 21, big tables)', () => {
  test('is the same index, made with turns given to the event loop over 20,000 destinations', async () => {
    const big = kernel();
    const first = big[0] as ObservedService;
    const template = first.destinations[0] as ObservedService['destinations'][number];
    const destinations = Array.from({ length: 20_000 }, (_, i) => ({
      ...template,
      address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
      activeConns: i % 5,
    }));
    const services = [...big, { ...first, service: { ...SERVICE, port: 81 }, destinations }];
    const read = { ok: true as const, services, durationMs: 12.4 };
    const yielder = new SliceYielder(0);
    const sliced = await trafficOfSliced(read, yielder);
    assert.deepEqual(sliced, trafficOf(read));
    assert.equal(sliced.reals.size, 20_002);
    assert.ok(yielder.yields > 0, 'turns given while indexing');
    const failed = { ok: false as const, reason: 'timeout' as const, error: new Error('x'), durationMs: 2_000 };
    assert.deepEqual(await trafficOfSliced(failed, new SliceYielder(0)), trafficOf(failed));
  });
});
