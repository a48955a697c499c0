// Kernel tier, host side: boots the qemu VM once per guest test file (test/kernel/guest/) and runs that file inside
// it, one file after the other: each file gets a fresh kernel and the whole VM time limit, and a file that wedges its
// VM does not take the others with it. Fails with the reason when the VM cannot be used and CI=true; elsewhere such a
// machine skips this tier. Under CI=true a skip inside a guest file fails it too, unless the CI allow-list
// (test/helpers/ci-skips.ts) covers it: the guest runs the failure-summary reporter, whose skip sections are read here.
// LDIR_GUEST_FILTER (substrings of the file names, comma-separated) runs a subset.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { isCi } from '../helpers/ci-skips';
import { failedTestLines, guestSkipProblem, summaryCount } from './guest-summary';
import { DEFAULT_VM_TIMEOUT_MS, outputLines, runInVm, vmUnavailable } from './vm/run-in-vm';

const REPO = path.resolve(__dirname, '../../..');
const GUEST_DIR = path.join(__dirname, 'guest');
const filters = (process.env.LDIR_GUEST_FILTER ?? '').split(',').filter((f) => f !== '');
const guestFiles = fs
  .readdirSync(GUEST_DIR)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
const timeoutMs = Number(process.env.LDIR_VM_TIMEOUT_MS) || DEFAULT_VM_TIMEOUT_MS;
const inCi = isCi();
const reason = process.env.LDIR_IN_VM === '1' ? 'already inside the VM' : vmUnavailable();

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

for (const file of guestFiles) {
  const relative = path.relative(REPO, path.join(GUEST_DIR, file));
  // The failure summary judges the guest's skips (CI reaches the guest through run-in-vm's job environment).
  const command =
    'node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout' +
    ` --test-reporter=./dist/test/tools/failure-summary-reporter.js --test-reporter-destination=stdout ${relative}`;
  test(`guest ${file} passes inside the kernel-tier VM`, {
    skip: reason && !inCi ? reason : false,
    timeout: timeoutMs + 60_000,
  }, async (t) => {
    if (reason) assert.fail(`the kernel-tier VM cannot run here (CI=true, so this is a failure): ${reason}`);
    const started = Date.now();
    // Prefixed so the guest's own TAP/spec lines are not taken for this file's results.
    const relay = outputLines((line) => process.stdout.write(`vm| ${line}\n`));
    const result = await runInVm(command, { timeoutMs, onOutput: relay.onOutput });
    relay.flush();
    t.diagnostic(
      `${file}: VM boot ${(result.bootMs / 1000).toFixed(1)} s, total ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    const excerpt = `${failedTestLines(result.output)}\n--- guest output (last 80 lines) ---\n${lastLines(result.output, 80)}`;
    const skipProblem = guestSkipProblem(result.output, inCi);
    assert.equal(skipProblem, undefined, `CI=true: ${skipProblem}${excerpt}`);
    assert.equal(result.code, 0, `guest \`${command}\` exited ${result.code}${excerpt}`);
    const pass = summaryCount(result.output, 'pass');
    assert.ok(pass !== undefined && pass > 0, `the guest ran no passing test${excerpt}`);
    assert.equal(summaryCount(result.output, 'fail'), 0, `guest tests failed${excerpt}`);
  });
}

test('the kernel tier has guest test files', () => {
  assert.ok(guestFiles.length > 0 || !!process.env.LDIR_GUEST_FILTER, `no *.test.js in ${GUEST_DIR}`);
});
