// The worker thread of {@link ConfigLoadWorker}: loads configuration files with `loadConfigFile` off the daemon's
// event loop and posts each result back as plain data in slices (the model survives a structured clone unchanged).
import { parentPort, type MessagePort } from 'node:worker_threads';
import { isLdirError } from '../errors';
import { loadConfigFile } from './load';
import {
  DIAGNOSTICS_PER_SLICE,
  virtualSlices,
  type LoadReply,
  type LoadRequest,
  type WorkerRequest,
} from './load-worker-protocol';

/** Loads waiting for the daemon to acknowledge their last slice, by id. */
const acks = new Map<number, () => void>();

/** Loads one file and posts its result: diagnostics and virtual services in slices, then the end. */
async function answer(port: MessagePort, request: LoadRequest): Promise<void> {
  const { id } = request;
  const post = (reply: LoadReply): void => port.postMessage(reply);
  /** Posts a slice and waits until the daemon has taken it. */
  const slice = (reply: LoadReply): Promise<void> =>
    new Promise((resolve) => {
      acks.set(id, resolve);
      post(reply);
    });
  try {
    const r = await loadConfigFile(request.path, request.options);
    for (let i = 0; i < r.diagnostics.length; i += DIAGNOSTICS_PER_SLICE) {
      await slice({ id, kind: 'diagnostics', items: r.diagnostics.slice(i, i + DIAGNOSTICS_PER_SLICE) });
    }
    let head;
    if (r.config) {
      const { virtualServices, ...rest } = r.config;
      for (const items of virtualSlices(virtualServices)) await slice({ id, kind: 'virtuals', items });
      head = rest;
    }
    post({ id, kind: 'end', ok: true, ...(head ? { head } : {}), sources: r.sources, secrets: r.secrets });
  } catch (err) {
    post({
      id,
      kind: 'end',
      ok: false,
      error: isLdirError(err)
        ? { message: err.message, code: err.code, details: { ...err.details } }
        : { message: err instanceof Error ? err.message : String(err) },
    });
  }
}

const port = parentPort;
if (port) {
  port.on('message', (message: WorkerRequest) => {
    if (message.kind === 'load') {
      void answer(port, message);
      return;
    }
    const ack = acks.get(message.id);
    acks.delete(message.id);
    ack?.();
  });
}
