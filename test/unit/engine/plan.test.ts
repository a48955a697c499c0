// Unit and property tests of the IPVS diff: minimal ops, ownership, ordering, convergence on the memory backend.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { applyPlan } from '../../../src/engine/apply-plan';
import { afterOps, indexObserved, type ObservedEntry } from '../../../src/engine/observed';
import { plan, planFrom } from '../../../src/engine/plan';
import { isLdirError } from '../../../src/errors';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { destinationKeyString, normalizeDesired, serviceKeyString } from '../../../src/ipvs/normalize';
import type {
  DesiredService,
  IpvsDestination,
  IpvsFamily,
  IpvsOp,
  IpvsService,
  ObservedService,
  SchedulerFlag,
  ServiceKey,
  TunnelType,
} from '../../../src/ipvs/types';
import { addrService, dest, fwmService, specOf, type LooseServiceSettings } from '../../helpers/ipvs-tables';

const all = (): boolean => true;
const none = (): boolean => false;
const observe = (t: readonly DesiredService[]): Promise<readonly ObservedService[]> => new MemoryBackend(t).list();
const opName = (op: IpvsOp): string =>
  `${op.op} ${serviceKeyString(op.service)}${'destination' in op ? ` ${destinationKeyString(op.destination)}` : ''}`;

const WEB = addrService('10.0.0.1', 80);
const DNS = addrService('2001:db8::53', 53, { scheduler: 'rr' }, 'udp');
const MARK = fwmService(7, { persistent: 300 });
const FULL: DesiredService[] = [
  { service: WEB, destinations: [dest('10.0.1.1'), dest('10.0.1.2', 80, { weight: 5 })] },
  { service: DNS, destinations: [dest('2001:db8::a', 53), dest('10.0.1.3', 53, { forward: 'tunnel' })] },
  { service: MARK, destinations: [dest('10.0.1.4', 0, { forward: 'route' })] },
];

describe('plan: whole tables', () => {
  test('empty → full adds each service before its destinations', () => {
    const ops = plan(FULL, [], all);
    assert.deepEqual(ops.map(opName), [
      'add-service tcp:10.0.0.1:80',
      'add-destination tcp:10.0.0.1:80 10.0.1.1:80',
      'add-destination tcp:10.0.0.1:80 10.0.1.2:80',
      'add-service fwm:7',
      'add-destination fwm:7 10.0.1.4:0',
      'add-service udp:[2001:db8::53]:53',
      'add-destination udp:[2001:db8::53]:53 10.0.1.3:53',
      'add-destination udp:[2001:db8::53]:53 [2001:db8::a]:53',
    ]);
  });
  test('full → empty deletes owned services only, one delete each', async () => {
    const observed = await observe(FULL);
    assert.deepEqual(plan([], observed, all).map(opName), [
      'delete-service tcp:10.0.0.1:80',
      'delete-service fwm:7',
      'delete-service udp:[2001:db8::53]:53',
    ]);
    assert.deepEqual(plan([], observed, none), []);
    const ownsMark = (k: ServiceKey): boolean => serviceKeyString(k) === 'fwm:7';
    assert.deepEqual(plan([], observed, ownsMark), [{ op: 'delete-service', service: { family: 'inet', fwmark: 7 } }]);
  });
  test('unchanged table plans nothing (kernel order, kernel forms)', async () => {
    assert.deepEqual(plan(FULL, await observe(FULL), all), []);
    assert.deepEqual(plan([], [], all), []);
  });
  test('unchanged despite reordered destinations, IPv4-mapped 16-byte forms, flag order and address spelling', () => {
    const desired: DesiredService[] = [
      {
        service: addrService('10.0.0.1', 80, { schedulerFlags: ['flag-2', 'flag-1'], netmask: '255.255.255.255' }),
        destinations: [
          dest('10.0.1.1'),
          dest('10.0.1.2'),
          dest('2001:db8::2', 80, { forward: 'tunnel', tunnelPort: 0 }),
        ],
      },
    ];
    const zero = { activeConns: 0, inactiveConns: 0, persistentConns: 0 };
    const observed: ObservedService[] = [
      {
        service: addrService('::ffff:10.0.0.1', 80, { schedulerFlags: ['flag-1', 'flag-2', 'flag-1'] }, 'tcp', 'inet'),
        destinations: [
          {
            ...dest('2001:0DB8:0:0::2', 80, { forward: 'tunnel', tunnelType: 'ipip', tunnelChecksum: 'nocsum' }),
            ...zero,
          },
          { ...dest('::ffff:10.0.1.2', 80, { family: 'inet' }), ...zero },
          { ...dest('10.0.1.1', 80, { tunnelType: 'gre' }), ...zero },
        ],
      },
    ];
    assert.deepEqual(plan(desired, observed, all), []);
  });
  test('a desired service whose key is foreign is taken over (desired wins)', async () => {
    const observed = await observe([
      { service: { ...WEB, scheduler: 'rr' }, destinations: [dest('10.0.1.1'), dest('10.0.1.9')] },
    ]);
    const ops = plan([FULL[0]!], observed, none);
    assert.deepEqual(ops.map(opName), [
      'edit-service tcp:10.0.0.1:80',
      'add-destination tcp:10.0.0.1:80 10.0.1.2:80',
      'delete-destination tcp:10.0.0.1:80 10.0.1.9:80',
    ]);
  });
  test('a repeated desired key is an internal error', () => {
    assert.throws(
      () => plan([FULL[0]!, FULL[0]!], [], all),
      (e: unknown) => isLdirError(e, 'LDIR_ERR_INTERNAL'),
    );
    assert.throws(
      () => plan([{ service: WEB, destinations: [dest('10.0.1.1'), dest('10.0.1.1')] }], [], all),
      (e: unknown) => isLdirError(e, 'LDIR_ERR_INTERNAL'),
    );
  });
});

