// Unit tests of the in-memory IPVS table: the kernel's errors, classifications and listing forms.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCodes, isLdirError } from '../../../src/errors';
import { KERNEL_SCHEDULERS, MemoryBackend } from '../../../src/ipvs/memory';
import type {
  IpvsDestination,
  IpvsFamily,
  IpvsOp,
  IpvsOpResult,
  IpvsService,
  ServiceKey,
} from '../../../src/ipvs/types';
import { addrService, dest, fwmService, specOf } from '../../helpers/ipvs-tables';
import { countLoopTurns } from '../../helpers/loop-turns';

const V4 = addrService('10.0.0.1', 80);
const V6 = addrService('2001:db8::1', 80);

async function one(backend: MemoryBackend, op: IpvsOp): Promise<IpvsOpResult> {
  const [result] = await backend.apply([op]);
  assert.ok(result);
  return result;
}

/** Asserts the result of one operation: `done`, or [status, errno]. */
async function expectResult(
  backend: MemoryBackend,
  op: IpvsOp,
  expected: 'done' | ['converged' | 'failed', string],
): Promise<void> {
  const result = await one(backend, op);
  if (expected === 'done') {
    assert.deepEqual(result, { status: 'done' }, JSON.stringify(op));
  } else {
    assert.equal(result.status, expected[0], JSON.stringify(result));
    assert.equal('errno' in result ? result.errno : undefined, expected[1]);
  }
}

const addSvc = (service: IpvsService): IpvsOp => ({ op: 'add-service', service });
const editSvc = (service: IpvsService): IpvsOp => ({ op: 'edit-service', service });
const addDest = (service: ServiceKey, destination: IpvsDestination): IpvsOp => ({
  op: 'add-destination',
  service,
  destination,
});
const editDest = (service: ServiceKey, destination: IpvsDestination): IpvsOp => ({
  op: 'edit-destination',
  service,
  destination,
});
const delDest = (
  service: ServiceKey,
  address: string,
  port = 80,
  family: IpvsFamily = address.includes(':') ? 'inet6' : 'inet',
): IpvsOp => ({ op: 'delete-destination', service, destination: { address, port, family } });

async function rejectsWith(promise: Promise<unknown>, errno: string): Promise<void> {
  await assert.rejects(
    promise,
    (err: unknown) => isLdirError(err, ErrorCodes.IPVS_REQUEST_FAILED) && err.details['errno'] === errno,
  );
}

describe('MemoryBackend: services', () => {
  test('duplicate add is converged EEXIST; edit of a missing service is ESRCH', async () => {
    const b = new MemoryBackend();
    await expectResult(b, addSvc(V4), 'done');
    await expectResult(b, addSvc({ ...V4, scheduler: 'rr' }), ['converged', 'EEXIST']);
    await expectResult(b, editSvc(V6), ['failed', 'ESRCH']);
    await expectResult(b, { op: 'delete-service', service: V6 }, ['converged', 'ESRCH']);
    await expectResult(b, { op: 'delete-service', service: V4 }, 'done');
    assert.deepEqual(await b.list(), []);
  });
  test('unknown scheduler is ENOENT on add and edit; every kernel scheduler and none are accepted', async () => {
    const b = new MemoryBackend();
    await expectResult(b, addSvc({ ...V4, scheduler: 'fancy' }), ['failed', 'ENOENT']);
    await expectResult(b, addSvc({ ...V4, scheduler: 'RR' }), ['failed', 'ENOENT']);
    await expectResult(b, addSvc(V4), 'done');
    await expectResult(b, editSvc({ ...V4, scheduler: 'fancy' }), ['failed', 'ENOENT']);
    for (const scheduler of [...KERNEL_SCHEDULERS, 'none'])
      await expectResult(b, editSvc({ ...V4, scheduler }), 'done');
    assert.deepEqual(KERNEL_SCHEDULERS, [
      'rr',
      'wrr',
      'lc',
      'wlc',
      'lblc',
      'lblcr',
      'dh',
      'sh',
      'sed',
      'nq',
      'fo',
      'ovf',
      'mh',
      'twos',
    ]);
  });
  test('unknown persistence engine is ENOENT; sip is accepted', async () => {
    const b = new MemoryBackend();
    await expectResult(b, addSvc({ ...V4, persistent: 300, persistenceEngine: 'rtsp' }), ['failed', 'ENOENT']);
    await expectResult(b, addSvc({ ...V4, persistent: 300, persistenceEngine: 'sip' }), 'done');
    await expectResult(b, editSvc({ ...V4, persistenceEngine: 'nope' }), ['failed', 'ENOENT']);
  });
  test('an IPv6 netmask outside 1..128 is EINVAL', async () => {
    const b = new MemoryBackend();
    for (const netmask of ['0', '129', 'abc']) await expectResult(b, addSvc({ ...V6, netmask }), ['failed', 'EINVAL']);
    await expectResult(b, addSvc({ ...V6, netmask: '1' }), 'done');
    await expectResult(b, editSvc({ ...V6, netmask: '64' }), 'done');
    await expectResult(b, editSvc({ ...V6, netmask: '200' }), ['failed', 'EINVAL']);
  });
  test('inet and inet6 are supported; another family is EAFNOSUPPORT', async () => {
    const b = new MemoryBackend();
    await expectResult(b, addSvc(V4), 'done');
    await expectResult(b, addSvc(V6), 'done');
    await expectResult(b, addSvc(fwmService(1, {}, 'inet6')), 'done');
    await expectResult(b, addSvc({ ...V4, family: 'packet' as unknown as IpvsFamily }), ['failed', 'EAFNOSUPPORT']);
  });
  test('an address of the wrong family is EINVAL', async () => {
    const b = new MemoryBackend();
    await expectResult(b, addSvc(addrService('2001:db8::1', 80, {}, 'tcp', 'inet')), ['failed', 'EINVAL']);
  });
  test('edit changes settings in place and keeps destinations', async () => {
    const b = new MemoryBackend([{ service: V4, destinations: [dest('10.0.0.2')] }]);
    await expectResult(
      b,
      editSvc({
        ...V4,
        scheduler: 'sh',
        schedulerFlags: ['flag-2', 'flag-1'],
        persistent: 60,
        netmask: '255.255.0.0',
        onePacket: true,
      }),
      'done',
    );
    const [s] = await b.list();
    assert.deepEqual(s?.service, {
      ...V4,
      scheduler: 'sh',
      schedulerFlags: ['flag-1', 'flag-2'],
      persistent: 60,
      netmask: '255.255.0.0',
      onePacket: true,
    });
    assert.equal(s?.destinations.length, 1);
  });
});

