// The benchmarks' shared rule (bench/targets.ts): arguments, target lines, and the exit status of a run.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BenchExit,
  BenchTargets,
  BenchUsageError,
  benchUsage,
  parseBenchArgs,
  runBench,
  type BenchSpec,
} from '../../../bench/targets';

const SPEC: BenchSpec = {
  command: 'npm run bench:demo',
  summary: 'a demonstration',
  flags: { '--vm': 'also in the VM' },
  env: { BENCH_REALS: 'reals (10)' },
};

/** Runs `body` under {@link runBench} with `argv`, collecting what it prints. */
async function run(
  argv: string[],
  body: (t: BenchTargets) => Promise<void> | void,
): Promise<{ code: number; out: string[]; err: string[]; ran: boolean }> {
  const out: string[] = [];
  const err: string[] = [];
  let ran = false;
  const code = await runBench(
    SPEC,
    async ({ targets }) => {
      ran = true;
      await body(targets);
    },
    argv,
    { out: (l) => out.push(l), err: (l) => err.push(l) },
  );
  return { code, out, err, ran };
}

describe('arguments', () => {
  test('--no-targets turns enforcement off; declared flags are returned; anything else is refused', () => {
    assert.deepEqual(parseBenchArgs([], SPEC), { enforce: true, flags: new Set(), help: false });
    assert.deepEqual(parseBenchArgs(['--no-targets', '--vm'], SPEC), {
      enforce: false,
      flags: new Set(['--vm']),
      help: false,
    });
    assert.equal(parseBenchArgs(['-h'], SPEC).help, true);
    assert.throws(
      () => parseBenchArgs(['--vm', '--fast'], SPEC),
      (e: unknown) => e instanceof BenchUsageError && /"--fast"/.test(e.message),
    );
    assert.throws(
      () => parseBenchArgs(['--vm'], { command: 'x', summary: 'y' }),
      BenchUsageError,
      'a flag of another benchmark',
    );
  });

  test('the usage names every flag, the environment and the exit statuses', () => {
    const text = benchUsage(SPEC);
    for (const s of [
      'npm run bench:demo',
      '--vm',
      '--no-targets',
      '--help',
      'BENCH_REALS',
      '1 a target missed',
      '2 wrong arguments',
      '3 the run failed',
    ]) {
      assert.ok(text.includes(s), `${s} missing from:\n${text}`);
    }
  });
});

describe('targets', () => {
  test('each target is judged and printed as it is recorded; a value that was not measured misses', () => {
    const lines: string[] = [];
    const t = new BenchTargets((l) => lines.push(l));
    assert.equal(t.atMost('detection', 1050, 1050, 'ms'), true);
    assert.equal(t.atMost('detection 2', 1050.5, 1050, 'ms'), false);
    assert.equal(t.atLeast('checks per second', 9_964.2, 9_500, 'checks/s', 0), true);
    assert.equal(t.atLeast('speed-up', 0.9, 1, '×', 2), false);
    assert.equal(t.atMost('unmeasured', NaN, 1, 'ms'), false);
    assert.equal(t.atLeast('unmeasured rate', NaN, 1, ''), false);
    assert.deepEqual(lines, [
      'target detection: 1,050 ms (<= 1,050 ms) ok',
      'target detection 2: 1,050.5 ms (<= 1,050 ms) MISSED',
      'target checks per second: 9,964 checks/s (>= 9,500 checks/s) ok',
      'target speed-up: 0.9 × (>= 1 ×) MISSED',
      'target unmeasured: NaN ms (<= 1 ms) MISSED',
      'target unmeasured rate: NaN (>= 1) MISSED',
    ]);
    assert.deepEqual(
      t.missed().map((r) => r.name),
      ['detection 2', 'speed-up', 'unmeasured', 'unmeasured rate'],
    );
    assert.equal(t.all().length, 6);
  });

  test('finish: exit 1 when a target was missed, 0 when not enforced or all met, with a summary line', () => {
    const lines: string[] = [];
    const t = new BenchTargets((l) => lines.push(l));
    t.atMost('a', 1, 2, 'ms');
    assert.equal(t.finish(true), BenchExit.ok);
    t.atMost('b', 3, 2, 'ms');
    assert.equal(t.finish(true), BenchExit.missed);
    assert.equal(t.finish(false), BenchExit.ok);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('targets:')),
      [
        'targets: 1 met, 0 missed',
        'targets: 1 met, 1 missed (b)',
        'targets: 1 met, 1 missed (b); not enforced (--no-targets)',
      ],
    );
  });
});

describe('runBench: the exit status of a run', () => {
  test('every target met: 0', async () => {
    const r = await run([], (t) => {
      t.atMost('x', 1, 2, 'ms');
    });
    assert.equal(r.code, BenchExit.ok);
    assert.deepEqual(r.out, ['target x: 1 ms (<= 2 ms) ok', 'targets: 1 met, 0 missed']);
  });

  test('a target missed: 1; with --no-targets the same lines and 0', async () => {
    const body = (t: BenchTargets): void => {
      t.atMost('x', 1, 2, 'ms');
      t.atLeast('rate', 5, 10, '/s');
    };
    const enforced = await run([], body);
    assert.equal(enforced.code, BenchExit.missed);
    const exploring = await run(['--no-targets'], body);
    assert.equal(exploring.code, BenchExit.ok);
    assert.deepEqual(exploring.out.slice(0, 2), enforced.out.slice(0, 2));
    assert.match(exploring.out[2] ?? '', /not enforced/);
  });

  test('a run that fails: 3 with the error, also with --no-targets', async () => {
    for (const argv of [[], ['--no-targets']]) {
      const r = await run(argv, () => {
        throw new Error('the VM cannot run here');
      });
      assert.equal(r.code, BenchExit.failed);
      assert.match(r.err.join('\n'), /npm run bench:demo failed: Error: the VM cannot run here/);
    }
  });

  test('a wrong argument: 2 with the usage, and nothing runs; --help: the usage, 0, and nothing runs', async () => {
    const bad = await run(['--vms'], () => undefined);
    assert.deepEqual([bad.code, bad.ran], [BenchExit.usage, false]);
    assert.match(bad.err.join('\n'), /unknown argument "--vms"[\s\S]*usage: npm run bench:demo/);
    const setting = await run([], () => {
      throw new BenchUsageError('BENCH_RUN_MS: at least 3000, not 10');
    });
    assert.equal(setting.code, BenchExit.usage, 'a bad BENCH_* setting found by the body is a usage error too');
    assert.match(setting.err.join('\n'), /BENCH_RUN_MS: at least 3000[\s\S]*usage:/);
    const help = await run(['--help'], () => undefined);
    assert.deepEqual([help.code, help.ran], [BenchExit.ok, false]);
    assert.match(help.out.join('\n'), /^usage: npm run bench:demo/);
  });
});
