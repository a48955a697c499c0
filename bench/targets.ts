// One rule for every benchmark's command line, targets and exit status (bench/*.ts, the `bench*` scripts):
//   - each target is printed as `target NAME: VALUE UNIT (OP BOUND UNIT) ok|MISSED`, then one `targets: ...` summary;
//   - exit 0 when every target was met, 1 when one was missed, 2 for a wrong argument, 3 when the run failed before
//     its figures were complete (an error: nothing to compare);
//   - `--no-targets` (for exploring: other sizes, another machine) prints the same figures and target lines but exits
//     0 when a target is missed; a failed run still exits 3;
//   - `--help` prints the benchmark's usage; any other argument not declared by the benchmark is refused.
// A value that is not a finite number (a figure that could not be measured) misses its target.

/** Exit status of a benchmark. */
export const BenchExit = { ok: 0, missed: 1, usage: 2, failed: 3 } as const;

/** The flag that reports targets without failing on them. */
export const NO_TARGETS_FLAG = '--no-targets';

/** What a benchmark declares about its command line. */
export interface BenchSpec {
  /** The npm script (or command) that runs it, for the usage text: `npm run bench:checks`. */
  readonly command: string;
  /** One line: what it measures. */
  readonly summary: string;
  /** Its own flags (besides `--no-targets` and `--help`), each with one line of help. */
  readonly flags?: Readonly<Record<string, string>>;
  /** Environment variables it reads, each with one line of help. */
  readonly env?: Readonly<Record<string, string>>;
}

/** A parsed command line. */
export interface BenchArgs {
  /** False with `--no-targets`: missed targets are printed but do not fail the run. */
  readonly enforce: boolean;
  /** The benchmark's own flags that were given. */
  readonly flags: ReadonlySet<string>;
  readonly help: boolean;
}

/** A command line (or a BENCH_* setting) the benchmark does not understand: exit 2 with the usage. */
export class BenchUsageError extends Error {}

/** Parses `argv` (without node and the script) against `spec`; throws {@link BenchUsageError} on anything else. */
export function parseBenchArgs(argv: readonly string[], spec: BenchSpec): BenchArgs {
  const own = new Set(Object.keys(spec.flags ?? {}));
  const flags = new Set<string>();
  let enforce = true;
  let help = false;
  for (const arg of argv) {
    if (arg === NO_TARGETS_FLAG) enforce = false;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (own.has(arg)) flags.add(arg);
    else throw new BenchUsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  return { enforce, flags, help };
}

/** The usage text of a benchmark. */
export function benchUsage(spec: BenchSpec): string {
  const flags: Record<string, string> = {
    ...spec.flags,
    [NO_TARGETS_FLAG]: 'print the figures and targets, exit 0 when a target is missed (for exploring)',
    '--help': 'this text',
  };
  const width = Math.max(...Object.keys(flags).map((f) => f.length));
  const lines = [`usage: ${spec.command} [-- FLAG...]`, spec.summary, '', 'flags:'];
  for (const [flag, text] of Object.entries(flags)) lines.push(`  ${flag.padEnd(width)}  ${text}`);
  const env = Object.entries(spec.env ?? {});
  if (env.length > 0) {
    const w = Math.max(...env.map(([k]) => k.length));
    lines.push('', 'environment:', ...env.map(([k, text]) => `  ${k.padEnd(w)}  ${text}`));
  }
  lines.push(
    '',
    'exit status: 0 every target met (or --no-targets), 1 a target missed, 2 wrong arguments, 3 the run failed',
  );
  return lines.join('\n');
}

/** One target's outcome. */
export interface TargetResult {
  readonly name: string;
  readonly value: number;
  readonly bound: number;
  /** `<=`: the value must not exceed the bound; `>=`: it must reach it. */
  readonly op: '<=' | '>=';
  readonly unit: string;
  readonly met: boolean;
}

/** A number as the target lines print it: at most `digits` decimals, thousands grouped, `NaN` when not measured. */
function figure(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, useGrouping: true }) : 'NaN';
}

