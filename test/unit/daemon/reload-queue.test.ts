// ReloadQueue: one run at a time, and every request answered by a run that started after it (runs held by the test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReloadQueue, type ReloadTurn } from '../../../src/daemon/reload-queue';

/** A run the test settles by hand; `started` counts the runs begun. */
function heldRuns(): {
  queue: ReloadQueue<string>;
  started: () => number;
  settle: (n: number, value: string | Error) => void;
} {
  const runs: { resolve: (v: string) => void; reject: (e: Error) => void }[] = [];
  const queue = new ReloadQueue<string>(
    () =>
      new Promise<string>((resolve, reject) => {
        runs.push({ resolve, reject });
      }),
  );
  return {
    queue,
    started: () => runs.length,
    settle: (n, value) => {
      const run = runs[n];
      if (!run) throw new Error(`run ${n} has not started (${runs.length} started)`);
      if (value instanceof Error) run.reject(value);
      else run.resolve(value);
    },
  };
}

/** Lets every pending promise callback run. */
const settleCallbacks = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a request while none runs starts a run at once and gets its outcome', async () => {
  const { queue, started, settle } = heldRuns();
  const turns: ReloadTurn[] = [];
  const first = queue.request((t) => turns.push(t));
  assert.equal(started(), 1, 'started synchronously');
  assert.equal(queue.busy(), true);
  settle(0, 'one');
  assert.equal(await first, 'one');
  assert.deepEqual(turns, ['started']);
  assert.equal(queue.busy(), false);
});

test('requests during a run share one follow-up run, started only once the first has settled', async () => {
  const { queue, started, settle } = heldRuns();
  const turns: ReloadTurn[] = [];
  const first = queue.request((t) => turns.push(t));
  const second = queue.request((t) => turns.push(t));
  const third = queue.request((t) => turns.push(t));
  assert.deepEqual(turns, ['started', 'queued', 'joined']);
  assert.equal(second, third, 'the requests waiting together share one promise');
  await settleCallbacks();
  assert.equal(started(), 1, 'the follow-up waits for the run under way');
  settle(0, 'old file');
  assert.equal(await first, 'old file');
  assert.equal(started(), 2, 'the follow-up started as the first settled');
  settle(1, 'new file');
  assert.equal(await second, 'new file', 'a request made during a run is answered by the run after it');
  assert.equal(started(), 2, 'one follow-up for all of them');
});

test('a request during the follow-up gets a run of its own after it', async () => {
  const { queue, started, settle } = heldRuns();
  void queue.request();
  const second = queue.request();
  settle(0, 'a');
  await settleCallbacks();
  const third = queue.request();
  assert.notEqual(third, second);
  settle(1, 'b');
  assert.equal(await second, 'b');
  await settleCallbacks();
  assert.equal(started(), 3);
  settle(2, 'c');
  assert.equal(await third, 'c');
});

test('a failed run fails only its own requesters, and the follow-up still runs', async () => {
  const { queue, started, settle } = heldRuns();
  const first = queue.request();
  const second = queue.request();
  settle(0, new Error('load crashed'));
  await assert.rejects(first, /load crashed/);
  await settleCallbacks();
  assert.equal(started(), 2);
  settle(1, 'applied');
  assert.equal(await second, 'applied');
});

test('a run that throws synchronously is a rejection, not a throw from request()', async () => {
  const queue = new ReloadQueue<string>(() => {
    throw new Error('no');
  });
  const outcome = queue.request();
  await assert.rejects(outcome, /no/);
  assert.equal(queue.busy(), false);
});

test('idle() waits for the run under way and the follow-up queued behind it', async () => {
  const { queue, settle } = heldRuns();
  void queue.request();
  void queue.request();
  let idle = false;
  const waiting = queue.idle().then(() => {
    idle = true;
  });
  settle(0, 'a');
  await settleCallbacks();
  assert.equal(idle, false, 'the follow-up still runs');
  settle(1, 'b');
  await waiting;
  assert.equal(queue.busy(), false);
  await queue.idle(); // and at once when nothing runs
});