describe('MemoryBackend: destinations', () => {
  test('every destination op on a missing service is ESRCH (delete converged)', async () => {
    const b = new MemoryBackend();
    await expectResult(b, addDest(V4, dest('10.0.0.2')), ['failed', 'ESRCH']);
    await expectResult(b, editDest(V4, dest('10.0.0.2')), ['failed', 'ESRCH']);
    await expectResult(b, delDest(V4, '10.0.0.2'), ['converged', 'ESRCH']);
  });
  test('duplicate add is converged EEXIST; edit/delete of a missing destination is ENOENT', async () => {
    const b = new MemoryBackend([{ service: V4, destinations: [] }]);
    await expectResult(b, addDest(V4, dest('10.0.0.2')), 'done');
    await expectResult(b, addDest(V4, dest('::ffff:10.0.0.2', 80, { family: 'inet', weight: 9 })), [
      'converged',
      'EEXIST',
    ]);
    await expectResult(b, editDest(V4, dest('10.0.0.3')), ['failed', 'ENOENT']);
    await expectResult(b, delDest(V4, '10.0.0.3'), ['converged', 'ENOENT']);
    await expectResult(b, delDest(V4, '10.0.0.2', 81), ['converged', 'ENOENT']);
    await expectResult(b, delDest(V4, '10.0.0.2'), 'done');
  });
  test('weight outside 0..INT_MAX is ERANGE', async () => {
    const b = new MemoryBackend([{ service: V4, destinations: [dest('10.0.0.9')] }]);
    await expectResult(b, addDest(V4, dest('10.0.0.2', 80, { weight: -1 })), ['failed', 'ERANGE']);
    await expectResult(b, addDest(V4, dest('10.0.0.2', 80, { weight: 2147483648 })), ['failed', 'ERANGE']);
    await expectResult(b, editDest(V4, dest('10.0.0.9', 80, { weight: -5 })), ['failed', 'ERANGE']);
    await expectResult(b, addDest(V4, dest('10.0.0.2', 80, { weight: 2147483647 })), 'done');
    await expectResult(b, addDest(V4, dest('10.0.0.3', 80, { weight: 0 })), 'done');
  });
  test('lower threshold above upper is ERANGE, also when upper is 0 (kernel compares L > U)', async () => {
    const b = new MemoryBackend([{ service: V4, destinations: [dest('10.0.0.9')] }]);
    await expectResult(b, addDest(V4, dest('10.0.0.2', 80, { upperThreshold: 100, lowerThreshold: 101 })), [
      'failed',
      'ERANGE',
    ]);
    await expectResult(b, addDest(V4, dest('10.0.0.2', 80, { upperThreshold: 0, lowerThreshold: 1 })), [
      'failed',
      'ERANGE',
    ]);
    await expectResult(b, editDest(V4, dest('10.0.0.9', 80, { upperThreshold: 5, lowerThreshold: 6 })), [
      'failed',
      'ERANGE',
    ]);
    await expectResult(b, addDest(V4, dest('10.0.0.2', 80, { upperThreshold: 100, lowerThreshold: 100 })), 'done');
  });
  test('upper threshold above INT_MAX is EINVAL', async () => {
    const b = new MemoryBackend([{ service: V4, destinations: [] }]);
    await expectResult(b, addDest(V4, dest('10.0.0.2', 80, { upperThreshold: 2147483648 })), ['failed', 'EINVAL']);
    await expectResult(b, addDest(V4, dest('10.0.0.2', 80, { upperThreshold: 2147483647 })), 'done');
  });
  test('a mixed-family destination needs tunnel forwarding, else EINVAL', async () => {
    const b = new MemoryBackend([
      { service: V4, destinations: [] },
      { service: V6, destinations: [] },
    ]);
    await expectResult(b, addDest(V6, dest('10.0.0.2', 80, { forward: 'masq' })), ['failed', 'EINVAL']);
    await expectResult(b, addDest(V4, dest('2001:db8::2', 80, { forward: 'route' })), ['failed', 'EINVAL']);
    await expectResult(b, addDest(V6, dest('10.0.0.2', 80, { forward: 'tunnel' })), 'done');
    await expectResult(b, editDest(V6, dest('10.0.0.2', 80, { forward: 'masq' })), ['failed', 'EINVAL']);
    await expectResult(b, addDest(V4, dest('10.0.0.2', 80, { forward: 'tunnel' })), 'done');
    const v6 = (await b.list()).find((s) => s.service.family === 'inet6');
    assert.equal(v6?.destinations[0]?.family, 'inet');
    await expectResult(b, delDest(V6, '10.0.0.2', 80, 'inet'), 'done');
  });
  test('GUE without a port is EINVAL', async () => {
    const b = new MemoryBackend([{ service: V4, destinations: [] }]);
    await expectResult(b, addDest(V4, dest('10.0.0.2', 80, { forward: 'tunnel', tunnelType: 'gue' })), [
      'failed',
      'EINVAL',
    ]);
    await expectResult(b, addDest(V4, dest('10.0.0.2', 80, { forward: 'tunnel', tunnelType: 'gue', tunnelPort: 0 })), [
      'failed',
      'EINVAL',
    ]);
    await expectResult(
      b,
      addDest(V4, dest('10.0.0.2', 80, { forward: 'tunnel', tunnelType: 'gue', tunnelPort: 6080 })),
      'done',
    );
  });
  test('a destination address that is not unicast is EINVAL', async () => {
    const b = new MemoryBackend([
      { service: V4, destinations: [] },
      { service: V6, destinations: [] },
    ]);
    for (const a of ['0.0.0.0', '255.255.255.255', '224.0.0.1'])
      await expectResult(b, addDest(V4, dest(a)), ['failed', 'EINVAL']);
    for (const a of ['ff02::1', 'fe80::1', '::']) await expectResult(b, addDest(V6, dest(a)), ['failed', 'EINVAL']);
  });
  test('edit can change the forwarding method; it keeps the listing position', async () => {
    const b = new MemoryBackend([{ service: V4, destinations: [] }]);
    for (const a of ['10.0.0.2', '10.0.0.3', '10.0.0.4']) await expectResult(b, addDest(V4, dest(a)), 'done');
    await expectResult(b, editDest(V4, dest('10.0.0.3', 80, { forward: 'tunnel', weight: 7 })), 'done');
    const [s] = await b.list();
    assert.deepEqual(
      s?.destinations.map((d) => [d.address, d.forward]),
      [
        ['10.0.0.4', 'masq'],
        ['10.0.0.3', 'tunnel'],
        ['10.0.0.2', 'masq'],
      ],
    );
  });
});

