// CheckScheduler on a fake clock with scripted runners: counting, dedup, reload, jitter, overlap, timeouts, combined.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobsFromConfig, type CheckTarget } from '../../../src/checks/jobs';
import {
  CheckScheduler,
  firstRoundSpreadMs,
  type CheckKind,
  type CheckRecord,
  type SchedulerOptions,
} from '../../../src/checks/scheduler';
import type { HealthTransition } from '../../../src/model/health';
import type { CheckJob, CheckResult } from '../../../src/checks/types';
import type { CheckType } from '../../../src/model';
import { FakeClock } from '../../helpers/fake-clock';
import { loadValid } from '../../helpers/config';
import { captureLogger } from '../../helpers/alerts';

/** A job with ldirectord-like defaults for `address`. */
function job(address: string, type: CheckType = 'connect', extra: Partial<CheckJob> = {}): CheckJob {
  return {
    type,
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
    checkTimeoutMs: 5000,
    negotiateTimeoutMs: 30000,
    ...extra,
  };
}

/** A target checked every `intervalMs`, serving `tcp:192.0.2.1:80` (and more virtuals with `virtuals`). */
function target(
  address: string,
  opts: {
    type?: CheckType;
    failureCount?: number;
    riseCount?: number;
    intervalMs?: number;
    n?: number;
    virtuals?: string[];
    identity?: string;
    job?: Partial<CheckJob>;
  } = {},
): CheckTarget {
  const virtuals = opts.virtuals ?? ['tcp:192.0.2.1:80'];
  return {
    identity: opts.identity ?? `id-${address}`,
    job: job(address, opts.type ?? 'connect', opts.job),
    connectsBetweenNegotiates: opts.n ?? 0,
    failureCount: opts.failureCount ?? 1,
    riseCount: opts.riseCount ?? 1,
    intervalMs: opts.intervalMs ?? 1000,
    members: virtuals.map((virtualId) => ({ virtualId, realKey: `${address}:80` })),
  };
}

interface Call {
  address: string;
  kind: CheckKind;
  at: number;
  signal: AbortSignal;
}

/**
 * A runner whose answers come from `answer(address, kind, callIndex)`: up/down, after `delayMs` of fake time
 * (resolving early with `aborted` when the signal aborts). `hang` never resolves on its own.
 */
function scripted(
  clock: FakeClock,
  answer: (address: string, kind: CheckKind, n: number) => { up: boolean; delayMs?: number; hang?: boolean },
) {
  const calls: Call[] = [];
  const counts = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const run = (j: CheckJob, kind: CheckKind, signal: AbortSignal): Promise<CheckResult> => {
    const n = counts.get(j.address) ?? 0;
    counts.set(j.address, n + 1);
    calls.push({ address: j.address, kind, at: clock.monotonic(), signal });
    const a = answer(j.address, kind, n);
    const started = clock.monotonic();
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise<CheckResult>((resolve) => {
      let finished = false;
      const done = (r: CheckResult): void => {
        if (finished) return;
        finished = true;
        inFlight--;
        resolve(r);
      };
      let timer: ReturnType<FakeClock['setTimeout']> | undefined;
      signal.addEventListener(
        'abort',
        () => {
          if (timer !== undefined) clock.clearTimeout(timer);
          done({ up: false, reason: 'aborted', durationMs: clock.monotonic() - started });
        },
        { once: true },
      );
      if (a.hang) return;
      const finish = (): void =>
        done({ up: a.up, reason: a.up ? 'ok' : 'refused', durationMs: clock.monotonic() - started });
      if (a.delayMs) timer = clock.setTimeout(finish, a.delayMs);
      else void Promise.resolve().then(finish);
    });
  };
  return {
    run,
    calls,
    get maxInFlight() {
      return maxInFlight;
    },
    get inFlight() {
      return inFlight;
    },
  };
}

