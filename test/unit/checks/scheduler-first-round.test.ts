// First checks at once (issue 19): the first round of every new check starts within about a second, whatever the
// interval and the number of checks, on the JS path and on the offload; a check moved between the offload and JS
// before its first round keeps its place in that first second; only later rounds are spread over the interval.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckTarget } from '../../../src/checks/jobs';
import type { OffloadSpec, OffloadStatus, OffloadedRound, RoundOffload } from '../../../src/checks/native-rounds';
import {
  CheckScheduler,
  FIRST_ROUND_MAX_SPREAD_MS,
  firstRoundSpreadMs,
  type SchedulerOptions,
} from '../../../src/checks/scheduler';
import type { HealthTransition } from '../../../src/model/health';
import { makeJob } from '../../helpers/check-job';
import { FakeClock } from '../../helpers/fake-clock';

/** checkinterval=600, as in the issue. */
const INTERVAL_MS = 600_000;

const target = (i: number, intervalMs = INTERVAL_MS): CheckTarget => {
  const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    identity: `id-${address}`,
    job: makeJob({ type: 'connect', service: 'http', address, port: 80 }),
    connectsBetweenNegotiates: 0,
    failureCount: 1,
    riseCount: 1,
    intervalMs,
    members: [{ virtualId: 'v1', realKey: `${address}:80` }],
  };
};

/** An offload that only records what it is given (its rounds never run unless the test delivers one). */
class RecordingOffload implements RoundOffload {
  readonly started = new Map<
    number,
    { spec: OffloadSpec; deliver: (round: OffloadedRound) => void; stopped: boolean }
  >();
  private next = 1;
  start(spec: OffloadSpec, deliver: (round: OffloadedRound) => void): number {
    const id = this.next++;
    this.started.set(id, { spec, deliver, stopped: false });
    return id;
  }
  stop(id: number): void {
    const s = this.started.get(id);
    if (s) s.stopped = true;
  }
  statuses(): ReadonlyMap<number, OffloadStatus> {
    return new Map();
  }
  takeQuiet(): void {}
  takeQuietCounts(): void {}
  close(): void {}
  live(): OffloadSpec[] {
    return [...this.started.values()].filter((s) => !s.stopped).map((s) => s.spec);
  }
}

