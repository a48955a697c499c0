import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailureCollector, errorSummary } from '../tools/failure-summary';

test("a failed test is listed with its file, name and the runner's inner error; a parent that only failed through it is not", () => {
  const collector = new FailureCollector();
  const inner = new Error('expected 3 reals, saw 2\nmore detail');
  const wrapped = Object.assign(new Error('test failed', { cause: inner }), {
    code: 'ERR_TEST_FAILURE',
    failureType: 'testCodeFailure',
  });
  const parent = Object.assign(new Error('1 subtest failed'), {
    code: 'ERR_TEST_FAILURE',
    failureType: 'subtestsFailed',
  });
  collector.add({
    type: 'test:fail',
    data: { name: 'reals come back', file: '/x/a.test.js', details: { error: wrapped } },
  });
  collector.add({ type: 'test:fail', data: { name: 'suite', file: '/x/a.test.js', details: { error: parent } } });
  collector.add({ type: 'test:pass', data: { name: 'fine', file: '/x/a.test.js' } });
  collector.add({ type: 'test:pass', data: { name: 'needs docker', file: '/x/b.test.js', skip: 'no Docker engine' } });
  assert.equal(collector.failures.length, 1);
  assert.equal(
    collector.render(),
    [
      '# skipped tests (1):',
      '#   /x/b.test.js :: needs docker -- no Docker engine',
      '# FAILED tests (1):',
      '#   /x/a.test.js :: reals come back -- Error: expected 3 reals, saw 2',
      '#       more detail',
      '',
    ].join('\n'),
  );
});

test('nothing failed or skipped: the summary prints nothing', () => {
  const collector = new FailureCollector();
  collector.add({ type: 'test:pass', data: { name: 'fine', file: '/x/a.test.js' } });
  assert.equal(collector.render(), '');
});

test('long errors are cut to a few lines', () => {
  const text = errorSummary(new Error(Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n')));
  assert.equal(text.split('\n').length, 6);
});

/** The parent runner marks its children; a nested `node --test` would otherwise refuse to run files. */
function withoutTestContext(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  return env;
}

test('run as a node --test reporter, the summary comes after the TAP totals and names the failing test', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ldir-summary-'));
  try {
    const file = join(dir, 'sample.test.js');
    writeFileSync(
      file,
      [
        "const { test } = require('node:test');",
        "const assert = require('node:assert/strict');",
        "test('passes', () => {});",
        "test('breaks on purpose', () => { assert.equal(1, 2); });",
        "test('not here', { skip: 'no engine' }, () => {});",
      ].join('\n'),
    );
    const reporter = join(__dirname, '..', 'tools', 'failure-summary-reporter.js');
    const run = spawnSync(
      process.execPath,
      [
        '--test',
        '--test-reporter=tap',
        '--test-reporter-destination=stdout',
        `--test-reporter=${reporter}`,
        '--test-reporter-destination=stdout',
        file,
      ],
      { encoding: 'utf8', timeout: 60_000, env: { ...withoutTestContext(), CI: 'false' } },
    );
    assert.equal(run.status, 1, run.stderr);
    const out = run.stdout;
    const totals = out.lastIndexOf('# fail 1');
    const summary = out.indexOf('# skipped tests (1):');
    const failed = out.indexOf('# FAILED tests (1):');
    assert.ok(totals >= 0 && summary > totals && failed > summary, `summary after the totals, failures last:\n${out}`);
    assert.match(out.slice(failed), /sample\.test\.js :: breaks on purpose -- AssertionError/);
    assert.match(out.slice(summary), /# skipped tests \(1\):\n# {3}.*sample\.test\.js :: not here -- no engine/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const GUEST_ON_HOST = 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

test('under CI=true an allowed skip is printed with its allowance and reason, any other under its own heading', () => {
  const collector = new FailureCollector({ ci: true, place: 'host' });
  collector.add({ type: 'test:pass', data: { name: 'guest suite', file: '/x/guest.test.js', skip: GUEST_ON_HOST } });
  collector.add({
    type: 'test:pass',
    data: { name: 'needs python3', file: '/x/c.test.js', skip: 'python3 unavailable' },
  });
  collector.add({ type: 'test:pass', data: { name: 'bare skip', file: '/x/d.test.js', skip: true } });
  assert.deepEqual(
    collector.refusedSkips().map((s) => s.name),
    ['needs python3', 'bare skip'],
  );
  const text = collector.render();
  assert.match(
    text,
    /^# skipped tests, allowed in CI \(1\):\n# {3}\/x\/guest\.test\.js :: guest suite -- runs inside .* \[allowed in CI: guest-file-on-host: a kernel-tier guest file/m,
  );
  assert.match(
    text,
    /^# skipped tests that CI does not allow \(allow-list: test\/helpers\/ci-skips\.ts; the run fails\) \(2\):\n# {3}\/x\/c\.test\.js :: needs python3 -- python3 unavailable\n# {3}\/x\/d\.test\.js :: bare skip -- skipped$/m,
  );
});

test('under CI=true the guest-on-host allowance does not hold inside the VM', () => {
  const collector = new FailureCollector({ ci: true, place: 'vm' });
  collector.add({ type: 'test:pass', data: { name: 'guest suite', file: '/x/guest.test.js', skip: GUEST_ON_HOST } });
  assert.equal(collector.refusedSkips().length, 1);
});

test('outside CI nothing is refused and skips keep their one heading', () => {
  const collector = new FailureCollector({ ci: false });
  collector.add({
    type: 'test:pass',
    data: { name: 'needs python3', file: '/x/c.test.js', skip: 'python3 unavailable' },
  });
  assert.deepEqual(collector.refusedSkips(), []);
  assert.equal(collector.render(), '# skipped tests (1):\n#   /x/c.test.js :: needs python3 -- python3 unavailable\n');
});

/** Runs `node --test` on one file whose only test skips with `reason`, with the summary reporter and `env`. */
function runSkipping(reason: string, env: NodeJS.ProcessEnv): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ldir-summary-'));
  try {
    const file = join(dir, 'skipping.test.js');
    writeFileSync(file, `require('node:test').test('needs a thing', { skip: ${JSON.stringify(reason)} }, () => {});\n`);
    const reporter = join(__dirname, '..', 'tools', 'failure-summary-reporter.js');
    const run = spawnSync(
      process.execPath,
      ['--test', `--test-reporter=${reporter}`, '--test-reporter-destination=stdout', file],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...withoutTestContext(), ...env },
      },
    );
    return { status: run.status, out: run.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('under CI=true a run whose only problem is a skip CI does not allow exits 1; an allowed skip or no CI exits 0', () => {
  const refused = runSkipping('no engine', { CI: 'true', LDIR_IN_VM: '' });
  assert.equal(refused.status, 1, refused.out);
  assert.match(
    refused.out,
    /skipped tests that CI does not allow .*\(1\):\n# {3}.*skipping\.test\.js :: needs a thing -- no engine/,
  );
  const allowed = runSkipping(GUEST_ON_HOST, { CI: 'true', LDIR_IN_VM: '' });
  assert.equal(allowed.status, 0, allowed.out);
  assert.match(allowed.out, /skipped tests, allowed in CI \(1\):/);
  const local = runSkipping('no engine', { CI: 'false', LDIR_IN_VM: '' });
  assert.equal(local.status, 0, local.out);
});
