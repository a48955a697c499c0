// IpvsTimeoutKeeper through a kernel-like backend: only configured timeouts are read and written, one write per apply,
// read back; restore at release when asked; failures reported, never thrown; claims survive a hand-over; a property
// test over random histories of reloads, outside changes and stops.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCodes, LdirError } from '../../../src/errors';
import { MemoryBackend } from '../../../src/ipvs/memory';
import type { IpvsTimeouts } from '../../../src/ipvs/types';
import { createLogger, silentLogger } from '../../../src/log';
import type { IpvsTimeoutSettings } from '../../../src/model';
import { formatTimeoutResult, IpvsTimeoutKeeper, type TimeoutBackend } from '../../../src/system/ipvs-timeouts';

const SOURCE = { file: '/etc/ha.d/x.cf', line: 3 };
const want = (tcp: number, tcpFin: number, udp: number, restore = false): IpvsTimeoutSettings => ({
  tcp,
  tcpFin,
  udp,
  restore,
  source: SOURCE,
});

/** A memory kernel whose timeout calls are counted (and can be made to fail). */
function kernel(): TimeoutBackend & {
  mem: MemoryBackend;
  reads: number;
  writes: IpvsTimeouts[];
  failWrite: string | undefined;
  failRead: string | undefined;
} {
  const mem = new MemoryBackend();
  const k = {
    mem,
    reads: 0,
    writes: [] as IpvsTimeouts[],
    failWrite: undefined as string | undefined,
    failRead: undefined as string | undefined,
    getTimeouts: async () => {
      k.reads++;
      if (k.failRead)
        throw new LdirError(ErrorCodes.IPVS_REQUEST_FAILED, `GET_CONFIG failed: ${k.failRead}`, {
          details: { errno: k.failRead },
        });
      return mem.getTimeouts();
    },
    setTimeouts: async (t: IpvsTimeouts) => {
      k.writes.push(t);
      if (k.failWrite)
        throw new LdirError(ErrorCodes.IPVS_REQUEST_FAILED, `SET_CONFIG failed: ${k.failWrite}`, {
          details: { errno: k.failWrite },
        });
      return mem.setTimeouts(t);
    },
  };
  return k;
}

/** A logger whose records are collected. */
function recording(): { logger: ReturnType<typeof createLogger>; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'debug',
    destination: {
      write: (l: string) => {
        records.push(JSON.parse(l) as Record<string, unknown>);
      },
    },
  });
  return { logger, records };
}