function setup(answer: Parameters<typeof scripted>[1], extra: Partial<SchedulerOptions> = {}) {
  const clock = new FakeClock();
  const runner = scripted(clock, answer);
  const transitions: HealthTransition[] = [];
  const records: CheckRecord[] = [];
  const scheduler = new CheckScheduler({
    clock,
    run: runner.run,
    random: () => 0,
    onTransition: (t) => transitions.push(t),
    onCheck: (r) => records.push(r),
    ...extra,
  });
  return { clock, runner, transitions, records, scheduler };
}

const brief = (ts: HealthTransition[]): string[] =>
  ts.map((t) => `${t.realKey}@${t.virtualId} ${t.from}->${t.to} ${t.reason}`);

describe('counting', () => {
  it('failurecount=1: first result decides, each change is one transition, one success recovers', async () => {
    const script = [true, true, false, false, true, true];
    const s = setup((_a, _k, n) => ({ up: script[n] ?? true }));
    s.scheduler.sync([target('10.0.0.1')]);
    await s.clock.advance(5500);
    assert.equal(s.runner.calls.length, 6);
    assert.deepEqual(brief(s.transitions), [
      '10.0.0.1:80@tcp:192.0.2.1:80 unknown->up ok',
      '10.0.0.1:80@tcp:192.0.2.1:80 up->down refused',
      '10.0.0.1:80@tcp:192.0.2.1:80 down->up ok',
    ]);
    const down = s.transitions[1];
    assert.equal(down?.consecutiveFailures, 1);
    assert.equal(down?.checkStartedAt, s.clock.now() - 5500 + 2000);
    s.scheduler.stop();
  });

  it('failurecount=3: soft failures keep it up, the third failure takes it down, one success brings it back', async () => {
    const script = [true, false, false, true, false, false, false, false, true];
    const s = setup((_a, _k, n) => ({ up: script[n] ?? true }));
    s.scheduler.sync([target('10.0.0.1', { failureCount: 3 })]);
    await s.clock.advance(2500);
    assert.equal(s.scheduler.snapshot()[0]?.health, 'up');
    assert.equal(s.scheduler.snapshot()[0]?.consecutiveFailures, 2);
    await s.clock.advance(6000);
    assert.deepEqual(
      s.transitions.map((t) => `${t.from}->${t.to}/${t.consecutiveFailures}`),
      ['unknown->up/0', 'up->down/3', 'down->up/0'],
    );
    assert.equal(s.records.length, 9);
    const snap = s.scheduler.snapshot()[0];
    assert.equal(snap?.health, 'up');
    assert.equal(snap?.checks, 9);
    assert.equal(snap?.lastResult?.reason, 'ok');
    s.scheduler.stop();
  });

  it('from unknown the first failure already takes it down, even with failurecount=3', async () => {
    const s = setup(() => ({ up: false }));
    s.scheduler.sync([target('10.0.0.1', { failureCount: 3 })]);
    await s.clock.advance(3500);
    assert.deepEqual(
      s.transitions.map((t) => `${t.from}->${t.to}`),
      ['unknown->down'],
    );
    s.scheduler.stop();
  });

  it('an adopted up state needs failurecount failures; a rejecting or throwing runner counts as a failure', async () => {
    let n = 0;
    const clock = new FakeClock();
    const transitions: HealthTransition[] = [];
    const scheduler = new CheckScheduler({
      clock,
      random: () => 0,
      onTransition: (t) => transitions.push(t),
      run: () => {
        if (n++ % 2 === 0) throw Object.assign(new Error('boom'), { code: 'ECONNREFUSED' });
        return Promise.reject(new Error('bad answer'));
      },
    });
    scheduler.sync([target('10.0.0.1', { failureCount: 2 })], { initialHealth: () => 'up' });
    await clock.advance(500);
    assert.equal(scheduler.snapshot()[0]?.lastResult?.reason, 'refused');
    assert.equal(transitions.length, 0);
    await clock.advance(1000);
    assert.deepEqual(
      transitions.map((t) => `${t.from}->${t.to} ${t.reason}`),
      ['up->down bad answer'],
    );
    scheduler.stop();
  });
});

