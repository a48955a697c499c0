// One rendering of the exposition for every scrape that arrives while it runs or just after it: many scrapers (or
// many clients that ask and never read the answer) cost one rendering and one copy of the body, not one each, and
// rendering never takes more than a fifth of the daemon's time however often it is asked.
import { createGzip } from 'node:zlib';
import { ErrorCodes, LdirError } from '../errors';
import type { Metrics } from './types';

/** A rendered exposition, shared by the responses that asked for it while it was rendered. */
export interface RenderedScrape {
  readonly contentType: string;
  /** The body as buffers, in order (a big exposition is never copied into one). */
  readonly chunks: readonly Buffer[];
  /** Total bytes of `chunks`. */
  readonly length: number;
  /** The body in one buffer (copied when asked: tests and small tables). */
  readonly body: Buffer;
  /** The body gzipped, made once for all the responses that want it (by zlib's thread pool, chunk by chunk). */
  gzipped(): Promise<Buffer>;
}

/** Gzips `chunks` through a zlib stream: the compression runs off the event loop, one chunk at a time. */
function gzipChunks(chunks: readonly Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const zip = createGzip();
    const out: Buffer[] = [];
    zip.on('data', (b: Buffer) => out.push(b));
    zip.on('end', () => resolve(Buffer.concat(out)));
    zip.on('error', reject);
    for (const c of chunks) zip.write(c);
    zip.end();
  });
}

/** Resolves with `p`, or rejects with a METRICS_SCRAPE_FAILED error after `ms`. */
async function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LdirError(ErrorCodes.METRICS_SCRAPE_FAILED, `scrape not rendered within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A rendering is reused for this many times its own duration after it finished (at most {@link REUSE_MAX_MS}): a
 * director whose exposition takes 100 ms to render spends at most a fifth of its time rendering it, whatever the
 * rate of requests, and one whose exposition takes 2 ms answers a scrape 10 ms later with fresh values.
 */
export const REUSE_FACTOR = 4;
/** Longest reuse of one rendering: scrapes a second apart always see fresh values. */
export const REUSE_MAX_MS = 1_000;

/**
 * A scrape function that shares renderings: a request that arrives while one runs gets its result, and so does one
 * that arrives within {@link REUSE_FACTOR} times its duration after it (see there). Each rendering is bounded by
 * `timeoutMs` for each request (METRICS_SCRAPE_FAILED after it; the rendering goes on and is shared by the requests
 * that come meanwhile); a failed one is not reused. `now` is monotonic milliseconds.
 */
export function sharedScrape(
  metrics: Pick<Metrics, 'scrape'>,
  timeoutMs: number,
  now: () => number = () => performance.now(),
): () => Promise<RenderedScrape> {
  let inFlight: Promise<RenderedScrape> | undefined;
  let last: { readonly result: Promise<RenderedScrape>; readonly freshUntil: number } | undefined;
  return () => {
    // A rendering that outlives a request's bound goes on and is shared by the requests after it: a slow scrape of a
    // big table is never rendered twice at once.
    if (inFlight) return bounded(inFlight, timeoutMs);
    if (last && now() < last.freshUntil) return last.result;
    const started = now();
    const rendering = metrics.scrape().then((scraped): RenderedScrape => {
      const { chunks, length } = scraped;
      let zipped: Promise<Buffer> | undefined;
      let whole: Buffer | undefined;
      return {
        contentType: scraped.contentType,
        chunks,
        length,
        get body(): Buffer {
          return (whole ??= Buffer.concat(chunks as Buffer[], length));
        },
        gzipped: () => (zipped ??= gzipChunks(chunks)),
      };
    });
    inFlight = rendering;
    rendering
      .then(
        () => {
          const finished = now();
          last = {
            result: rendering,
            freshUntil: finished + Math.min(REUSE_MAX_MS, REUSE_FACTOR * (finished - started)),
          };
        },
        () => {
          last = undefined;
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    return bounded(rendering, timeoutMs);
  };
}
