/**
 * The `node --test` reporter module: `--test-reporter=dist/test/tools/failure-summary-reporter.js`.
 * Node takes a CommonJS reporter from `module.exports` itself, hence `export =` in a file of its own.
 */
import { FailureCollector, type ReporterEvent } from "./failure-summary";

async function* failureSummary(source: AsyncIterable<ReporterEvent>): AsyncGenerator<string> {
  const collector = new FailureCollector();
  for await (const event of source) collector.add(event);
  const text = collector.render();
  if (text !== "") yield text;
}

export = failureSummary;
