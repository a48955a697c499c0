// Component tests: plans applied to the memory backend, idempotence, injected kernel refusals repaired by replanning.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyPlan } from '../../../src/engine/apply-plan';
import { plan } from '../../../src/engine/plan';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { destinationKeyString, normalizeDesired, serviceKeyString } from '../../../src/ipvs/normalize';
import type { DesiredService, IpvsBackend, IpvsOp, ServiceKey } from '../../../src/ipvs/types';
import { addrService, dest, fwmService, specOf } from '../../helpers/ipvs-tables';

const WEB = addrService('10.0.0.1', 80);
const MARK = fwmService(7, { persistent: 300 });
const FOREIGN = addrService('10.9.9.9', 25);
const DESIRED: DesiredService[] = [
  { service: WEB, destinations: [dest('10.0.1.1'), dest('10.0.1.2'), dest('10.0.1.3')] },
  {
    service: MARK,
    destinations: [dest('10.0.2.1', 0, { forward: 'route' }), dest('10.0.2.2', 0, { forward: 'route' })],
  },
];
const ownedByLdir = (key: ServiceKey): boolean => serviceKeyString(key) !== serviceKeyString(FOREIGN);
const opName = (op: IpvsOp): string =>
  `${op.op} ${serviceKeyString(op.service)}${'destination' in op ? ` ${destinationKeyString(op.destination)}` : ''}`;

/** One level-triggered sync: dump, plan, apply. */
async function sync(
  backend: IpvsBackend,
  desired: readonly DesiredService[],
): Promise<Awaited<ReturnType<typeof applyPlan>> & { ops: IpvsOp[] }> {
  const ops = plan(desired, await backend.list(), ownedByLdir);
  return { ...(await applyPlan(backend, ops)), ops };
}

describe('applyPlan', () => {
  test('an empty plan does nothing', async () => {
    assert.deepEqual(await applyPlan(new MemoryBackend(), []), { done: 0, converged: 0, failed: [] });
  });
  test('applying the same plan twice is harmless: adds and deletes converge, edits are redone', async () => {
    const backend = new MemoryBackend([{ service: { ...WEB, scheduler: 'rr' }, destinations: [dest('10.0.1.9')] }]);
    const ops = plan(DESIRED, await backend.list(), ownedByLdir);
    const first = await applyPlan(backend, ops);
    assert.deepEqual(first, { done: ops.length, converged: 0, failed: [] });
    const second = await applyPlan(backend, ops);
    assert.deepEqual(second.failed, []);
    assert.equal(second.converged, ops.filter((o) => o.op.startsWith('add') || o.op.startsWith('delete')).length);
    assert.equal(second.done, ops.filter((o) => o.op.startsWith('edit')).length);
    assert.deepEqual(specOf(await backend.list()), normalizeDesired(DESIRED));
  });
  test('a backend answering the wrong number of results is an internal error', async () => {
    const backend = new MemoryBackend();
    const broken: IpvsBackend = Object.assign(Object.create(backend) as MemoryBackend, { apply: async () => [] });
    await assert.rejects(applyPlan(broken, [{ op: 'delete-service', service: WEB }]), /0 results for 1 operations/);
  });
});

describe('sync with injected kernel refusals', () => {
  test('failed operations are reported, and the next sync repairs exactly what is missing', async () => {
    const backend = new MemoryBackend([{ service: FOREIGN, destinations: [dest('10.9.9.10', 25)] }]);
    backend.failNext((op) => op.op === 'add-destination' && op.destination.address === '10.0.1.2', 'ENOMEM');
    backend.failNext((op) => op.op === 'add-service' && 'fwmark' in op.service, 'EPERM');

    const first = await sync(backend, DESIRED);
    assert.deepEqual(
      first.failed.map((f) => [opName(f.op), f.errno]),
      [
        ['add-destination tcp:10.0.0.1:80 10.0.1.2:80', 'ENOMEM'],
        ['add-service fwm:7', 'EPERM'],
        ['add-destination fwm:7 10.0.2.1:0', 'ESRCH'],
        ['add-destination fwm:7 10.0.2.2:0', 'ESRCH'],
      ],
    );
    assert.equal(first.done, first.ops.length - 4);

    const second = await sync(backend, DESIRED);
    assert.deepEqual(second.ops.map(opName), [
      'add-destination tcp:10.0.0.1:80 10.0.1.2:80',
      'add-service fwm:7',
      'add-destination fwm:7 10.0.2.1:0',
      'add-destination fwm:7 10.0.2.2:0',
    ]);
    assert.deepEqual(second.failed, []);

    assert.deepEqual((await sync(backend, DESIRED)).ops, []);
    const table = specOf(await backend.list());
    assert.deepEqual(
      table,
      normalizeDesired([...DESIRED, { service: FOREIGN, destinations: [dest('10.9.9.10', 25)] }]),
    );
  });

  test('a refused edit or delete is retried on the next sync; a hand edit (drift) is repaired', async () => {
    const backend = new MemoryBackend();
    assert.deepEqual((await sync(backend, DESIRED)).failed, []);
    const changed: DesiredService[] = [
      { service: { ...WEB, scheduler: 'sh' }, destinations: [dest('10.0.1.1', 80, { weight: 0 })] },
    ];
    backend.failNext((op) => op.op === 'edit-service', 'EBUSY');
    backend.failNext((op) => op.op === 'delete-service', 'EBUSY');
    const first = await sync(backend, changed);
    assert.deepEqual(
      first.failed.map((f) => [f.op.op, f.errno]),
      [
        ['edit-service', 'EBUSY'],
        ['delete-service', 'EBUSY'],
      ],
    );
    const second = await sync(backend, changed);
    assert.deepEqual(second.ops.map(opName), ['edit-service tcp:10.0.0.1:80', 'delete-service fwm:7']);
    assert.deepEqual(second.failed, []);

    await backend.apply([{ op: 'edit-destination', service: WEB, destination: dest('10.0.1.1', 80, { weight: 9 }) }]);
    await backend.apply([{ op: 'add-destination', service: WEB, destination: dest('10.0.1.7') }]);
    const repair = await sync(backend, changed);
    assert.deepEqual(repair.ops.map(opName), [
      'edit-destination tcp:10.0.0.1:80 10.0.1.1:80',
      'delete-destination tcp:10.0.0.1:80 10.0.1.7:80',
    ]);
    assert.deepEqual(specOf(await backend.list()), normalizeDesired(changed));
  });
});
