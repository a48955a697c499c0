// createMetrics: ldir's own prom-client registry, fed by scheduler and engine callbacks, read from snapshots at scrape time.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { IdentityStatus } from '../checks/scheduler';
import { describeVerdict, type WatchdogVerdict } from '../daemon/watchdog';
import type { EngineSnapshot } from '../engine/engine-types';
import { systemClock } from '../clock';
import type { Logger } from '../log';
import { CheckSeries } from './check-series';
import { pairKey } from './convert';
import { EngineSeries, InfoSeries, ReloadSeries } from './engine-series';
import { seriesFactory } from './factory';
import { renderExposition, type ExpositionChunks } from './sliced-exposition';
import { SliceYielder } from '../system/slice-yielder';
import { KernelReader, KernelSeries } from './kernel-series';
import { RiseSeries } from './rise-series';
import { StateSeries } from './state-series';
import { SyncSeries } from './sync-series';
import { WatchdogSeries } from './watchdog-series';
import type { AlertCounters, CreateMetricsOptions, Metrics, MetricsHealth, ScrapedExposition } from './types';

/**
 * prom-client default metrics left out: gauges named `_total` (`promtool check metrics` rejects them), whose values
 * are the sums of `nodejs_active_handles`, `nodejs_active_requests` and `nodejs_active_resources`, which stay.
 */
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Default bound of one kernel read during a scrape, in milliseconds. */
export const DEFAULT_KERNEL_TIMEOUT_MS = 3_000;

/** Calls a source; a throw is logged at debug and read as "not available". */
function read<T>(what: string, source: () => T, log: Logger | undefined): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: source() };
  } catch (err) {
    log?.debug({ err: err instanceof Error ? err.message : String(err), source: what }, 'metrics source not available');
    return { ok: false };
  }
}

/** One line, no control characters, bounded length: for the `/healthz` body. */
function oneLine(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > 600 ? `${flat.slice(0, 597)}...` : flat;
}

/**
 * What `/healthz` answers for an engine snapshot (undefined: the engine does not exist yet) and the checker
 * watchdog's verdict (undefined: none yet): not ok when either says so, with both reasons in one line.
 */
export function healthOf(snapshot: Omit<EngineSnapshot, 'virtuals'> | undefined, watchdog?: WatchdogVerdict): MetricsHealth {
  const engine = engineHealth(snapshot);
  if (!watchdog || watchdog.ok) return engine;
  const why = describeVerdict(watchdog);
  return { ok: false, reason: oneLine(engine.ok ? why : `${engine.reason}; ${why}`) };
}

function engineHealth(snapshot: Omit<EngineSnapshot, 'virtuals'> | undefined): MetricsHealth {
  if (!snapshot) return { ok: true, reason: 'ok: starting, no kernel sync yet' };
  if (snapshot.stopped) return { ok: false, reason: 'engine stopped' };
  const last = snapshot.lastSync;
  if (!last) return { ok: true, reason: 'ok: no kernel sync yet' };
  if (!last.ok) {
    const why = last.error !== undefined ? `: ${last.error}` : '';
    return { ok: false, reason: oneLine(`last kernel sync failed at ${new Date(last.at).toISOString()}${why}`) };
  }
  return { ok: true, reason: 'ok' };
}

/** A scrape's result: the exposition's buffers, and its text for callers that want one string (tests). */
function scrapedExposition(contentType: string, rendered: ExpositionChunks): ScrapedExposition {
  return {
    contentType, chunks: rendered.chunks, length: rendered.length,
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
  const kernel = new KernelReader(() => sources.kernel(), options.kernelTimeoutMs ?? DEFAULT_KERNEL_TIMEOUT_MS, options.clock ?? systemClock());
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
  const syncSeries = new SyncSeries(series);
  const checks = new CheckSeries(series, () => sources.checks());
  const rise = new RiseSeries(series);
  const kernelSeries = new KernelSeries(series);
  const reloads = new ReloadSeries(series, options.configLoadedAt);
  const info = new InfoSeries(series, options.buildInfo);
  const watchdog = new WatchdogSeries(series);
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  }

  async function collect(): Promise<void> {
    const k = await kernel.read();
    if (!k.ok && !kernelFailing) {
      const err = k.error instanceof Error ? k.error.message : String(k.error);
      log?.warn({ reason: k.reason, err }, 'metrics: kernel table not read; ldir_kernel_scrape_error is 1');
    } else if (k.ok && kernelFailing) {
      log?.info('metrics: kernel table read again');
    }
    kernelFailing = !k.ok;
    const engine = read('engine', () => sources.engine(), log);
    const statuses = read<readonly IdentityStatus[]>('checks', () => sources.checks(), log);
    const alerts = sources.alerts ? read<AlertCounters | undefined>('alerts', sources.alerts, log) : undefined;
    const verdict = sources.watchdog ? read('watchdog', sources.watchdog, log) : undefined;
    const yielder = new SliceYielder(options.sliceMs);
    await kernelSeries.refresh(k, yielder);
    const pairs = await state.refresh(engine.ok ? engine.value : undefined, yielder);
    engineSeries.refresh(engine.ok ? engine.value : undefined);
    syncSeries.refresh(engine.ok ? engine.value : undefined);
    info.refresh(alerts?.ok ? alerts.value : undefined);
    watchdog.refresh(verdict?.ok ? verdict.value : undefined);
    if (statuses.ok) for (const s of statuses.value) for (const m of s.members) pairs.add(pairKey(m.virtualId, m.realKey));
    await checks.refresh(statuses.ok ? statuses.value : undefined, engine.ok || statuses.ok ? pairs : undefined, yielder);
    await rise.refresh(statuses.ok ? statuses.value : undefined, yielder);
  }

  /** Runs a callback body; a throw is logged and swallowed (callbacks come from the scheduler and the engine). */
  const guard = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      log?.error({ err: err instanceof Error ? err.message : String(err), callback: what }, 'metrics: callback failed');
    }
  };

  return {
    registry,
    recordCheck: (record) => guard('recordCheck', () => checks.recordCheck(record)),
    recordQuietRounds: (q) => guard('recordQuietRounds', () => checks.recordQuietRounds(q)),
    recordTransition: (t) => guard('recordTransition', () => checks.recordTransition(t)),
    recordEvent: (e) => guard('recordEvent', () => engineSeries.record(e)),
    recordReload: (ok, at) => guard('recordReload', () => {
      reloads.record(ok, at);
      checks.invalidate();
    }),
    scrape: async () => scrapedExposition(registry.contentType, await renderExposition(registry, options.sliceMs)),
    health: () => {
      const engine = read('engine', () => sources.engine(), log);
      if (!engine.ok) return { ok: true, reason: 'ok: starting, engine not available yet' };
      const verdict = sources.watchdog ? read('watchdog', sources.watchdog, log) : undefined;
      return healthOf(engine.value, verdict?.ok ? verdict.value : undefined);
    },
  };
}
