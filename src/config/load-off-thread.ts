// Loads configuration files in a worker thread, so that a reload of a big file (parse, validation, the model) never
// blocks the daemon's event loop: checks, /healthz and the control socket go on while it loads (issue 21, item 7).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ErrorCodes, LdirError } from '../errors';
import type { Logger } from '../log';
import { deepFreeze } from './build-model';
import { loadConfigFile, type LoadOptions } from './load';
import type { Config, VirtualService } from '../model';
import type { Diagnostic } from './diagnostics';
import type { LoadReply, PlainLoadOptions, WorkerLoadResult, WorkerRequest } from './load-worker-protocol';

/** A load under way in the worker: the slices received so far and how it ends. */
interface PendingLoad {
  readonly diagnostics: Diagnostic[];
  readonly virtuals: VirtualService[];
  readonly resolve: (r: WorkerLoadResult) => void;
  readonly reject: (e: Error) => void;
}

/** The compiled worker script beside this module. */
export const LOAD_WORKER_SCRIPT = join(__dirname, 'load-worker.js');

/** Options of {@link ConfigLoadWorker}. */
export interface ConfigLoadWorkerOptions {
  /** The worker's script; default {@link LOAD_WORKER_SCRIPT}. */
  readonly script?: string;
  readonly logger?: Logger;
}

/** Where a load ran: in the worker thread, or on the caller's thread (and why). */
export type LoadPlace = { readonly thread: 'worker' } | { readonly thread: 'caller'; readonly why: string };

/** The plain-data part of `options`, or why the options cannot cross to a worker (an injected function). */
function plainOptions(options: LoadOptions): { ok: true; value: PlainLoadOptions } | { ok: false; why: string } {
  const injected = (['resolver', 'probes', 'includeFiles', 'locateExecuted'] as const).filter(
    (k) => options[k] !== undefined,
  );
  if (injected.length > 0) return { ok: false, why: `injected ${injected.join(', ')}` };
  const { hostname, format, debug } = options;
  return {
    ok: true,
    value: {
      ...(hostname !== undefined ? { hostname } : {}),
      ...(format !== undefined ? { format } : {}),
      ...(debug !== undefined ? { debug } : {}),
    },
  };
}

/**
 * One worker thread that loads configuration files with `loadConfigFile` and hands back the same result (without
 * the document): the same model (frozen again), diagnostics, sources and secrets, and the same `LdirError` when the
 * file cannot be read. The result comes in slices (src/config/load-worker-protocol.ts), each taken as one event of
 * this thread, so that a big model never holds it for long. The worker starts at the first load and stays (its modules loaded once), unreferenced while
 * idle; {@link close} ends it. Loads with injected probes, resolver or file system (tests), or where no worker can
 * be started (the script is missing: sources run without a build), run on the caller's thread, as before.
 */
export class ConfigLoadWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, PendingLoad>();
  private readonly script: string;
  private closed = false;
  /** Where the last load ran. */
  lastPlace: LoadPlace | undefined;

  constructor(private readonly options: ConfigLoadWorkerOptions = {}) {
    this.script = options.script ?? LOAD_WORKER_SCRIPT;
  }

  /** Loads `path` as `loadConfigFile(path, options)` would, off this thread when it can. */
  async load(path: string, options: LoadOptions = {}): Promise<WorkerLoadResult> {
    const plain = plainOptions(options);
    const why = !plain.ok
      ? plain.why
      : this.closed
        ? 'closed'
        : !existsSync(this.script)
          ? `no worker script ${this.script}`
          : undefined;
    if (why !== undefined || !plain.ok) return this.inThread(path, options, why ?? 'options');
    let worker: Worker;
    try {
      worker = this.ensureWorker();
    } catch (err) {
      return this.inThread(path, options, `no worker: ${err instanceof Error ? err.message : String(err)}`);
    }
    const id = this.nextId++;
    const result = new Promise<WorkerLoadResult>((resolve, reject) =>
      this.pending.set(id, { diagnostics: [], virtuals: [], resolve, reject }),
    );
    worker.ref();
    worker.postMessage({ kind: 'load', id, path, options: plain.value } satisfies WorkerRequest);
    this.lastPlace = { thread: 'worker' };
    return result;
  }

  /** Ends the worker (a load under way is rejected). Idempotent; later loads run on the caller's thread. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
    this.failAll(new Error('the configuration loader was closed'));
  }

  private async inThread(path: string, options: LoadOptions, why: string): Promise<WorkerLoadResult> {
    this.lastPlace = { thread: 'caller', why };
    const { config, diagnostics, sources, secrets } = await loadConfigFile(path, options);
    return { config, diagnostics, sources, secrets };
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.script);
    worker.unref();
    worker.on('message', (reply: LoadReply) => this.settle(reply));
    worker.on('error', (err) => {
      this.options.logger?.error({ err: err.message }, 'configuration loader thread failed');
      this.dropWorker(worker, new Error(`the configuration loader thread failed: ${err.message}`));
    });
    worker.on('exit', (code) => this.dropWorker(worker, new Error(`the configuration loader thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  /**
   * Takes one message of the worker: a slice is added (its virtual services frozen at once, so that no step takes
   * longer than one slice), the end settles the load with the model put together and frozen.
   */
  private settle(reply: LoadReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    if (reply.kind === 'diagnostics' || reply.kind === 'virtuals') {
      if (reply.kind === 'diagnostics') for (const d of reply.items) waiting.diagnostics.push(d);
      else for (const v of reply.items) waiting.virtuals.push(deepFreeze(v));
      // The next slice once this thread has been round its event loop (timers, sockets) after this one.
      const worker = this.worker;
      setImmediate(() => worker?.postMessage({ kind: 'ack', id: reply.id } satisfies WorkerRequest));
      return;
    }
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (reply.ok) {
      const config: Config | undefined = reply.head
        ? deepFreeze({ ...reply.head, virtualServices: waiting.virtuals })
        : undefined;
      waiting.resolve({ config, diagnostics: waiting.diagnostics, sources: reply.sources, secrets: reply.secrets });
    } else if (reply.error.code !== undefined) {
      waiting.reject(new LdirError(reply.error.code, reply.error.message, { details: reply.error.details ?? {} }));
    } else {
      waiting.reject(new LdirError(ErrorCodes.INTERNAL, `loading the configuration failed: ${reply.error.message}`));
    }
  }

  private dropWorker(worker: Worker, err: Error): void {
    if (this.worker === worker) this.worker = undefined;
    this.failAll(err);
  }

  private failAll(err: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const w of waiting) w.reject(err);
  }
}