describe('IpvsTimeoutKeeper', () => {
  test('nothing configured: the kernel is never asked, not even read', async () => {
    const k = kernel();
    const keeper = new IpvsTimeoutKeeper(k, silentLogger());
    assert.deepEqual(await keeper.apply(undefined), []);
    assert.deepEqual(await keeper.preview(undefined), []);
    assert.deepEqual(await keeper.release(), []);
    assert.deepEqual([k.reads, k.writes.length], [0, 0]);
    assert.deepEqual(keeper.held(), []);
  });

  test('start: only the configured timeouts change, in one write, read back and logged with old and new values', async () => {
    const k = kernel();
    const log = recording();
    const keeper = new IpvsTimeoutKeeper(k, log.logger);
    const results = await keeper.apply(want(7200, 0, 600));
    assert.deepEqual(results.map(formatTimeoutResult), ['tcp 900 -> 7200', 'udp 300 -> 600']);
    assert.deepEqual(
      results.map((r) => r.why),
      ['ipvstimeouts at /etc/ha.d/x.cf:3', 'ipvstimeouts at /etc/ha.d/x.cf:3'],
    );
    assert.deepEqual(await k.mem.getTimeouts(), { tcp: 7200, tcpFin: 120, udp: 600 });
    assert.deepEqual(k.writes, [{ tcp: 7200, tcpFin: 0, udp: 600 }]);
    assert.equal(k.reads, 2, 'read before, and back after the write');
    assert.deepEqual(
      log.records.filter((r) => r['level'] === 30).map((r) => r['msg']),
      ['IPVS timeout tcp 900 -> 7200', 'IPVS timeout udp 300 -> 600'],
    );
    assert.deepEqual(keeper.held(), [
      { timeout: 'tcp', value: 7200, found: 900, restore: false },
      { timeout: 'udp', value: 600, found: 300, restore: false },
    ]);
  });

  test('the same configuration again: unchanged, nothing written', async () => {
    const k = kernel();
    const keeper = new IpvsTimeoutKeeper(k, silentLogger());
    await keeper.apply(want(7200, 0, 600));
    const again = await keeper.apply(want(7200, 0, 600));
    assert.deepEqual(
      again.map((r) => r.status),
      ['unchanged', 'unchanged'],
    );
    assert.equal(k.writes.length, 1);
  });

  test('stop without ipvstimeoutsrestore: every value ldir set is left as it is', async () => {
    const k = kernel();
    const keeper = new IpvsTimeoutKeeper(k, silentLogger());
    await keeper.apply(want(7200, 60, 0));
    const released = await keeper.release();
    assert.deepEqual(released.map(formatTimeoutResult), [
      'tcp 7200 (left: no longer set by ldir; ipvstimeoutsrestore=no)',
      'tcpfin 60 (left: no longer set by ldir; ipvstimeoutsrestore=no)',
    ]);
    assert.deepEqual(await k.mem.getTimeouts(), { tcp: 7200, tcpFin: 60, udp: 300 });
    assert.equal(k.writes.length, 1);
    assert.deepEqual(keeper.held(), []);
  });

  test('stop with ipvstimeoutsrestore=yes: what was found before the first change comes back, across reloads', async () => {
    const k = kernel();
    const keeper = new IpvsTimeoutKeeper(k, silentLogger());
    await keeper.apply(want(7200, 0, 600, true));
    await keeper.apply(want(3600, 0, 60, true));
    assert.deepEqual(await k.mem.getTimeouts(), { tcp: 3600, tcpFin: 120, udp: 60 });
    const released = await keeper.release();
    assert.deepEqual(released.map(formatTimeoutResult), [
      'tcp 3600 -> 900 (restored: found before ldir set 3600, ipvstimeoutsrestore=yes)',
      'udp 60 -> 300 (restored: found before ldir set 60, ipvstimeoutsrestore=yes)',
    ]);
    assert.deepEqual(await k.mem.getTimeouts(), { tcp: 900, tcpFin: 120, udp: 300 });
  });

  test('a reload without ipvstimeouts lets go as the configuration that set them said (restore, or left)', async () => {
    const k = kernel();
    const keeper = new IpvsTimeoutKeeper(k, silentLogger());
    await keeper.apply(want(7200, 0, 0, true));
    assert.deepEqual(
      (await keeper.apply(undefined)).map((r) => r.status),
      ['restored'],
    );
    assert.equal((await k.mem.getTimeouts()).tcp, 900);
    await keeper.apply(want(7200, 0, 0, false));
    assert.deepEqual(
      (await keeper.apply(undefined)).map((r) => r.status),
      ['left'],
    );
    assert.equal((await k.mem.getTimeouts()).tcp, 7200);
    assert.deepEqual(await keeper.release(), [], 'nothing held any more: the kernel is not asked at stop');
  });

  test('a value changed outside ldir after it set it is not restored over', async () => {
    const k = kernel();
    const keeper = new IpvsTimeoutKeeper(k, silentLogger());
    await keeper.apply(want(7200, 0, 0, true));
    await k.mem.setTimeouts({ tcp: 1800, tcpFin: 0, udp: 0 });
    const released = await keeper.release();
    assert.deepEqual(released.map(formatTimeoutResult), [
      'tcp 1800 (left: changed outside ldir since it set 7200: not restored to 900)',
    ]);
    assert.equal((await k.mem.getTimeouts()).tcp, 1800);
  });

  test('preview writes nothing and changes no claim', async () => {
    const k = kernel();
    const keeper = new IpvsTimeoutKeeper(k, silentLogger());
    await keeper.apply(want(7200, 0, 0, true));
    const preview = await keeper.preview(want(0, 60, 0));
    assert.deepEqual(preview.map(formatTimeoutResult), [
      'tcp 7200 -> 900 (would be restored: found before ldir set 7200, ipvstimeoutsrestore=yes)',
      'tcpfin 120 -> 60',
    ]);
    assert.deepEqual(
      preview.map((r) => r.status),
      ['would-restore', 'would-change'],
    );
    assert.equal(k.writes.length, 1);
    assert.deepEqual(keeper.held(), [{ timeout: 'tcp', value: 7200, found: 900, restore: true }]);
  });

  test('a refused write is a failed entry (warned), never thrown; a refused restore stays held and is tried again', async () => {
    const k = kernel();
    const log = recording();
    const keeper = new IpvsTimeoutKeeper(k, log.logger);
    k.failWrite = 'EPERM';
    const first = await keeper.apply(want(7200, 0, 0, true));
    assert.deepEqual(
      first.map((r) => [r.status, r.errno, r.old]),
      [['failed', 'EPERM', 900]],
    );
    assert.equal(formatTimeoutResult(first[0]!), 'tcp (now 900) cannot be set to 7200: SET_CONFIG failed: EPERM');
    assert.deepEqual(keeper.held(), [], 'a refused first set claims nothing');
    assert.ok(log.records.some((r) => r['level'] === 40 && r['errno'] === 'EPERM'));
    k.failWrite = undefined;
    await keeper.apply(want(7200, 0, 0, true));
    k.failWrite = 'EPERM';
    assert.deepEqual(
      (await keeper.release()).map((r) => r.status),
      ['failed'],
    );
    assert.equal(keeper.held().length, 1, 'still held');
    k.failWrite = undefined;
    assert.deepEqual(
      (await keeper.release()).map((r) => r.status),
      ['restored'],
    );
    assert.equal((await k.mem.getTimeouts()).tcp, 900);
  });

  test('timeouts that cannot be read: every configured one fails with the reason, nothing is written', async () => {
    const k = kernel();
    k.failRead = 'EPERM';
    const keeper = new IpvsTimeoutKeeper(k, silentLogger());
    const results = await keeper.apply(want(7200, 0, 600));
    assert.deepEqual(
      results.map((r) => [r.timeout, r.status, r.old, r.errno]),
      [
        ['tcp', 'failed', undefined, 'EPERM'],
        ['udp', 'failed', undefined, 'EPERM'],
      ],
    );
    assert.equal(
      formatTimeoutResult(results[0]!),
      "tcp cannot be set to 7200: cannot read the kernel's timeouts: GET_CONFIG failed: EPERM",
    );
    assert.equal(k.writes.length, 0);
  });

  test('a value the kernel does not keep is reported failed', async () => {
    const k = kernel();
    const keeper = new IpvsTimeoutKeeper(
      { getTimeouts: k.getTimeouts, setTimeouts: async () => undefined },
      silentLogger(),
    );
    const results = await keeper.apply(want(7200, 0, 0));
    assert.deepEqual(
      results.map((r) => [r.status, r.reason]),
      [['failed', 'the kernel kept 900 after writing 7200']],
    );
    assert.deepEqual(keeper.held(), []);
  });

  test('claims travel to a successor (restart): it restores what the first daemon found, not what it found itself', async () => {
    const k = kernel();
    const first = new IpvsTimeoutKeeper(k, silentLogger());
    await first.apply(want(7200, 0, 0, true));
    const successor = new IpvsTimeoutKeeper(k, silentLogger());
    successor.importClaims(JSON.parse(JSON.stringify(first.exportClaims())));
    assert.deepEqual(
      (await successor.apply(want(7200, 0, 0, true))).map((r) => r.status),
      ['unchanged'],
    );
    assert.deepEqual(successor.held(), [{ timeout: 'tcp', value: 7200, found: 900, restore: true }]);
    await successor.release();
    assert.equal((await k.mem.getTimeouts()).tcp, 900);
  });

  test('malformed claims from a predecessor are dropped', () => {
    const keeper = new IpvsTimeoutKeeper(kernel(), silentLogger());
    keeper.importClaims({
      tcp: { found: '900', set: 7200, restore: true },
      udp: { found: 300, set: 60, restore: true },
      bogus: 1,
    });
    assert.deepEqual(keeper.held(), [{ timeout: 'udp', value: 60, found: 300, restore: true }]);
    keeper.importClaims(undefined);
    assert.deepEqual(keeper.held(), []);
  });
});

