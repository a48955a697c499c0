// SyncLoop.liveness() on a fake clock: what the checker watchdog reads of the engine's passes (when they became
// due, when the last one finished, held while paused for a hand-over or stopped), and a pass that never ends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SyncReport } from '../../../src/engine/engine-types';
import { SyncLoop } from '../../../src/engine/sync-loop';
import { FakeClock } from '../../helpers/fake-clock';

/** A loop whose passes take `passMs` of fake time, or never end while `wedged` is set. */
function loop(passMs = 100) {
  const clock = new FakeClock();
  const state = { wedged: false, passes: 0 };
  const l = new SyncLoop({
    clock,
    coalesceMs: 10,
    resyncIntervalMs: 1_000,
    drainPollMs: 500,
    draining: () => false,
    onError: (reason) => ({ ok: false, reason, ops: [], failed: 0, drift: 0, durationMs: 0 }),
    pass: (reason) => {
      state.passes++;
      if (state.wedged) return new Promise<SyncReport>(() => undefined);
      return new Promise((resolve) =>
        clock.setTimeout(() => resolve({ ok: true, reason, ops: [], failed: 0, drift: 0, durationMs: passMs }), passMs),
      );
    },
  });
  return { clock, l, state };
}

describe('SyncLoop.liveness', () => {
  it('no pass due before the first one is asked for; then the end of every pass, resyncs included', async () => {
    const { clock, l } = loop();
    assert.deepEqual(l.liveness(), { resyncIntervalMs: 1_000, held: false });
    await clock.advance(500);
    void l.run('config');
    assert.deepEqual(l.liveness(), { resyncIntervalMs: 1_000, held: false, dueSince: 500 });
    await clock.advance(100);
    assert.deepEqual(l.liveness(), { resyncIntervalMs: 1_000, held: false, dueSince: 500, lastPassAt: 600 });
    await clock.advance(1_100); // the resync 1 s after the pass ended, 100 ms long
    assert.equal(l.liveness().lastPassAt, 1_700);
    await clock.advance(2_200);
    assert.equal(l.liveness().lastPassAt, 3_900);
    await l.stop();
  });

  it('a pass that never ends leaves the last pass where it was (what the watchdog calls a stall)', async () => {
    const { clock, l, state } = loop();
    void l.run('config');
    await clock.advance(150);
    state.wedged = true;
    await clock.advance(10_000);
    assert.equal(state.passes, 2, 'the resync started and never finished; nothing else ran');
    assert.deepEqual(l.liveness(), { resyncIntervalMs: 1_000, held: false, dueSince: 0, lastPassAt: 100 });
  });

  it('held while paused for a hand-over; passes are due again from the resume; held once stopped', async () => {
    const { clock, l } = loop();
    void l.run('config');
    await clock.advance(200);
    await l.pause();
    assert.equal(l.liveness().held, true);
    await clock.advance(60_000);
    assert.equal(l.liveness().held, true);
    void l.resume();
    assert.deepEqual(l.liveness(), { resyncIntervalMs: 1_000, held: false, dueSince: 60_200, lastPassAt: 100 });
    await clock.advance(100);
    assert.equal(l.liveness().lastPassAt, 60_300);
    await l.stop();
    assert.equal(l.liveness().held, true);
  });
});
