// One rendering of the exposition for every scrape that arrives while it runs: many scrapers (or many clients that
// ask and never read the answer) cost one rendering and one copy of the body, not one each.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { ErrorCodes, LdirError } from '../errors';
import type { Metrics } from './types';

const gzipAsync = promisify(gzip);

/** A rendered exposition, shared by the responses that asked for it while it was rendered. */
export interface RenderedScrape {
  readonly contentType: string;
  readonly body: Buffer;
  /** The body gzipped, made once for all the responses that want it. */
  gzipped(): Promise<Buffer>;
}

/** Resolves with `p`, or rejects with a METRICS_SCRAPE_FAILED error after `ms`. */
async function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LdirError(ErrorCodes.METRICS_SCRAPE_FAILED, `scrape not rendered within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A scrape function that shares the rendering in progress: a request that arrives while one runs gets its result.
 * Each rendering is bounded by `timeoutMs` (METRICS_SCRAPE_FAILED after it); the next request after a rendering
 * settled, or gave up, starts a new one.
 */
export function sharedScrape(metrics: Pick<Metrics, 'scrape'>, timeoutMs: number): () => Promise<RenderedScrape> {
  let inFlight: Promise<RenderedScrape> | undefined;
  return () => {
    inFlight ??= bounded(metrics.scrape(), timeoutMs).then((scraped): RenderedScrape => {
      const body = Buffer.from(scraped.body, 'utf8');
      let zipped: Promise<Buffer> | undefined;
      return { contentType: scraped.contentType, body, gzipped: () => (zipped ??= gzipAsync(body)) };
    }).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}
