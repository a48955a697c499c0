/**
 * A `node --test` reporter that prints, after everything else, one line per failed test and one per skipped test.
 *
 * CI keeps only the head and the tail of a run's output; with the TAP reporter alone the tail is the totals
 * ("# fail 1") and the failure itself is somewhere in the middle of 30,000 lines. Run beside the TAP reporter
 * (`package.json` "test", through `failure-summary-reporter.ts`), this one puts the failing test's file, name and first lines of its error at the very end.
 *
 * Under CI=true a skip is judged against the allow-list (test/helpers/ci-skips.ts): an allowed one is printed with
 * its allowance and reason, any other is printed under its own heading and fails the run (the reporter sets the
 * exit code): CI never skips silently.
 */
import { type AllowedSkip, allowanceFor, type TestPlace } from '../helpers/ci-skips';

/** The parts of a `node:test` reporter event this summary reads. */
export interface ReporterEvent {
  readonly type: string;
  readonly data?: {
    readonly name?: string;
    readonly file?: string;
    readonly nesting?: number;
    readonly skip?: boolean | string;
    readonly todo?: boolean | string;
    readonly details?: { readonly error?: unknown };
  };
}

/** One failed or skipped test as the summary prints it. */
export interface SummaryEntry {
  readonly file: string;
  readonly name: string;
  readonly detail: string;
}

/** How skips are judged: outside CI they are only listed; under CI each needs an allowance. */
export interface SkipPolicy {
  readonly ci: boolean;
  /** The allowance covering a skip message (default: the allow-list, where this process runs). */
  readonly allowance?: (message: string) => AllowedSkip | undefined;
  readonly place?: TestPlace;
}

/** Headings of the skip sections, as the kernel tier's host test reads them from a guest's output. */
export const SKIP_HEADINGS = {
  /** Outside CI: every skip. */
  listed: 'skipped tests',
  /** Under CI: skips the allow-list covers. */
  allowed: 'skipped tests, allowed in CI',
  /** Under CI: any other skip; the run fails. */
  refused: 'skipped tests that CI does not allow (allow-list: test/helpers/ci-skips.ts; the run fails)',
} as const;

const MAX_ERROR_LINES = 6;
const MAX_LINE_CHARS = 300;

/** The failure message of an event's error, without the runner's own wrapping, cut to a few lines. */
export function errorSummary(error: unknown): string {
  let inner: unknown = error;
  // The runner wraps a test's own error in ERR_TEST_FAILURE with the original as `cause`.
  while (
    inner instanceof Error &&
    (inner as { code?: string }).code === 'ERR_TEST_FAILURE' &&
    inner.cause !== undefined
  ) {
    inner = inner.cause;
  }
  const text = inner instanceof Error ? `${inner.name}: ${inner.message}` : String(inner);
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(0, MAX_ERROR_LINES)
    .map((line) => (line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line))
    .join('\n');
}

/** Whether a failure only says that some of its subtests failed (those are listed themselves). */
function onlySubtestsFailed(error: unknown): boolean {
  return error instanceof Error && (error as { failureType?: string }).failureType === 'subtestsFailed';
}

/** Collects failures and skips from a stream of reporter events. */
export class FailureCollector {
  readonly failures: SummaryEntry[] = [];
  readonly skips: SummaryEntry[] = [];

  constructor(private readonly policy: SkipPolicy = { ci: false }) {}

  /** The skips CI does not allow (none outside CI): when there is one, a CI run fails. */
  refusedSkips(): SummaryEntry[] {
    return this.policy.ci ? this.skips.filter((s) => this.allowanceOf(s) === undefined) : [];
  }

  private allowanceOf(skip: SummaryEntry): AllowedSkip | undefined {
    return this.policy.allowance ? this.policy.allowance(skip.detail) : allowanceFor(skip.detail, this.policy.place);
  }

  /** Takes one event. */
  add(event: ReporterEvent): void {
    const data = event.data;
    if (data === undefined) return;
    const file = data.file ?? '(unknown file)';
    const name = data.name ?? '(unnamed)';
    if (event.type === 'test:fail') {
      const error = data.details?.error;
      if (onlySubtestsFailed(error)) return;
      this.failures.push({ file, name, detail: errorSummary(error) });
    } else if (event.type === 'test:pass' && data.skip !== undefined && data.skip !== false) {
      this.skips.push({ file, name, detail: typeof data.skip === 'string' ? data.skip : 'skipped' });
    }
  }

  /** The text printed at the end of the run: TAP comment lines, empty when nothing failed or was skipped. */
  render(): string {
    const lines: string[] = [];
    const section = (title: string, entries: readonly SummaryEntry[]): void => {
      if (entries.length === 0) return;
      lines.push(`# ${title} (${entries.length}):`);
      for (const entry of entries) {
        const [first, ...rest] = entry.detail.split('\n');
        lines.push(`#   ${entry.file} :: ${entry.name} -- ${first ?? ''}`);
        for (const line of rest) lines.push(`#       ${line}`);
      }
    };
    if (!this.policy.ci) {
      section(SKIP_HEADINGS.listed, this.skips);
    } else {
      const refused = this.refusedSkips();
      const allowed = this.skips
        .filter((s) => !refused.includes(s))
        .map((s) => {
          const a = this.allowanceOf(s) as AllowedSkip;
          return { ...s, detail: `${s.detail} [allowed in CI: ${a.id}: ${a.reason}]` };
        });
      section(SKIP_HEADINGS.allowed, allowed);
      section(SKIP_HEADINGS.refused, refused);
    }
    // Last: CI keeps the tail of the output, and a long list of allowed skips must not push the failures out of it.
    section('FAILED tests', this.failures);
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }
}
