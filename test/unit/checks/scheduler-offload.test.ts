// CheckScheduler with a scripted RoundOffload (fake clock): which checks it hands over, how delivered rounds are
// counted, quiet rounds batched or one by one, the snapshot merged from the offload, redirects, monitor files
// coming and going with a reload, maintenance, and stop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SliceYielder } from '../../../src/system/slice-yielder';
import type { CheckTarget } from '../../../src/checks/jobs';
import type {
  OffloadSpec,
  OffloadStatus,
  OffloadedRound,
  QuietCounts,
  QuietRound,
  RoundOffload,
} from '../../../src/checks/native-rounds';
import {
  CheckScheduler,
  QUIET_FLUSH_MS,
  type CheckRecord,
  type QuietRounds,
  type SchedulerOptions,
} from '../../../src/checks/scheduler';
import type { HealthTransition } from '../../../src/model/health';
import type { CheckResult } from '../../../src/checks/types';
import { FakeClock } from '../../helpers/fake-clock';
import { makeJob } from '../../helpers/check-job';
import { countLoopTurns } from '../../helpers/loop-turns';

interface Started {
  readonly spec: OffloadSpec;
  readonly deliver: (round: OffloadedRound) => void;
  stopped: boolean;
  rounds: number;
  quiet: QuietRound[];
  /** The last round when it was quiet (kept after takeQuiet, as the engine's statistics). */
  lastQuiet?: QuietRound;
}

/** An offload the test drives: it records what it was given and delivers or keeps quiet what the test says. */
class ScriptedOffload implements RoundOffload {
  readonly started = new Map<number, Started>();
  private next = 1;
  constructor(private readonly clock: FakeClock) {}
  start(spec: OffloadSpec, deliver: (round: OffloadedRound) => void): number | undefined {
    if (spec.job.type !== 'connect' && spec.job.type !== 'negotiate') return undefined;
    const id = this.next++;
    this.started.set(id, { spec, deliver, stopped: false, rounds: 0, quiet: [] });
    return id;
  }
  stop(id: number): void {
    const s = this.started.get(id);
    if (s) s.stopped = true;
  }
  statuses(): ReadonlyMap<number, OffloadStatus> {
    const out = new Map<number, OffloadStatus>();
    for (const [id, s] of this.started) {
      if (s.stopped) continue;
      const last = s.lastQuiet;
      out.set(id, {
        rounds: s.rounds,
        running: false,
        dropped: 0,
        quietFailures: 0,
        early: 0,
        ...(last ? { quietLast: { result: last.result, startedWall: 1_000 } } : {}),
      });
    }
    return out;
  }
  takeQuiet(visit: (round: QuietRound) => void): void {
    for (const s of this.started.values()) {
      for (const q of s.quiet) visit(q);
      s.quiet = [];
    }
  }
  takeQuietCounts(visit: (id: number, counts: QuietCounts) => void): void {
    for (const [id, s] of this.started) {
      if (s.quiet.length === 0) continue;
      // The test's durations are a few ms: the bucket counts only need to add up (the engine's are tested against real rounds).
      const durationBuckets = new Float64Array(16);
      durationBuckets[2] = s.quiet.length;
      visit(id, {
        passed: s.quiet.filter((q) => q.result.up).length,
        failed: s.quiet.filter((q) => !q.result.up).length,
        durationSumMs: s.quiet.reduce((sum, q) => sum + q.result.durationMs, 0),
        durationBuckets,
      });
      s.quiet = [];
    }
  }
  close(): void {}
  /** The check `id` runs a round that JS must see. */
  deliver(id: number, result: CheckResult | 'redirect'): void {
    const s = this.started.get(id) as Started;
    s.rounds++;
    delete s.lastQuiet;
    const at = this.clock.monotonic();
    s.deliver({ result, scheduledAt: at, startedAt: at, startedWall: this.clock.now(), quietFailuresBefore: 0 });
  }
  /** The check `id` runs `n` quiet rounds. */
  quietRounds(id: number, n: number): void {
    const s = this.started.get(id) as Started;
    for (let i = 0; i < n; i++) {
      s.rounds++;
      s.lastQuiet = {
        id,
        scheduledAt: i,
        startedAt: i + 0.5,
        result: { up: true, reason: 'connected', durationMs: 1 + i },
      };
      s.quiet.push(s.lastQuiet);
    }
  }
  live(): number[] {
    return [...this.started].filter(([, s]) => !s.stopped).map(([id]) => id);
  }
}

const target = (
  address: string,
  type: 'connect' | 'negotiate' | 'ping' = 'connect',
  virtuals = ['v1'],
  riseCount = 1,
): CheckTarget => ({
  identity: `id-${address}`,
  job: makeJob({ type, service: 'http', address, port: 80 }),
  connectsBetweenNegotiates: 0,
  failureCount: 2,
  riseCount,
  intervalMs: 1_000,
  members: virtuals.map((virtualId) => ({ virtualId, realKey: `${address}:80` })),
});