/** A random history: configurations applied, outside writes, and a stop at the end. */
const settingsArb = fc.record({
  tcp: fc.constantFrom(0, 600, 7200),
  tcpFin: fc.constantFrom(0, 30, 120),
  udp: fc.constantFrom(0, 60, 300),
  restore: fc.boolean(),
});
const stepArb = fc.oneof(
  fc.record({ kind: fc.constant('apply' as const), s: fc.option(settingsArb, { nil: undefined }) }),
  fc.record({
    kind: fc.constant('outside' as const),
    t: fc.record({ tcp: fc.constantFrom(0, 1000), tcpFin: fc.constantFrom(0, 10), udp: fc.constantFrom(0, 20) }),
  }),
);

describe('IpvsTimeoutKeeper over random histories', () => {
  test('configured values hold after each apply; never-configured timeouts are never written; restore=yes throughout without outside writes gives back the start', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { maxLength: 8 }), fc.boolean(), async (steps, alwaysRestore) => {
        const k = kernel();
        const keeper = new IpvsTimeoutKeeper(k, silentLogger());
        const start = await k.mem.getTimeouts();
        const configured = new Set<keyof IpvsTimeouts>();
        let outside = false;
        for (const step of steps) {
          if (step.kind === 'outside') {
            outside = true;
            await k.mem.setTimeouts(step.t);
            continue;
          }
          const s = step.s ? want(step.s.tcp, step.s.tcpFin, step.s.udp, alwaysRestore || step.s.restore) : undefined;
          await keeper.apply(s);
          const now = await k.mem.getTimeouts();
          for (const f of ['tcp', 'tcpFin', 'udp'] as const) {
            if (s && s[f] > 0) {
              configured.add(f);
              assert.equal(now[f], s[f], `${f} holds its configured value`);
            }
          }
        }
        await keeper.release();
        for (const w of k.writes)
          for (const f of ['tcp', 'tcpFin', 'udp'] as const)
            if (!configured.has(f)) assert.equal(w[f], 0, `${f} never written`);
        if (alwaysRestore && !outside) assert.deepEqual(await k.mem.getTimeouts(), start);
        assert.deepEqual(keeper.held(), []);
      }),
      { numRuns: 300 },
    );
  });
});
