// The Prometheus text format (0.0.4) of one sample line, written as prom-client 15's registry writes it (escaping,
// label order, number formatting): shared by the sliced exposition and the series that write their own lines.

/** Escapes a metric name or help text (backslash, newline). */
export const escapeString = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** Escapes a label value (backslash, newline, double quote); numbers as they are. */
export const escapeLabelValue = (v: string | number): string | number =>
  typeof v === 'string' ? escapeString(v).replace(/"/g, '\\"') : v;

/** A sample value as prom-client writes it (`Nan`, `+Inf`, `-Inf`, else the number). */
export function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/** `name="value"` for each label, in the object's order, leaving out those in `exclude`. */
export function formatLabels(
  labels: Record<string, string | number>,
  exclude?: Record<string, string | number>,
): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (!exclude || !Object.hasOwn(exclude, name)) out.push(`${name}="${escapeLabelValue(value)}"`);
  }
  return out;
}

/**
 * One sample line with the newline before it: `\n<name>{<own labels>,<shared labels>} <value>` (no braces without
 * labels). `shared` is the shared labels already formatted (`a="1",b="2"`), or undefined.
 */
export function sampleLine(
  name: string,
  labels: Record<string, string | number>,
  shared: string | undefined,
  value: number,
  exclude?: Record<string, string | number>,
): string {
  const own = formatLabels(labels, exclude);
  if (shared) own.push(shared);
  return `\n${name}${own.length > 0 ? `{${own.join(',')}}` : ''} ${valueText(value)}`;
}