describe('plan: one change, one op', () => {
  const base: DesiredService = {
    service: addrService('10.0.0.1', 80, { persistent: 300 }),
    destinations: [dest('10.0.1.1', 80, { forward: 'tunnel' })],
  };
  const serviceChanges: Array<[string, LooseServiceSettings]> = [
    ['scheduler', { scheduler: 'sh' }],
    ['flags', { schedulerFlags: ['flag-1'] }],
    ['persistence', { persistent: 60 }],
    ['no persistence', { persistent: undefined }],
    ['netmask', { netmask: '255.255.255.0' }],
    ['one-packet', { onePacket: true }],
    ['engine', { persistenceEngine: 'sip' }],
  ];
  for (const [name, change] of serviceChanges) {
    test(`service ${name} → one edit-service`, async () => {
      const changed = { ...base.service, ...change } as IpvsService;
      const ops = plan([{ ...base, service: changed }], await observe([base]), all);
      assert.deepEqual(ops, [
        { op: 'edit-service', service: normalizeDesired([{ service: changed, destinations: [] }])[0]!.service },
      ]);
    });
  }
  const destChanges: Array<[string, Partial<IpvsDestination>]> = [
    ['weight', { weight: 0 }],
    ['upper threshold', { upperThreshold: 10 }],
    ['both thresholds', { upperThreshold: 10, lowerThreshold: 5 }],
    ['forward', { forward: 'route' }],
    ['tunnel type', { tunnelType: 'gue', tunnelPort: 6080 }],
    ['tunnel checksum', { tunnelChecksum: 'csum' }],
  ];
  for (const [name, change] of destChanges) {
    test(`destination ${name} → one edit-destination`, async () => {
      const d = { ...base.destinations[0]!, ...change };
      const ops = plan([{ ...base, destinations: [d] }], await observe([base]), all);
      assert.equal(ops.length, 1);
      assert.equal(ops[0]?.op, 'edit-destination');
    });
  }
  test('a destination whose family changes is deleted, then added', () => {
    const zero = { activeConns: 0, inactiveConns: 0, persistentConns: 0 };
    const v6 = addrService('2001:db8::1', 80);
    const observed: ObservedService[] = [
      {
        service: v6,
        destinations: [{ ...dest('10.0.1.1', 80, { forward: 'tunnel', family: 'inet6' as IpvsFamily }), ...zero }],
      },
    ];
    const ops = plan([{ service: v6, destinations: [dest('10.0.1.1', 80, { forward: 'tunnel' })] }], observed, all);
    assert.deepEqual(
      ops.map((o) => o.op),
      ['delete-destination', 'add-destination'],
    );
  });
});

