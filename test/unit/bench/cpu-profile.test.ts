import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { summarizeProfile, type CpuProfile } from '../../../bench/cpu-profile';

const frame = (id: number, functionName: string, url = '', lineNumber = 0) => ({
  id,
  callFrame: { functionName, url, lineNumber },
});

// Samples every 1,000 µs from startTime 10,000: idle, gc, pass (x2), flush, program, idle; each stands for the time to the next.
const profile: CpuProfile = {
  nodes: [
    frame(1, '(root)'),
    frame(2, '(idle)'),
    frame(3, '(garbage collector)'),
    frame(4, '(program)'),
    frame(5, 'pass', 'file:///work/main/dist/src/engine/engine.js', 366),
    frame(6, 'flushQuiet', 'file:///work/main/dist/src/checks/scheduler.js', 265),
    frame(7, 'inc', 'file:///work/main/node_modules/prom-client/lib/counter.js', 10),
  ],
  startTime: 10_000,
  endTime: 18_000,
  samples: [2, 3, 5, 5, 6, 7, 4, 2],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

test('summarizeProfile sums busy, GC and program time and ranks files and functions by self time', () => {
  const s = summarizeProfile(profile);
  assert.equal(s.busyMs, 6);
  assert.equal(s.gcMs, 1);
  assert.equal(s.programMs, 1);
  assert.deepEqual(s.top[0], { frame: 'pass src/engine/engine.js:367', ms: 2 });
  assert.deepEqual(s.byFile.map((e) => e.frame).sort(), [
    '(garbage collector)',
    '(program)',
    'node_modules/prom-client',
    'src/checks/scheduler.js',
    'src/engine/engine.js',
  ]);
});

test('summarizeProfile keeps only the samples inside the window', () => {
  // Sample times: 11,000 (idle) 12,000 (gc) 13,000 (pass) 14,000 (pass) 15,000 (flush) ...
  const s = summarizeProfile(profile, 13_000, 15_000);
  assert.equal(s.busyMs, 2);
  assert.equal(s.gcMs, 0);
  assert.deepEqual(s.top, [{ frame: 'pass src/engine/engine.js:367', ms: 2 }]);
  assert.equal(s.windowMs, 2);
  assert.equal(summarizeProfile(profile, 50_000, 60_000).windowMs, 0);
});
