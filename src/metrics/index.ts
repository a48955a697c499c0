// Public surface of the metrics module: createMetrics, the HTTP endpoint, build information and their types.
export { createMetrics, DEFAULT_KERNEL_TIMEOUT_MS, healthOf } from './metrics';
export { DEFAULT_SCRAPE_TIMEOUT_MS, startMetricsServer, type MetricsServer, type MetricsServerOptions } from './server';
export { readBuildInfo } from './build-info';
export type { StatusSource } from './status-routes';
export { CHECK_DURATION_BUCKETS } from './check-series';
export { SYNC_DURATION_BUCKETS } from './engine-series';
export type { AlertCounters, BuildInfo, CreateMetricsOptions, Metrics, MetricsHealth, MetricsSources } from './types';
