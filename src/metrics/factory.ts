// Creates prom-client series registered in ldir's registry only, each refreshed by one shared scrape-time hook.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BulkHistogram } from './bulk-histogram';
import { RowSeries } from './row-series';

/** Makes counters, gauges and histograms bound to one registry and one refresh hook. */
export interface SeriesFactory {
  counter<T extends string>(name: string, help: string, labelNames?: readonly T[]): Counter<T>;
  gauge<T extends string>(name: string, help: string, labelNames?: readonly T[]): Gauge<T>;
  histogram<T extends string>(
    name: string,
    help: string,
    labelNames: readonly T[],
    buckets: readonly number[],
  ): Histogram<T>;
  /** A histogram that also takes a batch of observations of one series at once. */
  bulkHistogram<T extends string>(
    name: string,
    help: string,
    labelNames: readonly T[],
    buckets: readonly number[],
  ): BulkHistogram<T>;
  /** A gauge written straight into the exposition in slices: for series with a sample per real server. */
  rowGauge<T extends string>(name: string, help: string, labelNames: readonly T[]): RowSeries<T>;
  /** A counter written straight into the exposition in slices: for series with a sample per real server. */
  rowCounter<T extends string>(name: string, help: string, labelNames: readonly T[]): RowSeries<T>;
}

/**
 * A factory whose series are registered in `registry` (never the global one) and whose `collect` awaits `refresh`:
 * however a scrape reaches the registry, the sources are read once and every series is current before it is
 * rendered.
 */
export function seriesFactory(registry: Registry, refresh: () => Promise<void>): SeriesFactory {
  const common = { registers: [registry], collect: refresh };
  return {
    counter: (name, help, labelNames = []) => new Counter({ name, help, labelNames, ...common }),
    gauge: (name, help, labelNames = []) => new Gauge({ name, help, labelNames, ...common }),
    histogram: (name, help, labelNames, buckets) =>
      new Histogram({ name, help, labelNames, buckets: [...buckets], ...common }),
    bulkHistogram: (name, help, labelNames, buckets) =>
      new BulkHistogram({ name, help, labelNames, buckets, registers: [registry], collect: refresh }),
    rowGauge: (name, help, labelNames) =>
      new RowSeries({ name, help, type: 'gauge', labelNames, registers: [registry], collect: refresh }),
    rowCounter: (name, help, labelNames) =>
      new RowSeries({ name, help, type: 'counter', labelNames, registers: [registry], collect: refresh }),
  };
}
