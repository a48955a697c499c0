// createMetrics: ldir's own prom-client registry, fed by scheduler and engine callbacks, read from snapshots at scrape time.
import { pairKey } from '../model/health';
import { AnnounceSeries } from './announce-series';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { healthVerdict, isServing, type HealthVerdict } from '../daemon/health-verdict';
import type { WatchdogVerdict } from '../daemon/watchdog';
import type { EngineHealth } from '../engine/engine-types';
import { systemClock } from '../clock';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import { CheckSeries } from './check-series';
import { EngineSeries, InfoSeries, ReloadSeries } from './engine-series';
import { HealthSeries } from './health-series';
import { seriesFactory } from './factory';
import { renderExposition, type ExpositionChunks } from './sliced-exposition';
import { SliceYielder } from '../system/slice-yielder';
import { KernelReader, KernelSeries } from './kernel-series';
import { RiseSeries } from './rise-series';
import { StateSeries } from './state-series';
import { StateSyncSeries } from './state-sync-series';
import { WatchdogSeries } from './watchdog-series';
import type { AlertCounters, CreateMetricsOptions, Metrics, MetricsHealth, ScrapedExposition } from './types';

/**
 * prom-client default metrics left out: gauges named `_total` (`promtool check metrics` rejects them), whose values
 * are the sums of `nodejs_active_handles`, `nodejs_active_requests` and `nodejs_active_resources`, which stay.
 */
const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * How often prom-client's event-loop delay monitor (`nodejs_eventloop_lag_*`) samples, in milliseconds. Its default,
 * 10 ms, woke the daemon's JS thread 100 times a second with nothing else to do: in the emulated VM of
 * `bench:peers` that was most of the JS thread's CPU while every check ran in the probe engine (issue 13). At 100 ms a
 * block of 100 ms or more is still seen by every sample it delays; ldir's own stall detection is the watchdog's.
 */
export const EVENT_LOOP_MONITORING_PRECISION_MS = 100;

/** Default bound of one kernel read during a scrape, in milliseconds. */
export const DEFAULT_KERNEL_TIMEOUT_MS = 3_000;

/** Calls a source; a throw is logged at debug and read as "not available". */
function read<T>(what: string, source: () => T, log: Logger | undefined): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: source() };
  } catch (err) {
    log?.debug({ err: errorMessage(err), source: what }, 'metrics source not available');
    return { ok: false };
  }
}

/** Reads an iterable source into a list, in slices of the yielder; a throw reads as "not available", as {@link read}. */
async function readSliced<T>(
  what: string,
  source: () => Iterable<T>,
  yielder: SliceYielder,
  log: Logger | undefined,
): Promise<{ ok: true; value: T[] } | { ok: false }> {
  try {
    const value: T[] = [];
    for (const item of source()) {
      value.push(item);
      const pause = yielder.maybeYield();
      if (pause) await pause;
    }
    return { ok: true, value };
  } catch (err) {
    log?.debug({ err: errorMessage(err), source: what }, 'metrics source not available');
    return { ok: false };
  }
}

/**
 * What `/healthz` answers for a health verdict: 200 (`ok`) unless it is failing, the verdict's summary as the body.
 */
export function healthOf(verdict: HealthVerdict): MetricsHealth {
  return { ok: isServing(verdict), level: verdict.level, reason: verdict.summary };
}

/** A scrape's result: the exposition's buffers, and its text for callers that want one string (tests). */
function scrapedExposition(contentType: string, rendered: ExpositionChunks): ScrapedExposition {
  return {
    contentType,
    chunks: rendered.chunks,
    length: rendered.length,
    get body(): string {
      return Buffer.concat(rendered.chunks as Buffer[], rendered.length).toString('utf8');
    },
  };
}

/**
 * Creates the metrics of one daemon in its own registry (a new `Registry` unless one is given; never prom-client's
 * global one). Series fed by callbacks (`recordCheck`, `recordTransition`, `recordEvent`, `recordReload`) are
 * counted as they come; everything else is read from the sources when a scrape renders the registry: one engine
 * snapshot, one scheduler snapshot and one kernel listing per scrape (concurrent scrapes share them), the kernel
 * read bounded by `kernelTimeoutMs`.
 */
