// Applying sysctls through the /proc/sys store against a temporary tree: changed, unchanged, missing, unwritable, logs.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ErrorCodes, isLdirError, LdirError } from '../../../src/errors';
import { createLogger } from '../../../src/log';
import {
  applySysctls,
  formatSysctlResult,
  previewSysctls,
  procSysStore,
  setupSysctls,
  sysctlError,
  type SysctlStore,
} from '../../../src/system/sysctl';
import { sysctlPath } from '../../../src/system/sysctl-store';
import { loadValid } from '../../helpers/config';
import { sysctlTree, treeValue } from '../../helpers/sysctl-tree';

const NAT = 'ipvssysctl=expire_nodest_conn=1\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq\n';

/** A debug logger whose records are collected as parsed JSON. */
function recordingLogger(): { logger: ReturnType<typeof createLogger>; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'debug',
    destination: {
      write: (line: string) => {
        records.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  return { logger, records };
}

/** A store that counts writes made through `inner`. */
function counting(inner: SysctlStore): SysctlStore & { writes: string[] } {
  const writes: string[] = [];
  return {
    writes,
    read: (k) => inner.read(k),
    list: (k) => inner.list(k),
    write: (k, v) => {
      writes.push(k);
      inner.write(k, v);
    },
  };
}

describe('procSysStore', () => {
  test('reads without the newline, lists sorted entry names, maps "/" in a name to "." in the path', () => {
    const root = sysctlTree();
    const store = procSysStore(root);
    assert.equal(store.read('net.ipv4.ip_forward'), '0');
    assert.equal(store.read('net.ipv4.vs.sync_threshold'), '3\t50');
    assert.equal(store.read('net.ipv4.conf.eth0/100.send_redirects'), '1');
    assert.ok(existsSync(join(root, 'net', 'ipv4', 'conf', 'eth0.100', 'send_redirects')));
    assert.deepEqual(store.list('net.ipv4.conf'), ['all', 'default', 'eth0', 'eth0.100', 'eth1', 'lo']);
  });

  test('a missing sysctl reads and lists as undefined; a write never creates it', () => {
    const root = sysctlTree();
    const store = procSysStore(root);
    assert.equal(store.read('net.ipv4.vs.conntrack'), undefined);
    assert.equal(store.read('net.ipv4.ip_forward.nested'), undefined, 'ENOTDIR is missing too');
    assert.equal(store.list('net.ipv6.conf.eth9'), undefined);
    assert.throws(
      () => store.write('net.ipv4.vs.conntrack', '1'),
      (err: unknown) =>
        isLdirError(err, ErrorCodes.SYSCTL_FAILED) &&
        err.details['errno'] === 'ENOENT' &&
        err.details['key'] === 'net.ipv4.vs.conntrack',
    );
    assert.equal(existsSync(join(root, 'net', 'ipv4', 'vs', 'conntrack')), false);
  });

  test('a write replaces the whole value and ends it with a newline', () => {
    const root = sysctlTree();
    procSysStore(root).write('net.ipv4.vs.sync_threshold', '4 9');
    assert.equal(treeValue(root, 'net.ipv4.vs.sync_threshold'), '4 9\n');
  });

  test('names that would leave the root are refused', () => {
    for (const bad of ['net..ipv4', 'net.ipv4./..', '.net', 'net.']) {
      assert.throws(
        () => sysctlPath('/proc/sys', bad),
        (err: unknown) => isLdirError(err, ErrorCodes.SYSCTL_FAILED),
        bad,
      );
    }
    assert.equal(
      sysctlPath('/proc/sys', 'net.ipv4.conf.eth0/100.rp_filter'),
      '/proc/sys/net/ipv4/conf/eth0.100/rp_filter',
    );
  });
});

describe('setupSysctls against a temporary /proc/sys', () => {
  test('a NAT director: writes only what differs, reports every key, logs each change with old and new value', async () => {
    const root = sysctlTree();
    const store = counting(procSysStore(root));
    const { logger, records } = recordingLogger();
    const results = setupSysctls(await loadValid(NAT), store, logger);
    assert.deepEqual(
      results.map((r) => [r.key, r.old, r.new, r.status]),
      [
        ['net.ipv4.conf.all.send_redirects', '1', '0', 'changed'],
        ['net.ipv4.conf.default.send_redirects', '1', '0', 'changed'],
        ['net.ipv4.conf.eth0.send_redirects', '1', '0', 'changed'],
        ['net.ipv4.conf.eth0/100.send_redirects', '1', '0', 'changed'],
        ['net.ipv4.conf.eth1.send_redirects', '0', '0', 'unchanged'],
        ['net.ipv4.ip_forward', '0', '1', 'changed'],
        ['net.ipv4.vs.expire_nodest_conn', '0', '1', 'changed'],
      ],
    );
    assert.equal(store.writes.length, 6, 'eth1 is not written');
    assert.equal(treeValue(root, 'net.ipv4.ip_forward'), '1\n');
    assert.equal(treeValue(root, 'net.ipv4.conf.eth0/100.send_redirects'), '0\n');
    assert.equal(treeValue(root, 'net.ipv4.conf.lo.send_redirects'), '1\n', 'lo is left alone');
    assert.equal(treeValue(root, 'net.ipv6.conf.all.forwarding'), '0\n', 'no IPv6 masq, no IPv6 forwarding');
    const changes = records.filter((r) => r['level'] === 30);
    assert.equal(changes.length, 6);
    assert.deepEqual(
      [changes[4]?.['key'], changes[4]?.['old'], changes[4]?.['new']],
      ['net.ipv4.ip_forward', '0', '1'],
    );
    assert.equal(changes[4]?.['msg'], 'sysctl net.ipv4.ip_forward changed from 0 to 1');
    assert.equal(records.filter((r) => r['level'] === 20).length, 1, 'the unchanged value at debug');
  });

  test('the second run changes nothing and writes nothing', async () => {
    const root = sysctlTree();
    const config = await loadValid(NAT);
    setupSysctls(config, procSysStore(root), createLogger({ level: 'silent' }));
    const store = counting(procSysStore(root));
    const again = setupSysctls(config, store, createLogger({ level: 'silent' }));
    assert.ok(
      again.every((r) => r.status === 'unchanged'),
      JSON.stringify(again),
    );
    assert.deepEqual(store.writes, []);
  });

  test('sync_threshold "3<TAB>50" in the kernel is the configured "3 50"', async () => {
    const root = sysctlTree();
    const [r] = setupSysctls(
      await loadValid('ipvssysctl=sync_threshold=3 50\n'),
      procSysStore(root),
      createLogger({ level: 'silent' }),
    );
    assert.equal(r?.status, 'unchanged');
  });

  test('ip_vs not loaded (no net/ipv4/vs): a failed entry per tunable, the other settings still applied', async () => {
    const root = sysctlTree();
    rmSync(join(root, 'net', 'ipv4', 'vs'), { recursive: true });
    const { logger, records } = recordingLogger();
    const results = setupSysctls(await loadValid(NAT), procSysStore(root), logger);
    const failed = results.filter((r) => r.status === 'failed');
    assert.deepEqual(
      failed.map((r) => [r.key, r.errno]),
      [['net.ipv4.vs.expire_nodest_conn', 'ENOENT']],
    );
    assert.match(failed[0]?.reason ?? '', /ip_vs module is not loaded/);
    assert.equal(treeValue(root, 'net.ipv4.ip_forward'), '1\n');
    assert.equal(records.filter((r) => r['level'] === 40).length, 1, 'the failure is logged at warn');
    const err = sysctlError(results);
    assert.ok(err instanceof LdirError && err.code === ErrorCodes.SYSCTL_FAILED);
    assert.match(err.message, /net\.ipv4\.vs\.expire_nodest_conn cannot be set to 1: no such sysctl/);
    assert.equal(sysctlError(results.filter((r) => r.status !== 'failed')), undefined);
  });

  test('IPv6 disabled (no net/ipv6): failed with a reason, never an exception', async () => {
    const root = sysctlTree({ 'net.ipv4.ip_forward': '0' });
    const results = setupSysctls(
      await loadValid('virtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2]:80 masq\n'),
      procSysStore(root),
      createLogger({ level: 'silent' }),
    );
    assert.deepEqual(
      results.map((r) => [r.key, r.status, r.reason]),
      [['net.ipv6.conf.all.forwarding', 'failed', 'no such sysctl: IPv6 is disabled or not available']],
    );
  });

  test('an unwritable sysctl (a directory in its place) fails with its errno; the rest is applied', async () => {
    const root = sysctlTree();
    const path = sysctlPath(root, 'net.ipv4.conf.default.send_redirects');
    rmSync(path);
    mkdirSync(path);
    const results = setupSysctls(await loadValid(NAT), procSysStore(root), createLogger({ level: 'silent' }));
    const bad = results.find((r) => r.key === 'net.ipv4.conf.default.send_redirects');
    assert.equal(bad?.status, 'failed');
    assert.equal(bad?.errno, 'EISDIR');
    assert.equal(results.filter((r) => r.status === 'changed').length, 5);
  });

  test('a sysctl the kernel keeps read-only fails with EACCES and a hint, as root too (the real /proc/sys)', () => {
    // kernel.ngroups_max is mode 0444 in the kernel's own table: /proc/sys refuses the write to every user, root
    // included (a 0444 file in a temporary tree would not stop root), and its value never changes.
    const key = 'kernel.ngroups_max';
    const before = procSysStore().read(key);
    const [r] = applySysctls([{ key, value: String(Number(before) - 1), why: 'test' }], procSysStore());
    assert.deepEqual([r?.status, r?.errno], ['failed', 'EACCES']);
    assert.match(r?.reason ?? '', /must run as root/);
    assert.equal(procSysStore().read(key), before);
  });

  test('sysctl=no: nothing read, nothing written', async () => {
    const root = sysctlTree();
    const store = counting(procSysStore(root));
    assert.deepEqual(setupSysctls(await loadValid(`sysctl=no\n${NAT}`), store, createLogger({ level: 'silent' })), []);
    assert.deepEqual(store.writes, []);
  });
});

describe('applySysctls with stores that misbehave', () => {
  const setting = { key: 'net.ipv4.ip_forward', value: '1', why: 'test' };
  const fake = (over: Partial<SysctlStore>): SysctlStore => ({
    read: () => '0',
    write: () => undefined,
    list: () => [],
    ...over,
  });
  const errnoError = (errno: string): LdirError =>
    new LdirError(ErrorCodes.SYSCTL_FAILED, `cannot write: ${errno}`, { details: { key: setting.key, errno } });

  test('the kernel keeps its value after a write (silently refused)', () => {
    const [r] = applySysctls([setting], fake({}));
    assert.deepEqual([r?.status, r?.reason], ['failed', 'the kernel kept 0 after writing 1']);
  });

  test('EACCES, EROFS, EPERM and EINVAL get hints; a read error is a failure too', () => {
    const hints = [
      ['EACCES', /must run as root/],
      ['EROFS', /read-only/],
      ['EPERM', /CAP_NET_ADMIN/],
      ['EINVAL', /refused the value/],
    ] as const;
    for (const [errno, hint] of hints) {
      const [r] = applySysctls(
        [setting],
        fake({
          write: () => {
            throw errnoError(errno);
          },
        }),
      );
      assert.deepEqual([r?.status, r?.errno, r?.old], ['failed', errno, '0']);
      assert.match(r?.reason ?? '', hint);
    }
    const [r] = applySysctls(
      [setting],
      fake({
        read: () => {
          throw errnoError('EACCES');
        },
      }),
    );
    assert.deepEqual([r?.status, r?.errno, r?.old], ['failed', 'EACCES', undefined]);
  });

  test('a failure in one setting does not stop the next', () => {
    let reads = 0;
    const results = applySysctls(
      [setting, { ...setting, key: 'net.ipv4.conf.all.send_redirects', value: '0' }],
      fake({
        read: () => {
          reads++;
          if (reads === 1) throw new Error('boom');
          return '0';
        },
      }),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['failed', 'unchanged'],
    );
    assert.equal(results[0]?.reason, 'boom');
  });

  test('a store that cannot list interfaces: redirects for all and default only', async () => {
    const store = fake({
      read: () => '1',
      list: () => {
        throw new Error('EACCES');
      },
    });
    const results = setupSysctls(await loadValid(NAT), store, createLogger({ level: 'silent' }));
    assert.deepEqual(
      results.map((r) => r.key),
      [
        'net.ipv4.conf.all.send_redirects',
        'net.ipv4.conf.default.send_redirects',
        'net.ipv4.ip_forward',
        'net.ipv4.vs.expire_nodest_conn',
      ],
    );
  });
});

describe('previewSysctls', () => {
  test('reports would-change without writing', async () => {
    const root = sysctlTree();
    const store = counting(procSysStore(root));
    const results = previewSysctls(await loadValid(NAT), store);
    assert.deepEqual(
      results.map((r) => r.status),
      ['would-change', 'would-change', 'would-change', 'would-change', 'unchanged', 'would-change', 'would-change'],
    );
    assert.deepEqual(store.writes, []);
    assert.equal(treeValue(root, 'net.ipv4.ip_forward'), '0\n');
  });

  test('formatSysctlResult', () => {
    const base = { key: 'net.ipv4.ip_forward', new: '1', why: 'w' };
    assert.equal(formatSysctlResult({ ...base, old: '0', status: 'would-change' }), 'net.ipv4.ip_forward 0 -> 1');
    assert.equal(formatSysctlResult({ ...base, old: '1', status: 'unchanged' }), 'net.ipv4.ip_forward 1 (unchanged)');
    assert.equal(
      formatSysctlResult({ ...base, status: 'failed', reason: 'no such sysctl' }),
      'net.ipv4.ip_forward cannot be set to 1: no such sysctl',
    );
    assert.equal(
      formatSysctlResult({ ...base, old: '0', status: 'failed', reason: 'denied' }),
      'net.ipv4.ip_forward (now 0) cannot be set to 1: denied',
    );
    assert.equal(formatSysctlResult({ ...base, old: '0', status: 'changed' }), 'net.ipv4.ip_forward 0 -> 1');
  });
});
