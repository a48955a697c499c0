// Reading a guest file's results from its output in the VM: the spec reporter's totals, its failed tests, and the
// failure-summary reporter's skip sections (test/tools/failure-summary.ts), which the kernel tier's host test judges.
import { SKIP_HEADINGS } from '../tools/failure-summary';

/** Reads a count from the node test runner's summary (spec: "ℹ pass 3", tap: "# pass 3"); the last one wins. */
export function summaryCount(output: string, name: string): number | undefined {
  const all = [...output.matchAll(new RegExp(`^(?:ℹ|#) ${name} (\\d+)\\s*$`, 'gm'))];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : undefined;
}

/** The spec reporter's failed test lines ("✖ name (12ms)"), so an assertion can start with what failed. */
export function failedTestLines(output: string): string {
  const names = [
    ...new Set(
      output
        .split('\n')
        .filter((line) => /^\s*✖ /.test(line) && !/✖ failing tests:\s*$/.test(line))
        .map((line) => line.trim()),
    ),
  ];
  return names.length === 0 ? '' : ` [guest failures: ${names.slice(0, 8).join(' | ')}]`;
}

/** One skip section of the failure summary: its count and its entry lines. */
interface SkipSection {
  readonly count: number;
  readonly lines: readonly string[];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The section under `heading` ("# HEADING (N):" and its "#   ..." lines), or an empty one. */
function skipSection(output: string, heading: string): SkipSection {
  const lines = output.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^# ${escapeRegExp(heading)} \\((\\d+)\\):\\s*$`).test(l));
  if (start < 0) return { count: 0, lines: [] };
  const count = Number(/\((\d+)\):\s*$/.exec(lines[start] as string)?.[1]);
  const entries: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('#   ')) break;
    if (!line.startsWith('#       ')) entries.push(line.slice(4));
  }
  return { count, lines: entries };
}

/**
 * What is wrong with the skips of a guest run under CI=true, or undefined when nothing is: a skip the guest's
 * failure summary does not list as allowed (a refused one, or any skip of a run whose summary was not judged under
 * CI), or more skipped tests in the spec totals than allowed skips listed. Outside CI skips are not judged.
 */
export function guestSkipProblem(output: string, ci: boolean): string | undefined {
  if (!ci) return undefined;
  const allowed = skipSection(output, SKIP_HEADINGS.allowed);
  const refused = [skipSection(output, SKIP_HEADINGS.refused), skipSection(output, SKIP_HEADINGS.listed)];
  const refusedLines = refused.flatMap((s) => s.lines);
  const refusedCount = refused.reduce((n, s) => n + s.count, 0);
  if (refusedCount > 0) {
    return `${refusedCount} skip(s) inside the guest that CI does not allow (test/helpers/ci-skips.ts): ${refusedLines.join(' | ')}`;
  }
  const specSkipped = (summaryCount(output, 'skipped') ?? 0) + (summaryCount(output, 'todo') ?? 0);
  if (specSkipped > allowed.count) {
    return (
      `the guest reports ${specSkipped} skipped/todo test(s) but its failure summary lists ${allowed.count} allowed skip(s)` +
      ' (was the failure-summary reporter run?)'
    );
  }
  return undefined;
}
