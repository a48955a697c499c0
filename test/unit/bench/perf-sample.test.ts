import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePerfReport } from '../../../bench/perf-sample';

test('parsePerfReport reads thread, kernel and user symbols and skips the header and blank lines', () => {
  const text = [
    "# Samples: 498  of event 'cpu-clock'",
    '# Overhead  Command      Symbol',
    '# ........  ...........  ......',
    '#',
    '    46.04%  swapper      [k] native_safe_halt',
    '     2.63%  ldir-probe   [k] handle_softirqs',
    '     0.40%  sleep        [.] __strcmp_avx2',
    '',
  ].join('\n');
  assert.deepEqual(parsePerfReport(text), [
    { percent: 46.04, thread: 'swapper', symbol: 'native_safe_halt' },
    { percent: 2.63, thread: 'ldir-probe', symbol: 'handle_softirqs' },
    { percent: 0.4, thread: 'sleep', symbol: '__strcmp_avx2' },
  ]);
});

test('parsePerfReport gives nothing for a report without samples', () => {
  assert.deepEqual(parsePerfReport('# Samples: 0\n#\n'), []);
});
