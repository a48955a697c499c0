// HTTP requests from a lab's client namespace through the VIP, each on a new connection, with the bytes each
// connection wrote and read: what a test compares the kernel's IPVS traffic counters with.
import { spawn } from 'node:child_process';
import type { NatLab } from './netns-lab';

/** One request: the real server that answered (from `hello from NAME`) and the TCP payload bytes each way. */
export interface CountedRequest {
  /** Namespace name of the real server that answered; undefined when the request failed. */
  readonly server?: string;
  /** Bytes the client wrote on the connection (the request). */
  readonly written: number;
  /** Bytes the client read on the connection (the whole answer, headers included). */
  readonly read: number;
  /** Why the request failed, when it did. */
  readonly error?: string;
}

// argv: host port count padBytes timeoutMs. Sequential requests, one connection each (Connection: close), the request
// padded by a header of padBytes so that its size dominates the packet headers; one JSON line per request.
const CLIENT_JS = `
const net = require('node:net');
const [host, port, count, pad, timeoutMs] = process.argv.slice(1);
const request = 'GET / HTTP/1.1\\r\\nHost: lab\\r\\nX-Pad: ' + 'p'.repeat(Number(pad)) + '\\r\\nConnection: close\\r\\n\\r\\n';
function one() {
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host, () => s.write(request));
    let body = '';
    let error;
    s.setEncoding('utf8');
    s.setTimeout(Number(timeoutMs), () => { error = 'timeout'; s.destroy(); });
    s.on('data', (d) => { body += d; });
    s.on('error', (e) => { error = error ?? e.code ?? e.message; });
    s.on('close', () => {
      const server = /hello from (\\S+)/.exec(body)?.[1];
      resolve({ ...(server && !error ? { server } : { error: error ?? 'no answer' }), written: s.bytesWritten, read: s.bytesRead });
    });
  });
}
(async () => { for (let i = 0; i < Number(count); i++) process.stdout.write(JSON.stringify(await one()) + '\\n'); })();
`;

/**
 * Sends `count` GETs to `host:port` from the client namespace of `lab`, one after the other, each on a new connection
 * (so the director schedules each), padded to about `padBytes` more than a bare request; resolves with what each
 * connection wrote and read and which real server answered. Bounded by `timeoutMs` in all, 5 s per request.
 */
export function countedRequests(
  lab: Pick<NatLab, 'clientNetns'>,
  host: string,
  port: number,
  count: number,
  padBytes = 1000,
  timeoutMs = 180_000,
): Promise<CountedRequest[]> {
  return new Promise((resolve, reject) => {
    const args = [
      'netns',
      'exec',
      lab.clientNetns,
      process.execPath,
      '-e',
      CLIENT_JS,
      host,
      String(port),
      String(count),
      String(padBytes),
      '5000',
    ];
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${count} counted requests to ${host}:${port} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`counted requests to ${host}:${port} exited ${code}: ${err}`));
      else
        resolve(
          out
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as CountedRequest),
        );
    });
  });
}
