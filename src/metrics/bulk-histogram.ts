// A histogram that takes many observations of one series at once: the rounds of offloaded checks arrive in batches
// of thousands, and prom-client's Histogram validates and hashes the labels for every single value.
import type { Registry } from 'prom-client';
import type { SliceYielder } from '../system/slice-yielder';
import { formatLabels, sampleLine } from './exposition-text';

/** One value as prom-client's Registry reads it: the series' own labels shared, `le` its own. */
interface ExportedValue {
  readonly labels: Record<string, string | number>;
  readonly sharedLabels?: Record<string, string | number>;
  readonly value: number;
  readonly metricName: string;
}

/** A metric as prom-client's Registry reads it. */
interface ExportedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly values: ExportedValue[];
  readonly aggregator: 'sum';
}

type Labels<T extends string> = Partial<Record<T, string | number>>;

interface Series {
  readonly labels: Record<string, string | number>;
  /**
   * Observations per bucket (not cumulative), one more for +Inf. A plain array of numbers, not a Float64Array: an
   * ArrayBuffer per series (per real) was 100,000 buffers for the garbage collector to sweep at every scavenge.
   */
  readonly counts: number[];
  sum: number;
  count: number;
  /** The series' labels as the exposition writes them, made at the first scrape (they never change). */
  shared: string | undefined;
}

/** Options of {@link BulkHistogram}. */
export interface BulkHistogramOptions<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  /** Upper bounds, ascending. */
  readonly buckets: readonly number[];
  readonly registers: readonly Registry[];
  /** Awaited before every read (prom-client's `collect`). */
  readonly collect?: () => void | Promise<void>;
}

/**
 * A Prometheus histogram registered like prom-client's own (same exposition, same label order), with
 * {@link observeMany} for a batch of one series.
 */
export class BulkHistogram<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly bounds: readonly number[];
  private readonly labelNames: readonly T[];
  private readonly collect: (() => void | Promise<void>) | undefined;
  private series = new Map<string, Series>();

  constructor(options: BulkHistogramOptions<T>) {
    this.name = options.name;
    this.help = options.help;
    this.bounds = [...options.buckets];
    this.labelNames = [...options.labelNames];
    this.collect = options.collect;
    for (const r of options.registers) r.registerMetric(this as never);
  }

  /** One observation. */
  observe(labels: Labels<T>, value: number): void {
    this.observeMany(labels, [value]);
  }

  /** Observations of one series, each multiplied by `scale` (e.g. 0.001 for milliseconds to seconds). */
  observeMany(labels: Labels<T>, values: ArrayLike<number>, scale = 1): void {
    const s = this.seriesOf(labels);
    const bounds = this.bounds;
    for (let i = 0; i < values.length; i++) {
      const v = (values[i] as number) * scale;
      if (!Number.isFinite(v)) continue;
      let b = 0;
      while (b < bounds.length && v > (bounds[b] as number)) b++;
      s.counts[b] = (s.counts[b] as number) + 1;
      s.sum += v;
      s.count++;
    }
  }

  /**
   * Observations of one series already counted per bucket: `counts` per bucket of the histogram's own bounds (not
   * cumulative, one more for +Inf), `sum` their total. Throws when `counts` does not fit the bounds.
   */
  addCounts(labels: Labels<T>, counts: ArrayLike<number>, sum: number): void {
    if (counts.length !== this.bounds.length + 1)
      throw new Error(`${this.name}: ${counts.length} bucket counts for ${this.bounds.length + 1} buckets`);
    const s = this.seriesOf(labels);
    for (let b = 0; b < counts.length; b++) {
      const n = counts[b] as number;
      s.counts[b] = (s.counts[b] as number) + n;
      s.count += n;
    }
    s.sum += sum;
  }

  /** Drops one series. */
  remove(labels: Labels<T>): void {
    this.series.delete(this.keyOf(labels));
  }

  /** Drops every series (prom-client's `reset`). */
  reset(): void {
    this.series = new Map();
  }

  /** The metric as prom-client's Registry renders it. */
  async getForPromString(): Promise<ExportedMetric> {
    if (this.collect) await this.collect();
    const values: ExportedValue[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      this.bounds.forEach((bound, i) => {
        acc += s.counts[i] as number;
        values.push({ labels: { le: bound }, sharedLabels: s.labels, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({
        labels: { le: '+Inf' },
        sharedLabels: s.labels,
        value: s.count,
        metricName: `${this.name}_bucket`,
      });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: this.aggregator };
  }

  /** Awaits the scrape-time hook, as prom-client does before a read. */
  async prepare(): Promise<void> {
    if (this.collect) await this.collect();
  }

  /**
   * Writes the lines {@link getForPromString} describes (each with its newline first), series by series, giving the
   * event loop a turn between slices: no list of every bucket of every series is built.
   */
  async writeLines(push: (text: string) => void, yielder: SliceYielder): Promise<void> {
    const bucket = `${this.name}_bucket`;
    const sumName = `${this.name}_sum`;
    const countName = `${this.name}_count`;
    const noLabels = {};
    for (const s of this.series.values()) {
      s.shared ??= formatLabels(s.labels).join(',');
      const shared = s.shared;
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i] as number;
        push(sampleLine(bucket, { le: this.bounds[i] as number }, shared, acc));
      }
      push(sampleLine(bucket, { le: '+Inf' }, shared, s.count));
      push(sampleLine(sumName, noLabels, shared, s.sum));
      push(sampleLine(countName, noLabels, shared, s.count));
      const pause = yielder.maybeYield();
      if (pause) await pause;
    }
  }

  /** The metric as JSON (labels of each value merged, as prom-client's `get`). */
  async get(): Promise<ExportedMetric> {
    const data = await this.getForPromString();
    const values = data.values.map(({ sharedLabels, labels, ...rest }) => ({
      ...rest,
      labels: { ...labels, ...sharedLabels },
    }));
    return { ...data, values };
  }

  private keyOf(labels: Labels<T>): string {
    return this.labelNames.map((n) => String(labels[n] ?? '')).join('\u0000');
  }

  private seriesOf(labels: Labels<T>): Series {
    const key = this.keyOf(labels);
    let s = this.series.get(key);
    if (!s) {
      const own: Record<string, string | number> = {};
      for (const n of this.labelNames) if (labels[n] !== undefined) own[n] = labels[n] as string | number;
      s = {
        labels: own,
        counts: Array.from({ length: this.bounds.length + 1 }, () => 0),
        sum: 0,
        count: 0,
        shared: undefined,
      };
      this.series.set(key, s);
    }
    return s;
  }
}
