// CheckScheduler.freshness() on a fake clock: what the checker watchdog reads of every check (start, last result,
// interval and timeout), offloaded checks' last rounds from the engine's statistics, exempt checks, reloads, stop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckTarget } from '../../../src/checks/jobs';
import type {
  OffloadSpec,
  OffloadStatus,
  OffloadedRound,
  QuietCounts,
  QuietRound,
  RoundOffload,
} from '../../../src/checks/native-rounds';
import { CheckScheduler, type SchedulerOptions } from '../../../src/checks/scheduler';
import type { CheckJob, CheckResult } from '../../../src/checks/types';
import type { CheckType } from '../../../src/model';
import { FakeClock } from '../../helpers/fake-clock';

function target(
  address: string,
  opts: { type?: CheckType; intervalMs?: number; job?: Partial<CheckJob> } = {},
): CheckTarget {
  return {
    identity: `id-${address}`,
    job: {
      type: opts.type ?? 'connect',
      service: 'http',
      address,
      family: 'inet',
      port: 80,
      protocol: 'tcp',
      virtualHost: '192.0.2.1',
      virtualPort: 80,
      realPort: 80,
      request: '/',
      receive: '',
      httpMethod: 'GET',
      login: '',
      passwd: '',
      database: '',
      secret: '',
      command: '',
      pingCount: 1,
      checkTimeoutMs: 2_000,
      negotiateTimeoutMs: 7_000,
      ...opts.job,
    },
    connectsBetweenNegotiates: 0,
    failureCount: 1,
    riseCount: 1,
    intervalMs: opts.intervalMs ?? 1_000,
    members: [{ virtualId: 'tcp:192.0.2.1:80', realKey: `${address}:80` }],
  };
}

/** A runner answering up after `delayMs` of fake time; `hang` addresses never answer (their timeout ends the round). */
function runner(clock: FakeClock, delayMs: number, hang: ReadonlySet<string> = new Set()) {
  return (job: CheckJob, _kind: unknown, signal: AbortSignal): Promise<CheckResult> =>
    new Promise((resolve) => {
      signal.addEventListener('abort', () => resolve({ up: false, reason: 'aborted', durationMs: 0 }), { once: true });
      if (!hang.has(job.address))
        clock.setTimeout(() => resolve({ up: true, reason: 'ok', durationMs: delayMs }), delayMs);
    });
}

function setup(extra: Partial<SchedulerOptions> = {}, delayMs = 100, hang: ReadonlySet<string> = new Set()) {
  const clock = new FakeClock();
  const scheduler = new CheckScheduler({ clock, run: runner(clock, delayMs, hang), random: () => 0, ...extra });
  return { clock, scheduler };
}