/** A seeded uniform generator (mulberry32): the places are random but the test is repeatable. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function setup(extra: Partial<SchedulerOptions> = {}): {
  clock: FakeClock;
  runs: Array<{ address: string; at: number }>;
  transitions: HealthTransition[];
  s: CheckScheduler;
} {
  const clock = new FakeClock();
  const runs: Array<{ address: string; at: number }> = [];
  const transitions: HealthTransition[] = [];
  const s = new CheckScheduler({
    clock,
    random: seeded(19),
    run: async (job) => {
      runs.push({ address: job.address, at: clock.monotonic() });
      return { up: true, reason: 'connected', durationMs: 1 };
    },
    onTransition: (t) => transitions.push(t),
    ...extra,
  });
  return { clock, runs, transitions, s };
}

describe('first check rounds at once', () => {
  it('the first spread is at most about a second, for any number of checks and any interval', () => {
    for (const n of [1, 2, 100, 1_000, 9_000, 10_000, 20_000, 100_000]) {
      for (const interval of [1_000, 60_000, INTERVAL_MS]) {
        const spread = firstRoundSpreadMs(n, interval);
        assert.ok(
          spread <= FIRST_ROUND_MAX_SPREAD_MS && spread <= interval,
          `${n} checks every ${interval} ms: first spread ${spread} ms`,
        );
      }
    }
    assert.equal(FIRST_ROUND_MAX_SPREAD_MS, 1_000);
    assert.equal(firstRoundSpreadMs(2, INTERVAL_MS), 100.2, 'a small batch: within about 100 ms');
  });

  it('two healthy reals every 600 s: both checked and up within the first second; the next rounds at their place in the interval', async () => {
    const { clock, runs, transitions, s } = setup();
    s.sync([target(1), target(2)]);
    await clock.advance(FIRST_ROUND_MAX_SPREAD_MS);
    assert.equal(runs.length, 2, `both checked in the first second: ${JSON.stringify(runs)}`);
    assert.deepEqual(transitions.map((t) => `${t.realKey} ${t.from}>${t.to}`).sort(), [
      '10.0.0.1:80 unknown>up',
      '10.0.0.2:80 unknown>up',
    ]);
    await clock.advance(2 * INTERVAL_MS);
    assert.equal(
      runs.length,
      4,
      "one more round each: the second one interval after the check's place in the interval",
    );
    const second = runs.slice(2).map((r) => r.at);
    assert.ok(
      second.every((at) => at > INTERVAL_MS + FIRST_ROUND_MAX_SPREAD_MS),
      `later rounds at their place in the interval: ${second.join(',')}`,
    );
    s.stop();
  });

  it('a batch of 20,000 new checks every 600 s (engine path): every first round within a second, later rounds over the whole interval', () => {
    const offload = new RecordingOffload();
    const { s } = setup({ offload });
    s.sync(Array.from({ length: 20_000 }, (_, i) => target(i + 1)));
    const specs = offload.live();
    assert.equal(specs.length, 20_000);
    const latest = Math.max(...specs.map((x) => x.firstDelayMs));
    assert.ok(latest < FIRST_ROUND_MAX_SPREAD_MS, `latest first round after ${latest} ms`);
    // The second round at the check's place: spread over the whole interval (ten buckets of a minute, none empty).
    const buckets = new Array<number>(10).fill(0);
    for (const x of specs) buckets[Math.floor((x.firstDelayMs + x.respreadMs) / (INTERVAL_MS / 10))]! += 1;
    assert.ok(
      buckets.every((b) => b > 1_500 && b < 2_500),
      `places over the interval: ${buckets.join(',')}`,
    );
    s.stop();
  });

  it('a reload that adds reals to a running director checks them at once', async () => {
    const { clock, runs, s } = setup();
    s.sync([target(1)]);
    await clock.advance(5_000);
    assert.equal(runs.length, 1);
    s.sync([target(1), target(2), target(3)]);
    await clock.advance(FIRST_ROUND_MAX_SPREAD_MS);
    assert.deepEqual(
      runs
        .slice(1)
        .map((r) => r.address)
        .sort(),
      ['10.0.0.2', '10.0.0.3'],
      'the new reals, and only they',
    );
    assert.ok(runs.slice(1).every((r) => r.at <= 5_000 + FIRST_ROUND_MAX_SPREAD_MS));
    s.stop();
  });

  it('a maintenance directory coming before the first round: the check moves to JS and keeps its place in the first second', async () => {
    const offload = new RecordingOffload();
    let maintenance = false;
    const { clock, runs, s } = setup({ offload, maintenance: () => false, maintenanceInUse: () => maintenance });
    s.sync([target(1)]);
    const spec = offload.live()[0] as OffloadSpec;
    assert.ok(spec.firstDelayMs > 2, `first round after ${spec.firstDelayMs} ms`);
    const wait = Math.floor(spec.firstDelayMs / 2);
    await clock.advance(wait); // before the engine runs it (the recording offload never does)
    maintenance = true;
    s.maintenanceChanged();
    assert.deepEqual(offload.live(), [], 'back in JS');
    await clock.advance(FIRST_ROUND_MAX_SPREAD_MS);
    assert.equal(runs.length, 1, 'the first round was not put off by up to one interval');
    assert.equal(runs[0]?.at, spec.firstDelayMs, 'at the place it had');
    await clock.advance(2 * INTERVAL_MS);
    assert.equal(runs.length, 2);
    assert.equal(
      runs[1]?.at,
      spec.firstDelayMs + spec.respreadMs + INTERVAL_MS,
      'the second round at its place in the interval',
    );
    s.stop();
  });

  it('a monitor file coming with a reload before the first round: handed over again with the same first round and place', async () => {
    const offload = new RecordingOffload();
    let monitored = false;
    const { clock, s } = setup({ offload, everyRound: () => monitored });
    s.sync([target(1)]);
    const first = offload.live()[0] as OffloadSpec;
    assert.ok(first.firstDelayMs > 2, `first round after ${first.firstDelayMs} ms`);
    const wait = Math.floor(first.firstDelayMs / 2);
    await clock.advance(wait);
    monitored = true;
    s.sync([target(1)]);
    const again = offload.live();
    assert.equal(again.length, 1);
    const spec = again[0] as OffloadSpec;
    assert.equal(spec.reportAll, true);
    assert.equal(spec.firstDelayMs, first.firstDelayMs - wait, `first round still due at ${first.firstDelayMs} ms`);
    assert.equal(
      wait + spec.firstDelayMs + spec.respreadMs,
      first.firstDelayMs + first.respreadMs,
      'the same place in the interval',
    );
    s.stop();
  });
});
