// Kernel tier, host side: boots the qemu VM once per guest test file (test/kernel/guest/) and runs that file inside
// it, one file after the other: each file gets a fresh kernel and the whole VM time limit, and a file that wedges its
// VM does not take the others with it. Fails with the reason when the VM cannot be used and CI=true; elsewhere such a
// machine skips this tier. LDIR_GUEST_FILTER (substrings of the file names, comma-separated) runs a subset.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_VM_TIMEOUT_MS, runInVm, vmUnavailable } from './vm/run-in-vm';

const REPO = path.resolve(__dirname, '../../..');
const GUEST_DIR = path.join(__dirname, 'guest');
const filters = (process.env.LDIR_GUEST_FILTER ?? '').split(',').filter((f) => f !== '');
const guestFiles = fs.readdirSync(GUEST_DIR).filter((f) => f.endsWith('.test.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
const timeoutMs = Number(process.env.LDIR_VM_TIMEOUT_MS) || DEFAULT_VM_TIMEOUT_MS;
const inCi = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const reason = process.env.LDIR_IN_VM === '1' ? 'already inside the VM' : vmUnavailable();

/** Reads a count from the node test runner's summary (spec: "ℹ pass 3", tap: "# pass 3"). */
function summaryCount(output: string, name: string): number | undefined {
  const all = [...output.matchAll(new RegExp(`^(?:ℹ|#) ${name} (\\d+)\\s*$`, 'gm'))];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : undefined;
}

/** The spec reporter's failed test lines ("✖ name (12ms)"), so an assertion can start with what failed. */
function failedTestLines(output: string): string {
  const names = [...new Set(output.split('\n').filter((line) => /^\s*✖ /.test(line) && !/✖ failing tests:\s*$/.test(line)).map((line) => line.trim()))];
  return names.length === 0 ? '' : ` [guest failures: ${names.slice(0, 8).join(' | ')}]`;
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

for (const file of guestFiles) {
  const relative = path.relative(REPO, path.join(GUEST_DIR, file));
  const command = `node --test --test-concurrency=1 --test-reporter=spec ${relative}`;
  test(`guest ${file} passes inside the kernel-tier VM`, { skip: reason && !inCi ? reason : false, timeout: timeoutMs + 60_000 }, async (t) => {
    if (reason) assert.fail(`the kernel-tier VM cannot run here (CI=true, so this is a failure): ${reason}`);
    const started = Date.now();
    let pending = '';
    const relay = (chunk: string): void => {
      // Prefixed so the guest's own TAP/spec lines are not taken for this file's results.
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(`vm| ${line}\n`);
    };
    const result = await runInVm(command, { timeoutMs, onOutput: relay });
    if (pending) process.stdout.write(`vm| ${pending}\n`);
    t.diagnostic(`${file}: VM boot ${(result.bootMs / 1000).toFixed(1)} s, total ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const excerpt = `${failedTestLines(result.output)}\n--- guest output (last 80 lines) ---\n${lastLines(result.output, 80)}`;
    assert.equal(result.code, 0, `guest \`${command}\` exited ${result.code}${excerpt}`);
    const pass = summaryCount(result.output, 'pass');
    assert.ok(pass !== undefined && pass > 0, `the guest ran no passing test${excerpt}`);
    assert.equal(summaryCount(result.output, 'fail'), 0, `guest tests failed${excerpt}`);
  });
}

test('the kernel tier has guest test files', () => {
  assert.ok(guestFiles.length > 0 || !!process.env.LDIR_GUEST_FILTER, `no *.test.js in ${GUEST_DIR}`);
});
