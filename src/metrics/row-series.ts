// A gauge or counter with one row per label set, written straight into the exposition text in slices (issue 21, big
// tables): the per-real series, without prom-client's label validation and hashing per sample nor a list of every
// sample built in one turn of the event loop. Same exposition and the same JSON as prom-client's Gauge and Counter.
import type { Registry } from 'prom-client';
import type { SliceYielder } from '../system/slice-yielder';
import { sampleLine } from './exposition-text';

type Labels<T extends string> = Partial<Record<T, string | number>>;

/** One sample: the labels as first set (their order is the exposition's), the value, and the rewrite it belongs to. */
interface Row {
  readonly labels: Record<string, string | number>;
  value: number;
  /** The {@link RowSeries.rewrite} in which it was last written: a row of an older one is not a sample any more. */
  generation: number;
}

/** Options of {@link RowSeries}. */
export interface RowSeriesOptions<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly labelNames: readonly T[];
  readonly registers: readonly Registry[];
  /** Awaited before every read (prom-client's `collect`). */
  readonly collect?: () => void | Promise<void>;
}

/** A value of the metric as prom-client's registry reads it. */
interface ExportedValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

/**
 * A metric registered like prom-client's Gauge or Counter, with the samples kept in insertion order (as prom-client
 * keeps them) and {@link writeLines} for the sliced exposition ({@link renderExposition}). `set`, `inc`, `remove` and
 * `reset` behave as prom-client's; labels are not validated (the callers are ldir's own series).
 */
export class RowSeries<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly aggregator = 'sum' as const;
  private readonly labelNames: readonly T[];
  private readonly collect: (() => void | Promise<void>) | undefined;
  private rows = new Map<string, Row>();
  /** Counts {@link rewrite}s: rows written since the last one are the samples. */
  private generation = 0;
  /** Rows of the current generation (the samples). */
  private live = 0;

  constructor(options: RowSeriesOptions<T>) {
    this.name = options.name;
    this.help = options.help;
    this.type = options.type;
    this.labelNames = [...options.labelNames];
    this.collect = options.collect;
    for (const r of options.registers) r.registerMetric(this as never);
  }

  /** Sets the sample of `labels` (a gauge's `set`). */
  set(labels: Labels<T>, value: number): void {
    const row = this.rowOf(labels);
    row.value = value;
  }

  /** Adds `by` (default 1) to the sample of `labels`, which starts at 0 (a counter's `inc`; `inc(labels, 0)` creates it). */
  inc(labels: Labels<T>, by = 1): void {
    const row = this.rowOf(labels);
    row.value += by;
  }

  /** Drops the sample of `labels`. */
  remove(labels: Labels<T>): void {
    const key = this.keyOf(labels);
    const row = this.rows.get(key);
    if (row === undefined) return;
    if (row.generation === this.generation) this.live--;
    this.rows.delete(key);
  }

  /** Drops every sample. */
  reset(): void {
    this.rows = new Map();
    this.live = 0;
  }

  /**
   * Drops every sample as {@link reset} does, for a series written again from its source at every scrape, but keeps
   * the rows to write the new values into: at 100,000 reals a reset and rewrite made a new row, label object and map
   * entry for each of them at every scrape (hundreds of MB promoted to the old generation for the garbage collector
   * to mark). Rows not written again until {@link dropStale} are not samples meanwhile, and go then.
   */
  rewrite(): void {
    this.generation++;
    this.live = 0;
  }

  /** After a {@link rewrite}: forgets the rows not written since, in slices with a `yielder` (none in the steady state). */
  async dropStale(yielder?: SliceYielder): Promise<void> {
    if (this.live === this.rows.size) return;
    const generation = this.generation;
    for (const [key, row] of this.rows) {
      if (row.generation !== generation) this.rows.delete(key);
      const pause = yielder?.maybeYield();
      if (pause) await pause;
      if (generation !== this.generation) return; // rewritten meanwhile: the next dropStale goes on
    }
  }

  /** Number of samples. */
  get size(): number {
    return this.live;
  }

  /** Awaits the scrape-time hook, as prom-client does before a read. */
  async prepare(): Promise<void> {
    if (this.collect) await this.collect();
  }

  /** The metric as prom-client's registry reads it (for `Registry.metrics()` and JSON; a big table's list is big). */
  async get(): Promise<{
    name: string;
    help: string;
    type: 'gauge' | 'counter';
    values: ExportedValue[];
    aggregator: 'sum';
  }> {
    await this.prepare();
    const values: ExportedValue[] = [];
    for (const row of this.rows.values())
      if (row.generation === this.generation) values.push({ labels: row.labels, value: row.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Writes every sample as an exposition line (`\n` first), giving the event loop a turn between slices. */
  async writeLines(push: (text: string) => void, yielder: SliceYielder): Promise<void> {
    const name = this.name;
    for (const row of this.rows.values()) {
      if (row.generation === this.generation) push(sampleLine(name, row.labels, undefined, row.value));
      const pause = yielder.maybeYield();
      if (pause) await pause;
    }
  }

  /** The row of `labels` in the current generation: a row of an older one starts again at 0, a new one is made. */
  private rowOf(labels: Labels<T>): Row {
    const key = this.keyOf(labels);
    const row = this.rows.get(key);
    if (row === undefined) {
      const made: Row = {
        labels: { ...labels } as Record<string, string | number>,
        value: 0,
        generation: this.generation,
      };
      this.rows.set(key, made);
      this.live++;
      return made;
    }
    if (row.generation !== this.generation) {
      row.generation = this.generation;
      row.value = 0;
      this.live++;
    }
    return row;
  }

  private keyOf(labels: Labels<T>): string {
    const names = this.labelNames;
    if (names.length === 2) return `${labels[names[0] as T] ?? ''}\u0000${labels[names[1] as T] ?? ''}`;
    let key = '';
    for (const n of names) key += `${labels[n] ?? ''}\u0000`;
    return key;
  }
}