export function createMetrics(options: CreateMetricsOptions): Metrics {
  const registry = options.registry ?? new Registry();
  const log = options.logger?.child({ module: 'metrics' });
  const { sources } = options;
  const kernel = new KernelReader(
    () => sources.kernel(),
    options.kernelTimeoutMs ?? DEFAULT_KERNEL_TIMEOUT_MS,
    options.clock ?? systemClock(),
  );
  let inflight: Promise<void> | undefined;
  let kernelFailing = false;

  const refresh = (): Promise<void> => {
    inflight ??= collect().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  const series = seriesFactory(registry, refresh);
  const state = new StateSeries(series);
  const engineSeries = new EngineSeries(series);
  const stateSyncSeries = new StateSyncSeries(series);
  const checks = new CheckSeries(series);
  const rise = new RiseSeries(series);
  const kernelSeries = new KernelSeries(series);
  const reloads = new ReloadSeries(series, options.configLoadedAt);
  const info = new InfoSeries(series, options.buildInfo);
  const watchdog = new WatchdogSeries(series);
  const health = new HealthSeries(series);
  const announce = new AnnounceSeries(series);
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_PRECISION_MS });
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  }

  async function collect(): Promise<void> {
    const k = await kernel.read();
    if (!k.ok && !kernelFailing) {
      const err = errorMessage(k.error);
      log?.warn({ reason: k.reason, err }, 'metrics: kernel table not read; ldir_kernel_scrape_error is 1');
    } else if (k.ok && kernelFailing) {
      log?.info('metrics: kernel table read again');
    }
    kernelFailing = !k.ok;
    const engine = read('engine', () => sources.engine(), log);
    const yielder = new SliceYielder(options.sliceMs);
    if (sources.flushQuiet) {
      const flush = sources.flushQuiet;
      await Promise.resolve()
        .then(() => flush(yielder))
        .catch((err: unknown) => log?.warn({ err: errorMessage(err) }, 'metrics: quiet rounds not taken'));
    }
    const statuses = await readSliced('checks', () => sources.checks(), yielder, log);
    const alerts = sources.alerts ? read<AlertCounters | undefined>('alerts', sources.alerts, log) : undefined;
    const verdict = sources.watchdog ? read('watchdog', sources.watchdog, log) : undefined;
    await kernelSeries.refresh(k, yielder);
    const pairs = await state.refresh(engine.ok ? engine.value : undefined, yielder);
    engineSeries.refresh(engine.ok ? engine.value : undefined);
    stateSyncSeries.refresh(engine.ok ? engine.value : undefined);
    info.refresh(alerts?.ok ? alerts.value : undefined);
    watchdog.refresh(verdict?.ok ? verdict.value : undefined);
    health.refresh(engine.ok ? verdictOf(engine.value, verdict?.ok ? verdict.value : undefined) : undefined);
    const announced = sources.announce ? read('announce', sources.announce, log) : undefined;
    announce.refresh(announced?.ok ? announced.value : undefined);
    if (statuses.ok)
      for (const s of statuses.value) {
        for (const m of s.members) pairs.add(pairKey(m.virtualId, m.realKey));
        const pause = yielder.maybeYield();
        if (pause) await pause;
      }
    await checks.refresh(engine.ok || statuses.ok ? pairs : undefined, yielder);
    await rise.refresh(statuses.ok ? statuses.value : undefined, yielder);
  }

  /**
   * The health verdict: the daemon's own (`sources.health`), else made by the same function from the engine's state
   * and the watchdog's verdict (metrics without a daemon).
   */
  const verdictOf = (engine: EngineHealth | undefined, watchdogVerdict: WatchdogVerdict | undefined): HealthVerdict =>
    ownVerdict() ?? healthVerdict({ engine, watchdog: watchdogVerdict });

  /** The daemon's own verdict (`sources.health`), when it gives one. */
  const ownVerdict = (): HealthVerdict | undefined => {
    const own = sources.health ? read('health', sources.health, log) : undefined;
    return own?.ok ? own.value : undefined;
  };

  /** Runs a callback body; a throw is logged and swallowed (callbacks come from the scheduler and the engine). */
  const guard = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      log?.error({ err: errorMessage(err), callback: what }, 'metrics: callback failed');
    }
  };

  return {
    registry,
    recordCheck: (record) => guard('recordCheck', () => checks.recordCheck(record)),
    recordQuietRounds: (q) => guard('recordQuietRounds', () => checks.recordQuietRounds(q)),
    recordTransition: (t) => guard('recordTransition', () => checks.recordTransition(t)),
    recordEvent: (e) => guard('recordEvent', () => engineSeries.record(e)),
    recordReload: (ok, at) =>
      guard('recordReload', () => {
        reloads.record(ok, at);
      }),
    scrape: async () => scrapedExposition(registry.contentType, await renderExposition(registry, options.sliceMs)),
    health: () => {
      const own = ownVerdict();
      if (own) return healthOf(own);
      const engine = read('engine', () => sources.engine(), log);
      if (!engine.ok) return { ok: true, level: 'ok', reason: 'ok: starting, engine not available yet' };
      const verdict = sources.watchdog ? read('watchdog', sources.watchdog, log) : undefined;
      return healthOf(healthVerdict({ engine: engine.value, watchdog: verdict?.ok ? verdict.value : undefined }));
    },
  };
}