function setup(extra: Partial<SchedulerOptions> = {}): {
  clock: FakeClock;
  offload: ScriptedOffload;
  s: CheckScheduler;
  transitions: HealthTransition[];
  records: CheckRecord[];
  jsRuns: string[];
} {
  const clock = new FakeClock();
  const offload = new ScriptedOffload(clock);
  const transitions: HealthTransition[] = [];
  const records: CheckRecord[] = [];
  const jsRuns: string[] = [];
  const s = new CheckScheduler({
    clock,
    offload,
    random: () => 0.5,
    run: async (job) => {
      jsRuns.push(job.address);
      return { up: true, reason: 'status 200', durationMs: 2 };
    },
    onTransition: (t) => transitions.push(t),
    onCheck: (r) => records.push(r),
    ...extra,
  });
  return { clock, offload, s, transitions, records, jsRuns };
}

describe('CheckScheduler with an offload', () => {
  it('flushQuietSliced hands the counted quiet rounds over one check at a time, a turn between slices; statuses then has none left', async () => {
    const batches: QuietRounds[] = [];
    const { offload, s } = setup({ onQuietRounds: (q) => batches.push(q) });
    const targets = Array.from({ length: 200 }, (_, i) => target(`192.0.2.${(i % 250) + 1}`, 'connect', [`v${i}`]));
    s.sync(targets.map((t, i) => ({ ...t, identity: `id-${i}` })));
    for (const id of offload.live()) {
      offload.deliver(id, { up: true, reason: 'connected', durationMs: 1 });
      offload.quietRounds(id, 2);
    }
    const yielder = new SliceYielder(0); // every look at the clock gives a turn
    const loop = countLoopTurns();
    try {
      await s.flushQuietSliced(yielder);
    } finally {
      loop.stop();
    }
    const turns = loop.turns();
    assert.equal(batches.length, 200, 'every check with quiet rounds handed over');
    assert.ok(batches.every((b) => b.passed === 2));
    assert.ok(yielder.yields >= 3 && turns >= 3, `${yielder.yields} yields, ${turns} turns of the event loop`);
    s.snapshot();
    assert.equal(batches.length, 200, 'nothing left for the snapshot to hand over');
  });

  it('hands over connect and negotiate checks only, with the first round inside the spread and the rest of the place after', () => {
    const { offload, s } = setup();
    s.sync([target('192.0.2.1'), target('192.0.2.2', 'negotiate'), target('192.0.2.3', 'ping')]);
    assert.deepEqual(
      [...offload.started.values()].map((x) => x.spec.job.address),
      ['192.0.2.1', '192.0.2.2'],
    );
    const spec = (offload.started.get(1) as Started).spec;
    assert.ok(spec.firstDelayMs < 1_000 && spec.firstDelayMs + spec.respreadMs === 500, JSON.stringify(spec));
    s.stop();
  });

  it('counts delivered rounds as JS-run ones: soft failure, down at failurecount, up again', () => {
    const { offload, s, transitions, records } = setup();
    s.sync([target('192.0.2.1')]);
    offload.deliver(1, { up: true, reason: 'connected', durationMs: 1 });
    offload.deliver(1, { up: false, reason: 'refused', durationMs: 1 });
    assert.equal(transitions.length, 1, 'one failure of two: soft');
    offload.deliver(1, { up: false, reason: 'refused', durationMs: 1 });
    offload.deliver(1, { up: true, reason: 'connected', durationMs: 1 });
    assert.deepEqual(
      transitions.map((t) => `${t.from}>${t.to} ${t.reason} ${t.consecutiveFailures}`),
      ['unknown>up connected 0', 'up>down refused 2', 'down>up connected 0'],
    );
    assert.equal(records.length, 4);
    s.stop();
  });

  it('hands risecount to the offload and counts the successes it delivers towards it', () => {
    const { offload, s, transitions } = setup();
    s.sync([target('192.0.2.1', 'connect', ['v1'], 3)]);
    assert.equal(offload.started.get(1)?.spec.riseCount, 3);
    assert.equal(offload.started.get(1)?.spec.failureCount, 2);
    const up = { up: true, reason: 'connected', durationMs: 1 } as const;
    offload.deliver(1, { up: false, reason: 'refused', durationMs: 1 });
    offload.deliver(1, up);
    offload.deliver(1, up);
    assert.deepEqual(
      s.snapshot().map((x) => `${x.health} ${x.riseSuccesses}/${x.riseCount}`),
      ['down 2/3'],
    );
    offload.deliver(1, up);
    assert.deepEqual(
      transitions.map((t) => `${t.from}>${t.to}`),
      ['unknown>down', 'down>up'],
    );
    s.stop();
  });

  it('quiet failures are counted: in the snapshot, and when the next round comes to JS', () => {
    const { offload, s } = setup();
    s.sync([target('192.0.2.1')]);
    offload.deliver(1, { up: false, reason: 'refused', durationMs: 1 });
    offload.deliver(1, { up: false, reason: 'refused', durationMs: 1 });
    const live = offload.statuses;
    offload.statuses = () => new Map([...live.call(offload)].map(([id, st]) => [id, { ...st, quietFailures: 5 }]));
    assert.equal(s.snapshot()[0]?.consecutiveFailures, 7);
    offload.statuses = live;
    const started = offload.started.get(1) as Started;
    started.rounds += 6;
    started.deliver({
      result: { up: false, reason: 'timeout', durationMs: 1 },
      scheduledAt: 0,
      startedAt: 0,
      startedWall: 0,
      quietFailuresBefore: 5,
    });
    assert.equal(s.snapshot()[0]?.consecutiveFailures, 8, '2 + 5 quiet + 1');
    s.stop();
  });

  it('quiet rounds reach onCheck one by one, or onQuietRounds counted per check; the snapshot counts them', async () => {
    const batches: QuietRounds[] = [];
    for (const batched of [false, true]) {
      const { clock, offload, s, records } = setup(batched ? { onQuietRounds: (q) => batches.push(q) } : {});
      s.sync([target('192.0.2.1'), target('192.0.2.2')]);
      offload.deliver(1, { up: true, reason: 'connected', durationMs: 1 });
      offload.deliver(2, { up: true, reason: 'connected', durationMs: 1 });
      offload.quietRounds(1, 3);
      offload.quietRounds(2, 2);
      const snap = s.snapshot();
      assert.deepEqual(
        snap.map((x) => x.checks),
        [4, 3],
      );
      assert.deepEqual(
        snap.map((x) => x.lastCheckAt),
        [1_000, 1_000],
        'the last (quiet) round as the offload saw it',
      );
      if (batched) {
        assert.equal(records.length, 2, 'only delivered rounds one by one');
        assert.deepEqual(
          batches.map((b) => `${b.identity} passed=${b.passed} failed=${b.failed} ms=${b.durationSumMs}`),
          ['id-192.0.2.1 passed=3 failed=0 ms=6', 'id-192.0.2.2 passed=2 failed=0 ms=3'],
        );
      } else {
        assert.equal(records.length, 7);
        assert.deepEqual(
          records.slice(2).map((r) => r.result.durationMs),
          [1, 2, 3, 1, 2],
        );
      }
      assert.equal(offload.started.get(1)?.spec.keepQuiet, !batched, 'rounds kept one by one only for onCheck');
      offload.quietRounds(1, 1);
      const before = batched ? batches.length : records.length;
      await clock.advance(QUIET_FLUSH_MS);
      if (!batched) {
        // kept rounds are taken within QUIET_FLUSH_MS even when nobody reads the state
        assert.equal(records.length, before + 1);
      } else {
        // counted rounds wait for the next read of the state (a scrape, a status) or the stop: no timer runs for them
        assert.equal(batches.length, before);
        await clock.advance(QUIET_FLUSH_MS * 10);
        assert.equal(batches.length, before);
        offload.quietRounds(2, 1);
        s.snapshot();
        assert.deepEqual(
          batches.slice(before).map((b) => `${b.identity} passed=${b.passed}`),
          ['id-192.0.2.1 passed=1', 'id-192.0.2.2 passed=1'],
        );
        offload.quietRounds(1, 2);
      }
      s.stop();
      if (batched) assert.equal(batches.at(-1)?.passed, 2, 'the stop takes what is left');
    }
  });

  it('a redirect moves the check to JS for good', async () => {
    const { clock, offload, s, transitions, jsRuns } = setup();
    s.sync([target('192.0.2.1', 'negotiate')]);
    offload.deliver(1, 'redirect');
    assert.deepEqual(offload.live(), []);
    await clock.advance(0);
    assert.deepEqual(jsRuns, ['192.0.2.1']);
    assert.equal(transitions[0]?.reason, 'status 200');
    await clock.advance(2_500); // the second round at the check's place in the interval (500), then every interval
    assert.equal(jsRuns.length, 3, 'later rounds run in JS');
    assert.deepEqual(offload.live(), []);
    s.stop();
  });

  it('a monitor file coming with a reload makes the check report every round; going, quiet again', () => {
    let monitored = false;
    const { offload, s } = setup({ everyRound: () => monitored });
    s.sync([target('192.0.2.1')]);
    assert.equal((offload.started.get(1) as Started).spec.reportAll, false);
    monitored = true;
    s.sync([target('192.0.2.1')]);
    assert.deepEqual(offload.live(), [2]);
    assert.equal((offload.started.get(2) as Started).spec.reportAll, true);
    monitored = false;
    s.sync([target('192.0.2.1')]);
    assert.deepEqual(offload.live(), [3]);
    assert.equal((offload.started.get(3) as Started).spec.reportAll, false);
    s.stop();
  });

  it('nothing is handed over while a maintenance directory is in use, and stop ends every offloaded check', () => {
    let inUse = true;
    const { offload, s } = setup({ maintenance: () => false, maintenanceInUse: () => inUse });
    s.sync([target('192.0.2.1')]);
    assert.deepEqual(offload.live(), []);
    inUse = false;
    s.sync([target('192.0.2.2')]);
    assert.deepEqual(offload.live(), [1]);
    s.stop();
    assert.deepEqual(offload.live(), []);
  });
});