describe('plan: ordering within a service', () => {
  test('adds and edits of destinations come before deletes; service deletes come last', async () => {
    const before: DesiredService[] = [
      { service: WEB, destinations: [dest('10.0.1.1'), dest('10.0.1.2'), dest('10.0.1.3')] },
      { service: MARK, destinations: [] },
    ];
    const after: DesiredService[] = [
      { service: WEB, destinations: [dest('10.0.1.2', 80, { weight: 3 }), dest('10.0.1.4')] },
    ];
    const ops = plan(after, await observe(before), all);
    assert.deepEqual(ops.map(opName), [
      'edit-destination tcp:10.0.0.1:80 10.0.1.2:80',
      'add-destination tcp:10.0.0.1:80 10.0.1.4:80',
      'delete-destination tcp:10.0.0.1:80 10.0.1.1:80',
      'delete-destination tcp:10.0.0.1:80 10.0.1.3:80',
      'delete-service fwm:7',
    ]);
  });
});

// ---- property test: plan converges on the memory backend and never touches foreign services ----

const INT_MAX = 2147483647;
const V4_SERVICE = ['10.0.0.1', '10.0.0.2'];
const V6_SERVICE = ['2001:db8::1', '2001:DB8:0:0::2'];
const V4_DEST = ['192.168.0.1', '192.168.0.2', '::ffff:192.168.0.3', '192.168.0.10'];
const V6_DEST = ['2001:db8:1::1', '2001:DB8:1:0::2'];

const keyArb: fc.Arbitrary<ServiceKey> = fc.oneof(
  fc.record({
    family: fc.constant<IpvsFamily>('inet'),
    protocol: fc.constantFrom('tcp' as const, 'udp' as const),
    address: fc.constantFrom(...V4_SERVICE),
    port: fc.constantFrom(80, 443),
  }),
  fc.record({
    family: fc.constant<IpvsFamily>('inet6'),
    protocol: fc.constantFrom('tcp' as const, 'sctp' as const),
    address: fc.constantFrom(...V6_SERVICE),
    port: fc.constantFrom(80, 443),
  }),
  fc.record({ family: fc.constantFrom<IpvsFamily>('inet', 'inet6'), fwmark: fc.integer({ min: 1, max: 3 }) }),
);

function serviceArb(key: ServiceKey): fc.Arbitrary<IpvsService> {
  const netmasks = key.family === 'inet' ? ['255.255.255.0', '255.255.255.255', '24'] : ['64', '128', '/96'];
  return fc
    .record({
      scheduler: fc.constantFrom('rr', 'wrr', 'lc', 'sh', 'mh', 'none'),
      persistent: fc.option(fc.constantFrom(60, 300), { nil: undefined }),
      netmask: fc.option(fc.constantFrom(...netmasks), { nil: undefined }),
      onePacket: fc.boolean(),
      schedulerFlags: fc.array(fc.constantFrom<SchedulerFlag>('flag-1', 'flag-2', 'flag-3'), { maxLength: 4 }),
      persistenceEngine: fc.option(fc.constant('sip'), { nil: undefined }),
    })
    .map((settings) => ({ ...key, ...settings }) as IpvsService);
}

function destArb(serviceFamily: IpvsFamily): fc.Arbitrary<IpvsDestination> {
  const address = fc.constantFrom(...V4_DEST, ...V6_DEST);
  return fc
    .tuple(
      address,
      fc.constantFrom(80, 8080),
      fc.constantFrom('masq', 'route', 'tunnel'),
      fc.constantFrom(0, 1, 5, INT_MAX),
      fc.constantFrom(0, 100),
      fc.constantFrom(0, 50),
      fc.constantFrom<TunnelType>('ipip', 'gue', 'gre'),
      fc.option(fc.constantFrom('csum' as const, 'nocsum' as const), { nil: undefined }),
    )
    .map(([addr, port, fwd, weight, upper, lower, tunnelType, tunnelChecksum]): IpvsDestination => {
      const family: IpvsFamily = V6_DEST.includes(addr) ? 'inet6' : 'inet';
      const forward = family === serviceFamily ? fwd : 'tunnel';
      const tunnel =
        forward === 'tunnel'
          ? {
              tunnelType,
              ...(tunnelType === 'gue' ? { tunnelPort: 6080 } : {}),
              ...(tunnelChecksum ? { tunnelChecksum } : {}),
            }
          : {};
      return {
        address: addr,
        family,
        port,
        forward,
        weight,
        upperThreshold: upper,
        lowerThreshold: upper === 0 ? 0 : lower,
        ...tunnel,
      };
    });
}

const tableArb: fc.Arbitrary<DesiredService[]> = fc
  .uniqueArray(keyArb, { selector: serviceKeyString, maxLength: 5 })
  .chain((keys) =>
    keys.length === 0
      ? fc.constant([])
      : fc.tuple(
          ...keys.map((key) =>
            fc.record({
              service: serviceArb(key),
              destinations: fc.uniqueArray(destArb(key.family), { selector: destinationKeyString, maxLength: 4 }),
            }),
          ),
        ),
  );

