/**
 * A `node --test` reporter that prints, after everything else, one line per failed test and one per skipped test.
 *
 * CI keeps only the head and the tail of a run's output; with the TAP reporter alone the tail is the totals
 * ("# fail 1") and the failure itself is somewhere in the middle of 30,000 lines. Run beside the TAP reporter
 * (`package.json` "test", through `failure-summary-reporter.ts`), this one puts the failing test's file, name and first lines of its error at the very end.
 */

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

const MAX_ERROR_LINES = 6;
const MAX_LINE_CHARS = 300;

/** The failure message of an event's error, without the runner's own wrapping, cut to a few lines. */
export function errorSummary(error: unknown): string {
  let inner: unknown = error;
  // The runner wraps a test's own error in ERR_TEST_FAILURE with the original as `cause`.
  while (inner instanceof Error && (inner as { code?: string }).code === "ERR_TEST_FAILURE" && inner.cause !== undefined) {
    inner = inner.cause;
  }
  const text = inner instanceof Error ? `${inner.name}: ${inner.message}` : String(inner);
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .slice(0, MAX_ERROR_LINES)
    .map((line) => (line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line))
    .join("\n");
}

/** Whether a failure only says that some of its subtests failed (those are listed themselves). */
function onlySubtestsFailed(error: unknown): boolean {
  return error instanceof Error && (error as { failureType?: string }).failureType === "subtestsFailed";
}

/** Collects failures and skips from a stream of reporter events. */
export class FailureCollector {
  readonly failures: SummaryEntry[] = [];
  readonly skips: SummaryEntry[] = [];

  /** Takes one event. */
  add(event: ReporterEvent): void {
    const data = event.data;
    if (data === undefined) return;
    const file = data.file ?? "(unknown file)";
    const name = data.name ?? "(unnamed)";
    if (event.type === "test:fail") {
      const error = data.details?.error;
      if (onlySubtestsFailed(error)) return;
      this.failures.push({ file, name, detail: errorSummary(error) });
    } else if (event.type === "test:pass" && data.skip !== undefined && data.skip !== false) {
      this.skips.push({ file, name, detail: typeof data.skip === "string" ? data.skip : "skipped" });
    }
  }

  /** The text printed at the end of the run: TAP comment lines, empty when nothing failed or was skipped. */
  render(): string {
    const lines: string[] = [];
    const section = (title: string, entries: readonly SummaryEntry[]): void => {
      if (entries.length === 0) return;
      lines.push(`# ${title} (${entries.length}):`);
      for (const entry of entries) {
        const [first, ...rest] = entry.detail.split("\n");
        lines.push(`#   ${entry.file} :: ${entry.name} -- ${first ?? ""}`);
        for (const line of rest) lines.push(`#       ${line}`);
      }
    };
    section("FAILED tests", this.failures);
    section("skipped tests", this.skips);
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
  }
}