describe('rise count', () => {
  /** `from->to@round` for every transition, rounds numbered from 1 (one round per second from t=0). */
  const changes = (ts: HealthTransition[], clock: FakeClock): string[] =>
    ts.map(
      (t) => `${t.from}->${t.to}@${Math.round((t.checkStartedAt - (clock.now() - clock.monotonic())) / 1000) + 1}`,
    );

  it('risecount=3: a down real is up again at the third success in a row; the ones before are soft successes', async () => {
    const script = [true, false, true, true, true, true];
    const log = captureLogger();
    const s = setup((_a, _k, n) => ({ up: script[n] ?? true }), { logger: log.logger });
    s.scheduler.sync([target('10.0.0.1', { riseCount: 3 })]);
    await s.clock.advance(3500); // rounds 1..4: up, down, two soft successes
    assert.deepEqual(changes(s.transitions, s.clock), ['unknown->up@1', 'up->down@2']);
    const rising = s.scheduler.snapshot()[0];
    assert.equal(rising?.health, 'down');
    assert.equal(rising?.riseSuccesses, 2);
    assert.equal(rising?.riseCount, 3);
    const soft = log.records.filter((r) => r.msg === 'soft success');
    assert.deepEqual(
      soft.map((r) => `${r.successes}/${r.riseCount} ${r.reason}`),
      ['1/3 ok', '2/3 ok'],
    );
    await s.clock.advance(1000); // round 5: the third success
    assert.deepEqual(changes(s.transitions, s.clock), ['unknown->up@1', 'up->down@2', 'down->up@5']);
    assert.equal(s.transitions[2]?.reason, 'ok');
    assert.equal(s.scheduler.snapshot()[0]?.riseSuccesses, 0, 'up: no longer rising');
    s.scheduler.stop();
  });

  it('a failure while rising starts the count over', async () => {
    const script = [false, true, true, false, true, true, true];
    const s = setup((_a, _k, n) => ({ up: script[n] ?? true }));
    s.scheduler.sync([target('10.0.0.1', { riseCount: 3 })]);
    await s.clock.advance(3500);
    assert.equal(s.scheduler.snapshot()[0]?.riseSuccesses, 0, 'the failure of round 4 reset the streak of 2');
    await s.clock.advance(2000);
    assert.equal(s.scheduler.snapshot()[0]?.health, 'down', 'two successes after the failure are not enough');
    assert.equal(s.scheduler.snapshot()[0]?.riseSuccesses, 2);
    await s.clock.advance(1000);
    assert.deepEqual(changes(s.transitions, s.clock), ['unknown->down@1', 'down->up@7']);
    s.scheduler.stop();
  });

  it('from unknown one success is enough, even with risecount=3; an adopted down state needs all three', async () => {
    const s = setup(() => ({ up: true }));
    s.scheduler.sync([target('10.0.0.1', { riseCount: 3 }), target('10.0.0.2', { riseCount: 3 })], {
      initialHealth: (t) => (t.job.address === '10.0.0.2' ? 'down' : undefined),
    });
    await s.clock.advance(500);
    assert.deepEqual(brief(s.transitions), ['10.0.0.1:80@tcp:192.0.2.1:80 unknown->up ok']);
    await s.clock.advance(2000);
    assert.deepEqual(changes(s.transitions, s.clock), ['unknown->up@1', 'down->up@3']);
    assert.equal(s.transitions[1]?.realKey, '10.0.0.2:80');
    s.scheduler.stop();
  });

  it('risecount=1 (the default) is ldirectord: one success brings a down real back, nothing is soft', async () => {
    const script = [true, false, false, true, false, true];
    const log = captureLogger();
    const s = setup((_a, _k, n) => ({ up: script[n] ?? true }), { logger: log.logger });
    s.scheduler.sync([target('10.0.0.1')]);
    await s.clock.advance(5500);
    assert.deepEqual(changes(s.transitions, s.clock), [
      'unknown->up@1',
      'up->down@2',
      'down->up@4',
      'up->down@5',
      'down->up@6',
    ]);
    assert.equal(log.records.filter((r) => r.msg === 'soft success').length, 0);
    s.scheduler.stop();
  });

  it('maintenance: forced down at once; out of it the first success decides, unless the real was down by its checks', async () => {
    const inMaintenance = new Set<string>();
    // 10.0.0.1 always answers; 10.0.0.2 fails its first two rounds, then answers; 10.0.0.3 fails its first round out of maintenance.
    const s = setup(
      (address, _k, n) => ({ up: address === '10.0.0.2' ? n >= 2 : address === '10.0.0.3' ? n !== 2 : true }),
      {
        maintenance: (address) => inMaintenance.has(address),
      },
    );
    s.scheduler.sync(['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((a) => target(a, { riseCount: 3 })));
    await s.clock.advance(1500); // rounds 1, 2: .1 and .3 up; .2 down
    inMaintenance.add('10.0.0.1').add('10.0.0.2').add('10.0.0.3');
    await s.clock.advance(2000); // rounds 3, 4 in maintenance
    inMaintenance.clear();
    await s.clock.advance(1000); // round 5: .1 up at once; .2 answers (1 of 3); .3 fails: down by its check now
    const after5 = s.scheduler.snapshot();
    assert.deepEqual(
      after5.map((x) => `${x.health} ${x.riseSuccesses}`),
      ['up 0', 'down 1', 'down 0'],
    );
    await s.clock.advance(4000); // rounds 6..9
    const lines = s.transitions.map((t) => `${t.realKey} ${t.from}->${t.to} ${t.reason}`);
    assert.deepEqual(lines, [
      '10.0.0.1:80 unknown->up ok',
      '10.0.0.2:80 unknown->down refused',
      '10.0.0.3:80 unknown->up ok',
      '10.0.0.1:80 up->down maintenance',
      '10.0.0.3:80 up->down maintenance',
      '10.0.0.1:80 down->up ok',
      '10.0.0.2:80 down->up ok',
      '10.0.0.3:80 down->up ok',
    ]);
    const at = (key: string): number | undefined => {
      const t = s.transitions.find((x) => x.realKey === key && x.to === 'up' && x.from === 'down');
      return t === undefined
        ? undefined
        : Math.round((t.checkStartedAt - (s.clock.now() - s.clock.monotonic())) / 1000) + 1;
    };
    assert.deepEqual([at('10.0.0.1:80'), at('10.0.0.2:80'), at('10.0.0.3:80')], [5, 7, 8]);
    s.scheduler.stop();
  });
});

describe('dedup and reload', () => {
  it('a real shared by several virtual services is checked once and the transition fans out', async () => {
    const c = await loadValid(
      [
        'checkinterval=1',
        'virtual=192.0.2.1:80',
        '\treal=10.0.0.1:80 gate',
        '\tchecktype=connect',
        'virtual=192.0.2.2:80',
        '\treal=10.0.0.1:80 gate',
        '\tchecktype=connect',
        '',
      ].join('\n'),
    );
    const s = setup(() => ({ up: true }));
    s.scheduler.sync(jobsFromConfig(c));
    await s.clock.advance(3500);
    assert.equal(s.runner.calls.length, 4);
    assert.deepEqual(brief(s.transitions), [
      '10.0.0.1:80@tcp:192.0.2.1:80 unknown->up ok',
      '10.0.0.1:80@tcp:192.0.2.2:80 unknown->up ok',
    ]);
    s.scheduler.stop();
  });

  it('reload: unchanged keeps state and timer, changed restarts (aborting its round), removed stops', async () => {
    const s = setup((a) => ({ up: true, delayMs: a === '10.0.0.2' ? 400 : 0 }));
    const keep = target('10.0.0.1');
    s.scheduler.sync([keep, target('10.0.0.2'), target('10.0.0.3')]);
    await s.clock.advance(2200); // rounds at 0, 1000, 2000; 10.0.0.2 is in flight since 2000
    const inflight = s.runner.calls.filter((c) => c.address === '10.0.0.2').at(-1);
    assert.equal(inflight?.signal.aborted, false);
    const kept = s.scheduler.snapshot()[0];
    s.transitions.length = 0;
    s.scheduler.sync(
      [
        { ...keep, members: [...keep.members, { virtualId: 'tcp:192.0.2.9:80', realKey: '10.0.0.1:80' }] },
        target('10.0.0.2', { identity: 'id-10.0.0.2-v2', intervalMs: 500 }),
      ],
      { initialHealth: () => 'down' },
    );
    assert.equal(inflight?.signal.aborted, true, 'the changed check was aborted');
    assert.deepEqual(
      brief(s.transitions),
      ['10.0.0.1:80@tcp:192.0.2.9:80 unknown->up ok'],
      'a joining pair learns the health',
    );
    const snap = s.scheduler.snapshot();
    assert.deepEqual(
      snap.map((x) => x.identity),
      ['id-10.0.0.1', 'id-10.0.0.2-v2'],
    );
    assert.equal(snap[0]?.checks, kept?.checks);
    assert.equal(snap[0]?.since, kept?.since);
    assert.equal(snap[1]?.health, 'down', 'a new identity starts from the adopted health');
    const before = s.runner.calls.length;
    await s.clock.advance(1000);
    const after = s.runner.calls.slice(before);
    assert.deepEqual(
      after.filter((c) => c.address === '10.0.0.1').map((c) => c.at),
      [3000],
      'the kept timer did not move',
    );
    assert.deepEqual(
      after.filter((c) => c.address === '10.0.0.3'),
      [],
      'the removed check stopped',
    );
    assert.deepEqual(
      after.filter((c) => c.address === '10.0.0.2').map((c) => c.at),
      [2200, 2700, 3200],
      'restarted at once (random 0)',
    );
    s.scheduler.stop();
    assert.equal(s.clock.pending(), 0, 'stop leaves no timer');
  });
});

describe('timing', () => {
  it('a batch of new checks runs its first round within a short spread, then spreads over the whole interval', async () => {
    let seed = 42;
    const random = (): number => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const s = setup(() => ({ up: true }), { random });
    s.scheduler.sync(Array.from({ length: 1000 }, (_, i) => target(`10.1.${i >> 8}.${i & 255}`)));
    assert.equal(firstRoundSpreadMs(1000, 1000), 200);
    await s.clock.advance(199);
    assert.equal(
      s.runner.calls.length,
      1000,
      'every target ran once within the first 200 ms: the first table is known early',
    );
    const first = new Array<number>(10).fill(0);
    for (const c of s.runner.calls) first[Math.floor(c.at / 20)]! += 1;
    assert.ok(
      first.every((b) => b >= 60 && b <= 140),
      `first round spread over 200 ms: ${first.join(',')}`,
    );
    await s.clock.advance(2001);
    const second = s.runner.calls.slice(1000, 2000);
    assert.equal(second.length, 1000);
    const buckets = new Array<number>(10).fill(0);
    for (const c of second) buckets[Math.floor((c.at - 1000) / 100)]! += 1;
    assert.ok(
      buckets.every((b) => b >= 50 && b <= 150),
      `second round spread over the interval: ${buckets.join(',')}`,
    );
    assert.equal(firstRoundSpreadMs(20_000, 1000), 1000, 'never more than one interval');
    s.scheduler.stop();
  });

  it('rounds start one interval apart from the previous start; a slow check is followed at once, never overlapped', async () => {
    const s = setup((a) => ({ up: true, delayMs: a === '10.0.0.1' ? 300 : 2500 }), { random: () => 0.25 });
    s.scheduler.sync([target('10.0.0.1'), target('10.0.0.2')]);
    await s.clock.advance(8000);
    const at = (a: string): number[] => s.runner.calls.filter((c) => c.address === a).map((c) => c.at);
    // Place 250 in the interval; the first round at 250 scaled into the 100.2 ms spread of two checks (25).
    assert.deepEqual(at('10.0.0.1'), [25, 1250, 2250, 3250, 4250, 5250, 6250, 7250]);
    assert.deepEqual(at('10.0.0.2'), [25, 2525, 5025, 7525]);
    assert.equal(s.runner.maxInFlight, 2, 'one per identity at most');
    const late = s.records.filter((r) => r.identity === 'id-10.0.0.2').map((r) => r.startedAt - r.scheduledAt);
    assert.deepEqual(late, [0, 0, 0]);
    s.scheduler.stop();
  });

  it('a check is aborted through its signal at its timeout and counts as a timeout failure', async () => {
    const s = setup(() => ({ up: true, hang: true }));
    s.scheduler.sync([
      target('10.0.0.1', { job: { checkTimeoutMs: 200 } }),
      target('10.0.0.2', { type: 'negotiate', job: { negotiateTimeoutMs: 700, checkTimeoutMs: 100 } }),
    ]);
    await s.clock.advance(199);
    assert.ok(s.runner.calls.every((c) => !c.signal.aborted));
    await s.clock.advance(1);
    assert.deepEqual(
      s.runner.calls.map((c) => c.signal.aborted),
      [true, false],
    );
    await s.clock.advance(500);
    assert.deepEqual(
      s.runner.calls.map((c) => c.signal.aborted),
      [true, true],
    );
    assert.deepEqual(
      s.transitions.map((t) => `${t.realKey} ${t.to} ${t.reason} ${t.durationMs}`),
      ['10.0.0.1:80 down timeout 200', '10.0.0.2:80 down timeout 700'],
    );
    s.scheduler.stop();
  });
});

describe('stop', () => {
  it('aborts rounds in flight, ignores their late answers and leaves no timer', async () => {
    const s = setup(() => ({ up: true, delayMs: 300 }));
    s.scheduler.sync([target('10.0.0.1'), target('10.0.0.2')]);
    await s.clock.advance(100);
    assert.deepEqual(
      s.scheduler.snapshot().map((x) => x.running),
      [true, true],
    );
    s.scheduler.stop();
    assert.ok(s.runner.calls.every((c) => c.signal.aborted));
    await s.clock.advance(5000);
    assert.equal(s.runner.calls.length, 2);
    assert.equal(s.records.length, 0);
    assert.equal(s.transitions.length, 0);
    assert.equal(s.clock.pending(), 0);
    assert.deepEqual(s.scheduler.snapshot(), []);
  });
});

describe('check types', () => {
  it('combined N=2: negotiate, two connects, negotiate; a failed connect forces a negotiate', async () => {
    const failConnectAt = new Set([4]);
    const s = setup((_a, _k, n) => ({ up: !failConnectAt.has(n) }));
    s.scheduler.sync([target('10.0.0.1', { type: 'combined', n: 2, failureCount: 3 })]);
    await s.clock.advance(8500);
    assert.equal(s.runner.calls.map((c) => c.kind[0]).join(''), 'nccncnccn');
    assert.equal(s.scheduler.snapshot()[0]?.health, 'up', 'one failed connect is a soft failure');
    s.scheduler.stop();
  });

  it('combined: a failed negotiate is retried as a negotiate', async () => {
    const s = setup((_a, kind, n) => ({ up: kind === 'connect' || n >= 2 }));
    s.scheduler.sync([target('10.0.0.1', { type: 'combined', n: 1 })]);
    await s.clock.advance(5500);
    assert.equal(s.runner.calls.map((c) => c.kind[0]).join(''), 'nnncnc');
    s.scheduler.stop();
  });

  it('checktype=on is up without any check; off runs nothing and keeps unknown or the adopted state', async () => {
    const s = setup(() => ({ up: false }));
    s.scheduler.sync([target('10.0.0.1', { type: 'on' }), target('10.0.0.2', { type: 'off' })]);
    s.scheduler.sync(
      [target('10.0.0.1', { type: 'on' }), target('10.0.0.2', { type: 'off' }), target('10.0.0.3', { type: 'off' })],
      {
        initialHealth: (t) => (t.job.address === '10.0.0.3' ? 'up' : undefined),
      },
    );
    await s.clock.advance(5000);
    assert.equal(s.runner.calls.length, 0);
    assert.equal(s.clock.pending(), 0);
    assert.deepEqual(brief(s.transitions), ['10.0.0.1:80@tcp:192.0.2.1:80 unknown->up checktype on']);
    assert.deepEqual(
      s.scheduler.snapshot().map((x) => x.health),
      ['up', 'unknown', 'up'],
    );
    s.scheduler.stop();
  });
});

describe('maintenance', () => {
  it('a real in maintenance is down at once without running its check, and comes back on the next good check', async () => {
    const inMaintenance = new Set<string>();
    const probes: string[] = [];
    const s = setup(() => ({ up: true }), {
      maintenance: (address, port, hostnames) => {
        probes.push(`${address}:${port} ${hostnames.join(',')}`);
        return inMaintenance.has(address);
      },
      hostnames: (address) => (address === '10.0.0.1' ? ['web1.example.com'] : []),
    });
    s.scheduler.sync([target('10.0.0.1', { failureCount: 3 }), target('10.0.0.2', { type: 'on' })]);
    await s.clock.advance(1500);
    inMaintenance.add('10.0.0.1').add('10.0.0.2');
    await s.clock.advance(1000);
    const calls = s.runner.calls.length;
    await s.clock.advance(1000);
    assert.equal(s.runner.calls.length, calls, 'no check runs in maintenance');
    inMaintenance.clear();
    await s.clock.advance(1000);
    assert.deepEqual(
      s.transitions.map((t) => `${t.realKey} ${t.from}->${t.to} ${t.reason}`),
      [
        '10.0.0.2:80 unknown->up checktype on',
        '10.0.0.1:80 unknown->up ok',
        '10.0.0.1:80 up->down maintenance',
        '10.0.0.2:80 up->down maintenance',
        '10.0.0.1:80 down->up ok',
        '10.0.0.2:80 down->up checktype on',
      ],
    );
    assert.ok(probes.includes('10.0.0.1:80 web1.example.com'));
    s.scheduler.stop();
  });
});

describe('reported weights', () => {
  it("a passing check's weight goes to onWeight when it changes, for every pair; a failure keeps it; none clears it; a joining pair gets it", async () => {
    const clock = new FakeClock();
    const answers: Array<{ up: boolean; weight?: number }> = [
      { up: true, weight: 5 },
      { up: true, weight: 5 },
      { up: false },
      { up: true, weight: 5 },
      { up: true, weight: 9 },
      { up: true },
    ];
    let n = 0;
    const reports: string[] = [];
    const scheduler = new CheckScheduler({
      clock,
      random: () => 0,
      run: async () => {
        const a = answers[n++] ?? { up: true };
        return {
          up: a.up,
          reason: a.up ? 'ok' : 'refused',
          durationMs: 1,
          ...(a.weight !== undefined ? { weight: a.weight } : {}),
        };
      },
      onWeight: (r) => reports.push(`${r.virtualId} ${r.weight ?? '-'}`),
    });
    scheduler.sync([target('10.0.0.1', { virtuals: ['tcp:192.0.2.1:80', 'tcp:192.0.2.2:80'] })]);
    await clock.advance(3500);
    assert.deepEqual(
      reports,
      ['tcp:192.0.2.1:80 5', 'tcp:192.0.2.2:80 5'],
      'once, for both pairs; the failure and the same 5 again change nothing',
    );
    await clock.advance(1000);
    assert.deepEqual(reports.slice(2), ['tcp:192.0.2.1:80 9', 'tcp:192.0.2.2:80 9']);
    scheduler.sync([target('10.0.0.1', { virtuals: ['tcp:192.0.2.1:80', 'tcp:192.0.2.2:80', 'tcp:192.0.2.3:80'] })]);
    assert.deepEqual(reports.slice(4), ['tcp:192.0.2.3:80 9'], 'a pair joining the check gets the weight at once');
    await clock.advance(1000);
    assert.deepEqual(reports.slice(5), ['tcp:192.0.2.1:80 -', 'tcp:192.0.2.2:80 -', 'tcp:192.0.2.3:80 -']);
    scheduler.stop();
  });
});