describe('CheckScheduler.freshness', () => {
  it('reports start, interval, timeout and the start of the last finished round (monotonic)', async () => {
    const s = setup();
    await s.clock.advance(5_000);
    s.scheduler.sync([target('10.0.0.1', { intervalMs: 3_000 })]);
    let f = s.scheduler.freshness();
    assert.equal(f.length, 1);
    assert.deepEqual(f[0], {
      identity: 'id-10.0.0.1',
      members: [{ virtualId: 'tcp:192.0.2.1:80', realKey: '10.0.0.1:80' }],
      intervalMs: 3_000,
      timeoutMs: 2_000,
      startedAt: 5_000,
    });
    await s.clock.advance(50); // the first round (random 0: at once) is in flight: no result yet
    assert.equal(s.scheduler.freshness()[0]?.lastResultAt, undefined);
    await s.clock.advance(100);
    assert.equal(s.scheduler.freshness()[0]?.lastResultAt, 5_000, 'the start of the round that finished');
    await s.clock.advance(3_000);
    f = s.scheduler.freshness();
    assert.equal(f[0]?.lastResultAt, 8_000);
    s.scheduler.stop();
    assert.deepEqual(s.scheduler.freshness(), [], 'a stopped scheduler watches nothing');
  });

  it('a round that hangs until its timeout gives its result then: the last result stays the previous round meanwhile', async () => {
    const hang = new Set<string>();
    const s = setup({}, 10, hang);
    s.scheduler.sync([target('10.0.0.1', { intervalMs: 1_000 })]);
    await s.clock.advance(500);
    assert.equal(s.scheduler.freshness()[0]?.lastResultAt, 0);
    hang.add('10.0.0.1');
    await s.clock.advance(1_500); // the round of 1 s hangs until 3 s (timeout 2 s)
    assert.equal(s.scheduler.freshness()[0]?.lastResultAt, 0);
    await s.clock.advance(1_000);
    assert.equal(s.scheduler.freshness()[0]?.lastResultAt, 1_000, 'the timed-out round is a result');
    s.scheduler.stop();
  });

  it('timeout is the deadline of the kinds the check runs: negotiate, combined (the longer), ping times checkcount', () => {
    const s = setup();
    s.scheduler.sync([
      target('10.0.0.1', { type: 'negotiate' }),
      target('10.0.0.2', { type: 'combined' }),
      target('10.0.0.3', { type: 'ping', job: { pingCount: 3 } }),
      target('10.0.0.4', { type: 'external' }),
    ]);
    assert.deepEqual(
      s.scheduler.freshness().map((c) => c.timeoutMs),
      [7_000, 7_000, 6_000, 2_000],
    );
    s.scheduler.stop();
  });

  it('checktype on|off run nothing: exempt (no-check); a reload keeps a kept check and starts an added one now', async () => {
    const s = setup();
    s.scheduler.sync([target('10.0.0.1'), target('10.0.0.2', { type: 'off' }), target('10.0.0.3', { type: 'on' })]);
    await s.clock.advance(2_500);
    let f = s.scheduler.freshness();
    assert.deepEqual(
      f.map((c) => c.exempt),
      [undefined, 'no-check', 'no-check'],
    );
    assert.deepEqual(
      f.map((c) => c.lastResultAt),
      [2_000, undefined, undefined],
    );
    s.scheduler.sync([target('10.0.0.1'), target('10.0.0.4')]);
    f = s.scheduler.freshness();
    assert.deepEqual(
      f.map((c) => [c.identity, c.startedAt, c.lastResultAt]),
      [
        ['id-10.0.0.1', 0, 2_000],
        ['id-10.0.0.4', 2_500, undefined],
      ],
    );
    s.scheduler.stop();
  });

  it('a real forced down by maintenancedir is exempt while it is, and watched again once it is back', async () => {
    let inMaintenance = true;
    const s = setup({ maintenance: () => inMaintenance });
    s.scheduler.sync([target('10.0.0.1')]);
    await s.clock.advance(1_500);
    assert.equal(s.scheduler.freshness()[0]?.exempt, 'maintenance');
    inMaintenance = false;
    await s.clock.advance(1_000);
    const f = s.scheduler.freshness()[0];
    assert.equal(f?.exempt, undefined);
    assert.equal(f?.lastResultAt, 2_000);
    s.scheduler.stop();
  });

  it('offloaded checks: the last round the engine ran counts, quiet or not, and reading it takes no quiet round', async () => {
    const clock = new FakeClock();
    const engine = { lastStartedAt: undefined as number | undefined, rounds: 0, statusReads: 0, takes: 0 };
    let deliver: ((round: OffloadedRound) => void) | undefined;
    const offload: RoundOffload = {
      start: (_spec: OffloadSpec, d) => {
        deliver = d;
        return 1;
      },
      stop: () => undefined,
      statuses: () => {
        engine.statusReads++;
        const status: OffloadStatus = {
          rounds: engine.rounds,
          running: false,
          dropped: 0,
          quietFailures: 0,
          early: 0,
          ...(engine.lastStartedAt !== undefined ? { lastStartedAt: engine.lastStartedAt } : {}),
        };
        return new Map([[1, status]]);
      },
      takeQuiet: (_visit: (q: QuietRound) => void) => {
        engine.takes++;
      },
      takeQuietCounts: (_visit: (id: number, c: QuietCounts) => void) => {
        engine.takes++;
      },
      close: () => undefined,
    };
    const scheduler = new CheckScheduler({
      clock,
      run: runner(clock, 10),
      random: () => 0,
      offload,
      onQuietRounds: () => undefined,
    });
    await clock.advance(1_000);
    scheduler.sync([target('10.0.0.1')]);
    const takesBefore = engine.takes;
    assert.equal(scheduler.freshness()[0]?.lastResultAt, undefined, 'the engine has run no round yet');
    // The first round comes to JS (not quiet), then the engine runs quiet rounds JS never sees.
    (deliver as (r: OffloadedRound) => void)({
      result: { up: true, reason: 'connected', durationMs: 1 },
      scheduledAt: 1_000,
      startedAt: 1_000,
      startedWall: clock.now(),
      quietFailuresBefore: 0,
    });
    engine.rounds = 1;
    engine.lastStartedAt = 1_000;
    assert.equal(scheduler.freshness()[0]?.lastResultAt, 1_000);
    await clock.advance(5_000);
    engine.rounds = 6;
    engine.lastStartedAt = 6_000;
    assert.equal(scheduler.freshness()[0]?.lastResultAt, 6_000, 'quiet rounds count');
    assert.equal(engine.takes, takesBefore, 'freshness takes no quiet round (no side effect on metrics)');
    assert.ok(engine.statusReads >= 3);
    // A frozen engine: its last round stays where it was.
    await clock.advance(60_000);
    assert.equal(scheduler.freshness()[0]?.lastResultAt, 6_000);
    scheduler.stop();
  });
});
