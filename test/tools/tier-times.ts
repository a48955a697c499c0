/**
 * Time per test tier, printed at the end of a `node --test` run (through `failure-summary-reporter.ts`), so the
 * README's per-tier time table comes from a measured run instead of from memory.
 *
 * A tier is the folder under `test/` a file lives in (`unit`, `integration`, `differential`, `fuzz`, `kernel`). A
 * file's time is the sum of its top-level tests' durations (nesting 0), which is the time the runner spent in it. On
 * a 2-core machine `node --test` runs one file at a time (its concurrency is the core count minus one), so the sum of
 * a tier's files is that tier's wall-clock time; on a machine with more cores files overlap and the sum is larger
 * than the wall clock, which the printed line says.
 */

/** The parts of a `node:test` reporter event the timer reads. */
export interface TimedEvent {
  readonly type: string;
  readonly data?: {
    readonly file?: string;
    readonly nesting?: number;
    readonly details?: { readonly duration_ms?: number; readonly type?: string };
  };
}

/** One tier's measured time and the tests counted in it. */
export interface TierTime {
  readonly tier: string;
  readonly ms: number;
  readonly tests: number;
  readonly files: number;
}

/** The tier of a test file: the folder right under the last `test/` of its path, or `other`. */
export function tierOf(file: string): string {
  const parts = file.split(/[\\/]/);
  const at = parts.lastIndexOf('test');
  const folder = at >= 0 && at + 2 < parts.length ? parts[at + 1] : undefined;
  return folder ?? 'other';
}

/** Sums top-level test durations per tier and counts the tests (suites not counted) in each. */
export class TierTimer {
  private readonly tiers = new Map<string, { ms: number; tests: number; files: Set<string> }>();

  /** Takes one event; anything that is not a finished test of a known file is ignored. */
  add(event: TimedEvent): void {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') return;
    const data = event.data;
    if (data?.file === undefined) return;
    const tier = tierOf(data.file);
    const entry = this.tiers.get(tier) ?? { ms: 0, tests: 0, files: new Set<string>() };
    this.tiers.set(tier, entry);
    entry.files.add(data.file);
    if (data.details?.type !== 'suite') entry.tests += 1;
    if (data.nesting === 0) entry.ms += data.details?.duration_ms ?? 0;
  }

  /** The tiers in a fixed order (the order `npm test` runs them in), then any other. */
  times(): TierTime[] {
    const order = ['unit', 'integration', 'differential', 'fuzz', 'kernel'];
    const rank = (tier: string): number => (order.includes(tier) ? order.indexOf(tier) : order.length);
    return [...this.tiers.entries()]
      .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
      .map(([tier, e]) => ({ tier, ms: e.ms, tests: e.tests, files: e.files.size }));
  }

  /** One TAP comment line, empty when no test ran: `# time per tier (sum of files): unit 2.1 min (1,761 tests) ...`. */
  render(): string {
    const times = this.times();
    if (times.length === 0) return '';
    const minutes = (ms: number): string => `${(ms / 60_000).toFixed(1)} min`;
    const parts = times.map(
      (t) => `${t.tier} ${minutes(t.ms)} (${t.tests.toLocaleString('en-US')} tests, ${t.files} files)`,
    );
    const total = times.reduce((sum, t) => sum + t.ms, 0);
    return `# time per tier (sum of its files' top-level tests): ${parts.join('; ')}; all ${minutes(total)}\n`;
  }
}
