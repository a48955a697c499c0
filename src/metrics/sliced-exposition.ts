// The text exposition of a prom-client registry, rendered in slices that give the event loop a turn (issue 21): the
// same bytes as `Registry.metrics()` (Prometheus 0.0.4 format), written as a list of buffers instead of one string.
import type { Registry } from 'prom-client';
import { SliceYielder } from '../system/slice-yielder';
import { escapeString, formatLabels, valueText } from './exposition-text';

/** One value of a metric as prom-client's registry reads it. */
interface ExportedValue {
  readonly labels?: Record<string, string | number>;
  readonly sharedLabels?: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

/** A metric as prom-client's registry reads it. */
interface ExportedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly values?: readonly ExportedValue[];
}

/** A registered metric: prom-client's own classes, and ldir's series that write their own lines (RowSeries, BulkHistogram). */
interface Readable {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  get(): Promise<ExportedMetric> | ExportedMetric;
  getForPromString?: () => Promise<ExportedMetric> | ExportedMetric;
  /** Awaits the scrape-time hook; with {@link writeLines}, instead of reading every value at once. */
  prepare?: () => Promise<void>;
  /** Writes every sample line (each with its newline first), in slices. */
  writeLines?: (push: (text: string) => void, yielder: SliceYielder) => Promise<void>;
}

const writesLines = (m: Readable): boolean => typeof m.writeLines === 'function' && typeof m.prepare === 'function';

/** A rendered exposition: its bytes as a list of buffers. */
export interface ExpositionChunks {
  readonly chunks: readonly Buffer[];
  /** Total bytes. */
  readonly length: number;
  /** Turns given to the event loop while it was written. */
  readonly yields: number;
}

/** Bytes of text gathered before they become one buffer. */
const CHUNK_CHARS = 64 * 1024;

/** The labels text of one value: `{a="1",b="2"}` or nothing. Shared label sets are formatted once per object. */
function labelsText(v: ExportedValue, shared: WeakMap<object, string>): string {
  const own = formatLabels(v.labels ?? {}, v.sharedLabels ?? {});
  let flat = '';
  if (v.sharedLabels) {
    const cached = shared.get(v.sharedLabels);
    if (cached !== undefined) flat = cached;
    else {
      flat = formatLabels(v.sharedLabels).join(',');
      shared.set(v.sharedLabels, flat);
    }
  }
  const parts = flat === '' ? own : [...own, flat];
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/**
 * Renders every metric of `registry` as `registry.metrics()` does (Prometheus text format; the registry has no default
 * labels, as ldir's never has), giving the event loop a turn every `sliceMs` of work. Every metric is read first, all
 * at once as prom-client does (so a shared `collect` hook runs once), then written value by value.
 */
export async function renderExposition(registry: Registry, sliceMs?: number): Promise<ExpositionChunks> {
  const metrics = registry.getMetricsAsArray() as unknown as Readable[];
  const read = await Promise.all(
    metrics.map((m) =>
      writesLines(m) ? m.prepare?.() : typeof m.getForPromString === 'function' ? m.getForPromString() : m.get(),
    ),
  );
  const yielder = new SliceYielder(sliceMs);
  const shared = new WeakMap<object, string>();
  const chunks: Buffer[] = [];
  let length = 0;
  let text: string[] = [];
  let chars = 0;
  const push = (s: string): void => {
    text.push(s);
    chars += s.length;
    if (chars >= CHUNK_CHARS) flush();
  };
  const flush = (): void => {
    if (text.length === 0) return;
    const b = Buffer.from(text.join(''), 'utf8');
    chunks.push(b);
    length += b.length;
    text = [];
    chars = 0;
  };
  for (let i = 0; i < read.length; i++) {
    const own = metrics[i] as Readable;
    const metric = (writesLines(own) ? own : read[i]) as ExportedMetric;
    const name = escapeString(metric.name);
    push(`${i > 0 ? '\n\n' : ''}# HELP ${name} ${escapeString(metric.help)}\n# TYPE ${name} ${metric.type}`);
    if (writesLines(own)) {
      await own.writeLines?.(push, yielder);
      continue;
    }
    for (const v of metric.values ?? []) {
      push(`\n${v.metricName ?? name}${labelsText(v, shared)} ${valueText(v.value)}`);
      const pause = yielder.maybeYield();
      if (pause) await pause;
    }
  }
  push('\n');
  flush();
  return { chunks, length, yields: yielder.yields };
}
