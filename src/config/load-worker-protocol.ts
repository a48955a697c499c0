// Messages between the daemon and its configuration-loading worker thread (src/config/load-worker.ts).
import type { ErrorCode } from '../errors';
import type { LoadOptions, LoadResult } from './load';

/** The options a worker can be given: plain data only (no injected resolver, probes or file system). */
export type PlainLoadOptions = Pick<LoadOptions, 'hostname' | 'format' | 'debug'>;

/** A load asked of the worker. */
export interface LoadRequest {
  readonly id: number;
  readonly path: string;
  readonly options: PlainLoadOptions;
}

/** What a worker's load gives back: a {@link LoadResult} without the document (only `ldir convert` needs it). */
export type WorkerLoadResult = Omit<LoadResult, 'document'>;

/** The worker's answer to one {@link LoadRequest}. */
export type LoadReply =
  | { readonly id: number; readonly ok: true; readonly result: WorkerLoadResult }
  | {
    readonly id: number; readonly ok: false;
    /** The error thrown; `code` and `details` when it was an `LdirError` (the file could not be read). */
    readonly error: { readonly message: string; readonly code?: ErrorCode; readonly details?: Record<string, unknown> };
  };
