import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outputLines } from '../kernel/vm/run-in-vm';

test("a VM run's output is handed on line by line across chunk borders, the unfinished last line at flush", () => {
  const seen: string[] = [];
  const lines = outputLines((line) => seen.push(line));
  lines.onOutput('traffic: a=1\nfig');
  lines.onOutput('ure: b=2\n\n| x |');
  assert.deepEqual(seen, ['traffic: a=1', 'figure: b=2', '']);
  lines.flush();
  lines.flush();
  assert.deepEqual(seen, ['traffic: a=1', 'figure: b=2', '', '| x |']);
});
