// Messages between the daemon and its configuration-loading worker thread (src/config/load-worker.ts). A result is
// sent in slices (diagnostics, then virtual services, then the rest), each after the daemon acknowledged the one
// before, so that its thread takes each in a bounded time: one structured clone of 100,000 reals took it seconds,
// between which nothing else ran.
import type { ErrorCode } from '../errors';
import type { Config, VirtualService } from '../model';
import type { Diagnostic } from './diagnostics';
import type { LoadOptions, LoadResult } from './load';

/** The options a worker can be given: plain data only (no injected resolver, probes or file system). */
export type PlainLoadOptions = Pick<LoadOptions, 'hostname' | 'format' | 'debug'>;

/** A load asked of the worker. */
export interface LoadRequest {
  readonly kind: 'load';
  readonly id: number;
  readonly path: string;
  readonly options: PlainLoadOptions;
}

/**
 * The daemon took a slice of load `id` and went once round its event loop: the worker sends the next one. Without
 * it the slices queue up and the daemon's thread takes them all in one go.
 */
export interface SliceAck {
  readonly kind: 'ack';
  readonly id: number;
}

/** What the daemon sends the worker. */
export type WorkerRequest = LoadRequest | SliceAck;

/** What a worker's load gives back: a {@link LoadResult} without the document (only `ldir convert` needs it). */
export type WorkerLoadResult = Omit<LoadResult, 'document'>;

/** At most this many diagnostics in one {@link LoadSlice}. */
export const DIAGNOSTICS_PER_SLICE = 500;
/** A slice of virtual services holds at most this many real servers (or one virtual service, whatever its size). */
export const REALS_PER_SLICE = 1_000;

/** The worker's messages for one {@link LoadRequest}: any number of slices, then one end. */
export type LoadReply =
  | { readonly id: number; readonly kind: 'diagnostics'; readonly items: readonly Diagnostic[] }
  | { readonly id: number; readonly kind: 'virtuals'; readonly items: readonly VirtualService[] }
  | {
      readonly id: number;
      readonly kind: 'end';
      readonly ok: true;
      /** The model without its virtual services (sent in slices before); absent when the file has errors. */
      readonly head?: Omit<Config, 'virtualServices'>;
      readonly sources: LoadResult['sources'];
      readonly secrets: LoadResult['secrets'];
    }
  | {
      readonly id: number;
      readonly kind: 'end';
      readonly ok: false;
      /** The error thrown; `code` and `details` when it was an `LdirError` (the file could not be read). */
      readonly error: {
        readonly message: string;
        readonly code?: ErrorCode;
        readonly details?: Record<string, unknown>;
      };
    };

/** The virtual services in slices of at most {@link REALS_PER_SLICE} reals (a bigger virtual alone). */
export function virtualSlices(virtuals: readonly VirtualService[]): VirtualService[][] {
  const slices: VirtualService[][] = [];
  let slice: VirtualService[] = [];
  let reals = 0;
  for (const v of virtuals) {
    const n = v.reals.length + 1;
    if (slice.length > 0 && reals + n > REALS_PER_SLICE) {
      slices.push(slice);
      slice = [];
      reals = 0;
    }
    slice.push(v);
    reals += n;
  }
  if (slice.length > 0) slices.push(slice);
  return slices;
}
