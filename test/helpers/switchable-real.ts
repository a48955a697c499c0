// One HTTP real server on a loopback address that a daemon test stops and starts again, and the kernel weight the
// memory backend holds for it: the set-up the daemon tests of risecount and of sub-second intervals share.
import * as http from 'node:http';
import type { MemoryBackend } from '../../src/ipvs/memory';

/** An HTTP server on `address:port` answering with `handler`, started and stopped by the test. */
export class SwitchableReal {
  private server: http.Server | undefined;

  constructor(
    readonly address: string,
    private readonly handler: http.RequestListener,
  ) {}

  /** Listens on `port` (resolves once listening). */
  start(port: number): Promise<void> {
    const s = http.createServer(this.handler);
    this.server = s;
    return new Promise((resolve) => s.listen(port, this.address, () => resolve()));
  }

  /** Closes the server and every connection it holds; nothing when it is not running. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}

/** The kernel weight of `real` in the service 127.0.0.1:80 of `backend` (undefined when it has no entry). */
export async function kernelWeightOf(backend: MemoryBackend, real: string): Promise<number | undefined> {
  const table = await backend.list();
  const service = table.find(
    (s) => 'address' in s.service && s.service.address === '127.0.0.1' && s.service.port === 80,
  );
  return service?.destinations.find((d) => d.address === real)?.weight;
}
