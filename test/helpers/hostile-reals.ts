// Hostile real servers for tests, on loopback only: an HTTP answer with an endless body, one that drips a byte at a
// time, one that announces a huge Content-Length and sends almost nothing, one that accepts and says nothing, and
// greetings without end (one endless line, or endless continuation lines). Writers respect back-pressure and a rate
// limit, and stop when the client goes.
import * as net from 'node:net';

/** How a hostile server behaves on each connection. */
export type HostileKind =
  | 'endless-body'
  | 'byte-drip'
  | 'huge-content-length'
  | 'accept-silence'
  | 'giant-line'
  | 'endless-lines';

/** A listening hostile server. */
export interface HostileServer {
  readonly kind: HostileKind;
  readonly address: string;
  readonly port: number;
  /** Connections accepted, and bytes written, since it started. */
  stats(): { readonly connections: number; readonly bytes: number };
  close(): Promise<void>;
}

/** Bytes per second one connection is fed at most (enough to show a client that reads without a bound). */
const RATE_BYTES_PER_S = 16 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** Writes chunks from `next` while the peer reads, at most {@link RATE_BYTES_PER_S}, until it goes. */
function feed(socket: net.Socket, next: () => Buffer, count: (n: number) => void): void {
  const perTick = RATE_BYTES_PER_S / 20;
  const timer = setInterval(() => {
    let sent = 0;
    while (sent < perTick && !socket.destroyed && socket.writableLength < 4 * CHUNK) {
      const chunk = next();
      socket.write(chunk);
      sent += chunk.length;
    }
    count(sent);
  }, 50);
  socket.once('close', () => clearInterval(timer));
}

/** Starts a hostile server of `kind` on `address:port` (port 0: any). */
export async function startHostileServer(kind: HostileKind, address: string, port = 0): Promise<HostileServer> {
  if (!/^127\./.test(address) && address !== '::1') throw new Error(`hostile servers only on loopback, not ${address}`);
  let connections = 0;
  let bytes = 0;
  const count = (n: number): void => {
    bytes += n;
  };
  const xs = Buffer.alloc(CHUNK, 0x78);
  const lines = Buffer.from(
    '220-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n'.repeat(CHUNK / 86),
  );
  const open = new Set<net.Socket>();
  // Half-open: a client that half-closes after its request (simpletcp) is still fed, as a hostile server would.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    connections++;
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', () => undefined); // whatever the client says
    const say = (text: string): void => {
      socket.write(text);
      count(text.length);
    };
    switch (kind) {
      case 'endless-body':
        say('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n');
        feed(socket, () => xs, count);
        break;
      case 'byte-drip': {
        const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nalive\n';
        let i = 0;
        const timer = setInterval(() => {
          if (socket.destroyed) return;
          say(text[i % text.length] as string);
          i++;
        }, 200);
        socket.once('close', () => clearInterval(timer));
        break;
      }
      case 'huge-content-length':
        say('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 99999999999\r\n\r\nalive\n');
        break;
      case 'accept-silence':
        break;
      case 'giant-line':
        say('220 ');
        feed(socket, () => xs, count);
        break;
      case 'endless-lines':
        feed(socket, () => lines, count);
        break;
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  const bound = server.address() as net.AddressInfo;
  return {
    kind,
    address,
    port: bound.port,
    stats: () => ({ connections, bytes }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}
