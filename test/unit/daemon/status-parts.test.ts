// The streamed status report (issue 21, big tables): its first line goes out before the checks' facts are indexed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IdentityStatus } from '../../../src/checks/scheduler';
import type { StatusStreamPart } from '../../../src/daemon/protocol';
import { statusParts } from '../../../src/daemon/status-report';
import { sampleReport } from '../../helpers/status-report';
import { real, status, virtual } from '../metrics/fixtures';

const V1 = 'tcp:192.0.2.1:80';

describe('status as a stream', () => {
  test('the head goes out before any check is read; the reals still carry their last check', async () => {
    let read = 0;
    const checks: IdentityStatus[] = [
      {
        ...status('a', `${V1} 10.0.0.1:80`),
        lastCheckAt: 1_000,
        lastResult: { up: true, reason: 'ok', durationMs: 5 },
      },
      status('b', `${V1} 10.0.0.2:80`),
    ];
    function* identities(): Generator<IdentityStatus> {
      for (const c of checks) {
        read++;
        yield c;
      }
    }
    const head = { ...sampleReport(), virtualServices: [] };
    const parts = statusParts(head, [virtual(V1, [real('10.0.0.1:80'), real('10.0.0.2:80')])], () => identities());
    const first = await parts.next();
    assert.equal((first.value as StatusStreamPart).part, 'head');
    assert.equal(read, 0, 'no check read before the head');
    const rest: StatusStreamPart[] = [];
    for await (const p of parts) rest.push(p);
    assert.equal(read, 2);
    assert.deepEqual(
      rest.map((p) => p.part),
      ['virtual', 'end'],
    );
    const line = rest[0];
    assert.ok(line?.part === 'virtual');
    assert.equal(line.virtual.reals[0]?.lastCheck?.up, true);
    assert.equal(line.virtual.reals[0]?.lastCheck?.durationMs, 5);
    assert.equal(line.virtual.reals[1]?.lastCheck, null);
  });

  test('while the checks are indexed, a wait line goes out every waitPartMs (progress for the client)', async () => {
    const checks = Array.from({ length: 3 }, (_, i) => status(`c${i}`, `${V1} 10.0.0.${i + 1}:80`));
    const head = { ...sampleReport(), virtualServices: [] };
    const v = [virtual(V1, [real('10.0.0.1:80')])];
    const names = async (waitPartMs: number): Promise<string[]> => {
      const out: string[] = [];
      for await (const p of statusParts(head, v, () => checks, undefined, 500, waitPartMs)) out.push(p.part);
      return out;
    };
    assert.deepEqual(await names(0), ['head', 'wait', 'wait', 'wait', 'virtual', 'end']);
    assert.deepEqual(await names(60_000), ['head', 'virtual', 'end']);
  });

  test('while the checks are being read (their quiet counts taken first), wait lines go out too', async () => {
    const head = { ...sampleReport(), virtualServices: [] };
    const slow = async (): Promise<IdentityStatus[]> => {
      await new Promise((r) => setTimeout(r, 120));
      return [status('c0', `${V1} 10.0.0.1:80`)];
    };
    const out: string[] = [];
    for await (const p of statusParts(head, [virtual(V1, [real('10.0.0.1:80')])], slow, undefined, 500, 20))
      out.push(p.part);
    assert.equal(out[0], 'head');
    assert.deepEqual(out.slice(-2), ['virtual', 'end']);
    const waits = out.filter((p) => p === 'wait').length;
    assert.ok(waits >= 2, `${waits} wait lines while the checks were read: ${out.join(' ')}`);
  });
});
