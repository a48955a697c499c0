// What NativeRoundOffload hands the engine for httpstatus and receivenot (a recording fake engine): the passing
// statuses as [from, to] pairs (none for the default 2xx), a plain-string receivenot as bytes, every round to JS for a
// real pattern; and an addon built before the engine judged them keeps such checks on the JS path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NativeRoundOffload, type OffloadSpec } from '../../../src/checks/native-rounds';
import type { CheckJob } from '../../../src/checks/types';
import type { NativeTcpProbeEngine } from '../../../src/native/addon';
import { makeJob } from '../../helpers/check-job';
import { FakeClock } from '../../helpers/fake-clock';

/** The arguments of every schedule() call. */
type ScheduleArgs = Parameters<NativeTcpProbeEngine['schedule']>;

/** A fake engine recording schedule() calls; `httpRules` on its class as the addon has it (or not, for an old build). */
function fakeEngine(httpRules: boolean): { engine: NativeTcpProbeEngine; calls: ScheduleArgs[] } {
  const calls: ScheduleArgs[] = [];
  class Engine {
    static readonly httpRules = httpRules ? true : undefined;
    schedule(...args: ScheduleArgs): void {
      calls.push(args);
    }
    unschedule(): void {}
    now(): number {
      return 0;
    }
    setDurationBuckets(): void {}
  }
  return { engine: new Engine() as unknown as NativeTcpProbeEngine, calls };
}

const spec = (job: Partial<CheckJob>): OffloadSpec => ({
  job: makeJob({ service: 'http', port: 8080, request: '/health', ...job }),
  intervalMs: 200,
  firstDelayMs: 0,
  respreadMs: 0,
  reportAll: false,
  failureCount: 1,
  riseCount: 1,
  keepQuiet: false,
});

function offload(httpRules: boolean): { off: NativeRoundOffload; calls: ScheduleArgs[] } {
  const { engine, calls } = fakeEngine(httpRules);
  return {
    off: new NativeRoundOffload(engine, new FakeClock(), { accepts: () => true }, ['tcp'], () => undefined),
    calls,
  };
}

describe('NativeRoundOffload and the answer rules', () => {
  test('default rules: no statuses and no negative literal for the engine (2xx, as before)', () => {
    const { off, calls } = offload(true);
    assert.notEqual(
      off.start(spec({}), () => undefined),
      undefined,
    );
    assert.equal(calls[0]?.[16], null);
    assert.equal(calls[0]?.[17], null);
    assert.equal(calls[0]?.[12], false, 'rounds may be quiet');
    assert.equal(calls[0]?.[7], 200, 'the interval in milliseconds, sub-second as configured');
  });

  test('httpstatus as [from, to] pairs; a plain receivenot as its bytes; rounds may stay quiet', () => {
    const { off, calls } = offload(true);
    off.start(
      spec({
        httpStatus: [
          [200, 299],
          [404, 404],
        ],
        receiveNot: 'maintenance',
      }),
      () => undefined,
    );
    assert.deepEqual(Array.from(calls[0]?.[16] ?? []), [200, 299, 404, 404]);
    assert.equal((calls[0]?.[17] as Buffer | null)?.toString('latin1'), 'maintenance');
    assert.equal(calls[0]?.[12], false);
  });

  test('a receivenot that is a real pattern sends every round to JS', () => {
    const { off, calls } = offload(true);
    off.start(spec({ receiveNot: 'maint.*mode' }), () => undefined);
    assert.equal(calls[0]?.[12], true);
  });

  test('an addon without httpRules keeps checks with httpstatus or receivenot on the JS path, the others on the engine', () => {
    const { off, calls } = offload(false);
    assert.equal(
      off.start(
        spec({
          httpStatus: [
            [200, 299],
            [404, 404],
          ],
        }),
        () => undefined,
      ),
      undefined,
    );
    assert.equal(
      off.start(spec({ receiveNot: 'maintenance' }), () => undefined),
      undefined,
    );
    assert.notEqual(
      off.start(spec({}), () => undefined),
      undefined,
    );
    assert.notEqual(
      off.start(spec({ httpStatus: [[200, 299]] }), () => undefined),
      undefined,
      'the default written out',
    );
    assert.notEqual(
      off.start(spec({ type: 'connect' }), () => undefined),
      undefined,
    );
    assert.equal(calls.length, 3);
  });
});
