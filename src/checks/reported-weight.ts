// The weight a check reports: an http answer's weight header, an external check's `weight=N` output line.
import { MAX_CHECK_WEIGHT } from '../config/directives-weights';

/** A weight as a check reports it: digits only, at most {@link MAX_CHECK_WEIGHT}; undefined for anything else. */
export function parseReportedWeight(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (t === undefined || !/^\d{1,10}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= MAX_CHECK_WEIGHT ? n : undefined;
}

/**
 * The weight in a `weightheader` value as an HTTP client hands it over: a repeated header is a list (undici) or its
 * values joined with commas (RFC 9110, the native path's parser); the last value counts.
 */
export function weightFromHeader(value: string | readonly string[] | undefined): number | undefined {
  const last = typeof value === 'string' ? value : value?.at(-1);
  return parseReportedWeight(last?.split(',').at(-1));
}

/** The last `weight=N` line of an external check's standard output (other lines are ignored), if any. */
export function weightFromOutput(output: string): number | undefined {
  let weight: number | undefined;
  for (const line of output.split('\n')) {
    const m = /^\s*weight\s*=\s*(\S+)\s*$/.exec(line);
    if (m) weight = parseReportedWeight(m[1]) ?? weight;
  }
  return weight;
}
