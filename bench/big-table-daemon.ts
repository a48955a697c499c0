// The daemon of `npm run bench:big-table`, in a child process of the benchmark: the real Daemon with its metrics
// endpoint (Observers, as `ldir start` composes them) on the memory backend, and its own event-loop delay histogram
// (perf_hooks.monitorEventLoopDelay), which the benchmark resets and reads over the IPC channel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { systemClock } from '../src/clock';
import type { Daemon } from '../src/daemon/daemon';
import { startDaemon } from '../src/app/compose-daemon';
import { Observers } from '../src/app/observers';
import { silentLogger } from '../src/log';

/** A message from the benchmark. */
export type BigTableCommand = { readonly cmd: 'reset' } | { readonly cmd: 'report' } | { readonly cmd: 'stop' };

/** What the daemon process reports: `ready` once started, `report` when asked. */
export type BigTableReport =
  | { readonly kind: 'ready'; readonly startMs: number }
  | {
      readonly kind: 'report';
      readonly maxBlockMs: number;
      readonly p99BlockMs: number;
      readonly rssMb: number;
      readonly maxRssMb: number;
      /** Health changes so far: the first round of each real makes one (unknown to down here). */
      readonly transitions: number;
    }
  | { readonly kind: 'failed'; readonly message: string };

/**
 * BENCH_BLOCK_LOG=FILE: the windows in which the event loop was held longer than 40 ms ({ startUs, endUs } on the
 * monotonic clock a `--cpu-prof` profile uses), written to FILE at the end, to find in a profile what held it.
 */
function blockLog(file: string | undefined): { stop: () => void } {
  if (file === undefined || file === '') return { stop: () => undefined };
  const windows: Array<{ startUs: number; endUs: number }> = [];
  let last = process.hrtime.bigint();
  const timer = setInterval(() => {
    const now = process.hrtime.bigint();
    if (now - last > 40_000_000n) windows.push({ startUs: Number(last / 1000n), endUs: Number(now / 1000n) });
    last = now;
  }, 5);
  return {
    stop: () => {
      clearInterval(timer);
      fs.writeFileSync(file, JSON.stringify(windows));
    },
  };
}

async function main(): Promise<void> {
  const [configPath, runDirectory] = process.argv.slice(2) as [string, string];
  const resyncIntervalMs = Number(process.env['BENCH_RESYNC_MS'] ?? 3_600_000);
  const send = (m: BigTableReport): void => {
    process.send?.(m);
  };
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const blocks = blockLog(process.env['BENCH_BLOCK_LOG']);
  let maxRss = 0;
  const rssTimer = setInterval(() => {
    maxRss = Math.max(maxRss, process.memoryUsage.rss());
  }, 250);
  // Prometheus' default scrape timeout (10 s, the endpoint's default) is shorter than a scrape of this size takes.
  const scrapeTimeoutMs = Number(process.env['BENCH_SCRAPE_TIMEOUT_MS'] ?? 600_000);
  const observers = new Observers({ clock: systemClock(), logger: silentLogger(), scrapeTimeoutMs });
  const started = performance.now();
  let transitions = 0;
  const hooks = observers.hooks();
  const onTransition = hooks.onTransition;
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      configPath,
      configName: path.basename(configPath),
      logger: silentLogger(),
      ipvs: 'memory',
      runDirectory,
      socketDirectory: runDirectory,
      stateDirectory: runDirectory,
      engine: { resyncIntervalMs },
      ...hooks,
      onTransition: (t) => {
        transitions++;
        onTransition?.(t);
      },
    });
  } catch (err) {
    send({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
    process.exit(3);
  }
  observers.attach(daemon);
  send({ kind: 'ready', startMs: performance.now() - started });
  process.on('message', (m: BigTableCommand) => {
    if (m.cmd === 'reset') {
      delay.reset();
      maxRss = process.memoryUsage.rss();
    } else if (m.cmd === 'report') {
      maxRss = Math.max(maxRss, process.memoryUsage.rss());
      send({
        kind: 'report',
        maxBlockMs: delay.max / 1e6,
        p99BlockMs: delay.percentile(99) / 1e6,
        rssMb: process.memoryUsage.rss() / 1e6,
        maxRssMb: maxRss / 1e6,
        transitions,
      });
    } else {
      clearInterval(rssTimer);
      blocks.stop();
      void daemon
        .stop()
        .then(() => observers.close())
        .then(() => process.exit(0));
    }
  });
}

void main();
