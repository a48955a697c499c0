// The worker thread of {@link ConfigLoadWorker}: loads configuration files with `loadConfigFile` off the daemon's
// event loop and posts each result back as plain data (the model survives a structured clone unchanged).
import { parentPort } from 'node:worker_threads';
import { isLdirError } from '../errors';
import { loadConfigFile } from './load';
import type { LoadReply, LoadRequest } from './load-worker-protocol';

const port = parentPort;
if (port) {
  port.on('message', (request: LoadRequest) => {
    loadConfigFile(request.path, request.options).then(
      (r): LoadReply => ({ id: request.id, ok: true, result: { config: r.config, diagnostics: r.diagnostics, sources: r.sources, secrets: r.secrets } }),
      (err: unknown): LoadReply => ({
        id: request.id, ok: false,
        error: isLdirError(err)
          ? { message: err.message, code: err.code, details: err.details }
          : { message: err instanceof Error ? err.message : String(err) },
      }),
    ).then((reply) => port.postMessage(reply));
  });
}
