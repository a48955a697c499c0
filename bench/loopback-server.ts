// The benchmarks' real servers: ONE Node HTTP server in a child process, bound to 0.0.0.0 on one port, so that every
// 127/8 address reaches it and its CPU is not the benchmark's. "10,000 real servers" in bench:checks are 10,000
// addresses answered by this one process (one accept queue, one event loop), not 10,000 servers; the benchmarks
// connect only to 127.0.0.0/8.
import { fork, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Child mode (this file run with --serve): serves, reports its port, exits when the parent goes. */
function serve(): void {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2', connection: 'close' });
    res.end('ok');
  });
  server.on('connection', (s) => s.on('error', () => undefined));
  server.listen({ port: 0, host: '0.0.0.0', backlog: 4096 }, () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
  process.on('disconnect', () => process.exit(0));
}

/** Starts the server process; resolves with it and its port. */
export function startLoopbackServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(__filename, ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, port: (m as { port: number }).port }));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

if (require.main === module && process.argv.includes('--serve')) serve();
