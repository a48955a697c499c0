/**
 * The `node --test` reporter module: `--test-reporter=dist/test/tools/failure-summary-reporter.js`.
 * Node takes a CommonJS reporter from `module.exports` itself, hence `export =` in a file of its own.
 * Under CI=true a skip the allow-list does not cover sets the exit code to 1 (see failure-summary.ts).
 */
import { isCi } from "../helpers/ci-skips";
import { FailureCollector, type ReporterEvent } from "./failure-summary";

async function* failureSummary(source: AsyncIterable<ReporterEvent>): AsyncGenerator<string> {
  const collector = new FailureCollector({ ci: isCi() });
  for await (const event of source) collector.add(event);
  const text = collector.render();
  if (collector.refusedSkips().length > 0) process.exitCode = 1;
  if (text !== "") yield text;
}

export = failureSummary;