describe('MemoryBackend: listing and table operations', () => {
  test('kernel forms: newest destination first, explicit default netmask and tunnel port, zero counters', async () => {
    const b = new MemoryBackend();
    await b.apply([
      addSvc(V4),
      addSvc(V6),
      addDest(V4, dest('10.0.0.2')),
      addDest(V4, dest('10.0.0.3', 80, { forward: 'tunnel' })),
    ]);
    const [s4, s6] = await b.list();
    assert.equal(s4?.service.netmask, '255.255.255.255');
    assert.equal(s6?.service.netmask, '128');
    assert.deepEqual(
      s4?.destinations.map((d) => d.address),
      ['10.0.0.3', '10.0.0.2'],
    );
    assert.equal(s4?.destinations[0]?.tunnelPort, 0);
    assert.equal(s4?.destinations[1]?.tunnelType, undefined);
    assert.equal(s4?.destinations[0]?.activeConns, 0);
    assert.equal(s4?.stats?.conns, 0n);
    assert.equal(s4?.destinations[0]?.stats?.inBytes, 0n);
  });
  test('the initial table is listed in the order given and refused when the kernel would refuse it', async () => {
    const initial = [{ service: V4, destinations: [dest('10.0.0.3'), dest('10.0.0.2')] }];
    const b = new MemoryBackend(initial);
    assert.deepEqual(
      (await b.list())[0]?.destinations.map((d) => d.address),
      ['10.0.0.3', '10.0.0.2'],
    );
    assert.deepEqual(specOf(await new MemoryBackend(await b.list()).list()), specOf(await b.list()));
    assert.throws(
      () => new MemoryBackend([{ service: { ...V4, scheduler: 'nope' }, destinations: [] }]),
      (e: unknown) => isLdirError(e, ErrorCodes.IPVS_REQUEST_FAILED),
    );
  });
  test('info, timeouts (0 = unchanged, above INT_MAX/HZ EINVAL)', async () => {
    const b = new MemoryBackend();
    assert.deepEqual(await b.info(), { version: '1.2.1', connTableSize: 4096 });
    assert.deepEqual(await b.getTimeouts(), { tcp: 900, tcpFin: 120, udp: 300 });
    await b.setTimeouts({ tcp: 60, tcpFin: 0, udp: 0 });
    assert.deepEqual(await b.getTimeouts(), { tcp: 60, tcpFin: 120, udp: 300 });
    await rejectsWith(b.setTimeouts({ tcp: 2147483647, tcpFin: 0, udp: 0 }), 'EINVAL');
  });
  test('zero (ESRCH for a missing service) and flush', async () => {
    const b = new MemoryBackend([{ service: V4, destinations: [dest('10.0.0.2')] }]);
    await b.zero();
    await b.zero(V4);
    await rejectsWith(b.zero(V6), 'ESRCH');
    await b.flush();
    assert.deepEqual(await b.list(), []);
  });
  test('sync daemons: EEXIST when running, ESRCH when not, EINVAL with mixed-family destinations', async () => {
    const b = new MemoryBackend([{ service: V6, destinations: [dest('10.0.0.2', 80, { forward: 'tunnel' })] }]);
    const master = { state: 'master' as const, interface: 'eth0', syncId: 1 };
    await rejectsWith(b.startSyncDaemon(master), 'EINVAL');
    await expectResult(b, delDest(V6, '10.0.0.2', 80, 'inet'), 'done');
    await b.startSyncDaemon(master);
    await rejectsWith(b.startSyncDaemon(master), 'EEXIST');
    assert.deepEqual(await b.listSyncDaemons(), [master]);
    await expectResult(b, addDest(V6, dest('10.0.0.2', 80, { forward: 'tunnel' })), ['failed', 'EINVAL']);
    await b.stopSyncDaemon('master');
    await rejectsWith(b.stopSyncDaemon('master'), 'ESRCH');
    assert.deepEqual(await b.listSyncDaemons(), []);
  });
  test('failNext injects errors classified like kernel answers, then runs out', async () => {
    const b = new MemoryBackend();
    b.failNext((op) => op.op === 'add-service', 'ENOMEM', 2);
    b.failNext((op) => op.op === 'delete-service', 'ESRCH');
    await expectResult(b, addSvc(V4), ['failed', 'ENOMEM']);
    await expectResult(b, addSvc(V4), ['failed', 'ENOMEM']);
    await expectResult(b, addSvc(V4), 'done');
    await expectResult(b, { op: 'delete-service', service: V4 }, ['converged', 'ESRCH']);
    assert.equal((await b.list()).length, 1);
    assert.equal(b.history().length, 4);
  });
  test('a closed backend is unavailable', async () => {
    const b = new MemoryBackend();
    await b.close();
    await assert.rejects(b.list(), (e: unknown) => isLdirError(e, ErrorCodes.IPVS_UNAVAILABLE));
  });
});

describe('MemoryBackend.list of a big table (issue 21)', () => {
  test('lists 2,500 destinations in parts (a turn of the event loop every 2,000), all of them, newest first', async () => {
    const b = new MemoryBackend();
    const service = addrService('192.0.2.10', 80);
    const ops: IpvsOp[] = [addSvc(service)];
    for (let i = 0; i < 2_500; i++) ops.push(addDest(service, dest(`10.1.${i >> 8}.${i & 255}`)));
    await b.apply(ops);
    const loop = countLoopTurns();
    const listed = await b.list();
    const turns = loop.stop();
    assert.ok(turns >= 1, `the event loop had ${turns} turns while 2,500 destinations were listed`);
    assert.equal(listed[0]?.destinations.length, 2_500);
    assert.equal(listed[0]?.destinations[0]?.address, '10.1.9.195');
    assert.equal(listed[0]?.destinations[2_499]?.address, '10.1.0.0');
  });
});