/** The targets of one run: each is judged and printed as it is recorded. */
export class BenchTargets {
  private readonly results: TargetResult[] = [];

  constructor(private readonly print: (line: string) => void = (line) => console.log(line)) {}

  /** `value` must be at most `bound` (a time, a cost). Returns whether it was. */
  atMost(name: string, value: number, bound: number, unit: string, digits = 1): boolean {
    return this.record({ name, value, bound, op: '<=', unit, met: Number.isFinite(value) && value <= bound }, digits);
  }

  /** `value` must be at least `bound` (a rate, a ratio of speeds). Returns whether it was. */
  atLeast(name: string, value: number, bound: number, unit: string, digits = 1): boolean {
    return this.record({ name, value, bound, op: '>=', unit, met: Number.isFinite(value) && value >= bound }, digits);
  }

  /** Every target recorded so far, in order. */
  all(): readonly TargetResult[] {
    return this.results;
  }

  /** The targets missed so far. */
  missed(): readonly TargetResult[] {
    return this.results.filter((r) => !r.met);
  }

  /** Prints the `targets:` summary; returns the exit status (`missed` only when `enforce` and one was missed). */
  finish(enforce: boolean): number {
    const missed = this.missed();
    const met = this.results.length - missed.length;
    const names = missed.length > 0 ? ` (${missed.map((r) => r.name).join(', ')})` : '';
    const how = missed.length === 0 ? '' : enforce ? '' : `; not enforced (${NO_TARGETS_FLAG})`;
    this.print(`targets: ${met} met, ${missed.length} missed${names}${how}`);
    return missed.length > 0 && enforce ? BenchExit.missed : BenchExit.ok;
  }

  private record(r: TargetResult, digits: number): boolean {
    this.results.push(r);
    const unit = r.unit === '' ? '' : ` ${r.unit}`;
    this.print(
      `target ${r.name}: ${figure(r.value, digits)}${unit} (${r.op} ${figure(r.bound, digits)}${unit}) ${r.met ? 'ok' : 'MISSED'}`,
    );
    return r.met;
  }
}

/** What {@link runBench} hands the benchmark's body. */
export interface BenchContext {
  readonly targets: BenchTargets;
  readonly args: BenchArgs;
}

/**
 * Runs a benchmark under the shared rule: parses the command line (`--help`: usage, exit 0; a wrong argument: usage,
 * exit 2), runs `body`, then prints the targets' summary and resolves with the exit status (a body that throws a
 * {@link BenchUsageError}, for a bad setting: exit 2; any other error: exit 3). Never exits itself: {@link benchMain}
 * does.
 */
export async function runBench(
  spec: BenchSpec,
  body: (ctx: BenchContext) => Promise<void>,
  argv: readonly string[] = process.argv.slice(2),
  io: { out: (line: string) => void; err: (line: string) => void } = {
    out: (l) => console.log(l),
    err: (l) => console.error(l),
  },
): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv, spec);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    io.err(`${spec.command}: ${err.message}\n${benchUsage(spec)}`);
    return BenchExit.usage;
  }
  if (args.help) {
    io.out(benchUsage(spec));
    return BenchExit.ok;
  }
  const targets = new BenchTargets(io.out);
  let code: number;
  try {
    await body({ targets, args });
    code = targets.finish(args.enforce);
  } catch (err) {
    if (err instanceof BenchUsageError) {
      io.err(`${spec.command}: ${err.message}\n${benchUsage(spec)}`);
      return BenchExit.usage;
    }
    io.err(`${spec.command} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = BenchExit.failed;
  }
  return code;
}

/**
 * The entry point of a benchmark file: {@link runBench} with the process's arguments; the status becomes
 * `process.exitCode` and the process ends by itself once the body has closed what it opened.
 */
export function benchMain(spec: BenchSpec, body: (ctx: BenchContext) => Promise<void>): void {
  void runBench(spec, body).then((code) => {
    process.exitCode = code;
  });
}
