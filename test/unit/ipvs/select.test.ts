// Backend selection: netlink first, ipvsadm as fallback, clear reasons when neither works.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, LdirError } from '../../../src/errors';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { selectBackend, type BackendFactories } from '../../../src/ipvs/select';
import type { IpvsBackend } from '../../../src/ipvs/types';

function memoryAs(kind: IpvsBackend['kind']): IpvsBackend {
  const m = new MemoryBackend();
  return Object.assign(Object.create(m) as IpvsBackend, { kind });
}

const noNetlink =
  (errno: string): (() => Promise<IpvsBackend>) =>
  () =>
    Promise.reject(
      new LdirError(ErrorCodes.IPVS_UNAVAILABLE, `generic netlink family IPVS: ${errno}`, { details: { errno } }),
    );

function factories(over: Partial<BackendFactories>): BackendFactories {
  return {
    netlink: () => Promise.resolve(memoryAs('netlink')),
    ipvsadmBinary: () => '/usr/sbin/ipvsadm',
    ipvsadm: () => memoryAs('ipvsadm'),
    memory: () => new MemoryBackend(),
    ...over,
  };
}

test('auto prefers netlink', async () => {
  assert.equal((await selectBackend('auto', factories({}))).backend.kind, 'netlink');
});

test('auto falls back to ipvsadm and says why', async () => {
  const s = await selectBackend('auto', factories({ netlink: noNetlink('ENOENT') }));
  assert.equal(s.backend.kind, 'ipvsadm');
  assert.match(s.passedOver[0] ?? '', /netlink: .*ENOENT/);
});

test('no CAP_NET_ADMIN and no ipvsadm: one error naming both causes', async () => {
  await assert.rejects(
    selectBackend('auto', factories({ netlink: noNetlink('EPERM'), ipvsadmBinary: () => undefined })),
    (err: LdirError) => {
      assert.equal(err.code, ErrorCodes.IPVS_UNAVAILABLE);
      assert.match(err.message, /CAP_NET_ADMIN/);
      assert.match(err.message, /ipvsadm: not installed/);
      return true;
    },
  );
});

test('ipvsadm installed but failing (no module) is reported', async () => {
  const broken = memoryAs('ipvsadm');
  broken.info = () =>
    Promise.reject(new LdirError(ErrorCodes.IPVS_REQUEST_FAILED, "Can't initialize ipvs: Protocol not available"));
  await assert.rejects(
    selectBackend('auto', factories({ netlink: noNetlink('ENOENT'), ipvsadm: () => broken })),
    /Protocol not available/,
  );
});

test('explicit choices are honoured; --ipvs=netlink does not fall back', async () => {
  assert.equal((await selectBackend('memory', factories({}))).backend.kind, 'memory');
  assert.equal((await selectBackend('ipvsadm', factories({ netlink: noNetlink('ENOENT') }))).backend.kind, 'ipvsadm');
  await assert.rejects(selectBackend('netlink', factories({ netlink: noNetlink('ENOENT') })), {
    code: ErrorCodes.IPVS_UNAVAILABLE,
  });
});

test('on this host (no IPVS in the kernel) the real auto selection explains itself', async () => {
  try {
    const s = await selectBackend('auto');
    assert.ok(s.backend.kind === 'netlink' || s.backend.kind === 'ipvsadm');
    await s.backend.close();
  } catch (err) {
    assert.equal((err as LdirError).code, ErrorCodes.IPVS_UNAVAILABLE);
    assert.match((err as Error).message, /netlink: /);
  }
});
