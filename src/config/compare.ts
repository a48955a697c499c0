// Semantic comparison of two models: equal when they mean the same, wherever and however they were written.
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../model';

/** A copy of a model without file names (the included ones too), formats and source positions. */
export function withoutSources(config: Config): unknown {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (k !== 'source') out[k] = strip(x);
      return out;
    }
    return v;
  };
  const { file: _file, includedFiles: _included, format: _format, ...rest } = config;
  return strip(rest);
}

/** True when two models configure exactly the same director. */
export function sameMeaning(a: Config, b: Config): boolean {
  return isDeepStrictEqual(withoutSources(a), withoutSources(b));
}
