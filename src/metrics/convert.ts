// Value and label helpers for the metrics: 64-bit counters, milliseconds, bounded label values.
import type { Counter, Gauge } from 'prom-client';

/**
 * A 64-bit kernel counter as a sample value. Exact up to 2^53; above that the nearest double (Prometheus stores
 * float64 anyway), never a wrap or a string. Negative values (impossible for kernel counters) become 0.
 */
export function counterValue(v: bigint): number {
  return v <= 0n ? 0 : Number(v);
}

/** Milliseconds as seconds, the base unit of every ldir duration and timestamp series. */
export function seconds(ms: number): number {
  return ms / 1000;
}

/** An errno name as a label value: `EEXIST`-like names pass, anything else (free text) becomes `other`. */
export function errnoLabel(errno: string | undefined): string {
  return errno !== undefined && /^E[A-Z0-9]{1,15}$/.test(errno) ? errno : 'other';
}

/** What {@link setCounter} needs of a counter: prom-client's Counter or a RowSeries. */
export interface Incrementable {
  inc(labels: Readonly<Record<string, string>>, value: number): void;
}

/** What {@link setFlag} needs of a gauge: prom-client's Gauge or a RowSeries. */
export interface Settable {
  set(labels: Readonly<Record<string, string>>, value: number): void;
}

/** Sets a counter that mirrors a monotonic total kept elsewhere (after a `reset()` at the start of the scrape). */
export function setCounter(counter: Incrementable, labels: Readonly<Record<string, string>>, value: number): void {
  if (Number.isFinite(value) && value > 0) counter.inc(labels, value);
  else counter.inc(labels, 0);
}

/** Sets a gauge to 1 or 0. */
export function setFlag(gauge: Settable, labels: Readonly<Record<string, string>>, on: boolean): void {
  gauge.set(labels, on ? 1 : 0);
}

/** Removes every sample of a series, labelled or not (prom-client's `reset()` keeps a 0 sample for unlabelled ones). */
export function clear(metric: Counter<string> | Gauge<string>): void {
  metric.reset();
  metric.remove({});
}