/** Checks the ordering rules of a plan. */
function assertOrdered(ops: readonly IpvsOp[]): void {
  const firstServiceDelete = ops.findIndex((o) => o.op === 'delete-service');
  if (firstServiceDelete >= 0)
    assert.ok(
      ops.slice(firstServiceDelete).every((o) => o.op === 'delete-service'),
      'service deletes come last',
    );
  const added = new Set<string>();
  for (const op of ops) {
    const id = serviceKeyString(op.service);
    if (op.op === 'add-service') added.add(id);
    if (op.op === 'add-destination' && ops.some((o) => o.op === 'add-service' && serviceKeyString(o.service) === id))
      assert.ok(added.has(id), 'service added before its destinations');
  }
}

describe('plan: property', () => {
  test('applying plan(D, O) yields D for owned services, leaves foreign ones, and replans to []', async () => {
    await fc.assert(
      fc.asyncProperty(
        tableArb,
        tableArb,
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        async (desired, start, ownedMask) => {
          const backend = new MemoryBackend(start);
          const ownedIds = new Set(start.filter((_, i) => ownedMask[i]).map((s) => serviceKeyString(s.service)));
          const owned = (key: ServiceKey): boolean => ownedIds.has(serviceKeyString(key));
          const ops = plan(desired, await backend.list(), owned);
          assertOrdered(ops);
          const summary = await applyPlan(backend, ops);
          assert.deepEqual(summary.failed, []);
          assert.equal(summary.converged, 0);
          assert.equal(summary.done, ops.length);
          const desiredIds = new Set(desired.map((d) => serviceKeyString(d.service)));
          const foreign = start.filter((s) => !desiredIds.has(serviceKeyString(s.service)) && !owned(s.service));
          assert.deepEqual(specOf(await backend.list()), normalizeDesired([...desired, ...foreign]));
          assert.deepEqual(plan(desired, await backend.list(), owned), []);
        },
      ),
      { seed: 20240611, numRuns: 300 },
    );
  });

  test('afterOps(index of O, plan(D, O)) is the index of the kernel after applying them (no second dump needed)', async () => {
    /** Settings only (the memory backend's counters are zero, a patched index keeps the dump's). */
    const settings = (index: ReadonlyMap<string, ObservedEntry>): unknown =>
      [...index]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([id, e]) => [
          id,
          e.service,
          [...e.destinations]
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([did, d]) => {
              const { activeConns: _a, inactiveConns: _i, persistentConns: _p, stats: _s, ...spec } = d;
              return [did, spec];
            }),
        ]);
    await fc.assert(
      fc.asyncProperty(
        tableArb,
        tableArb,
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        async (desired, start, ownedMask) => {
          const backend = new MemoryBackend(start);
          const ownedIds = new Set(start.filter((_, i) => ownedMask[i]).map((s) => serviceKeyString(s.service)));
          const before = indexObserved(await backend.list());
          const ops = planFrom(normalizeDesired(desired), before, (key) => ownedIds.has(serviceKeyString(key)));
          assert.equal((await applyPlan(backend, ops)).done, ops.length);
          const patched = afterOps(before, ops);
          assert.deepEqual(settings(patched), settings(indexObserved(await backend.list())));
        },
      ),
      { seed: 20261206, numRuns: 300 },
    );
    // An edited destination keeps the dump's counters; a new one starts at zero.
    const index = indexObserved([
      { service: WEB, destinations: [{ ...dest('10.0.1.1'), activeConns: 7, inactiveConns: 2, persistentConns: 0 }] },
    ]);
    const patched = afterOps(index, [
      { op: 'edit-destination', service: WEB, destination: dest('10.0.1.1', 80, { weight: 9 }) },
      { op: 'add-destination', service: WEB, destination: dest('10.0.1.2') },
    ]);
    const ds = patched.get(serviceKeyString(WEB))?.destinations;
    assert.equal(ds?.get('10.0.1.1:80')?.activeConns, 7);
    assert.equal(ds?.get('10.0.1.1:80')?.weight, 9);
    assert.equal(ds?.get('10.0.1.2:80')?.activeConns, 0);
    assert.equal(ds?.get('10.0.1.2:80')?.stats?.conns, 0n);
    assert.equal(
      index.get(serviceKeyString(WEB))?.destinations.get('10.0.1.1:80')?.weight,
      1,
      'the index given is left as it was',
    );
  });
});
