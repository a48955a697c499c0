// A gauge or counter with one row per label set, written straight into the exposition text in slices (issue 21, big
// tables): the per-real series, without prom-client's label validation and hashing per sample nor a list of every
// sample built in one turn of the event loop. The same samples and the same JSON values as prom-client's Gauge and
// Counter; rows are grouped by their label values (label by label, each in first-set order) rather than in the order
// they were first set, which Prometheus does not read.
import type { Registry } from 'prom-client';
import type { SliceYielder } from '../system/slice-yielder';
import { escapeLabelValue, valueText } from './exposition-text';

type LabelValue = string | number | undefined;
type Labels<T extends string> = Partial<Record<T, string | number>>;

/** One sample: its value and the rewrite it belongs to. Its labels are the keys on the way to it. */
interface Row {
  value: number;
  /** The {@link RowSeries.rewrite} in which it was last written: a row of an older one is not a sample any more. */
  generation: number;
}

/**
 * The rows by label value, one level per label name: the last level holds the rows. No key string and no labels
 * object per row: at 100,000 reals and some twenty series per real, those were 68 strings and 32 objects per real
 * for the garbage collector to mark (about 5 KB per real of a 1 GB heap).
 */
type Level = Map<LabelValue, Level | Row>;

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
 * A metric registered like prom-client's Gauge or Counter, with {@link writeLines} for the sliced exposition
 * ({@link renderExposition}). `set`, `inc`, `remove` and `reset` behave as prom-client's; labels are not validated (the
 * callers are ldir's own series) and are written in the order of `labelNames`.
 */
export class RowSeries<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly aggregator = 'sum' as const;
  private readonly labelNames: readonly T[];
  private readonly collect: (() => void | Promise<void>) | undefined;
  private root: Level = new Map();
  /** Counts {@link rewrite}s: rows written since the last one are the samples. */
  private generation = 0;
  /** Rows of the current generation (the samples). */
  private live = 0;
  /** Rows, samples or not. */
  private rows = 0;

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
    this.rowOf(labels).value = value;
  }

  /** Adds `by` (default 1) to the sample of `labels`, which starts at 0 (a counter's `inc`; `inc(labels, 0)` creates it). */
  inc(labels: Labels<T>, by = 1): void {
    this.rowOf(labels).value += by;
  }

  /** Drops the sample of `labels`. */
  remove(labels: Labels<T>): void {
    const names = this.labelNames;
    const path: Level[] = [];
    let level = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      const next = level.get(labels[names[i] as T]) as Level | undefined;
      if (next === undefined) return;
      path.push(level);
      level = next;
    }
    const key = labels[names[names.length - 1] as T];
    const row = level.get(key) as Row | undefined;
    if (row === undefined) return;
    if (row.generation === this.generation) this.live--;
    this.rows--;
    level.delete(key);
    // Empty levels go too (a real that left the configuration leaves nothing behind).
    for (let i = path.length - 1; i >= 0 && level.size === 0; i--) {
      const parent = path[i] as Level;
      parent.delete(labels[names[i] as T]);
      level = parent;
    }
  }

  /** Drops every sample. */
  reset(): void {
    this.root = new Map();
    this.live = 0;
    this.rows = 0;
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
    if (this.live === this.rows) return;
    const generation = this.generation;
    const stale: Array<Labels<T>> = [];
    for (const [labels, row] of this.walk()) {
      if (row.generation !== generation) stale.push(labels);
      const pause = yielder?.maybeYield();
      if (pause) await pause;
      if (generation !== this.generation) return; // rewritten meanwhile: the next dropStale goes on
    }
    for (const labels of stale) this.remove(labels);
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
    for (const [labels, row] of this.walk())
      if (row.generation === this.generation)
        values.push({ labels: labels as Record<string, string | number>, value: row.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Writes every sample as an exposition line (`\n` first), giving the event loop a turn between slices. */
  async writeLines(push: (text: string) => void, yielder: SliceYielder): Promise<void> {
    const names = this.labelNames;
    const lineStart = `\n${this.name}`;
    const generation = this.generation;
    // Depth-first, with the labels text of each level made once for all the rows under it.
    const visit = async (level: Level, depth: number, text: string): Promise<void> => {
      const name = names[depth];
      const leaf = depth >= names.length - 1;
      for (const [value, child] of level) {
        const own = value === undefined || name === undefined ? '' : `${name}="${escapeLabelValue(value)}"`;
        const labels = own === '' ? text : text === '' ? own : `${text},${own}`;
        if (!leaf) {
          await visit(child as Level, depth + 1, labels);
          continue;
        }
        const row = child as Row;
        if (row.generation !== generation) continue;
        push(`${lineStart}${labels === '' ? '' : `{${labels}}`} ${valueText(row.value)}`);
        const pause = yielder.maybeYield();
        if (pause) await pause;
      }
    };
    await visit(this.root, 0, '');
  }

  /** The row of `labels` in the current generation: a row of an older one starts again at 0, a new one is made. */
  private rowOf(labels: Labels<T>): Row {
    const names = this.labelNames;
    let level = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      const key = labels[names[i] as T];
      let next = level.get(key) as Level | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(key, next);
      }
      level = next;
    }
    const key = labels[names[names.length - 1] as T];
    const row = level.get(key) as Row | undefined;
    if (row === undefined) {
      const made: Row = { value: 0, generation: this.generation };
      level.set(key, made);
      this.live++;
      this.rows++;
      return made;
    }
    if (row.generation !== this.generation) {
      row.generation = this.generation;
      row.value = 0;
      this.live++;
    }
    return row;
  }

  /** Every row with its labels (made as it goes; labels without a value left out), depth first. */
  private *walk(): Generator<[Labels<T>, Row]> {
    const names = this.labelNames;
    const values: LabelValue[] = [];
    function* down(level: Level, depth: number): Generator<[Labels<T>, Row]> {
      for (const [value, child] of level) {
        values[depth] = value;
        if (depth < names.length - 1) {
          yield* down(child as Level, depth + 1);
          continue;
        }
        const labels: Partial<Record<T, string | number>> = {};
        for (let i = 0; i < names.length; i++) {
          const v = values[i];
          if (v !== undefined) labels[names[i] as T] = v;
        }
        yield [labels, child as Row];
      }
    }
    yield* down(this.root, 0);
  }
}
