// The kernel tier's host test judges a guest file's skips from its output: real `node --test` runs with the spec and
// failure-summary reporters, as the guest runs them, read back by guestSkipProblem.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { guestSkipProblem, summaryCount } from '../kernel/guest-summary';

const GUEST_ON_HOST = 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

/** The output of a guest-style run (spec + failure summary on stdout) of `body` with `env`. */
function guestOutput(body: string, env: NodeJS.ProcessEnv): string {
  const dir = mkdtempSync(join(tmpdir(), 'ldir-guest-summary-'));
  try {
    const file = join(dir, 'guest.test.js');
    writeFileSync(file, `const { describe, test } = require('node:test');\n${body}\n`);
    const reporter = join(__dirname, '..', 'tools', 'failure-summary-reporter.js');
    const base: NodeJS.ProcessEnv = { ...process.env };
    delete base['NODE_TEST_CONTEXT'];
    const run = spawnSync(
      process.execPath,
      [
        '--test',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        `--test-reporter=${reporter}`,
        '--test-reporter-destination=stdout',
        file,
      ],
      { encoding: 'utf8', timeout: 60_000, env: { ...base, ...env } },
    );
    return run.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const IN_VM_CI = { CI: 'true', LDIR_IN_VM: '1' };

test('a guest run without skips is fine', () => {
  const out = guestOutput("test('a', () => {});", IN_VM_CI);
  assert.equal(summaryCount(out, 'pass'), 1);
  assert.equal(guestSkipProblem(out, true), undefined);
});

test('a skipped test inside the guest is a problem under CI, named; not outside CI', () => {
  const out = guestOutput(
    "test('a', () => {}); test('sync daemon', (t) => t.skip('cannot start a backup daemon on lo'));",
    IN_VM_CI,
  );
  assert.match(
    guestSkipProblem(out, true) ?? '',
    /^1 skip\(s\) inside the guest that CI does not allow .*sync daemon -- cannot start a backup daemon on lo/,
  );
  assert.equal(guestSkipProblem(out, false), undefined);
});

test('a skipped suite counts although the spec totals do not count suites', () => {
  const out = guestOutput(
    `test('a', () => {}); describe('suite', { skip: 'no IPVS in this kernel' }, () => { test('b', () => {}); });`,
    IN_VM_CI,
  );
  assert.equal(summaryCount(out, 'skipped'), 0, 'the spec totals miss the suite');
  assert.match(guestSkipProblem(out, true) ?? '', /suite -- no IPVS in this kernel/);
});

test('the guest-on-host allowance does not hold inside the VM', () => {
  const out = guestOutput(
    `describe('guest', { skip: ${JSON.stringify(GUEST_ON_HOST)} }, () => {}); test('a', () => {});`,
    IN_VM_CI,
  );
  assert.match(guestSkipProblem(out, true) ?? '', /guest -- runs inside the kernel-tier VM only/);
});

test('a guest that ran without CI in its environment: its listed skips count as refused', () => {
  const out = guestOutput("test('a', (t) => t.skip('whatever'));", { CI: '', LDIR_IN_VM: '1' });
  assert.match(guestSkipProblem(out, true) ?? '', /^1 skip\(s\) .*whatever/);
});

test('skipped tests in the spec totals without a failure summary are a problem (reporter missing)', () => {
  const out = 'ℹ tests 2\nℹ pass 1\nℹ fail 0\nℹ skipped 1\nℹ todo 0\n';
  assert.match(
    guestSkipProblem(out, true) ?? '',
    /reports 1 skipped\/todo test\(s\) but its failure summary lists 0 allowed/,
  );
});
