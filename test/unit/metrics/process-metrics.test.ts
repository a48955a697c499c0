// The daemon-wide process metrics (prom-client's defaults): what they cost an idle daemon.
import assert from 'node:assert/strict';
import perfHooks, { type EventLoopMonitorOptions } from 'node:perf_hooks';
import { test } from 'node:test';
import { testMetrics } from './fixtures';

test('the event-loop delay monitor samples every 100 ms, not every 10 ms (an idle daemon is not woken 100 times a second)', (t) => {
  const resolutions: (number | undefined)[] = [];
  const original = perfHooks.monitorEventLoopDelay;
  // prom-client looks the function up on the module each time it registers its event-loop lag series.
  t.mock.method(perfHooks, 'monitorEventLoopDelay', (options?: EventLoopMonitorOptions) => {
    resolutions.push(options?.resolution);
    return original(options);
  });
  testMetrics({}, { processMetrics: true });
  assert.deepEqual(resolutions, [100]);
});
