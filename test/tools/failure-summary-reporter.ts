/**
 * The `node --test` reporter module: `--test-reporter=dist/test/tools/failure-summary-reporter.js`.
 * Node takes a CommonJS reporter from `module.exports` itself, hence `export =` in a file of its own.
 * It also prints the time per test tier (`tier-times.ts`) before the failures.
 * Under CI=true a skip the allow-list does not cover sets the exit code to 1 (see failure-summary.ts).
 */
import { isCi } from '../helpers/ci-skips';
import { FailureCollector, type ReporterEvent } from './failure-summary';
import { TierTimer, type TimedEvent } from './tier-times';

async function* failureSummary(source: AsyncIterable<ReporterEvent & TimedEvent>): AsyncGenerator<string> {
  const collector = new FailureCollector({ ci: isCi() });
  const timer = new TierTimer();
  for await (const event of source) {
    collector.add(event);
    timer.add(event);
  }
  // The times first: the failures stay the very last lines, which is what CI keeps.
  const text = timer.render() + collector.render();
  if (collector.refusedSkips().length > 0) process.exitCode = 1;
  if (text !== '') yield text;
}

export = failureSummary;
